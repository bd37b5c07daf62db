/**
 * The evaluator's compiled form of a rule. `types.ts` keeps `Rule` opaque (only `ref` and
 * `unsupported` are public); the parser produces `CompiledRule`s and the evaluator reads them.
 */
import type {Ip} from '../net/ipv4.js'
import type {CtState, Rule} from './types.js'

/** An inclusive port range. */
export interface PortRange {
  readonly lo: number
  readonly hi: number
}

/** Protocol numbers as in /etc/protocols; -1 for a protocol none of our packets can carry. */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  all: 0,
  icmp: 1,
  igmp: 2,
  ipip: 4,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  'ipv6-icmp': 58,
  icmpv6: 58,
  ospf: 89,
  sctp: 132,
  udplite: 136,
}

export type AddrType = 'LOCAL' | 'MULTICAST'

export type Match =
  /** `-s` / `-d`: (address & mask) === base */
  | {readonly kind: 'address'; readonly field: 'src' | 'dst'; readonly negated: boolean; readonly base: Ip; readonly mask: number}
  /** `-m iprange --src-range/--dst-range a-b` */
  | {readonly kind: 'addressRange'; readonly field: 'src' | 'dst'; readonly negated: boolean; readonly lo: Ip; readonly hi: Ip}
  /** `-i` / `-o`; `prefix` for a trailing `+` */
  | {readonly kind: 'interface'; readonly field: 'in' | 'out'; readonly negated: boolean; readonly name: string; readonly prefix: boolean}
  /** `-p`; 0 = all */
  | {readonly kind: 'protocol'; readonly negated: boolean; readonly protocol: number}
  /** `--sport/--dport` of tcp/udp/sctp and `-m multiport`; `either` is multiport `--ports` */
  | {
      readonly kind: 'ports'
      readonly negated: boolean
      readonly protocol: number
      readonly field: 'src' | 'dst' | 'either'
      readonly ranges: readonly PortRange[]
    }
  /** `--syn`, `--tcp-flags mask comp` (flag bits: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128) */
  | {readonly kind: 'tcpFlags'; readonly negated: boolean; readonly mask: number; readonly comp: number}
  /**
   * `-m addrtype`; `limit`: `--limit-iface-in/out`, the type as seen from that interface only (a
   * LOCAL address then has to be one of the interface's own, xt_addrtype with a device)
   */
  | {readonly kind: 'addrType'; readonly field: 'src' | 'dst'; readonly negated: boolean; readonly types: readonly AddrType[]; readonly limit?: 'in' | 'out'}
  | {readonly kind: 'mark'; readonly negated: boolean; readonly value: number; readonly mask: number}
  /** `-m connmark --mark value/mask`: the connection's mark (xt_connmark: no connection never matches, even negated) */
  | {readonly kind: 'connmark'; readonly negated: boolean; readonly value: number; readonly mask: number}
  /**
   * `-m set --match-set NAME src,dst…` (xt_set): the packet's addresses and ports, in the order
   * of the flags, looked up in the host's ipset; `returnNomatch`: a `nomatch` entry matches and
   * a plain one does not
   */
  | {readonly kind: 'set'; readonly negated: boolean; readonly name: string; readonly flags: readonly ('src' | 'dst')[]; readonly returnNomatch: boolean}
  /**
   * One option of `-m physdev` (xt_physdev): the bridge port a packet entered or leaves by. A
   * packet that did not come in through a bridge carries no such port: then the test fails,
   * unless negated.
   */
  | {readonly kind: 'physdev'; readonly test: 'in' | 'out' | 'is-in' | 'is-out' | 'is-bridged'; readonly negated: boolean; readonly name?: string; readonly prefix?: boolean}
  | {readonly kind: 'ctState'; readonly negated: boolean; readonly states: readonly CtState[]}
  /** `-f`: second and later fragments; the packets we evaluate are never fragments */
  | {readonly kind: 'fragment'; readonly negated: boolean}
  /** `-m statistic`: may or may not match; the evaluator branches */
  | {readonly kind: 'statistic'; readonly description: string; readonly certainty: 'maybe' | 'always' | 'never'}

export type Target =
  /** no `-j`: the rule only counts */
  | {readonly kind: 'none'}
  | {readonly kind: 'verdict'; readonly verdict: 'ACCEPT' | 'DROP' | 'REJECT'}
  | {readonly kind: 'return'}
  | {readonly kind: 'jump'; readonly chain: string; readonly goto: boolean}
  /** MARK: mark = (mark & and) ^ xor (the kernel's xt_MARK form) */
  | {readonly kind: 'mark'; readonly and: number; readonly xor: number}
  /**
   * CONNMARK (xt_connmark, revision 2), with `shift` > 0 for --left-shift-mark, < 0 for --right-shift-mark:
   *  - set:     ctmark = shift((ctmark & ~ctmask) ^ mark)
   *  - save:    ctmark = (ctmark & ~ctmask) ^ shift(packet mark & nfmask)
   *  - restore: packet mark = (packet mark & ~nfmask) ^ shift(ctmark & ctmask)
   * A packet without a connection (INVALID, UNTRACKED) is left alone.
   */
  | {readonly kind: 'connmark'; readonly mode: 'set' | 'save' | 'restore'; readonly mark: number; readonly nfmask: number; readonly ctmask: number;
      readonly shift: number}
  /** LOG, NFLOG and the like: they do not change addresses, ports or marks and never terminate */
  | {readonly kind: 'continue'; readonly name: string}
  | {readonly kind: 'masquerade'; readonly ports?: PortRange; readonly random: boolean}
  | {readonly kind: 'snat'; readonly address: Ip; readonly ports?: PortRange; readonly random: boolean}
  | {readonly kind: 'dnat'; readonly address?: Ip; readonly ports?: PortRange}

export interface CompiledRule extends Rule {
  /** the decidable matches, in the order written */
  readonly matches: readonly Match[]
  readonly target: Target
  /** set when a match of the rule is not modelled: whether the rule matches is not known */
  readonly unsupportedMatch?: string
  /** set when the target is not modelled: what the rule does when it matches is not known */
  readonly unsupportedTarget?: string
}

export function isCompiledRule(rule: Rule): rule is CompiledRule {
  return Array.isArray((rule as Partial<CompiledRule>).matches) && (rule as Partial<CompiledRule>).target !== undefined
}
