/**
 * The link planner on the unwired seeds (templates/scenarios two-vpcs-unwired = seed 001,
 * overlapping-clusters-unwired = seed 000): the plan of each mode (golden text and JSON), auto's
 * choice, preflight refusals, and the state after applying a plan — planned again it is empty,
 * and the static doctor finds the flow the link is for reachable (the design carries a packet).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {LinkRequest} from '../../../src/core/link/design.js'
import {type LinkPlan, planLink, planLinkDelete} from '../../../src/core/link/plan.js'
import {parseMark} from '../../../src/core/link/names.js'
import {CHECKS} from '../../../src/checks/index.js'
import {evaluateDoctor} from '../../../src/core/doctor/report.js'
import {resolveFlow} from '../../../src/core/trace/endpoints.js'
import type {Model} from '../../../src/core/topology/model-types.js'
import {parseTopology} from '../../../src/core/topology/parse.js'
import type {Topology} from '../../../src/core/topology/schema.js'
import {linkPlanJson, renderLinkPlanText} from '../../../src/render/link-plan.js'
import {loadFixture} from '../../support/fixtures.js'
import {assertGoldenJson, assertGoldenText} from '../../support/golden.js'
import {applyLinkPlan} from '../../support/link-apply.js'
import {assertBadInput} from '../../support/xcc-error.js'

const SEED_001: LinkRequest = {link: 'fe-be', mode: 'peering', from: 'frontend', to: 'backend', service: {namespace: 'default', name: 'dummy-backend'}, gateways: 2, snat: true, project: 'xcc-lab', contexts: {frontend: 'frontend', backend: 'backend'}}
const SEED_000: LinkRequest = {link: 'c1-c2', mode: 'gateway', from: 'c1', to: 'c2', service: {namespace: 'default', name: 'echoheaders'}, gateways: 2, snat: true, project: 'xcc-lab', contexts: {c1: 'c1', c2: 'c2'}}

const unwired001 = (): Model => loadFixture('two-vpcs-unwired')
const unwired000 = (): Model => loadFixture('overlapping-clusters-unwired')

/** exit 2, its message and details (joined) matching every pattern */
function expectXccError(fn: () => unknown, code: 2, ...patterns: RegExp[]): void {
  const error = assertBadInput(fn)
  assert.equal(error.exitCode, code)
  for (const p of patterns) assert.match([error.message, ...error.details].join('\n'), p)
}

function modelOf(t: Topology): Model {
  return parseTopology(JSON.stringify(JSON.parse(JSON.stringify(t))), 'after.yaml')
}

function after(model: Model, plan: LinkPlan): Model {
  return modelOf(applyLinkPlan(model.topology, plan.changes, plan.kube))
}

function doctor(model: Model, from: string, to: string) {
  return evaluateDoctor(model, resolveFlow(model, from, to), CHECKS)
}

