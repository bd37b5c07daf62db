/**
 * The kubelet's work for one pod bound to a node: network through the runtime (hostNetwork pods
 * take the node's address), init containers one after the other, then all containers, restarts
 * per restartPolicy with a small exponential backoff, activeDeadlineSeconds, and graceful
 * termination (SIGTERM, SIGKILL after the grace period, network teardown, then the pod object is
 * removed). Ephemeral containers added to the pod start as soon as its network is ready, run
 * once, never count for the phase, and are stopped with the pod (or once it has completed).
 * Every change of state is written to the pod's status.
 */
import type {PodRuntime} from '../runtime.js'
import type {ObjectStore} from '../store.js'
import {type ContainerState, type NodeObject, type Pod, nodeAddress, nowIso} from '../types.js'
import {type ContainerExit, ContainerRun, containerPaths} from './container.js'
import type {EventRecorder} from './events.js'
import {namespaceLevel} from '../podsecurity/admission.js'
import {ContainerConfigError, containerCommand, containerEnv} from './pod-env.js'
import {type ContainerTrack, DEADLINE_MESSAGE, buildPodStatus} from './pod-status.js'
import {Sleepers, later} from './queue.js'
import {containerIdentity, hostAccounts} from './security.js'

const COMPONENT = 'kubelet'
const BACKOFF_BASE_MS = 500
const BACKOFF_MAX_MS = 10_000
/** a container that ran this long starts its backoff again from the base */
const BACKOFF_RESET_MS = 10_000
/** how long termination waits for processes that ignore even SIGKILL, and for the network teardown */
const FINAL_WAIT_MS = 5000

export interface KubeletContext {
  readonly store: ObjectStore
  readonly runtime: PodRuntime
  readonly logDir: string
  readonly events: EventRecorder
  /** the worker is done with the pod (processes stopped, network torn down) */
  finished(uid: string): void
}

interface Track extends ContainerTrack {
  run?: ContainerRun
  /** ephemeral containers: started once */
  launched?: boolean
  startedMs: number
  backoffSteps: number
  /** the last run's exit, shown as lastState once the container restarts */
  lastTerminated?: ContainerExit
}

type RunOutcome = {exit: ContainerExit} | {configError: string}

function fieldPath(track: Track): string {
  return `spec.${track.ephemeral ? 'ephemeralContainers' : 'containers'}{${track.spec.name}}`
}

export class PodWorker {
  readonly uid: string
  readonly namespace: string
  readonly name: string
  private pod: Pod
  private readonly context: KubeletContext
  private readonly inits: Track[]
  private readonly containers: Track[]
  private readonly ephemerals: Track[] = []
  private readonly ephemeralRuns = new Set<Promise<void>>()
  /** the containers are done for good: no ephemeral container starts any more */
  private completed = false
  private node?: NodeObject
  private hostIP?: string
  private podIP?: string
  private startTime?: string
  private sandboxReady = false
  private networkAttempted = false
  private initialized = false
  private initFailed = false
  private deadlineExceeded = false
  private terminating = false
  /** the pod object is gone already (force deletion): nothing to write, nothing to remove */
  private removed = false
  private killAt?: number
  private killTimer?: NodeJS.Timeout
  private deadlineTimer?: NodeJS.Timeout
  private readonly sleepers = new Sleepers()
  private main: Promise<void> = Promise.resolve()
  private shutdown?: Promise<void>

  constructor(context: KubeletContext, pod: Pod) {
    this.context = context
    this.pod = pod
    this.uid = pod.metadata.uid!
    this.namespace = pod.metadata.namespace!
    this.name = pod.metadata.name!
    const track = (init: boolean) => (spec: Pod['spec']['containers'][number]): Track => ({
      spec,
      init,
      restartCount: 0,
      state: {waiting: {reason: init || (pod.spec.initContainers ?? []).length > 0 ? 'PodInitializing' : 'ContainerCreating'}},
      lastState: {},
      ready: false,
      startedMs: 0,
      backoffSteps: 0,
    })
    this.inits = (pod.spec.initContainers ?? []).map(track(true))
    this.containers = pod.spec.containers.map(track(false))
    this.syncEphemerals(pod)
  }

