/**
 * Which backends of an internal load balancer the lab sends to. The lab decides backend health
 * from the firewall, as GCP's prober outcome would be (ILB-08: probes come from 35.191.0.0/16 and
 * 130.211.0.0/22 and must be admitted by the backend's ingress rules). It walks the rules itself,
 * in the order the router installs them, instead of asking core/trace: the tracer and the lab
 * are two implementations of the same semantics, and each catches the other's mistakes only if
 * neither borrows the other's code.
 */
import {type Cidr, cidr, cidrContainsIp, lastIp} from '../../core/net/ipv4.js'
import type {FirewallFacts, ForwardingRuleFacts, InstanceFacts, Model, NetworkFacts} from '../../core/topology/model-types.js'

const PROBER_RANGES: readonly Cidr[] = [cidr('35.191.0.0/16'), cidr('130.211.0.0/22')]
const TCP = new Set(['tcp', '6', 'all'])

/** [first, last] address spans still undecided */
type Span = readonly [number, number]

function subtract(spans: readonly Span[], range: Cidr): {inside: Span[]; outside: Span[]} {
  const lo = range.base
  const hi = lastIp(range)
  const inside: Span[] = []
  const outside: Span[] = []
  for (const [a, b] of spans) {
    if (b < lo || a > hi) {
      outside.push([a, b])
      continue
    }
    if (a < lo) outside.push([a, lo - 1])
    inside.push([Math.max(a, lo), Math.min(b, hi)])
    if (b > hi) outside.push([hi + 1, b])
  }
  return {inside, outside}
}

function targetsHost(rule: FirewallFacts, host: InstanceFacts): boolean {
  return rule.targetTags.length === 0 || rule.targetTags.some((t) => host.tags.includes(t))
}

function servesProbePort(rule: FirewallFacts, port: number): boolean {
  return rule.protocols.some((p) => TCP.has(p.protocol) && (!p.ports || p.ports.some((r) => r.lo <= port && port <= r.hi)))
}

/**
 * True when the first matching ingress rule (FW-01 order: the network's rules as the router lists
 * them) allows every prober address to reach `vip:port` on `host`; the implied deny (FW-02) blocks
 * what no rule decides. Source tags never match probers (they are not instances).
 */
export function probersAdmitted(network: NetworkFacts, host: InstanceFacts, vip: number, port: number): boolean {
  let undecided: Span[] = PROBER_RANGES.map((r) => [r.base, lastIp(r)] as Span)
  for (const rule of network.ingress) {
    if (undecided.length === 0) return true
    if (!targetsHost(rule, host) || !servesProbePort(rule, port)) continue
    if (rule.destinationRanges.length > 0 && !rule.destinationRanges.some((d) => cidrContainsIp(d, vip))) continue
    for (const source of rule.sourceRanges) {
      const {inside, outside} = subtract(undecided, source)
      if (inside.length > 0 && rule.action === 'deny') return false
      undecided = outside
    }
  }
  return undecided.length === 0
}

/**
 * The backends an internal load balancer sends to (ILB-04, ILB-08, ILB-09, SVC-06): backends
 * with a NIC in its network whose probers the firewall admits; with externalTrafficPolicy Local
 * only nodes holding an endpoint, unless none does (then every healthy one: fail-open).
 */
export function loadBalancerBackends(model: Model, fr: ForwardingRuleFacts): InstanceFacts[] {
  const network = model.networks.get(fr.network)
  if (!network) return []
  const healthy = fr.backendService.backends
    .map((name) => model.instances.get(name))
    .filter((i): i is InstanceFacts => i !== undefined && i.nics.some((n) => n.network === fr.network))
    .filter((b) => probersAdmitted(network, b, fr.ip, fr.backendService.healthCheck.port))
  const local = new Set<string>()
  let anyLocal = false
  for (const c of model.clusters.values()) {
    for (const s of c.services) {
      if (s.forwardingRule !== fr.name || s.externalTrafficPolicy !== 'Local') continue
      anyLocal = true
      for (const e of s.endpoints) local.add(e.node)
    }
  }
  if (!anyLocal) return healthy
  const serving = healthy.filter((b) => b.kind !== 'node' || local.has(b.name))
  return serving.length > 0 ? serving : healthy
}
