/**
 * A fast path for the rule shapes that make up almost all of a large kube-proxy dump:
 *
 *   -d 10.0.0.1/32 -p tcp -m comment --comment "ns/svc:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-…
 *   ! -s 10.4.0.0/14 -d 10.0.0.1/32 -p tcp -m comment --comment "…" -m tcp --dport 80 -j KUBE-MARK-MASQ
 *   -m comment --comment "…" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-…
 *   -s 10.4.1.7/32 -m comment --comment "…" -j KUBE-MARK-MASQ
 *   -p tcp -m comment --comment "…" -m tcp -j DNAT --to-destination 10.4.1.7:8080
 *
 * It reads the line in one pass without building tokens, in a fixed order of optional parts:
 * `[!] -s`, `[!] -d`, `-p tcp|udp`, `-m comment --comment`, `-m tcp|udp [--dport N]`,
 * `-m statistic --mode random --probability P`, `-j TARGET`. It only accepts what it fully
 * understands and returns undefined for anything else (another option, another order, an escaped
 * quote, a value it does not parse, anything the general path would report as an error), and the
 * caller then compiles the line with the general path (tokenize + compileRuleArgs). What it
 * returns is exactly what the general path compiles (test/core/iptables/fast-rule.test.ts
 * compares both on every fixture line and a generated kube-proxy dump).
 *
 * Compiled parts that repeat (protocol matches, verdicts, jumps to a chain, statistic matches of
 * one probability) are shared between rules: they are never mutated, and a 100k-line dump holds
 * tens of thousands of each.
 */
import type {Match, PortRange, Target} from './compiled.js'
import type {RuleContext} from './compile-rule.js'
import {isResolvedBeforeChains} from './compile-targets.js'
import {maskOf} from '../net/ipv4.js'

/** Per-table state of the fast path: the general path's context and the shared compiled parts. */
export interface FastContext {
  readonly rule: RuleContext
  readonly jumps: Map<string, Target>
  readonly statistics: Map<string, Match>
}

export function fastContext(rule: RuleContext): FastContext {
  return {rule, jumps: new Map(), statistics: new Map()}
}

export interface FastRule {
  readonly matches: readonly Match[]
  readonly target: Target
}

const SPACE = 32
const TAB = 9
const QUOTE = 34
const BACKSLASH = 92
const BANG = 33
const DASH = 45
const ZERO = 48
const NINE = 57
const COLON = 58
const SLASH = 47
const DOT = 46

const TCP: Match = {kind: 'protocol', negated: false, protocol: 6}
const UDP: Match = {kind: 'protocol', negated: false, protocol: 17}
const ACCEPT: Target = {kind: 'verdict', verdict: 'ACCEPT'}
const DROP: Target = {kind: 'verdict', verdict: 'DROP'}
const REJECT: Target = {kind: 'verdict', verdict: 'REJECT'}
const RETURN: Target = {kind: 'return'}
const MASQUERADE: Target = {kind: 'masquerade', random: false}
const MASQUERADE_RANDOM: Target = {kind: 'masquerade', random: true}
export const NO_MATCHES: readonly Match[] = []

// The scanner's state: module-level rather than an object per line (this runs 100k times).
let text = ''
let n = 0
/** start and end of the token read last */
let start = 0
let end = 0
/** the value parseIpAt / parseAddressAt read */
let address = 0
let mask = 0

/** Reads the next token into start/end; false at the end of the line or on a token with a quote. */
function next(): boolean {
  let i = end
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c !== SPACE && c !== TAB) break
    i++
  }
  if (i >= n) return false
  start = i
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === SPACE || c === TAB) break
    if (c === QUOTE) return false
    i++
  }
  end = i
  return true
}

/** true when the current token is exactly `literal` */
function is(literal: string): boolean {
  return end - start === literal.length && text.startsWith(literal, start)
}

/** true when nothing but blanks is left */
function atEnd(): boolean {
  for (let i = end; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c !== SPACE && c !== TAB) return false
  }
  return true
}

/** A plain value token: one the tokenizer classifies as a value (no leading `-`, not `!`). */
function nextValue(): boolean {
  if (!next()) return false
  const c = text.charCodeAt(start)
  return c !== DASH && c !== BANG
}

