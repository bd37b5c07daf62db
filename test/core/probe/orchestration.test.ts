import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {LIVE_CHECKS} from '../../../src/checks/index.js'
import {InterruptedError, XccError} from '../../../src/core/errors.js'
import {buildXccDaemonSet} from '../../../src/core/masquerade/daemonset.js'
import {cidr} from '../../../src/core/net/ipv4.js'
import {cleanupLeftovers} from '../../../src/core/kube/cleanup.js'
import {buildCapturePod, buildProbePod} from '../../../src/core/probe/manifests.js'
import {MANAGED_BY_LABEL, RUN_ID_LABEL} from '../../../src/core/kube/labels.js'
import {checkAccess, checkPodSecurity, podAccess} from '../../../src/core/kube/access.js'
import {runLiveDoctor} from '../../../src/core/probe/run.js'
import {parseLiveFrom, parseLiveTo} from '../../../src/core/probe/targets.js'
import type {AccessQuestion, KubeCluster, KubeConfigMap, KubeContexts, KubeDaemonSet, KubeDeployment, KubeMeta, KubePod, KubeService} from '../../../src/core/ports/kube.js'
import type {Clock} from '../../../src/core/ports/clock.js'

const scripts = {capture: 'echo capture', probe: 'echo probe'}

/** A fake cluster behind the KubeCluster port: pods are objects, logs are whatever the test says. */
class FakeCluster implements KubeCluster {
  readonly server = 'https://127.0.0.1:1'
  readonly pods = new Map<string, KubePod>()
  readonly configMaps = new Map<string, KubeConfigMap>()
  readonly daemonSets = new Map<string, KubeDaemonSet>()
  readonly deleted: string[] = []
  private version = 0
  constructor(readonly context: string, readonly options: {deny?: (q: AccessQuestion) => boolean; labels?: Record<string, string>; failCreate?: (name: string) => boolean; log?: (name: string) => string} = {}) {}
  async listNodes() {
    return [{metadata: {name: 'node-1'}, spec: {podCIDR: '10.0.0.0/24'}, status: {addresses: [{type: 'InternalIP', address: '10.1.0.2'}]}}]
  }
  async getNamespace(name: string) {
    return {metadata: {name, labels: this.options.labels ?? {}}}
  }
  async getPod(namespace: string, name: string) {
    return this.pods.get(`${namespace}/${name}`)
  }
  /** equality and existence requirements, as the API server reads a label selector */
  async listPods(_namespace: string | undefined, selector?: string) {
    const wanted = (selector ?? '').split(',').filter(Boolean).map((r) => r.split('='))
    return [...this.pods.values()].filter((p) => wanted.every(([key, value]) => (value === undefined ? p.metadata.labels?.[key as string] !== undefined : p.metadata.labels?.[key as string] === value)))
  }
  async createPod(namespace: string, pod: KubePod) {
    if (this.options.failCreate?.(pod.metadata.name)) throw new XccError(`cannot create ${pod.metadata.name}`, {exitCode: 3})
    const running: KubePod = {...pod, metadata: {...pod.metadata, namespace}, status: {phase: 'Running', podIP: '10.0.0.9', containerStatuses: [{name: pod.spec.containers[0]?.name ?? 'c', state: {running: {}}}]}}
    this.pods.set(`${namespace}/${pod.metadata.name}`, running)
    return running
  }
  async deletePod(namespace: string, name: string) {
    this.deleted.push(`${namespace}/${name}`)
    this.pods.delete(`${namespace}/${name}`)
  }
  async readPodLog(_ns: string, name: string) {
    return this.options.log?.(name) ?? ''
  }
  async addEphemeralContainer() {}
  async getService() {
    return undefined
  }
  async listServices() {
    return []
  }
  async getEndpoints() {
    return undefined
  }
  /** Services and Deployments: `xcc dns link` writes them; the doctor never does */
  async createService(_namespace: string, service: KubeService): Promise<KubeService> {
    throw new XccError(`the doctor does not create services (${service.metadata.name})`, {exitCode: 3})
  }
  async annotateService(_namespace: string, name: string): Promise<KubeService> {
    throw new XccError(`the doctor does not annotate services (${name})`, {exitCode: 3})
  }
  async deleteService(_namespace: string, name: string) {
    this.deleted.push(`service/${name}`)
  }
  async getDeployment() {
    return undefined
  }
  async createDeployment(_namespace: string, deployment: KubeDeployment): Promise<KubeDeployment> {
    throw new XccError(`the doctor does not create deployments (${deployment.metadata.name})`, {exitCode: 3})
  }
  async replaceDeployment(_namespace: string, deployment: KubeDeployment): Promise<KubeDeployment> {
    throw new XccError(`the doctor does not replace deployments (${deployment.metadata.name})`, {exitCode: 3})
  }
  async deleteDeployment(_namespace: string, name: string) {
    this.deleted.push(`deployment/${name}`)
  }
  /** stores a copy with the next resourceVersion; a replace must name the stored one, as the API server wants */
  private write<T extends {metadata: KubeMeta}>(store: Map<string, T>, kind: string, namespace: string, object: T, mode: 'create' | 'replace'): T {
    const key = `${namespace}/${object.metadata.name}`
    const current = store.get(key)
    if (mode === 'create' && current) throw new XccError(`${kind} ${key} already exists`, {exitCode: 3})
    if (mode === 'replace' && !current) throw new XccError(`${kind} ${key} not found`, {exitCode: 3})
    const wanted = object.metadata.resourceVersion
    if (mode === 'replace' && wanted && wanted !== current?.metadata.resourceVersion) throw new XccError(`${kind} ${key} was changed by someone else meanwhile: run the command again`, {exitCode: 3})
    const stored = {...object, metadata: {...object.metadata, namespace, resourceVersion: String(++this.version)}}
    store.set(key, stored)
    return stored
  }
  async getConfigMap(namespace: string, name: string) {
    return this.configMaps.get(`${namespace}/${name}`)
  }
  async createConfigMap(namespace: string, configMap: KubeConfigMap) {
    return this.write(this.configMaps, 'configmap', namespace, configMap, 'create')
  }
  async replaceConfigMap(namespace: string, configMap: KubeConfigMap) {
    return this.write(this.configMaps, 'configmap', namespace, configMap, 'replace')
  }
  async deleteConfigMap(namespace: string, name: string) {
    this.configMaps.delete(`${namespace}/${name}`)
  }
  async getDaemonSet(namespace: string, name: string) {
    return this.daemonSets.get(`${namespace}/${name}`)
  }
  async listDaemonSets(namespace: string) {
    return [...this.daemonSets.values()].filter((d) => d.metadata.namespace === namespace)
  }
  async createDaemonSet(namespace: string, daemonSet: KubeDaemonSet) {
    return this.write(this.daemonSets, 'daemonset', namespace, daemonSet, 'create')
  }
  async replaceDaemonSet(namespace: string, daemonSet: KubeDaemonSet) {
    return this.write(this.daemonSets, 'daemonset', namespace, daemonSet, 'replace')
  }
  async deleteDaemonSet(namespace: string, name: string) {
    this.daemonSets.delete(`${namespace}/${name}`)
  }
  async canI(questions: readonly AccessQuestion[]) {
    return questions.map((q) => ({allowed: !(this.options.deny?.(q) ?? false)}))
  }
}

