/**
 * src/core/dns/plan.ts, apply.ts and list.ts: `xcc dns link|unlink|list` end to end behind the
 * KubeCluster port (the fake cluster of the masquerade tests: resourceVersions, 409s, ClusterIPs
 * given on create). kube-dns, CoreDNS and CoreDNS-with-coredns-custom clusters: link creates the
 * responder then points the DNS at its ClusterIP, a second link plans nothing, a moved load
 * balancer is stale in list and refreshed by link, unlink gives the configuration back exactly.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {applyDnsPlan} from '../../../src/core/dns/apply.js'
import {listDnsLinks} from '../../../src/core/dns/list.js'
import {type DnsPlan, type LinkTarget, PENDING_ADDRESS, orderedChanges, planLink, planUnlink} from '../../../src/core/dns/plan.js'
import {type ForwardingRuleFacts, recordSet} from '../../../src/core/dns/records.js'
import {markOf} from '../../../src/core/link/names.js'
import {DEFAULT_RESPONDER_IMAGE} from '../../../src/core/dns/responder.js'
import {loadDnsState} from '../../../src/core/dns/state.js'
import {XccError} from '../../../src/core/errors.js'
import type {KubeConfigMap, KubeService} from '../../../src/core/ports/kube.js'
import {FakeCluster, instantClock, lostAnswer} from '../masquerade/fake-cluster.js'

const TEMPLATE = readFileSync(fileURLToPath(new URL('../../../templates/dns/responder.yaml', import.meta.url)), 'utf8')
const COREFILES = fileURLToPath(new URL('../../fixtures/dns/corefiles/', import.meta.url))
const B: LinkTarget = {cluster: 'backend', context: 'gke_p_europe-west1_backend', domain: 'clusters.xcc.test', zone: 'backend.clusters.xcc.test'}

function lbService(ns: string, name: string, ip: string): KubeService {
  return {metadata: {name, namespace: ns, annotations: {'networking.gke.io/load-balancer-type': 'Internal'}}, spec: {type: 'LoadBalancer', clusterIP: '10.100.3.4', ports: [{port: 443}]}, status: {loadBalancer: {ingress: [{ip}]}}}
}

function configMap(name: string, data: Record<string, string>, labels: Record<string, string> = {}): KubeConfigMap {
  return {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name, namespace: 'kube-system', labels}, data}
}

async function seed(cluster: FakeCluster, ...cms: KubeConfigMap[]): Promise<void> {
  for (const cm of cms) await cluster.createConfigMap('kube-system', cm)
}

const quiet = {signal: new AbortController().signal, progress: () => {}, clock: instantClock(), timeoutMs: 60_000, canListPods: true}

async function link(a: FakeCluster, services: readonly KubeService[], target: LinkTarget = B, force = false, forwardingRules: readonly ForwardingRuleFacts[] = []): Promise<DnsPlan> {
  const state = await loadDnsState(a)
  const records = recordSet({cluster: target.cluster, domain: target.domain, services, forwardingRules})
  const plan = planLink(state, target, {records, services: 'all', template: TEMPLATE, image: DEFAULT_RESPONDER_IMAGE, force})
  await applyDnsPlan(plan, {cluster: a, ...quiet})
  return plan
}

async function unlink(a: FakeCluster, target: LinkTarget = B): Promise<DnsPlan> {
  const plan = planUnlink(await loadDnsState(a), target, {template: TEMPLATE})
  await applyDnsPlan(plan, {cluster: a, ...quiet})
  return plan
}

const stub = (a: FakeCluster): Record<string, string[]> => JSON.parse(a.configMaps.get('kube-system/kube-dns')?.data?.stubDomains ?? '{}') as Record<string, string[]>

describe('xcc dns link on a kube-dns cluster (GKE)', () => {
  it('creates the responder, then points stubDomains at its ClusterIP; again plans nothing; unlink restores', async () => {
    const a = new FakeCluster()
    const original = configMap('kube-dns', {upstreamNameservers: '["8.8.8.8", "8.8.4.4"]'}, {'addonmanager.kubernetes.io/mode': 'EnsureExists'})
    await seed(a, original)
    const seeded = a.calls.length
    const services = [lbService('shop', 'api', '10.128.0.42')]
    await link(a, services)
    const svc = a.services.get('kube-system/xcc-dns-responder')
    assert.ok(svc?.spec?.clusterIP, 'the responder Service was created')
    assert.deepEqual(stub(a), {'backend.clusters.xcc.test': [svc.spec.clusterIP]})
    assert.equal(a.configMaps.get('kube-system/kube-dns')?.data?.upstreamNameservers, '["8.8.8.8", "8.8.4.4"]')
    assert.match(a.configMaps.get('kube-system/xcc-dns-responder')?.data?.['backend.clusters.xcc.test.db'] ?? '', /^api\.shop 30 IN A 10\.128\.0\.42 ; shop\/api$/m)
    assert.ok(a.deployments.get('kube-system/xcc-dns-responder'))
    assert.deepEqual(a.calls.slice(seeded).filter((c) => /^(create|replace)/.test(c)), ['createConfigMap kube-system/xcc-dns-responder', 'createDeployment kube-system/xcc-dns-responder', 'createService kube-system/xcc-dns-responder', 'replaceConfigMap kube-system/kube-dns'])

    const again = planLink(await loadDnsState(a), B, {records: recordSet({...B, services}), services: 'all', template: TEMPLATE, image: DEFAULT_RESPONDER_IMAGE, force: false})
    assert.deepEqual(orderedChanges(again), [], 'a second link changes nothing')

    const plan = await unlink(a)
    assert.deepEqual(orderedChanges(plan).map((c) => `${c.action} ${c.kind} ${c.name}`), ['update ConfigMap kube-dns', 'delete Service xcc-dns-responder', 'delete Deployment xcc-dns-responder', 'delete ConfigMap xcc-dns-responder'])
    assert.deepEqual(a.configMaps.get('kube-system/kube-dns')?.data, original.data)
    assert.equal(a.configMaps.get('kube-system/kube-dns')?.metadata.annotations, undefined)
    assert.equal(a.services.size + a.deployments.size, 0)
    assert.deepEqual(orderedChanges(planUnlink(await loadDnsState(a), B, {template: TEMPLATE})), [], 'a second unlink changes nothing')
  })

  it('list: a record of an xcc link\'s forwarding rule is current with the project\'s rules, unknown (and why) without them', async () => {
    const a = new FakeCluster()
    await seed(a, configMap('kube-dns', {}))
    const nodePort: KubeService = {metadata: {name: 'orders', namespace: 'shop'}, spec: {type: 'NodePort', clusterIP: '10.100.3.5', ports: [{port: 80}]}}
    const rules = [{name: 'xcc-shop-fr', IPAddress: '10.130.0.7', loadBalancingScheme: 'INTERNAL', description: markOf('shop', 'fr', 'shop/orders')}]
    const plan = await link(a, [nodePort], B, false, rules)
    assert.deepEqual(plan.records?.records.map((r) => [r.name, r.address, r.source]), [['orders.shop.backend.clusters.xcc.test', '10.130.0.7', 'xcc-link-forwarding-rule']])
    const read = await listDnsLinks(await loadDnsState(a), async () => ({services: [nodePort], forwardingRules: rules}))
    assert.deepEqual([read.drift, read.links[0]?.records.map((r) => r.state)], [false, ['current']])
    const unread = await listDnsLinks(await loadDnsState(a), async () => ({services: [nodePort], rulesUnread: 'no Google Cloud project known'}))
    assert.deepEqual(unread.links[0]?.records.map((r) => r.state), ['unknown'], 'not "gone": the rule that serves it was not read')
    assert.match(unread.links[0]?.error ?? '', /shop\/orders: no load balancer of the Service itself, and the forwarding rules of backend's project \(xcc link's\) were not read: no Google Cloud project known/)
    const gone = await listDnsLinks(await loadDnsState(a), async () => ({services: [], rulesUnread: 'no Google Cloud project known'}))
    assert.deepEqual(gone.links[0]?.records.map((r) => r.state), ['gone'], 'a Service that is not there any more is gone whatever the rules')
  })

  it('list reports a moved load balancer as stale, and link refreshes only the responder\'s records', async () => {
    const a = new FakeCluster()
    await seed(a, configMap('kube-dns', {}))
    await link(a, [lbService('shop', 'api', '10.128.0.42'), lbService('shop', 'web', '10.128.0.43')])
    const moved = [lbService('shop', 'api', '10.128.0.99'), lbService('shop', 'web', '10.128.0.43')]
    const listing = await listDnsLinks(await loadDnsState(a), async (context) => (context === B.context ? {services: moved, forwardingRules: []} : {error: 'unknown context'}))
    assert.equal(listing.drift, true)
    assert.deepEqual(listing.links.map((l) => [l.zone, l.stub]), [['backend.clusters.xcc.test', 'ok']])
    assert.deepEqual(listing.links[0]?.records.map((r) => [r.name, r.state, r.served, r.current]), [
      ['api.shop.backend.clusters.xcc.test', 'stale', '10.128.0.42', '10.128.0.99'],
      ['web.shop.backend.clusters.xcc.test', 'current', '10.128.0.43', '10.128.0.43'],
    ])
    const kubeDnsVersion = a.configMaps.get('kube-system/kube-dns')?.metadata.resourceVersion
    const refresh = await link(a, moved)
    assert.deepEqual(orderedChanges(refresh).map((c) => `${c.action} ${c.kind} ${c.name}`), ['update ConfigMap xcc-dns-responder'])
    assert.equal(a.configMaps.get('kube-system/kube-dns')?.metadata.resourceVersion, kubeDnsVersion, 'the stub domain is not written again')
    const after = await listDnsLinks(await loadDnsState(a), async () => ({services: moved, forwardingRules: []}))
    assert.equal(after.drift, false)
    // someone removes the stub domain: list says so
    const cm = a.configMaps.get('kube-system/kube-dns') as KubeConfigMap
    await a.replaceConfigMap('kube-system', {...cm, data: {stubDomains: '{}'}})
    const broken = await listDnsLinks(await loadDnsState(a), async () => ({services: moved, forwardingRules: []}))
    assert.deepEqual([broken.drift, broken.links[0]?.stub], [true, 'missing'])
    assert.deepEqual(after.responder, {ready: 2, replicas: 2})
    a.deploymentsReady = false
    const down = await listDnsLinks(await loadDnsState(a), async () => ({services: moved, forwardingRules: []}))
    assert.deepEqual([down.drift, down.responder], [true, {ready: 0, replicas: 2}])
    a.deploymentsReady = true
    const unreachable = await listDnsLinks(await loadDnsState(a), async () => ({error: 'context not found'}))
    assert.match(unreachable.links[0]?.error ?? '', /could not be read: context not found/)
    assert.deepEqual(unreachable.links[0]?.records.map((r) => r.state), ['unknown', 'unknown'])
  })

  it('keeps the responder for the other links when one is unlinked', async () => {
    const a = new FakeCluster()
    await seed(a, configMap('kube-dns', {stubDomains: '{"acme.local": ["1.2.3.4"]}'}))
    const C: LinkTarget = {cluster: 'payments', context: 'payments', domain: 'clusters.xcc.test', zone: 'payments.clusters.xcc.test'}
    await link(a, [lbService('shop', 'api', '10.128.0.42')])
    await link(a, [lbService('pay', 'gateway', '10.140.0.3')], C)
    assert.deepEqual(Object.keys(stub(a)).sort(), ['acme.local', 'backend.clusters.xcc.test', 'payments.clusters.xcc.test'])
    await unlink(a)
    assert.deepEqual(Object.keys(stub(a)).sort(), ['acme.local', 'payments.clusters.xcc.test'])
    const responder = a.configMaps.get('kube-system/xcc-dns-responder')
    assert.deepEqual(Object.keys(responder?.data ?? {}).sort(), ['Corefile', 'payments.clusters.xcc.test.db'])
    await unlink(a, C)
    assert.equal(a.configMaps.get('kube-system/kube-dns')?.data?.stubDomains, '{"acme.local": ["1.2.3.4"]}')
    assert.equal(a.configMaps.has('kube-system/xcc-dns-responder'), false)
  })

  it('refuses a second cluster with the same name (the same zone) from another context', async () => {
    const a = new FakeCluster()
    await seed(a, configMap('kube-dns', {}))
    await link(a, [])
    await assert.rejects(link(a, [], {...B, context: 'gke_other-project_us-east1_backend'}), /zone backend\.clusters\.xcc\.test is already linked to context "gke_p_europe-west1_backend" in context "fake": two clusters named backend cannot share it/)
  })

  it('a dry run before the responder exists shows its DNS name where its ClusterIP will be', async () => {
    const a = new FakeCluster()
    await seed(a, configMap('kube-dns', {}))
    const plan = planLink(await loadDnsState(a), B, {records: recordSet({...B, services: []}), services: 'all', template: TEMPLATE, image: DEFAULT_RESPONDER_IMAGE, force: false})
    assert.equal(plan.address, undefined)
    assert.deepEqual(JSON.parse(plan.config.after && 'data' in plan.config.after ? plan.config.after.data?.stubDomains ?? '' : ''), {'backend.clusters.xcc.test': [PENDING_ADDRESS]})
    assert.deepEqual(orderedChanges(plan).map((c) => `${c.action} ${c.kind}`), ['create ConfigMap', 'create Deployment', 'create Service', 'update ConfigMap'])
    assert.equal(a.calls.filter((c) => /^(create|replace|delete)/.test(c)).length, 1, 'planning wrote nothing (the one write is the seed)')
  })
})

describe('xcc dns link on CoreDNS clusters', () => {
  it('kubeadm: one block in the Corefile forwarding to the responder; unlink gives every byte back', async () => {
    const a = new FakeCluster()
    const corefile = readFileSync(`${COREFILES}kubeadm.Corefile`, 'utf8')
    await seed(a, configMap('coredns', {Corefile: corefile}))
    await link(a, [lbService('shop', 'api', '10.128.0.42')])
    const ip = a.services.get('kube-system/xcc-dns-responder')?.spec?.clusterIP as string
    const linked = a.configMaps.get('kube-system/coredns')?.data?.Corefile ?? ''
    assert.equal(linked, `${corefile}# xcc:begin dns-link backend clusters.xcc.test\nbackend.clusters.xcc.test:53 {\n    errors\n    cache 30\n    forward . ${ip}\n}\n# xcc:end\n`)
    assert.equal(a.configMaps.has('kube-system/kube-dns'), false, 'kube-dns is not touched on a CoreDNS cluster')
    await unlink(a)
    assert.equal(a.configMaps.get('kube-system/coredns')?.data?.Corefile, corefile)
  })

  it('AKS: the block goes in coredns-custom as its own .server key, the Corefile is not touched', async () => {
    const a = new FakeCluster()
    const corefile = readFileSync(`${COREFILES}aks.Corefile`, 'utf8')
    await seed(a, configMap('coredns', {Corefile: corefile}, {'addonmanager.kubernetes.io/mode': 'Reconcile'}), configMap('coredns-custom', {'log.override': 'log\n'}, {'addonmanager.kubernetes.io/mode': 'EnsureExists'}))
    await link(a, [lbService('shop', 'api', '10.128.0.42')])
    const custom = a.configMaps.get('kube-system/coredns-custom')?.data ?? {}
    assert.deepEqual(Object.keys(custom).sort(), ['log.override', 'xcc-backend.clusters.xcc.test.server'])
    assert.match(custom['xcc-backend.clusters.xcc.test.server'] ?? '', /^backend\.clusters\.xcc\.test:53 \{$/m)
    assert.equal(a.configMaps.get('kube-system/coredns')?.data?.Corefile, corefile)
    await unlink(a)
    assert.deepEqual(a.configMaps.get('kube-system/coredns-custom')?.data, {'log.override': 'log\n'})
  })

  it('refuses a reconciled Corefile without the import (exit 3, nothing written)', async () => {
    const a = new FakeCluster()
    await seed(a, configMap('coredns', {Corefile: readFileSync(`${COREFILES}kubeadm.Corefile`, 'utf8')}, {'addonmanager.kubernetes.io/mode': 'Reconcile'}))
    await assert.rejects(link(a, []), (e: unknown) => e instanceof XccError && e.exitCode === 3 && /reconciled by the add-on manager/.test(e.message))
    assert.equal(a.deployments.size, 0)
  })

  it('refuses a responder name taken by something xcc did not create', async () => {
    const a = new FakeCluster()
    await seed(a, configMap('kube-dns', {}), configMap('xcc-dns-responder', {}))
    await assert.rejects(link(a, []), /ConfigMap kube-system\/xcc-dns-responder exists in context "fake" and xcc did not create it/)
  })
})

describe('the cluster\'s own domain', () => {
  it('is read from the CoreDNS kubernetes plugin', async () => {
    const {clusterDomainOf} = await import('../../../src/core/dns/state.js')
    const a = new FakeCluster()
    const corefile = readFileSync(`${COREFILES}kubeadm.Corefile`, 'utf8').replace('kubernetes cluster.local', 'kubernetes corp.internal')
    await seed(a, configMap('coredns', {Corefile: corefile}))
    assert.equal(clusterDomainOf(await loadDnsState(a)), 'corp.internal')
    const gke = new FakeCluster()
    await seed(gke, configMap('kube-dns', {}))
    assert.equal(clusterDomainOf(await loadDnsState(gke)), undefined)
  })
})

describe('writes whose answer was lost, and other writers', () => {
  const applyThenLose = (what: string) => async (run: () => Promise<unknown>): Promise<never> => {
    await run()
    throw lostAnswer(what)
  }

  it('a created Service whose answer was lost is read again, and the stub domain gets its ClusterIP', async () => {
    const a = new FakeCluster()
    await seed(a, configMap('kube-dns', {}))
    a.once('createService', applyThenLose('creating service kube-system/xcc-dns-responder'))
    const progress: string[] = []
    const plan = planLink(await loadDnsState(a), B, {records: recordSet({...B, services: [lbService('shop', 'api', '10.128.0.42')]}), services: 'all', template: TEMPLATE, image: DEFAULT_RESPONDER_IMAGE, force: false})
    const applied = await applyDnsPlan(plan, {cluster: a, ...quiet, progress: (t) => progress.push(t)})
    const ip = a.services.get('kube-system/xcc-dns-responder')?.spec?.clusterIP as string
    assert.equal(applied.address, ip)
    assert.deepEqual(stub(a), {'backend.clusters.xcc.test': [ip]})
    assert.match(applied.changes.find((c) => c.kind === 'Service')?.warning ?? '', /answer to the create was lost .*holds what xcc wrote/)
    assert.ok(progress.some((p) => /reading Service kube-system\/xcc-dns-responder again/.test(p)))
  })

  it('a kube-dns ConfigMap another writer changed meanwhile: exit 3, its entry kept', async () => {
    const a = new FakeCluster()
    await seed(a, configMap('kube-dns', {}))
    const plan = planLink(await loadDnsState(a), B, {records: recordSet({...B, services: []}), services: 'all', template: TEMPLATE, image: DEFAULT_RESPONDER_IMAGE, force: false})
    const other = a.configMaps.get('kube-system/kube-dns') as KubeConfigMap
    await a.replaceConfigMap('kube-system', {...other, data: {stubDomains: '{"team.internal": ["10.3.0.9"]}'}})
    await assert.rejects(applyDnsPlan(plan, {cluster: a, ...quiet}), (e: unknown) => e instanceof XccError && e.exitCode === 3 && /the update of ConfigMap kube-system\/kube-dns did not take effect: .*another writer changed it/.test(e.message))
    assert.equal(a.configMaps.get('kube-system/kube-dns')?.data?.stubDomains, '{"team.internal": ["10.3.0.9"]}')
    // running again starts from what it finds: both entries
    await link(a, [])
    assert.deepEqual(Object.keys(stub(a)).sort(), ['backend.clusters.xcc.test', 'team.internal'])
  })
})