describe('xcc link plan, --mode peering on seed 001 before wiring', () => {
  const plan = planLink(unwired001(), SEED_001)

  it('peers both ways (the second after the first), opens the firewall, builds the load balancer over the node groups, and masquerades the frontend', () => {
    assert.deepEqual(plan.changes.map((c) => `${c.action} ${c.resource.kind} ${c.resource.name}`), [
      'create peering xcc-fe-be-peer-from', 'create peering xcc-fe-be-peer-to', 'create firewall xcc-fe-be-allow', 'create firewall xcc-fe-be-allow-hc',
      'create healthCheck xcc-fe-be-hc', 'create backendService xcc-fe-be-bs', 'create forwardingRule xcc-fe-be-fr',
    ])
    assert.deepEqual(plan.changes[1]?.dependsOn, [plan.changes[0]?.key], 'peering operations are serialised')
    assert.deepEqual(plan.kube.map((k) => [k.kind, k.cluster, k.cidrs]), [['masquerade', 'frontend', ['10.193.0.0/16']]])
    assert.equal(plan.kube[0]?.command, 'xcc masquerade add --context frontend --cidr 10.193.0.0/16')
  })

  it('marks what it creates and labels what takes labels; the forwarding rule names the Service it serves (for xcc dns link)', () => {
    const fr = plan.changes.find((c) => c.resource.kind === 'forwardingRule')?.resource as {body: Record<string, unknown>}
    assert.equal(fr.body.description, '{"managed-by":"xcc","link":"fe-be","role":"fr","service":"default/dummy-backend","v":1}')
    assert.deepEqual(parseMark(fr.body.description as string), {link: 'fe-be', role: 'fr', v: 1}, 'still one of the link\'s own')
    assert.deepEqual(fr.body.labels, {'managed-by': 'xcc', 'xcc-link': 'fe-be'})
    assert.deepEqual(fr.body.ports, ['32191'])
    assert.equal(fr.body.allowGlobalAccess, false, 'one region: no global access (ILB-03)')
    const fw = plan.changes.find((c) => c.resource.name === 'xcc-fe-be-allow')?.resource as {body: Record<string, unknown>}
    assert.deepEqual(fw.body.sourceRanges, ['10.209.0.0/16'], 'the node range only: the pods are masqueraded (PEER-09)')
    assert.deepEqual(fw.body.targetTags, ['gke-backend-node'])
  })

  it('renders like terraform plan (golden text and JSON)', () => {
    assertGoldenText('link/plan-peering-seed-001.txt', renderLinkPlanText(plan, {color: false}))
    assertGoldenJson('link/plan-peering-seed-001.json', linkPlanJson(plan, 'xcc-lab'))
  })

  it('applied, it carries the frontend pod to the Service, and a second plan is empty', () => {
    const done = after(unwired001(), plan)
    const report = doctor(done, 'frontend', 'lb/xcc-fe-be-fr')
    assert.equal(report.verdict, 'reachable', JSON.stringify(report.diagnosis ?? report.forward.at(-1)))
    const again = planLink(done, SEED_001)
    assert.deepEqual([...again.changes, ...again.kube], [])
  })

  it('without its masquerade step the frontend pod keeps its address and the reply is lost (the control: the step is needed)', () => {
    const half = modelOf(applyLinkPlan(unwired001().topology, plan.changes, []))
    const report = doctor(half, 'frontend', 'lb/xcc-fe-be-fr')
    assert.equal(report.verdict, 'unreachable')
    assert.equal(report.diagnosis?.code, 'POD_SNAT_MISSING')
  })

  it('a range xcc-masquerade\'s DaemonSet already keeps needs no masquerade step', () => {
    const p = planLink(unwired001(), {...SEED_001, masqueraded: {frontend: ['10.192.0.0/12']}})
    assert.deepEqual(p.kube, [])
    assert.ok(p.notes.includes('frontend\'s xcc-masquerade DaemonSet already masquerades 10.193.0.0/16'))
    assert.equal(planLink(unwired001(), {...SEED_001, masqueraded: {frontend: ['10.194.0.0/16']}}).kube.length, 1, 'another range does not count')
  })

  it('--no-snat exchanges custom routes instead, and lets the pod range through the firewall (PEER-04, PEER-06)', () => {
    const p = planLink(unwired001(), {...SEED_001, snat: false})
    assert.deepEqual(p.kube, [])
    const [a, b] = p.changes.map((c) => (c.resource as {body: Record<string, unknown>}).body)
    assert.deepEqual([a?.exportCustomRoutes, a?.importCustomRoutes, b?.exportCustomRoutes, b?.importCustomRoutes], [true, false, false, true])
    const fw = p.changes.find((c) => c.resource.name === 'xcc-fe-be-allow')?.resource as {body: Record<string, unknown>}
    assert.deepEqual(fw.body.sourceRanges, ['10.209.0.0/16', '10.132.0.0/14'])
  })

  it('a changed port updates the firewall in place and replaces the forwarding rule; an unwanted owned resource is deleted', () => {
    const done = after(unwired001(), plan).topology
    const t = structuredClone(done)
    const svc = t.clusters.find((c) => c.name === 'backend')!.services[0]!
    ;(svc.ports[0] as {nodePort?: number}).nodePort = 32000
    ;(t.firewalls as unknown as Array<Record<string, unknown>>).push({name: 'xcc-fe-be-old', network: 'vpc-a', direction: 'INGRESS', priority: 1000, sourceRanges: ['10.0.0.0/8'], destinationRanges: [], targetTags: [], allowed: [{IPProtocol: 'tcp'}], disabled: false, description: '{"managed-by":"xcc","link":"fe-be","role":"old","v":1}'})
    const p = planLink(modelOf(t), SEED_001)
    const lines = p.changes.map((c) => `${c.action} ${c.resource.kind} ${c.resource.name}`)
    assert.ok(lines.includes('update firewall xcc-fe-be-allow'), lines.join('\n'))
    assert.ok(lines.includes('update healthCheck xcc-fe-be-hc'))
    assert.ok(lines.indexOf('delete forwardingRule xcc-fe-be-fr') < lines.indexOf('create forwardingRule xcc-fe-be-fr'), 'replaced: deleted, then created')
    assert.ok(lines.includes('delete firewall xcc-fe-be-old'))
    assert.match(p.changes.find((c) => c.key.endsWith('#replaced'))?.reason ?? '', /ports \[32191\] → \[32000\]/)
    assert.match(p.changes.find((c) => c.action === 'update' && c.resource.kind === 'firewall')?.reason ?? '', /allowed \[tcp:32191\] → \[tcp:32000\]/)
  })

  it('delete: everything the link owns, in reverse order (forwarding rule before backend service before health check), nothing else', () => {
    const done = after(unwired001(), plan)
    const del = planLinkDelete(done, 'fe-be').map((c) => `${c.resource.kind} ${c.resource.name}`)
    assert.equal(del.length, 7)
    assert.ok(del.indexOf('forwardingRule xcc-fe-be-fr') < del.indexOf('backendService xcc-fe-be-bs'))
    assert.ok(del.indexOf('backendService xcc-fe-be-bs') < del.indexOf('healthCheck xcc-fe-be-hc'))
    assert.deepEqual(planLinkDelete(done, 'other'), [], 'another link owns nothing here')
  })
})

