/**
 * Facts derived once from a Topology (contracts.md §1 "Implied by a cluster"): the tracer and
 * the checks read these instead of re-deriving them from the file.
 */
import type {IpSets, Ruleset} from '../iptables/types.js'
import type {Cidr, Ip} from '../net/ipv4.js'
import type {PeeringState} from './peering-state.js'
import type {BackendServiceSpec, ClusterSpec, GuestSpec, Topology} from './schema.js'

export interface SubnetFacts {
  readonly name: string
  readonly network: string
  readonly region: string
  readonly primary: Cidr
  readonly secondary: ReadonlyArray<{readonly rangeName: string; readonly cidr: Cidr}>
  readonly allowSubnetCidrRoutesOverlap: boolean
  /** the subnet gateway, first usable address (guest default routes point at it) */
  readonly gateway: Ip
}

export type NextHop =
  | {readonly type: 'NETWORK'; readonly network: string}
  | {readonly type: 'INSTANCE'; readonly instance: string}
  | {readonly type: 'IP'; readonly ip: Ip}
  | {readonly type: 'ILB'; readonly ref: string}
  | {readonly type: 'INTERNET_GATEWAY'}

/** RouteInfo.RouteType of Connectivity Tests (Appendix A) */
export type RouteKind = 'SUBNET' | 'STATIC' | 'PEERING_SUBNET' | 'PEERING_STATIC'

export interface RouteFacts {
  readonly name: string
  /** network whose routing table holds this route */
  readonly network: string
  readonly destRange: Cidr
  readonly priority: number
  readonly tags: readonly string[]
  readonly kind: RouteKind
  readonly nextHop: NextHop
  /** for subnet routes (local and peering): the subnet that makes them */
  readonly subnet?: SubnetFacts
  /** for routes learned over a peering: the peer network and this side's peering name */
  readonly peering?: {readonly name: string; readonly peerNetwork: string}
  /** GKE-04: the per-node pod route of a routes-based cluster */
  readonly impliedBy?: {readonly cluster: string; readonly node: string}
  /** index in the file's `routes` list, for declared routes */
  readonly index?: number
}

export interface RouteLookup {
  /** ROUTE-04: the winning routes; more than one = ECMP (or an undecidable tie, ROUTE-08) */
  readonly winners: readonly RouteFacts[]
  /** ROUTE-06: a more specific custom route that the subnet route overrides */
  readonly shadowed?: RouteFacts
}

/** A network's routing table (built by route-table.ts). */
export interface RoutingTable {
  readonly routes: readonly RouteFacts[]
  /** the routes that win for a packet to `dst` from an instance with `senderTags` */
  lookup(dst: Ip, senderTags: readonly string[]): RouteLookup
}

export interface PortRange {
  readonly lo: number
  readonly hi: number
}

export interface FirewallFacts {
  readonly name: string
  readonly network: string
  readonly direction: 'INGRESS' | 'EGRESS'
  readonly priority: number
  readonly action: 'allow' | 'deny'
  /** INGRESS: sourceRanges (empty with no sourceTags means 0.0.0.0/0, as gcloud defaults) */
  readonly sourceRanges: readonly Cidr[]
  readonly sourceTags: readonly string[]
  /** empty = any destination */
  readonly destinationRanges: readonly Cidr[]
  /** empty = every instance of the network */
  readonly targetTags: readonly string[]
  readonly protocols: ReadonlyArray<{readonly protocol: string; readonly ports?: readonly PortRange[]}>
  readonly index: number
}

export interface NicFacts {
  readonly index: number
  readonly network: string
  readonly subnet: SubnetFacts
  readonly ip: Ip
  /** alias ranges, including a VPC-native node's podCidr */
  readonly aliasRanges: readonly Cidr[]
  /** interface name inside the guest: `nicN` for VMs, `eth0` for GKE nodes (COS) */
  readonly guestIface: string
}

export interface GuestRoute {
  readonly destRange: Cidr
  readonly nic: number
  /** why the route exists: connected subnet, the default route on nic0, or guest.routes */
  readonly origin: 'connected' | 'default' | 'declared'
}

