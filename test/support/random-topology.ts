/**
 * Seeded random small topologies for the doctor-vs-lab property test (docs/lab.md "Proof the lab
 * is faithful"). Each draw is valid by construction (every address is allocated from a plan that
 * keeps ranges apart) and is loaded through the real loader; a draw the loader still rejects is
 * counted and replaced by the next attempt of the same seed, so a seed always replays the same
 * topology. What a draw covers, roughly in the words of gcp-network-semantics.md:
 * - 1–3 networks of 1–2 subnets (regions vary; RFC 1918 and privately used public ranges,
 *   sometimes a network that reuses another's ranges, never across an ACTIVE peering — PEER-08);
 * - peerings both-sided (ACTIVE) or one-sided, export/import of custom routes and of public
 *   subnet routes (PEER-01…PEER-04);
 * - GKE clusters ROUTES or VPC_NATIVE, masquerade kubenet / ipMasq (default or custom list) /
 *   disabled, declared pods (ports, sometimes hostNetwork), services ClusterIP / NodePort /
 *   LoadBalancer with an internal forwarding rule whose backends are the nodes, GKE's LB firewall
 *   rule and the health-check rule sometimes missing or partial, global access varying;
 * - VMs, sometimes multi-NIC gateways (canIpForward, guest.ipForward, guest.routes, MASQUERADE on
 *   a NIC, a FORWARD chain that drops), listen ports, alias ranges; internal load balancers with
 *   VM backends;
 * - custom static routes (next hop instance / IP / ILB / internet gateway, priorities, tags, ECMP
 *   ties, routes shadowed by subnet routes) and firewall rules (both directions, allow and deny,
 *   priorities, source ranges and tags, target tags, ports, disabled).
 * Sizes stay small (≤ 8 instances and nodes, ≤ 6 pods) so that the lab builds in well under a second.
 * This file draws networks, peerings and clusters; random-topology-vms.ts the VMs and their load
 * balancer, random-topology-rules.ts routes and firewall rules; random-topology-draft.ts holds the
 * state they share. Constructs a tracer bug makes disagree are avoided there, each with a comment.
 */
import type {Model} from '../../src/core/topology/model-types.js'
import {
  type BackendServiceInput, type ClusterInput, type ForwardingRuleInput, type NetworkInput, type NodeInput, type PodInput, type ServiceInput,
  type TopologyInput, loadTopology,
} from '../builders/topology.js'
import {seededRng} from './random.js'
import {
  type Draft, Dice, HEALTH_CHECK_RANGES, LIMITS, type NetworkDraft, PORTS, REGIONS, type SubnetDraft, TAGS, host, overlapping, zoneIn,
} from './random-topology-draft.js'
import {drawFirewalls, drawRoutes} from './random-topology-rules.js'
import {drawVm, drawVmLoadBalancer} from './random-topology-vms.js'

export {Dice} from './random-topology-draft.js'

export interface GeneratedTopology {
  readonly seed: number
  /** which draw of this seed loaded (0 = the first) */
  readonly attempt: number
  /** draws of this seed the loader rejected before this one, with the first error of each */
  readonly rejected: readonly string[]
  readonly input: TopologyInput
  readonly model: Model
}

/** The topology of a seed: the first of its draws that loads (bounded by LIMITS.attempts). */
export function randomTopology(seed: number): GeneratedTopology {
  const rejected: string[] = []
  for (let attempt = 0; attempt < LIMITS.attempts; attempt++) {
    const input = drawTopology(new Dice(seededRng((seed + Math.imul(attempt, 0x9e3779b1)) >>> 0)), `random-${seed}${attempt ? `-${attempt}` : ''}`)
    try {
      return {seed, attempt, rejected, input, model: loadTopology(input)}
    } catch (error) {
      rejected.push((error as Error).message.split('\n').slice(0, 2).join(' '))
    }
  }
  throw new Error(`seed ${seed}: the loader rejected all ${LIMITS.attempts} draws; first: ${rejected[0]}`)
}

type Family = 'ten' | 'rfc172' | 'rfc192' | 'pupi'

