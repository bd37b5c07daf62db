/**
 * Captured packets → what they mean for the probed connection: the request (SYN), the reply
 * (SYN-ACK), a reset, an ICMP error, or another segment of the flow. The sanity connection
 * attempts to 127.0.0.1 prove that the capture works and are not part of the flow.
 */
import {formatIp, parseIp} from '../net/ipv4.js'
import {SANITY_PORT} from './manifests.js'
import type {CapturedPacket} from './tcpdump.js'

export type PacketRole = 'request' | 'reply' | 'reset' | 'icmp' | 'segment'

export interface ObservedPacket {
  readonly time: number
  readonly iface?: string
  readonly direction?: string
  readonly role: PacketRole
  readonly src: string
  readonly srcPort?: number
  readonly dst: string
  readonly dstPort?: number
  readonly flags?: string
  readonly line: string
}

/** What tells the probe's own connection from any other. */
export interface FlowIdentity {
  /** the probe's fixed source port (before any SNAT) */
  readonly sourcePort: number
  /** destination address:port and every DNAT target (endpoint pod:targetPort, node:nodePort) */
  readonly services: ReadonlyArray<{readonly ip: string; readonly port: number}>
  /**
   * the initial sequence number of the probe's SYN (probeIsn): NAT rewrites addresses and ports
   * (MASQUERADE --random-fully even the port, PROBE-04) but never the sequence number, so it
   * names the connection on every host; without it, the source port and the service do
   */
  readonly isn?: number
}

export interface Classified {
  readonly packets: readonly ObservedPacket[]
  readonly sanity: number
}

function flagText(p: CapturedPacket): string | undefined {
  if (!p.flags) return undefined
  return `${p.flags.syn ? 'S' : ''}${p.flags.fin ? 'F' : ''}${p.flags.rst ? 'R' : ''}${p.flags.ack ? '.' : ''}`
}

const isSanity = (p: CapturedPacket): boolean => (p.dst >>> 24 === 127 && p.dstPort === SANITY_PORT) || (p.src >>> 24 === 127 && p.srcPort === SANITY_PORT)

/**
 * The probe's SYN as it left the probe, in any capture: from the probe's source port to the
 * destination (or a DNAT target of it); its sequence number is the connection's.
 */
export function probeIsn(captures: ReadonlyArray<readonly CapturedPacket[]>, flow: Omit<FlowIdentity, 'isn'>): number | undefined {
  const service = new Set(flow.services.map((x) => `${parseIp(x.ip)}:${x.port}`))
  for (const packets of captures) {
    const syn = packets.find((p) => p.protocol === 'tcp' && p.flags?.syn && !p.flags.ack && p.srcPort === flow.sourcePort && service.has(`${p.dst}:${p.dstPort}`) && p.seq !== undefined)
    if (syn) return syn.seq
  }
  return undefined
}

const tuple = (src: number, srcPort: number | undefined, dst: number, dstPort: number | undefined): string => `${src}:${srcPort}>${dst}:${dstPort}`

/**
 * Keeps the packets of the probe's own connection and says what each is: with its initial sequence
 * number known, the SYN carries it and the SYN-ACK acknowledges it (+1), whatever addresses NAT
 * gave them; other segments and resets follow the address pairs those showed on this host. ICMP
 * errors count when they go back to an address the probe's SYN had here. Another client's packets
 * to the same host and port are never part of it.
 */
export function classifyPackets(packets: readonly CapturedPacket[], flow: FlowIdentity): Classified {
  const service = new Set(flow.services.map((x) => `${parseIp(x.ip)}:${x.port}`))
  const isService = (ip: number, port: number | undefined): boolean => port !== undefined && service.has(`${ip}:${port}`)
  const {isn} = flow
  const next = isn === undefined ? undefined : (isn + 1) % 2 ** 32
  // the connection's address pairs on this host, both ways, learned from its SYNs and SYN-ACKs
  const pairs = new Set<string>()
  const clients = new Set<number>()
  const targets = new Set<string>()
  const ours = (p: CapturedPacket): 'request' | 'reply' | undefined => {
    if (p.protocol !== 'tcp' || !p.flags) return undefined
    if (isn !== undefined) {
      if (p.flags.syn && !p.flags.ack && p.seq === isn) return 'request'
      if (p.flags.syn && p.flags.ack && p.ack === next) return 'reply'
      return undefined
    }
    if (p.flags.syn && !p.flags.ack && p.srcPort === flow.sourcePort && isService(p.dst, p.dstPort)) return 'request'
    if (p.flags.syn && p.flags.ack && p.dstPort === flow.sourcePort && isService(p.src, p.srcPort)) return 'reply'
    return undefined
  }
  for (const p of packets) {
    const kind = ours(p)
    if (!kind) continue
    pairs.add(tuple(p.src, p.srcPort, p.dst, p.dstPort))
    pairs.add(tuple(p.dst, p.dstPort, p.src, p.srcPort))
    clients.add(kind === 'request' ? p.src : p.dst)
    targets.add(formatIp(kind === 'request' ? p.dst : p.src))
  }
  const observed: ObservedPacket[] = []
  let sanity = 0
  for (const p of packets) {
    if (isSanity(p)) {
      sanity += 1
      continue
    }
    const kind = ours(p)
    let role: PacketRole | undefined = kind
    if (!role && p.protocol === 'tcp' && p.flags && pairs.has(tuple(p.src, p.srcPort, p.dst, p.dstPort))) {
      // a reset to the probe's SYN acknowledges it; one from the client side carries seq isn+1
      role = p.flags.rst ? 'reset' : 'segment'
    } else if (!role && p.protocol === 'tcp' && p.flags?.rst && next !== undefined && (p.ack === next || p.seq === next)) {
      role = 'reset'
    } else if (!role && p.protocol === 'icmp' && clients.has(p.dst) && [...targets].some((t) => p.icmp?.includes(t))) {
      role = 'icmp'
    }
    if (!role) continue
    const flags = flagText(p)
    observed.push({
      time: p.time,
      ...(p.iface ? {iface: p.iface} : {}),
      ...(p.direction ? {direction: p.direction} : {}),
      role,
      src: formatIp(p.src),
      ...(p.srcPort === undefined ? {} : {srcPort: p.srcPort}),
      dst: formatIp(p.dst),
      ...(p.dstPort === undefined ? {} : {dstPort: p.dstPort}),
      ...(flags ? {flags} : {}),
      line: p.line,
    })
  }
  return {packets: observed, sanity}
}

/** request/reply packets that arrived at (`In`) or left (`Out`) the host; loopback excluded */
export function packetsOf(packets: readonly ObservedPacket[], role: PacketRole, direction: 'In' | 'Out'): ObservedPacket[] {
  return packets.filter((p) => p.role === role && p.iface !== 'lo' && (p.direction === direction || p.direction === undefined))
}

export function describePacket(p: ObservedPacket): string {
  const ports = (ip: string, port?: number): string => (port === undefined ? ip : `${ip}:${port}`)
  const what = p.role === 'request' ? 'SYN' : p.role === 'reply' ? 'SYN-ACK' : p.role === 'reset' ? 'RST' : p.role === 'icmp' ? 'ICMP' : `segment [${p.flags ?? ''}]`
  const where = p.iface ? ` (${p.iface}${p.direction ? ` ${p.direction}` : ''})` : ''
  return `${what} ${ports(p.src, p.srcPort)} > ${ports(p.dst, p.dstPort)}${where}`
}
