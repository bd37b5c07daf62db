/**
 * The endpoints controller (src/lab/kube/controllers/endpoints.ts) against the in-process API:
 * a Service with a selector gets an Endpoints object of its name listing ready pods in
 * `addresses` and the others in `notReadyAddresses`, named targetPorts resolved per pod, pods
 * without the named port left out, subsets repacked by their ports; selector changes, pod and
 * Service deletion and headless Services as upstream; a Service without a selector keeps its
 * hand-made Endpoints; nothing is rewritten when nothing changed; `kubectl get endpoints` shows
 * the addresses of real pods.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {HEADLESS_LABEL, endpointSubsets, findPort} from '../../../src/lab/kube/controllers/endpoints.js'
import type {KubeObject, Pod} from '../../../src/lab/kube/types.js'
import {Kubectl, findKubectl, kubectlSkip} from '../../support/kubectl.js'
import {type TestCluster, eventually, startTestCluster} from './cluster.js'

const NS = 'default'

/** a pod no scheduler or kubelet touches (schedulerName nobody serves): its status is the test's */
function pod(name: string, labels: Record<string, string>, ports: Array<{name?: string; containerPort: number; protocol?: string}> = []): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {name, namespace: NS, labels},
    spec: {schedulerName: 'test-nobody', containers: [{name: 'main', image: 'busybox', command: ['sleep', '30'], ports}]},
  }
}

function service(name: string, selector: Record<string, string> | undefined, ports: unknown[], extra: Record<string, unknown> = {}, labels?: Record<string, string>): KubeObject {
  return {apiVersion: 'v1', kind: 'Service', metadata: {name, namespace: NS, ...(labels ? {labels} : {})}, spec: {...(selector ? {selector} : {}), ports, ...extra}}
}

function withStatus(p: Pod, ip: string | undefined, ready: boolean, more: {phase?: string; uid?: string; nodeName?: string} = {}): Pod {
  return {
    ...p,
    metadata: {...p.metadata, uid: more.uid ?? `uid-${p.metadata.name}`},
    spec: {...p.spec, ...(more.nodeName ? {nodeName: more.nodeName} : {})},
    status: {
      phase: (more.phase ?? 'Running') as 'Running',
      ...(ip ? {podIP: ip, podIPs: [{ip}]} : {}),
      conditions: [{type: 'Ready', status: ready ? 'True' : 'False'}],
    },
  }
}

