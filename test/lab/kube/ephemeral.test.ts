/**
 * Ephemeral containers through the `ephemeralcontainers` subresource with
 * @kubernetes/client-node (strategic merge, JSON merge and JSON patches, PUT): validation as in
 * Kubernetes (only additions), the kubelet running each new one once beside the pod's
 * containers, its log and termination message, `ephemeralContainerStatuses`, the pod phase
 * untouched, PodSecurity, and the processes stopped with the pod. Then `kubectl debug`.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {CoreV1Api, KubeConfig, PatchStrategy, type V1EphemeralContainer, type V1Pod, setHeaderOptions} from '@kubernetes/client-node'

import {Kubectl, findKubectl, kubectlSkip} from '../../support/kubectl.js'
import {type TestCluster, eventually, startTestCluster} from './cluster.js'

let cluster: TestCluster
let core: CoreV1Api

const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)

function pod(name: string, script: string, restartPolicy = 'Always'): V1Pod {
  return {metadata: {name}, spec: {restartPolicy, terminationGracePeriodSeconds: 1, containers: [{name: 'main', image: 'busybox', command: ['sh', '-c', script]}]}}
}

function debug(name: string, script: string, extra: Partial<V1EphemeralContainer> = {}): V1EphemeralContainer {
  return {name, image: 'busybox', command: ['sh', '-c', script], ...extra}
}

async function failure(promise: Promise<unknown>): Promise<{code?: number; message?: string; reason?: string}> {
  try {
    await promise
  } catch (error) {
    const {code, body} = error as {code?: number; body?: unknown}
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as {message?: string; reason?: string}
    return {code, message: status?.message, reason: status?.reason}
  }
  throw new Error('the request succeeded')
}

async function ephemeralStatus(name: string, container: string, namespace = 'default') {
  const read = await core.readNamespacedPod({name, namespace})
  return read.status?.ephemeralContainerStatuses?.find((s) => s.name === container)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

before(async () => {
  cluster = await startTestCluster()
  const kc = new KubeConfig()
  kc.loadFromFile(cluster.kubeconfig())
  core = kc.makeApiClient(CoreV1Api)
  await core.createNamespacedPod({namespace: 'default', body: pod('target', 'echo main started; sleep 60')})
  await eventually('target running', async () => (await core.readNamespacedPod({name: 'target', namespace: 'default'})).status?.phase === 'Running')
})

after(async () => {
  await cluster?.close()
})

describe('ephemeral containers', () => {
  it('a strategic merge patch adds one; the kubelet runs it once: log, termination message, status; the phase stays', async () => {
    const script = 'echo debugging $HOSTNAME; printf "found it" > "$XCC_TERMINATION_MESSAGE_PATH"; exit 3'
    const patched = await core.patchNamespacedPodEphemeralcontainers({name: 'target', namespace: 'default', body: {spec: {ephemeralContainers: [debug('debugger', script, {targetContainerName: 'main'})]}}}, strategic)
    assert.equal(patched.kind, 'Pod')
    assert.deepEqual(patched.spec?.ephemeralContainers?.map((c) => [c.name, c.terminationMessagePath, c.targetContainerName]), [['debugger', '/dev/termination-log', 'main']])
    const status = await eventually('debugger to terminate', async () => {
      const found = await ephemeralStatus('target', 'debugger')
      return found?.state?.terminated ? found : undefined
    })
    assert.deepEqual([status.state!.terminated!.exitCode, status.state!.terminated!.reason, status.state!.terminated!.message], [3, 'Error', 'found it'])
    assert.deepEqual([status.ready, status.restartCount], [false, 0])
    assert.equal(await core.readNamespacedPodLog({name: 'target', namespace: 'default', container: 'debugger'}), 'debugging target\n')
    const read = await core.readNamespacedPod({name: 'target', namespace: 'default'})
    assert.equal(read.status?.phase, 'Running')
    assert.deepEqual(read.status?.containerStatuses?.map((c) => [c.name, c.ready, c.restartCount]), [['main', true, 0]])
    const events = await core.listNamespacedEvent({namespace: 'default', fieldSelector: 'involvedObject.name=target'})
    assert.ok(events.items.some((e) => e.reason === 'Started' && e.involvedObject.fieldPath === 'spec.ephemeralContainers{debugger}'))
    const ambiguous = await failure(core.readNamespacedPodLog({name: 'target', namespace: 'default', container: 'nope'}))
    assert.equal(ambiguous.message, 'container nope is not valid for pod target')
  })

  it('JSON merge patch, JSON patch and PUT add more; the subresource GET returns the pod', async () => {
    const current = await core.readNamespacedPodEphemeralcontainers({name: 'target', namespace: 'default'})
    assert.equal(current.metadata?.name, 'target')
    const existing = current.spec!.ephemeralContainers!
    await core.patchNamespacedPodEphemeralcontainers({name: 'target', namespace: 'default', body: {spec: {ephemeralContainers: [...existing, debug('merged', 'echo merged')]}, metadata: {labels: {ignored: 'yes'}}}}, merge)
    await core.patchNamespacedPodEphemeralcontainers({name: 'target', namespace: 'default', body: [{op: 'add', path: '/spec/ephemeralContainers/-', value: debug('jsonpatched', 'echo json patched')}]})
    const latest = await core.readNamespacedPodEphemeralcontainers({name: 'target', namespace: 'default'})
    latest.spec!.ephemeralContainers!.push(debug('replaced', 'echo put'))
    const put = await core.replaceNamespacedPodEphemeralcontainers({name: 'target', namespace: 'default', body: latest})
    assert.deepEqual(put.spec?.ephemeralContainers?.map((c) => c.name), ['debugger', 'merged', 'jsonpatched', 'replaced'])
    assert.equal(put.metadata?.labels?.ignored, undefined, 'only spec.ephemeralContainers is written')
    for (const [name, text] of [['merged', 'merged\n'], ['jsonpatched', 'json patched\n'], ['replaced', 'put\n']] as const) {
      await eventually(`${name} to complete`, async () => (await ephemeralStatus('target', name))?.state?.terminated?.reason === 'Completed')
      assert.equal(await core.readNamespacedPodLog({name: 'target', namespace: 'default', container: name}), text)
    }
    const stale = await failure(core.replaceNamespacedPodEphemeralcontainers({name: 'target', namespace: 'default', body: latest}))
    assert.equal(stale.code, 409)
  })

  it('only additions: changing or removing one is 422 Invalid, as are bad new ones; the pod must exist and not have completed', async () => {
    const current = await core.readNamespacedPodEphemeralcontainers({name: 'target', namespace: 'default'})
    const [first, ...rest] = current.spec!.ephemeralContainers!
    const changed = await failure(core.patchNamespacedPodEphemeralcontainers({name: 'target', namespace: 'default', body: {spec: {ephemeralContainers: [{name: 'debugger', image: 'busybox:2'}]}}}, strategic))
    assert.deepEqual([changed.code, changed.reason], [422, 'Invalid'])
    assert.equal(changed.message, 'Pod "target" is invalid: spec.ephemeralContainers[debugger]: Forbidden: existing ephemeral containers "debugger" may not be changed\n')
    const removed = await failure(core.patchNamespacedPodEphemeralcontainers({name: 'target', namespace: 'default', body: {spec: {ephemeralContainers: rest}}}, merge))
    assert.equal(removed.message, 'Pod "target" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be removed\n')
    assert.ok(first)
    const bad = await failure(
      core.patchNamespacedPodEphemeralcontainers({name: 'target', namespace: 'default', body: {spec: {ephemeralContainers: [debug('main', 'true', {ports: [{containerPort: 80}], targetContainerName: 'nope'})]}}}, strategic),
    )
    assert.equal(
      bad.message,
      'Pod "target" is invalid: [spec.ephemeralContainers[4].name: Duplicate value: "main", spec.ephemeralContainers[4].ports: Forbidden: cannot be set for an Ephemeral Container, spec.ephemeralContainers[4].targetContainerName: Not found: "nope"]',
    )
    const missing = await failure(core.patchNamespacedPodEphemeralcontainers({name: 'ghost', namespace: 'default', body: {spec: {ephemeralContainers: [debug('x', 'true')]}}}, strategic))
    assert.deepEqual([missing.code, missing.message], [404, 'pods "ghost" not found'])
    const onCreate = await failure(core.createNamespacedPod({namespace: 'default', body: {...pod('born-with-one', 'true'), spec: {...pod('x', 'true').spec!, ephemeralContainers: [debug('early', 'true')]}}}))
    assert.equal(onCreate.message, 'Pod "born-with-one" is invalid: spec.ephemeralContainers: Forbidden: cannot be set on create')

    await core.createNamespacedPod({namespace: 'default', body: pod('done', 'true', 'Never')})
    await eventually('done to succeed', async () => (await core.readNamespacedPod({name: 'done', namespace: 'default'})).status?.phase === 'Succeeded')
    const completed = await failure(core.patchNamespacedPodEphemeralcontainers({name: 'done', namespace: 'default', body: {spec: {ephemeralContainers: [debug('late', 'true')]}}}, strategic))
    assert.deepEqual([completed.code, completed.message], [400, 'cannot add an ephemeral container to a completed pod; current phase is Succeeded'])
  })

  it('PodSecurity applies to added ephemeral containers', async () => {
    await core.createNamespace({body: {metadata: {name: 'guarded', labels: {'pod-security.kubernetes.io/enforce': 'baseline'}}}})
    await core.createNamespacedPod({namespace: 'guarded', body: pod('app', 'sleep 30')})
    const privileged = await failure(core.patchNamespacedPodEphemeralcontainers({name: 'app', namespace: 'guarded', body: {spec: {ephemeralContainers: [debug('dbg', 'true', {securityContext: {privileged: true, capabilities: {add: ['SYS_PTRACE']}}})]}}}, strategic))
    assert.deepEqual([privileged.code, privileged.reason], [403, 'Forbidden'])
    assert.equal(privileged.message, 'pods "app" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "dbg" must not include "SYS_PTRACE" in securityContext.capabilities.add), privileged (container "dbg" must not set securityContext.privileged=true)')
    await core.patchNamespacedPodEphemeralcontainers({name: 'app', namespace: 'guarded', body: {spec: {ephemeralContainers: [debug('dbg', 'true')]}}}, strategic)
  })

  it('they stop when the pod completes, and with the pod when it is deleted', async () => {
    await core.createNamespacedPod({namespace: 'default', body: pod('short', 'sleep 3', 'Never')})
    await eventually('short running', async () => (await core.readNamespacedPod({name: 'short', namespace: 'default'})).status?.phase === 'Running')
    await core.patchNamespacedPodEphemeralcontainers({name: 'short', namespace: 'default', body: {spec: {ephemeralContainers: [debug('lingering', 'sleep 60')]}}}, strategic)
    const stopped = await eventually('lingering to be stopped', async () => (await ephemeralStatus('short', 'lingering'))?.state?.terminated)
    assert.deepEqual([stopped.exitCode, stopped.reason], [143, 'Error'])
    assert.equal((await core.readNamespacedPod({name: 'short', namespace: 'default'})).status?.phase, 'Succeeded')

    await core.patchNamespacedPodEphemeralcontainers({name: 'target', namespace: 'default', body: {spec: {ephemeralContainers: [debug('sleeper', 'sleep 60')]}}}, strategic)
    const running = await eventually('sleeper to run', async () => {
      const found = await ephemeralStatus('target', 'sleeper')
      return found?.state?.running ? found : undefined
    })
    const pid = Number(running.containerID!.replace('xcc-lab://', ''))
    assert.ok(alive(pid))
    await core.deleteNamespacedPod({name: 'target', namespace: 'default'})
    await eventually('target to be gone', async () => !(await core.listNamespacedPod({namespace: 'default'})).items.some((p) => p.metadata?.name === 'target'))
    assert.equal(alive(pid), false, 'the ephemeral container was killed with the pod')
  })
})

describe('kubectl debug (kubectl 1.32)', {skip: kubectlSkip()}, () => {
  it('adds an ephemeral container that runs beside the pod', async () => {
    const found = findKubectl()
    if (!('path' in found)) throw new Error(found.missing)
    const kubectl = new Kubectl(found.path)
    try {
      const admin = cluster.kubeconfig()
      await core.createNamespacedPod({namespace: 'default', body: pod('debuggee', 'sleep 60')})
      await eventually('debuggee running', async () => (await core.readNamespacedPod({name: 'debuggee', namespace: 'default'})).status?.phase === 'Running')
      const out = await kubectl.ok(admin, ['debug', 'debuggee', '--image=busybox', '--container=kdbg', '--profile=general', '--', 'sh', '-c', 'echo debugging from kubectl'])
      assert.equal(out, '')
      await eventually('kdbg to complete', async () => (await ephemeralStatus('debuggee', 'kdbg'))?.state?.terminated?.reason === 'Completed')
      assert.equal(await kubectl.ok(admin, ['logs', 'debuggee', '-c', 'kdbg']), 'debugging from kubectl\n')
      assert.match(await kubectl.ok(admin, ['describe', 'pod', 'debuggee']), /Ephemeral Containers:\n\s+kdbg:/)
    } finally {
      kubectl.dispose()
    }
  })
})
