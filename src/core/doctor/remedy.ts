/**
 * The static doctor's side of a diagnosis: the one-sentence root cause, and the facts the shared
 * fix builders (fixes.ts) need, read from the model and the step that decided it.
 */
import {findClusterContext} from '../kube/contexts.js'
import {type Cidr, cidrContainsIp, formatCidr, formatIp} from '../net/ipv4.js'
import type {ClusterFacts, ForwardingRuleFacts, InstanceFacts} from '../topology/model-types.js'
import type {Step} from '../trace/types.js'
import {type DoctorContext, stepInstance, stepNetwork} from './check.js'
import type {ContextRef, FixFacts, MasqueradeMechanism, ServiceRef, VmRef} from './fixes.js'
import type {DiagnosisCode, Failure} from './types.js'

export interface RemedyInput {
  readonly ctx: DoctorContext
  readonly code: DiagnosisCode
  readonly failure: Failure
  /** the step where the chosen fix applies (a counterfactual candidate) */
  readonly at?: Step
}

export interface Remedy {
  readonly summary: string
  readonly facts: FixFacts
}

function where(f: Failure): string {
  const s = f.step
  return f.direction === 'return' ? `the reply to ${s.packet.dst} is dropped at ${s.at} (${s.cause})` : `${s.at} drops it (${s.cause})`
}

/** The ranges to masquerade for the destination: the subnet range that holds it, else the address itself. */
function destinationRanges(ctx: DoctorContext): Cidr[] {
  const dst = ctx.flow.packet.dst
  for (const n of ctx.model.networks.values()) {
    for (const s of n.subnets) {
      if (cidrContainsIp(s.primary, dst)) return [s.primary]
      const secondary = s.secondary.find((r) => cidrContainsIp(r.cidr, dst))
      if (secondary) return [secondary.cidr]
    }
  }
  return [{base: dst, prefix: 32}]
}

export function clusterContext(ctx: DoctorContext, cluster: ClusterFacts): ContextRef {
  const found = findClusterContext({name: cluster.name, location: cluster.spec.location}, ctx.contexts)
  return {cluster: cluster.name, context: found ?? cluster.name, known: found !== undefined || ctx.contexts.includes(cluster.name)}
}

function serviceRef(ctx: DoctorContext, cluster: ClusterFacts, namespace: string, name: string): ServiceRef {
  return {...clusterContext(ctx, cluster), namespace, name}
}

function vm(instance: InstanceFacts): VmRef {
  return {name: instance.name, zone: instance.zone}
}

function instanceAt(ctx: DoctorContext, step: Step): InstanceFacts | undefined {
  const name = stepInstance(step)
  return name === undefined ? undefined : ctx.model.instances.get(name)
}

function mechanism(cluster: ClusterFacts): MasqueradeMechanism {
  const masq = cluster.spec.masquerade
  if (masq && 'ipMasq' in masq) return masq.ipMasq.nonMasqueradeCIDRs !== undefined ? 'ip-masq-agent-list' : 'unknown'
  if (masq && ('kubenet' in masq || 'disabled' in masq)) return 'iptables'
  return 'unknown'
}

/** the Service whose internal load balancer a forwarding rule is (GKE made it, and owns it) */
function serviceOf(ctx: DoctorContext, fr: ForwardingRuleFacts): ServiceRef | undefined {
  for (const c of ctx.model.clusters.values()) {
    const s = c.services.find((x) => x.forwardingRule === fr.name)
    if (s) return serviceRef(ctx, c, s.namespace, s.name)
  }
  return undefined
}

function podSnat(input: RemedyInput): Remedy {
  const {ctx, failure} = input
  const source = ctx.flow.source
  const ranges = destinationRanges(ctx)
  const rangeText = ranges.map(formatCidr).join(',')
  const cluster = source.kind === 'pod' ? source.cluster : undefined
  const node = input.at ? stepInstance(input.at) ?? '' : ''
  const missing = failure.missing?.code === 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED' ? failure.missing : undefined
  return {
    summary: `Pod ${formatIp(ctx.flow.packet.src)}${cluster ? ` of cluster ${cluster.name}` : ''} reaches ${formatIp(ctx.flow.packet.dst)} with its own address because node ${node} does not masquerade ${rangeText}, and ${where(failure)}; masquerading ${rangeText} on the nodes of ${cluster?.name ?? 'the cluster'} fixes it.`,
    facts: {
      code: 'POD_SNAT_MISSING', cidrs: ranges.map(formatCidr), destinationOnly: false, routesBased: cluster?.mode === 'ROUTES',
      mechanism: cluster ? mechanism(cluster) : 'unknown',
      ...(cluster ? {cluster: clusterContext(ctx, cluster)} : {}),
      ...(missing ? {exchange: {exporting: {network: missing.exporting.network, peering: missing.exporting.peering}, importing: {network: missing.importing.network, peering: missing.importing.peering}}} : {}),
    },
  }
}

