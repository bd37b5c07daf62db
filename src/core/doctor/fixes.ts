/**
 * One fix builder per diagnosis code, shared by the static doctor (facts from the topology and
 * the trace) and the live doctor (facts from the clusters and the packets): the same root cause
 * gets the same remedy whichever way it was found. A builder turns typed facts into fixes — a
 * summary, the commands to paste (every argument quoted for the shell) and who applies them —
 * first the one xcc recommends, then the alternatives.
 */
import {DEFAULT_DOMAIN as DEFAULT_LINK_DOMAIN} from '../dns/domain.js'
import {shellCommand, visible} from '../shell.js'
import type {DiagnosisCode, Fix} from './types.js'

export type {Fix, FixApplies} from './types.js'

/** a cluster as commands name it: by its kube context, and whether that name is the real context */
export interface ContextRef {
  readonly cluster: string
  readonly context: string
  /** false: the context is a guess (the cluster's name); the command says so */
  readonly known: boolean
}

export interface ServiceRef extends ContextRef {
  readonly namespace: string
  readonly name: string
}

export interface VmRef {
  readonly name: string
  readonly zone?: string
}

export interface PeeringSide {
  readonly network: string
  readonly peering: string
}

export interface ForwardingRuleRef {
  readonly name: string
  readonly region: string
}

/** How a cluster's nodes decide masquerading today (SNAT-03, SNAT-09, SNAT-14, SNAT-15). */
export type MasqueradeMechanism = 'ip-masq-agent-list' | 'ip-masq-agent-default' | 'iptables' | 'dataplane-v2' | 'unknown'

