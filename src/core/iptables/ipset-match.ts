/**
 * Tests a packet against an ipset the way `-m set --match-set NAME flags` does (xt_set,
 * ip_set_test): each dimension of the set takes the packet's source or destination address or
 * port as the flags say, in order; fewer flags than dimensions never match, more are ignored;
 * an IPv6 set never matches an IPv4 packet. In the hash types with networks the most specific
 * network that holds the packet decides, and a `nomatch` entry there means "not in the set"
 * (or, with --return-nomatch, the only way to match).
 */
import type {IptPacket, RuleRef, Ruleset} from './types.js'
import {isCompiledRule} from './compiled.js'
import {type Entry, type IpSetData, MODELLED_TYPES, type ParsedIpSets, type Part} from './ipset-parse.js'

export type SetAnswer =
  | {readonly kind: 'in'}
  | {readonly kind: 'out'}
  /** the most specific entry that holds the packet is a nomatch entry */
  | {readonly kind: 'nomatch'}
  | {readonly kind: 'undecided'; readonly reason: string}

const IN: SetAnswer = {kind: 'in'}
const OUT: SetAnswer = {kind: 'out'}
const NOMATCH: SetAnswer = {kind: 'nomatch'}

const PROTOCOLS: Readonly<Record<IptPacket['protocol'], number>> = {icmp: 1, tcp: 6, udp: 17, sctp: 132}

export function testSet(ipsets: ParsedIpSets, name: string, packet: IptPacket, flags: readonly ('src' | 'dst')[], depth = 0): SetAnswer {
  const set = ipsets.sets.get(name)
  if (!set) return {kind: 'undecided', reason: `set ${name} is not among the host's ipsets (${ipsets.source})`}
  if (set.family === 'inet6') return OUT
  if (!MODELLED_TYPES.has(set.type)) return {kind: 'undecided', reason: `sets of type ${set.type} (${name}) are not modelled`}
  if (set.type === 'list:set') return testList(ipsets, set, packet, flags, depth)
  if (flags.length < set.dimensions.length) return OUT
  const protocol = PROTOCOLS[packet.protocol]
  let icmpUnknown = false
  const holding: Entry[] = []
  for (const entry of set.entries) {
    let holds = true
    for (let d = 0; d < entry.parts.length && holds; d++) {
      const part = entry.parts[d] as Part
      const fromSource = flags[d] === 'src'
      if (part.kind === 'port') {
        if (packet.protocol === 'icmp' && (part.protocol === -1 || part.icmp)) {
          // an ICMP packet's "port" is its type and code, which xcc does not carry
          icmpUnknown = true
          holds = false
        } else {
          const port = fromSource ? packet.srcPort : packet.dstPort
          holds = (part.protocol === -1 || part.protocol === protocol) && !part.icmp && port >= part.lo && port <= part.hi
        }
      } else {
        holds = partHolds(part, fromSource ? packet.src : packet.dst, set)
      }
    }
    if (holds) holding.push(entry)
  }
  if (icmpUnknown && holding.length === 0) return {kind: 'undecided', reason: `the ICMP type of the packet, which ${name} (${set.type}) compares, is not known`}
  return decide(set, holding)
}

function partHolds(part: Part, address: number, set: IpSetData): boolean {
  if (part.kind === 'ip') {
    const masked = (address & set.netmask) >>> 0
    return masked >= part.lo && masked <= part.hi
  }
  if (part.kind === 'net') return part.prefix === 0 || (address >>> (32 - part.prefix)) === (part.base >>> (32 - part.prefix))
  return false
}

/** Among the entries that hold the packet, which decides (ip_set_hash_gen.h mtype_test_cidrs: the most specific network first). */
function decide(set: IpSetData, holding: readonly Entry[]): SetAnswer {
  if (holding.length === 0) return OUT
  if (!holding.some((entry) => entry.nomatch)) return IN
  const nets = set.dimensions.filter((d) => d === 'net').length
  if (nets > 1) {
    // with two network dimensions the kernel's order of trial is not modelled: only a clear case decides
    return holding.every((entry) => entry.nomatch) ? NOMATCH : {kind: 'undecided', reason: `${set.name} (${set.type}) holds the packet in both a nomatch entry and a plain one`}
  }
  const netAt = set.dimensions.indexOf('net')
  const prefix = (entry: Entry): number => {
    const part = entry.parts[netAt]
    return part?.kind === 'net' ? part.prefix : 32
  }
  const best = holding.reduce((a, b) => (prefix(b) > prefix(a) ? b : a))
  return best.nomatch ? NOMATCH : IN
}

/** list:set: the member sets in order, the first that holds the packet (list_set_ktest). */
function testList(ipsets: ParsedIpSets, set: IpSetData, packet: IptPacket, flags: readonly ('src' | 'dst')[], depth: number): SetAnswer {
  if (depth > 6) return {kind: 'undecided', reason: `list:set ${set.name} nests too deep`}
  let undecided: SetAnswer | undefined
  for (const entry of set.entries) {
    const member = entry.parts[0]
    if (member?.kind !== 'other') continue
    const answer = testSet(ipsets, member.text, packet, flags, depth + 1)
    // an undecided member before does not matter: either it holds the packet or this one does
    if (answer.kind === 'in') return IN
    if (answer.kind === 'undecided') undecided ??= answer
  }
  return undecided ?? OUT
}

/** Every `-m set` of a ruleset: the set it names and the rule (for the loader's check that the host defines it). */
export function setsNamedBy(ruleset: Ruleset): Array<{readonly name: string; readonly rule: RuleRef}> {
  const found: Array<{name: string; rule: RuleRef}> = []
  for (const table of ruleset.tables.values()) {
    for (const chain of table.chains.values()) {
      for (const rule of chain.rules) {
        if (!isCompiledRule(rule)) continue
        for (const match of rule.matches) if (match.kind === 'set') found.push({name: match.name, rule: rule.ref})
      }
    }
  }
  return found
}
