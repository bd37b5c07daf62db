/**
 * Parsers for the values iptables options take: addresses, port ranges, marks.
 * Each returns undefined on malformed input; the caller turns that into a syntax error.
 */
import {maskOf, parseIp} from '../net/ipv4.js'
import type {Ip} from '../net/ipv4.js'
import type {PortRange} from './compiled.js'

/** `a.b.c.d`, `a.b.c.d/n` or `a.b.c.d/m.m.m.m`; host bits are cleared, as iptables does. */
export function parseAddressMask(text: string): {base: Ip; mask: number} | undefined {
  const slash = text.indexOf('/')
  const address = parseIp(slash < 0 ? text : text.slice(0, slash))
  if (address === undefined) return undefined
  let mask = 0xffffffff
  if (slash >= 0) {
    const maskText = text.slice(slash + 1)
    if (/^\d{1,2}$/.test(maskText)) {
      const prefix = Number(maskText)
      if (prefix > 32) return undefined
      mask = maskOf(prefix)
    } else {
      const dotted = parseIp(maskText)
      if (dotted === undefined) return undefined
      mask = dotted
    }
  }
  return {base: (address & mask) >>> 0, mask}
}

export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined
  const port = Number(text)
  return port <= 65535 ? port : undefined
}

/** `80`, `80:90`, `:90`, `80:` (tcp/udp/multiport use `:`, NAT targets use `-`). */
export function parsePortRange(text: string, separator: ':' | '-'): PortRange | undefined {
  const at = text.indexOf(separator)
  if (at < 0) {
    const port = parsePort(text)
    return port === undefined ? undefined : {lo: port, hi: port}
  }
  const loText = text.slice(0, at)
  const hiText = text.slice(at + 1)
  const lo = loText === '' && separator === ':' ? 0 : parsePort(loText)
  const hi = hiText === '' && separator === ':' ? 65535 : parsePort(hiText)
  if (lo === undefined || hi === undefined || lo > hi) return undefined
  return {lo, hi}
}

/** `0x4000`, `16384`; an unsigned 32-bit value. */
export function parseUint32(text: string): number | undefined {
  if (!/^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(text)) return undefined
  const value = Number(text)
  return value <= 0xffffffff ? value : undefined
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
    ports = parsePortRange(text.slice(colon + 1), '-')
    if (ports === undefined) return undefined
  }
  if (addressText === '') return colon < 0 ? undefined : {ports}
  const dash = addressText.indexOf('-')
  const first = parseIp(dash < 0 ? addressText : addressText.slice(0, dash))
  const last = dash < 0 ? first : parseIp(addressText.slice(dash + 1))
  if (first === undefined || last === undefined || last < first) return undefined
  if (first !== last) return {addressRange: [first, last], ports}
  return {address: first, ports}
}
