/**
 * `xcc doctor --live --to NAME:PORT`, the pure part: what the DNS probe (templates/probe/probe.sh
 * in dns mode: getent through the pod's own resolv.conf) said, which captured packets are the
 * name's DNS queries and answers (tcpdump prints the DNS header of UDP 53), the DNS steps as
 * the pod's resolver took them, and how the answer compares with the static prediction.
 */
import {candidates} from '../dns/resolve.js'
import type {DnsView} from '../doctor/report.js'
import {formatIp} from '../net/ipv4.js'
import type {ObservedPacket} from './observe.js'
import type {CapturedPacket} from './tcpdump.js'
import type {DnsObservation, ObservationCheck} from './types.js'

export interface DnsProbeAnswer {
  readonly result: DnsObservation['result']
  readonly addresses: readonly string[]
  readonly resolver: DnsObservation['resolver']
}

const list = (text: string | undefined): string[] => (text ? text.split(',').filter((x) => x !== '') : [])

/** The DNS probe's termination message (`xcc-probe result=resolved addresses=… nameserver=… search=… ndots=5`), else its exit code. */
export function parseDnsProbeMessage(message: string | undefined, exitCode: number | undefined): DnsProbeAnswer {
  const text = message ?? ''
  const field = (name: string): string | undefined => new RegExp(`(?:^|\\s)${name}=(\\S*)`).exec(text)?.[1]
  const ndots = Number(field('ndots'))
  const resolver = {nameservers: list(field('nameserver')), search: list(field('search')), ...(field('ndots') && Number.isInteger(ndots) ? {ndots} : {})}
  const said = field('result')
  const addresses = list(field('addresses')).filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a))
  if (said === 'resolved' && addresses.length > 0) return {result: 'resolved', addresses, resolver}
  if (said === 'not-found' || said === 'timeout' || said === 'error') return {result: said, addresses: [], resolver}
  const byCode: Record<number, DnsObservation['result']> = {1: 'timeout', 2: 'not-found'}
  return {result: (exitCode !== undefined ? byCode[exitCode] : undefined) ?? 'error', addresses: [], resolver}
}

export interface DnsHeader {
  readonly id: number
  readonly kind: 'query' | 'reply'
  /** queries: the name asked, lower case, with its final dot */
  readonly qname?: string
  /** replies: NXDomain, ServFail, Refused, …; undefined for NOERROR */
  readonly rcode?: string
  /** replies: the A records */
  readonly addresses: readonly string[]
}

/**
 * tcpdump's DNS text after `a.b.c.d.p > e.f.g.h.q: `:
 *   `40412+ A? backend.default.svc.cluster.local. (51)`         a query (+: recursion desired)
 *   `40412*- 1/0/0 A 10.30.0.20 (67)`                          an answer
 *   `40412 NXDomain*- 0/1/0 (110)`  `40412 ServFail- 0/0/0 (51)`  failures
 */
export function parseDnsHeader(text: string): DnsHeader | undefined {
  const query = /^(\d+)[+%]*\s+(?:\[[^\]]*\]\s+)?([A-Z0-9]+)\?\s+(\S+)/.exec(text)
  if (query) return {id: Number(query[1]), kind: 'query', qname: (query[3] as string).toLowerCase(), addresses: []}
  const reply = /^(\d+)\s*(?:[*\-|$+%]*\s*)?(?:(NXDomain|ServFail|Refused|FormErr|NotImp|NoChange|YXDomain)\S*\s+)?(?:\[[^\]]*\]\s+)?[*\-|$+%]*\s*\d+\/\d+\/\d+/.exec(text)
  if (!reply) return undefined
  const addresses = [...text.matchAll(/\bA (\d+\.\d+\.\d+\.\d+)\b/g)].map((m) => m[1] as string)
  return {id: Number(reply[1]), kind: 'reply', ...(reply[2] ? {rcode: reply[2]} : {}), addresses}
}

/** the text tcpdump printed after the addresses */
const payload = (line: string): string => {
  const m = /\sIP\s+\S+\s+>\s+\S+?:\s+(.*)$/.exec(line)
  return m ? (m[1] as string) : ''
}