function gatewaySnat(input: RemedyInput): Remedy {
  const {ctx, failure} = input
  const at = input.at as Step
  const gateway = instanceAt(ctx, at) as InstanceFacts
  const src = at.packet.src
  // the NIC the gateway forwards out of: the network of its egress firewall step
  const out = gateway.nics.find((n) => n.network === at.firewall?.network) ?? (gateway.nics[0] as InstanceFacts['nics'][number])
  const range = ctx.flow.source.kind === 'pod' && formatIp(ctx.flow.packet.src) === src ? formatCidr(ctx.flow.source.cluster.podRange) : `${src}/32`
  const overlap = failure.code === 'OVERLAPPING_RANGES' || failure.step.cause === 'ROUTE_WRONG_NETWORK'
  return {
    summary: `Gateway ${gateway.name} forwards traffic from ${src} without SNAT, and ${where(failure)}${overlap ? ' — the far side routes that address somewhere else' : ''}; masquerading on ${gateway.name} (to its address ${formatIp(out.ip)}) fixes it.`,
    facts: {code: 'GATEWAY_SNAT_MISSING', gateway: vm(gateway), sourceRange: range},
  }
}

function firewall(input: RemedyInput): Remedy {
  const {ctx, failure} = input
  const step = failure.step
  const fw = step.firewall
  const target = instanceAt(ctx, step)
  const p = step.packet
  const base = {code: 'FIREWALL_RULE' as const, protocol: p.protocol, port: p.dstPort, at: step.at, detail: step.detail}
  if (!fw || !target) {
    return {summary: `A firewall on ${step.at} blocks the flow: ${step.detail}.`, facts: {...base, direction: 'INGRESS', priority: 1000, peer: p.src}}
  }
  const ingress = fw.direction === 'INGRESS'
  return {
    summary: `${ingress ? 'Ingress' : 'Egress'} firewall rule ${fw.name} (${fw.action}, priority ${fw.priority}) in ${fw.network} blocks ${p.protocol} ${p.src} → ${p.dst}:${p.dstPort} at ${target.name}.`,
    facts: {
      ...base, network: fw.network, direction: fw.direction, peer: ingress ? p.src : p.dst,
      priority: fw.type === 'IMPLIED_VPC_FIREWALL_RULE' ? 1000 : Math.max(0, fw.priority - 1),
      ...(target.tags[0] ? {targetTag: target.tags[0]} : {}),
    },
  }
}

function forwardingRuleAt(ctx: DoctorContext, s: Step): ForwardingRuleFacts | undefined {
  return s.host.kind === 'lb' ? ctx.model.forwardingRules.get(s.host.name) : undefined
}

