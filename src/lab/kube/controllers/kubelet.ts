/**
 * One logical kubelet for every node of the cluster: a PodWorker per pod bound to a node, a
 * graceful termination when a pod gets its deletionTimestamp, an immediate one when the pod
 * object disappears, and a final stop of everything when the server closes.
 */
import type {PodRuntime} from '../runtime.js'
import type {ObjectStore, StoreEvent} from '../store.js'
import type {Pod} from '../types.js'
import type {EventRecorder} from './events.js'
import {type KubeletContext, PodWorker} from './pod-worker.js'

const CRITICAL = new Set(['system-node-critical', 'system-cluster-critical'])

export class Kubelet {
  private readonly workers = new Map<string, PodWorker>()
  private readonly context: KubeletContext
  private readonly store: ObjectStore
  private unsubscribe?: () => void
  private stopping = false

  constructor(options: {store: ObjectStore; runtime: PodRuntime; logDir: string; events: EventRecorder}) {
    this.store = options.store
    this.context = {
      store: options.store,
      runtime: options.runtime,
      logDir: options.logDir,
      events: options.events,
      finished: (uid) => this.workers.delete(uid),
    }
  }

  start(): void {
    const pods = this.store.registry.get('pods')
    this.unsubscribe = this.store.subscribe((event: StoreEvent) => {
      if (event.resource === pods) this.observe(event.type, event.object as Pod)
    })
    // critical pods first (the cluster DNS): the kubelet admits them before the others
    const critical = (pod: Pod): number => (CRITICAL.has(String((pod.spec as {priorityClassName?: unknown} | undefined)?.priorityClassName)) ? 0 : 1)
    for (const pod of [...this.store.list(pods)].sort((a, b) => critical(a as Pod) - critical(b as Pod))) this.observe('ADDED', pod as Pod)
  }

  private observe(type: StoreEvent['type'], pod: Pod): void {
    if (this.stopping) return
    const uid = pod.metadata.uid!
    const worker = this.workers.get(uid)
    // termination writes (events, status): never from inside the store's listener
    if (type === 'DELETED') {
      if (worker) setImmediate(() => void worker.terminate(0, true))
      return
    }
    if (!pod.spec?.nodeName) return
    const deleting = pod.metadata.deletionTimestamp !== undefined
    if (worker) {
      worker.updated(pod)
      if (deleting) setImmediate(() => void worker.terminate(pod.metadata.deletionGracePeriodSeconds ?? 0))
      return
    }
    const fresh = new PodWorker(this.context, pod)
    this.workers.set(uid, fresh)
    // never write to the store from inside its listener
    setImmediate(() => {
      if (this.stopping) return
      if (deleting) void fresh.terminate(pod.metadata.deletionGracePeriodSeconds ?? 0)
      else fresh.start()
    })
  }

  /** Pods the kubelet is running (or terminating). */
  get running(): number {
    return this.workers.size
  }

  /** Kills every pod's processes at once and tears their networks down; pod objects stay. */
  async stop(): Promise<void> {
    this.stopping = true
    this.unsubscribe?.()
    await Promise.all([...this.workers.values()].map((worker) => worker.terminate(0, true)))
  }
}
