/**
 * A fast path for the rule shapes that make up almost all of a large kube-proxy dump:
 *
 *   -d 10.0.0.1/32 -p tcp -m comment --comment "ns/svc:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-…
 *   ! -s 10.4.0.0/14 -d 10.0.0.1/32 -p tcp -m comment --comment "…" -m tcp --dport 80 -j KUBE-MARK-MASQ
 *   -m comment --comment "…" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-…
 *   -s 10.4.1.7/32 -m comment --comment "…" -j KUBE-MARK-MASQ
 *   -p tcp -m comment --comment "…" -m tcp -j DNAT --to-destination 10.4.1.7:8080
 *
 * It reads the text after `-A CHAIN` in place, in one pass and without tokens, as a fixed
 * sequence of optional parts separated by single spaces, as iptables-save writes them:
 *
 *   [[!] -s A] [[!] -d A] [-p tcp|udp] [-m comment --comment "…"] [-m tcp|udp [--dport N]]
 *   [-m statistic --mode random --probability P] -j TARGET
 *
 * where TARGET is a user chain, ACCEPT, DROP, RETURN, REJECT [--reject-with X],
 * MASQUERADE [--random|--random-fully] or DNAT --to-destination IP[:PORT]. It accepts only what
 * it fully understands and declines anything else (another option or order, a double blank or
 * a tab, an escaped quote, a value it does not parse, anything the general path would report
 * as an error); the caller then compiles the line with the general path (tokenize +
 * compileRuleArgs). What it compiles equals what the general path compiles
 * (test/core/iptables/fast-path.test.ts compares both on every fixture line, a generated
 * kube-proxy dump, edge cases and randomly damaged lines).
 *
 * Compiled parts that repeat (protocol and --dport matches, verdicts, the jump to one chain,
 * the statistic match of one probability, DNAT port ranges, match arrays made only of those)
 * are shared between rules: nothing mutates a compiled rule, and a 100k-line dump holds tens
 * of thousands of each.
 */
import type {Match, PortRange, Target} from './compiled.js'
import type {RegionMap} from './region-map.js'
import {maskOf} from '../net/ipv4.js'
import {isRejectType} from './compile-targets.js'

/** Per-table state of the fast path. */
export interface FastContext {
  /**
   * What compileTarget makes of `-j <text[from, to)>` when that is a user chain of the table
   * (one shared object per chain), or undefined when it is anything else (the general path
   * then decides)
   */
  jumpTo(text: string, from: number, to: number): Target | undefined
  /** `[statistic match]` by the probability's text */
  readonly statistics: RegionMap<readonly Match[]>
  /** `--dport` matches by protocol * 65536 + port */
  readonly ports: Map<number, Match>
  /** the port ranges of DNAT targets, by port */
  readonly dnatPorts: Map<number, PortRange>
}

/** Where compileCommonRule puts what it compiled (one object for all calls). */
export interface FastRule {
  matches: readonly Match[]
  target: Target
}

const SPACE = 32
const QUOTE = 34
const BACKSLASH = 92
const BANG = 33
const DASH = 45
const ZERO = 48
const NINE = 57
const COLON = 58
const SLASH = 47
const DOT = 46
const LOWER_T = 116
const LOWER_U = 117
const LOWER_C = 99
const LOWER_D = 100
const LOWER_P = 112

const TCP: Match = {kind: 'protocol', negated: false, protocol: 6}
const UDP: Match = {kind: 'protocol', negated: false, protocol: 17}
// `-p tcp -m tcp -j DNAT …` (a KUBE-SEP chain) has nothing else
const ONLY_TCP: readonly Match[] = [TCP]
const ONLY_UDP: readonly Match[] = [UDP]
const ACCEPT: Target = {kind: 'verdict', verdict: 'ACCEPT'}
const DROP: Target = {kind: 'verdict', verdict: 'DROP'}
const REJECT: Target = {kind: 'verdict', verdict: 'REJECT'}
const RETURN: Target = {kind: 'return'}
const MASQUERADE: Target = {kind: 'masquerade', random: false}
const MASQUERADE_RANDOM: Target = {kind: 'masquerade', random: true}
export const NO_MATCHES: readonly Match[] = []