function subnetPrefix(family: Family, i: number, j: number): string {
  switch (family) {
    case 'ten':
      return `10.${20 + i}.${j}`
    case 'rfc172':
      return `172.${16 + i}.${j}`
    case 'rfc192':
      return `192.168.${i * 4 + j}`
    case 'pupi':
      return `11.${i}.${j}` // a privately used public range (PEER-03)
  }
}

function drawTopology(dice: Dice, name: string): TopologyInput {
  const d: Draft = {dice, networks: [], t: {routes: [], firewalls: [], instances: [], forwardingRules: [], backendServices: [], clusters: []}, ranges: [], machines: 0, pods: 0}
  drawNetworks(d)
  drawPeerings(d)
  const clusters = dice.one([0, 1, 1, 2, 2])
  for (let ci = 0; ci < clusters; ci++) drawCluster(d, ci)
  const vms = dice.int(d.t.clusters.length ? 0 : 1, Math.min(4, LIMITS.machines - d.machines))
  for (let k = 0; k < vms; k++) drawVm(d, k)
  if (d.t.instances.length && dice.chance(0.4)) drawVmLoadBalancer(d)
  drawRoutes(d)
  drawFirewalls(d)
  return {
    apiVersion: 'xcc/v1', kind: 'Topology', metadata: {name},
    networks: d.networks.map((n) => ({
      name: n.name,
      subnets: n.subnets.map((s) => ({
        name: s.name, region: s.region, ipCidrRange: s.cidr,
        ...(s.secondaryIpRanges.length ? {secondaryIpRanges: s.secondaryIpRanges} : {}),
        ...(s.allowSubnetCidrRoutesOverlap ? {allowSubnetCidrRoutesOverlap: true} : {}),
      })),
      ...(n.peerings.length ? {peerings: n.peerings} : {}),
    })),
    ...d.t,
  }
}

function drawNetworks(d: Draft): void {
  const {dice} = d
  const count = dice.one([1, 2, 2, 3, 3])
  for (let i = 0; i < count; i++) {
    const name = `n${i}`
    const first = d.networks[0]
    if (first && dice.chance(0.12)) {
      // the same ranges as n0, in another network (allowed unless they are actively peered)
      const subnets = first.subnets.map((s, j) => ({...s, name: `${name}-s${j}`, network: name, next: 2, secondaryIpRanges: [], allowSubnetCidrRoutesOverlap: false}))
      d.networks.push({name, subnets, cloneOf: first.name, peerings: []})
      continue
    }
    const family = dice.one<Family>(['ten', 'ten', 'ten', 'rfc172', 'rfc192', 'pupi'])
    const subnets: SubnetDraft[] = []
    const region = dice.one(REGIONS)
    const subnetCount = dice.int(1, 2)
    for (let j = 0; j < subnetCount; j++) {
      const prefix = subnetPrefix(family, i, j)
      subnets.push({
        name: `${name}-s${j}`, network: name, region: j === 0 ? region : dice.one(REGIONS), prefix, cidr: `${prefix}.0/24`, next: 2,
        secondaryIpRanges: [], allowSubnetCidrRoutesOverlap: dice.chance(0.1),
      })
    }
    d.networks.push({name, subnets, peerings: []})
  }
  for (const n of d.networks) for (const s of n.subnets) d.ranges.push(s.cidr)
}

function drawPeerings(d: Draft): void {
  const {dice, networks} = d
  const active = new Set<string>()
  const peered = (x: NetworkDraft, y: NetworkDraft): boolean => active.has(`${x.name}|${y.name}`)
  for (const [i, a] of networks.entries()) {
    for (const b of networks.slice(i + 1)) {
      const r = dice.rng()
      // PEER-08: no ACTIVE peering between overlapping ranges, nor a network peered with two networks that overlap each other
      const clash = overlapping(a, b) || networks.some((c) => (peered(a, c) && overlapping(c, b)) || (peered(b, c) && overlapping(c, a)))
      if (r < 0.55 && !clash) {
        a.peerings.push(peering(dice, a, b))
        b.peerings.push(peering(dice, b, a))
        active.add(`${a.name}|${b.name}`).add(`${b.name}|${a.name}`)
      } else if (r < 0.7) {
        const [from, to] = dice.chance(0.5) ? [a, b] : [b, a]
        from.peerings.push(peering(dice, from, to))
      }
    }
  }
}

