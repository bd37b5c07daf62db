/**
 * The VPC between instances (gcp-network-semantics.md §9 steps 4–7): anti-spoofing (ROUTE-10),
 * egress and ingress firewalls with connection tracking (FW-07, FW-08), route selection and
 * next hops (ROUTE-03…ROUTE-12, PEER-04), and resolving who owns the destination.
 */
import {LINK_LOCAL, cidrContainsIp, formatCidr, formatIp, maskOf} from '../net/ipv4.js'
import type {ClusterFacts, InstanceFacts, Model, NetworkFacts, NicFacts, RouteFacts} from '../topology/model-types.js'
import {isPrivatelyUsedPublic} from '../topology/model.js'
import {evaluateVpcFirewall} from './firewall.js'
import {type Ended, MAX_HOPS, type Trail, type WalkContext, abort, branch, drop, instancePlace, natView, networkPlace, packetText, reversePacket, step, tupleKey} from './trail.js'
import type {Packet, RouteView} from './types.js'

/** ROUTE-12: an address the internet gateway could reach: not private or special-use (SNAT-11's list), not link-local. */
export function isInternetAddress(address: number): boolean {
  return isPrivatelyUsedPublic({base: address, prefix: 32}) && !cidrContainsIp(LINK_LOCAL, address)
}

/** ROUTE-10: an instance may send and receive for its NIC addresses, alias ranges and the VIPs it backs. */
function ownsAddress(ctx: WalkContext, instance: InstanceFacts, nic: NicFacts, address: number): boolean {
  if (nic.ip === address || nic.aliasRanges.some((r) => cidrContainsIp(r, address))) return true
  return ctx.model.vipsBackedBy(instance.name).some((f) => f.ip === address && f.network === nic.network)
}

function assumed(ctx: WalkContext, kind: 'allow-firewall', instance: string, direction: 'INGRESS' | 'EGRESS'): boolean {
  return ctx.assumptions.some((a) => a.kind === kind && a.instance === instance && a.direction === direction)
}

