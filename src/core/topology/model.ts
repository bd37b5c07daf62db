/**
 * Topology → Model: the facts the tracer needs, derived once (contracts.md §1, "Implied by a
 * cluster"): GKE nodes as instances, per-node pod routes, alias ranges, peering state and
 * the routes each peering exchanges, firewalls in evaluation order, address ownership.
 */
import type {TopologyIssue} from '../errors.js'
import {parseIptablesSave} from '../iptables/parse.js'
import {parseIpsetSave} from '../iptables/ipset-parse.js'
import {setsNamedBy} from '../iptables/ipset-match.js'
import type {IpSets, Ruleset} from '../iptables/types.js'
import {type Cidr, type Ip, addIp, cidr, cidrContains, ip, maskOf} from '../net/ipv4.js'
import {isZone, parsePortRange, regionOfZone, subnetKey} from './issues.js'
import type {
  AddressOwner, ClusterFacts, FirewallFacts, ForwardingRuleFacts, GuestRoute, InstanceFacts, Model, NetworkFacts, NextHop, NodeFacts, PodFacts,
  RouteFacts, ServiceFacts, SubnetFacts,
} from './model-types.js'
import {GKE_DEFAULT_NON_MASQUERADE, renderNodeIptables} from './node-rules.js'
import {type PeeringState, computePeeringStates} from './peering-state.js'
import {RouteTable} from './route-table.js'
import type {FirewallSpec, Topology} from './schema.js'

/** Ranges GCP treats as private or special-use; a subnet outside them uses privately used public IPs (PEER-03). */
const SPECIAL_USE = GKE_DEFAULT_NON_MASQUERADE.map(([range]) => cidr(range))

/** one table (`*name` … `COMMIT`) of iptables-save text, with its header; undefined when absent */
function tableOf(text: string, name: string): string | undefined {
  const m = new RegExp(`^\\*${name}\\s*$[\\s\\S]*?^COMMIT\\s*$`, 'm').exec(text)
  return m ? `${m[0]}\n` : undefined
}

export function isPrivatelyUsedPublic(range: Cidr): boolean {
  return !SPECIAL_USE.some((s) => cidrContains(s, range))
}

