/**
 * What a capture pod printed (templates/probe/capture.sh): the node's `iptables-save -t nat`,
 * its IPv4 routes, then tcpdump's lines (sections as in core/kube/node-log.ts), parsed.
 */
import {type NodeLog, parseNodeLog} from '../kube/node-log.js'
import {type ParsedCapture, parseCapture} from './tcpdump.js'

export interface CaptureLog extends Omit<NodeLog, 'sections'> {
  readonly capture: ParsedCapture
  /** the tcpdump section started (the script got that far) */
  readonly started: boolean
}

export function parseCaptureLog(text: string): CaptureLog {
  const {sections, ...log} = parseNodeLog(text)
  const tcpdump = sections.get('tcpdump')
  return {...log, capture: parseCapture((tcpdump ?? []).join('\n')), started: tcpdump !== undefined}
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
