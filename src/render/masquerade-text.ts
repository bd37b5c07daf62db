/**
 * Human views of `xcc masquerade`: the plan as a diff of the objects it changes, the manifests
 * as YAML for GitOps (`--dry-run -o yaml`), the result of a run, and the per-node table of
 * `list`. JSON output is the result objects themselves.
 */
import {JSON_SCHEMA, dump} from 'js-yaml'

import type {AppliedChange} from '../core/masquerade/apply.js'
import type {MasqueradeListing} from '../core/masquerade/list.js'
import type {MasqueradePlan, ObjectChange} from '../core/masquerade/plan.js'
import {lineDiff} from './line-diff.js'
import {safePaint, safeText} from './terminal.js'
import {shellCommand} from '../core/shell.js'

const SERVER_FIELDS = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink', 'ownerReferences', 'deletionTimestamp', 'deletionGracePeriodSeconds']

/** an object as one writes it in a manifest: no status, no server-managed metadata */
export function manifestOf(object: object): Record<string, unknown> {
  const copy = structuredClone(object) as Record<string, unknown> & {metadata?: Record<string, unknown>}
  delete copy.status
  if (copy.metadata) for (const f of SERVER_FIELDS) delete copy.metadata[f]
  return copy
}

/** `before` cut down to the fields `after` has (server defaults would otherwise show as removals); maps are kept whole */
export function project(before: unknown, after: unknown, path: string): unknown {
  if (/^(metadata\.(labels|annotations)|data)$/.test(path)) return before
  if (Array.isArray(before) && Array.isArray(after)) return before.map((b, i) => project(b, after[i], `${path}[]`))
  if (before && after && typeof before === 'object' && typeof after === 'object' && !Array.isArray(before)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(before as Record<string, unknown>)) {
      if (k in (after as Record<string, unknown>)) out[k] = project(v, (after as Record<string, unknown>)[k], path ? `${path}.${k}` : k)
    }
    return out
  }
  return before
}

/** a deleted object in a diff: what identifies it, not every server default */
function deletedView(object: object): Record<string, unknown> {
  const m = manifestOf(object) as {apiVersion?: string; kind?: string; metadata?: Record<string, unknown>}
  return {apiVersion: m.apiVersion, kind: m.kind, metadata: m.metadata}
}

/** the script embedded in a container's command (templates/masquerade) shown as one line, so a diff shows what changed around it */
function collapseScripts(value: unknown, key = ''): unknown {
  if (key === 'command' && Array.isArray(value)) {
    return value.map((part) => (typeof part === 'string' && part.split('\n').length > 5 ? `<sh script: ${part.split('\n').length} lines, ${part.length} bytes>` : part))
  }
  if (Array.isArray(value)) return value.map((v) => collapseScripts(v))
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, collapseScripts(v, k)]))
  return value
}

function yaml(object: unknown, sortKeys = false): string {
  return dump(object, {schema: JSON_SCHEMA, lineWidth: -1, noRefs: true, sortKeys})
}

function changeTitle(c: ObjectChange): string {
  return `${c.kind} ${c.namespace}/${c.name}`
}

export function renderPlanDiff(plan: MasqueradePlan, options: {color: boolean; verb: 'add' | 'remove'}): string {
  const paint = safePaint(options.color)
  const lines: string[] = [paint.plain(`Context ${plan.context}: ${plan.mode} (${plan.why}).`)]
  for (const c of plan.alreadyMasqueraded) lines.push(paint.plain(`  ${c}: already masqueraded by the ip-masq-agent's config; nothing to change for it.`))
  const changes = plan.changes.filter((c) => c.action !== 'none')
  if (changes.length === 0) {
    lines.push(paint.plain(`No change: ${plan.cidrs.length ? `xcc already masquerades ${plan.cidrs.join(',')}` : 'xcc masquerades nothing here'}.`))
    return `${lines.join('\n')}\n`
  }
  for (const c of changes) {
    lines.push('', paint.bold(`${c.action} ${changeTitle(c)}`))
    // both sides with sorted keys: the API server's order is not xcc's
    const before = c.before ? yaml(collapseScripts(c.after ? project(manifestOf(c.before), manifestOf(c.after), '') : deletedView(c.before)), true) : ''
    const after = c.after ? yaml(collapseScripts(manifestOf(c.after)), true) : ''
    lines.push(paint.dim(`--- ${c.before ? 'live' : '(none)'}`), paint.dim(`+++ ${c.after ? `after xcc masquerade ${options.verb}` : '(deleted)'}`))
    for (const d of lineDiff(before, after)) {
      if (d.op === '+') lines.push(paint.green(`+ ${d.text}`))
      else if (d.op === '-') lines.push(paint.red(`- ${d.text}`))
      else lines.push(paint.plain(`  ${d.text}`))
    }
  }
  return `${lines.join('\n')}\n`
}

