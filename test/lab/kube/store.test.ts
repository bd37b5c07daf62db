import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {ClusterApi} from '../../../src/lab/kube/api.js'
import {parseCidr} from '../../../src/lab/kube/admission.js'
import {ApiError} from '../../../src/lab/kube/errors.js'
import {ResourceRegistry} from '../../../src/lab/kube/resources.js'
import {parseSelector} from '../../../src/lab/kube/selectors.js'
import {ObjectStore, type StoreEvent} from '../../../src/lab/kube/store.js'
import type {KubeObject} from '../../../src/lab/kube/types.js'
import {project} from '../../../src/lab/kube/http/watch.js'

function setup(historyLimit?: number) {
  const registry = new ResourceRegistry()
  const store = new ObjectStore(registry, {historyLimit})
  const api = new ClusterApi(store, parseCidr('10.96.0.0/12'))
  const namespaces = registry.get('namespaces')
  const configmaps = registry.get('configmaps')
  store.create(namespaces, {metadata: {name: 'default'}})
  return {registry, store, api, namespaces, configmaps}
}

const code = (expected: number, reason?: string) => (e: unknown): boolean => e instanceof ApiError && e.code === expected && (reason === undefined || e.reason === reason)

describe('object store', () => {
  it('one cluster-wide resourceVersion counter; uid, creationTimestamp, apiVersion and kind are set', () => {
    const {store, configmaps} = setup()
    const before = store.resourceVersion
    const a = store.create(configmaps, {metadata: {name: 'a', namespace: 'default'}, data: {k: 'v'}})
    const b = store.create(configmaps, {metadata: {name: 'b', namespace: 'default'}})
    assert.equal(a.metadata.resourceVersion, String(before + 1))
    assert.equal(b.metadata.resourceVersion, String(before + 2))
    assert.match(a.metadata.uid!, /^[0-9a-f-]{36}$/)
    assert.match(a.metadata.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    assert.equal(a.apiVersion, 'v1')
    assert.equal(a.kind, 'ConfigMap')
    assert.ok(Object.isFrozen(a.metadata), 'stored objects are frozen')
  })

  it('generateName makes a unique name; a taken name is 409 AlreadyExists; a bad name is 422', () => {
    const {store, configmaps} = setup()
    const g = store.create(configmaps, {metadata: {generateName: 'cm-', namespace: 'default'}})
    assert.match(g.metadata.name!, /^cm-[a-z0-9]{5}$/)
    store.create(configmaps, {metadata: {name: 'x', namespace: 'default'}})
    assert.throws(() => store.create(configmaps, {metadata: {name: 'x', namespace: 'default'}}), code(409, 'AlreadyExists'))
    assert.throws(() => store.create(configmaps, {metadata: {name: 'Bad_Name', namespace: 'default'}}), code(422, 'Invalid'))
  })

  it('namespaced objects need an existing, active namespace', () => {
    const {store, api, configmaps, namespaces} = setup()
    assert.throws(() => store.create(configmaps, {metadata: {name: 'x', namespace: 'nope'}}), code(404, 'NotFound'))
    store.create(namespaces, {metadata: {name: 'going'}})
    api.delete(namespaces, undefined, 'going')
    assert.equal(store.get(namespaces, undefined, 'going')!.metadata.deletionTimestamp !== undefined, true)
    assert.throws(() => store.create(configmaps, {metadata: {name: 'x', namespace: 'going'}}), code(403, 'Forbidden'))
  })

  it('updates with a stale resourceVersion are 409 Conflict; without one they apply', () => {
    const {store, configmaps} = setup()
    const a = store.create(configmaps, {metadata: {name: 'a', namespace: 'default'}, data: {k: '1'}})
    const b = store.replace(configmaps, {...a, data: {k: '2'}})
    assert.equal(Number(b.metadata.resourceVersion), Number(a.metadata.resourceVersion) + 1)
    assert.equal(b.metadata.uid, a.metadata.uid)
    assert.throws(() => store.replace(configmaps, {...a, data: {k: '3'}}), code(409, 'Conflict'))
    const c = store.replace(configmaps, {metadata: {name: 'a', namespace: 'default'}, data: {k: '4'}})
    assert.deepEqual(c.data, {k: '4'})
    assert.equal(c.metadata.creationTimestamp, a.metadata.creationTimestamp, 'server-owned metadata is kept')
  })

  it('the status subresource: main writes keep status, status writes keep everything else', () => {
    const {store, registry} = setup()
    const ds = registry.get('daemonsets', 'apps')
    const created = store.create(ds, {metadata: {name: 'd', namespace: 'default'}, spec: {x: 1}, status: {numberReady: 0}})
    assert.equal(created.metadata.generation, 1)
    const main = store.replace(ds, {...created, spec: {x: 2}, status: {numberReady: 99}})
    assert.deepEqual(main.status, {numberReady: 0})
    assert.equal(main.metadata.generation, 2, 'a spec change bumps generation')
    const status = store.replace(ds, {...main, spec: {x: 3}, status: {numberReady: 1}}, {subresource: 'status'})
    assert.deepEqual(status.spec, {x: 2})
    assert.deepEqual(status.status, {numberReady: 1})
    assert.equal(status.metadata.generation, 2)
  })

  it('lists filter by namespace and selectors, sorted by namespace and name', () => {
    const {store, configmaps, namespaces} = setup()
    store.create(namespaces, {metadata: {name: 'other'}})
    store.create(configmaps, {metadata: {name: 'b', namespace: 'default', labels: {app: 'x'}}})
    store.create(configmaps, {metadata: {name: 'a', namespace: 'default', labels: {app: 'y'}}})
    store.create(configmaps, {metadata: {name: 'c', namespace: 'other', labels: {app: 'x'}}})
    assert.deepEqual(store.list(configmaps).map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ['default/a', 'default/b', 'other/c'])
    assert.deepEqual(store.list(configmaps, 'default').map((o) => o.metadata.name), ['a', 'b'])
    assert.deepEqual(store.list(configmaps, undefined, parseSelector('app=x')).map((o) => o.metadata.name), ['b', 'c'])
    assert.deepEqual(store.list(configmaps, undefined, parseSelector(null, 'metadata.namespace=other')).map((o) => o.metadata.name), ['c'])
  })

  it('watch resume: events after a resourceVersion, in order; too old is 410 Gone', () => {
    const {store, configmaps} = setup(5)
    const start = store.resourceVersion
    const seen: StoreEvent[] = []
    store.subscribe((e) => seen.push(e))
    const a = store.create(configmaps, {metadata: {name: 'a', namespace: 'default'}})
    store.replace(configmaps, {...a, data: {k: 'v'}})
    store.remove(configmaps, 'default', 'a')
    assert.deepEqual(seen.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED'])
    assert.deepEqual(store.eventsSince(start).map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED'])
    assert.deepEqual(store.eventsSince(start + 1).map((e) => e.type), ['MODIFIED', 'DELETED'])
    assert.equal(store.eventsSince(store.resourceVersion).length, 0)
    assert.equal(seen[2]!.previous!.metadata.name, 'a')
    for (let i = 0; i < 10; i++) store.create(configmaps, {metadata: {name: `n${i}`, namespace: 'default'}})
    assert.throws(() => store.eventsSince(start), code(410, 'Expired'))
    assert.equal(store.eventsSince(store.resourceVersion - 3).length, 3)
  })

  it('delete preconditions (uid, resourceVersion)', () => {
    const {store, configmaps} = setup()
    const a = store.create(configmaps, {metadata: {name: 'a', namespace: 'default'}})
    assert.throws(() => store.remove(configmaps, 'default', 'a', {uid: 'other'}), code(409))
    assert.throws(() => store.remove(configmaps, 'default', 'a', {resourceVersion: '1'}), code(409))
    assert.equal(store.remove(configmaps, 'default', 'a', {uid: a.metadata.uid}).metadata.name, 'a')
    assert.throws(() => store.remove(configmaps, 'default', 'a'), code(404, 'NotFound'))
  })
})

describe('watch projection through selectors', () => {
  const {registry} = setup()
  const pods = registry.get('pods')
  const pod = (phase: string): KubeObject => ({metadata: {name: 'p', namespace: 'default'}, status: {phase}})
  const selector = parseSelector(null, 'status.phase=Running')
  const event = (type: StoreEvent['type'], object: KubeObject, previous?: KubeObject): StoreEvent => ({type, object, previous, resource: pods, resourceVersion: 1})

  it('ADDED when an object starts matching, DELETED when it stops, MODIFIED while it matches', () => {
    assert.equal(project(event('MODIFIED', pod('Running'), pod('Pending')), undefined, selector), 'ADDED')
    assert.equal(project(event('MODIFIED', pod('Running'), pod('Running')), undefined, selector), 'MODIFIED')
    assert.equal(project(event('MODIFIED', pod('Failed'), pod('Running')), undefined, selector), 'DELETED')
    assert.equal(project(event('MODIFIED', pod('Failed'), pod('Pending')), undefined, selector), undefined)
    assert.equal(project(event('ADDED', pod('Pending')), undefined, selector), undefined)
    assert.equal(project(event('ADDED', pod('Running')), 'other', selector), undefined, 'other namespaces are not seen')
  })
})

describe('cluster API (admission and deletion)', () => {
  it('pods get defaults; an invalid pod is 422 with causes', () => {
    const {api, registry} = setup()
    const pods = registry.get('pods')
    const pod = api.create(pods, 'default', {metadata: {name: 'p'}, spec: {containers: [{name: 'c', image: 'busybox'}]}}) as KubeObject & {spec: {restartPolicy: string; terminationGracePeriodSeconds: number; serviceAccountName: string; containers: Array<{terminationMessagePath: string}>}; status: {phase: string}}
    assert.equal(pod.spec.restartPolicy, 'Always')
    assert.equal(pod.spec.terminationGracePeriodSeconds, 30)
    assert.equal(pod.spec.serviceAccountName, 'default')
    assert.equal(pod.spec.containers[0]!.terminationMessagePath, '/dev/termination-log')
    assert.equal(pod.status.phase, 'Pending')
    assert.throws(
      () => api.create(pods, 'default', {metadata: {name: 'q'}, spec: {containers: []}}),
      (e: unknown) => e instanceof ApiError && e.code === 422 && e.details?.causes?.[0]?.field === 'spec.containers',
    )
  })

  it('pod specs are immutable except images, activeDeadlineSeconds and tolerations', () => {
    const {api, registry} = setup()
    const pods = registry.get('pods')
    api.create(pods, 'default', {metadata: {name: 'p'}, spec: {containers: [{name: 'c', image: 'a', command: ['sleep', '1']}]}})
    const patched = api.patch(pods, 'default', 'p', 'strategic', {metadata: {labels: {x: 'y'}}, spec: {containers: [{name: 'c', image: 'b'}]}})
    assert.equal(patched.object.metadata.labels!.x, 'y')
    assert.throws(() => api.patch(pods, 'default', 'p', 'merge', {spec: {restartPolicy: 'Never'}}), code(422, 'Invalid'))
  })

  it('merge, JSON and apply patches; apply creates what is missing', () => {
    const {api, configmaps} = setup()
    api.create(configmaps, 'default', {metadata: {name: 'c'}, data: {a: '1'}})
    assert.deepEqual(api.patch(configmaps, 'default', 'c', 'merge', {data: {b: '2'}}).object.data, {a: '1', b: '2'})
    assert.deepEqual(api.patch(configmaps, 'default', 'c', 'json', [{op: 'remove', path: '/data/a'}]).object.data, {b: '2'})
    const applied = api.patch(configmaps, 'default', 'new', 'apply', {apiVersion: 'v1', kind: 'ConfigMap', data: {z: '1'}})
    assert.equal(applied.created, true)
    assert.throws(() => api.patch(configmaps, 'default', 'c', 'merge', {metadata: {resourceVersion: '1'}, data: {}}), code(409, 'Conflict'))
    assert.throws(() => api.patch(configmaps, 'default', 'missing', 'merge', {}), code(404))
  })

  it('Services get a cluster IP from the range and node ports when they need them', () => {
    const {api, registry} = setup()
    const services = registry.get('services')
    type Service = KubeObject & {spec: {clusterIP: string; ports: Array<{targetPort: number; nodePort: number}>}}
    const a = api.create(services, 'default', {metadata: {name: 'a'}, spec: {ports: [{port: 80}]}}) as Service
    assert.equal(a.spec.clusterIP, '10.96.0.2')
    assert.equal(a.spec.ports[0]!.targetPort, 80)
    const b = api.create(services, 'default', {metadata: {name: 'b'}, spec: {type: 'NodePort', ports: [{port: 80}, {port: 81}]}}) as Service
    assert.equal(b.spec.clusterIP, '10.96.0.3')
    assert.deepEqual(b.spec.ports.map((p) => p.nodePort), [30000, 30001])
  })

  it('objects with finalizers wait for them; Orphan propagation drops owner references', () => {
    const {api, store, configmaps} = setup()
    const owner = api.create(configmaps, 'default', {metadata: {name: 'owner'}})
    api.create(configmaps, 'default', {metadata: {name: 'child', ownerReferences: [{apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid!}]}})
    api.create(configmaps, 'default', {metadata: {name: 'held', finalizers: ['example.com/x']}})
    const held = api.delete(configmaps, 'default', 'held')
    assert.ok(held.metadata.deletionTimestamp)
    assert.ok(store.get(configmaps, 'default', 'held'))
    api.patch(configmaps, 'default', 'held', 'merge', {metadata: {finalizers: null}})
    assert.equal(store.get(configmaps, 'default', 'held'), undefined)
    api.delete(configmaps, 'default', 'owner', {propagationPolicy: 'Orphan'})
    assert.equal(store.get(configmaps, 'default', 'child')!.metadata.ownerReferences, undefined)
  })
})
