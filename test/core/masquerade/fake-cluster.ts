/**
 * A fake cluster behind the KubeCluster port for `xcc masquerade`'s apply, race and list tests:
 * ConfigMaps and DaemonSets stored with resourceVersions (a stale replace is a 409 Conflict, a
 * second create a 409 AlreadyExists, as the API server answers), a DaemonSet controller that
 * rolls out at once (one running pod per node while the DaemonSet exists), pods that run
 * and finish, and faults injected per call: `once(op, around)` wraps the next call of `op` —
 * to apply a write and lose its answer, to run another writer in between, or to stall.
 */
import {ApiError} from '../../../src/core/errors.js'
import type {Clock} from '../../../src/core/ports/clock.js'
import type {AccessQuestion, KubeCluster, KubeConfigMap, KubeDaemonSet, KubeDeployment, KubeMeta, KubeNode, KubePod, KubeService} from '../../../src/core/ports/kube.js'

type Op = Exclude<keyof KubeCluster, 'context' | 'server'>
type Around = (run: () => Promise<unknown>, args: readonly unknown[]) => Promise<unknown>

/** what the adapter throws when the connection is reset after the request was sent */
export function lostAnswer(what: string): ApiError {
  return new ApiError(`cannot reach the API server of context "fake" (https://127.0.0.1:1) while ${what}: socket hang up`, {kind: 'unanswered'}, {details: ['error code ECONNRESET']})
}

export function answered(status: number, reason: string, message: string): ApiError {
  return new ApiError(message, {kind: 'answered', status, reason}, {details: [`HTTP ${status} ${reason}`]})
}

/** a promise that never settles: an API server that stopped answering */
export const stall = (): Promise<never> => new Promise<never>(() => {})

export class FakeCluster implements KubeCluster {
  readonly context = 'fake'
  readonly server = 'https://127.0.0.1:1'
  readonly configMaps = new Map<string, KubeConfigMap>()
  readonly daemonSets = new Map<string, KubeDaemonSet>()
  readonly deployments = new Map<string, KubeDeployment>()
  /** Services; a created one gets the next ClusterIP of 10.96.0.0/16 */
  readonly services = new Map<string, KubeService>()
  /** whether the Deployments' pods are ready (the controller reports them so at once) */
  deploymentsReady = true
  readonly pods = new Map<string, KubePod>()
  /** every call, in order: `op ns/name` */
  readonly calls: string[] = []
  /** a pod's phase after it was created; a function of its name */
  podPhase: (name: string) => 'Pending' | 'Running' | 'Succeeded' = () => 'Succeeded'
  podLog: (name: string) => string = () => ''
  /** runs before every call, with its index (the calls it makes count too): another writer stepping in */
  beforeCall?: (op: Op, index: number) => Promise<void>
  private version = 100
  private readonly arounds = new Map<Op, Around[]>()
  private count = 0

  constructor(readonly nodes: readonly string[] = ['node-a', 'node-b']) {}

  /** wraps the next call of `op` */
  once(op: Op, around: Around): this {
    this.arounds.set(op, [...(this.arounds.get(op) ?? []), around])
    return this
  }

  /** wraps every call of `op` from now on */
  always(op: Op, around: Around): this {
    const again: Around = (run, args) => {
      this.once(op, again)
      return around(run, args)
    }
    return this.once(op, again)
  }

  private async call<T>(op: Op, args: readonly unknown[], run: () => Promise<T>): Promise<T> {
    const words = args.map((a) => (typeof a === 'string' ? a : (a as {metadata?: KubeMeta} | undefined)?.metadata?.name ?? ''))
    this.calls.push(`${op} ${words.filter(Boolean).join('/')}`)
    const index = this.count++
    await this.beforeCall?.(op, index)
    const around = this.arounds.get(op)?.shift()
    return (around ? around(run, args) : run()) as Promise<T>
  }

  private write<T extends {metadata: KubeMeta}>(store: Map<string, T>, kind: string, namespace: string, object: T, mode: 'create' | 'replace'): T {
    const key = `${namespace}/${object.metadata.name}`
    const current = store.get(key)
    if (mode === 'create' && current) throw answered(409, 'AlreadyExists', `creating ${kind} ${key} in context "fake" failed: ${kind}s "${object.metadata.name}" already exists`)
    if (mode === 'replace' && !current) throw answered(404, 'NotFound', `replacing ${kind} ${key} in context "fake" failed: ${kind}s "${object.metadata.name}" not found`)
    const wanted = object.metadata.resourceVersion
    if (mode === 'replace' && wanted && wanted !== current?.metadata.resourceVersion) throw answered(409, 'Conflict', `cannot replace ${kind} ${key} in context "fake": it was changed by someone else meanwhile; run the command again`)
    const generation = (current?.metadata.generation ?? 0) + 1
    const stored = structuredClone({...object, metadata: {...object.metadata, namespace, resourceVersion: String(++this.version), generation, uid: current?.metadata.uid ?? `uid-${this.version}`}})
    store.set(key, stored)
    return structuredClone(stored)
  }

