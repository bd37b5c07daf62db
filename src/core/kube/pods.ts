/**
 * Waiting on the pods a run created, through the Kubernetes port: bounded by a deadline, polled
 * (the clock is a port), and interruptible (the run's AbortSignal, Ctrl-C).
 */
import {InterruptedError} from '../errors.js'
import type {KubeCluster, KubeContainerState, KubePod} from '../ports/kube.js'
import type {Clock} from '../ports/clock.js'

export const POLL_MS = 50

/** container waiting reasons that will not get better by themselves */
const STUCK = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'CrashLoopBackOff'])

export interface Waiter {
  readonly clock: Clock
  readonly signal: AbortSignal
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError()
}

export function containerState(pod: KubePod | undefined, container: string, ephemeral = false): KubeContainerState | undefined {
  const statuses = ephemeral ? pod?.status?.ephemeralContainerStatuses : pod?.status?.containerStatuses
  return statuses?.find((s) => s.name === container)?.state
}

/** why a pod cannot start or run, or undefined while it still may */
export function podProblem(pod: KubePod | undefined, container: string, ephemeral = false): string | undefined {
  if (!pod) return 'the pod disappeared'
  const waiting = containerState(pod, container, ephemeral)?.waiting
  if (waiting?.reason && STUCK.has(waiting.reason)) return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`
  if (!ephemeral && (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') && !containerState(pod, container)?.terminated) {
    return `pod ${pod.status.phase}${pod.status.reason ? ` (${pod.status.reason})` : ''}${pod.status.message ? `: ${pod.status.message}` : ''}`
  }
  return undefined
}

/**
 * Polls until `done` returns a value, the pod has a problem, or the deadline passes.
 * Returns the value, or a string saying why it stopped waiting.
 */
export async function pollPod<T>(w: Waiter, cluster: KubeCluster, namespace: string, name: string, deadlineMs: number, done: (pod: KubePod | undefined) => Promise<T | undefined>, container: string, ephemeral = false): Promise<{value: T} | {problem: string}> {
  for (;;) {
    throwIfAborted(w.signal)
    const pod = await cluster.getPod(namespace, name)
    const value = await done(pod)
    if (value !== undefined) return {value}
    const problem = podProblem(pod, container, ephemeral)
    if (problem) return {problem}
    if (w.clock.now() >= deadlineMs) {
      const waiting = containerState(pod, container, ephemeral)?.waiting
      return {problem: `not ready in time (phase ${pod?.status?.phase ?? 'unknown'}${waiting?.reason ? `, ${waiting.reason}` : ''})`}
    }
    await w.clock.sleep(POLL_MS, w.signal)
  }
}

/**
 * Deletes a pod and waits (bounded) until the API server no longer lists it, as `kubectl delete`
 * does: a pod still terminating is not "removed" yet. Returns false when it is still there.
 */
export async function deletePodAndWait(cluster: KubeCluster, namespace: string, name: string, clock: Clock, timeoutMs = 10_000): Promise<boolean> {
  await cluster.deletePod(namespace, name)
  const deadline = clock.now() + timeoutMs
  for (;;) {
    if (!(await cluster.getPod(namespace, name))) return true
    if (clock.now() >= deadline) return false
    await clock.sleep(POLL_MS)
  }
}
