/**
 * Decides one compiled match against a packet. Tri-state: a match can also be undecidable for
 * this packet (TCP flags of a packet that is not a connection's first), which makes the rule
 * `unknown` unless another of its matches fails.
 */
import type {HostContext, Hook, IptPacket, L4Protocol} from './types.js'
import type {Match} from './compiled.js'
import {connectionMark, masked, packetMark} from './marks.js'
import {isParsedIpSets} from './ipset-parse.js'
import {testSet} from './ipset-match.js'

export const FAIL = 0
export const PASS = 1
export const UNDECIDED = 2
export type MatchResult = typeof FAIL | typeof PASS | typeof UNDECIDED

const PROTOCOLS: Readonly<Record<L4Protocol, number>> = {icmp: 1, tcp: 6, udp: 17, sctp: 132}

export function protocolNumber(protocol: L4Protocol): number {
  return PROTOCOLS[protocol]
}

/** TCP flags of the first packet of a connection: a bare SYN */
const SYN = 0x02

/**
 * The interface names the kernel passes to a hook: no input device in OUTPUT and POSTROUTING,
 * no output device in PREROUTING and INPUT (ipt_do_table compares against "").
 */
export interface HookView {
  readonly hook: Hook
  readonly inName: string
  readonly outName: string
}

export function viewOf(hook: Hook, packet: IptPacket): HookView {
  const hasIn = hook === 'PREROUTING' || hook === 'INPUT' || hook === 'FORWARD'
  const hasOut = hook === 'FORWARD' || hook === 'OUTPUT' || hook === 'POSTROUTING'
  return {hook, inName: hasIn ? (packet.inIface ?? '') : '', outName: hasOut ? (packet.outIface ?? '') : ''}
}

function flip(result: boolean, negated: boolean): MatchResult {
  return result !== negated ? PASS : FAIL
}

function decided(result: boolean | undefined, negated: boolean): MatchResult {
  return result === undefined ? UNDECIDED : flip(result, negated)
}

export function evaluateMatch(match: Match, packet: IptPacket, view: HookView, host: HostContext): MatchResult {
  switch (match.kind) {
    case 'address': {
      const address = match.field === 'src' ? packet.src : packet.dst
      return flip(((address & match.mask) >>> 0) === match.base, match.negated)
    }
    case 'addressRange': {
      const address = match.field === 'src' ? packet.src : packet.dst
      return flip(address >= match.lo && address <= match.hi, match.negated)
    }
    case 'interface': {
      const name = match.field === 'in' ? view.inName : view.outName
      return flip(match.prefix ? name.startsWith(match.name) : name === match.name, match.negated)
    }
    case 'protocol':
      return flip(match.protocol === 0 || match.protocol === PROTOCOLS[packet.protocol], match.negated)
    case 'ports': {
      // a port match only loads together with its protocol (-p tcp -m tcp); another protocol never matches
      if (PROTOCOLS[packet.protocol] !== match.protocol) return FAIL
      let found = false
      for (const range of match.ranges) {
        if (match.field !== 'src' && packet.dstPort >= range.lo && packet.dstPort <= range.hi) found = true
        if (match.field !== 'dst' && packet.srcPort >= range.lo && packet.srcPort <= range.hi) found = true
        if (found) break
      }
      return flip(found, match.negated)
    }
    case 'tcpFlags':
      if (packet.protocol !== 'tcp') return FAIL
      // only the first packet of a connection (a SYN, ctstate NEW) has flags we know
      if (packet.ctstate !== 'NEW') return UNDECIDED
      return flip((SYN & match.mask) === match.comp, match.negated)
    case 'addrType': {
      const address = match.field === 'src' ? packet.src : packet.dst
      // --limit-iface-in/out: the type as seen through the hook's input or output device only
      const device = match.limit === undefined ? undefined : match.limit === 'in' ? view.inName : view.outName
      if (device === '' || (device !== undefined && !host.isLocalOn && match.types.includes('LOCAL'))) return UNDECIDED
      let found = false
      for (const type of match.types) {
        if (type !== 'LOCAL') found ||= address >>> 28 === 14
        else found ||= device === undefined ? host.isLocal(address) : (host.isLocalOn as NonNullable<HostContext['isLocalOn']>)(address, device)
      }
      return flip(found, match.negated)
    }
    case 'mark':
      return decided(masked(packetMark(packet), match.mask, match.value), match.negated)
    case 'connmark': {
      // xt_connmark: no connection, no match, "!" or not
      const ct = connectionMark(packet)
      return ct ? decided(masked(ct, match.mask, match.value), match.negated) : FAIL
    }
    case 'ctState':
      return flip(match.states.includes(packet.ctstate), match.negated)
    case 'fragment':
      return flip(false, match.negated)
    case 'statistic':
      // decided by the evaluator, which branches
      return PASS
    case 'physdev': {
      // bridge information exists only for a packet that came in through a bridge (br_netfilter)
      const bridged = packet.inIface !== undefined && (host.isBridge ? host.isBridge(packet.inIface) : true)
      return bridged ? UNDECIDED : match.negated ? PASS : FAIL
    }
    case 'set': {
      const ipsets = host.ipsets
      if (!ipsets || !isParsedIpSets(ipsets)) return UNDECIDED
      const answer = testSet(ipsets, match.name, packet, match.flags)
      if (answer.kind === 'undecided') return UNDECIDED
      // --return-nomatch: only a nomatch entry matches
      return flip(match.returnNomatch ? answer.kind === 'nomatch' : answer.kind === 'in', match.negated)
    }
  }
}

export function undecidedReason(match: Match, host?: HostContext, packet?: IptPacket): string {
  if (match.kind === 'tcpFlags') return 'TCP flags are only known for the first packet of a connection (ctstate NEW)'
  if (match.kind === 'connmark') return 'the connection mark is not known (xcc knows it for a connection\'s first packet only, and what CONNMARK set since)'
  if (match.kind === 'mark') return 'bits of the packet mark were restored from a connection mark that is not known'
  if (match.kind === 'set') {
    const ipsets = host?.ipsets
    if (!ipsets || !isParsedIpSets(ipsets)) return `-m set --match-set ${match.name}: the host's ipsets are not known (a node's ipsets field holds its ipset save)`
    const answer = packet ? testSet(ipsets, match.name, packet, match.flags) : undefined
    return `-m set --match-set ${match.name}: ${answer?.kind === 'undecided' ? answer.reason : 'cannot be decided'}`
  }
  if (match.kind === 'physdev') return '-m physdev: the packet may have come in through a bridge, and which port it entered by is not known'
  if (match.kind === 'addrType' && match.limit) {
    return host?.isLocalOn
      ? `-m addrtype --limit-iface-${match.limit} in a hook without an ${match.limit}put interface (the kernel refuses it there)`
      : `-m addrtype --limit-iface-${match.limit}: which addresses each interface holds is not known`
  }
  return `match ${match.kind} cannot be decided for this packet`
}
