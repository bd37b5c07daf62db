/**
 * Trace vocabulary. Step states and drop causes reuse the Connectivity Tests names
 * (gcp-network-semantics.md §7, Appendix A); `XCC_` names only where GCP has none (CT-03).
 */
import type {Ip} from '../net/ipv4.js'

export type StepName =
  | 'START_FROM_GKE_POD'
  | 'START_FROM_INSTANCE'
  | 'NAT'
  | 'SKIP_GKE_POD_IP_MASQUERADING'
  | 'APPLY_EGRESS_FIREWALL_RULE'
  | 'APPLY_ROUTE'
  | 'APPLY_FORWARDING_RULE'
  | 'ANALYZE_LOAD_BALANCER_BACKEND'
  | 'SPOOFING_APPROVED'
  | 'APPLY_INGRESS_FIREWALL_RULE'
  | 'ARRIVE_AT_INSTANCE'
  | 'ARRIVE_AT_GKE_POD'
  | 'DELIVER'
  | 'DROP'
  | 'ABORT'

export type DropCause =
  | 'FIREWALL_RULE'
  | 'NO_ROUTE'
  | 'ROUTE_WRONG_NETWORK'
  | 'ROUTE_NEXT_HOP_IP_ADDRESS_NOT_RESOLVED'
  | 'ROUTE_NEXT_HOP_RESOURCE_NOT_FOUND'
  | 'ROUTE_NEXT_HOP_INSTANCE_WRONG_NETWORK'
  | 'ROUTE_NEXT_HOP_INSTANCE_NON_PRIMARY_IP'
  | 'ROUTE_NEXT_HOP_FORWARDING_RULE_IP_MISMATCH'
  | 'FOREIGN_IP_DISALLOWED'
  | 'PRIVATE_TRAFFIC_TO_INTERNET'
  | 'NO_EXTERNAL_ADDRESS'
  | 'UNKNOWN_INTERNAL_ADDRESS'
  | 'FORWARDING_RULE_MISMATCH'
  | 'FORWARDING_RULE_NO_INSTANCES'
  | 'FORWARDING_RULE_REGION_MISMATCH'
  | 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK'
  | 'LOAD_BALANCER_BACKEND_INVALID_NETWORK'
  | 'ROUTING_LOOP'
  | 'XCC_CLUSTER_IP_FROM_OUTSIDE_CLUSTER'
  | 'XCC_GUEST_FORWARDING_DISABLED'
  | 'XCC_GUEST_FIREWALL'
  | 'XCC_GUEST_NO_ROUTE'
  | 'XCC_DESTINATION_NOT_LISTENING'
  | 'XCC_REPLY_NOT_FOR_CLIENT'
  | 'XCC_ASYMMETRIC_RETURN'

export type AbortCause = 'XCC_IPTABLES_RULE_NOT_UNDERSTOOD' | 'TRACE_TOO_LONG' | 'UNSUPPORTED'

/** IpMasqueradingSkippedInfo.Reason (SNAT-18) */
export type MasqueradeSkipReason =
  | 'DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE'
  | 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE'
  | 'DESTINATION_ON_SAME_NODE'
  | 'DEFAULT_SNAT_DISABLED'
  | 'POD_USES_NODE_NETWORK_NAMESPACE'
  | 'NO_MASQUERADING_FOR_RETURN_PACKET'

export type Protocol = 'tcp' | 'udp'

export interface Packet {
  readonly src: Ip
  readonly dst: Ip
  readonly protocol: Protocol
  readonly srcPort: number
  readonly dstPort: number
}

/** A packet as printed in steps and JSON. */
export interface PacketView {
  readonly src: string
  readonly dst: string
  readonly protocol: Protocol
  readonly srcPort: number
  readonly dstPort: number
}

export interface FirewallView {
  /** the rule's name; `implied-allow-egress` / `implied-deny-ingress` for the implied rules (FW-02) */
  readonly name: string
  readonly type: 'VPC_FIREWALL_RULE' | 'IMPLIED_VPC_FIREWALL_RULE' | 'TRACKING_STATE'
  readonly action: 'allow' | 'deny'
  readonly priority: number
  readonly network: string
  readonly direction: 'INGRESS' | 'EGRESS'
}

