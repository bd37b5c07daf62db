/**
 * The router's filter table: VPC firewalls and the other per-NIC checks of GCP, evaluated where
 * the packet leaves or enters an instance's NIC (router side of its veth):
 * - egress of a NIC: anti-spoofing unless canIpForward (ROUTE-10), then connection tracking
 *   (FW-07), then the egress rules that target it in priority order, deny before allow (FW-01),
 *   implied allow (FW-02);
 * - load balancers: protocol, ports and sourceIpRanges at the VIP's router (ILB-04), the client's
 *   region at the router where the client's packet enters the VPC (ILB-03);
 * - ingress of a NIC: connection tracking, the ingress rules (sources: ranges, or the primary IPs
 *   of instances with the source tags, FW-03/FW-04), implied deny, then anti-spoofing;
 * - nothing is forwarded to a Service ClusterIP (GKE-06).
 */
import {type Cidr, cidrContainsIp, formatCidr, formatIp} from '../../core/net/ipv4.js'
import type {FirewallFacts, InstanceFacts, NetworkFacts, NicFacts, PortRange} from '../../core/topology/model-types.js'
import type {PlanContext} from './context.js'
import {routerIface} from './names.js'

interface Member {
  readonly host: InstanceFacts
  readonly nic: NicFacts
}

const PORT_PROTOCOLS = new Set(['tcp', 'udp', 'sctp', '6', '17', '132'])
const MULTIPORT_MAX = 15

export function routerFirewall(ctx: PlanContext, network: NetworkFacts, members: readonly Member[]): string {
  const chains: string[] = []
  const rules: string[] = []
  const chain = (name: string): void => void chains.push(`:${name} - [0:0]`)

  // GKE-06: the VPC delivers nothing addressed to a Service ClusterIP, whatever its routes say
  for (const c of ctx.model.clusters.values()) rules.push(`-A FORWARD -d ${formatCidr(c.serviceRange)} -j DROP`)

  // ILB-04: what a forwarding rule forwards, checked where its VIP lives (chains numbered within
  // this network, so that a forwarding rule of another network leaves this table as it is)
  for (const [i, fr] of [...ctx.model.forwardingRules.values()].filter((f) => f.network === network.name).entries()) {
    const lb = `LB${i}`
    const src = `LB${i}-SRC`
    chain(lb)
    chain(src)
    rules.push(`-A FORWARD -d ${formatIp(fr.ip)}/32 -j ${lb}`)
    const protocols = fr.protocol === 'L3_DEFAULT' ? [undefined] : [fr.protocol.toLowerCase()]
    for (const protocol of protocols) {
      for (const match of portMatches(protocol, fr.ports)) rules.push(`-A ${lb} ${match} -g ${src}`)
    }
    rules.push(`-A ${lb} -j DROP`)
    if (fr.sourceIpRanges.length === 0) rules.push(`-A ${src} -j RETURN`)
    else rules.push(...fr.sourceIpRanges.map((r) => `-A ${src} -s ${formatCidr(r)} -j RETURN`), `-A ${src} -j DROP`)
  }

  for (const {host, nic} of members) {
    const dev = routerIface(ctx.hostIndex.get(host.name) as number, nic.index)
    const owned = ownedBy(ctx, host, nic)
    const [egress, ingress, spoofOut, spoofIn, region] = ['E', 'I', 'SE', 'SI', 'R'].map((p) => `${p}-${dev}`) as [string, string, string, string, string]
    for (const c of [egress, ingress, spoofOut, spoofIn, region]) chain(c)
    rules.push(`-A FORWARD -i ${dev} -j ${region}`, `-A FORWARD -i ${dev} -j ${egress}`, `-A FORWARD -o ${dev} -j ${ingress}`)

    // anti-spoofing (ROUTE-10)
    if (host.canIpForward) {
      rules.push(`-A ${spoofOut} -j RETURN`, `-A ${spoofIn} -j RETURN`)
    } else {
      for (const r of owned) rules.push(`-A ${spoofOut} -s ${formatCidr(r)} -j RETURN`, `-A ${spoofIn} -d ${formatCidr(r)} -j RETURN`)
      rules.push(`-A ${spoofOut} -j DROP`, `-A ${spoofIn} -j DROP`)
    }

    // egress: spoofing, tracked replies (FW-07), rules, implied allow (FW-02)
    rules.push(`-A ${egress} -j ${spoofOut}`, ...tracked(egress, 'RETURN'))
    for (const rule of network.egress) {
      if (!targets(rule, host)) continue
      for (const m of ruleMatches(ctx, network, rule)) rules.push(`-A ${egress} ${m} -j ${rule.action === 'allow' ? 'RETURN' : 'DROP'}`)
    }

    // ingress: tracked replies, rules, implied deny (FW-02); allowed packets then face anti-spoofing
    rules.push(...tracked(ingress, `-g ${spoofIn}`))
    for (const rule of network.ingress) {
      if (!targets(rule, host)) continue
      for (const m of ruleMatches(ctx, network, rule)) rules.push(`-A ${ingress} ${m} ${rule.action === 'allow' ? `-g ${spoofIn}` : '-j DROP'}`)
    }
    rules.push(`-A ${ingress} -j DROP`)

    // ILB-03: the client region is the region of the instance whose packet enters the VPC here
    for (const fr of ctx.model.forwardingRules.values()) {
      if (fr.allowGlobalAccess || fr.region === host.region || !reachable(ctx, network.name, fr.network)) continue
      rules.push(`-A ${region} -d ${formatIp(fr.ip)}/32 -m conntrack --ctstate NEW -j DROP`)
    }
  }
  return ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...chains, ...rules, 'COMMIT', ''].join('\n')
}

