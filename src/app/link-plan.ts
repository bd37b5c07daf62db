/**
 * `xcc link plan`: read the project (Compute Engine, GKE and the clusters' kube APIs, as
 * `xcc snapshot` does, in memory), resolve the clusters, and plan the link (core/link).
 * Nothing is written.
 */
import {XccError} from '../core/errors.js'
import type {LinkRequest} from '../core/link/design.js'
import {checkLinkName} from '../core/link/names.js'
import {type LinkPlan, planLink} from '../core/link/plan.js'
import type {GkeCluster} from '../core/ports/gcp.js'
import {daemonSetCidrs} from '../core/masquerade/daemonset.js'
import {XCC_DAEMONSET, XCC_NAMESPACE} from '../core/masquerade/state.js'
import {openKube} from './deps.js'
import {readProject} from './snapshot.js'

export interface LinkPlanRequest extends Omit<LinkRequest, 'project' | 'contexts' | 'from' | 'to'> {
  /** NAME or LOCATION/NAME */
  readonly from: string
  readonly to: string
  readonly project?: string
  readonly kubeconfig?: string
  readonly timeoutMs: number
}

export interface LinkPlanResult {
  readonly project: string
  readonly projectSource: string
  readonly plan: LinkPlan
  readonly skipped: ReadonlyArray<{readonly kind: string; readonly name: string; readonly reason: string}>
  /** the clusters as resolved, and the kube context each was read through */
  readonly from: string
  readonly to: string
  readonly contexts: Readonly<Record<string, string>>
}

/** `NAME` or `LOCATION/NAME` among the project's clusters: exit 2 naming it when unknown, listing the locations when ambiguous */
export function resolveCluster(clusters: readonly GkeCluster[], text: string, flag: string): GkeCluster {
  const [location, name] = text.includes('/') ? (text.split('/', 2) as [string, string]) : [undefined, text]
  const named = clusters.filter((c) => c.name === name && (location === undefined || c.location === location))
  if (named.length === 1) return named[0] as GkeCluster
  if (named.length > 1) {
    throw new XccError(`${flag} ${text}: ${named.length} clusters of the project are named ${name}`, {details: named.map((c) => `${c.location}/${c.name}`), hint: `say which: ${flag} ${named[0]?.location}/${name}`})
  }
  throw new XccError(`${flag} ${text}: no such GKE cluster in the project`, {hint: `clusters: ${clusters.map((c) => `${c.location}/${c.name}`).sort().join(', ') || '(none)'}`})
}

/** the ranges xcc's masquerade DaemonSet keeps in a cluster (its rules are on the nodes, which a snapshot does not read) */
export async function masqueradedBy(kubeconfig: string | undefined, context: string | undefined): Promise<string[] | undefined> {
  if (!context) return undefined
  const daemonSets = await (await openKube(kubeconfig)).open(context).listDaemonSets(XCC_NAMESPACE)
  const ds = daemonSets.find((d) => d.metadata.name === XCC_DAEMONSET)
  return ds ? daemonSetCidrs(ds) : undefined
}

export async function runLinkPlan(request: LinkPlanRequest): Promise<LinkPlanResult> {
  // what needs no API is checked before the project is read
  checkLinkName(request.link)
  if (request.from === request.to) throw new XccError(`--from and --to are both ${request.from}: a link joins two clusters`)
  const read = await readProject({...(request.project ? {project: request.project} : {}), ...(request.kubeconfig ? {kubeconfig: request.kubeconfig} : {}), timeoutMs: request.timeoutMs})
  const from = resolveCluster(read.clusters, request.from, '--from')
  const to = resolveCluster(read.clusters, request.to, '--to')
  const contexts = Object.fromEntries(read.contexts.map((c) => [c.cluster, c.context]))
  const masqueraded = await masqueradedBy(request.kubeconfig, contexts[from.name])
  const plan = planLink(read.model, {...request, from: from.name, to: to.name, project: read.project, contexts, masqueraded: masqueraded ? {[from.name]: masqueraded} : {}})
  return {project: read.project, projectSource: read.projectSource, plan, skipped: read.skipped, from: from.name, to: to.name, contexts}
}