/** Builds the model of a valid topology. iptables dumps are parsed here, once; their syntax errors come back as issues. */
export function buildModel(t: Topology): {model: Model; issues: TopologyIssue[]} {
  const issues: TopologyIssue[] = []
  // Nodes of one cluster mostly run the same rules: parse each distinct text once and share its tables.
  const parsedByText = new Map<string, {tables: Ruleset['tables']; errors: ReturnType<typeof parseIptablesSave>['errors']}>()
  const parseRules = (text: string, source: string, path: string): Ruleset => {
    let parsed = parsedByText.get(text)
    if (!parsed) {
      const result = parseIptablesSave(text, source)
      parsedByText.set(text, (parsed = {tables: result.ruleset.tables, errors: result.errors}))
    }
    for (const e of parsed.errors) issues.push({path, message: `iptables line ${e.line}: ${e.message}`, value: e.text})
    return {source, tables: parsed.tables}
  }
  const setsByText = new Map<string, ReturnType<typeof parseIpsetSave>>()
  const parseSets = (text: string, source: string, path: string): IpSets => {
    let parsed = setsByText.get(text)
    if (!parsed) setsByText.set(text, (parsed = parseIpsetSave(text, source)))
    for (const e of parsed.errors) issues.push({path, message: `ipset line ${e.line}: ${e.message}`, value: e.text})
    return parsed.ipsets
  }
  /** a -m set naming a set that the node's (non-empty) ipsets do not define is a load error, as iptables-restore refuses it */
  const checkSets = (ruleset: Ruleset, ipsets: IpSets | undefined, rulesPath: string, setsPath: string): void => {
    if (!ipsets || ipsets.names.length === 0) return
    for (const {name, rule} of setsNamedBy(ruleset)) {
      if (!ipsets.names.includes(name)) issues.push({path: rulesPath, message: `iptables line ${rule.line}: -m set names set ${name}, which ${setsPath} does not define`, value: rule.text})
    }
  }

  const subnets = new Map<string, SubnetFacts>()
  for (const n of t.networks) {
    for (const s of n.subnets) {
      const primary = cidr(s.ipCidrRange)
      subnets.set(subnetKey(n.name, s.name), {
        name: s.name, network: n.name, region: s.region, primary,
        secondary: s.secondaryIpRanges.map((r) => ({rangeName: r.rangeName, cidr: cidr(r.ipCidrRange)})),
        allowSubnetCidrRoutesOverlap: s.allowSubnetCidrRoutesOverlap,
        gateway: addIp(primary.base, 1),
      })
    }
  }
  const subnet = (network: string, name: string): SubnetFacts => subnets.get(subnetKey(network, name)) as SubnetFacts

  const forwardingRules = new Map<string, ForwardingRuleFacts>()
  const backendServices = new Map(t.backendServices.map((b) => [b.name, b]))
  for (const f of t.forwardingRules) {
    forwardingRules.set(f.name, {
      name: f.name, region: f.region, network: f.network, subnet: subnet(f.network, f.subnetwork), ip: ip(f.IPAddress), protocol: f.IPProtocol,
      ports: f.allPorts ? undefined : (f.ports ?? []).map((p) => {
        const [lo, hi] = parsePortRange(p) as [number, number]
        return {lo, hi}
      }),
      portsText: f.allPorts ? [] : (f.ports ?? []),
      allowGlobalAccess: f.allowGlobalAccess,
      sourceIpRanges: f.sourceIpRanges.map((r) => cidr(r)),
      backendService: backendServices.get(f.backendService) as Topology['backendServices'][number],
    })
  }
  const vipsBacked = new Map<string, ForwardingRuleFacts[]>()
  for (const fr of forwardingRules.values()) {
    for (const backend of fr.backendService.backends) vipsBacked.set(backend, [...(vipsBacked.get(backend) ?? []), fr])
  }

  const instances = new Map<string, InstanceFacts>()
  const clusters = new Map<string, ClusterFacts>()
  const nodes = new Map<string, NodeFacts>()
  t.clusters.forEach((c, ci) => {
    const clusterSubnet = subnet(c.network, c.subnetwork)
    const region = isZone(c.location) ? regionOfZone(c.location) : c.location
    const nodeFacts: NodeFacts[] = c.nodes.map((n) => {
      const podCidr = cidr(n.podCidr)
      return {
        name: n.name, cluster: c.name, ip: ip(n.networkIP), podCidr, podGateway: addIp(podCidr.base, 1),
        masqueradeOrigin: n.iptables !== undefined ? 'node.iptables' : 'kubenet' in c.masquerade ? 'kubenet' : 'ipMasq' in c.masquerade ? 'ipMasq' : 'disabled',
      }
    })
    const nodeByName = new Map(nodeFacts.map((n) => [n.name, n]))
    const pods: PodFacts[] = c.pods.map((p) => ({
      cluster: c.name, namespace: p.namespace, name: p.name, node: p.node, ip: ip(p.ip), ports: p.ports, hostNetwork: p.hostNetwork, declared: true,
      nodeIface: p.hostNetwork ? 'eth0' : podIface(c.mode, ip(p.ip)),
    }))
    const services: ServiceFacts[] = c.services.map((s) => ({
      cluster: c.name, namespace: s.namespace, name: s.name, type: s.type, clusterIP: ip(s.clusterIP), ports: s.ports,
      endpoints: s.endpoints.map((e) => pods.find((p) => p.namespace === s.namespace && p.name === e) as PodFacts),
      externalTrafficPolicy: s.externalTrafficPolicy, forwardingRule: s.loadBalancer?.forwardingRule,
    }))
    clusters.set(c.name, {
      name: c.name, spec: c, network: c.network, subnet: clusterSubnet, region, mode: c.mode,
      podRange: cidr(c.clusterIpv4Cidr), serviceRange: cidr(c.servicesIpv4Cidr), nodes: nodeFacts, pods, services,
    })
    const renderFor = (node: string): string => renderNodeIptables({
      podRange: c.clusterIpv4Cidr,
      masquerade: c.masquerade,
      services: services.map((s) => ({
        ...s,
        endpoints: s.endpoints.map((e) => ({ip: e.ip, local: e.node === node})),
        loadBalancerIP: s.forwardingRule ? forwardingRules.get(s.forwardingRule)?.ip : undefined,
      })),
    })
    // Only externalTrafficPolicy Local makes a node's rules depend on which endpoints it hosts.
    const shared = services.some((s) => s.externalTrafficPolicy === 'Local') ? undefined : renderFor('')
    c.nodes.forEach((n, ni) => {
      const facts = nodeByName.get(n.name) as NodeFacts
      nodes.set(n.name, facts)
      let text = n.iptables ?? shared ?? renderFor(n.name)
      const origin = n.iptables !== undefined ? 'node.iptables' : 'derived'
      const rulesPath = `clusters[${ci}].nodes[${ni}].iptables`
      const setsPath = `clusters[${ci}].nodes[${ni}].ipsets`
      const derivedSource = `node/${n.name} rules derived from masquerade and services`
      let ruleset = parseRules(text, origin === 'derived' ? derivedSource : `node/${n.name} iptables`, rulesPath)
      // a dump without a filter table (`iptables-save -t nat`, as xcc snapshot --node-rules reads it) says
      // nothing of kube-proxy's rejects: those are derived from the services, as without a dump (SVC-06)
      if (origin === 'node.iptables' && !ruleset.tables.has('filter')) {
        const filter = tableOf(shared ?? renderFor(n.name), 'filter')
        const table = filter ? parseRules(filter, derivedSource, rulesPath).tables.get('filter') : undefined
        if (table && filter) {
          ruleset = {source: ruleset.source, tables: new Map([...ruleset.tables, ['filter', table]])}
          // the lab applies the same tables
          text = `${text.replace(/\n*$/, '\n')}${filter}`
        }
      }
      const ipsets = n.ipsets === undefined ? undefined : parseSets(n.ipsets, `node/${n.name} ipsets`, setsPath)
      checkSets(ruleset, ipsets, rulesPath, setsPath)
      instances.set(n.name, {
        name: n.name, kind: 'node', zone: n.zone ?? c.location, region, tags: n.tags ?? [`gke-${c.name}-node`],
        // contracts.md §1 / GKE-05: routes-based nodes receive packets for pod IPs that are not theirs.
        canIpForward: c.mode === 'ROUTES',
        nics: [{
          index: 0, network: c.network, subnet: clusterSubnet, ip: facts.ip, guestIface: 'eth0',
          // GKE-02: a VPC-native node's pods are an alias range of nic0.
          aliasRanges: c.mode === 'VPC_NATIVE' ? [facts.podCidr] : [],
        }],
        guest: {
          ipForward: true,
          routes: [{destRange: clusterSubnet.primary, nic: 0, origin: 'connected'}, {destRange: {base: 0, prefix: 0}, nic: 0, origin: 'default'}],
          ruleset,
          rulesOrigin: origin,
          rulesText: text,
          ...(origin === 'derived' ? {} : {rulesPath}),
          ...(ipsets === undefined ? {} : {ipsets, ipsetsText: n.ipsets, ipsetsPath: setsPath}),
        },
        cluster: c.name,
      })
    })
  })

  t.instances.forEach((m, mi) => {
    const nics = m.networkInterfaces.map((nic, index) => ({
      index, network: nic.network, subnet: subnet(nic.network, nic.subnetwork), ip: ip(nic.networkIP), guestIface: `nic${index}`,
      aliasRanges: nic.aliasIpRanges.map((a) => cidr(a.ipCidrRange)),
    }))
    // contracts.md §1 guest: connected subnets and "default via nic0" are implied (ROUTE-11).
    const routes: GuestRoute[] = [
      ...nics.map((nic) => ({destRange: nic.subnet.primary, nic: nic.index, origin: 'connected' as const})),
      ...m.guest.routes.map((r) => ({destRange: cidr(r.destRange), nic: r.nic, origin: 'declared' as const})),
      {destRange: {base: 0, prefix: 0}, nic: 0, origin: 'default'},
    ]
    instances.set(m.name, {
      name: m.name, kind: 'vm', zone: m.zone, region: regionOfZone(m.zone), tags: m.tags, canIpForward: m.canIpForward, nics,
      guest: {
        ipForward: m.guest.ipForward, routes, listen: m.guest.listen,
        rulesOrigin: m.guest.iptables === undefined ? 'none' : 'guest.iptables',
        ...(m.guest.iptables === undefined ? {} : {
          rulesText: m.guest.iptables, rulesPath: `instances[${mi}].guest.iptables`,
          ruleset: parseRules(m.guest.iptables, `instance/${m.name} guest iptables`, `instances[${mi}].guest.iptables`),
        }),
      },
    })
  })

  const peerings = computePeeringStates(t)
  const networks = buildNetworks(t, subnets, clusters, peerings)
  const owners = buildOwnerIndex(instances, forwardingRules)

  const model: Model = {
    topology: t, networks, instances, clusters, nodes, forwardingRules, peerings,
    ownerOf: (network, address) => owners.get(network)?.lookup(address),
    vipsBackedBy: (instance) => vipsBacked.get(instance) ?? [],
  }
  return {model, issues}
}

