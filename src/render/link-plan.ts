/**
 * `xcc link plan` for people (like `terraform plan`: `+ create`, `~ update`, `- delete`, a reason
 * under each, a summary line) and for scripts (the JSON of contracts §9: `plan: [{action, kind,
 * name, reason}]`, the Kubernetes steps in `kube`).
 */
import type {KubeStep} from '../core/link/design.js'
import type {LinkPlan} from '../core/link/plan.js'
import {safePaint} from './terminal.js'

const SIGN = {create: '+', update: '~', delete: '-'} as const

export interface PlanCounts {
  readonly create: number
  readonly update: number
  readonly delete: number
}

export function countPlan(plan: LinkPlan): PlanCounts {
  const count = (a: 'create' | 'update' | 'delete'): number => plan.changes.filter((c) => c.action === a).length
  return {create: count('create') + plan.kube.length, update: count('update'), delete: count('delete')}
}

export const hasChanges = (plan: LinkPlan): boolean => plan.changes.length + plan.kube.length > 0

const title = (kind: string, name: string, parent?: string): string => `${kind} ${parent ? `${parent}/` : ''}${name}`

export function renderLinkPlanText(plan: LinkPlan, options: {color: boolean}): string {
  const p = safePaint(options.color)
  const paint = {create: p.green, update: p.bold, delete: p.red}
  const lines = [p.bold(`Link ${plan.link}: mode ${plan.mode} (${plan.modeReason})`)]
  for (const note of plan.notes) lines.push(p.dim(`  note: ${note}`))
  lines.push('')
  for (const c of plan.changes) {
    lines.push(paint[c.action](`  ${SIGN[c.action]} ${c.action} ${title(c.resource.kind, c.resource.name, c.resource.parent)}`))
    lines.push(p.dim(`      ${c.reason}`))
  }
  for (const k of plan.kube) lines.push(...kubeLines(k, p))
  if (!hasChanges(plan)) lines.push('  No changes: the project already holds what the link wants.')
  const n = countPlan(plan)
  lines.push('', p.bold(`Plan: ${n.create} to create, ${n.update} to update, ${n.delete} to delete.`))
  if (plan.address) lines.push(`The Service will be reachable at ${plan.address.ip ?? `the address of forwarding rule ${plan.address.forwardingRule}`}:${plan.address.port}.`)
  return `${lines.join('\n')}\n`
}

function kubeLines(k: KubeStep, p: ReturnType<typeof safePaint>): string[] {
  return [p.green(`  + ${k.kind} ${k.cluster}: ${k.name}`), p.dim(`      ${k.reason}`), p.dim(`      by: ${k.command}`)]
}

export interface LinkPlanJson {
  readonly schemaVersion: 1
  readonly link: string
  readonly mode: string
  readonly modeReason: string
  readonly project: string
  readonly plan: ReadonlyArray<{readonly action: string; readonly kind: string; readonly name: string; readonly reason: string}>
  readonly kube: readonly KubeStep[]
  readonly summary: PlanCounts
  readonly address?: LinkPlan['address']
  readonly notes: readonly string[]
}

export function linkPlanJson(plan: LinkPlan, project: string): LinkPlanJson {
  return {
    schemaVersion: 1, link: plan.link, mode: plan.mode, modeReason: plan.modeReason, project,
    plan: plan.changes.map((c) => ({action: c.action, kind: c.resource.kind, name: c.resource.parent ? `${c.resource.parent}/${c.resource.name}` : c.resource.name, reason: c.reason})),
    kube: plan.kube, summary: countPlan(plan), ...(plan.address ? {address: plan.address} : {}), notes: plan.notes,
  }
}