/** The packet leaves `instance` through NIC `nicIndex` into that NIC's VPC network. */
export function emitIntoVpc(ctx: WalkContext, trail: Trail, instance: InstanceFacts, nicIndex: number, packet: Packet): Ended[] {
  const at = instancePlace(instance)
  const nic = instance.nics[nicIndex]
  const network = nic ? ctx.model.networks.get(nic.network) : undefined
  if (!nic || !network) return drop(trail, at, packet, 'XCC_GUEST_NO_ROUTE', `${instance.name} has no nic${nicIndex}`)
  if (ctx.direction === 'forward' && ctx.assumptions.some((a) => a.kind === 'snat' && a.instance === instance.name) && packet.src !== nic.ip) {
    const after = {...packet, src: nic.ip}
    trail.conntrack.push({host: instance.name, before: packet, after})
    trail.add(step('NAT', at, packet, `assumed fix: ${instance.name} masquerades ${formatIp(packet.src)} → ${formatIp(nic.ip)}`, {
      nat: natView('XCC_ASSUMED_SNAT', packet, after),
    }))
    packet = after
  }
  if (!ownsAddress(ctx, instance, nic, packet.src)) {
    if (!instance.canIpForward) {
      return drop(trail, at, packet, 'FOREIGN_IP_DISALLOWED', `${instance.name} sends with source ${formatIp(packet.src)}, which is not its address, and canIpForward is false (ROUTE-10)`)
    }
    trail.add(step('SPOOFING_APPROVED', at, packet, `${instance.name} may send with the foreign source ${formatIp(packet.src)}: canIpForward is true (ROUTE-10)`))
  }
  // FW-07: a reply of a connection this NIC accepted is allowed by connection tracking.
  if (ctx.direction === 'return' && trail.tracked.has(`in|${instance.name}|${nicIndex}|${tupleKey(reversePacket(packet))}`)) {
    trail.add(step('APPLY_EGRESS_FIREWALL_RULE', at, packet, `reply of a tracked connection: egress rules are not evaluated (FW-07)`, {
      firewall: {name: 'connection-tracking', type: 'TRACKING_STATE', action: 'allow', priority: 0, network: network.name, direction: 'EGRESS'},
    }))
  } else {
    const decision = evaluateVpcFirewall(ctx.model, network, instance, 'EGRESS', packet)
    const detail = `${decision.view.name} (${decision.view.action}, priority ${decision.view.priority}) in ${network.name} applies to egress from ${instance.name}`
    if (decision.action === 'deny' && !assumed(ctx, 'allow-firewall', instance.name, 'EGRESS')) {
      // as Connectivity Tests do: the rule that applied, then the drop it causes (§9 step 4)
      trail.add(step('APPLY_EGRESS_FIREWALL_RULE', at, packet, `${detail}: denied`, {firewall: decision.view}))
      return drop(trail, at, packet, 'FIREWALL_RULE', `egress firewall rule ${detail} and denies ${packetText(packet)}`, {firewall: decision.view})
    }
    trail.add(step('APPLY_EGRESS_FIREWALL_RULE', at, packet, decision.action === 'deny' ? `assumed fix: allow egress despite ${detail}` : detail, {firewall: decision.view}))
  }
  trail.tracked.add(`out|${instance.name}|${nicIndex}|${tupleKey(packet)}`)
  trail.sender = instance
  // GKE-06: Service ClusterIPs are not routable outside their cluster.
  const cluster = clusterOfServiceIp(ctx.model, packet.dst)
  if (cluster && ctx.model.nodes.get(instance.name)?.cluster === cluster.name) {
    // from inside the cluster kube-proxy translates a service's address and port: this one is not a service's
    const svc = cluster.services.find((x) => x.clusterIP === packet.dst)
    if (svc) {
      return drop(trail, at, packet, 'XCC_DESTINATION_NOT_LISTENING', `service ${svc.namespace}/${svc.name} (${formatIp(svc.clusterIP)}) serves ${svc.ports.map((p) => `${p.protocol}/${p.port}`).join(', ')}, not ${packet.protocol}/${packet.dstPort}: kube-proxy on ${instance.name} does not translate it`)
    }
    return drop(trail, at, packet, 'UNKNOWN_INTERNAL_ADDRESS', `no service of cluster ${cluster.name} has the cluster IP ${formatIp(packet.dst)}:${packet.dstPort} (${formatCidr(cluster.serviceRange)} is its service range), so kube-proxy on ${instance.name} does not translate it`)
  }
  if (cluster) {
    return drop(trail, networkPlace(network.name), packet, 'XCC_CLUSTER_IP_FROM_OUTSIDE_CLUSTER', `${formatIp(packet.dst)} is in the service range ${formatCidr(cluster.serviceRange)} of cluster ${cluster.name}; ClusterIPs are reachable only inside their cluster (GKE-06)`)
  }
  return routeInNetwork(ctx, trail, network, instance, packet)
}

const serviceRanges = new WeakMap<Model, Map<number, Map<number, ClusterFacts>>>()

/** The cluster whose service range holds the address (an index by prefix length, built once per model). */
function clusterOfServiceIp(model: Model, address: number): ClusterFacts | undefined {
  let index = serviceRanges.get(model)
  if (!index) {
    index = new Map()
    for (const c of model.clusters.values()) {
      const level = index.get(c.serviceRange.prefix) ?? new Map<number, ClusterFacts>()
      level.set(c.serviceRange.base, c)
      index.set(c.serviceRange.prefix, level)
    }
    serviceRanges.set(model, index)
  }
  for (const [prefix, level] of index) {
    const cluster = level.get((address & maskOf(prefix)) >>> 0)
    if (cluster) return cluster
  }
  return undefined
}

