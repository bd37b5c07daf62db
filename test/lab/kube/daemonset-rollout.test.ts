/**
 * DaemonSet rolling updates with maxSurge and DaemonSet deletion, as Kubernetes does them:
 * admission defaults and validates the update strategy (exactly one of maxSurge and
 * maxUnavailable non-zero); with maxSurge the new pod starts beside the old one, at most maxSurge
 * nodes at once (percent rounded up), and the old pod goes only once the new one is Ready, so a
 * node never goes without a ready pod; deleting the DaemonSet (background propagation, through
 * the API and through kubectl) garbage-collects its pods, and the kubelet sends SIGTERM and waits
 * up to terminationGracePeriodSeconds before SIGKILL, so a pod's TERM trap gets to run.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {rollingBudget, scaledIntOrPercent} from '../../../src/lab/kube/controllers/daemonset.js'
import type {StoreEvent} from '../../../src/lab/kube/index.js'
import type {KubeObject, Pod} from '../../../src/lab/kube/types.js'
import {Kubectl, findKubectl} from '../../support/kubectl.js'
import {type TestCluster, eventually, node, startTestCluster} from './cluster.js'

let cluster: TestCluster
const types = () => ({pods: cluster.server.store.registry.get('pods'), ds: cluster.server.store.registry.get('daemonsets', 'apps')})
const NODES = ['node-a', 'node-b', 'node-c']

function daemonSet(name: string, script: string, extra: {strategy?: unknown; grace?: number; initContainers?: unknown[]} = {}): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: {name, namespace: 'default'},
    spec: {
      selector: {matchLabels: {app: name}},
      ...(extra.strategy ? {updateStrategy: extra.strategy} : {}),
      template: {
        metadata: {labels: {app: name}},
        spec: {
          ...(extra.grace !== undefined ? {terminationGracePeriodSeconds: extra.grace} : {}),
          ...(extra.initContainers ? {initContainers: extra.initContainers} : {}),
          containers: [{name: 'main', image: 'busybox', command: ['sh', '-c', script]}],
        },
      },
    },
  }
}

const isReady = (p: Pod): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
const podsOf = (name: string): Pod[] => (cluster.server.store.list(types().pods, 'default') as Pod[]).filter((p) => p.metadata.labels?.app === name)
const live = (name: string): Pod[] => podsOf(name).filter((p) => !p.metadata.deletionTimestamp)

function createError(body: KubeObject): string {
  try {
    cluster.server.api.create(types().ds, 'default', body)
  } catch (error) {
    return (error as Error).message
  }
  cluster.server.api.delete(types().ds, 'default', body.metadata.name!)
  return ''
}

before(async () => {
  cluster = await startTestCluster({nodes: NODES.map((n, i) => node(n, `10.0.0.${i + 2}`))})
})
after(async () => {
  await cluster?.close()
})

describe('the update strategy', () => {
  it('is defaulted field by field as the API server does', () => {
    const partial = cluster.server.api.create(types().ds, 'default', daemonSet('defaults', 'sleep 30', {strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}}))
    assert.deepEqual((partial.spec as {updateStrategy: unknown}).updateStrategy, {type: 'RollingUpdate', rollingUpdate: {maxSurge: 1, maxUnavailable: 0}})
    const absent = cluster.server.api.update(types().ds, 'default', 'defaults', {...partial, spec: {...(partial.spec as object), updateStrategy: undefined}})
    assert.deepEqual((absent.spec as {updateStrategy: unknown}).updateStrategy, {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 1, maxSurge: 0}})
    cluster.server.api.delete(types().ds, 'default', 'defaults')
  })

  it('is validated: exactly one of maxSurge and maxUnavailable is non-zero, ints ≥ 0 or percents ≤ 100%', () => {
    const withStrategy = (rollingUpdate: unknown, type = 'RollingUpdate') => createError(daemonSet('invalid', 'sleep 30', {strategy: {type, rollingUpdate}}))
    assert.match(withStrategy({maxSurge: 0, maxUnavailable: 0}), /DaemonSet\.apps "invalid" is invalid: spec\.updateStrategy\.rollingUpdate\.maxUnavailable: Required value: cannot be 0 when maxSurge is 0/)
    assert.match(withStrategy({maxSurge: '0%', maxUnavailable: '0%'}), /cannot be 0 when maxSurge is 0/)
    assert.match(withStrategy({maxSurge: 1, maxUnavailable: 1}), /spec\.updateStrategy\.rollingUpdate\.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero/)
    assert.match(withStrategy({maxSurge: 1}), /may not be set when maxUnavailable is non-zero/, 'maxUnavailable defaults to 1')
    assert.match(withStrategy({maxSurge: '150%', maxUnavailable: 0}), /maxSurge: Invalid value: "150%": must not be greater than 100%/)
    assert.match(withStrategy({maxSurge: 'two', maxUnavailable: 0}), /maxSurge: Invalid value: "two": a valid percent string must be/)
    assert.match(withStrategy({maxSurge: 0, maxUnavailable: -1}), /maxUnavailable: Invalid value: -1: must be greater than or equal to 0/)
    assert.match(createError(daemonSet('invalid', 'sleep 30', {strategy: {type: 'Surge'}})), /spec\.updateStrategy\.type: Unsupported value: "Surge"/)
    assert.equal(withStrategy({maxSurge: 0, maxUnavailable: 0}, 'OnDelete'), '', 'OnDelete ignores rollingUpdate')
    assert.equal(withStrategy({maxSurge: '25%', maxUnavailable: 0}), '')
  })

  it('budgets: counts, percents rounded up, and 1 unavailable when both come out 0', () => {
    assert.equal(scaledIntOrPercent(2, 3), 2)
    assert.equal(scaledIntOrPercent('50%', 3), 2)
    assert.equal(scaledIntOrPercent('10%', 3), 1)
    assert.equal(scaledIntOrPercent('0%', 3), 0)
    assert.deepEqual(rollingBudget({updateStrategy: {type: 'RollingUpdate', rollingUpdate: {maxSurge: '34%', maxUnavailable: 0}}}, 3), {maxSurge: 2, maxUnavailable: 0})
    assert.deepEqual(rollingBudget({updateStrategy: {type: 'RollingUpdate', rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}}, 3), {maxSurge: 0, maxUnavailable: 1})
    assert.deepEqual(rollingBudget({}, 3), {maxSurge: 0, maxUnavailable: 1})
  })
})

/** Watches a DaemonSet's pods while it rolls: per store write, the nodes without a ready pod and the nodes surging. */
function observeRollout(name: string): {stop(): {nodesWithoutReady: Set<string>; peakSurging: number; peakPerNode: number}} {
  const nodesWithoutReady = new Set<string>()
  let peakSurging = 0
  let peakPerNode = 0
  const unsubscribe = cluster.server.store.subscribe((event: StoreEvent) => {
    if (event.resource !== types().pods) return
    const pods = live(name)
    for (const n of NODES) if (!pods.some((p) => p.spec.nodeName === n && isReady(p))) nodesWithoutReady.add(n)
    const perNode = NODES.map((n) => pods.filter((p) => p.spec.nodeName === n).length)
    peakPerNode = Math.max(peakPerNode, ...perNode)
    peakSurging = Math.max(peakSurging, perNode.filter((c) => c > 1).length)
  })
  return {stop: () => (unsubscribe(), {nodesWithoutReady, peakSurging, peakPerNode})}
}