const contexts = (c: FakeCluster): KubeContexts => ({contexts: [c.context], current: c.context, open: (name) => {
  if (name !== c.context) throw new XccError(`kube context "${name}" not found`)
  return c
}})

function fakeClock(): Clock {
  let now = 0
  return {now: () => now, sleep: async (ms) => void (now += ms)}
}

const SANITY = '=== xcc:tcpdump\n1.0 lo In IP 127.0.0.1.40000 > 127.0.0.1.9: Flags [S], seq 1, win 1, length 0\n'

function request(overrides: Partial<Parameters<typeof runLiveDoctor>[0]> = {}) {
  return {from: parseLiveFrom('ctx'), to: parseLiveTo('10.2.0.3:80'), timeoutSeconds: 1, image: 'img', keep: false, probeNamespace: 'default', runId: 'abcdef01', sourcePort: 45000, startSeconds: 5, ...overrides}
}

describe('pods a live run creates', () => {
  it('are labelled, bounded, never restarted; only capture pods use the host network and NET_ADMIN/NET_RAW', () => {
    const capture = buildCapturePod({runId: 'abcdef01', index: 0, node: 'n1', image: 'img', filter: 'host 1.2.3.4', seconds: 40, scripts})
    const probe = buildProbePod({runId: 'abcdef01', node: 'n1', image: 'img', target: {dst: '1.2.3.4', port: 80, seconds: 5, mode: 'tcp', sourcePort: 45000}, scripts})
    for (const pod of [capture, probe]) {
      assert.equal(pod.metadata.labels?.[MANAGED_BY_LABEL], 'xcc')
      assert.equal(pod.metadata.labels?.[RUN_ID_LABEL], 'abcdef01')
      assert.equal(pod.spec.restartPolicy, 'Never')
      assert.ok((pod.spec.activeDeadlineSeconds ?? 0) > 0)
      assert.equal(pod.spec.nodeName, 'n1')
      assert.equal(pod.spec.automountServiceAccountToken, false)
    }
    assert.equal(capture.spec.hostNetwork, true)
    assert.deepEqual(capture.spec.containers[0]?.securityContext?.capabilities?.add, ['NET_ADMIN', 'NET_RAW'])
    assert.equal(probe.spec.hostNetwork, undefined)
    assert.deepEqual(probe.spec.containers[0]?.securityContext?.capabilities, {drop: ['ALL']})
    assert.deepEqual(capture.spec.containers[0]?.command?.slice(3), ['xcc-capture', 'host 1.2.3.4', '40', '9'], 'parameters are arguments, never spliced into the script')
  })
})

