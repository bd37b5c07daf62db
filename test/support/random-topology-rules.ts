/**
 * The routing and firewall part of a random topology (random-topology.ts): custom static routes
 * with every kind of next hop (ROUTE-02, ROUTE-09), tags (ROUTE-03), priorities and ECMP ties
 * (ROUTE-04), destinations inside subnet ranges (ROUTE-06); firewall rules in both directions,
 * allow and deny, at several priorities, by source ranges or tags and target tags (FW-01…FW-04).
 */
import type {FirewallInput, InstanceInput, NicInput, RouteInput} from '../builders/topology.js'
import {type Draft, type NetworkDraft, PORTS, TAGS} from './random-topology-draft.js'

interface Machine {
  readonly name: string
  readonly tags: readonly string[]
  readonly nics: ReadonlyArray<{readonly network: string; readonly ip: string; readonly alias?: string}>
}

/** VMs and GKE nodes with their NICs and tags. */
function machines(d: Draft): Machine[] {
  const out: Machine[] = d.t.instances.map((m) => ({
    name: m.name, tags: m.tags ?? [],
    nics: m.networkInterfaces.map((n) => {
      const alias = n.aliasIpRanges?.[0]
      const range = typeof alias === 'string' ? alias : alias?.ipCidrRange
      return {network: n.network, ip: n.networkIP, ...(range ? {alias: range.replace(/\.\d+\/\d+$/, '.241')} : {})}
    }),
  }))
  for (const c of d.t.clusters) {
    for (const n of c.nodes) out.push({name: n.name, tags: n.tags ?? [`gke-${c.name}-node`], nics: [{network: c.network, ip: n.networkIP}]})
  }
  return out
}

export function drawRoutes(d: Draft): void {
  const {dice} = d
  for (const n of d.networks) {
    if (dice.chance(0.5)) d.t.routes.push({name: `${n.name}-default-internet`, network: n.name, destRange: '0.0.0.0/0', nextHopGateway: 'default-internet-gateway'})
  }
  const all = machines(d)
  for (const gw of d.t.instances) if (gw.networkInterfaces.length > 1 && dice.chance(0.75)) gatewayRoutes(d, gw)
  const count = dice.int(0, 4)
  for (let k = 0; k < count; k++) {
    const network = dice.one(d.networks)
    const tags = dice.chance(0.2) ? [dice.one(TAGS)] : undefined
    const base = {network: network.name, destRange: destination(d, network), priority: dice.one([500, 1000, 1000, 1000, 1500]), ...(tags ? {tags} : {})}
    d.t.routes.push({name: `r${k}`, ...base, ...nextHop(d, network, all)})
    // ROUTE-04: an equal prefix and priority is an ECMP tie
    if (dice.chance(0.25)) d.t.routes.push({name: `r${k}-tie`, ...base, ...nextHop(d, network, all)})
  }
}

/**
 * A gateway between the networks of its NICs (seed 000): a route in one network to a range of
 * another (its subnets, the pod ranges of its clusters) via the gateway, by name or by address,
 * and the guest route that sends that range out of the right NIC (ROUTE-11). The way back is
 * MASQUERADE out of that NIC, the same kind of route the other way, or (sometimes) nothing.
 */
function gatewayRoutes(d: Draft, gw: InstanceInput): void {
  const {dice} = d
  const nics = gw.networkInterfaces
  const a = dice.int(0, nics.length - 1)
  let b = dice.int(0, nics.length - 2)
  if (b >= a) b++
  const via = (from: number, to: number): void => {
    const [inNic, outNic] = [nics[from], nics[to]] as [NicInput, NicInput]
    const target = d.networks.find((n) => n.name === outNic.network) as NetworkDraft
    const ranges = [...target.subnets.map((s) => s.cidr), ...d.t.clusters.filter((c) => c.network === target.name).map((c) => c.clusterIpv4Cidr)]
    const destRange = dice.one(ranges)
    d.t.routes.push({name: `${gw.name}-r${d.t.routes.length}`, network: inNic.network, destRange, ...(dice.chance(0.7) ? {nextHopInstance: gw.name} : {nextHopIp: inNic.networkIP})})
    if (to === 0) return // nic0 holds the default route already
    const guest = (gw.guest ??= {})
    guest.routes = [...(guest.routes ?? []), {destRange, nic: to}]
  }
  via(a, b)
  // gateways usually admit what they forward (target tag gw)
  if (dice.chance(0.7)) {
    gw.tags = [...new Set([...(gw.tags ?? []), 'gw'])]
    for (const nic of nics) {
      if (!d.t.firewalls.some((f) => f.name === `${nic.network}-allow-gw`)) d.t.firewalls.push({name: `${nic.network}-allow-gw`, network: nic.network, sourceRanges: ['0.0.0.0/0'], targetTags: ['gw'], allowed: [{IPProtocol: 'all'}]})
    }
  }
  const back = dice.rng()
  if (back < 0.45) {
    gw.guest = {...gw.guest, iptables: `*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o nic${b} -j MASQUERADE\nCOMMIT\n`}
  } else if (back < 0.85) {
    via(b, a)
  }
}

