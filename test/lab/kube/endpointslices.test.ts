/**
 * The EndpointSlice controller (src/lab/kube/controllers/endpointslices.ts): the endpoints of a
 * Service with a selector as discovery.k8s.io/v1 slices — conditions ready/serving/terminating,
 * zone and node, ports per pod, at most 100 endpoints a slice with kept endpoints kept in place,
 * a placeholder without endpoints, labels and the Service as owner; in the API server: created,
 * followed, never rewritten unchanged, collected with the Service, and listed by kubectl. The
 * Endpoints of a Service without a selector are mirrored into slices owned by them.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {MIRRORING_CONTROLLER, SKIP_MIRROR_LABEL, mirroredEndpoints} from '../../../src/lab/kube/controllers/endpointslice-mirroring.js'
import {CONTROLLER_NAME, MANAGED_BY_LABEL, MAX_ENDPOINTS, SERVICE_NAME_LABEL, type SliceEndpoint, desiredEndpoints, planSlices} from '../../../src/lab/kube/controllers/endpointslices.js'
import type {KubeObject, NodeObject, Pod} from '../../../src/lab/kube/types.js'
import {Kubectl, findKubectl, kubectlSkip} from '../../support/kubectl.js'
import {type TestCluster, eventually, startTestCluster} from './cluster.js'

const NS = 'default'

function pod(name: string, ip: string | undefined, ready: boolean, more: {deleting?: boolean; ports?: Array<{name: string; containerPort: number}>} = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {name, namespace: NS, uid: `uid-${name}`, labels: {app: 'web'}, ...(more.deleting ? {deletionTimestamp: '2026-01-01T00:00:00Z'} : {})},
    spec: {nodeName: 'node-a', containers: [{name: 'main', image: 'busybox', ports: more.ports ?? [{name: 'http', containerPort: 8080}]}]},
    status: {phase: 'Running', ...(ip ? {podIP: ip, podIPs: [{ip}]} : {}), conditions: [{type: 'Ready', status: ready ? 'True' : 'False'}]},
  }
}

const service = (extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'Service', metadata: {name: 'web', namespace: NS, uid: 'svc-uid'},
  spec: {selector: {app: 'web'}, clusterIP: '10.96.0.10', ports: [{port: 80, targetPort: 'http', protocol: 'TCP'}], ...extra},
})

const nodes = new Map<string, NodeObject>([['node-a', {metadata: {name: 'node-a', labels: {'topology.kubernetes.io/zone': 'us-central1-a'}}}]])

describe('EndpointSlice endpoints (pure)', () => {
  it('conditions, node, zone and the pod\'s port; terminating pods stay, marked', () => {
    const desired = desiredEndpoints(service(), [pod('a', '10.1.0.2', true), pod('b', '10.1.0.3', false), pod('t', '10.1.0.4', true, {deleting: true}), pod('noip', undefined, false)], nodes)
    assert.deepEqual([...desired.values()].map((d) => d.ports), [[{name: '', port: 8080, protocol: 'TCP'}]])
    const endpoints = [...desired.values()][0]!.endpoints
    assert.deepEqual(endpoints[0], {addresses: ['10.1.0.2'], conditions: {ready: true, serving: true, terminating: false}, nodeName: 'node-a', zone: 'us-central1-a', targetRef: {kind: 'Pod', namespace: NS, name: 'a', uid: 'uid-a'}})
    assert.deepEqual(endpoints.map((e) => [e.targetRef.name, e.conditions]), [
      ['a', {ready: true, serving: true, terminating: false}],
      ['b', {ready: false, serving: false, terminating: false}],
      ['t', {ready: false, serving: true, terminating: true}],
    ])
    const published = desiredEndpoints(service({publishNotReadyAddresses: true}), [pod('b', '10.1.0.3', false)], nodes)
    assert.equal([...published.values()][0]!.endpoints[0]!.conditions.ready, true)
  })

  it('one slice set per port list; at most 100 endpoints a slice; kept endpoints keep their slice; a placeholder when none', () => {
    const many = Array.from({length: 250}, (_, i) => pod(`p${i}`, `10.2.${Math.floor(i / 200)}.${i % 200}`, true))
    const desired = desiredEndpoints(service(), [...many, pod('odd', '10.3.0.1', true, {ports: [{name: 'other', containerPort: 1}]})], nodes)
    assert.equal(desired.size, 2, 'a pod without the named port has its own (empty) port list')
    const first = planSlices([], desired)
    assert.deepEqual(first.keep.map((w) => w.endpoints.length).sort((a, b) => a - b), [1, 50, MAX_ENDPOINTS, MAX_ENDPOINTS])
    // as stored: two full slices; then p0 goes and a new pod comes: it fills the hole, nothing else moves
    const stored = first.keep.filter((w) => w.endpoints.length === MAX_ENDPOINTS).map((w, i): KubeObject => ({metadata: {name: `web-${i}`}, ports: w.ports, endpoints: w.endpoints}))
    const next = desiredEndpoints(service(), [...many.slice(1), pod('new', '10.9.0.1', true)], nodes)
    const second = planSlices(stored, next)
    const names = (w: {endpoints: SliceEndpoint[]}): string[] => w.endpoints.map((e) => e.targetRef.name)
    const firstSlice = second.keep.find((w) => w.existing?.metadata.name === 'web-0')!
    assert.deepEqual(names(firstSlice), [...names({endpoints: stored[0]!.endpoints as SliceEndpoint[]}).filter((n) => n !== 'p0'), 'p200'], 'the first new endpoint fills the hole')
    assert.equal(second.keep.filter((w) => !w.existing).reduce((n, w) => n + w.endpoints.length, 0), 50, 'the rest in a new slice')
    assert.deepEqual(second.remove, [])
    // no endpoints at all: one stored slice becomes the placeholder, the other goes; a placeholder is kept
    const none = planSlices(stored, new Map())
    assert.deepEqual(none.remove.map((s) => s.metadata.name), ['web-1'])
    assert.deepEqual(none.keep, [{existing: stored[0], ports: [], endpoints: []}])
    const placeholder: KubeObject = {metadata: {name: 'web-p'}, ports: [], endpoints: []}
    assert.deepEqual(planSlices([placeholder], new Map()), {keep: [{existing: placeholder, ports: [], endpoints: []}], remove: []})
  })
})

describe('the EndpointSlice controller in the API server', () => {
  let cluster: TestCluster
  const types = () => {
    const r = cluster.server.store.registry
    return {pods: r.get('pods'), services: r.get('services'), slices: r.get('endpointslices', 'discovery.k8s.io')}
  }
  const slicesOf = (name: string): KubeObject[] => cluster.server.store.list(types().slices, NS).filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name)
  const ips = (name: string): string[] => slicesOf(name).flatMap((s) => (s.endpoints as SliceEndpoint[]).filter((e) => e.conditions.ready).flatMap((e) => e.addresses)).sort()

  before(async () => {
    cluster = await startTestCluster()
  })
  after(async () => {
    await cluster?.close()
  })

  it('makes, follows and collects the slices of a Service; never rewrites an unchanged one', async () => {
    const api = cluster.server.api
    const unscheduled = (name: string): Pod => ({apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace: NS, labels: {app: 'web'}}, spec: {schedulerName: 'test-nobody', containers: [{name: 'main', image: 'busybox', ports: [{name: 'http', containerPort: 8080}]}]}})
    const setStatus = (name: string, ip: string, ready: boolean): void => {
      const current = cluster.server.store.get(types().pods, NS, name) as Pod
      api.update(types().pods, NS, name, {...current, status: {phase: 'Running', podIP: ip, podIPs: [{ip}], conditions: [{type: 'Ready', status: ready ? 'True' : 'False'}]}}, {subresource: 'status'})
    }
    const created = api.create(types().services, NS, {apiVersion: 'v1', kind: 'Service', metadata: {name: 'web', namespace: NS, labels: {tier: 'front'}}, spec: {selector: {app: 'web'}, ports: [{port: 80, targetPort: 'http'}]}})
    const placeholder = await eventually('a placeholder slice', () => slicesOf('web')[0])
    assert.deepEqual([placeholder.ports, placeholder.endpoints, placeholder.addressType], [[], [], 'IPv4'])
    assert.deepEqual(placeholder.metadata.labels, {tier: 'front', [SERVICE_NAME_LABEL]: 'web', [MANAGED_BY_LABEL]: CONTROLLER_NAME})
    assert.deepEqual(placeholder.metadata.ownerReferences, [{apiVersion: 'v1', kind: 'Service', name: 'web', uid: created.metadata.uid, controller: true, blockOwnerDeletion: true}])
    assert.match(placeholder.metadata.name!, /^web-[a-z0-9]{5}$/)
    for (const name of ['web-1', 'web-2']) api.create(types().pods, NS, unscheduled(name))
    setStatus('web-1', '10.244.0.11', true)
    setStatus('web-2', '10.244.0.12', false)
    await eventually('web-1 ready in the slice', () => ips('web').join() === '10.244.0.11' && slicesOf('web').flatMap((s) => s.endpoints as SliceEndpoint[]).length === 2)
    assert.equal(slicesOf('web').length, 1, 'the placeholder became the slice')
    assert.equal(slicesOf('web')[0]!.metadata.name, placeholder.metadata.name)
    assert.deepEqual(slicesOf('web')[0]!.ports, [{name: '', port: 8080, protocol: 'TCP'}])
    setStatus('web-2', '10.244.0.12', true)
    await eventually('web-2 ready', () => ips('web').length === 2)
    const version = slicesOf('web')[0]!.metadata.resourceVersion
    const pod1 = cluster.server.store.get(types().pods, NS, 'web-1') as Pod
    api.update(types().pods, NS, 'web-1', {...pod1, metadata: {...pod1.metadata, annotations: {touched: 'yes'}}})
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(slicesOf('web')[0]!.metadata.resourceVersion, version, 'no write when nothing changed')
    api.delete(types().pods, NS, 'web-1')
    await eventually('web-1 gone', () => ips('web').join() === '10.244.0.12')
    api.delete(types().services, NS, 'web')
    await eventually('the slices are collected with the Service', () => slicesOf('web').length === 0)
  })
})

describe('EndpointSlice mirroring', () => {
  it('mirrors each subset\'s addresses (ready and not) with their port list', () => {
    const mirrored = mirroredEndpoints({metadata: {name: 'manual', namespace: NS}, subsets: [
      {addresses: [{ip: '10.9.0.2', nodeName: 'node-a', targetRef: {kind: 'Pod', namespace: NS, name: 'x'}}, {ip: 'not-an-ip'}], notReadyAddresses: [{ip: '10.9.0.3'}], ports: [{name: 'p0', port: 80, protocol: 'TCP'}]},
      {addresses: [], ports: [{port: 9, protocol: 'UDP'}]},
    ]})
    assert.deepEqual([...mirrored.values()], [{
      ports: [{name: 'p0', port: 80, protocol: 'TCP'}],
      endpoints: [
        {addresses: ['10.9.0.2'], conditions: {ready: true}, nodeName: 'node-a', targetRef: {kind: 'Pod', namespace: NS, name: 'x'}},
        {addresses: ['10.9.0.3'], conditions: {ready: false}},
      ],
    }], 'an invalid address and a subset without addresses give nothing')
  })

  it('in the API server: slices owned by the Endpoints, following them, gone when the Service gets a selector', async () => {
    const cluster = await startTestCluster({objects: [
      {apiVersion: 'v1', kind: 'Service', metadata: {name: 'manual', namespace: NS}, spec: {ports: [{name: 'p0', port: 80, protocol: 'TCP'}]}},
      {apiVersion: 'v1', kind: 'Endpoints', metadata: {name: 'manual', namespace: NS, labels: {team: 'a'}, annotations: {'kubectl.kubernetes.io/last-applied-configuration': '{}', note: 'n'}}, subsets: [{addresses: [{ip: '10.9.0.2'}], ports: [{name: 'p0', port: 80, protocol: 'TCP'}]}]},
      {apiVersion: 'v1', kind: 'Service', metadata: {name: 'skipped', namespace: NS}, spec: {ports: [{port: 80}]}},
      {apiVersion: 'v1', kind: 'Endpoints', metadata: {name: 'skipped', namespace: NS, labels: {[SKIP_MIRROR_LABEL]: 'true'}}, subsets: [{addresses: [{ip: '10.9.0.5'}], ports: [{port: 80}]}]},
    ]})
    try {
      const r = cluster.server.store.registry
      const slices = (name: string): KubeObject[] => cluster.server.store.list(r.get('endpointslices', 'discovery.k8s.io'), NS).filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name)
      const slice = await eventually('the mirrored slice', () => slices('manual')[0])
      const endpoints = cluster.server.store.get(r.get('endpoints'), NS, 'manual')!
      assert.deepEqual(slice.metadata.labels, {team: 'a', [SERVICE_NAME_LABEL]: 'manual', [MANAGED_BY_LABEL]: MIRRORING_CONTROLLER})
      assert.deepEqual(slice.metadata.annotations, {note: 'n'})
      assert.deepEqual(slice.metadata.ownerReferences, [{apiVersion: 'v1', kind: 'Endpoints', name: 'manual', uid: endpoints.metadata.uid, controller: true, blockOwnerDeletion: true}])
      assert.deepEqual([slice.addressType, slice.ports, slice.endpoints], ['IPv4', [{name: 'p0', port: 80, protocol: 'TCP'}], [{addresses: ['10.9.0.2'], conditions: {ready: true}}]])
      assert.deepEqual(slices('skipped'), [], 'skip-mirror')
      // the Endpoints change: the same slice follows; an unrelated change of them writes nothing
      cluster.server.api.update(r.get('endpoints'), NS, 'manual', {...endpoints, subsets: [{addresses: [{ip: '10.9.0.2'}, {ip: '10.9.0.4'}], ports: [{name: 'p0', port: 80, protocol: 'TCP'}]}]})
      await eventually('two addresses', () => (slices('manual')[0]?.endpoints as unknown[] | undefined)?.length === 2)
      assert.equal(slices('manual')[0]!.metadata.name, slice.metadata.name)
      const version = slices('manual')[0]!.metadata.resourceVersion
      const current = cluster.server.store.get(r.get('endpoints'), NS, 'manual')!
      cluster.server.api.update(r.get('endpoints'), NS, 'manual', {...current, metadata: {...current.metadata, annotations: {...current.metadata.annotations, other: 'x'}}})
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.equal(slices('manual')[0]!.metadata.resourceVersion, version)
      // the Service gets a selector: the endpoints controller owns its Endpoints now, the mirrored slice goes
      const svc = cluster.server.store.get(r.get('services'), NS, 'manual')!
      cluster.server.api.update(r.get('services'), NS, 'manual', {...svc, spec: {...(svc.spec as object), selector: {app: 'nothing'}}})
      await eventually('no mirrored slice', () => slices('manual').every((s) => s.metadata.labels?.[MANAGED_BY_LABEL] === CONTROLLER_NAME))
    } finally {
      await cluster.close()
    }
  })
})

describe('kubectl get endpointslices', {skip: kubectlSkip()}, () => {
  let cluster: TestCluster
  let kubectl: Kubectl

  before(async () => {
    const found = findKubectl()
    if (!('path' in found)) throw new Error(found.missing)
    kubectl = new Kubectl(found.path)
    cluster = await startTestCluster()
  })
  after(async () => {
    await cluster?.close()
    kubectl?.dispose()
  })

  it('lists the slice of a Service with its running pod', async () => {
    const admin = cluster.kubeconfig()
    await kubectl.ok(admin, ['apply', '-f', '-'], {input: `apiVersion: v1\nkind: Pod\nmetadata: {name: echo, labels: {app: echo}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers: [{name: main, image: busybox, command: [sleep, '60'], ports: [{name: http, containerPort: 8080}]}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: echo}\nspec: {selector: {app: echo}, ports: [{name: web, port: 80, targetPort: http}]}\n`})
    const out = await eventually('the slice with the pod', async () => {
      const table = await kubectl.ok(admin, ['get', 'endpointslices', '-l', `${SERVICE_NAME_LABEL}=echo`])
      return /echo-\S+\s+IPv4\s+8080\s+\d+\.\d+\.\d+\.\d+/.test(table) ? table : undefined
    }, 20_000)
    assert.match(out, /^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE\n/)
  })
})
