/**
 * The Deployment controller, without ReplicaSets: the lab's Deployments own their pods directly
 * (ownerReference kind Deployment), each labelled with its template's hash (`pod-template-hash`,
 * as the ReplicaSet's pods are). There is no rollout history (`kubectl rollout undo` has nothing
 * to go back to); what a client sees of the Deployment itself is as real: spec.replicas, the
 * selector, the template, and status replicas / updatedReplicas / readyReplicas /
 * availableReplicas / unavailableReplicas (zero counts omitted, as the real API omits them),
 * observedGeneration and the Available and Progressing conditions.
 *
 * Rollouts: RollingUpdate creates updated pods while all pods stay within replicas + maxSurge and
 * deletes outdated ones while the available pods stay at least replicas − maxUnavailable (percent
 * values rounded as the real controller: surge up, unavailable down); Recreate deletes every
 * outdated pod and creates the new ones once none is left. Scaling down deletes outdated, then
 * not-ready, then the youngest pods first. A pod is available once ready (minReadySeconds is not
 * modelled). Pods without a node are placed by the scheduler.
 */
import type {ClusterApi} from '../api.js'
import {labelSelectorRequirements, matchesLabels} from '../selectors.js'
import type {StoreEvent} from '../store.js'
import {type KubeObject, type LabelSelector, type Pod, type PodSpec, nowIso, objectKey} from '../types.js'
import {scaledIntOrPercent, templateHash} from './daemonset.js'
import type {EventRecorder} from './events.js'
import {StoreController} from './store-controller.js'

const COMPONENT = 'deployment-controller'
export const TEMPLATE_HASH_LABEL = 'pod-template-hash'

export interface DeploymentSpec {
  replicas?: number
  selector?: LabelSelector
  template?: {metadata?: {labels?: Record<string, string>; annotations?: Record<string, string>}; spec?: PodSpec}
  strategy?: {type?: 'RollingUpdate' | 'Recreate'; rollingUpdate?: {maxUnavailable?: number | string; maxSurge?: number | string}}
}

function isReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
}

/** maxUnavailable rounds down (intstr with roundUp=false) */
function scaledDown(value: number | string | undefined, total: number): number {
  if (typeof value === 'number') return Math.max(0, value)
  const percent = /^(\d+)%$/.exec(value ?? '')
  return percent ? Math.floor((total * Number(percent[1])) / 100) : 0
}

/** ResolveFenceposts: surge up, unavailable down, and not both 0 (then 1 unavailable) */
export function deploymentBudget(spec: DeploymentSpec, replicas: number): {maxSurge: number; maxUnavailable: number} {
  const rolling = spec.strategy?.rollingUpdate
  const maxSurge = scaledIntOrPercent(rolling?.maxSurge ?? '25%', replicas)
  const maxUnavailable = scaledDown(rolling?.maxUnavailable ?? '25%', replicas)
  return maxSurge === 0 && maxUnavailable === 0 ? {maxSurge, maxUnavailable: 1} : {maxSurge, maxUnavailable}
}

/** which pods go first when there are too many: outdated, not scheduled, not ready, youngest */
function deletionOrder(hash: string): (a: Pod, b: Pod) => number {
  const rank = (p: Pod): number[] => [p.metadata.labels?.[TEMPLATE_HASH_LABEL] === hash ? 1 : 0, p.spec.nodeName ? 1 : 0, isReady(p) ? 1 : 0]
  return (a, b) => {
    const [ra, rb] = [rank(a), rank(b)]
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number)
    return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || (b.metadata.name ?? '').localeCompare(a.metadata.name ?? '')
  }
}

export class DeploymentController extends StoreController {
  private readonly api: ClusterApi
  private readonly events: EventRecorder

  constructor(api: ClusterApi, events: EventRecorder) {
    super(api.store)
    this.api = api
    this.events = events
  }

  private get deployments() {
    return this.store.registry.get('deployments', 'apps')
  }

  start(): void {
    this.watch((event: StoreEvent) => {
      if (event.resource === this.deployments && event.type !== 'DELETED') this.queue.add(objectKey(event.object.metadata.namespace, event.object.metadata.name!))
      else if (event.resource.kind === 'Pod' && event.resource.group === '') this.enqueueOwner(event, 'Deployment')
    })
    for (const d of this.store.list(this.deployments)) this.queue.add(objectKey(d.metadata.namespace, d.metadata.name!))
  }