async function rollout(name: string, maxSurge: number | string): Promise<{nodesWithoutReady: Set<string>; peakSurging: number; peakPerNode: number}> {
  cluster.server.api.create(types().ds, 'default', daemonSet(name, 'sleep 300', {strategy: {type: 'RollingUpdate', rollingUpdate: {maxSurge, maxUnavailable: 0}}, grace: 0}))
  await eventually(`${name}: a ready pod on every node`, () => live(name).filter(isReady).length === 3)
  const old = new Set(live(name).map((p) => p.metadata.name))
  const watch = observeRollout(name)
  // the new pods take a while to become ready: an init container sleeps first
  cluster.server.api.patch(types().ds, 'default', name, 'strategic', {spec: {template: {spec: {initContainers: [{name: 'warmup', image: 'busybox', command: ['sleep', '0.4']}]}}}})
  await eventually(`${name}: three updated ready pods and no old one`, () => {
    const pods = podsOf(name)
    return pods.length === 3 && pods.every((p) => !old.has(p.metadata.name) && isReady(p))
  }, 20_000)
  const seen = watch.stop()
  cluster.server.api.delete(types().ds, 'default', name)
  await eventually(`${name}: pods collected`, () => podsOf(name).length === 0)
  return seen
}

describe('a RollingUpdate with maxSurge', () => {
  it('maxSurge 1, maxUnavailable 0: one node at a time, the old pod goes only once the new one is ready', async () => {
    const seen = await rollout('surge-one', 1)
    assert.deepEqual([...seen.nodesWithoutReady], [], 'no node was ever without a ready pod')
    assert.equal(seen.peakSurging, 1, 'never more than maxSurge nodes with two pods')
    assert.equal(seen.peakPerNode, 2)
  })

  it('maxSurge 50% of 3 nodes: two at a time (rounded up)', async () => {
    const seen = await rollout('surge-half', '50%')
    assert.deepEqual([...seen.nodesWithoutReady], [])
    assert.equal(seen.peakSurging, 2)
  })

  it('an old pod that is not ready is replaced at once, beyond maxSurge', async () => {
    // every old pod crash-loops (never ready): all three get their new pod in the same sync
    cluster.server.api.create(types().ds, 'default', daemonSet('surge-broken', 'exit 1', {strategy: {type: 'RollingUpdate', rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}, grace: 0}))
    await eventually('three crash-looping pods', () => live('surge-broken').length === 3 && live('surge-broken').every((p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 || p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff'))
    const old = new Set(live('surge-broken').map((p) => p.metadata.name))
    const watch = observeRollout('surge-broken')
    cluster.server.api.patch(types().ds, 'default', 'surge-broken', 'strategic', {spec: {template: {spec: {containers: [{name: 'main', command: ['sh', '-c', 'sleep 300']}]}}}})
    await eventually('three updated ready pods', () => podsOf('surge-broken').length === 3 && podsOf('surge-broken').every((p) => !old.has(p.metadata.name) && isReady(p)), 15_000)
    assert.equal(watch.stop().peakSurging, 3, 'all three nodes were allowed their replacement at once')
    cluster.server.api.delete(types().ds, 'default', 'surge-broken')
    await eventually('pods collected', () => podsOf('surge-broken').length === 0)
  })
})

describe('deleting a DaemonSet', () => {
  /** a pod that removes "its chain" in its TERM trap (as xcc's DaemonSet does), slowly */
  const trapScript = (dir: string, name: string) => `trap 'sleep 0.5; echo cleaned > ${dir}/${name}-cleaned-$XCC_NODE; exit 0' TERM; echo up > ${dir}/${name}-up-$XCC_NODE; while true; do sleep 0.1; done`
  const withNodeEnv = (ds: KubeObject): KubeObject => {
    const containers = ((ds.spec as {template: {spec: {containers: Array<Record<string, unknown>>}}}).template.spec.containers)
    containers[0]!.env = [{name: 'XCC_NODE', valueFrom: {fieldRef: {fieldPath: 'spec.nodeName'}}}]
    return ds
  }
  const marks = (name: string, kind: 'up' | 'cleaned'): string[] => NODES.filter((n) => {
    const file = join(cluster.dir, `${name}-${kind}-${n}`)
    return existsSync(file) && readFileSync(file, 'utf8').trim() === kind
  })

  it('through the API with background propagation: the pods are collected and their TERM traps run within the grace period', async () => {
    cluster.server.api.create(types().ds, 'default', withNodeEnv(daemonSet('trap-api', trapScript(cluster.dir, 'trap-api'), {grace: 5})))
    await eventually('every pod up', () => marks('trap-api', 'up').length === 3)
    const started = Date.now()
    cluster.server.api.delete(types().ds, 'default', 'trap-api', {propagationPolicy: 'Background'})
    await eventually('the pods gone', () => podsOf('trap-api').length === 0, 10_000)
    const ms = Date.now() - started
    assert.deepEqual(marks('trap-api', 'cleaned'), NODES, 'every TERM trap finished its cleanup')
    assert.ok(ms >= 500 && ms < 4000, `the pods went once their trap exited (${ms} ms), not after the whole grace period`)
  })

  it('a process that ignores SIGTERM is killed when the grace period ends', async () => {
    const script = `trap '' TERM; echo up > ${cluster.dir}/stubborn-up-$XCC_NODE; while true; do sleep 0.1 || true; done`
    cluster.server.api.create(types().ds, 'default', withNodeEnv(daemonSet('stubborn', script, {grace: 1})))
    await eventually('every pod up', () => marks('stubborn', 'up').length === 3)
    const started = Date.now()
    cluster.server.api.delete(types().ds, 'default', 'stubborn', {propagationPolicy: 'Background'})
    await eventually('the pods gone', () => podsOf('stubborn').length === 0, 10_000)
    const ms = Date.now() - started
    assert.ok(ms >= 950 && ms < 4000, `SIGKILL after the 1 s grace period (${ms} ms)`)
  })

  const found = findKubectl()
  it('with kubectl delete ds', {skip: 'path' in found ? false : found.missing}, async () => {
    const kubectl = new Kubectl((found as {path: string}).path)
    try {
      cluster.server.api.create(types().ds, 'default', withNodeEnv(daemonSet('trap-kubectl', trapScript(cluster.dir, 'trap-kubectl'), {grace: 5})))
      await eventually('every pod up', () => marks('trap-kubectl', 'up').length === 3)
      await kubectl.ok(cluster.kubeconfig(), ['delete', 'ds', 'trap-kubectl'])
      await eventually('the pods gone', () => podsOf('trap-kubectl').length === 0, 10_000)
      assert.deepEqual(marks('trap-kubectl', 'cleaned'), NODES)
    } finally {
      kubectl.dispose()
    }
  })
})