describe('endpointSubsets (pure)', () => {
  const web = (name: string, ip: string | undefined, ready: boolean, more = {}): Pod => withStatus(pod(name, {app: 'web'}, [{name: 'http', containerPort: 8080}]), ip, ready, {nodeName: 'node-a', ...more})

  it('ready pods in addresses, not-ready in notReadyAddresses, one subset for the same ports', () => {
    const svc = service('web', {app: 'web'}, [{name: 'http', port: 80, targetPort: 'http', protocol: 'TCP'}, {name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP'}])
    const subsets = endpointSubsets(svc, [web('b', '10.1.0.10', true), web('a', '10.1.0.9', true), web('c', '10.1.0.11', false)])
    assert.deepEqual(subsets, [{
      addresses: [
        {ip: '10.1.0.9', nodeName: 'node-a', targetRef: {kind: 'Pod', namespace: NS, name: 'a', uid: 'uid-a'}},
        {ip: '10.1.0.10', nodeName: 'node-a', targetRef: {kind: 'Pod', namespace: NS, name: 'b', uid: 'uid-b'}},
      ],
      notReadyAddresses: [{ip: '10.1.0.11', nodeName: 'node-a', targetRef: {kind: 'Pod', namespace: NS, name: 'c', uid: 'uid-c'}}],
      ports: [{name: 'http', port: 8080, protocol: 'TCP'}, {name: 'metrics', port: 9090, protocol: 'TCP'}],
    }])
  })

  it('resolves a named targetPort per pod and leaves pods without it out of that port', () => {
    const svc = service('web', {app: 'web'}, [{name: 'http', port: 80, targetPort: 'http', protocol: 'TCP'}, {name: 'raw', port: 81, targetPort: 81, protocol: 'TCP'}])
    const other = withStatus(pod('other', {app: 'web'}, [{name: 'http', containerPort: 9000}]), '10.1.0.20', true, {nodeName: 'node-b'})
    const none = withStatus(pod('none', {app: 'web'}), '10.1.0.21', true, {nodeName: 'node-b'})
    const subsets = endpointSubsets(svc, [web('a', '10.1.0.9', true), other, none])
    // (upstream orders ports and subsets by a hash: compare as sets)
    const portsOf = (ip: string): unknown[] => subsets.filter((s) => (s.addresses ?? []).some((a) => a.ip === ip)).flatMap((s) => s.ports ?? []).sort((a, b) => a.port - b.port)
    assert.deepEqual(portsOf('10.1.0.9'), [{name: 'raw', port: 81, protocol: 'TCP'}, {name: 'http', port: 8080, protocol: 'TCP'}])
    assert.deepEqual(portsOf('10.1.0.20'), [{name: 'raw', port: 81, protocol: 'TCP'}, {name: 'http', port: 9000, protocol: 'TCP'}])
    assert.equal(subsets.length, 3, 'three port sets: {8080, 81}, {9000, 81} and {81}')
    assert.deepEqual(portsOf('10.1.0.21'), [{name: 'raw', port: 81, protocol: 'TCP'}], 'no container port named http: only the numeric port')
    assert.equal(findPort(none, {name: 'http', port: 80, targetPort: 'http', protocol: 'TCP'}), undefined)
    assert.equal(findPort(web('a', '1.1.1.1', true), {port: 80, targetPort: 'http', protocol: 'UDP'}), undefined, 'the protocol must match too')
  })

  it('leaves out terminal, terminating and address-less pods; publishNotReadyAddresses lists all as ready', () => {
    const ports = [{name: 'http', port: 80, targetPort: 8080, protocol: 'TCP'}]
    const terminating = web('t', '10.1.0.4', true)
    terminating.metadata.deletionTimestamp = '2026-01-01T00:00:00Z'
    const pods = [web('ok', '10.1.0.1', true), web('s', '10.1.0.2', false, {phase: 'Succeeded'}), web('f', '10.1.0.3', false, {phase: 'Failed'}), terminating, web('noip', undefined, false, {phase: 'Pending'}), web('nr', '10.1.0.5', false)]
    const ips = (subsets: ReturnType<typeof endpointSubsets>, field: 'addresses' | 'notReadyAddresses'): string[] => subsets.flatMap((s) => (s[field] ?? []).map((a) => a.ip))
    const plain = endpointSubsets(service('web', {app: 'web'}, ports), pods)
    assert.deepEqual(ips(plain, 'addresses'), ['10.1.0.1'])
    assert.deepEqual(ips(plain, 'notReadyAddresses'), ['10.1.0.5'])
    const published = endpointSubsets(service('web', {app: 'web'}, ports, {publishNotReadyAddresses: true}), pods)
    assert.deepEqual(ips(published, 'addresses'), ['10.1.0.1', '10.1.0.4', '10.1.0.5'], 'terminating pods stay when not-ready addresses are published')
    assert.deepEqual(ips(published, 'notReadyAddresses'), [])
  })

  it('a headless Service without ports lists its addresses without ports; a ClusterIP one without ports lists nothing', () => {
    assert.deepEqual(endpointSubsets(service('h', {app: 'web'}, [], {clusterIP: 'None'}), [web('a', '10.1.0.9', true)]), [{addresses: [{ip: '10.1.0.9', nodeName: 'node-a', targetRef: {kind: 'Pod', namespace: NS, name: 'a', uid: 'uid-a'}}]}])
    assert.deepEqual(endpointSubsets(service('c', {app: 'web'}, [], {clusterIP: '10.96.0.9'}), [web('a', '10.1.0.9', true)]), [])
  })
})

describe('the endpoints controller in the API server', () => {
  let cluster: TestCluster
  const types = () => {
    const r = cluster.server.store.registry
    return {pods: r.get('pods'), services: r.get('services'), endpoints: r.get('endpoints')}
  }
  const api = () => cluster.server.api
  const endpointsOf = (name: string): KubeObject | undefined => cluster.server.store.get(types().endpoints, NS, name)
  const addresses = (name: string, field: 'addresses' | 'notReadyAddresses' = 'addresses'): string[] =>
    ((endpointsOf(name)?.subsets ?? []) as Array<Record<string, Array<{ip: string}> | undefined>>).flatMap((s) => (s[field] ?? []).map((a) => a.ip)).sort()
  /** sets a pod's status as a kubelet would (the pod is never scheduled, so nothing else writes it) */
  const setStatus = (name: string, ip: string, ready: boolean): void => {
    const current = cluster.server.store.get(types().pods, NS, name) as Pod
    api().update(types().pods, NS, name, {...current, status: {phase: 'Running', podIP: ip, podIPs: [{ip}], conditions: [{type: 'Ready', status: ready ? 'True' : 'False'}]}}, {subresource: 'status'})
  }
  /** lets the controller's queue run dry (it handles keys on later turns of the event loop) */
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 100))

  before(async () => {
    cluster = await startTestCluster({
      objects: [
        // a selector-less Service with hand-made Endpoints, loaded at start (as the lab's topology Services)
        service('manual', undefined, [{name: 'p0', port: 80, protocol: 'TCP'}]),
        {apiVersion: 'v1', kind: 'Endpoints', metadata: {name: 'manual', namespace: NS}, subsets: [{addresses: [{ip: '10.9.9.9'}], ports: [{name: 'p0', port: 80, protocol: 'TCP'}]}]},
        // Endpoints without a Service at start: upstream's checkLeftoverEndpoints deletes them
        {apiVersion: 'v1', kind: 'Endpoints', metadata: {name: 'leftover', namespace: NS}, subsets: []},
      ],
    })
  })
  after(async () => {
    await cluster?.close()
  })

  it('creates the Endpoints of a Service with a selector: ready and not-ready pods, labels from the Service', async () => {
    for (const name of ['web-1', 'web-2', 'web-3']) api().create(types().pods, NS, pod(name, {app: 'web'}, [{name: 'http', containerPort: 8080}]))
    setStatus('web-1', '10.244.0.11', true)
    setStatus('web-2', '10.244.0.12', true)
    setStatus('web-3', '10.244.0.13', false)
    api().create(types().services, NS, service('web', {app: 'web'}, [{name: 'http', port: 80, targetPort: 'http'}], {}, {tier: 'front'}))
    await eventually('the Endpoints of web', () => addresses('web').length === 2)
    const ep = endpointsOf('web')!
    assert.deepEqual(ep.metadata.labels, {tier: 'front'})
    assert.equal(ep.metadata.ownerReferences, undefined, 'ownerless, as upstream')
    assert.deepEqual(addresses('web'), ['10.244.0.11', '10.244.0.12'])
    assert.deepEqual(addresses('web', 'notReadyAddresses'), ['10.244.0.13'])
    const uid = cluster.server.store.get(types().pods, NS, 'web-1')!.metadata.uid
    const subsets = ep.subsets as Array<{addresses: Array<{targetRef: unknown}>; ports: unknown}>
    assert.deepEqual(subsets[0]!.addresses[0]!.targetRef, {kind: 'Pod', namespace: NS, name: 'web-1', uid})
    assert.deepEqual(subsets[0]!.ports, [{name: 'http', port: 8080, protocol: 'TCP'}])
    setStatus('web-3', '10.244.0.13', true)
    await eventually('web-3 ready', () => addresses('web').length === 3)
    assert.deepEqual(addresses('web', 'notReadyAddresses'), [])
  })

  it('does not rewrite unchanged Endpoints (no resourceVersion churn)', async () => {
    const before = endpointsOf('web')!.metadata.resourceVersion
    const current = cluster.server.store.get(types().pods, NS, 'web-1') as Pod
    api().update(types().pods, NS, 'web-1', {...current, metadata: {...current.metadata, annotations: {touched: 'yes'}}})
    setStatus('web-2', '10.244.0.12', true)
    const svc = cluster.server.store.get(types().services, NS, 'web')!
    api().update(types().services, NS, 'web', {...svc, metadata: {...svc.metadata, annotations: {note: 'x'}}})
    await settle()
    assert.equal(endpointsOf('web')!.metadata.resourceVersion, before)
  })

  it('follows a selector change and pod deletion', async () => {
    api().create(types().pods, NS, pod('api-1', {app: 'api'}, [{name: 'http', containerPort: 9000}]))
    setStatus('api-1', '10.244.0.21', true)
    const svc = cluster.server.store.get(types().services, NS, 'web')!
    api().update(types().services, NS, 'web', {...svc, spec: {...(svc.spec as object), selector: {app: 'api'}}})
    await eventually('web selects api-1', () => addresses('web').join() === '10.244.0.21')
    assert.deepEqual((endpointsOf('web')!.subsets as Array<{ports: unknown}>)[0]!.ports, [{name: 'http', port: 9000, protocol: 'TCP'}])
    const api1 = cluster.server.store.get(types().pods, NS, 'api-1') as Pod
    api().update(types().pods, NS, 'api-1', {...api1, metadata: {...api1.metadata, labels: {app: 'gone'}}})
    await eventually('a relabelled pod leaves', () => addresses('web').length === 0)
    assert.deepEqual(endpointsOf('web')!.subsets, [])
    api().update(types().services, NS, 'web', {...cluster.server.store.get(types().services, NS, 'web')!, spec: {...(svc.spec as object), selector: {app: 'web'}}})
    await eventually('back to web', () => addresses('web').length === 3)
    api().delete(types().pods, NS, 'web-2')
    await eventually('web-2 deleted', () => addresses('web').join() === '10.244.0.11,10.244.0.13')
  })

  it('recreates deleted Endpoints and deletes them with their Service', async () => {
    api().delete(types().endpoints, NS, 'web')
    await eventually('recreated', () => addresses('web').length === 2)
    api().delete(types().services, NS, 'web')
    await eventually('deleted with the Service', () => endpointsOf('web') === undefined)
  })

  it('marks a headless Service\'s Endpoints and lists its pods', async () => {
    api().create(types().services, NS, service('web-headless', {app: 'web'}, [{name: 'http', port: 80, targetPort: 'http'}], {clusterIP: 'None'}, {tier: 'front'}))
    await eventually('the headless Endpoints', () => addresses('web-headless').length === 2)
    assert.deepEqual(endpointsOf('web-headless')!.metadata.labels, {tier: 'front', [HEADLESS_LABEL]: ''})
    api().delete(types().services, NS, 'web-headless')
    await eventually('deleted with the Service', () => endpointsOf('web-headless') === undefined)
  })

  it('leaves a Service without a selector (or an empty one) and its hand-made Endpoints alone; deletes leftovers at start', async () => {
    await settle()
    assert.deepEqual(addresses('manual'), ['10.9.9.9'])
    const rv = endpointsOf('manual')!.metadata.resourceVersion
    const svc = cluster.server.store.get(types().services, NS, 'manual')!
    api().update(types().services, NS, 'manual', {...svc, metadata: {...svc.metadata, labels: {changed: 'yes'}}})
    await settle()
    assert.equal(endpointsOf('manual')!.metadata.resourceVersion, rv)
    assert.equal(endpointsOf('leftover'), undefined)
    // an empty selector is no selector (a real API server stores `selector: {}` as none)
    api().create(types().services, NS, service('empty', {}, [{name: 'http', port: 80, targetPort: 8080}]))
    await settle()
    assert.equal(endpointsOf('empty'), undefined)
  })
})

const skip = kubectlSkip()

describe('kubectl get endpoints', {skip}, () => {
  let cluster: TestCluster
  let kubectl: Kubectl
  let admin: string

  before(async () => {
    const found = findKubectl()
    if (!('path' in found)) throw new Error(found.missing)
    kubectl = new Kubectl(found.path)
    cluster = await startTestCluster()
    admin = cluster.kubeconfig()
  })
  after(async () => {
    await cluster?.close()
    kubectl?.dispose()
  })

  it('shows the addresses of the running pods a Service selects', async () => {
    const manifest = (name: string): string => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, labels: {app: echo}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers: [{name: main, image: busybox, command: [sleep, '60'], ports: [{name: http, containerPort: 8080}]}]\n`
    await kubectl.ok(admin, ['apply', '-f', '-'], {input: `${manifest('echo-1')}---\n${manifest('echo-2')}---\napiVersion: v1\nkind: Service\nmetadata: {name: echo}\nspec: {selector: {app: echo}, ports: [{port: 80, targetPort: http}]}\n`})
    const ips = await eventually('both pods ready', () => {
      const pods = cluster.server.store.list(cluster.server.store.registry.get('pods'), NS) as Pod[]
      const ready = pods.filter((p) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') && p.status?.podIP)
      return ready.length === 2 ? ready.map((p) => p.status!.podIP!).sort() : undefined
    }, 20_000)
    const table = await eventually('kubectl shows both', async () => {
      const out = await kubectl.ok(admin, ['get', 'endpoints', 'echo'])
      return ips.every((ip) => out.includes(`${ip}:8080`)) ? out : undefined
    }, 20_000)
    assert.match(table, /^NAME\s+ENDPOINTS\s+AGE\necho\s+\S+:8080,\S+:8080\s+\d+s\n$/)
    const json = JSON.parse(await kubectl.ok(admin, ['get', 'ep', 'echo', '-o', 'json'])) as {subsets: Array<{addresses: Array<{targetRef: {name: string}; nodeName: string}>}>}
    assert.deepEqual(json.subsets[0]!.addresses.map((a) => a.targetRef.name).sort(), ['echo-1', 'echo-2'])
    assert.ok(json.subsets[0]!.addresses.every((a) => a.nodeName === 'node-a' || a.nodeName === 'node-b'))
    await kubectl.ok(admin, ['delete', 'service', 'echo'])
    const gone = await kubectl.run(admin, ['get', 'endpoints', 'echo'])
    assert.match(gone.stderr, /NotFound|not found/)
  })
})