describe('preflight', () => {
  it('refuses with exit 3 and the grants to ask for when a required permission is missing', async () => {
    const cluster = new FakeCluster('ctx', {deny: (q) => q.verb === 'create' && q.resource === 'pods'})
    await assert.rejects(checkAccess(cluster, podAccess('default', 'run pods')), (e: XccError) => {
      assert.equal(e.exitCode, 3)
      assert.match(e.message, /missing permission in context "ctx": xcc doctor needs to create pods in namespace default/)
      assert.match(e.hint ?? '', /kubectl --context ctx -n default create role xcc-doctor --verb=create --resource=pods/)
      return true
    })
  })

  it('refuses a namespace whose Pod Security level forbids host-network pods', async () => {
    await assert.rejects(checkPodSecurity(new FakeCluster('ctx', {labels: {'pod-security.kubernetes.io/enforce': 'baseline'}}), 'default', true), /enforces Pod Security "baseline"/)
    assert.equal(await checkPodSecurity(new FakeCluster('ctx', {labels: {'pod-security.kubernetes.io/enforce': 'privileged'}}), 'default', true), undefined)
  })
})

describe('the run removes what it created', () => {
  it('when the probe pod cannot be created after the captures started', async () => {
    const cluster = new FakeCluster('ctx', {failCreate: (name) => name.startsWith('xcc-probe'), log: () => SANITY})
    await assert.rejects(runLiveDoctor(request(), {kube: contexts(cluster), clock: fakeClock(), scripts, signal: new AbortController().signal, checks: LIVE_CHECKS, onEvent: () => undefined}), /cannot create xcc-probe/)
    // a pod is tracked before its create request: a create that failed half-way is deleted too
    assert.deepEqual(cluster.deleted.sort(), ['default/xcc-capture-abcdef01-0', 'default/xcc-probe-abcdef01'])
    assert.equal(cluster.pods.size, 0)
  })

  it('when interrupted (Ctrl-C) while waiting for the captures', async () => {
    const cluster = new FakeCluster('ctx', {log: () => ''})
    const controller = new AbortController()
    const clock = fakeClock()
    const ticking: Clock = {now: clock.now, sleep: async (ms, signal) => {
      await clock.sleep(ms, signal)
      if (clock.now() > 1000) controller.abort()
    }}
    await assert.rejects(runLiveDoctor(request(), {kube: contexts(cluster), clock: ticking, scripts, signal: controller.signal, checks: LIVE_CHECKS, onEvent: () => undefined}), InterruptedError)
    assert.equal(cluster.pods.size, 0)
    assert.equal(cluster.deleted.length, 1)
  })

  it('creates nothing when a permission is missing', async () => {
    const cluster = new FakeCluster('ctx', {deny: (q) => q.resource === 'nodes'})
    await assert.rejects(runLiveDoctor(request(), {kube: contexts(cluster), clock: fakeClock(), scripts, signal: new AbortController().signal, checks: LIVE_CHECKS, onEvent: () => undefined}), /list nodes \(cluster-wide\)/)
    assert.equal(cluster.deleted.length + cluster.pods.size, 0)
  })
})

describe('cleanup by label', () => {
  it('removes only pods of xcc runs (managed-by=xcc with a run id), never the masquerade DaemonSet\'s, and nothing on a dry run', async () => {
    const cluster = new FakeCluster('ctx')
    await cluster.createPod('default', buildProbePod({runId: 'abcdef01', node: 'n', image: 'i', target: {dst: '1.1.1.1', port: 1, seconds: 1, mode: 'tcp', sourcePort: 45000}, scripts}))
    await cluster.createPod('default', {metadata: {name: 'users-pod'}, spec: {containers: [{name: 'c', image: 'i'}]}})
    // a pod of the xcc-masquerade DaemonSet: managed by xcc, but its DaemonSet owns it (no run id)
    const daemonSetPod = buildXccDaemonSet({namespace: 'kube-system', cidrs: [cidr('10.193.0.0/16')], image: 'i', script: 'true', resyncSeconds: 30}).spec.template
    await cluster.createPod('kube-system', {...daemonSetPod, metadata: {...daemonSetPod.metadata, name: 'xcc-masquerade-abcde'}})
    assert.equal((await cleanupLeftovers([cluster], {dryRun: true, clock: fakeClock()})).length, 1)
    assert.equal(cluster.pods.size, 3)
    const removed = await cleanupLeftovers([cluster], {dryRun: false, clock: fakeClock()})
    assert.deepEqual(removed.map((r) => [r.name, r.removed, r.runId]), [['xcc-probe-abcdef01', true, 'abcdef01']])
    assert.deepEqual([...cluster.pods.keys()].sort(), ['default/users-pod', 'kube-system/xcc-masquerade-abcde'])
    await assert.rejects(cleanupLeftovers([cluster], {dryRun: true, runId: 'NOT-HEX', clock: fakeClock()}), /not a run id/)
  })
})
