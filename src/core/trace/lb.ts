/**
 * Internal passthrough load balancers (gcp-network-semantics.md §5): the forwarding rule's
 * protocol, ports, sources and region (ILB-03, ILB-04), its backends and their health-check
 * firewall (ILB-08), hairpin (ILB-14), then delivery to each healthy backend with the
 * destination unchanged (ILB-05).
 */
import {cidrContainsIp, formatIp} from '../net/ipv4.js'
import type {ForwardingRuleFacts, InstanceFacts, Model} from '../topology/model-types.js'
import {evaluateHealthCheckAdmission} from './firewall.js'
import {type Ended, type Trail, type WalkContext, branch, drop, lbPlace, step} from './trail.js'
import type {Packet} from './types.js'
import {nodeClass} from './equivalence.js'

export function loadBalance(ctx: WalkContext, trail: Trail, fr: ForwardingRuleFacts, sender: InstanceFacts, packet: Packet, asNextHop: boolean): Ended[] {
  const at = lbPlace(fr.name)
  const ports = fr.ports ? `ports ${fr.portsText.join(', ')}` : 'all ports'
  const protocolOk = fr.protocol === 'L3_DEFAULT' || fr.protocol.toLowerCase() === packet.protocol
  const portOk = !fr.ports || fr.ports.some((r) => packet.dstPort >= r.lo && packet.dstPort <= r.hi)
  if (!protocolOk || !portOk) {
    return drop(trail, at, packet, 'FORWARDING_RULE_MISMATCH', `forwarding rule ${fr.name} (${formatIp(fr.ip)}) forwards ${fr.protocol} ${ports}, not ${packet.protocol.toUpperCase()} ${packet.dstPort} (ILB-04)`)
  }
  // §9 6a: protocol and ports, then the client's region, then sourceIpRanges
  // ILB-03: the client region is the region of the instance that sent the packet into the VPC.
  if (sender.region !== fr.region && !fr.allowGlobalAccess) {
    return drop(trail, at, packet, 'FORWARDING_RULE_REGION_MISMATCH', `the client ${sender.name} is in ${sender.region}, the load balancer ${fr.name} in ${fr.region}, and allowGlobalAccess is false (ILB-03)`)
  }
  if (fr.sourceIpRanges.length > 0 && !fr.sourceIpRanges.some((r) => cidrContainsIp(r, packet.src))) {
    return drop(trail, at, packet, 'FORWARDING_RULE_MISMATCH', `forwarding rule ${fr.name} accepts only the sourceIpRanges it lists, not ${formatIp(packet.src)} (ILB-04)`)
  }
  trail.add(step('APPLY_FORWARDING_RULE', at, packet, `forwarding rule ${fr.name} (${formatIp(fr.ip)}, ${fr.protocol} ${ports}, ${fr.region}${fr.allowGlobalAccess ? ', global access' : ''}) matches${asNextHop ? ' as the next hop of a route (ILB-13)' : ''}; backend service ${fr.backendService.name}`))

  const backends = fr.backendService.backends
  if (backends.length === 0) {
    return drop(trail, at, packet, 'FORWARDING_RULE_NO_INSTANCES', `backend service ${fr.backendService.name} of ${fr.name} has no backends (ILB-04)`)
  }
  const inNetwork: Array<{instance: InstanceFacts; nic: number}> = []
  const wrongNetwork: string[] = []
  for (const name of backends) {
    const instance = ctx.model.instances.get(name) as InstanceFacts
    const nic = instance.nics.find((n) => n.network === fr.network)
    if (nic) inNetwork.push({instance, nic: nic.index})
    else wrongNetwork.push(name)
  }
  if (inNetwork.length === 0) {
    return drop(trail, at, packet, 'LOAD_BALANCER_BACKEND_INVALID_NETWORK', `no backend of ${fr.name} has a NIC in ${fr.network}: ${wrongNetwork.join(', ')} (ILB-04)`)
  }
  const network = ctx.model.networks.get(fr.network)
  const hcPort = fr.backendService.healthCheck.port
  const unhealthy: string[] = []
  const healthy = inNetwork.filter((b) => {
    if (!network) return false
    const admission = evaluateHealthCheckAdmission(network, b.instance, fr.ip, hcPort)
    if (admission.blocked.isEmpty()) return true
    unhealthy.push(`${b.instance.name} (probes from ${admission.blocked.toString()} to port ${hcPort} are blocked)`)
    return false
  })
  if (healthy.length === 0) {
    return drop(trail, at, packet, 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK', `no backend of ${fr.name} can pass its health check: the firewall of ${fr.network} blocks the probe ranges 35.191.0.0/16 and 130.211.0.0/22 — ${unhealthy.join('; ')} (ILB-08)`)
  }
  // SVC-06: with externalTrafficPolicy Local, nodes without a local endpoint fail the service's health check.
  const local = localEndpointNodes(ctx, fr.name)
  const serving = local ? healthy.filter((b) => b.instance.kind !== 'node' || local.has(b.instance.name)) : healthy
  if (local && serving.length < healthy.length) {
    const out = healthy.filter((b) => !serving.includes(b)).map((b) => b.instance.name)
    unhealthy.push(...out.map((n) => `${n} (externalTrafficPolicy Local: no endpoint on the node, SVC-06)`))
  }
  // ILB-09: when no backend is healthy the load balancer spreads new connections over all of them.
  const candidates = serving.length > 0 ? serving : healthy
  const failOpen = serving.length === 0
  // ILB-14: a backend that calls its own load balancer is answered by itself.
  const hairpin = candidates.find((b) => b.instance.name === sender.name)
  const groups = hairpin ? [{representative: hairpin, alike: []}] : groupEquivalentBackends(ctx, candidates)
  const chosen = groups.map((g) => g.representative)
  const alike = groups.filter((g) => g.alike.length > 0).map((g) => `${g.alike.map((b) => b.instance.name).join(', ')} ${g.alike.length === 1 ? 'behaves' : 'behave'} exactly like ${g.representative.instance.name} (same cluster, rules, subnet, tags and firewall treatment, no local pods): traced once`)
  const notes = [
    hairpin ? `the client ${sender.name} is itself a backend, so it answers its own connection (ILB-14)` : failOpen ? `no backend is healthy, so the load balancer uses all of them (fail-open, ILB-09): ${candidates.map((b) => b.instance.name).join(', ')}` : `healthy backends: ${candidates.map((b) => b.instance.name).join(', ')}`,
    ...(unhealthy.length ? [`unhealthy: ${unhealthy.join('; ')}`] : []),
    ...(wrongNetwork.length ? [`not in ${fr.network}: ${wrongNetwork.join(', ')}`] : []),
    ...alike,
  ]
  trail.add(step('ANALYZE_LOAD_BALANCER_BACKEND', at, packet, `${notes.join('; ')}; the destination stays ${formatIp(packet.dst)} (passthrough, ILB-05)`))
  return branch(trail, chosen, (t, b) => ctx.hops.arriveAtInstance(ctx, t, b.instance, b.nic, packet))
}

const localEndpoints = new WeakMap<Model, Map<string, Set<string>>>()

/** Nodes that hold an endpoint of an externalTrafficPolicy: Local service behind this forwarding rule; undefined when none is Local. */
function localEndpointNodes(ctx: WalkContext, forwardingRule: string): Set<string> | undefined {
  let byRule = localEndpoints.get(ctx.model)
  if (!byRule) {
    byRule = new Map()
    for (const c of ctx.model.clusters.values()) {
      for (const s of c.services) {
        if (!s.forwardingRule || s.externalTrafficPolicy !== 'Local') continue
        const nodes = byRule.get(s.forwardingRule) ?? new Set<string>()
        for (const e of s.endpoints) nodes.add(e.node)
        byRule.set(s.forwardingRule, nodes)
      }
    }
    localEndpoints.set(ctx.model, byRule)
  }
  return byRule.get(forwardingRule)
}

interface Backend {
  readonly instance: InstanceFacts
  readonly nic: number
}

/** Backends of one equivalence class (equivalence.ts) behave alike: follow one of each class. */
function groupEquivalentBackends(ctx: WalkContext, backends: readonly Backend[]): Array<{representative: Backend; alike: Backend[]}> {
  const groups = new Map<string, {representative: Backend; alike: Backend[]}>()
  const out: Array<{representative: Backend; alike: Backend[]}> = []
  for (const b of backends) {
    const key = ctx.exhaustive || b.instance.kind !== 'node' || b.nic !== 0 ? undefined : nodeClass(ctx.model, b.instance.name)
    const group = key === undefined ? undefined : groups.get(key)
    if (group) {
      group.alike.push(b)
      continue
    }
    const fresh = {representative: b, alike: []}
    if (key !== undefined) groups.set(key, fresh)
    out.push(fresh)
  }
  return out
}