/**
 * FW-07: the reply packets of a connection the rules allowed pass without the rules (and ICMP
 * errors about it). The packets of the connection's own direction are checked against the rules
 * every time, not only the first one: with unchanged rules that decides the same, but a deny rule
 * added while the connection runs stops it at once, and deleting it lets the connection go on.
 * This is the lab's reading of "a new deny rule stops a running connection" (the issue's
 * acceptance for firewall changes through the lab's Compute API; gcp-network-semantics.md §4 says
 * nothing about rule changes). Nothing else in the lab depends on conntrack entries surviving or
 * being flushed: a router's filter table is replaced atomically and its conntrack table is kept.
 */
function tracked(chain: string, verdict: string): string[] {
  const jump = verdict.startsWith('-g ') ? verdict : `-j ${verdict}`
  return [
    `-A ${chain} -m conntrack --ctstate ESTABLISHED --ctdir REPLY ${jump}`,
    `-A ${chain} -m conntrack --ctstate RELATED ${jump}`,
  ]
}

/** FW-03: targets are every instance of the network, or those holding one of targetTags. */
function targets(rule: FirewallFacts, instance: InstanceFacts): boolean {
  return rule.targetTags.length === 0 || rule.targetTags.some((t) => instance.tags.includes(t))
}

/** same network, or a network this one is actively peered with */
function reachable(ctx: PlanContext, from: string, to: string): boolean {
  return from === to || ctx.peerLinks.has(`${from}|${to}`)
}

/** ROUTE-10: what a NIC may send from and receive for: its address, alias ranges and the VIPs it backs. */
function ownedBy(ctx: PlanContext, host: InstanceFacts, nic: NicFacts): Cidr[] {
  const vips = ctx.model.vipsBackedBy(host.name).filter((f) => f.network === nic.network).map((f) => ({base: f.ip, prefix: 32}))
  return [{base: nic.ip, prefix: 32}, ...nic.aliasRanges, ...vips]
}

/** iptables matches (protocol × ports × destinations × sources) for one firewall rule, in the tracer's terms. */
function ruleMatches(ctx: PlanContext, network: NetworkFacts, rule: FirewallFacts): string[] {
  const protocolParts = rule.protocols.flatMap((p) => portMatches(p.protocol === 'all' ? undefined : p.protocol, p.ports))
  const destinations = rule.destinationRanges.length ? rule.destinationRanges.map((d) => `-d ${formatCidr(d)}`) : ['']
  let sources = ['']
  if (rule.direction === 'INGRESS') {
    const tagged = sourceTagAddresses(ctx, network, rule)
    sources = [...rule.sourceRanges.map((r) => `-s ${formatCidr(r)}`), ...tagged.filter((a) => !rule.sourceRanges.some((r) => cidrContainsIp(r, a))).map((a) => `-s ${formatIp(a)}/32`)]
  }
  const out: string[] = []
  for (const p of protocolParts) for (const d of destinations) for (const s of sources) out.push([p, d, s].filter(Boolean).join(' '))
  return out
}

/** FW-03/FW-04: sourceTags match primary NIC addresses in this network of instances holding a tag. */
function sourceTagAddresses(ctx: PlanContext, network: NetworkFacts, rule: FirewallFacts): number[] {
  if (rule.sourceTags.length === 0) return []
  const out: number[] = []
  for (const h of ctx.hosts) {
    if (!rule.sourceTags.some((t) => h.tags.includes(t))) continue
    for (const nic of h.nics) if (nic.network === network.name) out.push(nic.ip)
  }
  return out
}

/** `-p x [-m multiport --dports …]` parts for a protocol and optional port ranges (chunks of 15). */
function portMatches(protocol: string | undefined, ports: readonly PortRange[] | undefined): string[] {
  if (protocol === undefined) return ['']
  const p = `-p ${protocol}`
  if (!ports || !PORT_PROTOCOLS.has(protocol)) return [p]
  const items = ports.map((r) => (r.lo === r.hi ? `${r.lo}` : `${r.lo}:${r.hi}`))
  const chunks: string[] = []
  let current: string[] = []
  let weight = 0
  for (const item of items) {
    const w = item.includes(':') ? 2 : 1
    if (weight + w > MULTIPORT_MAX) {
      chunks.push(current.join(','))
      current = []
      weight = 0
    }
    current.push(item)
    weight += w
  }
  if (current.length) chunks.push(current.join(','))
  return chunks.map((c) => `${p} -m multiport --dports ${c}`)
}