function destination(d: Draft, network: NetworkDraft): string {
  const {dice} = d
  const own = dice.one(network.subnets)
  const others = d.networks.filter((n) => n !== network).flatMap((n) => n.subnets.map((s) => s.cidr))
  const vips = d.t.forwardingRules.map((f) => `${f.IPAddress}/32`)
  return dice.one([
    ...others, ...others, ...d.ranges,
    `10.250.${dice.int(0, 3)}.0/24`, '10.0.0.0/8', '0.0.0.0/0',
    own.cidr, `${own.prefix}.128/25`, // ROUTE-06: inside a subnet range (allowSubnetCidrRoutesOverlap decides)
    ...vips,
  ])
}

function nextHop(d: Draft, network: NetworkDraft, all: readonly Machine[]): Pick<RouteInput, 'nextHopInstance' | 'nextHopIp' | 'nextHopIlb' | 'nextHopGateway'> {
  const {dice} = d
  const local = all.filter((m) => m.nics.some((n) => n.network === network.name))
  const r = dice.rng()
  if (r < 0.4 && all.length) return {nextHopInstance: dice.one(local.length && dice.chance(0.85) ? local : all).name}
  if (r < 0.65) {
    const nics = local.flatMap((m) => m.nics.filter((n) => n.network === network.name))
    const frs = d.t.forwardingRules.filter((f) => f.network === network.name).map((f) => f.IPAddress)
    const candidates = [
      ...nics.map((n) => n.ip), ...nics.map((n) => n.ip),
      ...nics.flatMap((n) => (n.alias ? [n.alias] : [])), // ROUTE-09: an alias IP is not a valid next hop
      ...frs, // a VIP as nextHopIp: the load balancer is the next hop (ILB-13)
      `${dice.one(network.subnets).prefix}.199`, // nothing there (ROUTE_NEXT_HOP_IP_ADDRESS_NOT_RESOLVED)
    ]
    return {nextHopIp: dice.one(candidates)}
  }
  if (r < 0.8 && d.t.forwardingRules.length) {
    // by name or by address; a rule of another network does not resolve either way (ILB-13, ROUTE-09)
    const same = d.t.forwardingRules.filter((f) => f.network === network.name)
    const fr = dice.one(same.length && dice.chance(0.7) ? same : d.t.forwardingRules)
    return {nextHopIlb: dice.chance(0.6) ? fr.name : fr.IPAddress}
  }
  return {nextHopGateway: 'default-internet-gateway'}
}

export function drawFirewalls(d: Draft): void {
  const {dice} = d
  for (const n of d.networks) {
    if (dice.chance(0.85)) {
      const sourceRanges = dice.one([['10.0.0.0/8'], ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '11.0.0.0/8'], ['0.0.0.0/0']])
      d.t.firewalls.push({name: `${n.name}-allow-internal`, network: n.name, sourceRanges, allowed: [{IPProtocol: 'all'}]})
    }
    const count = dice.int(0, 3)
    for (let k = 0; k < count; k++) d.t.firewalls.push(randomRule(d, n, k))
  }
}

function randomRule(d: Draft, network: NetworkDraft, k: number): FirewallInput {
  const {dice} = d
  const ingress = dice.chance(0.7)
  const nodeTags = d.t.clusters.filter((c) => c.network === network.name).map((c) => `gke-${c.name}-node`)
  const tags = [...TAGS, ...nodeTags, ...nodeTags]
  const hosts = machines(d).flatMap((m) => m.nics.filter((n) => n.network === network.name).map((n) => `${n.ip}/32`))
  const ranges = (): string[] => {
    const picked = dice.some([...d.ranges, '0.0.0.0/0', '10.0.0.0/8', ...hosts], 0.2)
    return picked.length ? picked : [dice.one(d.ranges)]
  }
  const protocols = dice.one([
    [{IPProtocol: 'all'}], [{IPProtocol: 'tcp'}], [{IPProtocol: 'tcp', ports: [String(dice.one(PORTS))]}],
    [{IPProtocol: 'tcp', ports: ['8000-9000']}], [{IPProtocol: 'udp'}], [{IPProtocol: 'icmp'}],
  ])
  const rule: FirewallInput = {
    name: `${network.name}-fw${k}`, network: network.name, direction: ingress ? 'INGRESS' : 'EGRESS', priority: dice.one([900, 1000, 1000, 1100]),
    ...(dice.chance(0.4) ? {denied: protocols} : {allowed: protocols}),
    ...(dice.chance(0.35) ? {targetTags: [dice.one(tags)]} : {}),
    ...(dice.chance(0.08) ? {disabled: true} : {}),
  }
  if (!ingress) return {...rule, ...(dice.chance(0.7) ? {destinationRanges: ranges()} : {})}
  const r = dice.rng()
  return {
    ...rule,
    ...(r < 0.9 ? {sourceRanges: ranges()} : {}),
    ...(r >= 0.7 ? {sourceTags: [dice.one(tags)]} : {}),
    ...(dice.chance(0.1) ? {destinationRanges: ranges()} : {}),
  }
}
