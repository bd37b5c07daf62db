/**
 * `xcc link delete NAME`: the link's resources found by their marks (names, the description mark;
 * peerings by name) and its record in the clusters (kube-system/xcc-link-<link>, see link-kube.ts),
 * the reverse graph planned (planLinkDelete), shown, confirmed (unless --yes, or stdin is not a
 * terminal), applied, then the masquerade ranges the link added undone and the record removed.
 * Nothing else is touched. A link with nothing left: "nothing to delete", exit 0.
 */
import type {ApplyReport} from '../core/link/apply-report.js'
import type {PlannedChange} from '../core/link/changes.js'
import {checkLinkName} from '../core/link/names.js'
import {planLinkDelete} from '../core/link/plan.js'
import {interruptible} from './interrupt.js'
import {type LinkUi, applyWithProgress, stopIfAborted} from './link-create.js'
import {type AnnotationRecord, type AnnotationUndo, type LinkRecord, readRecord, removeLinkKube} from './link-kube.js'
import {preflightPermissions} from './link-preflight.js'
import {readProject} from './snapshot.js'

export interface LinkDeleteRequest {
  readonly link: string
  readonly project?: string
  readonly kubeconfig?: string
  readonly timeoutMs: number
  readonly dryRun: boolean
  readonly yes: boolean
  readonly stdinTty: boolean
}

export interface LinkDeletePlan {
  readonly link: string
  readonly project: string
  readonly changes: readonly PlannedChange[]
  /** per client cluster, what the link recorded there */
  readonly records: ReadonlyArray<{readonly cluster: string; readonly context: string; readonly masquerade: readonly string[]; readonly annotations: readonly AnnotationRecord[]}>
}

export interface LinkDeleteResult {
  readonly plan: LinkDeletePlan
  readonly dryRun: boolean
  readonly declined?: boolean
  readonly report?: ApplyReport
  /** per record: the ranges taken out of xcc masquerade */
  readonly unmasqueraded: ReadonlyArray<{readonly context: string; readonly cidrs: readonly string[]}>
  /** per recorded Service annotation: put back, or kept as someone changed it */
  readonly annotations: ReadonlyArray<AnnotationUndo & {readonly context: string}>
}

export async function runLinkDelete(request: LinkDeleteRequest, ui: LinkUi, render: (plan: LinkDeletePlan) => string): Promise<LinkDeleteResult> {
  checkLinkName(request.link)
  const read = await readProject({...(request.project ? {project: request.project} : {}), ...(request.kubeconfig ? {kubeconfig: request.kubeconfig} : {}), timeoutMs: request.timeoutMs})
  for (const s of read.skipped) ui.note(`xcc: skipped ${s.kind} ${s.name}: ${s.reason}`)
  const changes = planLinkDelete(read.model, request.link)
  const found: Array<LinkRecord & {clusterName: string}> = []
  for (const c of read.contexts) {
    const record = await readRecord(request.kubeconfig, c.context, request.link)
    if (record) found.push({...record, clusterName: c.cluster})
  }
  const plan: LinkDeletePlan = {link: request.link, project: read.project, changes, records: found.map((r) => ({cluster: r.clusterName, context: r.context, masquerade: r.masquerade, annotations: r.annotations}))}
  if (!ui.json) ui.show(render(plan))
  const empty = changes.length === 0 && found.length === 0
  if (request.dryRun || empty) return {plan, dryRun: request.dryRun, unmasqueraded: [], annotations: []}
  if (changes.length > 0) await preflightPermissions(changes, read.project, request.timeoutMs, (t) => ui.note(t))
  if (!request.yes && request.stdinTty && !(await ui.confirm(`Delete link ${request.link}: remove these resources?`))) {
    ui.note(`xcc: link ${request.link}: not deleted (declined); nothing was changed`)
    return {plan, dryRun: false, declined: true, unmasqueraded: [], annotations: []}
  }
  return interruptible(async (signal) => {
    const report = changes.length > 0 ? await applyWithProgress(changes, read.project, request.timeoutMs, ui, 'delete', signal) : undefined
    const unmasqueraded: Array<{context: string; cidrs: string[]}> = []
    const annotations: Array<AnnotationUndo & {context: string}> = []
    for (const record of found) {
      stopIfAborted(signal, `the Compute resources are deleted, the link's record in ${record.context} is left; run the same xcc link delete again to finish the job`)
      const undone = await removeLinkKube(record, {...(request.kubeconfig ? {kubeconfig: request.kubeconfig} : {}), timeout: `${Math.ceil(request.timeoutMs / 1000)}s`})
      if (record.masquerade.length > 0) unmasqueraded.push({context: record.context, cidrs: undone.cidrs})
      for (const a of undone.annotations) {
        annotations.push({...a, context: record.context})
        if (a.result === 'kept') ui.note(`xcc: kept ${a.key} on Service ${a.namespace}/${a.service} in ${record.context}: it was changed since the link set it`)
      }
    }
    return {plan, dryRun: false, ...(report ? {report} : {}), unmasqueraded, annotations}
  }, 'no new change starts; the running ones finish')
}