  /** the DaemonSet as its controller reports it: rolled out on every node */
  private withStatus(ds: KubeDaemonSet): KubeDaemonSet {
    const n = this.nodes.length
    return structuredClone({...ds, status: {desiredNumberScheduled: n, currentNumberScheduled: n, updatedNumberScheduled: n, numberReady: n, numberAvailable: n, observedGeneration: ds.metadata.generation}})
  }

  private daemonPods(): KubePod[] {
    return [...this.daemonSets.values()].filter((d) => d.metadata.name === 'xcc-masquerade').flatMap((ds) => this.nodes.map((node): KubePod => ({
      metadata: {name: `xcc-masquerade-${node}`, namespace: ds.metadata.namespace, labels: ds.spec.template.metadata.labels},
      spec: {...ds.spec.template.spec, nodeName: node},
      status: {phase: 'Running'},
    })))
  }

  listNodes() {
    return this.call('listNodes', [], async () => this.nodes.map((name, i): KubeNode => ({
      metadata: {name}, spec: {podCIDR: `10.132.${i}.0/24`},
      status: {addresses: [{type: 'InternalIP', address: `10.209.0.${i + 2}`}], conditions: [{type: 'Ready', status: 'True'}]},
    })))
  }
  getNamespace(name: string) {
    return this.call('getNamespace', [name], async () => ({metadata: {name}}))
  }
  getPod(namespace: string, name: string) {
    return this.call('getPod', [namespace, name], async () => {
      const pod = this.pods.get(`${namespace}/${name}`)
      if (!pod) return undefined
      const phase = this.podPhase(name)
      const state = phase === 'Succeeded' ? {terminated: {exitCode: 0}} : phase === 'Running' ? {running: {}} : {waiting: {reason: 'ContainerCreating'}}
      return structuredClone({...pod, status: {phase, containerStatuses: [{name: pod.spec.containers[0]?.name ?? 'c', state}]}})
    })
  }
  listPods(namespace: string | undefined, selector?: string) {
    return this.call('listPods', [namespace ?? '*', selector ?? ''], async () => {
      const wanted = (selector ?? '').split(',').filter(Boolean).map((r) => r.split('='))
      const all = [...this.pods.values(), ...this.daemonPods()].filter((p) => namespace === undefined || p.metadata.namespace === namespace)
      return structuredClone(all.filter((p) => wanted.every(([key, value]) => (value === undefined ? p.metadata.labels?.[key as string] !== undefined : p.metadata.labels?.[key as string] === value))))
    })
  }
  createPod(namespace: string, pod: KubePod) {
    return this.call('createPod', [namespace, pod], async () => {
      const stored = {...structuredClone(pod), metadata: {...pod.metadata, namespace}}
      this.pods.set(`${namespace}/${pod.metadata.name}`, stored)
      return structuredClone(stored)
    })
  }
  deletePod(namespace: string, name: string) {
    return this.call('deletePod', [namespace, name], async () => void this.pods.delete(`${namespace}/${name}`))
  }
  readPodLog(namespace: string, name: string) {
    return this.call('readPodLog', [namespace, name], async () => this.podLog(name))
  }
  addEphemeralContainer() {
    return Promise.resolve()
  }
  getService(namespace: string, name: string) {
    return this.call('getService', [namespace, name], async () => structuredClone(this.services.get(`${namespace}/${name}`)))
  }
  listServices() {
    return this.call('listServices', [], async () => structuredClone([...this.services.values()]))
  }
  createService(namespace: string, service: KubeService) {
    return this.call('createService', [namespace, service], async () => {
      const clusterIP = service.spec?.clusterIP ?? `10.96.${Math.floor(this.services.size / 250)}.${(this.services.size % 250) + 10}`
      return this.write(this.services, 'service', namespace, {...service, spec: {...service.spec, clusterIP}}, 'create')
    })
  }
  annotateService(namespace: string, name: string, annotations: Readonly<Record<string, string | null>>) {
    return this.call('annotateService', [namespace, name], async () => {
      const current = this.services.get(`${namespace}/${name}`)
      if (!current) throw answered(404, 'NotFound', `annotating service ${namespace}/${name} in context "fake" failed: services "${name}" not found`)
      // a JSON merge patch of metadata.annotations: null removes the key
      const merged: Record<string, string> = {...current.metadata.annotations}
      for (const [k, v] of Object.entries(annotations)) {
        if (v === null) delete merged[k]
        else merged[k] = v
      }
      const {annotations: _old, ...meta} = current.metadata
      return this.write(this.services, 'service', namespace, {...current, metadata: {...meta, ...(Object.keys(merged).length ? {annotations: merged} : {}), resourceVersion: undefined}}, 'replace')
    })
  }
  deleteService(namespace: string, name: string) {
    return this.call('deleteService', [namespace, name], async () => void this.services.delete(`${namespace}/${name}`))
  }
  getDeployment(namespace: string, name: string) {
    return this.call('getDeployment', [namespace, name], async () => {
      const d = this.deployments.get(`${namespace}/${name}`)
      const n = d?.spec.replicas ?? 1
      const ready = this.deploymentsReady ? n : 0
      return d && structuredClone({...d, status: {replicas: n, readyReplicas: ready, updatedReplicas: n, availableReplicas: ready, observedGeneration: d.metadata.generation}})
    })
  }
  createDeployment(namespace: string, deployment: KubeDeployment) {
    return this.call('createDeployment', [namespace, deployment], async () => this.write(this.deployments, 'deployment', namespace, deployment, 'create'))
  }
  replaceDeployment(namespace: string, deployment: KubeDeployment) {
    return this.call('replaceDeployment', [namespace, deployment], async () => this.write(this.deployments, 'deployment', namespace, deployment, 'replace'))
  }
  deleteDeployment(namespace: string, name: string) {
    return this.call('deleteDeployment', [namespace, name], async () => void this.deployments.delete(`${namespace}/${name}`))
  }
  getEndpoints() {
    return Promise.resolve(undefined)
  }
  getConfigMap(namespace: string, name: string) {
    return this.call('getConfigMap', [namespace, name], async () => structuredClone(this.configMaps.get(`${namespace}/${name}`)))
  }
  createConfigMap(namespace: string, configMap: KubeConfigMap) {
    return this.call('createConfigMap', [namespace, configMap], async () => this.write(this.configMaps, 'configmap', namespace, configMap, 'create'))
  }
  replaceConfigMap(namespace: string, configMap: KubeConfigMap) {
    return this.call('replaceConfigMap', [namespace, configMap], async () => this.write(this.configMaps, 'configmap', namespace, configMap, 'replace'))
  }
  deleteConfigMap(namespace: string, name: string) {
    return this.call('deleteConfigMap', [namespace, name], async () => void this.configMaps.delete(`${namespace}/${name}`))
  }
  getDaemonSet(namespace: string, name: string) {
    return this.call('getDaemonSet', [namespace, name], async () => {
      const ds = this.daemonSets.get(`${namespace}/${name}`)
      return ds && this.withStatus(ds)
    })
  }
  listDaemonSets(namespace: string) {
    return this.call('listDaemonSets', [namespace], async () => [...this.daemonSets.values()].filter((d) => d.metadata.namespace === namespace).map((d) => this.withStatus(d)))
  }
  createDaemonSet(namespace: string, daemonSet: KubeDaemonSet) {
    return this.call('createDaemonSet', [namespace, daemonSet], async () => this.write(this.daemonSets, 'daemonset', namespace, daemonSet, 'create'))
  }
  replaceDaemonSet(namespace: string, daemonSet: KubeDaemonSet) {
    return this.call('replaceDaemonSet', [namespace, daemonSet], async () => this.write(this.daemonSets, 'daemonset', namespace, daemonSet, 'replace'))
  }
  deleteDaemonSet(namespace: string, name: string) {
    return this.call('deleteDaemonSet', [namespace, name], async () => void this.daemonSets.delete(`${namespace}/${name}`))
  }
  canI(questions: readonly AccessQuestion[]) {
    return Promise.resolve(questions.map(() => ({allowed: true})))
  }
}

/** a clock whose sleeps return at once (time jumps): polling loops run without waiting */
export function instantClock(): Clock {
  let now = 0
  return {now: () => now, sleep: async (ms) => void (now += ms)}
}

/** the real timers, for code that races a call against the clock (a stall must really be waited out) */
export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, {once: true})
  }),
}
