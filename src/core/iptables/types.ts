/**
 * The iptables evaluator's public types. The tracer uses these to run a packet through a
 * node's or a gateway's netfilter tables exactly as the kernel would (SNAT-06, SNAT-14):
 * the whole chain is the unit of evaluation, every rule that matched is reported with its
 * line, and a rule the evaluator does not understand is never skipped: it makes the answer
 * `unknown` whenever the packet reaches it and the answer depends on it.
 */
import type {Ip} from '../net/ipv4.js'

export type TableName = 'raw' | 'mangle' | 'nat' | 'filter'
export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING'
export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED'
export type L4Protocol = 'tcp' | 'udp' | 'icmp' | 'sctp'

export interface IptPacket {
  readonly src: Ip
  readonly dst: Ip
  readonly protocol: L4Protocol
  /** 0 for icmp */
  readonly srcPort: number
  /** 0 for icmp */
  readonly dstPort: number
  /** interface the packet arrived on; undefined for a locally generated packet */
  readonly inIface?: string
  /** interface chosen by routing; undefined before routing (PREROUTING, INPUT) */
  readonly outIface?: string
  /** skb mark, carried from hook to hook (KUBE-MARK-MASQ sets it in nat PREROUTING) */
  readonly mark: number
  /** bits of `mark` whose value is not known (CONNMARK --restore-mark from an unknown connection mark); absent: none */
  readonly markUnknown?: number
  readonly ctstate: CtState
  /**
   * the connection's mark (conntrack's ct->mark, CONNMARK and -m connmark); absent: 0 for a
   * connection's first packet (ctstate NEW), not known for a later one. INVALID and UNTRACKED
   * packets have no connection, hence no connection mark.
   */
  readonly ctmark?: number
  /** bits of `ctmark` whose value is not known; absent: none */
  readonly ctmarkUnknown?: number
}

/**
 * A host's ipsets, as `ipset save` lists them (parseIpsetSave). The evaluator owns their shape;
 * other modules read the names.
 */
export interface IpSets {
  /** label used in messages, e.g. "node/gke-frontend-1 ipsets" */
  readonly source: string
  /** the sets, in the order their create lines come */
  readonly names: readonly string[]
}

/** What the evaluator needs to know about the host the rules run on. */
export interface HostContext {
  /** `-m addrtype --dst-type LOCAL` / `--src-type LOCAL` */
  isLocal(address: Ip): boolean
  /**
   * The source address MASQUERADE takes on an interface (the kernel's inet_select_addr: the
   * interface's address in the destination's subnet when it has one, else its first); undefined
   * if it has none. `towards`: the packet's destination.
   */
  interfaceAddress(iface: string, towards?: Ip): Ip | undefined
  /**
   * `-m addrtype --limit-iface-in/out`: true when `address` is local through that interface (the
   * local routing table's route for it has this device; xt_addrtype with a device). Absent: not
   * known, so a LOCAL test limited to an interface is undecided.
   */
  isLocalOn?(address: Ip, iface: string): boolean
  /**
   * `-m physdev`: true when a packet that came in on `iface` may carry the bridge port it entered
   * by (a Linux bridge whose traffic br_netfilter hands to iptables). A packet without that
   * information fails every physdev test that is not negated (xt_physdev). Absent: not known for
   * any interface, so physdev tests of arriving packets are undecided.
   */
  isBridge?(iface: string): boolean
  /** `-m set`: the host's ipsets; absent: not known, so a set match is undecided */
  readonly ipsets?: IpSets
}

/** A rule as written in the dump, for evidence. */
export interface RuleRef {
  readonly table: TableName
  readonly chain: string
  /** 1-based position inside its chain */
  readonly index: number
  /** 1-based line number in the iptables-save text */
  readonly line: number
  /** the rule line exactly as written (after `-A CHAIN`) */
  readonly text: string
}

/** A chain policy that decided a packet (`:FORWARD DROP [0:0]`). */
export interface PolicyRef {
  readonly table: TableName
  readonly chain: string
  readonly policy: 'ACCEPT' | 'DROP'
}

export interface NatRecord {
  readonly kind: 'SNAT' | 'MASQUERADE' | 'DNAT'
  readonly before: IptPacket
  readonly after: IptPacket
  /** MASQUERADE --random-fully / --random: the source port on the wire is not predictable (PROBE-04) */
  readonly randomPort: boolean
  readonly rule: RuleRef
}