/** the desired objects as a YAML stream (deleted ones as comments) */
export function renderPlanYaml(plan: MasqueradePlan): string {
  const docs = plan.changes.map((c) => (c.after && c.action !== 'delete' ? yaml(manifestOf(c.after)) : `# ${changeTitle(c)}: ${c.action === 'delete' ? 'delete' : 'absent'}\n`))
  return docs.length === 0 ? '# nothing to change\n' : docs.join('---\n')
}

export function renderApplied(plan: MasqueradePlan, applied: readonly AppliedChange[], options: {verb: 'add' | 'remove'}): string {
  const lines: string[] = []
  for (const c of plan.alreadyMasqueraded) lines.push(`${c}: already masqueraded by the ip-masq-agent's config; nothing to change for it.`)
  if (applied.length === 0) lines.push(`No change in context ${plan.context}: ${plan.cidrs.length ? `xcc masquerades ${plan.cidrs.join(',')}` : 'xcc masquerades nothing here'}.`)
  for (const a of applied) {
    lines.push(`${a.action === 'delete' ? 'deleted' : a.action === 'create' ? 'created' : 'updated'} ${a.kind} ${a.namespace}/${a.name}${a.detail ? `: ${a.detail}` : ''}`)
    if (a.warning) lines.push(`warning: ${a.warning}`)
  }
  if (applied.length > 0) {
    lines.push(plan.cidrs.length ? `xcc now masquerades ${plan.cidrs.join(',')} in context ${plan.context} (${plan.mode}).` : `xcc masquerades nothing in context ${plan.context} any more.`)
    lines.push(`Check every node: ${shellCommand(['xcc', 'masquerade', 'list', '--context', plan.context])}`)
  }
  if (options.verb === 'add' && plan.mode === 'ip-masq-agent' && applied.length > 0) lines.push('The agent reads the ConfigMap at its next resync; list shows when every node has it.')
  return `${safeText(lines.join('\n'))}\n`
}

export function renderListing(listing: MasqueradeListing, options: {color: boolean}): string {
  const paint = safePaint(options.color)
  const lines = [paint.plain(`Context ${listing.context}: xcc masquerades ${listing.cidrs.length ? listing.cidrs.join(',') : 'nothing'}${listing.managedBy.length ? ` (${listing.managedBy.join(' and ')})` : ''}.`)]
  if (listing.cidrs.length === 0) return `${lines.join('\n')}\n`
  const rows: string[][] = [['NODE', 'CIDR', 'DECISION', 'DECIDED BY']]
  for (const n of listing.nodes) {
    for (const c of n.cidrs) {
      const decided = c.rule ? `${c.rule.chain} line ${c.rule.line}: ${c.rule.text}` : c.detail
      rows.push([n.node, c.cidr, c.decision === 'masquerade' ? 'masquerade' : c.decision === 'pod-ip' ? 'POD IP KEPT' : c.decision.toUpperCase(), decided])
    }
  }
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)))
  for (const [i, r] of rows.entries()) {
    const text = r.map((cell, j) => (j < 3 ? cell.padEnd(widths[j] as number) : cell)).join('  ')
    lines.push(i === 0 ? paint.bold(text) : r[2] === 'masquerade' ? paint.plain(text) : paint.red(text))
  }
  for (const n of listing.nodes) {
    if (n.error) lines.push(paint.red(`node ${n.node}: its rules could not be read: ${n.error}`))
    if (listing.managedBy.includes('daemonset') && !n.daemonPod) lines.push(paint.red(`node ${n.node}: no xcc-masquerade pod runs there`))
  }
  lines.push(listing.drift ? paint.red('Drift: some nodes do not masquerade every range (exit 1).') : paint.plain('Every node masquerades every range.'))
  if (listing.leftovers) lines.push(paint.red(`xcc could not remove the pods of this run: ${listing.leftovers.pods.join(', ')} (${listing.leftovers.why}); remove them with: ${listing.leftovers.command}`))
  return `${lines.join('\n')}\n`
}