/** ROUTE-04: the route for the packet among those that apply to the sending instance. */
function routeInNetwork(ctx: WalkContext, trail: Trail, network: NetworkFacts, sender: InstanceFacts, packet: Packet): Ended[] {
  const at = networkPlace(network.name)
  if (++trail.hops > MAX_HOPS) return abort(trail, at, packet, 'TRACE_TOO_LONG', `the path is longer than ${MAX_HOPS} hops`)
  const loopKey = `${network.name}|${sender.name}|${tupleKey(packet)}`
  if (trail.loops.has(loopKey)) return drop(trail, at, packet, 'ROUTING_LOOP', `the packet returns to ${network.name} from ${sender.name} unchanged: a routing loop`)
  trail.loops.add(loopKey)
  const lookup = network.routes.lookup(packet.dst, sender.tags)
  if (lookup.winners.length === 0) {
    return drop(trail, at, packet, 'NO_ROUTE', `no route in ${network.name} that applies to ${sender.name} covers ${formatIp(packet.dst)}`)
  }
  const warning = lookup.shadowed
    ? `XCC_CUSTOM_ROUTE_SHADOWED_BY_SUBNET_ROUTE: custom route ${lookup.shadowed.name} (${formatCidr(lookup.shadowed.destRange)}) is more specific, but subnet routes cannot be overridden (ROUTE-06)`
    : undefined
  const kinds = new Set(lookup.winners.map((r) => r.kind))
  // ROUTE-04: equal static routes are ECMP; ROUTE-08: a tie between route types has no confirmed winner
  const why = kinds.size > 1 || kinds.has('SUBNET') || kinds.has('PEERING_SUBNET') ? 'which one wins is not known, ROUTE-08' : 'the hash picks one, ROUTE-04'
  const ecmp = lookup.winners.length > 1 ? ` (${lookup.winners.length} routes tie: ${lookup.winners.map((r) => r.name).join(', ')}; ${why})` : ''
  return branch(trail, lookup.winners, (t, route) => {
    t.add(step('APPLY_ROUTE', at, packet, `${describeRoute(route)}${ecmp}`, {route: routeView(route), ...(warning ? {warning} : {})}))
    return followRoute(ctx, t, network, route, sender, packet)
  })
}

export function routeView(route: RouteFacts): RouteView {
  const hop = route.nextHop
  const nextHop = hop.type === 'NETWORK' ? `network ${hop.network}` : hop.type === 'INSTANCE' ? `instance ${hop.instance}` : hop.type === 'IP' ? `ip ${formatIp(hop.ip)}` : hop.type === 'ILB' ? `ilb ${hop.ref}` : 'default-internet-gateway'
  const nextHopType = route.kind === 'PEERING_SUBNET' ? 'NEXT_HOP_PEERING' : hop.type === 'NETWORK' ? 'NEXT_HOP_NETWORK' : hop.type === 'INSTANCE' ? 'NEXT_HOP_INSTANCE' : hop.type === 'IP' ? 'NEXT_HOP_IP' : hop.type === 'ILB' ? 'NEXT_HOP_ILB' : 'NEXT_HOP_INTERNET_GATEWAY'
  return {name: route.name, type: route.kind, destRange: formatCidr(route.destRange), priority: route.priority, nextHop, nextHopType, network: route.network, ...(route.peering ? {peering: route.peering.name} : {})}
}

export function describeRoute(route: RouteFacts): string {
  const v = routeView(route)
  const learned = route.peering ? ` learned from ${route.peering.peerNetwork} over peering ${route.peering.name}` : ''
  const implied = route.impliedBy ? ` (the pod route GKE creates for node ${route.impliedBy.node}, GKE-04)` : ''
  return `route ${route.name} ${v.destRange} → ${v.nextHop} (${route.kind}, priority ${route.priority})${learned}${implied}`
}