  /** Tracks the ephemeral containers of the spec that are new; true when there are some. */
  private syncEphemerals(pod: Pod): boolean {
    const added = (pod.spec.ephemeralContainers ?? []).filter((spec) => !this.ephemerals.some((t) => t.spec.name === spec.name))
    for (const spec of added) {
      this.ephemerals.push({spec, init: false, ephemeral: true, restartCount: 0, state: {waiting: {reason: 'ContainerCreating'}}, lastState: {}, ready: false, startedMs: 0, backoffSteps: 0})
    }
    return added.length > 0
  }

  /** Starts the ephemeral containers not started yet, once the pod's network is ready. */
  private startEphemerals(): void {
    if (!this.sandboxReady || this.stopped() || this.completed) return
    for (const track of this.ephemerals) {
      if (track.launched) continue
      track.launched = true
      const done: Promise<void> = this.runOnce(track).then(
        () => this.publish(),
        (error: unknown) => this.context.events.record(this.pod, 'Warning', 'Failed', `kubelet: ${(error as Error).message}`, COMPONENT),
      )
      this.ephemeralRuns.add(done)
      void done.finally(() => this.ephemeralRuns.delete(done))
    }
  }

  start(): void {
    this.main = this.run().catch((error: unknown) => {
      this.context.events.record(this.pod, 'Warning', 'Failed', `kubelet: ${(error as Error).message}`, COMPONENT)
    })
  }

  private stopped(): boolean {
    return this.terminating || this.deadlineExceeded
  }

  private async run(): Promise<void> {
    const {store, runtime} = this.context
    const node = store.get(store.registry.get('nodes'), undefined, this.pod.spec.nodeName!) as NodeObject | undefined
    if (!node) return // the pod garbage collector deletes pods bound to missing nodes
    this.node = node
    this.hostIP = runtime.nodeAddress?.(node) ?? nodeAddress(node)
    this.startTime = nowIso()
    this.armDeadline()
    this.publish()
    if (this.pod.spec.hostNetwork === true) this.podIP = this.hostIP
    else {
      for (let attempt = 0; !this.stopped(); attempt++) {
        try {
          this.networkAttempted = true
          this.podIP = (await runtime.setupPodNetwork(this.pod, node)).podIP
          break
        } catch (error) {
          this.context.events.record(this.pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(error as Error).message}`, COMPONENT)
          await this.sleepers.sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt))
        }
      }
    }
    if (this.stopped()) return
    this.sandboxReady = true
    this.publish()
    this.startEphemerals()
    try {
      for (const init of this.inits) if (!(await this.runInit(init))) return
      this.initialized = true
      for (const c of this.containers) c.state = {waiting: {reason: 'ContainerCreating'}}
      this.publish()
      await Promise.all(this.containers.map((c) => this.runLoop(c)))
      this.publish()
    } finally {
      // the pod has completed (or failed): its ephemeral containers stop too
      this.completed = true
      if (!this.stopped()) this.killEphemerals(this.pod.spec.terminationGracePeriodSeconds ?? 30)
    }
  }

  private killEphemerals(graceSeconds: number): void {
    const running = this.ephemerals.filter((t) => t.run)
    for (const t of running) t.run!.kill(graceSeconds === 0 ? 'SIGKILL' : 'SIGTERM')
    if (running.length > 0 && graceSeconds > 0) later(graceSeconds * 1000, () => running.forEach((t) => t.run?.kill('SIGKILL')))
  }

  private async runInit(track: Track): Promise<boolean> {
    while (!this.stopped()) {
      const outcome = await this.runOnce(track)
      if (this.stopped()) return false
      if ('exit' in outcome && outcome.exit.exitCode === 0) return true
      if ('exit' in outcome && this.pod.spec.restartPolicy === 'Never') {
        this.initFailed = true
        this.publish()
        return false
      }
      await this.backoff(track, 'exit' in outcome)
    }
    return false
  }

  private async runLoop(track: Track): Promise<void> {
    while (!this.stopped()) {
      const outcome = await this.runOnce(track)
      if (this.stopped()) return
      const policy = this.pod.spec.restartPolicy ?? 'Always'
      if ('exit' in outcome && !(policy === 'Always' || (policy === 'OnFailure' && outcome.exit.exitCode !== 0))) {
        this.publish()
        return
      }
      await this.backoff(track, 'exit' in outcome)
    }
  }

  /** Waits before the next start; a container that ran shows CrashLoopBackOff meanwhile. */
  private async backoff(track: Track, ran: boolean): Promise<void> {
    if (ran && Date.now() - track.startedMs > BACKOFF_RESET_MS) track.backoffSteps = 0
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** track.backoffSteps++)
    if (ran) {
      track.lastState = {terminated: track.lastTerminated!}
      track.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${Math.ceil(delay / 1000)}s restarting failed container=${track.spec.name} pod=${this.name}_${this.namespace}(${this.uid})`,
        },
      }
    }
    this.publish()
    await this.sleepers.sleep(delay)
    if (ran && !this.stopped()) track.restartCount++
  }

