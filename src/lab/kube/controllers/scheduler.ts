/**
 * The scheduler: binds each pod without `spec.nodeName` (and with the default scheduler) to a
 * Ready node that fits its nodeSelector, required node affinity and taints, choosing the node
 * with the fewest running pods (ties: round robin). A pod that fits nowhere stays Pending with
 * the condition PodScheduled=False (reason Unschedulable) and a FailedScheduling event, and is
 * tried again whenever a node changes.
 */
import type {StoreEvent} from '../store.js'
import type {ObjectStore} from '../store.js'
import {type Condition, type NodeObject, type Pod, nowIso, objectKey} from '../types.js'
import type {EventRecorder} from './events.js'
import {StoreController} from './store-controller.js'
import {misfit, unschedulableMessage} from './scheduling.js'

const COMPONENT = 'default-scheduler'

export class Scheduler extends StoreController {
  private readonly events: EventRecorder
  private turn = 0

  constructor(store: ObjectStore, events: EventRecorder) {
    super(store)
    this.events = events
  }

  private get pods() {
    return this.store.registry.get('pods')
  }

  private wantsScheduling(pod: Pod): boolean {
    return !pod.spec?.nodeName && !pod.metadata.deletionTimestamp && (pod.spec?.schedulerName ?? COMPONENT) === COMPONENT
  }

  start(): void {
    this.watch((event: StoreEvent) => {
      if (event.resource === this.pods && event.type !== 'DELETED' && this.wantsScheduling(event.object as Pod)) {
        this.queue.add(objectKey(event.object.metadata.namespace, event.object.metadata.name!))
      } else if (event.resource.kind === 'Node' && event.resource.group === '') this.requeueAll()
    })
    this.requeueAll()
  }

  private requeueAll(): void {
    for (const pod of this.store.list(this.pods)) if (this.wantsScheduling(pod as Pod)) this.queue.add(objectKey(pod.metadata.namespace, pod.metadata.name!))
  }

  protected handle(key: string): void {
    const [namespace, name] = key.split('/') as [string, string]
    const pod = this.store.get(this.pods, namespace, name) as Pod | undefined
    if (!pod || !this.wantsScheduling(pod)) return
    const nodes = this.store.list(this.store.registry.get('nodes')) as NodeObject[]
    const fits: NodeObject[] = []
    const misfits: Array<NonNullable<ReturnType<typeof misfit>>> = []
    for (const node of nodes) {
      const why = misfit(node, pod.spec)
      if (why) misfits.push(why)
      else fits.push(node)
    }
    if (fits.length === 0) {
      const message = unschedulableMessage(nodes.length, misfits)
      const existing = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled')
      if (existing?.message === message) return
      this.store.mutate(this.pods, namespace, name, (draft) => setCondition(draft as Pod, {type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message}), {subresource: 'status'})
      this.events.record(pod, 'Warning', 'FailedScheduling', message, COMPONENT)
      return
    }
    const load = new Map<string, number>()
    for (const other of this.store.list(this.pods) as Pod[]) {
      const phase = other.status?.phase
      if (other.spec?.nodeName && phase !== 'Succeeded' && phase !== 'Failed') load.set(other.spec.nodeName, (load.get(other.spec.nodeName) ?? 0) + 1)
    }
    const least = Math.min(...fits.map((n) => load.get(n.metadata.name!) ?? 0))
    const candidates = fits.filter((n) => (load.get(n.metadata.name!) ?? 0) === least)
    const chosen = candidates[this.turn++ % candidates.length]!
    const bound = this.store.mutate(
      this.pods,
      namespace,
      name,
      (draft) => {
        const p = draft as Pod
        if (p.spec.nodeName) return
        p.spec.nodeName = chosen.metadata.name
        setCondition(p, {type: 'PodScheduled', status: 'True'})
      },
      {allowServerFields: true},
    )
    if (bound) this.events.record(bound, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${chosen.metadata.name}`, COMPONENT)
  }
}

/** Sets a pod condition, keeping lastTransitionTime when the status does not change. */
export function setCondition(pod: Pod, condition: Condition): void {
  const status = (pod.status ??= {})
  const conditions = (status.conditions ??= [])
  const index = conditions.findIndex((c) => c.type === condition.type)
  const previous = index >= 0 ? conditions[index] : undefined
  const next: Condition = {
    type: condition.type,
    status: condition.status,
    lastProbeTime: null,
    lastTransitionTime: previous && previous.status === condition.status ? (previous.lastTransitionTime ?? nowIso()) : nowIso(),
  }
  if (condition.reason) next.reason = condition.reason
  if (condition.message) next.message = condition.message
  if (index >= 0) conditions[index] = next
  else conditions.push(next)
}