const COMMENT = '-m comment --comment '
const STATISTIC = '-m statistic --mode random --probability '
const TO_DESTINATION = 'DNAT --to-destination '
const REJECT_WITH = 'REJECT --reject-with '

/** What the readers below found besides the index they return (one object, not one per call). */
const found = {address: 0, mask: 0, port: 0}

/**
 * Compiles the rule text `text[from, to)` (the text after `-A CHAIN `, the line's end
 * excluded) into `out` and returns true, or returns false for the general path. `backslashes`:
 * false when the text is known to hold no backslash (quoted comments then need no scan for
 * escapes).
 */
export function compileCommonRule(text: string, from: number, to: number, context: FastContext, out: FastRule, backslashes = true): boolean {
  const target = compile(text, from, to, context, backslashes, out)
  if (target === undefined) return false
  out.target = target
  return true
}

/** The rule's target, its matches in out.matches; undefined for the general path. */
function compile(text: string, from: number, to: number, context: FastContext, backslashes: boolean, out: FastRule): Target | undefined {
  let i = from
  let src: Match | undefined
  let dst: Match | undefined
  let protocol = 0
  let ports: Match | undefined
  let statistic: readonly Match[] | undefined
  let negated = false

  if (text.charCodeAt(i) === BANG) {
    if (text.charCodeAt(i + 1) !== SPACE) return undefined
    negated = true
    i += 2
  }
  if (text.startsWith('-s ', i)) {
    i = readAddress(text, i + 3, to)
    if (i < 0) return undefined
    src = {kind: 'address', field: 'src', negated, base: found.address, mask: found.mask}
    negated = false
    if (text.charCodeAt(i) === BANG) {
      if (text.charCodeAt(i + 1) !== SPACE) return undefined
      negated = true
      i += 2
    }
  }
  if (text.startsWith('-d ', i)) {
    i = readAddress(text, i + 3, to)
    if (i < 0) return undefined
    dst = {kind: 'address', field: 'dst', negated, base: found.address, mask: found.mask}
    negated = false
  }
  if (negated) return undefined
  if (text.startsWith('-p ', i)) {
    protocol = protocolAt(text, i + 3, to)
    if (protocol === 0) return undefined
    i = separator(text, i + 6, to)
    if (i < 0) return undefined
  }
  if (text.startsWith(COMMENT, i)) {
    i = skipQuoted(text, i + COMMENT.length, to, backslashes)
    if (i < 0) return undefined
  }
  // `-m tcp` after `-p tcp`, `-m udp` after `-p udp`
  if (protocol !== 0 && text.startsWith('-m ', i) && protocolAt(text, i + 3, to) === protocol) {
    i = separator(text, i + 6, to)
    if (i < 0) return undefined
    if (text.startsWith('--dport ', i)) {
      i = readPort(text, i + 8, to)
      if (i < 0) return undefined
      i = separator(text, i, to)
      if (i < 0) return undefined
      const key = protocol * 65536 + found.port
      ports = context.ports.get(key)
      if (!ports) {
        ports = {kind: 'ports', negated: false, protocol, field: 'dst', ranges: [{lo: found.port, hi: found.port}]}
        context.ports.set(key, ports)
      }
    }
  }
  if (text.startsWith(STATISTIC, i)) {
    const first = i + STATISTIC.length
    i = readProbability(text, first, to)
    if (i < 0) return undefined
    statistic = statisticMatch(context, text, first, i)
    if (statistic === undefined) return undefined
    i = separator(text, i, to)
    if (i < 0) return undefined
  }
  if (!text.startsWith('-j ', i)) return undefined
  const target = readTarget(text, i + 3, to, context, protocol)
  if (target === undefined) return undefined
  out.matches = collect(src, dst, protocol, ports, statistic)
  return target
}

/** After a value: one space and more text, the index after the space; -1 otherwise. */
function separator(text: string, i: number, to: number): number {
  return i < to - 1 && text.charCodeAt(i) === SPACE && text.charCodeAt(i + 1) !== SPACE ? i + 1 : -1
}

