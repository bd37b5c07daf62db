import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {ApiError} from '../../../src/lab/kube/errors.js'
import {applyJsonPatch} from '../../../src/lab/kube/patch/json-patch.js'
import {applyMergePatch} from '../../../src/lab/kube/patch/merge-patch.js'
import {strategicSchemaFor} from '../../../src/lab/kube/patch/schemas.js'
import {applyStrategicMergePatch} from '../../../src/lab/kube/patch/strategic.js'

describe('JSON merge patch (RFC 7386)', () => {
  it('merges objects, null deletes, arrays and scalars replace', () => {
    const target = {a: 'b', c: {d: 'e', f: 'g'}, list: [1, 2]}
    const out = applyMergePatch(target, {a: 'z', c: {f: null, h: 1}, list: [3]})
    assert.deepEqual(out, {a: 'z', c: {d: 'e', h: 1}, list: [3]})
    assert.deepEqual(target, {a: 'b', c: {d: 'e', f: 'g'}, list: [1, 2]}, 'the target is not changed')
  })

  it('RFC 7386 appendix examples', () => {
    assert.deepEqual(applyMergePatch({a: 'b'}, {a: 'c'}), {a: 'c'})
    assert.deepEqual(applyMergePatch({a: 'b'}, {b: 'c'}), {a: 'b', b: 'c'})
    assert.deepEqual(applyMergePatch({a: 'b', b: 'c'}, {a: null}), {b: 'c'})
    assert.deepEqual(applyMergePatch({a: [{b: 'c'}]}, {a: [1]}), {a: [1]})
    assert.deepEqual(applyMergePatch(['a', 'b'], ['c', 'd']), ['c', 'd'])
    assert.deepEqual(applyMergePatch({a: 'b'}, ['c']), ['c'])
    assert.deepEqual(applyMergePatch({e: null}, {a: 1}), {e: null, a: 1})
    assert.deepEqual(applyMergePatch({}, {a: {bb: {ccc: null}}}), {a: {bb: {}}})
  })

  it('ignores __proto__ keys', () => {
    const out = applyMergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    assert.equal(Object.getPrototypeOf(out), Object.prototype)
  })
})

describe('JSON patch (RFC 6902)', () => {
  const doc = {metadata: {labels: {a: '1'}}, spec: {containers: [{name: 'a'}, {name: 'b'}]}}

  it('add, remove, replace, move, copy, test', () => {
    const out = applyJsonPatch(doc, [
      {op: 'add', path: '/metadata/labels/b', value: '2'},
      {op: 'add', path: '/spec/containers/-', value: {name: 'c'}},
      {op: 'add', path: '/spec/containers/0', value: {name: 'z'}},
      {op: 'remove', path: '/spec/containers/1'},
      {op: 'replace', path: '/metadata/labels/a', value: 'x'},
      {op: 'copy', from: '/metadata/labels/a', path: '/metadata/labels/c'},
      {op: 'move', from: '/metadata/labels/b', path: '/metadata/labels/d'},
      {op: 'test', path: '/metadata/labels/d', value: '2'},
    ])
    assert.deepEqual(out, {metadata: {labels: {a: 'x', c: 'x', d: '2'}}, spec: {containers: [{name: 'z'}, {name: 'b'}, {name: 'c'}]}})
    assert.deepEqual(doc.metadata.labels, {a: '1'}, 'the document is not changed')
  })

  it('escaped pointers (~0, ~1)', () => {
    const out = applyJsonPatch({metadata: {annotations: {}}}, [{op: 'add', path: '/metadata/annotations/example.com~1a~0b', value: 'v'}])
    assert.deepEqual(out, {metadata: {annotations: {'example.com/a~b': 'v'}}})
  })

  it('failing tests, missing paths and bad indexes are errors; nothing is applied', () => {
    const invalid = (e: unknown): boolean => e instanceof ApiError && e.code === 422
    assert.throws(() => applyJsonPatch(doc, [{op: 'test', path: '/metadata/labels/a', value: '2'}]), invalid)
    assert.throws(() => applyJsonPatch(doc, [{op: 'remove', path: '/nope'}]), invalid)
    assert.throws(() => applyJsonPatch(doc, [{op: 'replace', path: '/spec/containers/5', value: 1}]), invalid)
    assert.throws(() => applyJsonPatch(doc, [{op: 'add', path: '/a/b/c', value: 1}]), invalid)
    assert.throws(() => applyJsonPatch(doc, {op: 'add'}), (e: unknown) => e instanceof ApiError && e.code === 400)
  })
})

