/** `xcc doctor cleanup`: remove what live doctor runs left behind, by label, in the chosen contexts. */
import {clock, openKube} from './deps.js'
import {XccError} from '../core/errors.js'
import {type CleanupItem, cleanupLeftovers} from '../core/kube/cleanup.js'
import {checkNamespaceFlag} from '../core/names.js'

export interface CleanupRequest {
  readonly contexts?: readonly string[]
  readonly allContexts: boolean
  readonly runId?: string
  readonly namespace?: string
  readonly dryRun: boolean
  readonly kubeconfig?: string
}

export async function runDoctorCleanup(request: CleanupRequest): Promise<{contexts: readonly string[]; pods: CleanupItem[]}> {
  // before the kubeconfig is read: `..` would make the namespace's pod list every namespace's
  if (request.namespace !== undefined) checkNamespaceFlag('--namespace', request.namespace)
  const kube = await openKube(request.kubeconfig)
  const names = request.allContexts ? kube.contexts : request.contexts ?? (kube.current ? [kube.current] : [])
  if (names.length === 0) throw new XccError('no kube context to clean: the kubeconfig has no current context', {hint: 'pass --context <name> or --all-contexts'})
  const pods = await cleanupLeftovers(names.map((n) => kube.open(n)), {
    ...(request.runId ? {runId: request.runId} : {}), ...(request.namespace ? {namespace: request.namespace} : {}), dryRun: request.dryRun, clock,
  })
  return {contexts: names, pods}
}