  private async runOnce(track: Track): Promise<RunOutcome> {
    const {store, runtime, logDir} = this.context
    let run: ContainerRun
    try {
      const view: Pod = {...this.currentPod(), status: {podIP: this.podIP, podIPs: this.podIP ? [{ip: this.podIP}] : [], hostIP: this.hostIP, hostIPs: this.hostIP ? [{ip: this.hostIP}] : []}}
      const env = containerEnv(store, view, track.spec, {})
      // the namespace's level now: a label made stricter since the pod was admitted counts
      const labels = store.get(store.registry.get('namespaces'), undefined, this.namespace)?.metadata.labels
      const identity = containerIdentity(view, track.spec, {level: namespaceLevel(labels, 'enforce').level, accounts: hostAccounts()})
      run = new ContainerRun({
        runtime,
        pod: view,
        node: this.node!,
        container: track.spec,
        command: containerCommand(track.spec, env),
        env,
        paths: containerPaths(logDir, this.namespace, this.name, track.spec.name),
        restartCount: track.restartCount,
        identity,
      })
    } catch (error) {
      const message = (error as Error).message
      if (error instanceof ContainerConfigError) {
        track.state = {waiting: {reason: 'CreateContainerConfigError', message}}
        this.context.events.record(this.pod, 'Warning', 'Failed', `Error: ${message}`, COMPONENT, fieldPath(track))
        if (track.ephemeral) track.state = {terminated: {exitCode: 128, reason: 'CreateContainerConfigError', message, startedAt: nowIso(), finishedAt: nowIso()}}
        return {configError: message}
      }
      const now = nowIso()
      const exit: ContainerExit = {exitCode: 128, reason: 'StartError', message, startedAt: now, finishedAt: now}
      track.lastTerminated = exit
      track.state = {terminated: exit}
      this.context.events.record(this.pod, 'Warning', 'Failed', `Error: ${message}`, COMPONENT, fieldPath(track))
      return {exit}
    }
    track.run = run
    track.startedMs = Date.now()
    track.containerID = `xcc-lab://${run.pid}`
    track.state = {running: {startedAt: run.startedAt}}
    track.ready = !track.ephemeral
    this.context.events.record(this.pod, 'Normal', 'Started', `Started container ${track.spec.name}`, COMPONENT, fieldPath(track))
    this.publish()
    const exit = await run.done
    track.run = undefined
    track.ready = false
    track.lastTerminated = exit
    const terminated: NonNullable<ContainerState['terminated']> = {...exit, ...(track.containerID ? {containerID: track.containerID} : {})}
    track.state = {terminated}
    return {exit}
  }

  private currentPod(): Pod {
    const {store} = this.context
    const current = store.get(store.registry.get('pods'), this.namespace, this.name) as Pod | undefined
    return current && current.metadata.uid === this.uid ? current : this.pod
  }

  private publish(): void {
    if (this.removed) return
    const {store} = this.context
    const facts = {
      pod: this.pod,
      inits: this.inits,
      containers: this.containers,
      ephemerals: this.ephemerals,
      sandboxReady: this.sandboxReady,
      initialized: this.initialized,
      initFailed: this.initFailed,
      deadlineExceeded: this.deadlineExceeded,
      hostIP: this.hostIP,
      podIP: this.podIP,
      startTime: this.startTime,
    }
    store.mutate(
      store.registry.get('pods'),
      this.namespace,
      this.name,
      (draft) => {
        if (draft.metadata.uid !== this.uid) return
        draft.status = buildPodStatus(facts, (draft as Pod).status)
      },
      {subresource: 'status'},
    )
  }

