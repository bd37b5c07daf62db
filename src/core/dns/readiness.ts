/**
 * `xcc dns link` points the cluster's DNS at its responder only once the responder answers
 * (issue 17): a stub domain or forward block aimed at a Service whose pods are not ready yet sends
 * the first queries nowhere (kube-proxy rejects a Service without endpoints, or the packet is
 * lost), and pods see a failed lookup or a resolver retry of several seconds.
 *
 * Ready is what `kubectl rollout status deployment` calls rolled out: the controller observed the
 * current generation, every replica runs the current template, no old pod is left, and every
 * updated pod is available (Ready). While it is not, the responder's pods are looked at (when
 * xcc may list them): a container that will not get better by itself (image pull failing, crash
 * loop: core/kube/pods.ts) ends the wait at once, exit 3, naming the pod and its reason; so does a
 * rollout past its progress deadline. Otherwise the wait is bounded by --timeout and polled on the
 * clock port; a responder already ready costs one read.
 *
 * The Service's endpoints are not waited for: a ready pod matching the Service's selector is an
 * endpoint by definition, and the EndpointSlice controller and kube-proxy follow within moments —
 * before kube-dns's dnsmasq (or CoreDNS's reload) has picked up the edited ConfigMap.
 */
import {XccError} from '../errors.js'
import {podProblem, throwIfAborted} from '../kube/pods.js'
import {shellCommand} from '../shell.js'
import type {Clock} from '../ports/clock.js'
import type {KubeCluster, KubeDeployment, KubePod} from '../ports/kube.js'

/** how often the Deployment is read again while it is not ready */
const READY_POLL_MS = 250

export interface ResponderWaitDeps {
  readonly cluster: KubeCluster
  readonly clock: Clock
  readonly signal: AbortSignal
  readonly progress: (text: string) => void
  /** --timeout of `dns link` */
  readonly timeoutMs: number
  /** false when xcc may not list pods in the responder's namespace: no pod reasons then */
  readonly canListPods: boolean
}

export interface ResponderReady {
  /** e.g. "2 of 2 pods ready" */
  readonly detail: string
  /** how long xcc waited (0: it was ready at once) */
  readonly waitedMs: number
}

export interface RolloutVerdict {
  readonly ready: boolean
  /** where the rollout is, for progress and errors */
  readonly text: string
  /** why it will not become ready by itself */
  readonly problem?: string
}

/** the Deployment's rollout as `kubectl rollout status` judges it */
export function responderRollout(d: KubeDeployment | undefined): RolloutVerdict {
  if (!d) return {ready: false, text: 'the Deployment is gone', problem: 'the Deployment is gone (deleted by another writer)'}
  if (d.metadata.deletionTimestamp) return {ready: false, text: 'the Deployment is being deleted', problem: 'the Deployment is being deleted (by another writer)'}
  const s = d.status ?? {}
  if ((s.observedGeneration ?? 0) < (d.metadata.generation ?? 1)) return {ready: false, text: 'waiting for the Deployment controller to observe the new spec'}
  const progressing = s.conditions?.find((c) => c.type === 'Progressing')
  if (progressing?.reason === 'ProgressDeadlineExceeded') return {ready: false, text: 'past its progress deadline', problem: `the rollout exceeded its progress deadline${progressing.message ? ` (${progressing.message})` : ''}`}
  const want = d.spec.replicas ?? 1
  const updated = s.updatedReplicas ?? 0
  const available = s.availableReplicas ?? 0
  if (updated < want) return {ready: false, text: `${updated} of ${want} pods run the current template`}
  if ((s.replicas ?? 0) > updated) return {ready: false, text: `${(s.replicas ?? 0) - updated} old pods pending termination`}
  if (available < updated) return {ready: false, text: `${available} of ${updated} pods ready`}
  return {ready: true, text: `${available} of ${want} pods ready`}
}

