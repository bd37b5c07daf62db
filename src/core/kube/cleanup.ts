/**
 * `xcc doctor cleanup`: removes, by label, every pod a live doctor run left behind (a run
 * killed with SIGKILL, --keep, a failed delete). Only pods labelled managed-by=xcc are touched.
 */
import {XccError} from '../errors.js'
import {checkNamespaceFlag} from '../names.js'
import type {KubeCluster} from '../ports/kube.js'
import type {Clock} from '../ports/clock.js'
import {OWNED_SELECTOR, ROLE_LABEL, RUN_ID_LABEL, isRunId, runSelector} from './labels.js'
import {deletePodAndWait} from './pods.js'

export interface CleanupItem {
  readonly context: string
  readonly namespace: string
  readonly name: string
  readonly runId?: string
  readonly role?: string
  readonly phase?: string
  readonly removed: boolean
  readonly error?: string
}

export async function cleanupLeftovers(clusters: readonly KubeCluster[], options: {runId?: string; namespace?: string; dryRun: boolean; clock: Clock}): Promise<CleanupItem[]> {
  if (options.runId !== undefined && !isRunId(options.runId)) throw new XccError(`--run-id ${options.runId}: not a run id`, {hint: 'run ids are 6-16 lowercase hex digits, as printed in the observations of xcc doctor'})
  if (options.namespace !== undefined) checkNamespaceFlag('--namespace', options.namespace)
  const selector = options.runId ? runSelector(options.runId) : OWNED_SELECTOR
  const perCluster = await Promise.all(clusters.map(async (cluster) => {
    const pods = await cluster.listPods(options.namespace, selector)
    return Promise.all(pods.map(async (pod): Promise<CleanupItem> => {
      const base = {
        context: cluster.context, namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name,
        ...(pod.metadata.labels?.[RUN_ID_LABEL] ? {runId: pod.metadata.labels[RUN_ID_LABEL]} : {}),
        ...(pod.metadata.labels?.[ROLE_LABEL] ? {role: pod.metadata.labels[ROLE_LABEL]} : {}),
        ...(pod.status?.phase ? {phase: pod.status.phase} : {}),
      }
      if (options.dryRun) return {...base, removed: false}
      try {
        if (await deletePodAndWait(cluster, base.namespace, base.name, options.clock)) return {...base, removed: true}
        return {...base, removed: false, error: 'still terminating after 10 s'}
      } catch (error) {
        return {...base, removed: false, error: (error as Error).message}
      }
    }))
  }))
  return perCluster.flat()
}