/** The root cause in one sentence, and the facts its fixes are built from. */
export function buildRemedy(input: RemedyInput): Remedy {
  const {ctx, code, failure} = input
  const s = failure.step
  const p = s.packet
  const fr = forwardingRuleAt(ctx, s)
  const host = instanceAt(ctx, s)
  switch (code) {
    case 'POD_SNAT_MISSING':
      return podSnat(input)
    case 'GATEWAY_SNAT_MISSING':
      return gatewaySnat(input)
    case 'FIREWALL_RULE':
      return firewall(input)
    case 'OVERLAPPING_RANGES':
      return {summary: `The destination side sees the client as ${p.dst}, an address it routes somewhere else, so replies go astray: ${s.detail}.`, facts: {code, address: p.dst}}
    case 'PEERING_INACTIVE': {
      const m = failure.missing?.code === 'PEERING_INACTIVE' ? failure.missing : undefined
      return {
        summary: `The path needs the peering ${m?.peering.name ?? ''} between ${m?.peering.network ?? ''} and ${m?.peering.missingOn ?? ''}, but only one side has configured it, so it is INACTIVE.`,
        facts: m ? {code, network: m.peering.missingOn, peerNetwork: m.peering.network} : {code: 'NO_ROUTE', destination: p.dst},
      }
    }
    case 'PEERING_NOT_TRANSITIVE': {
      const m = failure.missing?.code === 'PEERING_NOT_TRANSITIVE' ? failure.missing : undefined
      const [a, b] = m ? [m.chain[0] as string, m.chain[m.chain.length - 1] as string] : ['', '']
      return {summary: `${p.dst} is in ${b}, reachable from ${a} only through the peerings ${m?.chain.join(' ↔ ')}; VPC peering is not transitive.`, facts: {code, from: a, to: b}}
    }
    case 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED': {
      const m = failure.missing?.code === 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED' ? failure.missing : undefined
      return {
        summary: `${p.dst} is behind custom route ${m?.route.name ?? ''} of ${m?.exporting.network ?? ''}, which the peering does not exchange (export ${m?.exporting.exports}, import ${m?.importing.imports}).`,
        facts: m ? {code, exporting: {network: m.exporting.network, peering: m.exporting.peering}, importing: {network: m.importing.network, peering: m.importing.peering}} : {code: 'NO_ROUTE', destination: p.dst},
      }
    }
    case 'NO_ROUTE': {
      const network = stepNetwork(s)
      return {summary: `No route carries ${failure.direction === 'return' ? 'the reply' : 'the packet'} to ${p.dst}: ${s.detail}.`, facts: {code, destination: p.dst, ...(network ? {network} : {})}}
    }
    case 'FORWARDING_RULE_REGION_MISMATCH': {
      const service = fr && serviceOf(ctx, fr)
      return {
        summary: `The client is in another region than load balancer ${fr?.name}, which has no global access: ${s.detail}.`,
        facts: {code, ...(fr ? {forwardingRule: {name: fr.name, region: fr.region}, region: fr.region} : {}), ...(service ? {service} : {})},
      }
    }
    case 'FORWARDING_RULE_MISMATCH':
      return {
        summary: `Load balancer ${fr?.name} does not forward ${p.protocol.toUpperCase()} port ${p.dstPort}: ${s.detail}.`,
        facts: {code, protocol: p.protocol, port: p.dstPort, ...(fr ? {forwardingRule: {name: fr.name, region: fr.region, network: fr.network, subnet: fr.subnet.name, backendService: fr.backendService.name, served: fr.ports ? fr.portsText : []}} : {})},
      }
    case 'FORWARDING_RULE_NO_INSTANCES': {
      const candidates = fr ? [...ctx.model.instances.values()].filter((i) => i.region === fr.region && i.nics.some((n) => n.network === fr.network)) : []
      const zone = candidates[0]?.zone
      return {
        summary: `Load balancer ${fr?.name} has no usable backends: ${s.detail}.`,
        facts: {
          code, ...(fr ? {forwardingRule: {name: fr.name, region: fr.region, network: fr.network, backendService: fr.backendService.name}} : {}),
          ...(fr && zone ? {candidates: {zone, instances: candidates.filter((i) => i.zone === zone).map((i) => i.name)}} : {}),
        },
      }
    }
    case 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK':
      return {
        summary: `No backend of ${fr?.name} can pass its health check because the firewall blocks the probe ranges: ${s.detail}.`,
        facts: {code, ...(fr ? {network: fr.network, backendService: fr.backendService.name, port: fr.backendService.healthCheck.port} : {})},
      }
    case 'FOREIGN_IP_DISALLOWED':
      return {summary: `${host?.name ?? s.at} must ${/receives/.test(s.detail) ? 'receive' : 'send'} for an address that is not its own but has canIpForward false.`, facts: {code, ...(host ? {vm: vm(host)} : {})}}
    case 'GUEST_FORWARDING_DISABLED':
      return {
        summary: `The operating system of ${host?.name ?? s.at} does not forward the traffic: ${s.detail}.`,
        facts: {code, cause: /ip_forward/.test(s.detail) ? 'ip-forward' : 'forward-chain', src: p.src, dst: p.dst, ...(host ? {vm: vm(host)} : {})},
      }
    case 'CLUSTER_IP_FROM_OUTSIDE_CLUSTER': {
      const owner = [...ctx.model.clusters.values()].flatMap((c) => c.services.map((x) => ({c, x}))).find(({x}) => formatIp(x.clusterIP) === p.dst)
      return {summary: `${p.dst} is a ClusterIP, reachable only from inside its cluster.`, facts: {code, ...(owner ? {service: serviceRef(ctx, owner.c, owner.x.namespace, owner.x.name)} : {})}}
    }
    case 'UNKNOWN_INTERNAL_ADDRESS':
      return {summary: `Nothing in the topology owns ${p.dst}.`, facts: {code, address: p.dst}}
    case 'DESTINATION_NOT_LISTENING':
      return {summary: `The packet arrives, but nothing serves ${p.protocol} port ${p.dstPort} at ${s.at}.`, facts: {code, at: s.at, protocol: p.protocol, port: p.dstPort}}
    case 'INSUFFICIENT_INFO': {
      const rule = s.rules?.[0]
      return {
        summary: `xcc cannot decide this flow from the topology: ${s.detail}.`,
        facts: {code, needs: [
          ...(rule ? [{summary: `The effect of rule ${rule.rule} (${rule.source}, line ${rule.line}) is unknown to xcc: remove or rewrite it in the topology.`}] : []),
          {summary: 'Verify the flow with a live probe: xcc doctor without --topology, on the live clusters.'},
        ]},
      }
    }
    case 'DNS_NAME_NOT_FOUND':
    case 'DNS_STUB_DOMAIN_MISSING':
    case 'DNS_SERVER_UNREACHABLE':
    case 'DNS_RECORD_STALE':
      // name resolution is diagnosed before any path is traced (src/core/doctor/dns.ts), never from a step
      throw new Error(`${code} is not a path's diagnosis`)
  }
}