/** The node-side interface of a pod: kubenet's bridge, or a per-pod veth on VPC-native nodes. */
export function podIface(mode: 'ROUTES' | 'VPC_NATIVE', podIp: Ip): string {
  return mode === 'ROUTES' ? 'cbr0' : `gke${podIp.toString(16).padStart(8, '0')}`
}

function buildNetworks(t: Topology, subnets: Map<string, SubnetFacts>, clusters: Map<string, ClusterFacts>, peerings: PeeringState[]): Map<string, NetworkFacts> {
  const local = new Map<string, RouteFacts[]>()
  const statics = new Map<string, RouteFacts[]>()
  const push = (map: Map<string, RouteFacts[]>, network: string, route: RouteFacts): void => {
    const list = map.get(network)
    if (list) list.push(route)
    else map.set(network, [route])
  }
  for (const s of subnets.values()) {
    // PEER-02 / GKE-02: primary and secondary ranges each make a subnet route.
    push(local, s.network, {name: s.name, network: s.network, destRange: s.primary, priority: 0, tags: [], kind: 'SUBNET', nextHop: {type: 'NETWORK', network: s.network}, subnet: s})
    for (const r of s.secondary) {
      push(local, s.network, {name: `${s.name}/${r.rangeName}`, network: s.network, destRange: r.cidr, priority: 0, tags: [], kind: 'SUBNET', nextHop: {type: 'NETWORK', network: s.network}, subnet: s})
    }
  }
  t.routes.forEach((r, index) => push(statics, r.network, {
    name: r.name, network: r.network, destRange: cidr(r.destRange), priority: r.priority, tags: r.tags, kind: 'STATIC', nextHop: nextHopOf(r), index,
  }))
  for (const c of clusters.values()) {
    if (c.mode !== 'ROUTES') continue
    // contracts.md §1 / GKE-04: one static route per node for its podCidr, next hop the node.
    for (const n of c.nodes) {
      push(statics, c.network, {
        name: `${n.name}-pods`, network: c.network, destRange: n.podCidr, priority: 1000, tags: [], kind: 'STATIC',
        nextHop: {type: 'INSTANCE', instance: n.name}, impliedBy: {cluster: c.name, node: n.name},
      })
    }
  }
  const firewalls = new Map<string, FirewallFacts[]>()
  t.firewalls.forEach((f, index) => {
    if (f.disabled) return // FW-01: a disabled rule behaves as if it did not exist.
    const list = firewalls.get(f.network) ?? []
    list.push(firewallFacts(f, index))
    firewalls.set(f.network, list)
  })

  const networks = new Map<string, NetworkFacts>()
  for (const n of t.networks) {
    const table = new RouteTable()
    for (const r of local.get(n.name) ?? []) table.add(r)
    for (const r of statics.get(n.name) ?? []) table.add(r)
    const own = peerings.filter((p) => p.network === n.name)
    for (const p of own) {
      if (p.state !== 'ACTIVE' || !p.peerSpec) continue // PEER-01: only ACTIVE peerings exchange routes.
      const via = {name: p.spec.name, peerNetwork: p.spec.network}
      // PEER-02/03 and PEER-07: the peer's OWN subnet routes, never what it learned from its other peers.
      for (const r of local.get(p.spec.network) ?? []) {
        if (isPrivatelyUsedPublic(r.destRange) && !(p.peerSpec.exportSubnetRoutesWithPublicIp && p.spec.importSubnetRoutesWithPublicIp)) continue
        table.add({...r, network: n.name, kind: 'PEERING_SUBNET', peering: via})
      }
      // PEER-04/05: custom routes only with export on the peer and import here; tagged and internet routes never.
      if (p.peerSpec.exportCustomRoutes && p.spec.importCustomRoutes) {
        for (const r of statics.get(p.spec.network) ?? []) {
          if (r.tags.length > 0 || r.nextHop.type === 'INTERNET_GATEWAY') continue
          table.add({...r, network: n.name, kind: 'PEERING_STATIC', peering: via})
        }
      }
    }
    const rules = (firewalls.get(n.name) ?? []).sort((a, b) => a.priority - b.priority || (a.action === b.action ? a.index - b.index : a.action === 'deny' ? -1 : 1))
    networks.set(n.name, {
      name: n.name,
      subnets: [...subnets.values()].filter((s) => s.network === n.name),
      routes: table,
      ingress: rules.filter((r) => r.direction === 'INGRESS'),
      egress: rules.filter((r) => r.direction === 'EGRESS'),
      peerings: own,
    })
  }
  return networks
}