describe('xcc link plan, --mode peering on seed 001 as it was wired by hand', () => {
  const wired = (): Model => loadFixture('seed-001-peered-vpcs-missing-snat')

  it('uses the peerings that exist (not owned), and plans only what is missing', () => {
    const p = planLink(wired(), SEED_001)
    assert.ok(!p.changes.some((c) => c.resource.kind === 'peering'))
    assert.deepEqual(p.notes, ['vpc-b already has peering b-to-a to vpc-a; the link uses it and does not own it', 'vpc-a already has peering a-to-b to vpc-b; the link uses it and does not own it'])
    assert.equal(p.kube[0]?.kind, 'masquerade')
  })

  it('a one-sided peering gets its other side from the link (PEER-01)', () => {
    const t = structuredClone(wired().topology)
    ;(t.networks.find((n) => n.name === 'vpc-a') as {peerings: unknown[]}).peerings = []
    const p = planLink(modelOf(t), SEED_001)
    assert.deepEqual(p.changes.filter((c) => c.resource.kind === 'peering').map((c) => `${c.resource.parent}/${c.resource.name}`), ['vpc-a/xcc-fe-be-peer-to'])
  })

  it('an internal LoadBalancer Service keeps GKE\'s forwarding rule: no load balancer of the link, the firewall on the Service port', () => {
    const t = structuredClone(wired().topology)
    const svc = t.clusters.find((c) => c.name === 'backend')!.services[0]! as {type: string; loadBalancer?: unknown}
    svc.type = 'LoadBalancer'
    svc.loadBalancer = {internal: true, forwardingRule: 'backend-ilb'}
    const p = planLink(modelOf(t), SEED_001)
    assert.deepEqual(p.changes.map((c) => `${c.resource.kind} ${c.resource.name}`), ['firewall xcc-fe-be-allow'])
    assert.deepEqual(p.address, {forwardingRule: 'backend-ilb', ip: '10.193.0.3', port: 80})
    assert.match(p.notes.join('\n'), /already has GKE's internal load balancer backend-ilb \(10\.193\.0\.3\); the link reuses it/)
  })
})

describe('xcc link plan, --mode gateway on seed 000 before wiring', () => {
  const plan = planLink(unwired000(), SEED_000)

  it('renders like terraform plan (golden text and JSON)', () => {
    assertGoldenText('link/plan-gateway-seed-000.txt', renderLinkPlanText(plan, {color: false}))
    assertGoldenJson('link/plan-gateway-seed-000.json', linkPlanJson(plan, 'xcc-lab'))
  })

  it('the gateways masquerade into the shared network (seed 000\'s missing SNAT), and their script reads back as their guest', () => {
    const gw = plan.changes.find((c) => c.resource.name === 'xcc-c1-c2-c1-gw-1')?.resource as unknown as {body: {canIpForward: boolean; metadata: {items: Array<{value: string}>}}}
    assert.equal(gw.body.canIpForward, true)
    assert.match(gw.body.metadata.items[0]?.value ?? '', /-A POSTROUTING -s 10\.120\.0\.0\/16 -o nic0 -j MASQUERADE/)
    assert.equal(plan.address?.ip, '10.210.200.253')
  })

  it('applied, it carries the c1 pod to c2\'s Service through both gateways, and a second plan is empty', () => {
    const done = after(unwired000(), plan)
    const report = doctor(done, 'c1/default/ubuntu', 'lb/xcc-c1-c2-c2-fr')
    assert.equal(report.verdict, 'reachable', JSON.stringify(report.diagnosis ?? report.forward.map((s) => s.step)))
    const again = planLink(done, SEED_000)
    assert.deepEqual([...again.changes, ...again.kube], [])
  })

  it('without the gateways\' masquerade the reply goes astray, as in seed 000 (the control: the SNAT is needed)', () => {
    const done = applyLinkPlan(unwired000().topology, plan.changes, plan.kube)
    for (const i of done.instances) (i.guest as {iptables?: string}).iptables = (i.guest.iptables ?? '').split('\n').filter((l) => !/-o nic0 -j MASQUERADE/.test(l)).join('\n')
    const report = doctor(modelOf(done), 'c1/default/ubuntu', 'lb/xcc-c1-c2-c2-fr')
    assert.equal(report.verdict, 'unreachable')
  })

  it('--gateways 1 after 2: the second gateway of each side and its route are deleted, the group updated', () => {
    const done = after(unwired000(), plan)
    const p = planLink(done, {...SEED_000, gateways: 1})
    const lines = p.changes.map((c) => `${c.action} ${c.resource.kind} ${c.resource.name}`)
    assert.ok(lines.includes('update instanceGroup xcc-c1-c2-c2-ig'), lines.join('\n'))
    assert.ok(lines.indexOf('delete route xcc-c1-c2-c2-to-shared-2') < lines.indexOf('delete instance xcc-c1-c2-c2-gw-2'), 'the route goes before the instance it points at')
  })
})

describe('xcc link plan, --mode auto', () => {
  it('picks gateway for seed 000, saying which ranges overlap (PEER-08)', () => {
    const p = planLink(unwired000(), {...SEED_000, mode: 'auto'})
    assert.equal(p.mode, 'gateway')
    assert.equal(p.modeReason, 'gateway: 10.138.0.0/20 (subnet cluster-1 of cluster-1) overlaps 10.138.0.0/20 (subnet cluster-2 of cluster-2), so the networks cannot be peered (PEER-08)')
  })

  it('picks peering for seed 001', () => {
    const p = planLink(unwired001(), {...SEED_001, mode: 'auto'})
    assert.equal(p.mode, 'peering')
    assert.match(p.modeReason, /^peering: no range of vpc-b overlaps one of vpc-a \(PEER-08\)$/)
  })
})

describe('xcc link plan preflight (exit 2, nothing planned)', () => {
  it('refuses to peer overlapping ranges, naming them (PEER-08)', () => {
    expectXccError(() => planLink(unwired000(), {...SEED_000, mode: 'peering'}), 2, /cluster-1 and cluster-2 cannot be peered: 10\.138\.0\.0\/20 \(subnet cluster-1 of cluster-1\) overlaps 10\.138\.0\.0\/20 \(subnet cluster-2 of cluster-2\) \(PEER-08\)/)
  })

  it('refuses a transitive path through --via-network with peering (PEER-07)', () => {
    expectXccError(() => planLink(unwired001(), {...SEED_001, viaNetwork: 'hub'}), 2, /peering is not transitive \(PEER-07\)/)
  })

  it('refuses a name taken by a resource xcc does not own', () => {
    const t = structuredClone(unwired001().topology)
    ;(t.firewalls as unknown as Array<Record<string, unknown>>).push({name: 'xcc-fe-be-allow', network: 'vpc-a', direction: 'INGRESS', priority: 1000, sourceRanges: ['10.0.0.0/8'], destinationRanges: [], targetTags: [], allowed: [{IPProtocol: 'tcp'}], disabled: false, description: 'made by hand'})
    expectXccError(() => planLink(modelOf(t), SEED_001), 2, /a name it needs is taken/, /firewall xcc-fe-be-allow exists and is not xcc's \(its description is "made by hand"\)/)
  })

  it('refuses a resource marked by another link', () => {
    const t = structuredClone(unwired001().topology)
    ;(t.healthChecks as unknown as Array<Record<string, unknown>>).push({name: 'xcc-fe-be-hc', region: 'europe-west1', type: 'TCP', port: 1, description: '{"managed-by":"xcc","link":"other","role":"hc","v":1}'})
    expectXccError(() => planLink(modelOf(t), SEED_001), 2, /a name it needs is taken/)
  })

  it('refuses a --via-range that overlaps a cluster range, naming it', () => {
    expectXccError(() => planLink(unwired000(), {...SEED_000, viaRange: '10.120.5.0/24'}), 2, /--via-range 10\.120\.5\.0\/24 overlaps 10\.120\.0\.0\/16 \(the pod range of c1\), 10\.120\.0\.0\/16 \(the pod range of c2\)/)
  })

  it('refuses an unknown cluster, a missing Service, a Service without a node port', () => {
    expectXccError(() => planLink(unwired001(), {...SEED_001, to: 'nope'}), 2, /--to nope: no such cluster in the project/)
    expectXccError(() => planLink(unwired001(), {...SEED_001, service: {namespace: 'default', name: 'nope'}}), 2, /--service default\/nope: no such Service in cluster backend/)
    const t = structuredClone(unwired001().topology)
    const svc = t.clusters.find((c) => c.name === 'backend')!.services[0]!
    ;(svc as {type: string}).type = 'ClusterIP'
    delete (svc.ports[0] as {nodePort?: number}).nodePort
    expectXccError(() => planLink(modelOf(t), SEED_001), 2, /ClusterIP Service without a node port/)
  })

  it('refuses a link name that makes a name longer than 63 characters, naming the longest', () => {
    const link = 'a'.repeat(50)
    expectXccError(() => planLink(unwired000(), {...SEED_000, link}), 2, new RegExp(`link name "${link}" is too long: it makes the resource name xcc-${link}-allow-from-gw-c2 \\(71 characters; GCP allows 63\\)`))
  })
})