/** §9 step 5: where the chosen route sends the packet. */
function followRoute(ctx: WalkContext, trail: Trail, network: NetworkFacts, route: RouteFacts, sender: InstanceFacts, packet: Packet): Ended[] {
  const at = networkPlace(network.name)
  const hop = route.nextHop
  // PEER-04: an imported custom route's next hop lives in the peer network.
  const home = route.kind === 'PEERING_STATIC' && route.peering ? route.peering.peerNetwork : route.network
  switch (hop.type) {
    case 'NETWORK':
      return deliverInNetwork(ctx, trail, hop.network, packet)
    case 'INSTANCE': {
      const target = ctx.model.instances.get(hop.instance)
      const nic = target?.nics.find((n) => n.network === home)
      if (!target) return drop(trail, at, packet, 'ROUTE_NEXT_HOP_RESOURCE_NOT_FOUND', `the next hop of route ${route.name}, instance ${hop.instance}, does not exist`)
      if (!nic) return drop(trail, at, packet, 'ROUTE_NEXT_HOP_INSTANCE_WRONG_NETWORK', `the next hop of route ${route.name}, ${target.name}, has no NIC in ${home} (ROUTE-09)`)
      return ctx.hops.arriveAtInstance(ctx, trail, target, nic.index, packet)
    }
    case 'IP': {
      const owner = ctx.model.ownerOf(home, hop.ip)
      if (!owner) return drop(trail, at, packet, 'ROUTE_NEXT_HOP_IP_ADDRESS_NOT_RESOLVED', `nothing in ${home} has the next-hop address ${formatIp(hop.ip)} of route ${route.name} (ROUTE-09)`)
      if (owner.kind === 'alias') return drop(trail, at, packet, 'ROUTE_NEXT_HOP_INSTANCE_NON_PRIMARY_IP', `${formatIp(hop.ip)} is an alias IP of ${owner.instance}; a next hop must be a primary address (ROUTE-09)`)
      if (owner.kind === 'forwardingRule') return nextHopIlb(ctx, trail, network, route, owner.name, sender, packet)
      return ctx.hops.arriveAtInstance(ctx, trail, ctx.model.instances.get(owner.instance) as InstanceFacts, owner.nic, packet)
    }
    case 'ILB': {
      const byName = ctx.model.forwardingRules.get(hop.ref)
      const byIp = [...ctx.model.forwardingRules.values()].find((f) => formatIp(f.ip) === hop.ref && f.network === home)
      const fr = byName ?? byIp
      if (!fr) return drop(trail, at, packet, /^\d/.test(hop.ref) ? 'ROUTE_NEXT_HOP_FORWARDING_RULE_IP_MISMATCH' : 'ROUTE_NEXT_HOP_RESOURCE_NOT_FOUND', `no internal forwarding rule in ${home} matches the next hop ${hop.ref} of route ${route.name} (ROUTE-09)`)
      // ILB-13: the next-hop load balancer delivers to its backends' NICs in its own network, which must be the route's
      if (fr.network !== home) {
        return drop(trail, at, packet, 'ROUTE_NEXT_HOP_RESOURCE_NOT_FOUND', `the next hop of route ${route.name}, forwarding rule ${fr.name}, is in network ${fr.network}, not ${home}: a next-hop load balancer must be in the route's network (ILB-13, ROUTE-09)`)
      }
      return nextHopIlb(ctx, trail, network, route, fr.name, sender, packet)
    }
    case 'INTERNET_GATEWAY':
      // ROUTE-12: private destinations never leave through the internet gateway.
      if (!isInternetAddress(packet.dst)) {
        return drop(trail, at, packet, 'PRIVATE_TRAFFIC_TO_INTERNET', `${formatIp(packet.dst)} is a private address, and the best route is ${route.name} to the internet gateway (ROUTE-12)`)
      }
      return drop(trail, at, packet, 'NO_EXTERNAL_ADDRESS', `${sender.name} has no external address and no Cloud NAT, so it cannot reach ${formatIp(packet.dst)} on the internet (ROUTE-12)`)
  }
}

function nextHopIlb(ctx: WalkContext, trail: Trail, network: NetworkFacts, route: RouteFacts, frName: string, sender: InstanceFacts, packet: Packet): Ended[] {
  const fr = ctx.model.forwardingRules.get(frName)
  if (!fr) return drop(trail, networkPlace(network.name), packet, 'ROUTE_NEXT_HOP_RESOURCE_NOT_FOUND', `forwarding rule ${frName} does not exist`)
  // ILB-13: the packet keeps its destination and goes to a backend chosen by the load balancer.
  return ctx.hops.loadBalance(ctx, trail, fr, sender, packet, true)
}