function nextHopOf(r: Topology['routes'][number]): NextHop {
  if (r.nextHopInstance !== undefined) return {type: 'INSTANCE', instance: r.nextHopInstance}
  if (r.nextHopIp !== undefined) return {type: 'IP', ip: ip(r.nextHopIp)}
  if (r.nextHopIlb !== undefined) return {type: 'ILB', ref: r.nextHopIlb}
  return {type: 'INTERNET_GATEWAY'}
}

function firewallFacts(f: FirewallSpec, index: number): FirewallFacts {
  const entries = f.allowed ?? f.denied ?? []
  const any = [{base: 0, prefix: 0}]
  return {
    name: f.name, network: f.network, direction: f.direction, priority: f.priority, action: f.allowed ? 'allow' : 'deny', index,
    // gcloud: an ingress rule without sources applies to 0.0.0.0/0; an egress rule without destinations too.
    sourceRanges: f.direction === 'INGRESS' && f.sourceRanges.length === 0 && f.sourceTags.length === 0 ? any : f.sourceRanges.map((r) => cidr(r)),
    sourceTags: f.sourceTags,
    destinationRanges: f.destinationRanges.map((r) => cidr(r)),
    targetTags: f.targetTags,
    protocols: entries.map((e) => ({
      protocol: e.IPProtocol,
      ...(e.ports && e.ports.length > 0 ? {ports: e.ports.map((p) => {
        const [lo, hi] = parsePortRange(p) as [number, number]
        return {lo, hi}
      })} : {}),
    })),
  }
}