export interface DnsExchange {
  /** the name the pod asked for, with its final dot */
  readonly qname: string
  readonly from: string
  readonly server: string
  readonly answer: 'address' | 'NXDOMAIN' | 'SERVFAIL' | 'none'
  readonly addresses: readonly string[]
  /** the reply's tcpdump line, or the query's when nothing answered */
  readonly line: string
}

export interface DnsPackets {
  /** the name's queries (`request`), their answers (`reply`) and ICMP errors, as the capture saw them */
  readonly packets: readonly ObservedPacket[]
  /** each query the capture saw from `client` (the probe's address), with its answer */
  readonly exchanges: readonly DnsExchange[]
}

/** The names the pod's resolver asks for `name` from `namespace` (search path, ndots:5), with their final dots. */
export function askedNames(name: string, namespace: string): string[] {
  return candidates(name, namespace).map((n) => n.toLowerCase())
}

/**
 * The packets of one capture that belong to the name's resolution: queries for any of `names`
 * (the pod's own and the cluster DNS pod's forwarded ones: same name), the replies to those
 * queries (same DNS id, back to the query's port), and ICMP errors about UDP 53.
 */
export function classifyDnsPackets(captured: readonly CapturedPacket[], names: readonly string[], client?: string): DnsPackets {
  const wanted = new Set(names)
  const queries = new Map<string, {qname: string; packet: CapturedPacket}>()
  const packets: ObservedPacket[] = []
  const exchanges: Array<DnsExchange & {key: string}> = []
  const observed = (p: CapturedPacket, role: ObservedPacket['role']): ObservedPacket => ({
    time: p.time, ...(p.iface ? {iface: p.iface} : {}), ...(p.direction ? {direction: p.direction} : {}), role,
    src: formatIp(p.src), ...(p.srcPort === undefined ? {} : {srcPort: p.srcPort}), dst: formatIp(p.dst), ...(p.dstPort === undefined ? {} : {dstPort: p.dstPort}), line: p.line,
  })
  for (const p of captured) {
    if (p.protocol === 'icmp') {
      if (/udp port 53\b|\.53 udp port/.test(p.icmp ?? '')) packets.push(observed(p, 'icmp'))
      continue
    }
    if (p.dstPort !== 53 && p.srcPort !== 53) continue
    const header = parseDnsHeader(payload(p.line))
    if (!header) continue
    if (header.kind === 'query' && p.dstPort === 53 && header.qname && wanted.has(header.qname)) {
      queries.set(`${header.id}/${p.srcPort}`, {qname: header.qname, packet: p})
      packets.push(observed(p, 'request'))
      const from = formatIp(p.src)
      const key = `${header.id}/${p.srcPort}`
      if ((client === undefined || from === client) && !exchanges.some((e) => e.key === key)) {
        exchanges.push({key, qname: header.qname, from, server: `${formatIp(p.dst)}:${p.dstPort}`, answer: 'none', addresses: [], line: p.line})
      }
    } else if (header.kind === 'reply' && p.srcPort === 53) {
      const key = `${header.id}/${p.dstPort}`
      if (!queries.has(key)) continue
      packets.push(observed(p, 'reply'))
      const i = exchanges.findIndex((e) => e.key === key && e.answer === 'none')
      if (i >= 0) {
        const answer = header.rcode === 'NXDomain' ? 'NXDOMAIN' : header.rcode ? 'SERVFAIL' : header.addresses.length > 0 ? 'address' : 'NXDOMAIN'
        exchanges[i] = {...(exchanges[i] as DnsExchange & {key: string}), answer, addresses: header.addresses, line: p.line}
      }
    }
  }
  return {packets, exchanges: exchanges.map(({key: _key, ...e}) => e)}
}

/**
 * getent says "not found" for NXDOMAIN and SERVFAIL alike; the captured answers tell which:
 * SERVFAIL/REFUSED and no NXDOMAIN is a server that could not answer, not a missing name.
 */
export function refineResult(result: DnsObservation['result'], exchanges: readonly DnsExchange[]): DnsObservation['result'] {
  if (result !== 'not-found') return result
  const failed = exchanges.some((e) => e.answer === 'SERVFAIL')
  const missing = exchanges.some((e) => e.answer === 'NXDOMAIN')
  return failed && !missing ? 'servfail' : result
}