function peering(dice: Dice, from: NetworkDraft, to: NetworkDraft): NonNullable<NetworkInput['peerings']>[number] {
  return {
    name: `${from.name}-to-${to.name}`, network: to.name,
    ...(dice.chance(0.45) ? {exportCustomRoutes: true} : {}),
    ...(dice.chance(0.45) ? {importCustomRoutes: true} : {}),
    ...(dice.chance(0.15) ? {exportSubnetRoutesWithPublicIp: false} : {}),
    ...(dice.chance(0.3) ? {importSubnetRoutesWithPublicIp: true} : {}),
  }
}

function drawCluster(d: Draft, ci: number): void {
  const {dice} = d
  if (d.machines >= LIMITS.machines - 1) return
  const network = dice.one(d.networks)
  const subnet = dice.one(network.subnets)
  const region = subnet.region
  const name = `c${ci}`
  const location = dice.chance(0.7) ? zoneIn(dice, region) : region
  const mode = dice.chance(0.5) ? 'ROUTES' : 'VPC_NATIVE'
  const p = dice.one([`10.${100 + ci}`, `10.${100 + ci}`, `172.${24 + ci}`, `11.${100 + ci}`])
  const clusterIpv4Cidr = mode === 'ROUTES' ? `${p}.0.0/16` : `${p}.0.0/17`
  const servicesIpv4Cidr = `${p}.240.0/20`
  if (mode === 'VPC_NATIVE') {
    subnet.secondaryIpRanges.push({rangeName: `pods-${name}`, ipCidrRange: clusterIpv4Cidr})
    if (dice.chance(0.5)) subnet.secondaryIpRanges.push({rangeName: `svc-${name}`, ipCidrRange: servicesIpv4Cidr})
  }
  d.ranges.push(clusterIpv4Cidr)
  const nodeTag = `gke-${name}-node`
  const nodes: NodeInput[] = []
  const podNext: number[] = []
  const nodeCount = Math.min(dice.int(1, 2), LIMITS.machines - d.machines)
  for (let k = 0; k < nodeCount; k++) {
    const explicitZone = location === region || dice.chance(0.2)
    nodes.push({
      name: `gke-${name}-n${k}`, networkIP: host(subnet), podCidr: `${p}.${k}.0/24`,
      ...(explicitZone ? {zone: location === region ? zoneIn(dice, region) : location} : {}),
      ...(dice.chance(0.2) ? {tags: [nodeTag, dice.one(TAGS)]} : {}),
    })
    podNext.push(2)
    d.ranges.push(`${p}.${k}.0/24`)
    d.machines++
  }
  const masquerade = drawMasquerade(d, clusterIpv4Cidr)
  const pods: PodInput[] = []
  const podCount = Math.min(dice.int(0, 3), LIMITS.pods - d.pods)
  for (let k = 0; k < podCount; k++) {
    const ni = dice.int(0, nodes.length - 1)
    const node = nodes[ni] as NodeInput
    const namespace = dice.chance(0.2) ? 'prod' : 'default'
    if (dice.chance(0.1)) {
      pods.push({namespace, name: `p${k}`, node: node.name, ip: node.networkIP, hostNetwork: true, ports: [dice.one([9100, 9000])]})
    } else {
      let n = podNext[ni] as number
      if (n === 10) n++ // podCidr + 10 is where xcc assumes an undeclared pod
      podNext[ni] = n + 1
      const ports = dice.chance(0.45) ? undefined : dice.chance(0.8) ? [dice.one(PORTS)] : [8080, 9000]
      pods.push({namespace, name: `p${k}`, node: node.name, ip: `${p}.${ni}.${n}`, ...(ports ? {ports} : {})})
    }
    d.pods++
  }
  const cluster: ClusterInput = {
    name, location, network: network.name, subnetwork: subnet.name, mode, clusterIpv4Cidr, servicesIpv4Cidr,
    ...(masquerade ? {masquerade} : {}), nodes, pods, services: [],
  }
  const services: ServiceInput[] = []
  const serviceCount = dice.int(0, 2)
  for (let k = 0; k < serviceCount; k++) services.push(drawService(d, cluster, subnet, network, k, `${p}.240.${10 + k}`, nodeTag))
  cluster.services = services
  d.t.clusters.push(cluster)
}