/** one pod, as far as it is not ready: phase, unscheduled, containers waiting */
export function describePod(pod: KubePod): string {
  const name = pod.metadata.name
  if (pod.metadata.deletionTimestamp) return `${name}: terminating`
  const problem = pod.spec.containers.map((c) => podProblem(pod, c.name)).find((p) => p !== undefined)
  if (problem) return `${name}: ${problem}`
  const conditions = pod.status?.conditions ?? []
  const unscheduled = conditions.find((c) => c.type === 'PodScheduled' && c.status === 'False')
  if (unscheduled) return `${name}: not scheduled${unscheduled.reason ? ` (${unscheduled.reason}${unscheduled.message ? `: ${unscheduled.message}` : ''})` : ''}`
  const waiting = (pod.status?.containerStatuses ?? []).map((c) => c.state?.waiting ? `${c.name} waiting: ${c.state.waiting.reason ?? 'unknown'}${c.state.waiting.message ? ` (${c.state.waiting.message})` : ''}` : undefined).find(Boolean)
  if (waiting) return `${name}: ${pod.status?.phase ?? 'Pending'}, ${waiting}`
  const ready = conditions.find((c) => c.type === 'Ready')
  return `${name}: ${pod.status?.phase ?? 'Pending'}, ${ready?.status === 'True' ? 'ready' : `not ready${ready?.reason ? ` (${ready.reason})` : ''}`}`
}

/** the first pod that will not become ready by itself, described */
function stuckPod(pods: readonly KubePod[]): string | undefined {
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue
    const problem = pod.spec.containers.map((c) => podProblem(pod, c.name)).find((p) => p !== undefined)
    if (problem) return `pod ${pod.metadata.name}: ${problem}`
  }
  return undefined
}

function selectorOf(d: KubeDeployment | undefined): string | undefined {
  const labels = Object.entries(d?.spec.selector.matchLabels ?? {})
  return labels.length > 0 ? labels.map(([k, v]) => `${k}=${v}`).join(',') : undefined
}

/**
 * Waits until the responder Deployment `namespace/name` is rolled out; throws exit 3 naming what
 * is not ready when it will not be (or not within the timeout). Nothing of the DNS configuration is
 * written before this returns.
 */
export async function waitForResponder(deps: ResponderWaitDeps, target: {namespace: string; name: string; context: string}): Promise<ResponderReady> {
  const {cluster, clock} = deps
  const started = clock.now()
  const deadline = started + deps.timeoutMs
  const title = `Deployment ${target.namespace}/${target.name}`
  let last = ''
  for (;;) {
    throwIfAborted(deps.signal)
    const deployment = await cluster.getDeployment(target.namespace, target.name)
    const verdict = responderRollout(deployment)
    if (verdict.ready) {
      if (last !== '') deps.progress(`the responder is ready: ${verdict.text}`)
      return {detail: verdict.text, waitedMs: clock.now() - started}
    }
    const selector = selectorOf(deployment)
    const pods = deps.canListPods && selector ? await cluster.listPods(target.namespace, selector) : []
    const problem = verdict.problem ?? stuckPod(pods)
    const late = clock.now() >= deadline
    if (problem || late) {
      const why = problem ?? `not ready after ${Math.round(deps.timeoutMs / 1000)}s: ${verdict.text}`
      throw new XccError(`the DNS responder (${title} in context "${target.context}") is not ready: ${why}; the cluster DNS configuration was not changed`, {
        exitCode: 3,
        details: pods.map(describePod),
        hint: `see why with: ${shellCommand(['kubectl', '--context', target.context, '-n', target.namespace, 'describe', 'pods', ...(selector ? ['-l', selector] : [])])}; once it is fixed, run xcc dns link again (xcc dns unlink removes the responder)`,
      })
    }
    if (last === '') deps.progress(`waiting for the responder (${title}) to be ready before the cluster DNS points at it (up to ${Math.round(deps.timeoutMs / 1000)}s)`)
    if (verdict.text !== last) deps.progress(`responder: ${(last = verdict.text)}`)
    await clock.sleep(READY_POLL_MS, deps.signal)
  }
}
