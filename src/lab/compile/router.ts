/**
 * A VPC network as a router namespace (docs/lab.md): every instance NIC is a point-to-point veth
 * whose router side holds the subnet gateway, so all traffic — even inside a subnet — crosses the
 * router and its firewall, as on GCP. Routing is policy-based by incoming interface:
 * - from an instance: a table per tag set with the routes that apply to it (ROUTE-03), subnet
 *   routes that custom routes cannot override (ROUTE-06), longest prefix then priority → metric,
 *   ties as ECMP (ROUTE-04), next hops resolved as the tracer does (ROUTE-09, ILB-13, ROUTE-12),
 *   and a custom route that a subnet lets win takes the addresses inside it (ROUTE-06(c));
 * - from a peering link: only what this network owns and the custom routes the peer imported
 *   from it (PEER-02…PEER-07), so a packet never crosses two peerings (non-transitive).
 * Unrouted packets are black-holed silently, as GCP drops them (no ICMP).
 */
import {type Cidr, cidrContains, formatCidr, formatIp} from '../../core/net/ipv4.js'
import type {InstanceFacts, NetworkFacts, RouteFacts} from '../../core/topology/model-types.js'
import {applies} from '../../core/topology/route-table.js'
import {type PlanContext, nicHop, routerNs} from './context.js'
import {loadBalancerBackends} from './health-checks.js'
import {routerFirewall} from './firewall.js'
import {linkAlias, peerIface, routerIface} from './names.js'
import type {NamespacePlan, VethPlan} from './types.js'

type Hop = {readonly via: string; readonly dev: string}
type Target = {readonly kind: 'hops'; readonly hops: readonly Hop[]} | {readonly kind: 'blackhole'} | {readonly kind: 'dev'; readonly dev: string}

interface Entry {
  readonly dest: Cidr
  readonly metric: number
  readonly target: Target
}

const OWNED = 0
const SUBNET = 1
/** custom routes: priority 0…65535 → metric 2…65537 (lower wins, as priority) */
const customMetric = (route: RouteFacts): number => route.priority + 2
const FALLBACK = 100_000
const BLACKHOLE: Target = {kind: 'blackhole'}
/**
 * Routing table ids derive from stable indexes (name-map.ts), so that a change elsewhere leaves a
 * table's id, and thus its routes and rules, as they are: an instance tag set's table is named
 * after the lowest host index holding that set, a peer's table after the peer network's index.
 */
const TAG_TABLE_BASE = 1000
const PEER_TABLE_BASE = 100_000_000

export function compileRouter(ctx: PlanContext, network: NetworkFacts): {ns: NamespacePlan; links: VethPlan[]} {
  const ns = routerNs(ctx, network.name)
  const ip: string[] = []
  const links: VethPlan[] = []
  const members = ctx.hosts.flatMap((h) => h.nics.filter((n) => n.network === network.name).map((nic) => ({host: h, nic})))
  for (const {host, nic} of members) {
    const dev = routerIface(ctx.hostIndex.get(host.name) as number, nic.index)
    ip.push(`link set ${dev} up`, `addr add ${formatIp(nic.subnet.gateway)}/32 dev ${dev}`)
  }
  const owned = ownedEntries(ctx, network)
  // tables for instances, one per tag set (routes apply by tags, ROUTE-03)
  const tagKey = (h: InstanceFacts): string => h.tags.join('\u0000')
  const byTags = new Map<string, number>()
  for (const {host} of members) {
    const id = TAG_TABLE_BASE + (ctx.hostIndex.get(host.name) as number)
    byTags.set(tagKey(host), Math.min(byTags.get(tagKey(host)) ?? id, id))
  }
  const written = new Set<number>()
  for (const {host, nic} of members) {
    const id = byTags.get(tagKey(host)) as number
    if (!written.has(id)) {
      written.add(id)
      ip.push(...routeLines(id, withCustom(network, owned, senderEntries(ctx, network, host.tags))))
    }
    ip.push(`rule add iif ${routerIface(ctx.hostIndex.get(host.name) as number, nic.index)} lookup ${id} pref 100`)
  }
  // peering links: created once per pair (from the lower-indexed side), a table per peer
  for (const peer of network.peerings) {
    const link = ctx.peerLinks.get(`${network.name}|${peer.spec.network}`)
    if (!link) continue
    const peerIndex = ctx.networkIndex.get(peer.spec.network) as number
    const dev = peerIface(peerIndex)
    if ((ctx.networkIndex.get(network.name) as number) < peerIndex) {
      links.push({
        a: {ns, iface: dev},
        b: {ns: routerNs(ctx, peer.spec.network), iface: peerIface(ctx.networkIndex.get(network.name) as number)},
        alias: linkAlias(ctx.lab, `peering ${network.name} <-> ${peer.spec.network}`),
      })
    }
    ip.push(`link set ${dev} up`, `addr add ${link.local}/32 peer ${link.remote}/32 dev ${dev}`)
    const id = PEER_TABLE_BASE + peerIndex
    ip.push(...routeLines(id, withCustom(network, owned, peerInEntries(ctx, network, peer.spec.network))))
    ip.push(`rule add iif ${dev} lookup ${id} pref 100`)
  }
  return {
    ns: {
      name: ns, role: 'router', ref: `network/${network.name}`, ip,
      sysctls: [
        ['net.ipv4.ip_forward', '1'], ['net.ipv4.conf.all.rp_filter', '0'], ['net.ipv4.conf.default.rp_filter', '0'],
        ['net.ipv4.conf.all.send_redirects', '0'], ['net.ipv4.conf.default.send_redirects', '0'],
        // a connection's packets follow one ECMP path (5-tuple hash), as a load balancer keeps a flow on one backend
        ['net.ipv4.fib_multipath_hash_policy', '1'],
      ],
      iptables: routerFirewall(ctx, network, members),
    },
    links,
  }
}

