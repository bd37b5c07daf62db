/**
 * What a capture pod printed (templates/probe/capture.sh): the node's `iptables-save -t nat`,
 * its IPv4 routes, then tcpdump's lines. Split into sections and parsed.
 */
import {type ParsedCapture, parseCapture} from './tcpdump.js'

export interface CaptureLog {
  /** `iptables-save -t nat` of the node, when it printed one */
  readonly natRules?: string
  readonly natError?: string
  /** `ip -4 route show` lines */
  readonly routes: readonly string[]
  readonly capture: ParsedCapture
  /** the script reached its end marker (with tcpdump's exit code) */
  readonly ended?: number
  /** the tcpdump section started (the script got that far) */
  readonly started: boolean
}

const MARKER = /^=== xcc:(iptables-nat|ip-route|tcpdump|end)(?: (\d+))?$/

export function parseCaptureLog(text: string): CaptureLog {
  const sections = new Map<string, string[]>()
  let current: string[] | undefined
  let ended: number | undefined
  for (const line of text.split('\n')) {
    const m = MARKER.exec(line.trimEnd())
    if (m) {
      if (m[1] === 'end') ended = Number(m[2] ?? 0)
      else sections.set(m[1] as string, (current = []))
      continue
    }
    current?.push(line)
  }
  const nat = sections.get('iptables-nat')?.join('\n').trim()
  const natFailed = nat === undefined ? undefined : /xcc: iptables-save failed|command not found|Permission denied|can't initialize/i.test(nat)
  const routes = (sections.get('ip-route') ?? []).map((l) => l.trim()).filter((l) => l && !l.startsWith('xcc:'))
  const tcpdump = sections.get('tcpdump')
  return {
    ...(nat && !natFailed ? {natRules: `${nat}\n`} : {}),
    ...(nat && natFailed ? {natError: nat.split('\n').slice(-3).join(' ')} : {}),
    routes,
    capture: parseCapture((tcpdump ?? []).join('\n')),
    ...(ended === undefined ? {} : {ended}),
    started: tcpdump !== undefined,
  }
}

/** The tcpdump filter of a flow: every address:port the packets may carry, plus ICMP errors. */
export function buildCaptureFilter(variants: ReadonlyArray<{readonly ip: string; readonly port: number}>): string {
  const seen = new Set<string>()
  const terms: string[] = []
  for (const v of variants) {
    const key = `${v.ip}:${v.port}`
    if (seen.has(key)) continue
    seen.add(key)
    terms.push(`(host ${v.ip} and port ${v.port})`)
  }
  // destination unreachable and time exceeded say why a SYN went nowhere
  terms.push('(icmp and (icmp[0] == 3 or icmp[0] == 11))')
  return terms.join(' or ')
}