/** a live answer in words, for comparisons and evidence */
export function describeDnsResult(o: Pick<DnsObservation, 'name' | 'result' | 'addresses'>): string {
  if (o.result === 'resolved') return `${o.name} → ${o.addresses.join(', ')}`
  if (o.result === 'not-found') return `${o.name}: not found (NXDOMAIN for every name of the search path)`
  if (o.result === 'servfail') return `${o.name}: the cluster DNS answered SERVFAIL (it could not reach the server it forwards to)`
  if (o.result === 'timeout') return `${o.name}: no answer in time`
  return `${o.name}: the DNS probe failed`
}

function describePrediction(view: DnsView): string {
  if (view.outcome === 'resolved') return `${view.name} → ${view.address ?? '?'}`
  if (view.outcome === 'DNS_SERVER_UNREACHABLE') return `${view.name}: no answer (${view.outcome})`
  return `${view.name}: not found (${view.outcome})`
}

/**
 * The live answer against the prediction (design.md habit 5), as an observation check the
 * probe.matches-prediction check reads like any other: undefined when there is nothing to
 * compare (no prediction, the prediction cannot know, the probe failed).
 */
export function compareDns(view: DnsView | undefined, live: DnsObservation): ObservationCheck | undefined {
  if (!view || view.outcome === 'unknown' || live.result === 'error') return undefined
  const agrees = (() => {
    if (view.outcome === 'resolved') return live.result === 'resolved' && view.address !== undefined && live.addresses.includes(view.address)
    if (view.outcome === 'DNS_SERVER_UNREACHABLE') return live.result === 'timeout' || live.result === 'servfail'
    return live.result === 'not-found'
  })()
  const lines = live.captures.flatMap((c) => c.packets.filter((p) => p.role === 'request' || p.role === 'reply').map((p) => p.line)).slice(0, 8)
  return {step: 'START_FROM_GKE_POD', at: `dns ${live.at}`, direction: 'forward', expected: describePrediction(view), observed: describeDnsResult(live), status: agrees ? 'match' : 'mismatch', lines}
}

const STEP_ANSWER = {address: 'address', NXDOMAIN: 'NXDOMAIN', SERVFAIL: 'unreachable', none: 'unreachable'} as const

/** The DNS steps as the pod's resolver took them (the source node's capture), else the probe's answer as one step. */
export function liveDnsView(live: DnsObservation, cluster: string, namespace: string, exchanges: readonly DnsExchange[]): DnsView {
  const nameserver = live.resolver.nameservers[0]
  const how = `getent ahostsv4 in ${live.at} (search ${live.resolver.search.join(' ') || 'none'}, ndots:${live.resolver.ndots ?? 1})`
  const outcome: DnsView['outcome'] = live.result === 'resolved' ? 'resolved' : live.result === 'not-found' ? 'DNS_NAME_NOT_FOUND' : live.result === 'error' ? 'unknown' : 'DNS_SERVER_UNREACHABLE'
  // a query the resolver sent again (a retry) and got the same answer to is one step
  const distinct = exchanges.filter((e, i) => !exchanges.slice(0, i).some((o) => o.qname === e.qname && o.server === e.server && o.answer === e.answer))
  const seen = distinct.map((e) => ({
    query: e.qname, server: e.server, answer: STEP_ANSWER[e.answer],
    ...(e.answer === 'address' && e.addresses[0] ? {address: e.addresses[0]} : {}),
    detail: e.answer === 'none' ? `captured: no answer came back (${how})` : `captured: ${payload(e.line)}`,
  }))
  const steps = seen.length > 0 ? seen : [{
    query: live.name.endsWith('.') ? live.name : `${live.name}.`, server: nameserver ?? 'the pod\'s resolver',
    answer: live.result === 'resolved' ? 'address' as const : live.result === 'not-found' ? 'NXDOMAIN' as const : live.result === 'error' ? 'unknown' as const : 'unreachable' as const,
    ...(live.addresses[0] ? {address: live.addresses[0]} : {}), detail: how,
  }]
  return {
    name: live.name, cluster, namespace, ...(nameserver ? {nameserver} : {}), steps, outcome,
    ...(live.addresses[0] ? {address: live.addresses[0]} : {}),
    ...(outcome === 'resolved' ? {} : {query: `${live.at}${live.src ? ` (${live.src})` : ''} → ${nameserver ?? 'its nameserver'}:53/udp`}),
  }
}
