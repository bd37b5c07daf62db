/**
 * `xcc link create`: preflight and plan (as `xcc link plan`), the plan shown, a confirmation
 * (unless --yes, or stdin is not a terminal), the Compute changes applied in dependency order with
 * their progress, the Kubernetes steps (xcc masquerade on the client, recorded for delete), then
 * the verification: the project read again (with the nodes' nat tables) and the static doctor
 * traced from --from's pods to the address. Ctrl-C stops starting changes; what runs finishes; the
 * run ends with exit 130 and a re-run finishes the job.
 */
import {CHECKS} from '../checks/index.js'
import {type DoctorReport, evaluateDoctor} from '../core/doctor/report.js'
import {InterruptedError, XccError} from '../core/errors.js'
import type {ApplyReport} from '../core/link/apply-report.js'
import type {LinkPlan} from '../core/link/plan.js'
import {formatIp} from '../core/net/ipv4.js'
import {DEFAULT_IMAGE} from '../core/probe/manifests.js'
import {resolveFlow} from '../core/trace/endpoints.js'
import {applyProgress} from '../render/link-progress.js'
import {hasChanges} from '../render/link-plan.js'
import type {KubeOutcome} from '../render/link-result.js'
import {cloud, kubeContextNames} from './deps.js'
import {interruptible} from './interrupt.js'
import {applyPlan} from './link-apply.js'
import {addLinkMasquerade, annotateLinkService} from './link-kube.js'
import {preflightPermissions} from './link-preflight.js'
import {type LinkPlanRequest, type LinkPlanResult, runLinkPlan} from './link-plan.js'
import {runSnapshot} from './snapshot.js'

export interface LinkUi {
  /** --json: nothing but the JSON on stdout, no progress */
  readonly json: boolean
  /** listr2 progress (stderr is a terminal) */
  readonly interactive: boolean
  readonly color: boolean
  /** shows the plan (stdout, text mode) */
  show(text: string): void
  /** progress and notes (stderr) */
  note(text: string): void
  /** asks; resolves false when the user declines */
  confirm(question: string): Promise<boolean>
}

export type KubeDone = KubeOutcome

export interface LinkCreateResult {
  readonly planned: LinkPlanResult
  readonly dryRun: boolean
  /** the user answered anything but yes: nothing written */
  readonly declined?: boolean
  readonly report?: ApplyReport
  readonly kube: readonly KubeDone[]
  readonly address?: string
  readonly verify?: DoctorReport
}

/** the Compute changes, with progress; a failure or an interruption ends the run here (exit 3 or 130), saying what was applied */
export async function applyWithProgress(changes: LinkPlan['changes'], project: string, timeoutMs: number, ui: LinkUi, verb: 'create' | 'delete', signal: AbortSignal): Promise<ApplyReport> {
  const writes = await cloud.openWrites({project, timeoutMs})
  const progress = ui.json ? undefined : await applyProgress(changes, {interactive: ui.interactive, stream: process.stderr, color: ui.color})
  const report = await applyPlan(writes.writer, changes, {signal, ...(progress ? {onEvent: progress.onEvent} : {})})
  const aborted = signal.aborted
  await progress?.finish(report)
  const rerun = `run the same xcc link ${verb} again to finish the job`
  if (report.failed.length > 0) {
    const first = report.failed[0]!
    throw new XccError(`${first.key}: ${first.message}`, {
      exitCode: first.exitCode === 4 ? 3 : first.exitCode,
      details: [`applied: ${report.applied.map((a) => `${a.key} (${a.result})`).join(', ') || 'nothing'}`, ...(report.notApplied.length ? [`not applied: ${report.notApplied.join(', ')}`] : [])],
      hint: rerun,
    })
  }
  // interrupted, even once the last change had started: the steps after the apply do not run
  if (report.interrupted || aborted) throw new InterruptedError(`interrupted: ${report.applied.length} of ${changes.length} changes applied, ${report.notApplied.length} not started; ${rerun}`)
  return report
}

/** the address the link serves, read back from the project: the forwarding rule's IP and the port */
function addressOf(plan: LinkPlan, model: Awaited<ReturnType<typeof runSnapshot>>['model']): string | undefined {
  if (!plan.address) return undefined
  const rule = model.forwardingRules.get(plan.address.forwardingRule)
  const ip = rule ? formatIp(rule.ip) : plan.address.ip
  return ip ? `${ip}:${plan.address.port}` : undefined
}

