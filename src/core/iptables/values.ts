/**
 * Parsers for the values iptables options take: numbers, addresses, port ranges, marks.
 * Each returns undefined on malformed input; the caller turns that into a syntax error.
 *
 * Numbers are read as libxtables reads them (xtables_strtoui: strtoul with base 0), so `0x10`
 * is hex and `010` is octal 8, and `080` is no number at all.
 */
import {maskOf} from '../net/ipv4.js'
import type {Ip} from '../net/ipv4.js'
import type {PortRange} from './compiled.js'
import {SERVICE_PORTS} from './services.js'

/** An unsigned number as strtoul(text, &end, 0) reads the whole of `text`, at most `max`. */
export function parseNumber(text: string, max: number): number | undefined {
  let value: number
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) value = parseInt(text.slice(2), 16)
  else if (/^0[0-7]*$/.test(text)) value = parseInt(text, 8)
  else if (/^[1-9][0-9]*$/.test(text)) value = Number(text)
  else return undefined
  return value <= max ? value : undefined
}

/** `0x4000`, `16384`; an unsigned 32-bit value. */
export function parseUint32(text: string): number | undefined {
  return parseNumber(text, 0xffffffff)
}

/**
 * An address as libxtables' numeric parser reads it: up to four dot-separated numbers (each in
 * base 0, at most 255) with missing trailing ones as zero (`10.1` is 10.1.0.0); else the
 * numeric forms inet_aton takes (`167772161`, `10.65536`), which iptables reaches through its
 * host-name lookup. Undefined for anything else.
 */
export function parseXtIp(text: string): Ip | undefined {
  const parts = text.split('.')
  if (parts.length > 4) return undefined
  const octets = parts.map((part) => parseNumber(part, 255))
  if (octets.every((octet) => octet !== undefined)) {
    let value = 0
    for (let i = 0; i < 4; i++) value = value * 256 + (octets[i] ?? 0)
    return value
  }
  // inet_aton: a.b.c.d, a.b.c (c: 16 bits), a.b (b: 24 bits), a (32 bits)
  const numbers = parts.map((part) => parseNumber(part, 0xffffffff))
  if (numbers.some((n) => n === undefined)) return undefined
  const n = numbers as number[]
  const last = n[n.length - 1] as number
  const lastBits = 32 - 8 * (n.length - 1)
  if (n.slice(0, -1).some((x) => x > 255) || (lastBits < 32 && last >= 2 ** lastBits)) return undefined
  let value = 0
  for (const x of n.slice(0, -1)) value = value * 256 + x
  return value * 2 ** lastBits + last
}

/** A host name as iptables would look it up (resolver syntax: letters, digits, dots, dashes). */
export function isHostName(text: string): boolean {
  return /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(text) && /[A-Za-z]/.test(text)
}

export type AddressSpec = {readonly base: Ip; readonly mask: number} | {readonly hostName: string}

/**
 * `a.b.c.d`, `a.b.c.d/n` or `a.b.c.d/m.m.m.m` (xtables_ipparse_multiple, one item); host bits
 * are cleared, as iptables does. A zero mask makes any address (`0/0`). A host name (iptables
 * resolves it when it loads the rule) comes back as such.
 */
export function parseAddressMask(text: string): AddressSpec | undefined {
  const slash = text.lastIndexOf('/')
  let mask = 0xffffffff
  if (slash >= 0) {
    const maskText = text.slice(slash + 1)
    if (maskText.includes('.')) {
      const parts = maskText.split('.').map((part) => parseNumber(part, 255))
      if (parts.length !== 4 || parts.some((part) => part === undefined)) return undefined
      mask = (parts as number[]).reduce((value, part) => value * 256 + part, 0)
    } else {
      const prefix = parseNumber(maskText, 32)
      if (prefix === undefined) return undefined
      mask = maskOf(prefix)
    }
  }
  if (mask === 0) return {base: 0, mask: 0}
  const addressText = slash < 0 ? text : text.slice(0, slash)
  const address = parseXtIp(addressText)
  if (address === undefined) return isHostName(addressText) ? {hostName: addressText} : undefined
  return {base: (address & mask) >>> 0, mask}
}