/** What the network delivers itself: NIC addresses, alias ranges, load-balancer VIPs and black holes for the rest of its subnets. */
function ownedEntries(ctx: PlanContext, network: NetworkFacts): Entry[] {
  const out: Entry[] = []
  for (const host of ctx.hosts) {
    for (const nic of host.nics) {
      if (nic.network !== network.name) continue
      const dev = routerIface(ctx.hostIndex.get(host.name) as number, nic.index)
      out.push({dest: {base: nic.ip, prefix: 32}, metric: OWNED, target: {kind: 'dev', dev}})
      for (const range of nic.aliasRanges) out.push({dest: range, metric: OWNED, target: {kind: 'hops', hops: [{via: formatIp(nic.ip), dev}]}})
    }
  }
  for (const fr of ctx.model.forwardingRules.values()) {
    if (fr.network !== network.name) continue
    const hops = loadBalancerBackends(ctx.model, fr).map((b) => nicHop(ctx, b, fr.network)).filter((h): h is Hop => h !== undefined)
    out.push({dest: {base: fr.ip, prefix: 32}, metric: OWNED, target: hops.length ? {kind: 'hops', hops} : BLACKHOLE})
  }
  for (const route of network.routes.routes) {
    if (route.kind === 'SUBNET') out.push({dest: route.destRange, metric: SUBNET, target: BLACKHOLE})
  }
  return out
}

/**
 * A table: what the network delivers itself, then custom routes. ROUTE-06(c): a custom route that
 * a subnet lets win (more specific than the subnet route) also takes the addresses inside it that
 * the router would otherwise deliver itself (NIC, alias range, VIP): the VPC has no host routes.
 */
function withCustom(network: NetworkFacts, owned: readonly Entry[], custom: readonly Entry[]): Entry[] {
  const subnets = network.routes.routes.filter((r) => r.kind === 'SUBNET')
  const overridden = (o: Entry): boolean => {
    if (o.metric !== OWNED) return false
    const subnet = subnets.filter((r) => cidrContains(r.destRange, o.dest)).sort((a, b) => b.destRange.prefix - a.destRange.prefix)[0]
    return subnet !== undefined && custom.some((c) => c.metric > SUBNET && c.dest.prefix > subnet.destRange.prefix && cidrContains(c.dest, o.dest))
  }
  return [...owned.filter((o) => !overridden(o)), ...custom]
}

/** ROUTE-06: a custom route inside a subnet range never wins unless the subnet allows more specific routes. */
function shadowed(network: NetworkFacts, route: RouteFacts): boolean {
  return network.routes.routes.some((s) =>
    (s.kind === 'SUBNET' || s.kind === 'PEERING_SUBNET') && cidrContains(s.destRange, route.destRange) &&
    !(s.subnet?.allowSubnetCidrRoutesOverlap && route.destRange.prefix > s.destRange.prefix))
}

function senderEntries(ctx: PlanContext, network: NetworkFacts, tags: readonly string[]): Entry[] {
  const out: Entry[] = []
  for (const route of network.routes.routes) {
    if (route.kind === 'SUBNET') continue
    if (route.kind === 'PEERING_SUBNET') {
      out.push({dest: route.destRange, metric: SUBNET, target: peerTarget(ctx, network.name, route)})
      continue
    }
    if (!applies(route, tags) || shadowed(network, route)) continue
    out.push({
      dest: route.destRange, metric: customMetric(route),
      target: route.kind === 'PEERING_STATIC' ? peerTarget(ctx, network.name, route) : resolveNextHop(ctx, route, network.name),
    })
  }
  return out
}