/** A parsed iptables-save dump. Build it once with parseIptablesSave and evaluate it many times. */
export interface Ruleset {
  /** label used in messages, e.g. "node/gke-frontend-1 iptables" */
  readonly source: string
  readonly tables: ReadonlyMap<TableName, Table>
}

export interface Table {
  readonly name: TableName
  readonly chains: ReadonlyMap<string, Chain>
}

export interface Chain {
  readonly name: string
  /** builtin chains have a policy; user chains do not */
  readonly policy?: 'ACCEPT' | 'DROP'
  readonly rules: readonly Rule[]
}

/** A compiled rule: matches and target. The evaluator owns its shape; other modules only read `ref`. */
export interface Rule {
  readonly ref: RuleRef
  /** set when the rule uses a match or target the evaluator does not support */
  readonly unsupported?: string
}

/** A syntax error in the dump (load error: names the line). */
export interface IptablesSyntaxError {
  readonly line: number
  readonly message: string
  readonly text: string
}

/** One possible way a hook treats the packet. Several outcomes exist when a rule "may match" (`-m statistic`). */
export type HookOutcome =
  | {
      readonly kind: 'verdict'
      readonly verdict: 'ACCEPT' | 'DROP' | 'REJECT'
      readonly packet: IptPacket
      readonly nat?: NatRecord
      /** every rule whose matches succeeded, in evaluation order (jumps, MARK, RETURN and the deciding rule) */
      readonly hits: readonly RuleRef[]
      readonly decidedBy: RuleRef | PolicyRef
      /** `-m statistic` rules whose "may match" choice led to this outcome, with the choice made */
      readonly assumptions: ReadonlyArray<{readonly rule: RuleRef; readonly matched: boolean}>
    }
  | {
      readonly kind: 'unknown'
      /** the rule the evaluator could not decide */
      readonly rule: RuleRef
      readonly reason: string
      readonly packet: IptPacket
      readonly hits: readonly RuleRef[]
    }

/** Routing as seen from inside the host, supplied by the caller. */
export interface RouteDecision {
  /** true: the destination is this host (deliver locally, INPUT path) */
  readonly local: boolean
  /** egress interface when not local */
  readonly outIface?: string
}

export interface PipelineInput {
  readonly ruleset: Ruleset
  readonly host: HostContext
  /** `arriving`: came in on packet.inIface; `local`: generated by a process on this host */
  readonly origin: 'arriving' | 'local'
  readonly packet: IptPacket
  /** net.ipv4.ip_forward */
  readonly ipForward: boolean
  /** the host's routing table; undefined = no route */
  route(dst: Ip, packet: IptPacket): RouteDecision | undefined
  /**
   * For a reply of a tracked connection that this host NATed on the way out: conntrack restores
   * the destination before routing (undoing SNAT) and the source after POSTROUTING (undoing DNAT).
   */
  readonly reply?: {
    readonly restoreDst?: {readonly ip: Ip; readonly port: number}
    readonly restoreSrc?: {readonly ip: Ip; readonly port: number}
  }
}

export type PipelineOutcome =
  | {
      readonly kind: 'forwarded' | 'sent'
      readonly packet: IptPacket
      readonly outIface: string
      readonly nat: readonly NatRecord[]
      readonly hits: readonly RuleRef[]
      readonly assumptions: ReadonlyArray<{readonly rule: RuleRef; readonly matched: boolean}>
    }
  | {
      readonly kind: 'local'
      readonly packet: IptPacket
      readonly nat: readonly NatRecord[]
      readonly hits: readonly RuleRef[]
      readonly assumptions: ReadonlyArray<{readonly rule: RuleRef; readonly matched: boolean}>
    }
  | {
      readonly kind: 'dropped'
      readonly packet: IptPacket
      readonly hook: Hook
      readonly by: RuleRef | PolicyRef | {readonly ipForwardDisabled: true}
      readonly verdict: 'DROP' | 'REJECT'
      readonly nat: readonly NatRecord[]
      readonly hits: readonly RuleRef[]
      readonly assumptions: ReadonlyArray<{readonly rule: RuleRef; readonly matched: boolean}>
    }
  | {readonly kind: 'no-route'; readonly packet: IptPacket; readonly nat: readonly NatRecord[]; readonly hits: readonly RuleRef[]}
  | {readonly kind: 'unknown'; readonly hook: Hook; readonly rule: RuleRef; readonly reason: string; readonly packet: IptPacket; readonly hits: readonly RuleRef[]}
