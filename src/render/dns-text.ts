/**
 * Human views of `xcc dns`: the plan as a diff of the objects it changes (`--dry-run`, the
 * default `-o diff`), the manifests as YAML (`-o yaml`), the result of a run, and `list`'s table
 * of links and records. JSON output is in dns-json.ts.
 */
import {JSON_SCHEMA, dump} from 'js-yaml'

import type {DnsApplied} from '../core/dns/apply.js'
import type {DnsListing} from '../core/dns/list.js'
import {type DnsChange, type DnsPlan, PENDING_ADDRESS, orderedChanges} from '../core/dns/plan.js'
import {shellCommand} from '../core/shell.js'
import {lineDiff} from './line-diff.js'
import {manifestOf, project} from './masquerade-text.js'
import {safePaint, safeText} from './terminal.js'

function yaml(object: unknown): string {
  return dump(object, {schema: JSON_SCHEMA, lineWidth: -1, noRefs: true, sortKeys: true})
}

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`
const title = (c: DnsChange): string => `${c.kind} ${c.namespace}/${c.name}`

function header(plan: DnsPlan): string[] {
  const t = plan.target
  const lines = [`Context ${plan.context}: ${plan.provider} (${plan.why}).`]
  if (plan.verb === 'link') {
    lines.push(`Zone ${t.zone}: the Services of context ${t.context}${plan.services && plan.services !== 'all' ? ` named with --service (${plan.services.join(', ')})` : ' with an internal load balancer'}.`)
    for (const r of plan.records?.records ?? []) lines.push(`  ${r.name} → ${r.address} (${r.service})`)
    if ((plan.records?.records.length ?? 0) === 0) lines.push('  (no Service of that cluster has an internal load-balancer address: the zone answers NXDOMAIN)')
    for (const s of plan.records?.skipped ?? []) lines.push(`  ${s.service}: not served (${s.why})`)
  } else lines.push(`Zone ${t.zone}: unlink.`)
  if (plan.warning) lines.push(`Warning: ${plan.warning}`)
  return lines
}

export function renderDnsPlanDiff(plan: DnsPlan, options: {color: boolean}): string {
  const paint = safePaint(options.color)
  const lines = header(plan).map((l) => paint.plain(l))
  const changes = orderedChanges(plan)
  if (changes.length === 0) {
    lines.push(paint.plain(plan.verb === 'link' ? 'No change: the link is in place with these records.' : `No change: context ${plan.context} has no link for ${plan.target.zone}.`))
    return `${lines.join('\n')}\n`
  }
  for (const c of changes) {
    lines.push('', paint.bold(`${c.action} ${title(c)}`))
    // the live side cut down to the fields xcc writes: server defaults would show as removals
    const before = c.before ? yaml(c.action !== 'delete' && c.after ? project(manifestOf(c.before), manifestOf(c.after), '') : {kind: c.kind, metadata: manifestOf(c.before).metadata}) : ''
    const after = c.after && c.action !== 'delete' ? yaml(manifestOf(c.after)) : ''
    lines.push(paint.dim(`--- ${c.before ? 'live' : '(none)'}`), paint.dim(`+++ ${c.action === 'delete' ? '(deleted)' : `after xcc dns ${plan.verb}`}`))
    for (const d of lineDiff(before, after)) {
      if (d.op === '+') lines.push(paint.green(`+ ${d.text}`))
      else if (d.op === '-') lines.push(paint.red(`- ${d.text}`))
      else lines.push(paint.plain(`  ${d.text}`))
    }
  }
  if (plan.verb === 'link' && !plan.address) lines.push('', paint.dim(`(${PENDING_ADDRESS} stands for the ClusterIP the API server gives the responder's Service; the real run writes that address)`))
  return `${lines.join('\n')}\n`
}

/** the desired objects as a YAML stream, in the order they are applied (deleted ones as comments) */
export function renderDnsPlanYaml(plan: DnsPlan): string {
  const docs = orderedChanges(plan).map((c) => (c.after && c.action !== 'delete' ? yaml(manifestOf(c.after)) : `# ${title(c)}: delete\n`))
  return docs.length === 0 ? '# nothing to change\n' : docs.join('---\n')
}