export function parsePort(text: string): number | undefined {
  return parseNumber(text, 65535)
}

/** A port number or a service name of /etc/services that xcc knows (services.ts). */
export function parsePortOrService(text: string): number | undefined {
  return parsePort(text) ?? SERVICE_PORTS.get(text)
}

/** A word getservbyname could know: what iptables tries after a port that is no number. */
export function isServiceName(text: string): boolean {
  return /^[A-Za-z][A-Za-z0-9._+-]*$/.test(text)
}

/**
 * `80`, `80:90`, `:90`, `80:`, `http` (tcp/udp/multiport, libxt_tcp's parse_ports): a missing
 * low end is 0, a missing high end 65535. Undefined when malformed or reversed.
 */
export function parsePortRange(text: string): PortRange | undefined {
  const at = text.indexOf(':')
  if (at < 0) {
    const port = parsePortOrService(text)
    return port === undefined ? undefined : {lo: port, hi: port}
  }
  const loText = text.slice(0, at)
  const hiText = text.slice(at + 1)
  const lo = loText === '' ? 0 : parsePortOrService(loText)
  const hi = hiText === '' ? 65535 : parsePortOrService(hiText)
  if (lo === undefined || hi === undefined || lo > hi) return undefined
  return {lo, hi}
}

/** true when a port or range failed only for a service name xcc does not know */
export function namesUnknownService(text: string): boolean {
  return text.split(':').some((part) => part !== '' && parsePortOrService(part) === undefined && isServiceName(part))
}

/** `1024`, `1024-65535` (the NAT targets' --to-ports and the port part of --to-source/--to-destination). */
export function parseNatPorts(text: string): PortRange | undefined {
  const at = text.indexOf('-')
  const lo = parseNumber(at < 0 ? text : text.slice(0, at), 65535)
  const hi = at < 0 ? lo : parseNumber(text.slice(at + 1), 65535)
  if (lo === undefined || hi === undefined || lo < 1 || lo > hi) {
    const service = at < 0 ? SERVICE_PORTS.get(text) : undefined
    return service === undefined ? undefined : {lo: service, hi: service}
  }
  return {lo, hi}
}

/** `value[/mask]`; the mask defaults to all ones. */
export function parseMarkMask(text: string): {value: number; mask: number} | undefined {
  const slash = text.indexOf('/')
  const value = parseUint32(slash < 0 ? text : text.slice(0, slash))
  const mask = slash < 0 ? 0xffffffff : parseUint32(text.slice(slash + 1))
  if (value === undefined || mask === undefined) return undefined
  return {value, mask}
}

/**
 * A NAT target address spec: `ip[-ip][:port[-port]]`; the address is optional for DNAT
 * (`:8080`). `addressRange` is set when two different addresses are given.
 */
export function parseNatSpec(
  text: string,
): {address?: Ip; addressRange?: readonly [Ip, Ip]; ports?: PortRange} | undefined {
  const colon = text.indexOf(':')
  const addressText = colon < 0 ? text : text.slice(0, colon)
  let ports: PortRange | undefined
  if (colon >= 0) {
    ports = parseNatPorts(text.slice(colon + 1))
    if (ports === undefined) return undefined
  }
  if (addressText === '') return colon < 0 ? undefined : {ports}
  const dash = addressText.indexOf('-')
  const first = parseXtIp(dash < 0 ? addressText : addressText.slice(0, dash))
  const last = dash < 0 ? first : parseXtIp(addressText.slice(dash + 1))
  if (first === undefined || last === undefined || last < first) return undefined
  if (first !== last) return {addressRange: [first, last], ports}
  return {address: first, ports}
}
