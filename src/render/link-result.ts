/**
 * `xcc link create` and `xcc link delete` for people and scripts: the delete plan (like `terraform
 * destroy`), what the create came to (the address and the doctor's verdict), the JSON of contracts
 * §9, and, for `--dry-run -o yaml|json`, the bodies of the resources the plan would write.
 */
import {JSON_SCHEMA, dump} from 'js-yaml'

import type {DoctorReport} from '../core/doctor/report.js'
import type {ApplyReport} from '../core/link/apply-report.js'
import type {PlannedChange} from '../core/link/changes.js'
import type {LinkPlan} from '../core/link/plan.js'
import {safePaint, safeText} from './terminal.js'

const item = (c: PlannedChange): {action: PlannedChange['action']; kind: string; name: string; reason: string} => ({
  action: c.action, kind: c.resource.kind, name: c.resource.parent ? `${c.resource.parent}/${c.resource.name}` : c.resource.name, reason: c.reason,
})

export interface KubeOutcome {
  readonly kind: 'masquerade' | 'annotation'
  readonly cluster: string
  readonly name: string
  readonly result: 'applied' | 'not-applied' | 'planned'
  readonly detail?: string
}

export function linkCreateJson(input: {plan: LinkPlan; project: string; dryRun: boolean; report?: ApplyReport; kube: readonly KubeOutcome[]; address?: string; verify?: DoctorReport}): Record<string, unknown> {
  const {plan} = input
  const kube = input.dryRun ? plan.kube.map((k) => ({kind: k.kind, cluster: k.cluster, name: k.name, result: 'planned' as const, detail: k.command})) : input.kube
  return {
    schemaVersion: 1, link: plan.link, mode: plan.mode, modeReason: plan.modeReason, project: input.project, dryRun: input.dryRun,
    plan: plan.changes.map(item), kube, applied: input.report?.applied ?? [], address: input.address ?? null, verify: input.verify ?? null, requests: input.report?.requests ?? 0,
  }
}

/** -o yaml|json with --dry-run: each create/update change's resource as the API receives it */
export function renderResourceBodies(plan: LinkPlan, format: 'yaml' | 'json'): string {
  const resources = plan.changes.filter((c) => c.action !== 'delete').map((c) => ({action: c.action, ...c.resource}))
  const doc = {link: plan.link, mode: plan.mode, resources, kube: plan.kube}
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : dump(doc, {schema: JSON_SCHEMA, lineWidth: -1, noRefs: true})
}

/** after the apply: where the Service is and what the doctor says about reaching it */
export function renderCreateOutcome(input: {link: string; from: string; address?: string; verify?: DoctorReport; kube: readonly KubeOutcome[]}, options: {color: boolean}): string {
  const p = safePaint(options.color)
  const lines: string[] = []
  // names come from the APIs: their control characters are shown escaped
  for (const k of input.kube) lines.push(`${k.result === 'applied' ? p.green('applied') : p.red('not applied')}: ${safeText(`${k.kind} ${k.cluster} ${k.name}${k.detail ? ` (${k.detail})` : ''}`)}`)
  if (input.address) lines.push(p.bold(`Link ${input.link}: the Service is at ${input.address}`))
  if (input.verify) {
    const ok = input.verify.verdict === 'reachable'
    const why = input.verify.diagnosis ? ` — ${input.verify.diagnosis.code}: ${input.verify.diagnosis.summary}` : ''
    lines.push(`${ok ? p.green('reachable') : p.red(input.verify.verdict)}: ${safeText(`${input.from}'s pods → ${input.address ?? ''} (xcc doctor on the project as it is now)${why}`)}`)
  }
  return lines.length ? `${lines.join('\n')}\n` : ''
}

/** a Service annotation the link set, and what delete puts back (null: it had none) */
export interface RecordedAnnotation {
  readonly namespace: string
  readonly service: string
  readonly key: string
  readonly value: string
  readonly previous: string | null
}

export interface DeletePlanView {
  readonly link: string
  readonly changes: readonly PlannedChange[]
  readonly records: ReadonlyArray<{readonly cluster: string; readonly context: string; readonly masquerade: readonly string[]; readonly annotations?: readonly RecordedAnnotation[]}>
}

export function renderDeletePlanText(plan: DeletePlanView, options: {color: boolean}): string {
  const p = safePaint(options.color)
  const lines = [p.bold(`Link ${plan.link}: delete`), '']
  if (plan.changes.length === 0 && plan.records.length === 0) return `${[...lines, `  Nothing to delete: no resource of the project carries link ${plan.link}'s mark.`].join('\n')}\n`
  for (const c of plan.changes) lines.push(p.red(`  - delete ${c.resource.kind} ${c.resource.parent ? `${c.resource.parent}/` : ''}${c.resource.name}`))
  for (const r of plan.records) {
    if (r.masquerade.length) lines.push(p.red(`  - masquerade ${r.cluster}: ${r.masquerade.join(',')}`), p.dim(`      by: xcc masquerade remove --context ${r.context} --cidr ${r.masquerade.join(',')} (the ranges the link added)`))
    for (const a of r.annotations ?? []) {
      lines.push(p.red(`  - annotation ${r.cluster}: ${a.namespace}/${a.service} ${a.key}`), p.dim(`      put back: ${a.previous === null ? 'removed (the Service had none)' : `${a.key}=${a.previous}`}, unless changed since`))
    }
    lines.push(p.red(`  - delete ConfigMap ${r.cluster}: kube-system/xcc-link-${plan.link}`))
  }
  const n = plan.changes.length + plan.records.reduce((s, r) => s + 1 + (r.masquerade.length ? 1 : 0) + (r.annotations?.length ?? 0), 0)
  lines.push('', p.bold(`Plan: 0 to create, 0 to update, ${n} to delete.`))
  return `${lines.join('\n')}\n`
}

export function linkDeleteJson(input: {plan: DeletePlanView & {project: string}; dryRun: boolean; report?: ApplyReport; unmasqueraded: ReadonlyArray<{context: string; cidrs: readonly string[]}>; annotations?: ReadonlyArray<RecordedAnnotation & {context: string; result: 'restored' | 'kept'}>}): Record<string, unknown> {
  return {
    schemaVersion: 1, link: input.plan.link, project: input.plan.project, dryRun: input.dryRun, plan: input.plan.changes.map(item), applied: input.report?.applied ?? [],
    masquerade: input.unmasqueraded.map((u) => ({context: u.context, cidrs: [...u.cidrs]})),
    annotations: (input.annotations ?? []).map((a) => ({context: a.context, service: `${a.namespace}/${a.service}`, key: a.key, previous: a.previous, result: a.result})),
    nothingToDelete: input.plan.changes.length === 0 && input.plan.records.length === 0,
  }
}