export type FixFacts =
  | {
    readonly code: 'POD_SNAT_MISSING'
    readonly cluster?: ContextRef
    readonly cidrs: readonly string[]
    readonly mechanism: MasqueradeMechanism
    /** the ranges are only the destination address (the live doctor knows no more of the peer) */
    readonly destinationOnly: boolean
    /** the peering would carry the pod routes back if custom routes were exchanged (GKE-04) */
    readonly exchange?: {readonly exporting: PeeringSide; readonly importing: PeeringSide}
    /** a routes-based cluster (VPC-native pods are exchanged as subnet routes, GKE-03) */
    readonly routesBased: boolean
  }
  | {readonly code: 'GATEWAY_SNAT_MISSING'; readonly gateway: VmRef; readonly sourceRange: string}
  | {
    readonly code: 'FIREWALL_RULE'
    readonly network?: string
    readonly direction: 'INGRESS' | 'EGRESS'
    readonly priority: number
    readonly protocol: string
    readonly port: number
    /** the client address (ingress) or the destination address (egress) to allow */
    readonly peer: string
    readonly targetTag?: string
    /** where and why, when the rule itself is not known */
    readonly at: string
    readonly detail: string
  }
  | {readonly code: 'OVERLAPPING_RANGES'; readonly address: string}
  | {readonly code: 'NO_ROUTE'; readonly network?: string; readonly destination: string}
  | {readonly code: 'PEERING_INACTIVE'; readonly network: string; readonly peerNetwork: string}
  | {readonly code: 'PEERING_NOT_TRANSITIVE'; readonly from: string; readonly to: string}
  | {readonly code: 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED'; readonly exporting: PeeringSide; readonly importing: PeeringSide}
  | {readonly code: 'FORWARDING_RULE_REGION_MISMATCH'; readonly forwardingRule?: ForwardingRuleRef; readonly service?: ServiceRef; readonly region?: string}
  | {
    readonly code: 'FORWARDING_RULE_MISMATCH'
    readonly protocol: string
    readonly port: number
    readonly forwardingRule?: ForwardingRuleRef & {readonly network: string; readonly subnet: string; readonly backendService: string; readonly served: readonly string[]}
  }
  | {
    readonly code: 'FORWARDING_RULE_NO_INSTANCES'
    readonly forwardingRule?: ForwardingRuleRef & {readonly network: string; readonly backendService: string}
    /** instances of the load balancer's region and network that could serve, in one zone */
    readonly candidates?: {readonly zone: string; readonly instances: readonly string[]}
  }
  | {readonly code: 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK'; readonly network?: string; readonly backendService?: string; readonly port?: number}
  | {readonly code: 'FOREIGN_IP_DISALLOWED'; readonly vm?: VmRef}
  | {readonly code: 'GUEST_FORWARDING_DISABLED'; readonly vm?: VmRef; readonly cause: 'ip-forward' | 'forward-chain'; readonly src: string; readonly dst: string}
  | {readonly code: 'CLUSTER_IP_FROM_OUTSIDE_CLUSTER'; readonly service?: ServiceRef}
  | {readonly code: 'UNKNOWN_INTERNAL_ADDRESS'; readonly address: string}
  | {readonly code: 'DESTINATION_NOT_LISTENING'; readonly at: string; readonly protocol: string; readonly port: number; readonly service?: ServiceRef}
  | {readonly code: 'INSUFFICIENT_INFO'; readonly needs: ReadonlyArray<{readonly summary: string; readonly command?: readonly string[]}>}
  | {readonly code: 'DNS_NAME_NOT_FOUND'; readonly name: string; readonly cluster: ContextRef; readonly namespace: string}
  | {readonly code: 'DNS_STUB_DOMAIN_MISSING'; readonly zone: string; readonly from: ContextRef; readonly to?: ContextRef; readonly domain?: string}
  | {readonly code: 'DNS_SERVER_UNREACHABLE'; readonly server: string; readonly zone: string; readonly path: readonly Fix[]}
  | {readonly code: 'DNS_RECORD_STALE'; readonly name: string; readonly served: string; readonly current: string; readonly from: ContextRef; readonly to: ContextRef; readonly domain: string}

type FactsOf<C extends DiagnosisCode> = Extract<FixFacts, {code: C}>

/** GCP's health-check probers (ILB-08) */
const HEALTH_CHECK_RANGES = '35.191.0.0/16,130.211.0.0/22'

/** a command line, with an optional comment: a comment is one line, whatever the names in it hold */
const cmd = (words: readonly string[], comment?: string): string => `${shellCommand(words)}${comment ? `   # ${visible(comment)}` : ''}`
const zone = (vm: VmRef): string[] => (vm.zone ? ['--zone', vm.zone] : [])
const contextNote = (ref: ContextRef): string | undefined => (ref.known ? undefined : `${ref.context} stands for the kube context of cluster ${ref.cluster}`)

function podSnat(f: FactsOf<'POD_SNAT_MISSING'>): Fix[] {
  const ranges = f.cidrs.join(',')
  const how: Record<MasqueradeMechanism, string> = {
    'ip-masq-agent-list': 'xcc takes them out of nonMasqueradeCIDRs of kube-system/ip-masq-agent, keeping every other entry (SNAT-03)',
    'ip-masq-agent-default': 'xcc writes kube-system/ip-masq-agent with GKE\'s default list minus these ranges (SNAT-03, SNAT-12)',
    'dataplane-v2': 'xcc writes kube-system/ip-masq-agent, which anetd applies in eBPF (SNAT-15)',
    iptables: 'xcc keeps an XCC-MASQ chain first in nat POSTROUTING on every node, so it decides before any rule that returns early (SNAT-09, SNAT-14)',
    unknown: 'xcc edits kube-system/ip-masq-agent where the agent governs SNAT, else keeps an XCC-MASQ chain first in nat POSTROUTING on every node',
  }
  const out: Fix[] = []
  if (f.cluster) {
    const note = contextNote(f.cluster)
    out.push({
      summary: `Masquerade ${ranges} on every node of cluster ${f.cluster.cluster}: ${how[f.mechanism]}${f.destinationOnly ? '; give the whole peer range instead when more of it is used' : ''}.`,
      commands: [cmd(['xcc', 'masquerade', 'add', '--context', f.cluster.context, '--cidr', ranges], note)],
      applies: 'xcc',
    })
  }
  if (f.exchange) {
    out.push({
      summary: `Exchange the per-node pod routes over the peering, so the far side can route replies to the pod range (GKE-04, PEER-04).`,
      commands: [
        cmd(['gcloud', 'compute', 'networks', 'peerings', 'update', f.exchange.exporting.peering, '--network', f.exchange.exporting.network, '--export-custom-routes']),
        cmd(['gcloud', 'compute', 'networks', 'peerings', 'update', f.exchange.importing.peering, '--network', f.exchange.importing.network, '--import-custom-routes']),
      ],
      applies: 'gcloud',
    })
  }
  if (f.routesBased) {
    out.push({summary: 'Move the workload to a VPC-native cluster (gcloud container clusters create … --enable-ip-alias): its pod range is then exchanged as a subnet route (GKE-03).', commands: [], applies: 'manual'})
  }
  return out
}

/**
 * §4 of the doctor's fixes: the SNAT a gateway lacks, as lines of its startup script, so that it
 * survives a reboot; no `-o`: the interface a packet leaves by is named differently on each image
 * (nic1 in the lab, ens5 on most Google images), and masquerading everything the client range
 * sends elsewhere is what the far side needs.
 */
export function gatewaySnatScript(range: string): string {
  return [
    `# xcc: forward, and masquerade what ${range} sends through this gateway (ROUTE-11, ILB-06)`,
    'sysctl -w net.ipv4.ip_forward=1',
    `iptables -t nat -C POSTROUTING -s ${range} ! -d ${range} -j MASQUERADE 2>/dev/null || iptables -t nat -A POSTROUTING -s ${range} ! -d ${range} -j MASQUERADE`,
  ].join('\n')
}

function gatewaySnat(f: FactsOf<'GATEWAY_SNAT_MISSING'>): Fix[] {
  const vm = f.gateway
  const file = `${vm.name}-startup.sh`
  const script = gatewaySnatScript(f.sourceRange)
  return [{
    summary: `Masquerade ${f.sourceRange} on gateway ${vm.name}, in its startup script so that it survives reboots (keep what the script does today: the first command saves it).`,
    commands: [
      `${cmd(['gcloud', 'compute', 'instances', 'describe', vm.name, ...zone(vm), '--format=value(metadata.items.startup-script)'])} > ${shellCommand([file])}`,
      `${shellCommand(['printf', '%s\\n', ...script.split('\n')])} >> ${shellCommand([file])}`,
      cmd(['gcloud', 'compute', 'instances', 'add-metadata', vm.name, ...zone(vm), '--metadata-from-file', `startup-script=${file}`]),
      cmd(['gcloud', 'compute', 'ssh', vm.name, ...zone(vm), '--command', 'sudo google_metadata_script_runner startup'], 'apply it now, without a reboot'),
    ],
    applies: 'gcloud',
    script,
  }]
}

/** a firewall rule name GCP accepts: lowercase letters, digits and dashes, at most 63 characters */
function ruleName(parts: readonly (string | number)[]): string {
  return parts.join('-').toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-').slice(0, 63).replace(/-+$/, '')
}

function firewall(f: FactsOf<'FIREWALL_RULE'>): Fix[] {
  if (!f.network) return [{summary: `Inspect the firewall that blocks the flow at ${f.at}: ${f.detail}.`, commands: [], applies: 'manual'}]
  const ingress = f.direction === 'INGRESS'
  const name = ruleName(['allow', ingress ? 'from' : 'to', f.peer.replace(/\./g, '-'), f.protocol, f.port])
  return [{
    summary: `Allow ${f.protocol} port ${f.port} ${ingress ? `from ${f.peer}` : `to ${f.peer}`} with a rule that wins over the blocking one (priority ${f.priority}).`,
    commands: [cmd([
      'gcloud', 'compute', 'firewall-rules', 'create', name, '--network', f.network, '--direction', f.direction, '--priority', String(f.priority),
      '--action', 'ALLOW', '--rules', `${f.protocol}:${f.port}`, ...(ingress ? ['--source-ranges', `${f.peer}/32`] : ['--destination-ranges', `${f.peer}/32`]),
      ...(f.targetTag ? ['--target-tags', f.targetTag] : []),
    ])],
    applies: 'gcloud',
  }]
}

function regionMismatch(f: FactsOf<'FORWARDING_RULE_REGION_MISMATCH'>): Fix[] {
  const out: Fix[] = []
  if (f.service) {
    out.push({
      summary: `Turn on global access for the internal load balancer of service ${f.service.namespace}/${f.service.name}; GKE owns its forwarding rule and applies the annotation (SVC-02).`,
      commands: [cmd(['kubectl', '--context', f.service.context, '-n', f.service.namespace, 'annotate', 'service', f.service.name, 'networking.gke.io/internal-load-balancer-allow-global-access=true'], contextNote(f.service))],
      applies: 'kubectl',
    })
  } else if (f.forwardingRule) {
    out.push({
      summary: `Turn on global access for forwarding rule ${f.forwardingRule.name} (ILB-03).`,
      commands: [cmd(['gcloud', 'compute', 'forwarding-rules', 'update', f.forwardingRule.name, '--region', f.forwardingRule.region, '--allow-global-access'])],
      applies: 'gcloud',
    })
  }
  out.push({summary: `Or run the client in ${f.region ?? 'the load balancer\'s region'}.`, commands: [], applies: 'manual'})
  return out
}

function forwardingMismatch(f: FactsOf<'FORWARDING_RULE_MISMATCH'>): Fix[] {
  const fr = f.forwardingRule
  if (!fr) return [{summary: `Connect to a port the load balancer serves, or make it forward ${f.protocol} port ${f.port}.`, commands: [], applies: 'manual'}]
  return [
    {summary: `Connect to a port load balancer ${fr.name} serves (${fr.served.join(', ') || 'all'}).`, commands: [], applies: 'manual'},
    {
      summary: `Or add a forwarding rule for ${f.protocol}:${f.port} to the same backend service.`,
      commands: [cmd(['gcloud', 'compute', 'forwarding-rules', 'create', `${fr.name}-${f.port}`, '--region', fr.region, '--load-balancing-scheme', 'internal', '--network', fr.network, '--subnet', fr.subnet, '--ip-protocol', f.protocol.toUpperCase(), '--ports', String(f.port), '--backend-service', fr.backendService])],
      applies: 'gcloud',
    },
  ]
}

function noInstances(f: FactsOf<'FORWARDING_RULE_NO_INSTANCES'>): Fix[] {
  const fr = f.forwardingRule
  if (!fr || !f.candidates) {
    return [{summary: `Add instances with a NIC in ${fr?.network ?? 'the load balancer\'s network'} to backend service ${fr?.backendService ?? ''}.`.replace(/ \.$/, '.'), commands: [], applies: 'manual'}]
  }
  const group = `${fr.backendService}-group`
  const z = f.candidates.zone
  return [{
    summary: `Put instances of ${z} behind backend service ${fr.backendService} through an unmanaged instance group.`,
    commands: [
      cmd(['gcloud', 'compute', 'instance-groups', 'unmanaged', 'create', group, '--zone', z]),
      cmd(['gcloud', 'compute', 'instance-groups', 'unmanaged', 'add-instances', group, '--zone', z, '--instances', f.candidates.instances.join(',')]),
      cmd(['gcloud', 'compute', 'backend-services', 'add-backend', fr.backendService, '--region', fr.region, '--instance-group', group, '--instance-group-zone', z]),
    ],
    applies: 'gcloud',
  }]
}

function guestForwarding(f: FactsOf<'GUEST_FORWARDING_DISABLED'>): Fix[] {
  if (!f.vm) return [{summary: 'Make the forwarding VM\'s operating system forward the traffic (ip_forward, FORWARD chain).', commands: [], applies: 'manual'}]
  const ssh = (command: string, comment?: string): string => cmd(['gcloud', 'compute', 'ssh', f.vm?.name ?? '', ...zone(f.vm as VmRef), '--command', command], comment)
  if (f.cause === 'ip-forward') {
    return [{
      summary: `Turn on IP forwarding in ${f.vm.name}'s operating system, persistently (sysctl.d survives reboots).`,
      commands: [ssh('echo net.ipv4.ip_forward=1 | sudo tee /etc/sysctl.d/60-xcc-ip-forward.conf && sudo sysctl -p /etc/sysctl.d/60-xcc-ip-forward.conf')],
      applies: 'gcloud',
    }]
  }
  return [{
    summary: `Let ${f.vm.name}'s FORWARD chain pass ${f.src} → ${f.dst} (make it part of the VM's boot configuration too).`,
    commands: [ssh(`sudo iptables -I FORWARD -s ${f.src} -d ${f.dst} -j ACCEPT && sudo iptables -I FORWARD -s ${f.dst} -d ${f.src} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`)],
    applies: 'gcloud',
  }]
}

const BUILDERS: {readonly [C in DiagnosisCode]: (facts: FactsOf<C>) => Fix[]} = {
  POD_SNAT_MISSING: podSnat,
  GATEWAY_SNAT_MISSING: gatewaySnat,
  FIREWALL_RULE: firewall,
  OVERLAPPING_RANGES: (f) => [
    {summary: `Renumber one of the overlapping ranges so that ${f.address} is unique on the path.`, commands: [], applies: 'manual'},
    {summary: 'Or masquerade the client where it leaves its own network (a gateway VM that SNATs), so the far side sees an address it routes back.', commands: [], applies: 'manual'},
  ],
  NO_ROUTE: (f) => [{
    summary: `Add a route${f.network ? ` in ${f.network}` : ''} for ${f.destination} towards the network or gateway that owns it (gcloud compute routes create … --destination-range …), or connect the networks with a peering.`,
    commands: [], applies: 'manual',
  }],
  PEERING_INACTIVE: (f) => [{
    summary: `Create the missing side of the peering, from ${f.network} to ${f.peerNetwork}: a peering is ACTIVE only when both networks have one (PEER-01).`,
    commands: [cmd(['gcloud', 'compute', 'networks', 'peerings', 'create', `${f.network}-to-${f.peerNetwork}`, '--network', f.network, '--peer-network', f.peerNetwork])],
    applies: 'gcloud',
  }],
  PEERING_NOT_TRANSITIVE: (f) => [
    {
      summary: `Peer ${f.from} and ${f.to} directly: VPC peering is not transitive (PEER-02).`,
      commands: [
        cmd(['gcloud', 'compute', 'networks', 'peerings', 'create', `${f.from}-to-${f.to}`, '--network', f.from, '--peer-network', f.to]),
        cmd(['gcloud', 'compute', 'networks', 'peerings', 'create', `${f.to}-to-${f.from}`, '--network', f.to, '--peer-network', f.from]),
      ],
      applies: 'gcloud',
    },
    {summary: `Or route between ${f.from} and ${f.to} through a gateway VM or a VPN.`, commands: [], applies: 'manual'},
  ],
  PEERING_CUSTOM_ROUTES_NOT_EXCHANGED: (f) => [{
    summary: `Export the custom routes from ${f.exporting.network} and import them into ${f.importing.network} (PEER-04).`,
    commands: [
      cmd(['gcloud', 'compute', 'networks', 'peerings', 'update', f.exporting.peering, '--network', f.exporting.network, '--export-custom-routes']),
      cmd(['gcloud', 'compute', 'networks', 'peerings', 'update', f.importing.peering, '--network', f.importing.network, '--import-custom-routes']),
    ],
    applies: 'gcloud',
  }],
  FORWARDING_RULE_REGION_MISMATCH: regionMismatch,
  FORWARDING_RULE_MISMATCH: forwardingMismatch,
  FORWARDING_RULE_NO_INSTANCES: noInstances,
  FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK: (f) => (f.network && f.backendService && f.port !== undefined
    ? [{
      summary: `Allow Google's health-check probers (${HEALTH_CHECK_RANGES}) to reach the backends on port ${f.port} (ILB-08).`,
      commands: [cmd(['gcloud', 'compute', 'firewall-rules', 'create', ruleName(['allow-health-checks', f.backendService]), '--network', f.network, '--direction', 'INGRESS', '--action', 'ALLOW', '--rules', `tcp:${f.port}`, '--source-ranges', HEALTH_CHECK_RANGES])],
      applies: 'gcloud',
    }]
    : [{summary: `Allow Google's health-check probers (${HEALTH_CHECK_RANGES}) to reach the backends (ILB-08).`, commands: [], applies: 'manual'}]),
  FOREIGN_IP_DISALLOWED: (f) => (f.vm
    ? [{
      summary: `Turn on canIpForward for ${f.vm.name}, so it may send and receive for addresses that are not its own (ROUTE-10); the VM restarts.`,
      commands: [
        cmd(['gcloud', 'compute', 'instances', 'export', f.vm.name, ...zone(f.vm), '--destination', `${f.vm.name}.yaml`]),
        `sed -i 's/^canIpForward: false/canIpForward: true/' ${shellCommand([`${f.vm.name}.yaml`])}`,
        cmd(['gcloud', 'compute', 'instances', 'update-from-file', f.vm.name, ...zone(f.vm), '--source', `${f.vm.name}.yaml`, '--most-disruptive-allowed-action', 'RESTART']),
      ],
      applies: 'gcloud',
    }]
    : [{summary: 'Turn on canIpForward for the VM that forwards the traffic (ROUTE-10).', commands: [], applies: 'manual'}]),
  GUEST_FORWARDING_DISABLED: guestForwarding,
  CLUSTER_IP_FROM_OUTSIDE_CLUSTER: (f) => (f.service
    ? [{
      summary: `Expose service ${f.service.namespace}/${f.service.name} on an internal load balancer (SVC-01); a ClusterIP is reachable only inside its cluster (GKE-06).`,
      commands: [cmd(['kubectl', '--context', f.service.context, '-n', f.service.namespace, 'patch', 'service', f.service.name, '-p', '{"metadata":{"annotations":{"networking.gke.io/load-balancer-type":"Internal"}},"spec":{"type":"LoadBalancer"}}'], contextNote(f.service))],
      applies: 'kubectl',
    }]
    : [{summary: 'Expose the service on an internal load balancer (type LoadBalancer, annotation networking.gke.io/load-balancer-type: Internal).', commands: [], applies: 'manual'}]),
  UNKNOWN_INTERNAL_ADDRESS: (f) => [{
    summary: `Find what should own ${f.address}: an address, a VM or a forwarding rule of the project.`,
    commands: [
      cmd(['gcloud', 'compute', 'addresses', 'list', `--filter=address=${f.address}`]),
      cmd(['gcloud', 'compute', 'instances', 'list', `--filter=networkInterfaces.networkIP=${f.address}`]),
      cmd(['gcloud', 'compute', 'forwarding-rules', 'list', `--filter=IPAddress=${f.address}`]),
    ],
    applies: 'gcloud',
  }],
  DESTINATION_NOT_LISTENING: (f) => [f.service
    ? {
      summary: `Check that service ${f.service.namespace}/${f.service.name} has ready endpoints serving ${f.protocol} port ${f.port}, or target the port it serves.`,
      commands: [cmd(['kubectl', '--context', f.service.context, '-n', f.service.namespace, 'get', 'endpoints', f.service.name, '-o', 'wide'], contextNote(f.service))],
      applies: 'kubectl',
    }
    : {summary: `Check what ${f.at} serves on ${f.protocol} port ${f.port} (kubectl get endpoints; ss -ltnp on a VM), or target the port it serves.`, commands: [], applies: 'manual'}],
  INSUFFICIENT_INFO: (f) => f.needs.map((n) => ({summary: n.summary, commands: n.command ? [cmd(n.command)] : [], applies: 'manual' as const})),
  DNS_NAME_NOT_FOUND: (f) => [{
    summary: `Check the name: list what cluster ${f.cluster.cluster} can resolve (its Services are <service>.<namespace>.svc.cluster.local), or link the cluster that serves it (xcc dns link).`,
    commands: [cmd(['kubectl', '--context', f.cluster.context, 'get', 'services', '--all-namespaces'], contextNote(f.cluster))],
    applies: 'kubectl',
  }],
  DNS_STUB_DOMAIN_MISSING: (f) => [
    f.to
      ? {
        summary: `Link the DNS of cluster ${f.from.cluster} to cluster ${f.to.cluster}: a stub domain for ${f.zone} and the responder that serves it.`,
        commands: [cmd(['xcc', 'dns', 'link', '--from-context', f.from.context, '--to-context', f.to.context, ...(f.domain && f.domain !== DEFAULT_LINK_DOMAIN ? ['--domain', f.domain] : [])], contextNote(f.from.known ? f.to : f.from))],
        applies: 'xcc',
      }
      : {summary: `Add a stub domain for ${f.zone} to the cluster DNS of ${f.from.cluster}, pointing at the server that holds the zone.`, commands: [], applies: 'manual'},
    {summary: `Or edit the stub domains of cluster ${f.from.cluster} yourself.`, commands: [cmd(['kubectl', '--context', f.from.context, '-n', 'kube-system', 'edit', 'configmap', 'kube-dns'], contextNote(f.from))], applies: 'kubectl'},
  ],
  DNS_SERVER_UNREACHABLE: (f) => f.path.length > 0 ? [...f.path] : [{summary: `Open the path for UDP 53 from the cluster DNS pod to ${f.server} (the server of ${f.zone}).`, commands: [], applies: 'manual'}],
  DNS_RECORD_STALE: (f) => [{
    summary: `Link again to rewrite the records: ${f.name} is served as ${f.served}, but its Service's load balancer is ${f.current} now.`,
    commands: [cmd(['xcc', 'dns', 'link', '--from-context', f.from.context, '--to-context', f.to.context, ...(f.domain !== DEFAULT_LINK_DOMAIN ? ['--domain', f.domain] : [])], contextNote(f.from.known ? f.to : f.from))],
    applies: 'xcc',
  }],
}

export function buildFixes(facts: FixFacts): Fix[] {
  return (BUILDERS[facts.code] as (f: FixFacts) => Fix[])(facts)
}

/**
 * The contract's `diagnosis.fix`: the recommended fix's commands (its summary when it has none),
 * then every alternative's, prefixed `or:`.
 */
export function fixLines(fixes: readonly Fix[]): string[] {
  return fixes.flatMap((f, i) => {
    const lines = f.commands.length > 0 ? f.commands : [f.summary]
    return i === 0 ? lines : lines.map((l) => `or: ${l}`)
  })
}
