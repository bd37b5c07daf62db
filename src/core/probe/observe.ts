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

/** The addresses the probed connection may carry. */
export interface FlowIdentity {
  /** the probe's fixed source port (before any SNAT) */
  readonly sourcePort: number
  /** destination address:port and every DNAT target (endpoint pod:targetPort, node:nodePort) */
  readonly services: ReadonlyArray<{readonly ip: string; readonly port: number}>
}

export interface Classified {
  readonly packets: readonly ObservedPacket[]
  readonly sanity: number
}

function flagText(p: CapturedPacket): string | undefined {
  if (!p.flags) return undefined
  return `${p.flags.syn ? 'S' : ''}${p.flags.fin ? 'F' : ''}${p.flags.rst ? 'R' : ''}${p.flags.ack ? '.' : ''}`
}

export function classifyPackets(packets: readonly CapturedPacket[], flow: FlowIdentity): Classified {
  const service = new Set(flow.services.map((s) => `${parseIp(s.ip)}:${s.port}`))
  const isService = (ip: number, port: number | undefined): boolean => port !== undefined && service.has(`${ip}:${port}`)
  const observed: ObservedPacket[] = []
  let sanity = 0
  for (const p of packets) {
    if ((p.dst >>> 24 === 127 && p.dstPort === SANITY_PORT) || (p.src >>> 24 === 127 && p.srcPort === SANITY_PORT)) {
      sanity += 1
      continue
    }
    const toService = isService(p.dst, p.dstPort) || (p.srcPort === flow.sourcePort && p.protocol === 'tcp')
    const fromService = isService(p.src, p.srcPort) || (p.dstPort === flow.sourcePort && p.protocol === 'tcp')
    let role: PacketRole | undefined
    if (p.protocol === 'icmp') role = 'icmp'
    else if (p.protocol === 'tcp' && p.flags) {
      if (p.flags.rst && (toService || fromService)) role = 'reset'
      else if (p.flags.syn && !p.flags.ack && toService) role = 'request'
      else if (p.flags.syn && p.flags.ack && fromService) role = 'reply'
      else if (toService || fromService) role = 'segment'
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
