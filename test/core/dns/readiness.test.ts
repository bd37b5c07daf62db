/**
 * `xcc dns link` waits for its responder before it edits the cluster DNS (issue 17): the rollout
 * judged as `kubectl rollout status` judges it, pod reasons that end the wait at once, the
 * timeout, and the DNS ConfigMap left untouched when the responder is not ready — behind the
 * KubeCluster port (the masquerade tests' fake cluster) on a clock whose sleeps return at once.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, it} from 'node:test'

import {applyDnsPlan} from '../../../src/core/dns/apply.js'
import {planLink} from '../../../src/core/dns/plan.js'
import {describePod, responderRollout, waitForResponder} from '../../../src/core/dns/readiness.js'
import {recordSet} from '../../../src/core/dns/records.js'
import {DEFAULT_RESPONDER_IMAGE} from '../../../src/core/dns/responder.js'
import {loadDnsState} from '../../../src/core/dns/state.js'
import {XccError} from '../../../src/core/errors.js'
import type {Clock} from '../../../src/core/ports/clock.js'
import type {KubeDeployment, KubePod} from '../../../src/core/ports/kube.js'
import {FakeCluster, instantClock} from '../masquerade/fake-cluster.js'

const TEMPLATE = readFileSync(fileURLToPath(new URL('../../../templates/dns/responder.yaml', import.meta.url)), 'utf8')
const TARGET = {namespace: 'kube-system', name: 'xcc-dns-responder', context: 'fake'}

function deployment(generation: number, status: NonNullable<KubeDeployment['status']>, replicas = 2): KubeDeployment {
  return {metadata: {name: 'xcc-dns-responder', namespace: 'kube-system', generation}, spec: {replicas, selector: {matchLabels: {'app.kubernetes.io/name': 'xcc-dns-responder'}}, template: {metadata: {labels: {'app.kubernetes.io/name': 'xcc-dns-responder'}}, spec: {}}}, status}
}

function pod(name: string, status: KubePod['status']): KubePod {
  return {metadata: {name, namespace: 'kube-system', labels: {'app.kubernetes.io/name': 'xcc-dns-responder'}}, spec: {containers: [{name: 'coredns', image: DEFAULT_RESPONDER_IMAGE}]}, status}
}

/** a clock whose sleeps return at once; `after` runs on the nth sleep */
function steppingClock(n: number, after: () => void): Clock & {sleeps: number} {
  const inner = instantClock()
  const clock = {sleeps: 0, now: () => inner.now(), sleep: async (ms: number) => {
    await inner.sleep(ms)
    if (++clock.sleeps === n) after()
  }}
  return clock
}

const deps = (cluster: FakeCluster, clock: Clock, progress: string[] = [], timeoutMs = 60_000) => ({cluster, clock, signal: new AbortController().signal, progress: (t: string) => progress.push(t), timeoutMs, canListPods: true})