function drawMasquerade(d: Draft, podRange: string): ClusterInput['masquerade'] | undefined {
  const {dice} = d
  switch (dice.int(0, 4)) {
    case 0:
      return {kubenet: {nonMasqueradeCidr: dice.one(['10.0.0.0/8', '10.0.0.0/8', podRange, '0.0.0.0/0'])}}
    case 1:
      return {ipMasq: {}} // the default non-masquerade list (SNAT-11/12)
    case 2: {
      const list = [...new Set(dice.some([podRange, '10.0.0.0/8', ...d.ranges], 0.3))]
      return {ipMasq: {nonMasqueradeCIDRs: list, ...(dice.chance(0.2) ? {masqLinkLocal: true} : {})}}
    }
    case 3:
      return {disabled: true}
    default:
      return undefined // schema default: GKE's IP-MASQ chain
  }
}

function drawService(d: Draft, cluster: ClusterInput, subnet: SubnetDraft, network: NetworkDraft, k: number, clusterIP: string, nodeTag: string): ServiceInput {
  const {dice} = d
  const pods = (cluster.pods ?? []).filter((p) => !p.hostNetwork)
  const namespace = pods.length ? (dice.one(pods).namespace ?? 'default') : 'default'
  const type = dice.one(['ClusterIP', 'NodePort', 'LoadBalancer', 'LoadBalancer'] as const)
  const port = dice.one([80, 8080])
  const targetPort = dice.chance(0.8) ? dice.one(PORTS) : undefined
  const nodePort = type !== 'ClusterIP' && dice.chance(0.8) ? 30000 + 100 * d.t.clusters.length + k : undefined
  const endpoints = dice.some(pods.filter((p) => (p.namespace ?? 'default') === namespace), 0.6).map((p) => p.name)
  const local = type !== 'ClusterIP' && dice.chance(0.3)
  const svc: ServiceInput = {
    namespace, name: `svc${k}`, type, clusterIP, endpoints,
    ports: [{port, protocol: 'TCP', ...(targetPort ? {targetPort} : {}), ...(nodePort ? {nodePort} : {})}],
    ...(local ? {externalTrafficPolicy: 'Local' as const} : {}),
  }
  if (type !== 'LoadBalancer') return svc
  // the internal load balancer GKE makes for it (SVC-05): VIP in a subnet of the cluster's region
  const frSubnet = dice.one(network.subnets.filter((s) => s.region === subnet.region))
  const fr = `${cluster.name}-svc${k}`
  const hcPort = local ? 31000 + k : 10256
  const backends = cluster.nodes.map((n) => n.name)
  const rule: ForwardingRuleInput = {
    name: fr, region: subnet.region, network: network.name, subnetwork: frSubnet.name, IPAddress: host(frSubnet), ports: [String(port)],
    backendService: `${fr}-bs`, ...(dice.chance(0.4) ? {allowGlobalAccess: true} : {}),
  }
  const backendService: BackendServiceInput = {
    name: `${fr}-bs`, region: subnet.region, backends: dice.chance(0.85) ? backends : backends.slice(0, 1),
    healthCheck: {protocol: dice.one(['TCP', 'HTTP'] as const), port: hcPort},
  }
  d.t.forwardingRules.push(rule)
  d.t.backendServices.push(backendService)
  // k8s-fw-<lb>: the client traffic rule; k8s-…-hc: the health checks (ILB-08), sometimes missing or partial
  if (dice.chance(0.6)) {
    d.t.firewalls.push({name: `k8s-fw-${fr}`, network: network.name, sourceRanges: ['0.0.0.0/0'], destinationRanges: [rule.IPAddress], targetTags: [nodeTag], allowed: [{IPProtocol: 'tcp', ports: [String(port)]}]})
  }
  const hc = dice.rng()
  if (hc < 0.75) {
    d.t.firewalls.push({name: `k8s-${fr}-hc`, network: network.name, sourceRanges: hc < 0.65 ? HEALTH_CHECK_RANGES : HEALTH_CHECK_RANGES.slice(0, 1), targetTags: [nodeTag], allowed: [{IPProtocol: 'tcp', ports: [String(hcPort)]}]})
  }
  return {...svc, loadBalancer: {internal: true, forwardingRule: fr}}
}