describe('strategic merge patch', () => {
  const pod = {
    metadata: {name: 'p', labels: {a: '1'}, finalizers: ['x']},
    spec: {
      containers: [
        {name: 'main', image: 'one', env: [{name: 'A', value: '1'}, {name: 'B', value: '2'}], ports: [{containerPort: 80, name: 'http'}]},
        {name: 'side', image: 'two'},
      ],
      volumes: [{name: 'v1', emptyDir: {}}],
      tolerations: [{key: 'a', operator: 'Exists'}],
    },
  }
  const schema = strategicSchemaFor('Pod')

  it('merges lists of maps by their merge key (containers, env, ports)', () => {
    const out = applyStrategicMergePatch(pod, {
      spec: {containers: [{name: 'main', image: 'three', env: [{name: 'B', value: 'b'}, {name: 'C', value: '3'}], ports: [{containerPort: 80, protocol: 'TCP'}]}]},
    }, schema) as typeof pod
    assert.equal(out.spec.containers.length, 2)
    assert.equal(out.spec.containers[0]!.image, 'three')
    assert.deepEqual(out.spec.containers[0]!.env, [{name: 'A', value: '1'}, {name: 'B', value: 'b'}, {name: 'C', value: '3'}])
    assert.deepEqual(out.spec.containers[0]!.ports, [{containerPort: 80, name: 'http', protocol: 'TCP'}])
    assert.deepEqual(out.spec.containers[1], {name: 'side', image: 'two'})
  })

  it('replaces lists without a strategy (tolerations)', () => {
    const out = applyStrategicMergePatch(pod, {spec: {tolerations: [{key: 'b', operator: 'Exists'}]}}, schema) as typeof pod
    assert.deepEqual(out.spec.tolerations, [{key: 'b', operator: 'Exists'}])
  })

  it('$patch: delete removes a list element by key; null removes a map key', () => {
    const out = applyStrategicMergePatch(pod, {metadata: {labels: {a: null}}, spec: {containers: [{name: 'side', $patch: 'delete'}]}}, schema) as typeof pod
    assert.deepEqual(out.spec.containers.map((c) => c.name), ['main'])
    assert.deepEqual(out.metadata.labels, {})
  })

  it('$patch: replace replaces a whole list or map', () => {
    const list = applyStrategicMergePatch(pod, {spec: {containers: [{name: 'only', image: 'x'}, {$patch: 'replace'}]}}, schema) as typeof pod
    assert.deepEqual(list.spec.containers, [{name: 'only', image: 'x'}])
    const map = applyStrategicMergePatch(pod, {metadata: {labels: {b: '2', $patch: 'replace'}}}, schema) as typeof pod
    assert.deepEqual(map.metadata.labels, {b: '2'})
  })

  it('$patch: delete on a map removes it', () => {
    const out = applyStrategicMergePatch(pod, {metadata: {labels: {$patch: 'delete'}}}, schema) as typeof pod
    assert.equal(out.metadata.labels, undefined)
  })

  it('scalar lists with a merge strategy are sets; $deleteFromPrimitiveList removes from them', () => {
    const added = applyStrategicMergePatch(pod, {metadata: {finalizers: ['y', 'x']}}, schema) as typeof pod
    assert.deepEqual(added.metadata.finalizers, ['x', 'y'])
    const removed = applyStrategicMergePatch(added, {metadata: {'$deleteFromPrimitiveList/finalizers': ['x']}}, schema) as typeof pod
    assert.deepEqual(removed.metadata.finalizers, ['y'])
  })

  it('$setElementOrder orders the merged list and is not stored', () => {
    const out = applyStrategicMergePatch(pod, {spec: {'$setElementOrder/containers': [{name: 'side'}, {name: 'main'}], containers: [{name: 'side', image: 'new'}]}}, schema) as typeof pod
    assert.deepEqual(out.spec.containers.map((c) => c.name), ['side', 'main'])
    assert.equal(Object.keys(out.spec).some((k) => k.startsWith('$')), false)
  })

  it('$retainKeys drops the keys it does not list', () => {
    const out = applyStrategicMergePatch(pod, {spec: {volumes: [{name: 'v1', hostPath: {path: '/x'}, $retainKeys: ['name', 'hostPath']}]}}, schema) as {spec: {volumes: unknown[]}}
    assert.deepEqual(out.spec.volumes, [{name: 'v1', hostPath: {path: '/x'}}])
  })

  it('a list element without its merge key is a 400', () => {
    assert.throws(() => applyStrategicMergePatch(pod, {spec: {containers: [{image: 'x'}]}}, schema), (e: unknown) => e instanceof ApiError && e.code === 400)
  })

  it('DaemonSet templates and Service ports use the same metadata', () => {
    const ds = {spec: {template: {spec: {containers: [{name: 'a', image: '1'}, {name: 'b', image: '1'}]}}}}
    const out = applyStrategicMergePatch(ds, {spec: {template: {spec: {containers: [{name: 'b', image: '2'}]}}}}, strategicSchemaFor('DaemonSet')) as typeof ds
    assert.deepEqual(out.spec.template.spec.containers, [{name: 'a', image: '1'}, {name: 'b', image: '2'}])
    const svc = {spec: {ports: [{port: 80, targetPort: 8080}, {port: 443}]}}
    const svcOut = applyStrategicMergePatch(svc, {spec: {ports: [{port: 80, targetPort: 9090}]}}, strategicSchemaFor('Service')) as typeof svc
    assert.deepEqual(svcOut.spec.ports, [{port: 80, targetPort: 9090}, {port: 443}])
  })
})
