/**
 * Views of `xcc link list` (a table, one row per link, then what each incomplete link lacks) and
 * `xcc link verify` (the flows the doctor checked, what was chosen for each, the diagnosis of
 * those that fail), and their versioned JSON.
 */
import {describeResult} from '../core/doctor/flows.js'
import type {FoundLink} from '../core/link/inventory.js'
import type {LinkListResult, LinkVerifyResult} from '../core/link/verify-flows.js'
import {safePaint} from './terminal.js'

const address = (l: FoundLink): string => (l.address ? `${l.address.ip}:${l.address.port}${l.address.owned ? '' : ' (GKE\'s)'}` : '-')
const counts = (l: FoundLink): string => Object.entries(l.counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${n} ${k}`).join(', ')
const clusters = (l: FoundLink): string => `${l.from ?? '?'} → ${l.to ?? '?'}`

export function renderLinkList(result: LinkListResult, options: {color: boolean}): string {
  const paint = safePaint(options.color)
  const rows: string[][] = [['NAME', 'MODE', 'CLUSTERS', 'NETWORKS', 'ADDRESS', 'HEALTH', 'DOCTOR', 'RESOURCES']]
  for (const l of result.links) rows.push([l.name, l.mode, clusters(l), l.networks.join(',') || '-', address(l), l.health, l.doctor, counts(l)])
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)))
  const lines = rows.map((r, i) => {
    const text = r.map((cell, j) => (j < r.length - 1 ? cell.padEnd(widths[j] as number) : cell)).join('  ')
    if (i === 0) return paint.bold(text)
    const link = result.links[i - 1] as LinkListResult['links'][number]
    return link.health === 'complete' && link.doctor === 'reachable' ? paint.plain(text) : paint.red(text)
  })
  for (const n of result.notes) lines.push(paint.dim(`Note: ${n}.`))
  if (result.links.length === 0) lines.push(paint.dim(`No link in project ${result.project} (xcc link plan shows what one would take).`))
  for (const l of result.links.filter((x) => x.health === 'incomplete')) {
    lines.push('', paint.red(`${l.name} is incomplete: run xcc link create again to finish it. Missing:`), ...l.missing.map((m) => paint.plain(`  - ${m}`)))
  }
  return `${lines.join('\n')}\n`
}

export function linkListJson(result: LinkListResult): unknown {
  return {schemaVersion: 1, project: result.project, links: result.links, notes: result.notes}
}

export function renderLinkVerify(result: LinkVerifyResult, options: {color: boolean}): string {
  const paint = safePaint(options.color)
  const l = result.link
  const lines = [paint.bold(`Link ${l.name} (${l.mode}, ${clusters(l)}) at ${address(l)}: ${result.live ? 'probed live' : 'checked statically from the APIs'}, ${l.health}.`)]
  for (const n of result.notes) lines.push(paint.dim(`Note: ${n}.`))
  if (result.unverifiable) {
    lines.push(paint.red(`It cannot be verified: ${result.unverifiable}.`))
    for (const m of l.missing) lines.push(paint.plain(`  missing: ${m}`))
    lines.push(paint.plain('Run xcc link create again to finish it.'))
    return `${lines.join('\n')}\n`
  }
  for (const f of result.flows) {
    lines.push(`${f.met ? paint.green('✓') : paint.red('✗')} ${paint.plain(`${f.from} → ${f.to}: ${describeResult(f.result)}`)}`, paint.dim(`    from ${f.chosen}`))
    const d = f.result.diagnosis
    if (!f.met && d) {
      lines.push(paint.red(`    ${d.code}: ${d.summary}`), ...d.evidence.map((e) => paint.plain(`      - ${e}`)), paint.plain('    Fix:'), ...d.fix.map((x) => paint.plain(`      ${x}`)))
    }
  }
  if (l.health === 'incomplete') lines.push(paint.red(`Missing: ${l.missing.join('; ')}`))
  const failed = result.flows.filter((f) => !f.met).length
  lines.push('', failed === 0 ? paint.green(`Every flow (${result.flows.length}) reaches ${address(l)}.`) : paint.red(`${failed} of ${result.flows.length} flows do not reach ${address(l)}.`))
  return `${lines.join('\n')}\n`
}

/** contracts §7's flows ({from, to, expect, met, result: the §2 object}), with the link and what each flow was sent from */
export function linkVerifyJson(result: LinkVerifyResult): unknown {
  return {
    schemaVersion: 1, project: result.project, link: result.link, live: result.live, notes: result.notes,
    ...(result.unverifiable ? {unverifiable: result.unverifiable} : {}),
    flows: result.flows.map((f) => ({from: f.from, to: f.to, expect: f.expect, met: f.met, pool: f.pool, node: f.node, chosen: f.chosen, result: f.result})),
  }
}