/** 6 for `tcp`, 17 for `udp` followed by a space; 0 otherwise. */
function protocolAt(text: string, i: number, to: number): number {
  if (i + 3 >= to || text.charCodeAt(i + 3) !== SPACE) return 0
  const a = text.charCodeAt(i)
  if (text.charCodeAt(i + 2) !== LOWER_P) return 0
  const b = text.charCodeAt(i + 1)
  if (a === LOWER_T && b === LOWER_C) return 6
  if (a === LOWER_U && b === LOWER_D) return 17
  return 0
}

/**
 * A dotted quad at `i` as parseIp accepts it (1-3 digits, no leading zero, at most 255) into
 * found.address; the index after it, or -1.
 */
function readIp(text: string, i: number, to: number): number {
  let value = 0
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (i >= to || text.charCodeAt(i) !== DOT) return -1
      i++
    }
    const first = i
    let part = 0
    while (i < to) {
      const c = text.charCodeAt(i)
      if (c < ZERO || c > NINE) break
      part = part * 10 + (c - ZERO)
      i++
    }
    const digits = i - first
    if (digits === 0 || digits > 3 || part > 255 || (digits > 1 && text.charCodeAt(first) === ZERO)) return -1
    value = value * 256 + part
  }
  found.address = value
  return i
}

/**
 * `a.b.c.d` or `a.b.c.d/n` and a space (parseAddressMask; a dotted mask is left to the
 * general path) into found.address and found.mask; the index after the space, or -1.
 */
function readAddress(text: string, i: number, to: number): number {
  i = readIp(text, i, to)
  if (i < 0) return -1
  let mask = 0xffffffff
  if (text.charCodeAt(i) === SLASH) {
    i++
    const first = i
    let prefix = 0
    while (i < to) {
      const c = text.charCodeAt(i)
      if (c < ZERO || c > NINE) break
      prefix = prefix * 10 + (c - ZERO)
      i++
    }
    // a leading zero would make the general path read the prefix as octal (libxtables' strtoul base 0)
    if (i === first || i - first > 2 || prefix > 32 || (i - first === 2 && text.charCodeAt(first) === ZERO)) return -1
    mask = maskOf(prefix)
  }
  found.address = (found.address & mask) >>> 0
  found.mask = mask
  return separator(text, i, to)
}

/** A port as parsePort reads it (1-5 digits, at most 65535) into found.port; the index after it, or -1. */
function readPort(text: string, i: number, to: number): number {
  const first = i
  let port = 0
  while (i < to) {
    const c = text.charCodeAt(i)
    if (c < ZERO || c > NINE) break
    port = port * 10 + (c - ZERO)
    i++
  }
  if (i === first || i - first > 5 || port > 65535 || (i - first > 1 && text.charCodeAt(first) === ZERO)) return -1
  found.port = port
  return i
}

/** `"…"` without escapes, then a space: the index after the space, or -1. */
function skipQuoted(text: string, i: number, to: number, backslashes: boolean): number {
  if (text.charCodeAt(i) !== QUOTE) return -1
  const close = text.indexOf('"', i + 1)
  if (close < 0 || close >= to) return -1
  if (backslashes) {
    for (let k = i + 1; k < close; k++) if (text.charCodeAt(k) === BACKSLASH) return -1
  }
  return separator(text, close + 1, to)
}

/** `--probability` as compileStatistic accepts it (/^\d*\.?\d+$/); the index after it, or -1. */
function readProbability(text: string, i: number, to: number): number {
  const first = i
  let dot = -1
  while (i < to) {
    const c = text.charCodeAt(i)
    if (c === DOT) {
      if (dot >= 0) return -1
      dot = i
    } else if (c < ZERO || c > NINE) {
      break
    }
    i++
  }
  if (i === first || dot === i - 1) return -1
  return i
}

/** `[the statistic match]` (shared by the rules of one probability), or undefined above 1 */
function statisticMatch(context: FastContext, text: string, from: number, to: number): readonly Match[] | undefined {
  const cached = context.statistics.get(text, from, to)
  if (cached) return cached
  const probability = text.slice(from, to)
  const p = Number(probability)
  if (p > 1) return undefined
  const certainty = p >= 1 ? 'always' : p <= 0 ? 'never' : 'maybe'
  const only: readonly Match[] = [{kind: 'statistic', description: `random with probability ${probability}`, certainty}]
  context.statistics.set(probability, only)
  return only
}

