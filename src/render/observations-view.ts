/**
 * The live doctor's observations in the doctor view: the packets each capture saw, beside the
 * hop of the trace they belong to, and a section with the probe, the captures, how they
 * compare with the prediction and what was cleaned up.
 *
 * Capture times are shown relative to the probe's start: `+0.000s` is the first packet of the
 * probed connection that any capture saw (normally its SYN leaving the probe pod), since the
 * observations hold no wall-clock start of the probe. tcpdump's own epoch times stay in --json.
 */
import {describePacket, type ObservedPacket} from '../core/probe/observe.js'
import type {Observations} from '../core/probe/types.js'
import type {Line, Segment, Style} from './lines.js'

const seg = (text: string, style: Style = 'plain'): Segment => ({text, style})
const hang = (text: string, style: Style = 'plain'): Segment => ({text, style, hang: true})

/** the probe's start: the earliest packet of the flow any capture saw (seconds since the epoch) */
export function probeStart(observations: Observations): number | undefined {
  let start: number | undefined
  for (const c of observations.captures) for (const p of c.packets) if (Number.isFinite(p.time) && (start === undefined || p.time < start)) start = p.time
  return start
}

/** `+1.025s`: seconds since the probe's start */
export function relativeTime(time: number, start: number | undefined): string {
  return `+${(start === undefined ? 0 : Math.max(0, time - start)).toFixed(3)}s`
}

/** the tcpdump line with its epoch time replaced by the time since the probe's start */
export function tcpdumpLine(p: ObservedPacket, start: number | undefined): string {
  const rest = p.line.replace(/^\d+(?:\.\d+)?\s+/, '')
  return `${relativeTime(p.time, start).padStart(8)} ${rest}`
}

/** observed packets of one host, shown under the first step at that host */
export function observedAt(observations: Observations, host: {readonly kind: string; readonly name: string}, direction: 'forward' | 'return'): Line[] {
  const capture = observations.captures.find((c) => c.host.kind === host.kind && c.host.name === host.name)
  if (!capture) return []
  if (capture.status !== 'ok') return [[seg('        observed ', 'dim'), hang(`capture ${capture.status}${capture.reason ? `: ${capture.reason}` : ''}`, 'warn')]]
  const role = direction === 'forward' ? 'request' : 'reply'
  const packets = capture.packets.filter((p) => p.role === role || (direction === 'return' && (p.role === 'reset' || p.role === 'icmp')))
  if (packets.length === 0) return [[seg('        observed ', 'dim'), hang(`no ${role === 'request' ? 'SYN' : 'SYN-ACK'} seen at ${capture.at}`, 'warn')]]
  const start = probeStart(observations)
  const shown = packets.slice(0, 4).map((p): Line => [seg('        observed ', 'dim'), seg(`${relativeTime(p.time, start).padStart(8)} `, 'dim'), hang(describePacket(p), 'accent')])
  if (packets.length > 4) shown.push([seg(`        … ${packets.length - 4} more (retransmits)`, 'dim')])
  return shown
}

/**
 * One evidence bullet. Evidence that quotes a captured tcpdump line (`… — tcpdump: <line> …`)
 * is drawn as the sentence, then the line on its own (time relative, cut where too wide).
 */
export function evidenceLines(evidence: string, observations: Observations | undefined): Line[] {
  const packet = observations && quotedPacket(evidence, observations)
  if (!observations || !packet) return [[seg('  • ', 'dim'), hang(evidence)]]
  const at = evidence.indexOf(packet.line)
  const before = evidence.slice(0, at).replace(/\s*(?:—|-|,|;)?\s*tcpdump:\s*$/, '')
  const after = evidence.slice(at + packet.line.length)
  return [
    [seg('  • ', 'dim'), hang(`${before}${after}`)],
    [seg('      tcpdump', 'dim'), {text: tcpdumpLine(packet, probeStart(observations)), style: 'code', cut: true}],
  ]
}

function quotedPacket(evidence: string, observations: Observations): ObservedPacket | undefined {
  let found: ObservedPacket | undefined
  for (const c of observations.captures) for (const p of c.packets) if (p.line && evidence.includes(p.line) && (!found || p.line.length > found.line.length)) found = p
  return found
}