export function renderDnsApplied(plan: DnsPlan, applied: DnsApplied): string {
  const lines: string[] = []
  for (const w of plan.warning ? [plan.warning] : []) lines.push(`warning: ${w}`)
  for (const c of applied.changes) {
    lines.push(`${c.action === 'delete' ? 'deleted' : c.action === 'create' ? 'created' : 'updated'} ${c.kind} ${c.namespace}/${c.name}`)
    if (c.warning) lines.push(`warning: ${c.warning}`)
  }
  const t = plan.target
  if (applied.changes.length === 0) lines.push(plan.verb === 'link' ? `No change: ${t.zone} is linked in context ${plan.context} with these records.` : `No change: context ${plan.context} has no link for ${t.zone}.`)
  if (plan.verb === 'link') {
    lines.push(`Pods of context ${plan.context} resolve <service>.<namespace>.${t.zone} through the responder at ${applied.address} (${applied.responder ? `${applied.responder.detail}; ` : ''}${count(plan.records?.records.length ?? 0, 'record')}):`)
    for (const r of plan.records?.records ?? []) lines.push(`  ${r.name} → ${r.address}`)
    lines.push(`The cluster's DNS and the responder pick up a change within about a minute. Check the records: ${shellCommand(['xcc', 'dns', 'list', '--context', plan.context])}`)
  } else if (applied.changes.length > 0) lines.push(`Context ${plan.context} no longer resolves names under ${t.zone}; its DNS configuration is as it was before the link.`)
  return `${safeText(lines.join('\n'))}\n`
}

export function renderDnsListing(listing: DnsListing, options: {color: boolean}): string {
  const paint = safePaint(options.color)
  const lines = [paint.plain(`Context ${listing.context}: ${listing.provider}, ${listing.links.length === 0 ? 'no xcc dns links' : count(listing.links.length, 'link')}${listing.address ? `; responder at ${listing.address}` : ''}${listing.responder ? ` (${listing.responder.ready} of ${listing.responder.replicas} pods ready)` : ''}.`)]
  if (listing.links.length > 0 && (!listing.responder || listing.responder.ready === 0)) lines.push(paint.red(listing.responder ? 'RESPONDER DOWN: no responder pod is ready, so no name of these zones resolves' : 'RESPONDER MISSING: the Deployment kube-system/xcc-dns-responder does not exist; run xcc dns link again'))
  for (const l of listing.links) {
    const stub = l.stub === 'ok' ? `the DNS sends it to ${l.stubTargets.join(' ')}` : l.stub === 'missing' ? 'STUB DOMAIN MISSING: the DNS does not send it to the responder' : `STUB DOMAIN POINTS ELSEWHERE: ${l.stubTargets.join(' ')}`
    lines.push('', paint.bold(`${l.zone}`) + paint.plain(` (context ${l.context ?? '?'}, ${l.services === 'all' ? 'every Service with an internal load balancer' : `--service ${l.services.join(',')}`}): `) + (l.stub === 'ok' ? paint.plain(stub) : paint.red(stub)))
    if (l.error) lines.push(paint.red(`  ${l.error}`))
    const rows = [['NAME', 'SERVED', 'NOW', 'STATE'], ...l.records.map((r) => [r.name, r.served ?? '-', r.current ?? '-', r.state === 'stale' ? 'STALE' : r.state === 'current' ? 'current' : r.state.toUpperCase()])]
    if (l.records.length === 0) continue
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)))
    for (const [i, r] of rows.entries()) {
      const text = `  ${r.map((cell, j) => (j < 3 ? cell.padEnd(widths[j] as number) : cell)).join('  ')}`
      lines.push(i === 0 ? paint.bold(text) : r[3] === 'current' ? paint.plain(text) : paint.red(text))
    }
  }
  if (listing.drift) lines.push('', paint.red(`Drift: some records or stub domains do not match (exit 1). A stale or missing record is refreshed by running xcc dns link again.`))
  else if (listing.links.length > 0) lines.push('', paint.plain('Every record matches its cluster.'))
  return `${lines.join('\n')}\n`
}