/**
 * The matches in the general path's order: -s, -d, -p as written, then the modules' matches.
 * An array that holds only shared matches is shared too.
 */
function collect(src: Match | undefined, dst: Match | undefined, protocol: number, ports: Match | undefined, statistic: readonly Match[] | undefined): readonly Match[] {
  const proto = protocol === 0 ? undefined : protocol === 6 ? TCP : UDP
  const count = (src ? 1 : 0) + (dst ? 1 : 0) + (proto ? 1 : 0) + (ports ? 1 : 0) + (statistic ? 1 : 0)
  if (count === 0) return NO_MATCHES
  if (count === 1) {
    if (statistic) return statistic
    if (proto) return protocol === 6 ? ONLY_TCP : ONLY_UDP
  }
  // an array literal has exactly its length (push() onto [] would reserve room for 17); its
  // slots are then overwritten in order
  const matches: Match[] = count === 1 ? [TCP] : count === 2 ? [TCP, TCP] : count === 3 ? [TCP, TCP, TCP] : count === 4 ? [TCP, TCP, TCP, TCP]
    : [TCP, TCP, TCP, TCP, TCP]
  let k = 0
  if (src) matches[k++] = src
  if (dst) matches[k++] = dst
  if (proto) matches[k++] = proto
  if (ports) matches[k++] = ports
  if (statistic) matches[k] = statistic[0] as Match
  return matches
}

/** `TARGET [options]` from `i` to the end of the rule; undefined for the general path. */
function readTarget(text: string, i: number, to: number, context: FastContext, protocol: number): Target | undefined {
  const length = to - i
  if (length <= 0) return undefined
  if (text.startsWith(TO_DESTINATION, i)) return readDnat(text, i + TO_DESTINATION.length, to, context, protocol)
  if (length === 6) {
    if (text.startsWith('ACCEPT', i)) return ACCEPT
    if (text.startsWith('REJECT', i)) return REJECT
    if (text.startsWith('RETURN', i)) return RETURN
  } else if (length === 4) {
    if (text.startsWith('DROP', i)) return DROP
  } else if (length === 10) {
    if (text.startsWith('MASQUERADE', i)) return MASQUERADE
  } else if (text.startsWith(REJECT_WITH, i)) {
    return isPlainValue(text, i + REJECT_WITH.length, to) && isRejectType(text.slice(i + REJECT_WITH.length, to)) ? REJECT : undefined
  } else if (text.startsWith('MASQUERADE --random', i)) {
    const rest = to - i - 'MASQUERADE --random'.length
    return rest === 0 || (rest === 6 && text.startsWith('-fully', to - 6)) ? MASQUERADE_RANDOM : undefined
  }
  // the rest of the line is the name: a blank in it makes it no declared chain (nor does a
  // leading dash: parseChainLine refuses such names)
  return context.jumpTo(text, i, to)
}

/** One value token to the end: printable ASCII without blanks or quotes, not option-like. */
function isPlainValue(text: string, i: number, to: number): boolean {
  if (i >= to) return false
  const c = text.charCodeAt(i)
  if (c === DASH || (c === BANG && to - i === 1)) return false
  for (let k = i; k < to; k++) {
    const code = text.charCodeAt(k)
    if (code <= SPACE || code >= 127 || code === QUOTE) return false
  }
  return true
}

/** `a.b.c.d` or `a.b.c.d:port` to the end (parseNatSpec); other forms go to the general path. */
function readDnat(text: string, i: number, to: number, context: FastContext, protocol: number): Target | undefined {
  i = readIp(text, i, to)
  if (i < 0) return undefined
  const address = found.address
  if (i === to) return {kind: 'dnat', address}
  if (text.charCodeAt(i) !== COLON) return undefined
  // a port needs -p tcp|udp, and port 0 is no NAT port: the general path reports both
  if (protocol === 0) return undefined
  i = readPort(text, i + 1, to)
  if (i !== to || found.port === 0) return undefined
  let ports = context.dnatPorts.get(found.port)
  if (!ports) {
    ports = {lo: found.port, hi: found.port}
    context.dnatPorts.set(found.port, ports)
  }
  return {kind: 'dnat', address, ports}
}