/** Skips the value of --comment: a quoted string without escapes, or a plain token. */
function skipComment(): boolean {
  let i = end
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c !== SPACE && c !== TAB) break
    i++
  }
  if (i >= n) return false
  if (text.charCodeAt(i) !== QUOTE) return nextValue()
  start = i
  i++
  for (;;) {
    if (i >= n) return false
    const c = text.charCodeAt(i)
    if (c === QUOTE) break
    if (c === BACKSLASH) return false
    i++
  }
  i++
  // the token ends at the closing quote (`"a"b` is one token: the general path handles it)
  if (i < n) {
    const c = text.charCodeAt(i)
    if (c !== SPACE && c !== TAB) return false
  }
  end = i
  return true
}

/**
 * Reads a dotted quad at `i` (what parseIp accepts: 1-3 digits, no leading zero, at most 255)
 * into `address`; returns the index after it, or -1.
 */
function parseIpAt(i: number, limit: number): number {
  let value = 0
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (i >= limit || text.charCodeAt(i) !== DOT) return -1
      i++
    }
    const first = i
    let part = 0
    while (i < limit) {
      const c = text.charCodeAt(i)
      if (c < ZERO || c > NINE) break
      part = part * 10 + (c - ZERO)
      i++
    }
    const digits = i - first
    if (digits === 0 || digits > 3 || part > 255) return -1
    if (digits > 1 && text.charCodeAt(first) === ZERO) return -1
    value = value * 256 + part
  }
  address = value
  return i
}

/** The current token as `a.b.c.d` or `a.b.c.d/n` (parseAddressMask) into address/mask. */
function parseAddressToken(): boolean {
  let i = parseIpAt(start, end)
  if (i < 0) return false
  mask = 0xffffffff
  if (i < end) {
    if (text.charCodeAt(i) !== SLASH) return false
    i++
    const digits = end - i
    // a dotted mask (a.b.c.d/255.255.0.0) is left to the general path
    if (digits < 1 || digits > 2) return false
    let prefix = 0
    for (; i < end; i++) {
      const c = text.charCodeAt(i)
      if (c < ZERO || c > NINE) return false
      prefix = prefix * 10 + (c - ZERO)
    }
    if (prefix > 32) return false
    mask = maskOf(prefix)
  }
  address = (address & mask) >>> 0
  return true
}

/** A port as parsePort reads it (1-5 digits, at most 65535) from i to limit; -1 otherwise. */
function portAt(i: number, limit: number): number {
  const digits = limit - i
  if (digits < 1 || digits > 5) return -1
  let port = 0
  for (; i < limit; i++) {
    const c = text.charCodeAt(i)
    if (c < ZERO || c > NINE) return -1
    port = port * 10 + (c - ZERO)
  }
  return port <= 65535 ? port : -1
}

/** `--probability` as compileStatistic accepts it: /^\d*\.?\d+$/ and at most 1 */
function isProbability(from: number, to: number): boolean {
  let dot = false
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c === DOT) {
      if (dot || i === to - 1) return false
      dot = true
    } else if (c < ZERO || c > NINE) {
      return false
    }
  }
  return to > from
}

/** The matches and target of `args` (the text after `-A CHAIN`), or undefined for the general path. */
export function compileCommonRule(args: string, context: FastContext): FastRule | undefined {
  text = args
  n = args.length
  start = 0
  end = 0
  try {
    return compile(context)
  } finally {
    text = ''
  }
}