export interface GuestFacts {
  readonly ipForward: boolean
  readonly routes: readonly GuestRoute[]
  /** parsed iptables of the guest (VM guest.iptables, node iptables or rules derived from masquerade and services) */
  readonly ruleset?: Ruleset
  /** the iptables-save text the rules were parsed from (what the lab restores into the guest) */
  readonly rulesText?: string
  /** what the rules came from, for messages */
  readonly rulesOrigin: 'none' | 'guest.iptables' | 'node.iptables' | 'derived'
  /** the YAML path of rules the topology gives (not derived ones), e.g. `instances[2].guest.iptables` */
  readonly rulesPath?: string
  /** a node's ipsets (its `ipsets`, parsed), which `-m set` rules test; absent: not known */
  readonly ipsets?: IpSets
  /** the `ipset save` text they were parsed from (what the lab restores before the rules) */
  readonly ipsetsText?: string
  /** its YAML path, e.g. `clusters[0].nodes[1].ipsets` */
  readonly ipsetsPath?: string
  /** what the guest serves; undefined = unknown, assume served */
  readonly listen?: GuestSpec['listen']
}

export interface InstanceFacts {
  readonly name: string
  readonly kind: 'vm' | 'node'
  readonly zone: string
  readonly region: string
  readonly tags: readonly string[]
  readonly canIpForward: boolean
  readonly nics: readonly NicFacts[]
  readonly guest: GuestFacts
  /** for GKE nodes */
  readonly cluster?: string
}

export interface PodFacts {
  readonly cluster: string
  readonly namespace: string
  readonly name: string
  readonly node: string
  readonly ip: Ip
  readonly ports?: readonly number[]
  readonly hostNetwork: boolean
  /** false for the implicit pod xcc assumes on a node (contracts.md §2 `--from <cluster>`) */
  readonly declared: boolean
  /** the node-side interface the pod sits behind (cbr0, or a gke… veth for VPC-native) */
  readonly nodeIface: string
}

export interface NodeFacts {
  readonly name: string
  readonly cluster: string
  readonly ip: Ip
  readonly podCidr: Cidr
  /** the node's address on the pod side (cbr0), podCidr network + 1 */
  readonly podGateway: Ip
  readonly masqueradeOrigin: 'kubenet' | 'ipMasq' | 'disabled' | 'node.iptables'
}

export interface ServiceFacts {
  readonly cluster: string
  readonly namespace: string
  readonly name: string
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer'
  readonly clusterIP: Ip
  readonly ports: ClusterSpec['services'][number]['ports']
  readonly endpoints: readonly PodFacts[]
  readonly externalTrafficPolicy: 'Cluster' | 'Local'
  readonly forwardingRule?: string
}

export interface ClusterFacts {
  readonly name: string
  readonly spec: ClusterSpec
  readonly network: string
  readonly subnet: SubnetFacts
  readonly region: string
  readonly mode: 'ROUTES' | 'VPC_NATIVE'
  readonly podRange: Cidr
  readonly serviceRange: Cidr
  readonly nodes: readonly NodeFacts[]
  readonly pods: readonly PodFacts[]
  readonly services: readonly ServiceFacts[]
}

export interface ForwardingRuleFacts {
  readonly name: string
  readonly region: string
  readonly network: string
  readonly subnet: SubnetFacts
  readonly ip: Ip
  readonly protocol: 'TCP' | 'UDP' | 'L3_DEFAULT'
  /** undefined = allPorts */
  readonly ports?: readonly PortRange[]
  readonly portsText: readonly string[]
  readonly allowGlobalAccess: boolean
  readonly sourceIpRanges: readonly Cidr[]
  readonly backendService: BackendServiceSpec
}

export interface NetworkFacts {
  readonly name: string
  readonly subnets: readonly SubnetFacts[]
  readonly routes: RoutingTable
  /** sorted for evaluation: priority ascending, deny before allow at equal priority (FW-01) */
  readonly ingress: readonly FirewallFacts[]
  readonly egress: readonly FirewallFacts[]
  readonly peerings: readonly PeeringState[]
}

/** Who owns an address inside one network. */
export type AddressOwner =
  | {readonly kind: 'nic'; readonly instance: string; readonly nic: number}
  | {readonly kind: 'alias'; readonly instance: string; readonly nic: number; readonly range: Cidr}
  | {readonly kind: 'forwardingRule'; readonly name: string}

export interface Model {
  readonly topology: Topology
  readonly networks: ReadonlyMap<string, NetworkFacts>
  readonly instances: ReadonlyMap<string, InstanceFacts>
  readonly clusters: ReadonlyMap<string, ClusterFacts>
  readonly nodes: ReadonlyMap<string, NodeFacts>
  readonly forwardingRules: ReadonlyMap<string, ForwardingRuleFacts>
  readonly peerings: readonly PeeringState[]
  /** owner of an address in a network: NIC primary IP, forwarding rule VIP, or alias range */
  ownerOf(network: string, address: Ip): AddressOwner | undefined
  /** the forwarding rules (VIPs) whose backend service lists this instance */
  vipsBackedBy(instance: string): readonly ForwardingRuleFacts[]
}