  protected handle(key: string): void {
    const [namespace, name] = key.split('/') as [string, string]
    const deployment = this.store.get(this.deployments, namespace, name)
    if (!deployment || deployment.metadata.deletionTimestamp) return
    const spec = (deployment.spec ?? {}) as DeploymentSpec
    const hash = templateHash(spec.template)
    const replicas = spec.replicas ?? 1
    const selector = labelSelectorRequirements(spec.selector) ?? []
    const podsType = this.store.registry.get('pods')
    const owned = (this.store.list(podsType, namespace) as Pod[]).filter((p) =>
      !p.metadata.deletionTimestamp && (p.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === deployment.metadata.uid) && matchesLabels(selector, p.metadata.labels),
    )
    const doomed: Array<{pod: Pod; why: string}> = []
    // failed pods are replaced (as a ReplicaSet replaces them)
    for (const pod of owned.filter((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded')) doomed.push({pod, why: 'finished'})
    const live = owned.filter((p) => !doomed.some((d) => d.pod === p))
    const updated = live.filter((p) => p.metadata.labels?.[TEMPLATE_HASH_LABEL] === hash)
    const outdated = live.filter((p) => p.metadata.labels?.[TEMPLATE_HASH_LABEL] !== hash)
    let create = 0
    if (spec.strategy?.type === 'Recreate') {
      for (const pod of outdated) doomed.push({pod, why: 'template changed (Recreate)'})
      if (outdated.length === 0) create = Math.max(0, replicas - updated.length)
      for (const pod of [...updated].sort(deletionOrder(hash)).slice(0, Math.max(0, updated.length - replicas))) doomed.push({pod, why: 'scaled down'})
    } else {
      const {maxSurge, maxUnavailable} = deploymentBudget(spec, replicas)
      if (outdated.length === 0) {
        create = Math.max(0, replicas - updated.length)
        for (const pod of [...updated].sort(deletionOrder(hash)).slice(0, Math.max(0, updated.length - replicas))) doomed.push({pod, why: 'scaled down'})
      } else {
        create = Math.max(0, Math.min(replicas - updated.length, replicas + maxSurge - live.length))
        // outdated pods go while enough pods stay available: not-ready ones at once
        let available = live.filter(isReady).length
        const minAvailable = Math.max(0, replicas - maxUnavailable)
        for (const pod of [...outdated].sort(deletionOrder(hash))) {
          if (isReady(pod)) {
            if (available - 1 < minAvailable) break
            available--
          }
          doomed.push({pod, why: 'template changed'})
        }
        // more updated pods than wanted (replicas lowered during a rollout)
        for (const pod of [...updated].sort(deletionOrder(hash)).slice(0, Math.max(0, updated.length - replicas))) doomed.push({pod, why: 'scaled down'})
      }
    }
    for (const {pod, why} of doomed) {
      this.api.delete(podsType, namespace, pod.metadata.name!)
      this.events.record(deployment, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name} (${why})`, COMPONENT)
    }
    for (let i = 0; i < create; i++) this.createPod(deployment, spec, hash)
    this.updateStatus(deployment, spec, hash)
  }

  private createPod(deployment: KubeObject, spec: DeploymentSpec, hash: string): void {
    const template = spec.template ?? {}
    const pod: Pod = {
      metadata: {
        generateName: `${deployment.metadata.name}-${hash}-`,
        namespace: deployment.metadata.namespace,
        labels: {...(template.metadata?.labels ?? {}), [TEMPLATE_HASH_LABEL]: hash},
        ...(template.metadata?.annotations ? {annotations: template.metadata.annotations} : {}),
        ownerReferences: [{apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name!, uid: deployment.metadata.uid!, controller: true, blockOwnerDeletion: true}],
      },
      spec: structuredClone(template.spec ?? {containers: []}),
    }
    try {
      const created = this.api.create(this.store.registry.get('pods'), deployment.metadata.namespace, pod)
      this.events.record(deployment, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, COMPONENT)
    } catch (error) {
      this.events.record(deployment, 'Warning', 'FailedCreate', `Error creating: ${(error as Error).message}`, COMPONENT)
    }
  }

  private updateStatus(deployment: KubeObject, spec: DeploymentSpec, hash: string): void {
    const pods = (this.store.list(this.store.registry.get('pods'), deployment.metadata.namespace) as Pod[]).filter(
      (p) => !p.metadata.deletionTimestamp && (p.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === deployment.metadata.uid),
    )
    const replicas = spec.replicas ?? 1
    const ready = pods.filter(isReady).length
    const updated = pods.filter((p) => p.metadata.labels?.[TEMPLATE_HASH_LABEL] === hash).length
    // MaxUnavailable() of the real controller: 0 for Recreate (and for 0 replicas), so Available needs every replica
    const maxUnavailable = spec.strategy?.type === 'Recreate' || replicas === 0 ? 0 : Math.min(replicas, deploymentBudget(spec, replicas).maxUnavailable)
    const availableNow = ready >= replicas - maxUnavailable
    const complete = updated === replicas && pods.length === replicas && ready === replicas
    const counts: Record<string, number> = {replicas: pods.length, updatedReplicas: updated, readyReplicas: ready, availableReplicas: ready, unavailableReplicas: Math.max(0, replicas - ready)}
    const status: Record<string, unknown> = {observedGeneration: deployment.metadata.generation ?? 1}
    for (const [key, value] of Object.entries(counts)) if (value > 0) status[key] = value
    const previous = ((deployment.status ?? {}) as {conditions?: Array<Record<string, string>>}).conditions ?? []
    const condition = (type: string, ok: boolean, reason: string, message: string): Record<string, string> => {
      const before = previous.find((c) => c.type === type)
      const now = nowIso()
      const value = ok ? 'True' : 'False'
      return {type, status: value, lastUpdateTime: before?.reason === reason ? (before.lastUpdateTime ?? now) : now, lastTransitionTime: before?.status === value ? (before.lastTransitionTime ?? now) : now, reason, message}
    }
    const name = deployment.metadata.name
    status.conditions = [
      condition('Available', availableNow, availableNow ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', availableNow ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.'),
      condition('Progressing', true, complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', complete ? `Deployment "${name}" has successfully progressed.` : `Deployment "${name}" is progressing.`),
    ]
    this.store.mutate(this.deployments, deployment.metadata.namespace, name!, (draft) => {
      if (draft.metadata.uid !== deployment.metadata.uid) return
      // conditions keep their times when nothing else changed, so a steady Deployment is not rewritten
      draft.status = status
    }, {subresource: 'status'})
  }
}
