/**
 * The doctor report as a view: lines of styled segments. Both the plain-text renderer (pipes,
 * CI, golden files) and the ink renderer (terminals) draw exactly this.
 */
import type {DoctorReport} from '../core/doctor/report.js'
import type {Observations} from '../core/probe/types.js'
import type {Step} from '../core/trace/types.js'
import type {Line, Segment, Style} from './lines.js'
import {evidenceLines, observationsSection, observedAt} from './observations-view.js'

const seg = (text: string, style: Style = 'plain'): Segment => ({text, style})
/** a segment that wrapped lines continue under (a hanging indent) */
const hang = (text: string, style: Style = 'plain'): Segment => ({text, style, hang: true})

/** a command to paste, after `$ `: never wrapped nor cut, so that it copies as the one line it is */
function commandLines(command: string): Line[] {
  const [first, ...rest] = command.split('\n')
  return [[seg('    $ ', 'dim'), {text: first ?? '', style: 'code', verbatim: true}], ...rest.map((l): Line => [seg('      '), {text: l, style: 'code', verbatim: true}])]
}
const STATUS: Record<string, {mark: string; style: Style}> = {
  pass: {mark: '✓', style: 'ok'}, fail: {mark: '✗', style: 'bad'}, warn: {mark: '!', style: 'warn'}, skip: {mark: '-', style: 'dim'}, error: {mark: '✗', style: 'bad'},
}

function packetLine(p: Step['packet']): string {
  return `${p.src}:${p.srcPort} → ${p.dst}:${p.dstPort} ${p.protocol}`
}

/**
 * One step. A DROP, or an ABORT of a path that did not work, is marked ✗; an ABORT under a
 * reachable verdict (the live probe connected where xcc could not trace further) is only where
 * the prediction stops, marked `…`: a working connection is never shown under a red failure.
 */
function stepLines(step: Step, index: number, reachable: boolean): Line[] {
  const stopped = step.step === 'ABORT' && reachable
  const failing = step.step === 'DROP' || (step.step === 'ABORT' && !reachable)
  const head: Segment[] = [
    seg(failing ? ' ✗' : stopped ? ' …' : '  ', failing ? 'bad' : stopped ? 'dim' : 'plain'),
    seg(String(index).padStart(3), 'dim'),
    seg('  '),
    hang(step.step.padEnd(30), failing ? 'bad' : stopped ? 'dim' : 'bold'),
    seg(step.at, 'accent'),
  ]
  if (step.cause) head.push(seg(`  ${step.cause}`, failing ? 'bad' : 'dim'))
  const lines: Line[] = [head]
  if (step.nat) {
    lines.push([seg('        NAT  ', 'dim'), hang(packetLine(step.nat.before)), seg('  ⇒  ', 'dim'), seg(packetLine(step.nat.after), 'bold'), ...(step.nat.randomPort ? [seg('  (source port randomised)', 'dim')] : [])])
  }
  lines.push([seg('        '), seg(step.detail, failing ? 'bad' : 'plain')])
  for (const rule of step.rules ?? []) lines.push([seg('        rule ', 'dim'), hang(`${rule.source}, line ${rule.line}: `, 'dim'), seg(`-A ${rule.chain} ${rule.rule}`, 'code')])
  if (step.warning) lines.push([seg('        ! ', 'warn'), hang(step.warning, 'warn')])
  return lines
}

function verdictText(report: DoctorReport): string {
  const where = report.return.some((s) => s.step === 'DROP' || s.step === 'ABORT') ? ' (return path: the request arrives, the reply is lost)' : report.forward.some((s) => s.step === 'DROP') ? ' (forward path)' : ''
  if (report.verdict === 'ambiguous' && report.alternatives) {
    const failing = report.alternatives.filter((a) => a.verdict !== 'reachable').length
    return `AMBIGUOUS (${failing} of ${report.alternatives.length} alternative paths fail)`
  }
  return `${report.verdict.toUpperCase()}${report.verdict === 'unreachable' ? where : ''}`
}

const ANSWER: Record<string, {mark: string; style: Style}> = {
  address: {mark: '✓', style: 'ok'}, NXDOMAIN: {mark: '-', style: 'dim'}, unknown: {mark: '?', style: 'warn'}, unreachable: {mark: '✗', style: 'bad'},
}