/** §9 step 6: who owns the destination address in the network the route leads to. */
export function deliverInNetwork(ctx: WalkContext, trail: Trail, networkName: string, packet: Packet): Ended[] {
  const owner = ctx.model.ownerOf(networkName, packet.dst)
  const at = networkPlace(networkName)
  if (!owner) return drop(trail, at, packet, 'UNKNOWN_INTERNAL_ADDRESS', `nothing in ${networkName} owns ${formatIp(packet.dst)}`)
  if (owner.kind === 'forwardingRule') {
    const fr = ctx.model.forwardingRules.get(owner.name)
    if (!fr || !trail.sender) return drop(trail, at, packet, 'UNKNOWN_INTERNAL_ADDRESS', `forwarding rule ${owner.name} is not usable`)
    return ctx.hops.loadBalance(ctx, trail, fr, trail.sender, packet, false)
  }
  return ctx.hops.arriveAtInstance(ctx, trail, ctx.model.instances.get(owner.instance) as InstanceFacts, owner.nic, packet)
}

/** §9 step 7: ingress firewall and anti-spoofing at the receiving NIC, then the guest. */
export function arriveAtInstance(ctx: WalkContext, trail: Trail, instance: InstanceFacts, nicIndex: number, packet: Packet): Ended[] {
  const at = instancePlace(instance)
  const nic = instance.nics[nicIndex] as NicFacts
  const network = ctx.model.networks.get(nic.network) as NetworkFacts
  // §9 step 5: anti-spoofing (ROUTE-10) before the ingress firewall
  if (!ownsAddress(ctx, instance, nic, packet.dst)) {
    if (!instance.canIpForward) {
      return drop(trail, at, packet, 'FOREIGN_IP_DISALLOWED', `${instance.name} receives a packet for ${formatIp(packet.dst)}, which is not its address, and canIpForward is false (ROUTE-10)`)
    }
    trail.add(step('SPOOFING_APPROVED', at, packet, `${instance.name} may receive for the foreign destination ${formatIp(packet.dst)}: canIpForward is true (ROUTE-10)`))
  }
  if (ctx.direction === 'return' && trail.tracked.has(`out|${instance.name}|${nicIndex}|${tupleKey(reversePacket(packet))}`)) {
    trail.add(step('APPLY_INGRESS_FIREWALL_RULE', at, packet, `reply of a connection ${instance.name} opened: allowed by connection tracking (FW-07)`, {
      firewall: {name: 'connection-tracking', type: 'TRACKING_STATE', action: 'allow', priority: 0, network: network.name, direction: 'INGRESS'},
    }))
  } else {
    const decision = evaluateVpcFirewall(ctx.model, network, instance, 'INGRESS', packet)
    const detail = `${decision.view.name} (${decision.view.action}, priority ${decision.view.priority}) in ${network.name} applies to ingress to ${instance.name} from ${formatIp(packet.src)}`
    if (decision.action === 'deny' && !assumed(ctx, 'allow-firewall', instance.name, 'INGRESS')) {
      // as Connectivity Tests do: the rule that applied, then the drop it causes (§9 step 7)
      trail.add(step('APPLY_INGRESS_FIREWALL_RULE', at, packet, `${detail}: denied`, {firewall: decision.view}))
      return drop(trail, at, packet, 'FIREWALL_RULE', `ingress firewall rule ${detail} and denies ${packetText(packet)}`, {firewall: decision.view})
    }
    trail.add(step('APPLY_INGRESS_FIREWALL_RULE', at, packet, decision.action === 'deny' ? `assumed fix: allow ingress despite ${detail}` : detail, {firewall: decision.view}))
  }
  trail.tracked.add(`in|${instance.name}|${nicIndex}|${tupleKey(packet)}`)
  trail.add(step('ARRIVE_AT_INSTANCE', at, packet, `${instance.name} receives ${packetText(packet)} on ${nic.guestIface} (${network.name})`))
  return ctx.hops.processOnHost(ctx, trail, instance, packet, 'arriving', nic.guestIface)
}
