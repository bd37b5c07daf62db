/**
 * IPv4 addresses and CIDR blocks as unsigned 32-bit integers.
 * Everything here is exact integer arithmetic; no string compares on the hot path.
 */

export type Ip = number

export interface Cidr {
  /** network address (host bits zero) */
  readonly base: Ip
  readonly prefix: number
}

/**
 * Parses dotted-quad IPv4 (four decimal octets of 1–3 digits, no leading zero, each at most 255);
 * returns undefined when the text is not one. A character loop: a large topology parses hundreds
 * of thousands of addresses.
 */
export function parseIp(text: string): Ip | undefined {
  const length = text.length
  if (length < 7 || length > 15) return undefined
  let value = 0
  let octet = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      // a leading zero is only the octet 0 itself
      if (digits === 1 && octet === 0) return undefined
      octet = octet * 10 + (c - 48)
      if (++digits > 3 || octet > 255) return undefined
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet
      octet = 0
      digits = 0
      dots += 1
    } else {
      return undefined
    }
  }
  if (dots !== 3 || digits === 0) return undefined
  return value * 256 + octet
}

export function formatIp(ip: Ip): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
}

export function sizeOf(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix)
}

export function lastIp(cidr: Cidr): Ip {
  return cidr.base + sizeOf(cidr) - 1
}

export type CidrParse = {ok: true; cidr: Cidr} | {ok: false; reason: string}

/**
 * Parses `a.b.c.d/n`. Host bits must be zero (GCP and the ip-masq-agent reject them, SNAT-04).
 * With `allowBareIp`, `a.b.c.d` means `a.b.c.d/32` (as gcloud accepts for firewall ranges).
 */
export function parseCidr(text: string, options: {allowBareIp?: boolean} = {}): CidrParse {
  const slash = text.indexOf('/')
  if (slash < 0) {
    const ip = parseIp(text)
    if (ip !== undefined && options.allowBareIp) return {ok: true, cidr: {base: ip, prefix: 32}}
    return {ok: false, reason: ip === undefined ? 'not an IPv4 CIDR (expected a.b.c.d/n)' : 'missing prefix length (expected a.b.c.d/n)'}
  }
  const ip = parseIp(text.slice(0, slash))
  const prefixText = text.slice(slash + 1)
  if (ip === undefined) return {ok: false, reason: 'not an IPv4 CIDR (expected a.b.c.d/n)'}
  if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
    return {ok: false, reason: 'prefix length must be 0..32'}
  }
  const prefix = Number(prefixText)
  const base = (ip & maskOf(prefix)) >>> 0
  if (base !== ip) {
    return {ok: false, reason: `host bits are set (the network address is ${formatIp(base)}/${prefix})`}
  }
  return {ok: true, cidr: {base, prefix}}
}

/** Parses a CIDR the caller already validated; throws on bad input (a bug, not a user error). */
export function cidr(text: string): Cidr {
  const parsed = parseCidr(text, {allowBareIp: true})
  if (!parsed.ok) throw new Error(`invalid CIDR literal ${text}: ${parsed.reason}`)
  return parsed.cidr
}

export function ip(text: string): Ip {
  const parsed = parseIp(text)
  if (parsed === undefined) throw new Error(`invalid IPv4 literal ${text}`)
  return parsed
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`
}

/** 169.254.0.0/16 (RFC 3927): never routed, never masqueraded by the ip-masq-agent unless masqLinkLocal (SNAT-06) */
export const LINK_LOCAL: Cidr = {base: 0xa9fe0000, prefix: 16}

export function sameCidr(a: Cidr, b: Cidr): boolean {
  return a.base === b.base && a.prefix === b.prefix
}

export function cidrContainsIp(c: Cidr, address: Ip): boolean {
  return ((address & maskOf(c.prefix)) >>> 0) === c.base
}

/** true when `inner` lies entirely inside `outer` */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContainsIp(outer, inner.base)
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.prefix <= b.prefix ? cidrContainsIp(a, b.base) : cidrContainsIp(b, a.base)
}



/** `address + n` within the 32-bit space (used for "podCidr network + 10"). */
export function addIp(address: Ip, n: number): Ip {
  return (address + n) >>> 0
}

/**
 * `from` minus every block of `remove`, as the smallest list of CIDRs in address order.
 * Used to express "masquerade X" in a non-masquerade list that holds a block containing X.
 */
export function subtractCidrs(from: Cidr, remove: readonly Cidr[]): Cidr[] {
  let pieces: Cidr[] = [from]
  for (const hole of remove) {
    const next: Cidr[] = []
    for (const piece of pieces) {
      if (!cidrsOverlap(piece, hole)) next.push(piece)
      else if (cidrContains(hole, piece)) continue
      else next.push(...splitAround(piece, hole))
    }
    pieces = next
  }
  return pieces.sort((a, b) => a.base - b.base)
}

function splitAround(piece: Cidr, hole: Cidr): Cidr[] {
  // piece strictly contains hole: halve the piece until the half is the hole.
  const out: Cidr[] = []
  let current = piece
  while (current.prefix < hole.prefix) {
    const prefix = current.prefix + 1
    const low: Cidr = {base: current.base, prefix}
    const high: Cidr = {base: (current.base + sizeOf(low)) >>> 0, prefix}
    if (cidrContains(low, hole)) {
      out.push(high)
      current = low
    } else {
      out.push(low)
      current = high
    }
  }
  return out
}
