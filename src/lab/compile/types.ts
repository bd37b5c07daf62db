/**
 * A lab plan: the Linux networking that reproduces a topology (docs/lab.md), as data. The
 * compiler (compile.ts) is pure; the runtime (src/lab/runtime) turns a plan into namespaces,
 * links, routes, sysctls, iptables and processes, and removes them again.
 */

export type NamespaceRole = 'router' | 'vm' | 'node' | 'pod'

export interface NamespacePlan {
  /** netns name: `xcc-<lab>-<role><index>` */
  readonly name: string
  readonly role: NamespaceRole
  /** what it stands for: `network/<n>`, `instance/<n>`, `node/<n>` or `pod/<cluster>/<ns>/<pod>` */
  readonly ref: string
  /** `ip -batch` lines run inside the namespace once every link exists */
  readonly ip: readonly string[]
  readonly sysctls: ReadonlyArray<readonly [string, string]>
  /** iptables-restore text (nat and filter), when the namespace has rules */
  readonly iptables?: string
  /** the YAML path of those rules when the topology gave them (a kernel refusal is then bad input) */
  readonly iptablesPath?: string
  /** `ipset restore` text, created before the iptables (a node's ipsets), and its YAML path */
  readonly ipsets?: string
  readonly ipsetsPath?: string
}

export interface LinkEnd {
  readonly ns: string
  readonly iface: string
}

/** A veth pair created with both ends inside lab namespaces (never on the host). */
export interface VethPlan {
  readonly a: LinkEnd
  readonly b: LinkEnd
  /** `ip link … alias`: names the lab and what the link stands for */
  readonly alias: string
}

/** A listener that answers with the client address it saw (the seeds' echoserver). */
export interface ServerPlan {
  readonly ns: string
  readonly ref: string
  readonly tcpPorts: readonly number[]
}

export interface PodPlan {
  readonly cluster: string
  readonly namespace: string
  readonly name: string
  readonly node: string
  readonly ip: string
  /** the pod's own netns, or the node's for hostNetwork pods */
  readonly ns: string
  readonly hostNetwork: boolean
  /** false for the pod xcc assumes on a node when the cluster declares none (contracts.md §2) */
  readonly declared: boolean
  readonly tcpPorts: readonly number[]
}

export interface HostEntry {
  readonly ns: string
  /** the address a connection from this host leaves with (before any NAT) */
  readonly address: string
}

/**
 * Who holds which index, hence which namespace and interface names (names.ts): kept in the lab's
 * state with the plan, so that a change of the topology renames nothing that stays. Existing
 * networks, instances, pods and peerings keep their index; new ones take the next free one, and an
 * index is never handed out twice in a lab's life. Pairs (not records): topology names are keys.
 */
export interface LabNames {
  /** network → index: router namespace `net<i>`, peering interface `p<i>` */
  readonly networks: ReadonlyArray<readonly [string, number]>
  /** VM or GKE node → index: namespace `vm<i>` or `node<i>`, router interfaces `h<i>n<nic>` */
  readonly hosts: ReadonlyArray<readonly [string, number]>
  /** `cluster/namespace/pod` → index: namespace `pod<i>`, bridge port `vp<i>` */
  readonly pods: ReadonlyArray<readonly [string, number]>
  /** active peering [lower side, higher side, k]: the link-local /31 of the pair's link */
  readonly peerings: ReadonlyArray<readonly [string, string, number]>
  /** the next index of each kind */
  readonly next: {readonly networks: number; readonly hosts: number; readonly pods: number; readonly peerings: number}
}

export interface LabPlan {
  readonly lab: string
  /** in creation order: routers, instances, pods */
  readonly namespaces: readonly NamespacePlan[]
  readonly links: readonly VethPlan[]
  /** host reference (`instance/x`, `node/x`, `pod/c/ns/p`, `network/x`) → its namespace */
  readonly hosts: Readonly<Record<string, HostEntry>>
  /** echo servers of VMs and nodes (pods' servers run as their containers) */
  readonly servers: readonly ServerPlan[]
  readonly pods: readonly PodPlan[]
  /** the indexes the names above come from; absent in states written before names were kept */
  readonly names?: LabNames
}