export interface RouteView {
  readonly name: string
  /** RouteInfo.RouteType */
  readonly type: 'SUBNET' | 'STATIC' | 'PEERING_SUBNET' | 'PEERING_STATIC'
  readonly destRange: string
  readonly priority: number
  readonly nextHop: string
  /** RouteInfo.NextHopType */
  readonly nextHopType: 'NEXT_HOP_NETWORK' | 'NEXT_HOP_INSTANCE' | 'NEXT_HOP_IP' | 'NEXT_HOP_ILB' | 'NEXT_HOP_INTERNET_GATEWAY' | 'NEXT_HOP_PEERING'
  readonly network: string
  readonly peering?: string
}

export interface NatView {
  /** NatInfo.Type for GKE masquerade; guest and kube-proxy NAT carry xcc names */
  readonly type: 'GKE_POD_IP_MASQUERADING' | 'XCC_GUEST_SNAT' | 'XCC_GUEST_DNAT' | 'XCC_KUBE_PROXY_DNAT' | 'XCC_KUBE_PROXY_SNAT' | 'XCC_CONNTRACK_REVERSE' | 'XCC_ASSUMED_SNAT'
  readonly before: PacketView
  readonly after: PacketView
  /** MASQUERADE --random-fully: the source port on the wire is not predictable (PROBE-04) */
  readonly randomPort?: boolean
}

/** An iptables rule cited as evidence. */
export interface RuleView {
  readonly source: string
  readonly table: string
  readonly chain: string
  readonly line: number
  readonly rule: string
}

/** Where a step happens, typed: code reads this, never the printed `at`. */
export type StepHost =
  | {readonly kind: 'pod'; readonly name: string; readonly cluster: string; readonly namespace: string; readonly node: string}
  | {readonly kind: 'node' | 'instance' | 'network' | 'lb'; readonly name: string}

export interface Step {
  readonly step: StepName
  /** where the step happens, printed: `<cluster>/<ns>/<pod>`, `<cluster>/<node>` (implicit pod), `node/…`, `instance/…`, `network/…`, `lb/…` */
  readonly at: string
  readonly host: StepHost
  readonly packet: PacketView
  readonly detail: string
  readonly cause?: DropCause | AbortCause
  readonly firewall?: FirewallView
  readonly route?: RouteView
  readonly nat?: NatView
  readonly reason?: MasqueradeSkipReason
  readonly nonMasqueradeRange?: string
  readonly rules?: readonly RuleView[]
  /** ROUTE-06: a custom route that the subnet route overrides */
  readonly warning?: string
}

export type Verdict = 'reachable' | 'unreachable' | 'ambiguous' | 'unknown'

/** Where a path ended. */
export type PathEnd =
  | {readonly kind: 'delivered'; readonly host: HostRef; readonly packet: Packet}
  | {readonly kind: 'dropped'; readonly cause: DropCause}
  | {readonly kind: 'aborted'; readonly cause: AbortCause}

/** The thing a packet was delivered to. */
export type HostRef =
  | {readonly kind: 'pod'; readonly cluster: string; readonly namespace: string; readonly name: string; readonly node: string; readonly ip: Ip; readonly declared: boolean}
  | {readonly kind: 'instance'; readonly name: string}

export interface PathTrace {
  readonly forward: readonly Step[]
  readonly forwardEnd: PathEnd
  /** empty unless the protocol is tcp and the forward path delivered */
  readonly return: readonly Step[]
  readonly returnEnd?: PathEnd
  readonly verdict: Verdict
}

export interface TraceResult {
  readonly flow: FlowView
  /** every alternative path (ECMP, load-balancer backends, kube-proxy endpoints); at least one */
  readonly paths: readonly PathTrace[]
  readonly verdict: Verdict
}

export interface FlowView {
  readonly from: string
  readonly to: string
  readonly packet: PacketView
}

/** A hypothetical change the doctor uses to test a fix without touching the model. */
export type Assumption =
  | {readonly kind: 'snat'; readonly instance: string}
  | {readonly kind: 'allow-firewall'; readonly instance: string; readonly direction: 'INGRESS' | 'EGRESS'}