/** Routes for packets arriving over the peering from `peer`: the custom routes the peer imported from this network (PEER-04). */
function peerInEntries(ctx: PlanContext, network: NetworkFacts, peer: string): Entry[] {
  const peerNetwork = ctx.model.networks.get(peer)
  if (!peerNetwork) return []
  return peerNetwork.routes.routes
    .filter((r) => r.kind === 'PEERING_STATIC' && r.peering?.peerNetwork === network.name)
    .map((r) => ({dest: r.destRange, metric: customMetric(r), target: resolveNextHop(ctx, r, network.name)}))
}

function peerTarget(ctx: PlanContext, network: string, route: RouteFacts): Target {
  const peer = route.peering?.peerNetwork
  const link = peer ? ctx.peerLinks.get(`${network}|${peer}`) : undefined
  if (!peer || !link) return BLACKHOLE
  return {kind: 'hops', hops: [{via: link.remote, dev: peerIface(ctx.networkIndex.get(peer) as number)}]}
}

/** ROUTE-09 / ILB-13 / ROUTE-12: where a custom route's next hop is, inside network `home`. */
function resolveNextHop(ctx: PlanContext, route: RouteFacts, home: string): Target {
  const hop = route.nextHop
  const viaInstance = (instance: InstanceFacts | undefined): Target => {
    const h = instance ? nicHop(ctx, instance, home) : undefined
    return h ? {kind: 'hops', hops: [h]} : BLACKHOLE
  }
  const viaLoadBalancer = (name: string): Target => {
    const fr = ctx.model.forwardingRules.get(name)
    // ILB-13: the next-hop load balancer delivers inside its own network; this router reaches no other network's backends
    if (!fr || fr.network !== home) return BLACKHOLE
    const hops = loadBalancerBackends(ctx.model, fr).map((b) => nicHop(ctx, b, fr.network)).filter((h): h is Hop => h !== undefined)
    return hops.length ? {kind: 'hops', hops} : BLACKHOLE
  }
  switch (hop.type) {
    case 'INSTANCE':
      return viaInstance(ctx.model.instances.get(hop.instance))
    case 'IP': {
      const owner = ctx.model.ownerOf(home, hop.ip)
      if (!owner || owner.kind === 'alias') return BLACKHOLE
      if (owner.kind === 'forwardingRule') return viaLoadBalancer(owner.name)
      return viaInstance(ctx.model.instances.get(owner.instance))
    }
    case 'ILB': {
      const byName = ctx.model.forwardingRules.get(hop.ref)
      const fr = byName ?? [...ctx.model.forwardingRules.values()].find((f) => formatIp(f.ip) === hop.ref && f.network === home)
      return fr ? viaLoadBalancer(fr.name) : BLACKHOLE
    }
    default:
      return BLACKHOLE
  }
}

/** `ip route` lines for a table: equal prefix and metric become one multipath route (ECMP, ROUTE-04). */
function routeLines(table: number, entries: readonly Entry[]): string[] {
  const grouped = new Map<string, Entry[]>()
  for (const e of entries) {
    const key = `${formatCidr(e.dest)}|${e.metric}`
    const list = grouped.get(key)
    if (list) list.push(e)
    else grouped.set(key, [e])
  }
  const lines: string[] = []
  for (const group of grouped.values()) {
    const first = group[0] as Entry
    const where = `${formatCidr(first.dest)} table ${table} metric ${first.metric}`
    const hops = group.flatMap((e) => (e.target.kind === 'hops' ? e.target.hops : []))
    const dev = group.find((e) => e.target.kind === 'dev')?.target as {dev: string} | undefined
    const unique = [...new Map(hops.map((h) => [`${h.via}|${h.dev}`, h])).values()]
    if (dev) lines.push(`route add ${where} dev ${dev.dev}`)
    else if (unique.length === 1) lines.push(`route add ${where} via ${(unique[0] as Hop).via} dev ${(unique[0] as Hop).dev} onlink`)
    else if (unique.length > 1) lines.push(`route add ${where} ${unique.map((h) => `nexthop via ${h.via} dev ${h.dev} onlink`).join(' ')}`)
    else lines.push(`route add blackhole ${where}`)
  }
  lines.push(`route add blackhole default table ${table} metric ${FALLBACK}`)
  return lines
}