/** `--to NAME:PORT`: the queries the pod's resolver makes, in order, before the path */
function dnsLines(dns: NonNullable<DoctorReport['dns']>): Line[] {
  const lines: Line[] = [[], [seg('Name ', 'bold'), hang(dns.name, 'accent'), seg(`  as a pod of ${dns.cluster} in namespace ${dns.namespace} resolves it (search path, ndots:5${dns.nameserver ? `, nameserver ${dns.nameserver}` : ''})`, 'dim')]]
  for (const s of dns.steps) {
    const a = ANSWER[s.answer] as {mark: string; style: Style}
    lines.push([seg(` ${a.mark}  `, a.style), hang(s.query, 'bold'), seg(`  ${s.answer === 'address' ? s.address ?? '' : s.answer}`, a.style), seg(`  from ${s.server}`, 'dim')])
    lines.push([seg('        '), seg(s.detail)])
  }
  lines.push([seg('    ⇒ ', 'dim'), seg(dns.address !== undefined ? `${dns.name} is ${dns.address}` : dns.outcome, dns.address !== undefined ? 'ok' : 'bad')])
  return lines
}

export function buildDoctorView(report: DoctorReport): Line[] {
  const lines: Line[] = []
  const p = report.flow.packet
  lines.push([seg('xcc doctor  ', 'bold'), hang(report.flow.from, 'accent'), seg(' → '), seg(report.flow.to, 'accent'), seg(`   ${p.protocol} ${p.src}:${p.srcPort} → ${p.dst}:${p.dstPort}`, 'dim')])
  if (report.dns) lines.push(...dnsLines(report.dns))
  lines.push([])
  lines.push([seg(report.dns?.query ? 'Forward path of the DNS query  ' : 'Forward path', 'bold'), ...(report.dns?.query ? [seg(report.dns.query, 'dim')] : [])])
  const observations = (report as DoctorReport & {observations?: Observations}).observations
  // the packets a capture saw, under the first step at that host
  const withObserved = (steps: readonly Step[], direction: 'forward' | 'return', offset: number): void => {
    steps.forEach((s, i) => {
      lines.push(...stepLines(s, offset + i + 1, report.verdict === 'reachable'))
      const previous = steps[i - 1]?.host
      const newHost = !previous || previous.kind !== s.host.kind || previous.name !== s.host.name
      if (observations && newHost && (s.host.kind === 'node' || s.host.kind === 'instance')) lines.push(...observedAt(observations, s.host, direction))
    })
  }
  withObserved(report.forward, 'forward', 0)
  if (report.return.length > 0) {
    lines.push([])
    lines.push([seg('Return path', 'bold'), seg('  (the reply, with conntrack reversing every NAT on the way)', 'dim')])
    withObserved(report.return, 'return', report.forward.length)
  }
  if (report.alternatives) {
    lines.push([])
    lines.push([seg(`This flow has ${report.alternatives.length} alternative paths (ECMP routes, load-balancer backends, service endpoints): `, 'dim'), seg(report.alternatives.map((a, i) => `#${i + 1} ${a.verdict}`).join(', '), 'dim'), seg('; shown above: the first that fails, else the first.', 'dim')])
  }
  if (observations) lines.push(...observationsSection(observations))
  lines.push([])
  lines.push([seg('Verdict     ', 'bold'), hang(verdictText(report), report.verdict === 'reachable' ? 'ok' : 'bad')])
  const d = report.diagnosis
  if (d) {
    lines.push([])
    lines.push([seg('Root cause  ', 'bold'), hang(d.code, 'bad')])
    lines.push([seg('  '), seg(d.summary)])
    if (d.evidence.length > 0) {
      lines.push([])
      lines.push([seg('Evidence', 'bold')])
      for (const e of d.evidence) lines.push(...evidenceLines(e, observations))
    }
    if (d.fixes.length > 0) {
      lines.push([])
      lines.push([seg('Fix', 'bold')])
      d.fixes.forEach((f, i) => {
        lines.push([seg(i === 0 ? '  ' : '  or: ', 'dim'), hang(f.summary)])
        for (const c of f.commands) lines.push(...commandLines(c))
      })
    }
  }
  lines.push([])
  const counts = ['fail', 'warn', 'pass', 'skip', 'error'].map((status) => [status, report.findings.filter((f) => f.status === status).length] as const).filter(([, n]) => n > 0)
  lines.push([seg(`Checks (${report.findings.length})  `, 'bold'), seg(counts.map(([status, n]) => `${status} ${n}`).join(' · '), 'dim')])
  for (const f of report.findings) {
    const s = STATUS[f.status] ?? {mark: '?', style: 'plain' as Style}
    lines.push([seg(`  ${s.mark} `, s.style), seg(f.check.padEnd(34), f.status === 'pass' || f.status === 'skip' ? 'dim' : 'bold'), hang(f.summary, f.status === 'skip' ? 'dim' : 'plain')])
  }
  lines.push([])
  lines.push([seg('Docs for each check: docs/checks.md. JSON: add --json.', 'dim')])
  return lines
}