/** Per network: exact owners (NIC primary IPs, VIPs) and alias ranges indexed by prefix. */
class OwnerIndex {
  private readonly exact = new Map<Ip, AddressOwner>()
  private readonly ranges = new Map<number, Map<number, AddressOwner>>()

  addExact(address: Ip, owner: AddressOwner): void {
    this.exact.set(address, owner)
  }

  addRange(range: Cidr, owner: AddressOwner): void {
    const level = this.ranges.get(range.prefix) ?? new Map<number, AddressOwner>()
    level.set(range.base, owner)
    this.ranges.set(range.prefix, level)
  }

  lookup(address: Ip): AddressOwner | undefined {
    const hit = this.exact.get(address)
    if (hit) return hit
    for (const [prefix, level] of this.ranges) {
      const owner = level.get((address & maskOf(prefix)) >>> 0)
      if (owner) return owner
    }
    return undefined
  }
}

function buildOwnerIndex(instances: Map<string, InstanceFacts>, forwardingRules: Map<string, ForwardingRuleFacts>): Map<string, OwnerIndex> {
  const index = new Map<string, OwnerIndex>()
  const of = (network: string): OwnerIndex => {
    let i = index.get(network)
    if (!i) index.set(network, (i = new OwnerIndex()))
    return i
  }
  for (const m of instances.values()) {
    for (const nic of m.nics) {
      of(nic.network).addExact(nic.ip, {kind: 'nic', instance: m.name, nic: nic.index})
      for (const range of nic.aliasRanges) of(nic.network).addRange(range, {kind: 'alias', instance: m.name, nic: nic.index, range})
    }
  }
  for (const fr of forwardingRules.values()) of(fr.network).addExact(fr.ip, {kind: 'forwardingRule', name: fr.name})
  return index
}
