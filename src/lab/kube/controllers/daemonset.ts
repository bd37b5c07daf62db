/**
 * The DaemonSet controller: one pod per node the DaemonSet's template fits (nodeSelector,
 * required node affinity, taints against its tolerations plus the ones every DaemonSet pod
 * gets), bound directly to the node. Pods carry an ownerReference to the DaemonSet and the
 * template's hash (`controller-revision-hash`); when the template changes, outdated pods are
 * replaced, at most `maxUnavailable` at a time (RollingUpdate) or only when deleted (OnDelete).
 * Failed pods are replaced. The status counts are kept, with observedGeneration.
 */
import {createHash} from 'node:crypto'

import type {ClusterApi} from '../api.js'
import {labelSelectorRequirements, matchesLabels} from '../selectors.js'
import type {StoreEvent} from '../store.js'
import {type KubeObject, type LabelSelector, type NodeObject, type Pod, type PodSpec, type Toleration, objectKey} from '../types.js'
import type {EventRecorder} from './events.js'
import {StoreController} from './store-controller.js'
import {misfit} from './scheduling.js'

const COMPONENT = 'daemonset-controller'

/** Tolerations the DaemonSet controller adds to every pod it creates. */
const DAEMON_TOLERATIONS: readonly Toleration[] = [
  {key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute'},
  {key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute'},
  {key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule'},
  {key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule'},
  {key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule'},
  {key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule'},
]

export interface DaemonSetSpec {
  selector?: LabelSelector
  template?: {metadata?: {labels?: Record<string, string>; annotations?: Record<string, string>}; spec?: PodSpec}
  updateStrategy?: {type?: 'RollingUpdate' | 'OnDelete'; rollingUpdate?: {maxUnavailable?: number | string; maxSurge?: number | string}}
}

export function templateHash(template: unknown): string {
  return createHash('sha256').update(JSON.stringify(template ?? {})).digest('hex').slice(0, 10)
}

function podTolerations(spec: PodSpec | undefined): Toleration[] {
  const own = spec?.tolerations ?? []
  return [...own, ...DAEMON_TOLERATIONS.filter((t) => !own.some((o) => o.key === t.key && o.effect === t.effect))]
}

function isReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
}

/** intstr.GetScaledValueFromIntOrPercent(value, total, roundUp=true): a count, or a percent of `total` rounded up */
export function scaledIntOrPercent(value: number | string | undefined, total: number): number {
  if (typeof value === 'number') return Math.max(0, value)
  const percent = /^(\d+)%$/.exec(value ?? '')
  return percent ? Math.ceil((total * Number(percent[1])) / 100) : 0
}

/**
 * How far a RollingUpdate may go (the controller's updatedDesiredNodeCounts): maxSurge new pods
 * beside old ones, or maxUnavailable nodes without a ready pod; when both come out 0 (admission
 * refuses that, but a percent of a small count can round to it) it accepts 1 unavailable.
 */
export function rollingBudget(spec: DaemonSetSpec, desired: number): {maxSurge: number; maxUnavailable: number} {
  const rolling = spec.updateStrategy?.rollingUpdate
  const maxSurge = scaledIntOrPercent(rolling?.maxSurge ?? 0, desired)
  const maxUnavailable = scaledIntOrPercent(rolling?.maxUnavailable ?? 1, desired)
  return desired > 0 && maxSurge === 0 && maxUnavailable === 0 ? {maxSurge, maxUnavailable: 1} : {maxSurge, maxUnavailable}
}

function byCreation(a: Pod, b: Pod): number {
  return (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '')
}

export class DaemonSetController extends StoreController {
  private readonly api: ClusterApi
  private readonly events: EventRecorder

  constructor(api: ClusterApi, events: EventRecorder) {
    super(api.store)
    this.api = api
    this.events = events
  }

  private get daemonSets() {
    return this.store.registry.get('daemonsets', 'apps')
  }

  start(): void {
    this.watch((event: StoreEvent) => {
      if (event.resource === this.daemonSets && event.type !== 'DELETED') this.queue.add(objectKey(event.object.metadata.namespace, event.object.metadata.name!))
      else if (event.resource.kind === 'Node' && event.resource.group === '') this.enqueueAll()
      else if (event.resource.kind === 'Pod' && event.resource.group === '') this.enqueueOwner(event, 'DaemonSet')
    })
    this.enqueueAll()
  }

  private enqueueAll(): void {
    for (const ds of this.store.list(this.daemonSets)) this.queue.add(objectKey(ds.metadata.namespace, ds.metadata.name!))
  }

  protected handle(key: string): void {
    const [namespace, name] = key.split('/') as [string, string]
    const ds = this.store.get(this.daemonSets, namespace, name)
    if (!ds || ds.metadata.deletionTimestamp) return
    const spec = (ds.spec ?? {}) as DaemonSetSpec
    const hash = templateHash(spec.template)
    const selector = labelSelectorRequirements(spec.selector) ?? []
    const podsType = this.store.registry.get('pods')
    const owned = (this.store.list(podsType, namespace) as Pod[]).filter((p) =>
      (p.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === ds.metadata.uid) && matchesLabels(selector, p.metadata.labels),
    )
    const nodes = this.store.list(this.store.registry.get('nodes')) as NodeObject[]
    const templateSpec: PodSpec = {...(spec.template?.spec ?? {containers: []}), tolerations: podTolerations(spec.template?.spec)}
    const shouldRun = new Set(nodes.filter((n) => !misfit(n, templateSpec, {ignoreReadiness: true})).map((n) => n.metadata.name!))
    const byNode = new Map<string, Pod[]>()
    for (const pod of owned) {
      const node = pod.spec.nodeName ?? ''
      byNode.set(node, [...(byNode.get(node) ?? []), pod])
    }
    const rolling = spec.updateStrategy?.type !== 'OnDelete'
    const budget = rollingBudget(spec, shouldRun.size)
    // AllowsSurge: with maxSurge the new pod starts beside the old one, which goes once the new one is ready
    const surging = rolling && budget.maxSurge > 0
    const doomed = new Map<string, {pod: Pod; why: string}>()
    const remove = (pod: Pod, why: string): void => {
      if (!doomed.has(pod.metadata.name!)) doomed.set(pod.metadata.name!, {pod, why})
    }
    const create = new Set<string>()
    const updated = (pod: Pod): boolean => pod.metadata.labels?.['controller-revision-hash'] === hash
    let misscheduled = 0
    const outdated: Pod[] = []
    const running = new Map<string, Pod[]>()
    for (const [nodeName, pods] of byNode) {
      const live = pods.filter((p) => !p.metadata.deletionTimestamp)
      if (!shouldRun.has(nodeName)) {
        misscheduled += live.length > 0 ? 1 : 0
        for (const pod of live) remove(pod, 'node no longer fits')
        continue
      }
      for (const pod of live.filter((p) => p.status?.phase === 'Failed')) remove(pod, 'failed')
      const healthy = live.filter((p) => p.status?.phase !== 'Failed')
      if (!surging) {
        // one pod per node: the updated one if there is one; a new pod waits until the node has none at all
        healthy.sort((a, b) => Number(updated(b)) - Number(updated(a)))
        for (const extra of healthy.slice(1)) remove(extra, 'more than one on the node')
        const kept = healthy[0]
        if (kept && !updated(kept)) outdated.push(kept)
        continue
      }
      // surging: at most the oldest updated and the oldest outdated pod; the outdated one goes when
      // it is not ready or the updated one is; a node whose pods are all terminating gets a new one
      if (healthy.length === 0) create.add(nodeName)
      const oldestNew = healthy.filter(updated).sort(byCreation)[0]
      const oldestOld = healthy.filter((p) => !updated(p)).sort(byCreation)[0]
      for (const extra of healthy) if (extra !== oldestNew && extra !== oldestOld) remove(extra, 'more than one on the node')
      if (oldestNew && oldestOld && (!isReady(oldestOld) || isReady(oldestNew))) remove(oldestOld, 'replaced by an updated pod')
      running.set(nodeName, [oldestNew, oldestOld].filter((p): p is Pod => p !== undefined))
    }
    for (const nodeName of shouldRun) if ((byNode.get(nodeName) ?? []).length === 0) create.add(nodeName)
    if (rolling && surging) for (const nodeName of this.surgeNodes(shouldRun, running, doomed, budget.maxSurge, updated)) create.add(nodeName)
    else if (rolling && outdated.length > 0) {
      const current = owned.filter((p) => !p.metadata.deletionTimestamp && shouldRun.has(p.spec.nodeName ?? ''))
      let unavailable = shouldRun.size - current.filter(isReady).length
      for (const pod of outdated.sort((a, b) => Number(isReady(a)) - Number(isReady(b)))) {
        if (isReady(pod)) {
          if (unavailable >= budget.maxUnavailable) break
          unavailable++
        }
        remove(pod, 'template changed')
      }
    }
    for (const {pod, why} of doomed.values()) {
      this.api.delete(podsType, namespace, pod.metadata.name!)
      this.events.record(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name} (${why})`, COMPONENT)
    }
    for (const nodeName of [...create].sort()) this.createPod(ds, spec, hash, nodeName)
    this.updateStatus(ds, shouldRun, misscheduled, hash)
  }

  /**
   * The surging rolling update (the controller's rollingUpdate with maxSurge): a node whose
   * outdated pod is not ready gets its new pod at once; nodes with a ready outdated pod get one
   * while fewer than maxSurge new pods are still becoming ready (nodes with more pods than
   * allowed count as surging too).
   */
  private surgeNodes(shouldRun: ReadonlySet<string>, running: ReadonlyMap<string, Pod[]>, doomed: ReadonlyMap<string, unknown>, maxSurge: number, updated: (pod: Pod) => boolean): string[] {
    let surge = 0
    const now: string[] = []
    const candidates: string[] = []
    for (const nodeName of [...shouldRun].sort()) {
      const pods = (running.get(nodeName) ?? []).filter((p) => !doomed.has(p.metadata.name!))
      const fresh = pods.filter(updated)
      const old = pods.filter((p) => !updated(p))
      if (fresh.length > 1 || old.length > 1) surge++
      else if (old.length === 0) continue
      else if (fresh.length === 0) (isReady(old[0]!) ? candidates : now).push(nodeName)
      else if (!isReady(fresh[0]!)) surge++
    }
    return [...now, ...candidates.slice(0, Math.max(0, maxSurge - surge))]
  }

  private createPod(ds: KubeObject, spec: DaemonSetSpec, hash: string, nodeName: string): void {
    const template = spec.template ?? {}
    const pod: Pod = {
      metadata: {
        generateName: `${ds.metadata.name}-`,
        namespace: ds.metadata.namespace,
        labels: {...(template.metadata?.labels ?? {}), 'controller-revision-hash': hash, 'pod-template-generation': String(ds.metadata.generation ?? 1)},
        ...(template.metadata?.annotations ? {annotations: template.metadata.annotations} : {}),
        ownerReferences: [{apiVersion: 'apps/v1', kind: 'DaemonSet', name: ds.metadata.name!, uid: ds.metadata.uid!, controller: true, blockOwnerDeletion: true}],
      },
      spec: {...structuredClone(template.spec ?? {containers: []}), nodeName, tolerations: podTolerations(template.spec)},
    }
    try {
      const created = this.api.create(this.store.registry.get('pods'), ds.metadata.namespace, pod)
      this.events.record(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, COMPONENT)
    } catch (error) {
      this.events.record(ds, 'Warning', 'FailedCreate', `Error creating: ${(error as Error).message}`, COMPONENT)
    }
  }

  private updateStatus(ds: KubeObject, shouldRun: ReadonlySet<string>, misscheduled: number, hash: string): void {
    const pods = (this.store.list(this.store.registry.get('pods'), ds.metadata.namespace) as Pod[]).filter(
      (p) => !p.metadata.deletionTimestamp && (p.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === ds.metadata.uid),
    )
    const scheduled = new Set<string>()
    const ready = new Set<string>()
    const updated = new Set<string>()
    for (const pod of pods) {
      const node = pod.spec.nodeName ?? ''
      if (!shouldRun.has(node)) continue
      scheduled.add(node)
      if (isReady(pod)) ready.add(node)
      if (pod.metadata.labels?.['controller-revision-hash'] === hash) updated.add(node)
    }
    const desired = shouldRun.size
    const status = {
      currentNumberScheduled: scheduled.size,
      desiredNumberScheduled: desired,
      numberMisscheduled: misscheduled,
      numberReady: ready.size,
      updatedNumberScheduled: updated.size,
      numberAvailable: ready.size,
      ...(desired - ready.size > 0 ? {numberUnavailable: desired - ready.size} : {}),
      observedGeneration: ds.metadata.generation ?? 1,
    }
    this.store.mutate(this.daemonSets, ds.metadata.namespace, ds.metadata.name!, (draft) => {
      if (draft.metadata.uid === ds.metadata.uid) draft.status = status
    }, {subresource: 'status'})
  }
}
