/**
 * The Kubernetes port (KubeContexts, KubeCluster in src/core/ports.ts) on the real
 * @kubernetes/client-node 1.x.
 *
 * client-node is imported here, inside the function, and nowhere at module level: importing
 * it costs ~400 ms (ecosystem.md, start-up time) and commands that never talk to a cluster
 * must not pay for it. The other kube-*.ts modules import its types only.
 */
import type {KubeContexts} from '../../core/ports/kube.js'
import {openKubeCluster, DEFAULT_KUBE_REQUEST_TIMEOUT_MS} from './cluster.js'
import {loadMergedKubeconfig, locateKubeconfig} from './config.js'
import {DEFAULT_EXEC_PLUGIN_TIMEOUT_MS} from './exec-auth.js'

export {DEFAULT_KUBE_REQUEST_TIMEOUT_MS} from './cluster.js'
export {DEFAULT_EXEC_PLUGIN_TIMEOUT_MS} from './exec-auth.js'

export interface LoadKubeContextsOptions {
  /** an explicit kubeconfig path (must exist); otherwise KUBECONFIG, otherwise ~/.kube/config */
  kubeconfig?: string
  /** the environment to read KUBECONFIG and HOME from (default process.env) */
  env?: NodeJS.ProcessEnv
  /** per-request timeout (default 15 s): a hung API server gives exit 3, not a hang */
  requestTimeoutMs?: number
  /** how long a kubeconfig exec plugin may take to print a credential (default 30 s) */
  execTimeoutMs?: number
}

/**
 * Reads the kubeconfig as kubectl does. Throws XccError (exit 2) naming the file when there
 * is no kubeconfig, a file given explicitly does not exist, or a file is not a valid kubeconfig.
 */
export async function loadKubeContexts(options: LoadKubeContextsOptions = {}): Promise<KubeContexts> {
  const location = locateKubeconfig(options)
  const k8s = await import('@kubernetes/client-node')
  const merged = loadMergedKubeconfig(k8s, location)
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_KUBE_REQUEST_TIMEOUT_MS
  return {
    contexts: [...merged.contexts.keys()],
    ...(merged.current ? {current: merged.current} : {}),
    open: (context) => openKubeCluster(k8s, merged, context, timeoutMs, options.execTimeoutMs ?? DEFAULT_EXEC_PLUGIN_TIMEOUT_MS),
  }
}