describe('the responder rollout, as kubectl rollout status judges it', () => {
  it('waits for the observed generation, the updated pods, the old ones to go and every updated pod available', () => {
    assert.deepEqual(responderRollout(deployment(2, {observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2})), {ready: false, text: 'waiting for the Deployment controller to observe the new spec'})
    assert.equal(responderRollout(deployment(2, {observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2})).text, '1 of 2 pods run the current template')
    assert.equal(responderRollout(deployment(2, {observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 3})).text, '1 old pods pending termination')
    assert.equal(responderRollout(deployment(2, {observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1})).text, '1 of 2 pods ready')
    assert.deepEqual(responderRollout(deployment(2, {observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2})), {ready: true, text: '2 of 2 pods ready'})
    // a freshly created Deployment has no status at all yet
    assert.equal(responderRollout(deployment(1, {})).ready, false)
  })

  it('a rollout past its progress deadline, or a Deployment gone, will not become ready', () => {
    const late = responderRollout(deployment(1, {observedGeneration: 1, replicas: 2, updatedReplicas: 2, conditions: [{type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "xcc-dns-responder-5d4" has timed out progressing.'}]}))
    assert.match(late.problem ?? '', /exceeded its progress deadline \(ReplicaSet "xcc-dns-responder-5d4" has timed out progressing\.\)/)
    assert.match(responderRollout(undefined).problem ?? '', /gone/)
  })

  it('describes a pod by what keeps it from being ready', () => {
    assert.equal(describePod(pod('r-1', {phase: 'Pending', conditions: [{type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available: 2 node(s) were unschedulable.'}]})), 'r-1: not scheduled (Unschedulable: 0/2 nodes are available: 2 node(s) were unschedulable.)')
    assert.equal(describePod(pod('r-2', {phase: 'Pending', containerStatuses: [{name: 'coredns', state: {waiting: {reason: 'ImagePullBackOff', message: 'Back-off pulling image "registry.k8s.io/coredns/coredns:v9"'}}}]})), 'r-2: ImagePullBackOff: Back-off pulling image "registry.k8s.io/coredns/coredns:v9"')
    assert.equal(describePod(pod('r-3', {phase: 'Pending', containerStatuses: [{name: 'coredns', state: {waiting: {reason: 'ContainerCreating'}}}]})), 'r-3: Pending, coredns waiting: ContainerCreating')
    assert.equal(describePod(pod('r-4', {phase: 'Running', conditions: [{type: 'Ready', status: 'False', reason: 'ContainersNotReady'}]})), 'r-4: Running, not ready (ContainersNotReady)')
  })
})

describe('waiting for the responder', () => {
  it('a responder already ready costs one read and no wait', async () => {
    const a = new FakeCluster()
    await a.createDeployment('kube-system', deployment(1, {}))
    const progress: string[] = []
    const clock = steppingClock(1, () => {})
    const ready = await waitForResponder(deps(a, clock, progress), TARGET)
    assert.deepEqual(ready, {detail: '2 of 2 pods ready', waitedMs: 0})
    assert.equal(clock.sleeps, 0)
    assert.deepEqual(progress, [])
    assert.deepEqual(a.calls.filter((c) => c.startsWith('getDeployment')).length, 1)
  })

  it('polls until the pods are ready, saying so on stderr', async () => {
    const a = new FakeCluster()
    a.deploymentsReady = false
    await a.createDeployment('kube-system', deployment(1, {}))
    const progress: string[] = []
    const clock = steppingClock(3, () => void (a.deploymentsReady = true))
    const ready = await waitForResponder(deps(a, clock, progress), TARGET)
    assert.equal(clock.sleeps, 3)
    assert.equal(ready.waitedMs, 750)
    assert.match(progress[0] ?? '', /^waiting for the responder \(Deployment kube-system\/xcc-dns-responder\) to be ready before the cluster DNS points at it \(up to 60s\)$/)
    assert.deepEqual(progress.slice(1), ['responder: 0 of 2 pods ready', 'the responder is ready: 2 of 2 pods ready'])
  })

  it('an image that cannot be pulled ends the wait at once, naming the pod and its reason (exit 3)', async () => {
    const a = new FakeCluster()
    a.deploymentsReady = false
    await a.createDeployment('kube-system', deployment(1, {}))
    a.pods.set('kube-system/r-1', pod('r-1', {phase: 'Pending', containerStatuses: [{name: 'coredns', state: {waiting: {reason: 'ImagePullBackOff', message: 'Back-off pulling image "example.invalid/coredns:1"'}}}]}))
    const clock = steppingClock(1, () => {})
    await assert.rejects(waitForResponder(deps(a, clock), TARGET), (e: unknown) => {
      assert.ok(e instanceof XccError)
      assert.equal(e.exitCode, 3)
      assert.match(e.message, /^the DNS responder \(Deployment kube-system\/xcc-dns-responder in context "fake"\) is not ready: pod r-1: ImagePullBackOff: Back-off pulling image "example\.invalid\/coredns:1"; the cluster DNS configuration was not changed$/)
      assert.match(e.hint ?? '', /kubectl --context fake -n kube-system describe pods -l app\.kubernetes\.io\/name=xcc-dns-responder/)
      return true
    })
    assert.equal(clock.sleeps, 0, 'no wait for what will not get better')
  })

  it('stops at --timeout with where the rollout is and each pod (exit 3); without permission to list pods, the Deployment alone', async () => {
    const a = new FakeCluster()
    a.deploymentsReady = false
    await a.createDeployment('kube-system', deployment(1, {}))
    a.pods.set('kube-system/r-1', pod('r-1', {phase: 'Pending', conditions: [{type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available'}]}))
    await assert.rejects(waitForResponder(deps(a, instantClock(), [], 5000), TARGET), (e: unknown) => e instanceof XccError && e.exitCode === 3 && /is not ready: not ready after 5s: 0 of 2 pods ready; the cluster DNS configuration was not changed/.test(e.message) && e.details.join('\n') === 'r-1: not scheduled (Unschedulable: 0/2 nodes are available)')
    const before = a.calls.filter((c) => c.startsWith('listPods')).length
    await assert.rejects(waitForResponder({...deps(a, instantClock(), [], 2000), canListPods: false}, TARGET), (e: unknown) => e instanceof XccError && e.details.length === 0)
    assert.equal(a.calls.filter((c) => c.startsWith('listPods')).length, before)
  })

  it('link: a responder that does not become ready leaves the kube-dns ConfigMap as it was, and says what was written', async () => {
    const a = new FakeCluster()
    a.deploymentsReady = false
    await a.createConfigMap('kube-system', {metadata: {name: 'kube-dns', namespace: 'kube-system'}, data: {upstreamNameservers: '["8.8.8.8"]'}})
    const before = structuredClone(a.configMaps.get('kube-system/kube-dns'))
    const target = {cluster: 'backend', context: 'gke_p_europe-west1_backend', domain: 'clusters.xcc.test', zone: 'backend.clusters.xcc.test'}
    const plan = planLink(await loadDnsState(a), target, {records: recordSet({cluster: 'backend', domain: 'clusters.xcc.test', services: []}), services: 'all', template: TEMPLATE, image: DEFAULT_RESPONDER_IMAGE, force: false})
    await assert.rejects(applyDnsPlan(plan, {...deps(a, instantClock(), [], 3000)}), (e: unknown) => {
      assert.ok(e instanceof XccError && e.exitCode === 3)
      assert.match(e.message, /not ready after 3s/)
      assert.deepEqual(e.details.filter((d) => d.startsWith('before that')), ['before that, xcc created ConfigMap kube-system/xcc-dns-responder', 'before that, xcc created Deployment kube-system/xcc-dns-responder', 'before that, xcc created Service kube-system/xcc-dns-responder'])
      return true
    })
    assert.deepEqual(a.configMaps.get('kube-system/kube-dns'), before, 'the stub domain was not written')
    // ready now: the same link finishes, pointing kube-dns at the responder
    a.deploymentsReady = true
    const again = planLink(await loadDnsState(a), target, {records: recordSet({cluster: 'backend', domain: 'clusters.xcc.test', services: []}), services: 'all', template: TEMPLATE, image: DEFAULT_RESPONDER_IMAGE, force: false})
    const applied = await applyDnsPlan(again, deps(a, instantClock()))
    assert.equal(applied.responder?.detail, '2 of 2 pods ready')
    assert.match(a.configMaps.get('kube-system/kube-dns')?.data?.stubDomains ?? '', /backend\.clusters\.xcc\.test/)
  })
})

describe('replacing a Deployment whose controller keeps writing its status', () => {
  const target = {cluster: 'backend', context: 'gke_p_europe-west1_backend', domain: 'clusters.xcc.test', zone: 'backend.clusters.xcc.test'}
  const planWith = async (a: FakeCluster, image: string) => planLink(await loadDnsState(a), target, {records: recordSet({cluster: 'backend', domain: 'clusters.xcc.test', services: []}), services: 'all', template: TEMPLATE, image, force: false})
  const key = 'kube-system/xcc-dns-responder'
  /** another write of the stored Deployment: a new resourceVersion, and with `spec` a new generation */
  const touch = (a: FakeCluster, spec: boolean): void => {
    const d = structuredClone(a.deployments.get(key)!)
    a.deployments.set(key, {...d, metadata: {...d.metadata, resourceVersion: `${d.metadata.resourceVersion}9`, generation: (d.metadata.generation ?? 1) + (spec ? 1 : 0)}})
  }
  const imageOf = (a: FakeCluster): unknown => (a.deployments.get(key)?.spec.template.spec.containers as Array<{image: string}>)[0]?.image

  it('a status write meanwhile (same generation) does not stop the replace: it is sent again on the new resourceVersion', async () => {
    const a = new FakeCluster()
    await applyDnsPlan(await planWith(a, DEFAULT_RESPONDER_IMAGE), deps(a, instantClock()))
    const plan = await planWith(a, 'registry.k8s.io/coredns/coredns:v1.12.0')
    touch(a, false)
    await applyDnsPlan(plan, deps(a, instantClock()))
    assert.equal(imageOf(a), 'registry.k8s.io/coredns/coredns:v1.12.0')
    assert.equal(a.calls.filter((c) => c === `replaceDeployment ${key}`).length, 2, 'refused once, sent again once')
  })

  it('a spec another writer changed meanwhile (a new generation) is not overwritten: exit 3', async () => {
    const a = new FakeCluster()
    await applyDnsPlan(await planWith(a, DEFAULT_RESPONDER_IMAGE), deps(a, instantClock()))
    const plan = await planWith(a, 'registry.k8s.io/coredns/coredns:v1.12.0')
    touch(a, true)
    await assert.rejects(applyDnsPlan(plan, deps(a, instantClock())), (e: unknown) => e instanceof XccError && e.exitCode === 3 && /the update of Deployment kube-system\/xcc-dns-responder did not take effect/.test(e.message))
    assert.equal(imageOf(a), DEFAULT_RESPONDER_IMAGE)
  })
})