/** the static doctor on the project as it is now, nat tables of the nodes included (xcc masquerade's rules live there) */
export async function verifyLink(plan: LinkPlan, from: string, request: {project: string; kubeconfig?: string; timeoutMs: number}): Promise<{address?: string; verify?: DoctorReport}> {
  const read = await runSnapshot({project: request.project, regions: [], contexts: [], output: '-', timeoutMs: request.timeoutMs, nodeRules: {image: DEFAULT_IMAGE}, ...(request.kubeconfig ? {kubeconfig: request.kubeconfig} : {})})
  const address = addressOf(plan, read.model)
  if (!address) return {}
  const verify = evaluateDoctor(read.model, resolveFlow(read.model, from, address), CHECKS, {contexts: kubeContextNames()})
  return {address, verify}
}

export async function runLinkCreate(request: LinkPlanRequest & {dryRun: boolean; yes: boolean; stdinTty: boolean}, ui: LinkUi, render: (planned: LinkPlanResult) => string): Promise<LinkCreateResult> {
  const planned = await runLinkPlan(request)
  const plan = planned.plan
  for (const s of planned.skipped) ui.note(`xcc: skipped ${s.kind} ${s.name}: ${s.reason}`)
  if (!ui.json) ui.show(render(planned))
  if (request.dryRun) return {planned, dryRun: true, kube: []}
  // before the question and before any write: a missing permission is exit 3 with nothing written
  if (plan.changes.length > 0) await preflightPermissions(plan.changes, planned.project, request.timeoutMs, (t) => ui.note(t))
  if (hasChanges(plan) && !request.yes && request.stdinTty && !(await ui.confirm(`Create link ${plan.link}: apply these changes?`))) {
    ui.note(`xcc: link ${plan.link}: not applied (declined); nothing was written`)
    return {planned, dryRun: false, declined: true, kube: []}
  }
  // one Ctrl-C scope for the apply, the Kubernetes steps and the verification: after an interrupt nothing new starts
  return interruptible(async (signal) => {
    const report = plan.changes.length > 0 ? await applyWithProgress(plan.changes, planned.project, request.timeoutMs, ui, 'create', signal) : undefined
    const kube = await kubeSteps(planned, request, ui, signal)
    stopIfAborted(signal, 'the Compute changes and the Kubernetes steps are done; the verification did not run')
    const verified = await verifyLink(plan, planned.from, {project: planned.project, timeoutMs: request.timeoutMs, ...(request.kubeconfig ? {kubeconfig: request.kubeconfig} : {})})
    return {planned, dryRun: false, ...(report ? {report} : {}), kube, ...verified}
  }, 'no new change starts; the running ones finish')
}

export function stopIfAborted(signal: AbortSignal, what: string): void {
  if (signal.aborted) throw new InterruptedError(`interrupted: ${what}`)
}

async function kubeSteps(planned: LinkPlanResult, request: LinkPlanRequest, ui: LinkUi, signal: AbortSignal): Promise<KubeDone[]> {
  const plan = planned.plan
  const kube: KubeDone[] = []
  for (const step of plan.kube) {
    stopIfAborted(signal, `the Compute changes are done, the Kubernetes step ${step.kind} ${step.cluster} ${step.name} did not run; run the same xcc link create again to finish the job`)
    const context = planned.contexts[step.cluster]
    if (step.kind === 'masquerade' && context) {
      const added = await addLinkMasquerade({...(request.kubeconfig ? {kubeconfig: request.kubeconfig} : {}), context, link: plan.link, cidrs: step.cidrs ?? [], timeout: `${Math.ceil(request.timeoutMs / 1000)}s`})
      kube.push({kind: step.kind, cluster: step.cluster, name: step.name, result: 'applied', detail: `recorded ${added.join(',') || 'nothing new'} in kube-system/xcc-link-${plan.link}`})
    } else if (step.kind === 'annotation' && step.annotation && context) {
      // GKE owns its load balancer's rule: the Service's annotation makes GKE give it global access (ILB-03)
      const a = step.annotation
      const done = await annotateLinkService({...(request.kubeconfig ? {kubeconfig: request.kubeconfig} : {}), context, link: plan.link, namespace: a.namespace, service: a.service, key: a.key, value: a.value})
      kube.push({kind: step.kind, cluster: step.cluster, name: step.name, result: 'applied', detail: `${done.changed ? 'patched' : 'already set'}; recorded ${done.previous === null ? 'no previous value' : `previous value ${JSON.stringify(done.previous)}`} in kube-system/xcc-link-${plan.link}`})
    } else {
      ui.note(`xcc: not applied: ${step.kind} ${step.cluster} ${step.name}; run: ${step.command}`)
      kube.push({kind: step.kind, cluster: step.cluster, name: step.name, result: 'not-applied', detail: step.command})
    }
  }
  return kube
}