/** the name's resolution in the pod: its answer, then the DNS packets each capture saw (times since the first of them) */
function dnsSection(d: NonNullable<Observations['dns']>): Line[] {
  const answer = d.result === 'resolved' ? d.addresses.join(', ') : d.result
  const lines: Line[] = [[seg('  resolve  ', 'dim'), hang(`${d.name} in ${d.at} (${d.mode}${d.src ? `, ${d.src}` : ''}; nameserver ${d.resolver.nameservers.join(', ') || 'none'}, ndots:${d.resolver.ndots ?? 1}): `), seg(answer, d.result === 'resolved' ? 'ok' : 'bad'), ...(d.durationMs === undefined ? [] : [seg(`  ${d.durationMs} ms`, 'dim')])]]
  let start: number | undefined
  for (const c of d.captures) for (const p of c.packets) if (start === undefined || p.time < start) start = p.time
  for (const c of d.captures) {
    lines.push([seg('  dns at   ', 'dim'), hang(c.at, 'accent'), seg(`  ${c.status}`, c.status === 'ok' ? 'ok' : 'warn'), seg(c.status === 'ok' ? `  ${c.packets.length} DNS packets of the name` : c.reason ? `: ${c.reason}` : '', 'dim')])
    for (const packet of c.packets.slice(0, 8)) lines.push([seg('           '), {text: tcpdumpLine(packet, start), style: 'code', cut: true}])
    if (c.packets.length > 8) lines.push([seg(`           … ${c.packets.length - 8} more`, 'dim')])
  }
  return lines
}

export function observationsSection(o: Observations): Line[] {
  const lines: Line[] = [[], [seg('Live probe', 'bold'), seg(`  (run ${o.runId}; capture times since the probe's first packet)`, 'dim')]]
  if (o.dns) lines.push(...dnsSection(o.dns))
  const p = o.probe
  const start = probeStart(o)
  lines.push([seg('  probe    ', 'dim'), hang(`${p.at} (${p.mode}${p.src ? `, ${p.src}` : ''}) → ${p.dst}:${p.dstPort}: `), seg(p.result, p.result === 'connected' ? 'ok' : 'bad'), ...(p.durationMs === undefined ? [] : [seg(`  ${p.durationMs} ms`, 'dim')])])
  if (p.message) lines.push([seg('           '), seg(p.message, 'dim')])
  for (const c of o.captures) {
    lines.push([seg('  capture  ', 'dim'), hang(c.at, 'accent'), seg(`  ${c.status}`, c.status === 'ok' ? 'ok' : 'warn'), seg(c.status === 'ok' ? `  ${c.packets.length} packets of the flow` : c.reason ? `: ${c.reason}` : '', 'dim')])
    for (const packet of c.packets.slice(0, 6)) lines.push([seg('           '), {text: tcpdumpLine(packet, start), style: 'code', cut: true}])
    if (c.packets.length > 6) lines.push([seg(`           … ${c.packets.length - 6} more`, 'dim')])
  }
  if (o.checks && o.checks.length > 0) {
    lines.push([seg('  predicted vs observed', 'bold')])
    for (const check of o.checks) {
      const style: Style = check.status === 'match' ? 'ok' : 'bad'
      lines.push([seg(`  ${check.status === 'match' ? '✓' : '✗'} `, style), hang(`${check.step} ${check.at}  `, 'bold'), seg(check.status === 'match' ? check.observed : `predicted ${check.expected}; observed ${check.observed}`, check.status === 'match' ? 'plain' : 'bad')])
    }
  }
  for (const note of o.notes) lines.push([seg('  note     ', 'dim'), hang(note, 'warn')])
  const c = o.cleanup
  lines.push([seg('  cleanup  ', 'dim'), hang(c.kept.length ? `kept ${c.kept.length} pods (--keep): ${c.kept.join(', ')}` : `removed ${c.deleted.length} pods`), ...(c.failed.length ? [seg(`; could not remove ${c.failed.join(', ')} (run xcc doctor cleanup)`, 'bad')] : [])])
  return lines
}
