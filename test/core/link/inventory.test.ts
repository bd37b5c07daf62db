/**
 * `xcc link list`'s and `xcc link verify`'s pure part: links found in a project by their marks
 * alone (the unwired seeds with a planned link applied: test/support/link-apply.ts), their mode,
 * clusters and address derived from the resources, complete or incomplete (naming what is
 * absent, as an interrupted create leaves it), and the flows verify checks.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {CHECKS} from '../../../src/checks/index.js'
import {evaluateDoctor} from '../../../src/core/doctor/report.js'
import type {LinkRequest} from '../../../src/core/link/design.js'
import {withDaemonSetMasquerade} from '../../../src/core/link/daemonset-rules.js'
import {findLinks} from '../../../src/core/link/inventory.js'
import {planLink} from '../../../src/core/link/plan.js'
import {linkFlows, unverifiable} from '../../../src/core/link/verify-flows.js'
import type {Model} from '../../../src/core/topology/model-types.js'
import {parseTopology} from '../../../src/core/topology/parse.js'
import type {Topology} from '../../../src/core/topology/schema.js'
import {resolveFlow} from '../../../src/core/trace/endpoints.js'
import {loadFixture} from '../../support/fixtures.js'
import {applyLinkPlan} from '../../support/link-apply.js'

const SEED_001: LinkRequest = {link: 'demo', mode: 'peering', from: 'frontend', to: 'backend', service: {namespace: 'default', name: 'dummy-backend'}, gateways: 2, snat: true, project: 'p', contexts: {}}
const SEED_000: LinkRequest = {link: 'c1-c2', mode: 'gateway', from: 'c1', to: 'c2', service: {namespace: 'default', name: 'echoheaders'}, gateways: 2, snat: true, project: 'p', contexts: {}}

const modelOf = (t: Topology): Model => parseTopology(JSON.stringify(JSON.parse(JSON.stringify(t))), 'after.yaml')

function applied(fixture: string, request: LinkRequest, drop: (changeName: string) => boolean = () => false, kube = true): Model {
  const model = loadFixture(fixture)
  const plan = planLink(model, request)
  return modelOf(applyLinkPlan(model.topology, plan.changes.filter((c) => !drop(c.resource.name)), kube ? plan.kube : []))
}

/** the topology without the named resources (what a delete through the API leaves) */
function without(model: Model, names: readonly string[]): Model {
  const t = JSON.parse(JSON.stringify(model.topology)) as Topology & Record<string, Array<{name: string}>>
  for (const key of ['firewalls', 'routes', 'instances', 'instanceGroups', 'healthChecks', 'backendServices', 'forwardingRules'] as const) {
    (t as Record<string, unknown>)[key] = (t[key] as Array<{name: string}>).filter((r) => !names.includes(r.name))
  }
  for (const n of t.networks) (n as {peerings: unknown}).peerings = n.peerings.filter((p) => !names.includes(p.name))
  return modelOf(t)
}

