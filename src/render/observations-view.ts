/**
 * The live doctor's observations in the doctor view: the packets each capture saw, beside the
 * hop of the trace they belong to, and a section with the probe, the captures, how they
 * compare with the prediction and what was cleaned up.
 */
import {describePacket} from '../core/probe/observe.js'
import type {Observations} from '../core/probe/types.js'
import type {Line, Segment, Style} from './lines.js'

const seg = (text: string, style: Style = 'plain'): Segment => ({text, style})

/** observed packets of one host, shown under the first step at that host */
export function observedAt(observations: Observations, at: string, direction: 'forward' | 'return'): Line[] {
  const capture = observations.captures.find((c) => c.at === at)
  if (!capture) return []
  if (capture.status !== 'ok') return [[seg('        observed ', 'dim'), seg(`capture ${capture.status}${capture.reason ? `: ${capture.reason}` : ''}`, 'warn')]]
  const role = direction === 'forward' ? 'request' : 'reply'
  const packets = capture.packets.filter((p) => p.role === role || (direction === 'return' && (p.role === 'reset' || p.role === 'icmp')))
  if (packets.length === 0) return [[seg('        observed ', 'dim'), seg(`no ${role === 'request' ? 'SYN' : 'SYN-ACK'} seen at ${at}`, 'warn')]]
  const shown = packets.slice(0, 4).map((p): Line => [seg('        observed ', 'dim'), seg(describePacket(p), 'accent')])
  if (packets.length > 4) shown.push([seg(`        … ${packets.length - 4} more (retransmits)`, 'dim')])
  return shown
}

export function observationsSection(o: Observations): Line[] {
  const lines: Line[] = [[], [seg('Live probe', 'bold'), seg(`  (run ${o.runId})`, 'dim')]]
  const p = o.probe
  lines.push([seg('  probe    ', 'dim'), seg(`${p.at} (${p.mode}${p.src ? `, ${p.src}` : ''}) → ${p.dst}:${p.dstPort}: `), seg(p.result, p.result === 'connected' ? 'ok' : 'bad'), ...(p.durationMs === undefined ? [] : [seg(`  ${p.durationMs} ms`, 'dim')])])
  if (p.message) lines.push([seg('           '), seg(p.message, 'dim')])
  for (const c of o.captures) {
    lines.push([seg('  capture  ', 'dim'), seg(c.at, 'accent'), seg(`  ${c.status}`, c.status === 'ok' ? 'ok' : 'warn'), seg(c.status === 'ok' ? `  ${c.packets.length} packets of the flow` : c.reason ? `: ${c.reason}` : '', 'dim')])
    for (const packet of c.packets.slice(0, 6)) lines.push([seg('           '), seg(packet.line, 'code')])
    if (c.packets.length > 6) lines.push([seg(`           … ${c.packets.length - 6} more`, 'dim')])
  }
  if (o.checks && o.checks.length > 0) {
    lines.push([seg('  predicted vs observed', 'bold')])
    for (const check of o.checks) {
      const style: Style = check.status === 'match' ? 'ok' : 'bad'
      lines.push([seg(`  ${check.status === 'match' ? '✓' : '✗'} `, style), seg(`${check.step} ${check.at}  `, 'bold'), seg(check.status === 'match' ? check.observed : `predicted ${check.expected}; observed ${check.observed}`, check.status === 'match' ? 'plain' : 'bad')])
    }
  }
  for (const note of o.notes) lines.push([seg('  note     ', 'dim'), seg(note, 'warn')])
  const c = o.cleanup
  lines.push([seg('  cleanup  ', 'dim'), seg(c.kept.length ? `kept ${c.kept.length} pods (--keep): ${c.kept.join(', ')}` : `removed ${c.deleted.length} pods`), ...(c.failed.length ? [seg(`; could not remove ${c.failed.join(', ')} (run xcc doctor cleanup)`, 'bad')] : [])])
  return lines
}
