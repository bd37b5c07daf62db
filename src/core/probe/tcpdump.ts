/**
 * Parses the lines `tcpdump -nn -S -tt -l -i any` prints (tcpdump 4.9x, LINUX_SLL2) into packets
 * (-S: absolute sequence numbers, so a SYN's initial sequence number and its SYN-ACK's `ack`
 * are comparable across captures and NAT):
 *
 *   1795252709.330537 eth0  Out IP 10.132.0.10.43210 > 10.193.0.3.80: Flags [S], seq 3822519, win 64240, length 0
 *   1795252709.330548 lo    In  IP 127.0.0.1.80 > 127.0.0.1.43210: Flags [R.], seq 0, ack 2, win 0, length 0
 *   1795252709.309844 lo    In  IP 127.0.0.1.53199 > 127.0.0.1.34999: UDP, length 1
 *   1795252709.4 eth0  In  IP 10.0.0.1 > 10.0.0.2: ICMP host 10.0.0.9 unreachable, length 36
 *
 * Older tcpdump (LINUX_SLL, no interface column) prints `… IP a.p > b.q: …`; the interface and
 * direction are then unknown. Lines that are not packets (banners, counters) are not packets.
 */
import {type Ip, parseIp} from '../net/ipv4.js'

export interface TcpFlags {
  readonly syn: boolean
  readonly ack: boolean
  readonly rst: boolean
  readonly fin: boolean
}

export interface CapturedPacket {
  /** seconds since the epoch, as printed */
  readonly time: number
  /** interface, or undefined when the capture did not print it */
  readonly iface?: string
  readonly direction?: 'In' | 'Out' | 'M' | 'B' | 'P'
  readonly protocol: 'tcp' | 'udp' | 'icmp' | 'other'
  readonly src: Ip
  readonly dst: Ip
  readonly srcPort?: number
  readonly dstPort?: number
  readonly flags?: TcpFlags
  /** TCP: the (first) sequence number and the acknowledgement number, as printed */
  readonly seq?: number
  readonly ack?: number
  /** ICMP: the text after `ICMP ` */
  readonly icmp?: string
  /** the line as tcpdump printed it (evidence) */
  readonly line: string
}

const PACKET = /^(\d+\.\d+)\s+(?:(\S+)\s+(In|Out|M|B|P)\s+)?IP\s+(\S+)\s+>\s+(\S+?):\s+(.*)$/

/** `a.b.c.d.port` or `a.b.c.d` */
function endpoint(text: string): {ip: Ip; port?: number} | undefined {
  const direct = parseIp(text)
  if (direct !== undefined) return {ip: direct}
  const cut = text.lastIndexOf('.')
  if (cut < 0) return undefined
  const ip = parseIp(text.slice(0, cut))
  const port = Number(text.slice(cut + 1))
  if (ip === undefined || !Number.isInteger(port) || port < 0 || port > 65535 || !/^\d+$/.test(text.slice(cut + 1))) return undefined
  return {ip, port}
}

function tcpFlags(text: string): TcpFlags {
  return {syn: text.includes('S'), ack: text.includes('.'), rst: text.includes('R'), fin: text.includes('F')}
}

/** One line → a packet, or undefined when the line is not an IPv4 packet line. */
export function parseTcpdumpLine(line: string): CapturedPacket | undefined {
  const m = PACKET.exec(line.trim())
  if (!m) return undefined
  const [, time, iface, direction, srcText, dstText, rest] = m as unknown as [string, string, string | undefined, CapturedPacket['direction'], string, string, string]
  const src = endpoint(srcText)
  const dst = endpoint(dstText)
  if (!src || !dst) return undefined
  const base = {time: Number(time), ...(iface ? {iface} : {}), ...(direction ? {direction} : {}), src: src.ip, dst: dst.ip, line: line.trim()}
  const flags = /^Flags \[([^\]]*)\]/.exec(rest)
  if (flags && src.port !== undefined && dst.port !== undefined) {
    const seq = /\bseq (\d+)/.exec(rest)?.[1]
    const ack = /\back (\d+)/.exec(rest)?.[1]
    return {...base, protocol: 'tcp', srcPort: src.port, dstPort: dst.port, flags: tcpFlags(flags[1] as string), ...(seq ? {seq: Number(seq)} : {}), ...(ack ? {ack: Number(ack)} : {})}
  }
  if (/^UDP\b/.test(rest) && src.port !== undefined && dst.port !== undefined) return {...base, protocol: 'udp', srcPort: src.port, dstPort: dst.port}
  if (rest.startsWith('ICMP ')) return {...base, protocol: 'icmp', icmp: rest.slice(5)}
  return {...base, protocol: 'other', ...(src.port !== undefined ? {srcPort: src.port} : {}), ...(dst.port !== undefined ? {dstPort: dst.port} : {})}
}

export interface ParsedCapture {
  readonly packets: readonly CapturedPacket[]
  /** tcpdump said it was listening (its banner on stderr, captured with the log) */
  readonly listening: boolean
  /** lines that look like tcpdump errors (permission denied, syntax error, not found) */
  readonly errors: readonly string[]
}

const ERROR_LINE = /^(tcpdump: .*(?:error|denied|not permitted|No such device|syntax|can't|cannot|Operation not permitted).*|.*tcpdump: (?:not found|command not found).*|sh: .*tcpdump.*not found.*)$/i

/** Parses a whole capture log. */
export function parseCapture(text: string): ParsedCapture {
  const packets: CapturedPacket[] = []
  const errors: string[] = []
  let listening = false
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd()
    if (!line) continue
    if (/^listening on /.test(line) || /^tcpdump: listening on /.test(line)) {
      listening = true
      continue
    }
    const packet = parseTcpdumpLine(line)
    if (packet) packets.push(packet)
    else if (ERROR_LINE.test(line)) errors.push(line)
  }
  return {packets, listening, errors}
}