describe('links found by their marks', () => {
  it('an unwired seed has no link', () => {
    assert.deepEqual(findLinks(loadFixture('two-vpcs-unwired')), [])
    assert.deepEqual(findLinks(loadFixture('overlapping-clusters-unwired')), [])
  })

  it('seed 001 with a peering link: complete, its clusters, networks, address and resources by kind', () => {
    const model = applied('two-vpcs-unwired', SEED_001)
    const [link, ...rest] = findLinks(model)
    assert.equal(rest.length, 0)
    assert.ok(link)
    assert.equal(link.name, 'demo')
    assert.equal(link.mode, 'peering')
    assert.equal(link.from, 'frontend')
    assert.equal(link.to, 'backend')
    assert.equal(link.health, 'complete', link.missing.join('\n'))
    assert.deepEqual(link.missing, [])
    assert.deepEqual(link.counts, {backendService: 1, firewall: 2, forwardingRule: 1, healthCheck: 1, peering: 2})
    assert.equal(link.address?.forwardingRule, 'xcc-demo-fr')
    assert.equal(link.address?.owned, true)
    assert.match(`${link.address?.ip}:${link.address?.port}`, /^10\.\d+\.\d+\.\d+:3\d{4}$/)
    assert.equal(link.networks.length, 2)
  })

  it('seed 000 with a gateway link: complete, the clusters told from the gateways\' role names', () => {
    const [link] = findLinks(applied('overlapping-clusters-unwired', SEED_000))
    assert.ok(link)
    assert.equal(link.mode, 'gateway')
    assert.equal(link.from, 'c1')
    assert.equal(link.to, 'c2')
    assert.equal(link.health, 'complete', link.missing.join('\n'))
    assert.equal(link.counts.instance, 4)
    assert.equal(link.counts.route, 4)
    assert.equal(link.address?.forwardingRule, 'xcc-c1-c2-c2-fr')
    assert.ok(link.networks.includes('xcc-c1-c2-shared'))
  })

  it('two links in one project are told apart, sorted by name', () => {
    const model = applied('two-vpcs-unwired', SEED_001)
    const second = planLink(model, {...SEED_001, link: 'another'})
    const both = modelOf(applyLinkPlan(model.topology, second.changes, second.kube))
    const links = findLinks(both)
    assert.deepEqual(links.map((l) => l.name), ['another', 'demo'])
    // the networks are peered by demo already: another uses that peering (not its own) and is complete too
    assert.deepEqual(links.map((l) => l.health), ['complete', 'complete'])
    assert.equal(links[0]?.counts.peering, undefined)
  })

  it('an interrupted create: what is absent is named, the rest still found', () => {
    const cut = applied('two-vpcs-unwired', SEED_001, (n) => ['xcc-demo-peer-to', 'xcc-demo-bs', 'xcc-demo-fr'].includes(n))
    const [link] = findLinks(cut)
    assert.ok(link)
    assert.equal(link.health, 'incomplete')
    assert.equal(link.from, 'frontend')
    assert.equal(link.to, 'backend')
    assert.deepEqual(link.missing, ['peering xcc-demo-peer-to: vpc-a has no peering to vpc-b (PEER-01)', 'backendService xcc-demo-bs', 'forwardingRule xcc-demo-fr'])
    assert.equal(link.address, undefined)
    assert.equal(unverifiable(cut, link), 'it has no address (no forwarding rule)')
    assert.deepEqual(linkFlows(cut, link), [])
  })

  it('the allow firewall removed: incomplete naming it; the clusters still told from the peerings and the rule', () => {
    const cut = without(applied('two-vpcs-unwired', SEED_001), ['xcc-demo-allow'])
    const [link] = findLinks(cut)
    assert.ok(link)
    assert.equal(link.health, 'incomplete')
    assert.equal(link.from, 'frontend')
    assert.equal(link.to, 'backend')
    assert.equal(link.missing.length, 1)
    assert.match(link.missing[0] ?? '', /^firewall xcc-demo-allow: frontend's nodes cannot reach backend's nodes \(PEER-09\)$/)
    // and the static doctor on verify's flows blames the firewall
    const flows = linkFlows(cut, link)
    for (const f of flows) assert.equal(evaluateDoctor(cut, resolveFlow(cut, f.from, f.to), CHECKS).diagnosis?.code, 'FIREWALL_RULE')
  })

  it('seed 001 wired by hand, the Service an internal LoadBalancer: the link owns one firewall, uses the peerings and GKE\'s load balancer, and is complete', () => {
    const t = structuredClone(loadFixture('seed-001-peered-vpcs-missing-snat').topology)
    const svc = t.clusters.find((c) => c.name === 'backend')!.services[0]! as {type: string; loadBalancer?: unknown}
    svc.type = 'LoadBalancer'
    svc.loadBalancer = {internal: true, forwardingRule: 'backend-ilb'}
    const plan = planLink(modelOf(t), {...SEED_001, link: 'fe-be'})
    const model = modelOf(applyLinkPlan(t, plan.changes, plan.kube))
    const [link] = findLinks(model)
    assert.deepEqual(link?.resources.map((r) => `${r.kind} ${r.name} ${r.role}`), ['firewall xcc-fe-be-allow allow'])
    assert.deepEqual([link?.mode, link?.from, link?.to, link?.health], ['peering', 'frontend', 'backend', 'complete'], link?.missing.join('\n'))
    assert.deepEqual(link?.address, {forwardingRule: 'backend-ilb', ip: '10.193.0.3', port: 80, owned: false})
    // the same, had the peering of one side gone: named by what the link would call it
    const cut = without(model, ['b-to-a'])
    assert.deepEqual(findLinks(cut)[0]?.missing, ['peering xcc-fe-be-peer-from: vpc-b has no peering to vpc-a (PEER-01)'])
  })

  it('a gateway link without one route: the route is named', () => {
    const [link] = findLinks(applied('overlapping-clusters-unwired', SEED_000, (n) => n === 'xcc-c1-c2-c1-to-shared-2'))
    assert.deepEqual(link?.missing, ['route xcc-c1-c2-c1-to-shared-2'])
  })
})