  private armDeadline(): void {
    clearTimeout(this.deadlineTimer)
    const seconds = this.pod.spec.activeDeadlineSeconds
    if (!seconds || !this.startTime || this.stopped()) return
    const remaining = Date.parse(this.startTime) + seconds * 1000 - Date.now()
    this.deadlineTimer = later(Math.max(0, remaining), () => this.onDeadline())
  }

  private onDeadline(): void {
    const finished = [...this.containers].every((c) => c.state.terminated) && this.initialized
    if (this.stopped() || finished) return
    this.deadlineExceeded = true
    this.context.events.record(this.pod, 'Warning', 'DeadlineExceeded', DEADLINE_MESSAGE, COMPONENT)
    this.sleepers.wakeAll()
    this.killAll(this.pod.spec.terminationGracePeriodSeconds ?? 30)
    this.publish()
  }

  /** The pod's spec changed (activeDeadlineSeconds may have). */
  updated(pod: Pod): void {
    if (pod.metadata.uid !== this.uid) return
    const before = this.pod.spec.activeDeadlineSeconds
    this.pod = pod
    if (pod.spec.activeDeadlineSeconds !== before) this.armDeadline()
    // called from the store's listener: start (and publish) later
    if (this.syncEphemerals(pod)) setImmediate(() => this.startEphemerals())
  }

  /** SIGTERM to every running process now, SIGKILL to those left after the grace period. */
  private killAll(graceSeconds: number): void {
    const at = Date.now() + Math.max(0, graceSeconds) * 1000
    if (this.killAt !== undefined && at >= this.killAt) return
    const first = this.killAt === undefined
    this.killAt = at
    for (const c of [...this.inits, ...this.containers, ...this.ephemerals]) {
      if (!c.run) continue
      if (first) this.context.events.record(this.pod, 'Normal', 'Killing', `Stopping container ${c.spec.name}`, COMPONENT, fieldPath(c))
      c.run.kill(graceSeconds === 0 ? 'SIGKILL' : 'SIGTERM')
    }
    clearTimeout(this.killTimer)
    this.killTimer = later(Math.max(0, at - Date.now()), () => {
      for (const c of [...this.inits, ...this.containers, ...this.ephemerals]) c.run?.kill('SIGKILL')
    })
  }

  /**
   * Deletes the pod: stops its processes within `graceSeconds`, tears its network down and
   * removes the object. A second call with a shorter grace period shortens the wait.
   * `objectGone`: the object was already removed from the store.
   */
  terminate(graceSeconds: number, objectGone = false): Promise<void> {
    if (objectGone) this.removed = true
    this.killAll(graceSeconds)
    if (this.shutdown) return this.shutdown
    this.terminating = true
    clearTimeout(this.deadlineTimer)
    this.sleepers.wakeAll()
    this.shutdown = this.finishTermination()
    return this.shutdown
  }

  private async finishTermination(): Promise<void> {
    const {store, runtime} = this.context
    await this.main
    await Promise.all([...this.ephemeralRuns])
    clearTimeout(this.killTimer)
    if (this.networkAttempted && this.node) {
      try {
        await Promise.race([runtime.teardownPodNetwork(this.pod, this.node), new Promise((resolve) => later(FINAL_WAIT_MS, () => resolve(undefined)))])
      } catch (error) {
        this.context.events.record(this.pod, 'Warning', 'FailedKillPod', `error tearing down the pod network: ${(error as Error).message}`, COMPONENT)
      }
    }
    await runtime.releasePod?.(this.pod).catch(() => {})
    if (!this.removed) {
      this.removed = true
      const pods = store.registry.get('pods')
      const current = store.get(pods, this.namespace, this.name)
      if (current && current.metadata.uid === this.uid) store.remove(pods, this.namespace, this.name, {uid: this.uid})
    }
    this.context.finished(this.uid)
  }
}