function compile(context: FastContext): FastRule | undefined {
  let src: Match | undefined
  let dst: Match | undefined
  let protocol: Match | undefined
  let ports: Match | undefined
  let statistic: Match | undefined
  // the next part allowed: 0 -s, 1 -d, 2 -p, 3 -m comment, 4 -m tcp/udp, 5 -m statistic, 6 -j
  let stage = 0
  if (!next()) return undefined
  for (;;) {
    let negated = false
    if (is('!')) {
      negated = true
      if (!next()) return undefined
    }
    if (is('-s') || is('-d')) {
      const field = text.charCodeAt(start + 1) === 115 /* s */ ? 'src' : 'dst'
      if (stage > (field === 'src' ? 0 : 1)) return undefined
      stage = field === 'src' ? 1 : 2
      if (!nextValue() || !parseAddressToken()) return undefined
      const match: Match = {kind: 'address', field, negated, base: address, mask}
      if (field === 'src') src = match
      else dst = match
    } else if (negated) {
      return undefined
    } else if (is('-p')) {
      if (stage > 2 || !nextValue()) return undefined
      stage = 3
      if (is('tcp')) protocol = TCP
      else if (is('udp')) protocol = UDP
      else return undefined
    } else if (is('-m')) {
      if (!nextValue()) return undefined
      if (is('comment')) {
        if (stage > 3 || !next() || !is('--comment') || !skipComment()) return undefined
        stage = 4
      } else if (is('tcp') || is('udp')) {
        // only the module of the rule's own -p (`-p tcp -m tcp`)
        const number = is('tcp') ? 6 : 17
        if (stage > 4 || protocol === undefined || (protocol === TCP ? 6 : 17) !== number) return undefined
        stage = 5
        if (!next()) return undefined
        if (is('--dport')) {
          if (!nextValue()) return undefined
          const port = portAt(start, end)
          if (port < 0) return undefined
          const range: PortRange = {lo: port, hi: port}
          ports = {kind: 'ports', negated: false, protocol: number, field: 'dst', ranges: [range]}
          if (!next()) return undefined
        }
        continue
      } else if (is('statistic')) {
        if (stage > 5 || !next() || !is('--mode') || !nextValue() || !is('random') || !next() || !is('--probability') || !nextValue()) {
          return undefined
        }
        stage = 6
        if (!isProbability(start, end)) return undefined
        statistic = statisticMatch(context, text.slice(start, end))
        if (statistic === undefined) return undefined
      } else {
        return undefined
      }
    } else if (is('-j')) {
      const target = compileTarget(context)
      if (target === undefined) return undefined
      return {matches: collect(src, dst, protocol, ports, statistic), target}
    } else {
      return undefined
    }
    if (!next()) return undefined
  }
}

// collects a rule's matches before they are copied out at their exact length
const scratch: Match[] = []

/** The matches in the general path's order: -s, -d, -p as written, then the modules' matches. */
function collect(src: Match | undefined, dst: Match | undefined, protocol: Match | undefined, ports: Match | undefined, statistic: Match | undefined): readonly Match[] {
  if (src) scratch.push(src)
  if (dst) scratch.push(dst)
  if (protocol) scratch.push(protocol)
  if (ports) scratch.push(ports)
  if (statistic) scratch.push(statistic)
  if (scratch.length === 0) return NO_MATCHES
  // slice() allocates exactly the length; push() onto a fresh [] would reserve room for 17
  const matches = scratch.slice()
  scratch.length = 0
  return matches
}

function statisticMatch(context: FastContext, probability: string): Match | undefined {
  const cached = context.statistics.get(probability)
  if (cached) return cached
  const p = Number(probability)
  if (p > 1) return undefined
  const certainty = p >= 1 ? 'always' : p <= 0 ? 'never' : 'maybe'
  const match: Match = {kind: 'statistic', description: `random with probability ${probability}`, certainty}
  context.statistics.set(probability, match)
  return match
}

/** `-j TARGET [options]` up to the end of the line; undefined for the general path. */
function compileTarget(context: FastContext): Target | undefined {
  if (!nextValue()) return undefined
  if (is('DNAT')) {
    if (!next() || !is('--to-destination') || !nextValue()) return undefined
    const target = dnat()
    return target && atEnd() ? target : undefined
  }
  if (is('REJECT')) {
    if (atEnd()) return REJECT
    if (!next() || !is('--reject-with') || !nextValue()) return undefined
    return atEnd() ? REJECT : undefined
  }
  if (is('MASQUERADE')) {
    if (atEnd()) return MASQUERADE
    if (!next() || !(is('--random-fully') || is('--random'))) return undefined
    return atEnd() ? MASQUERADE_RANDOM : undefined
  }
  if (!atEnd()) return undefined
  if (is('ACCEPT')) return ACCEPT
  if (is('DROP')) return DROP
  if (is('RETURN')) return RETURN
  const name = text.slice(start, end)
  const cached = context.jumps.get(name)
  if (cached) return cached
  // a modelled or pass-through target is resolved before chains of that name (compileTarget)
  if (isResolvedBeforeChains(name) || !context.rule.isChain(name)) return undefined
  const target: Target = {kind: 'jump', chain: name, goto: false}
  context.jumps.set(name, target)
  return target
}

/** `--to-destination a.b.c.d` or `a.b.c.d:port` (parseNatSpec); other forms go to the general path. */
function dnat(): Target | undefined {
  const i = parseIpAt(start, end)
  if (i < 0) return undefined
  if (i === end) return {kind: 'dnat', address}
  if (text.charCodeAt(i) !== COLON) return undefined
  const port = portAt(i + 1, end)
  if (port < 0) return undefined
  return {kind: 'dnat', address, ports: {lo: port, hi: port}}
}
