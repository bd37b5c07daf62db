/**
 * Before anything is created: the permissions the run needs (SelfSubjectAccessReview) and a
 * PodSecurity level that admits host-network capture pods. A refusal names what to grant.
 */
import {XccError} from '../errors.js'
import {shellCommand} from '../shell.js'
import type {AccessQuestion, KubeCluster} from '../ports/kube.js'

export interface AccessNeed extends AccessQuestion {
  /** why xcc needs it, for the message */
  readonly why: string
  /** false: xcc works without it, with less evidence */
  readonly required: boolean
}

export function podAccess(namespace: string, why: string): AccessNeed[] {
  return [
    {verb: 'create', resource: 'pods', namespace, why, required: true},
    {verb: 'get', resource: 'pods', namespace, why, required: true},
    {verb: 'delete', resource: 'pods', namespace, why: `${why} (and remove them afterwards)`, required: true},
    {verb: 'get', resource: 'pods', subresource: 'log', namespace, why: 'read the captures and the probe result', required: true},
  ]
}

const describe = (q: AccessQuestion): string => `${q.verb} ${q.resource}${q.subresource ? `/${q.subresource}` : ''}${q.namespace ? ` in namespace ${q.namespace}` : ' (cluster-wide)'}`

function grantCommands(context: string, denied: readonly AccessNeed[], role: string): string[] {
  const namespaced = new Map<string, AccessNeed[]>()
  const cluster: AccessNeed[] = []
  for (const d of denied) {
    if (d.namespace) namespaced.set(d.namespace, [...(namespaced.get(d.namespace) ?? []), d])
    else cluster.push(d)
  }
  const res = (list: readonly AccessNeed[]) => [...new Set(list.map((d) => (d.subresource ? `${d.resource}/${d.subresource}` : d.resource)))].join(',')
  const verbs = (list: readonly AccessNeed[]) => [...new Set(list.map((d) => d.verb))].join(',')
  const out: string[] = []
  for (const [ns, list] of namespaced) {
    out.push(shellCommand(['kubectl', '--context', context, '-n', ns, 'create', 'role', role, `--verb=${verbs(list)}`, `--resource=${res(list)}`]))
    out.push(`${shellCommand(['kubectl', '--context', context, '-n', ns, 'create', 'rolebinding', role, `--role=${role}`])} --user=<you>`)
  }
  if (cluster.length > 0) {
    out.push(shellCommand(['kubectl', '--context', context, 'create', 'clusterrole', role, `--verb=${verbs(cluster)}`, `--resource=${res(cluster)}`]))
    out.push(`${shellCommand(['kubectl', '--context', context, 'create', 'clusterrolebinding', role, `--clusterrole=${role}`])} --user=<you>`)
  }
  return out
}

/** Asks every question; a denied required permission stops the run (exit 3). Returns the optional ones denied. */
export async function checkAccess(cluster: KubeCluster, needs: readonly AccessNeed[], who: {command: string; role: string} = {command: 'xcc doctor', role: 'xcc-doctor'}): Promise<AccessNeed[]> {
  const answers = await cluster.canI(needs)
  const denied = needs.filter((_, i) => !answers[i]?.allowed)
  const fatal = denied.filter((d) => d.required)
  if (fatal.length > 0) {
    throw new XccError(`missing permission in context "${cluster.context}": ${who.command} needs to ${fatal.map(describe).join('; ')}`, {
      exitCode: 3,
      details: fatal.map((d) => `${describe(d)}: to ${d.why}`),
      hint: `ask a cluster admin to grant them, e.g.\n  ${grantCommands(cluster.context, fatal, who.role).join('\n  ')}`,
    })
  }
  return denied
}

export const POD_SECURITY_ENFORCE = 'pod-security.kubernetes.io/enforce'

/**
 * Capture pods use the host network and NET_ADMIN/NET_RAW, which only the `privileged` Pod
 * Security Standard admits (baseline forbids host namespaces and those capabilities).
 * Returns a note when the namespace cannot be read (the API server will decide).
 */
export async function checkPodSecurity(cluster: KubeCluster, namespace: string, canRead: boolean): Promise<string | undefined> {
  if (!canRead) return `cannot read namespace ${namespace} in context ${cluster.context} to check its Pod Security level`
  const ns = await cluster.getNamespace(namespace)
  if (!ns) throw new XccError(`namespace "${namespace}" does not exist in context "${cluster.context}"`, {exitCode: 2, hint: 'pass --probe-namespace with an existing namespace'})
  const level = ns.metadata.labels?.[POD_SECURITY_ENFORCE]
  if (level === 'baseline' || level === 'restricted') {
    throw new XccError(`namespace "${namespace}" in context "${cluster.context}" enforces Pod Security "${level}", which forbids the host-network capture pods (hostNetwork, NET_ADMIN, NET_RAW) xcc doctor needs`, {
      exitCode: 3,
      hint: `run the probes in a namespace that allows privileged pods (--probe-namespace <ns>), or allow them here:\n  ${shellCommand(['kubectl', '--context', cluster.context, 'label', 'namespace', namespace, `${POD_SECURITY_ENFORCE}=privileged`, '--overwrite'])}`,
    })
  }
  return undefined
}