describe('the flows xcc link verify checks', () => {
  it('one per node pool of the client, from a pod there, to the address; reachable on the complete link', () => {
    const model = applied('two-vpcs-unwired', SEED_001)
    const [link] = findLinks(model)
    assert.ok(link)
    const flows = linkFlows(model, link)
    assert.ok(flows.length >= 1)
    assert.equal(new Set(flows.map((f) => f.pool)).size, flows.length)
    for (const f of flows) {
      assert.equal(f.to, `${link.address?.ip}:${link.address?.port}`)
      assert.match(f.chosen, /on node \S+ \(pool /)
      assert.equal(evaluateDoctor(model, resolveFlow(model, f.from, f.to), CHECKS).verdict, 'reachable', f.chosen)
    }
  })

  it('gateway link: reachable from c1', () => {
    const model = applied('overlapping-clusters-unwired', SEED_000)
    const [link] = findLinks(model)
    assert.ok(link)
    for (const f of linkFlows(model, link)) assert.equal(evaluateDoctor(model, resolveFlow(model, f.from, f.to), CHECKS).verdict, 'reachable', f.chosen)
  })
})

describe('xcc masquerade\'s DaemonSet rules, which the APIs do not show, in the static check', () => {
  const bare = applied('two-vpcs-unwired', SEED_001, () => false, false)
  const [link] = findLinks(bare)
  const verdicts = (model: Model): string[] => linkFlows(model, link!).map((f) => {
    const r = evaluateDoctor(model, resolveFlow(model, f.from, f.to), CHECKS)
    return r.diagnosis ? `${r.verdict} ${r.diagnosis.code}` : r.verdict
  })

  it('without them the frontend\'s pods keep their address: POD_SNAT_MISSING (ILB-07)', () => {
    assert.ok(link)
    assert.deepEqual([...new Set(verdicts(bare))], ['unreachable POD_SNAT_MISSING'])
  })

  it('the DaemonSet\'s chain first in POSTROUTING masquerades the backend\'s range: reachable; a range that misses the address changes nothing', () => {
    const masqueraded = modelOf(withDaemonSetMasquerade(bare, 'frontend', ['10.193.0.0/16']))
    assert.deepEqual([...new Set(verdicts(masqueraded))], ['reachable'])
    const node = masqueraded.topology.clusters.find((c) => c.name === 'frontend')?.nodes[0]
    assert.match(node?.iptables ?? '', /^\*nat\n(:.*\n)*:XCC-MASQ - \[0:0\]\n(-A (?!POSTROUTING).*\n)*-A POSTROUTING .* -j XCC-MASQ\n/)
    assert.deepEqual([...new Set(verdicts(modelOf(withDaemonSetMasquerade(bare, 'frontend', ['10.250.0.0/16']))))], ['unreachable POD_SNAT_MISSING'])
    assert.equal(withDaemonSetMasquerade(bare, 'frontend', []), bare.topology)
  })
})
