/**
 * Synthetic xcc/v1 topologies of growing size for `npm run bench` (and a small load test).
 *
 * Pure and deterministic: size parameters + seed → the same Topology object, YAML and JSON text,
 * byte for byte. Every generated topology is VALID (the loader accepts it):
 *
 *  - network i owns 10.i.0.0/16: subnet `net-iii-nodes` 10.i.0.0/20 with secondary ranges
 *    `pods` 10.i.64.0/18 and `services` 10.i.128.0/19, subnet `net-iii-svc` 10.i.16.0/22;
 *    ROUTES clusters take pods 10.i.192.0/20 and services 10.i.224.0/19 (outside every subnet
 *    range), so ranges are disjoint inside a network and across every peering;
 *  - peerings: a chain i ↔ i+1 plus a hub (network 0 ↔ 2..24), all ACTIVE (both sides), some
 *    exchanging custom routes, plus one one-sided (INACTIVE) peering;
 *  - one gateway VM per network (canIpForward, guest forwarding + MASQUERADE; a second NIC in the
 *    next network when it is in the same region);
 *  - static routes: a default route and a route through the gateway per network, the rest spread
 *    over the networks with mixed next hops (gateway VM, its IP, an ILB, the internet gateway),
 *    priorities and tags, to unique ranges in 11.0.0.0/8;
 *  - firewall rules: 4 baseline rules per network (allow internal, allow health checks, IAP SSH,
 *    deny SMTP egress), the rest random ingress/egress allow/deny rules over 172.16.0.0/12 and
 *    192.168.0.0/16 with tags, ports and priorities (20% of them in the hub network);
 *  - clusters of N nodes, alternately VPC_NATIVE and ROUTES (ROUTES clusters imply one route per
 *    node), with mixed masquerade settings, pods, a LoadBalancer service behind an internal
 *    forwarding rule whose backends are the nodes, a ClusterIP and a NodePort service;
 *  - node 0 of cluster 0 carries an `iptables` field: an iptables-save dump of a large kube-proxy
 *    node (mangle, filter and nat tables: KUBE-SERVICES with thousands of cluster IPs, KUBE-SVC
 *    chains with `-m statistic`, KUBE-SEP chains with KUBE-MARK-MASQ + DNAT, KUBE-EXT,
 *    KUBE-NODEPORTS, KUBE-POSTROUTING and GKE's IP-MASQ chain) of about `iptablesLines` lines.
 *
 * `flows` lists the traces the benchmark measures; they cross the large structures (the big
 * dump, the hub firewall, the peering route tables, the ILB health-check evaluation).
 */
import {createHash} from 'node:crypto'

import {dump as dumpYaml} from 'js-yaml'
import type {z} from 'zod'

import type {topologySchema} from '../src/core/topology/schema.js'

/** What a topology file holds (defaults may be left out), i.e. the schema's input type. */
export type TopologyInput = z.input<typeof topologySchema>
type NetworkInput = NonNullable<TopologyInput['networks']>[number]
type RouteInput = NonNullable<TopologyInput['routes']>[number]
type FirewallInput = NonNullable<TopologyInput['firewalls']>[number]
type InstanceInput = NonNullable<TopologyInput['instances']>[number]
type ForwardingRuleInput = NonNullable<TopologyInput['forwardingRules']>[number]
type BackendServiceInput = NonNullable<TopologyInput['backendServices']>[number]
type ClusterInput = NonNullable<TopologyInput['clusters']>[number]
type ProtocolInput = NonNullable<FirewallInput['allowed']>[number]

export interface SizeParams {
  readonly label: string
  readonly networks: number
  /** declared static routes (clusters in ROUTES mode imply one more per node) */
  readonly routes: number
  readonly firewalls: number
  readonly clusters: number
  readonly nodesPerCluster: number
  /** lines of the one large kube-proxy iptables-save dump (node 0 of cluster 0) */
  readonly iptablesLines: number
  readonly seed: number
}

/** Five sizes, each about 3.3× the previous one, up to the issue's largest. */
export const SIZES: readonly SizeParams[] = [
  {label: 'xs', networks: 4, routes: 200, firewalls: 200, clusters: 2, nodesPerCluster: 10, iptablesLines: 1_000, seed: 1},
  {label: 's', networks: 6, routes: 600, firewalls: 600, clusters: 3, nodesPerCluster: 10, iptablesLines: 3_000, seed: 1},
  {label: 'm', networks: 20, routes: 2_000, firewalls: 2_000, clusters: 10, nodesPerCluster: 10, iptablesLines: 10_000, seed: 1},
  {label: 'l', networks: 60, routes: 6_000, firewalls: 6_000, clusters: 30, nodesPerCluster: 10, iptablesLines: 30_000, seed: 1},
  {label: 'xl', networks: 200, routes: 20_000, firewalls: 20_000, clusters: 100, nodesPerCluster: 10, iptablesLines: 100_000, seed: 1},
]

export function sizeByLabel(label: string): SizeParams {
  const size = SIZES.find((s) => s.label === label)
  if (!size) throw new Error(`unknown size "${label}" (known: ${SIZES.map((s) => s.label).join(', ')})`)
  return size
}

/** A trace to measure: arguments of resolveFlow. */
export interface FlowSpec {
  readonly label: string
  readonly from: string
  readonly to: string
  readonly protocol?: 'tcp' | 'udp'
}

export interface GeneratedCounts {
  networks: number
  subnets: number
  peerings: number
  routes: number
  impliedRoutes: number
  firewalls: number
  instances: number
  clusters: number
  nodes: number
  pods: number
  services: number
  forwardingRules: number
  /** lines of the big node's dump */
  iptablesLines: number
  /** kube-proxy services in the big node's dump */
  iptablesServices: number
}

export interface Generated {
  readonly topology: TopologyInput
  readonly flows: readonly FlowSpec[]
  readonly counts: GeneratedCounts
}

const REGIONS = ['us-west1', 'us-east1', 'europe-west1', 'asia-east1'] as const

// ---------------------------------------------------------------------------------------------
// small helpers

/** mulberry32: a tiny, fast, seedable PRNG (deterministic across platforms). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function intBelow(rng: () => number, n: number): number {
  return Math.floor(rng() * n)
}

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[intBelow(rng, items.length)] as T
}

const pad = (n: number, width = 3): string => String(n).padStart(width, '0')

function ipText(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`
}

function ipOf(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0
}

const netName = (i: number): string => `net-${pad(i)}`
const clusterName = (c: number): string => `c${pad(c)}`
const gatewayName = (i: number): string => `gw-${pad(i)}`
const nodeName = (c: number, j: number): string => `gke-${clusterName(c)}-pool-${pad(j, 2)}`
const regionOf = (i: number, networks: number): string => REGIONS[Math.min(REGIONS.length - 1, Math.floor((i * REGIONS.length) / networks))] as string
const clusterNetwork = (c: number, p: SizeParams): number => Math.floor((c * p.networks) / p.clusters)

/** kube-proxy's chain suffix: base32 of sha256, 16 characters. */
function chainSuffix(text: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  const digest = createHash('sha256').update(text).digest()
  let out = ''
  for (let i = 0; i < 16; i++) out += alphabet[(digest[i] as number) & 31]
  return out
}

// ---------------------------------------------------------------------------------------------
// the generator

interface ClusterPlan {
  readonly index: number
  readonly network: number
  readonly mode: 'ROUTES' | 'VPC_NATIVE'
  readonly podBase: number
  readonly serviceBase: number
  readonly region: string
}

function planCluster(c: number, p: SizeParams): ClusterPlan {
  const network = clusterNetwork(c, p)
  const mode = c % 2 === 0 ? 'VPC_NATIVE' : 'ROUTES'
  return {
    index: c,
    network,
    mode,
    podBase: mode === 'VPC_NATIVE' ? ipOf(10, network, 64, 0) : ipOf(10, network, 192, 0),
    serviceBase: mode === 'VPC_NATIVE' ? ipOf(10, network, 128, 0) : ipOf(10, network, 224, 0),
    region: regionOf(network, p.networks),
  }
}

export function generate(p: SizeParams): Generated {
  if (p.networks < 3 || p.networks > 250) throw new Error('networks must be 3..250 (one 10.i.0.0/16 per network)')
  if (p.clusters < 2 || p.clusters > p.networks) throw new Error('clusters must be 2..networks (at most one cluster per network)')
  if (p.nodesPerCluster < 1 || p.nodesPerCluster > 16) throw new Error('nodesPerCluster must be 1..16 (node pod ranges are /24s of a /20)')
  if (p.routes < 2 * p.networks) throw new Error('routes must be at least 2 per network')
  if (p.firewalls < 4 * p.networks) throw new Error('firewalls must be at least 4 per network')
  const rng = prng(p.seed * 0x9e3779b1 + p.networks)

  const plans = Array.from({length: p.clusters}, (_, c) => planCluster(c, p))
  const clusterIn = new Map(plans.map((plan) => [plan.network, plan]))

  // networks and peerings
  const pairs = new Map<string, {a: number; b: number; custom: boolean}>()
  const addPair = (a: number, b: number, custom: boolean): void => {
    const key = `${Math.min(a, b)}-${Math.max(a, b)}`
    if (!pairs.has(key)) pairs.set(key, {a: Math.min(a, b), b: Math.max(a, b), custom})
  }
  for (let i = 0; i + 1 < p.networks; i++) addPair(i, i + 1, i % 4 === 0)
  for (let j = 2; j < Math.min(p.networks, 25); j++) addPair(0, j, j % 2 === 0)
  const peeringsOf = new Map<number, NetworkInput['peerings']>()
  const addPeering = (from: number, to: number, custom: boolean): void => {
    const list = peeringsOf.get(from) ?? []
    list.push({name: `${netName(from)}-to-${netName(to)}`, network: netName(to), exportCustomRoutes: custom, importCustomRoutes: custom})
    peeringsOf.set(from, list)
  }
  for (const {a, b, custom} of pairs.values()) {
    addPeering(a, b, custom)
    addPeering(b, a, custom)
  }
  // one INACTIVE peering (only one side configured), when such a pair is free
  const last = p.networks - 1
  if (!pairs.has(`1-${last}`) && last > 2) addPeering(last, 1, false)

  const networks: NetworkInput[] = Array.from({length: p.networks}, (_, i) => ({
    name: netName(i),
    subnets: [
      {
        name: `${netName(i)}-nodes`,
        region: regionOf(i, p.networks),
        ipCidrRange: `10.${i}.0.0/20`,
        secondaryIpRanges: [
          {rangeName: 'pods', ipCidrRange: `10.${i}.64.0/18`},
          {rangeName: 'services', ipCidrRange: `10.${i}.128.0/19`},
        ],
      },
      {name: `${netName(i)}-svc`, region: regionOf(i, p.networks), ipCidrRange: `10.${i}.16.0/22`},
    ],
    peerings: (peeringsOf.get(i) ?? []).sort((x, y) => x.name.localeCompare(y.name)),
  }))

  // gateway VMs, one per network
  const gatewayIp = (i: number): string => `10.${i}.1.10`
  const hasSecondNic = (i: number): boolean => i + 1 < p.networks && regionOf(i + 1, p.networks) === regionOf(i, p.networks)
  const instances: InstanceInput[] = Array.from({length: p.networks}, (_, i) => {
    const second = hasSecondNic(i)
    const masquerade = ['-A POSTROUTING -o nic0 -m comment --comment "gateway: hide forwarded sources" -j MASQUERADE']
    if (second) masquerade.push('-A POSTROUTING -o nic1 -m comment --comment "gateway: hide forwarded sources" -j MASQUERADE')
    return {
      name: gatewayName(i),
      zone: `${regionOf(i, p.networks)}-b`,
      tags: ['gateway', `${netName(i)}-gw`],
      canIpForward: true,
      networkInterfaces: [
        {network: netName(i), subnetwork: `${netName(i)}-nodes`, networkIP: gatewayIp(i)},
        ...(second ? [{network: netName(i + 1), subnetwork: `${netName(i + 1)}-svc`, networkIP: `10.${i + 1}.17.10`}] : []),
      ],
      guest: {
        ipForward: true,
        routes: second ? [{destRange: '11.0.0.0/8', nic: 1}] : [],
        iptables: ['*filter', ':FORWARD ACCEPT [0:0]', '-A FORWARD -m conntrack --ctstate INVALID -j DROP', 'COMMIT', '*nat', ':POSTROUTING ACCEPT [0:0]', ...masquerade, 'COMMIT', ''].join('\n'),
      },
    }
  })

  // clusters, their load balancers and the big dump
  const clusters: ClusterInput[] = []
  const forwardingRules: ForwardingRuleInput[] = []
  const backendServices: BackendServiceInput[] = []
  let bigDump: {text: string; lines: number; services: number; target: {ip: string; port: number}} | undefined
  let pods = 0
  let services = 0
  for (const plan of plans) {
    const c = plan.index
    const name = clusterName(c)
    const regional = c % 4 === 3
    const zones = ['a', 'b', 'c'].map((z) => `${plan.region}-${z}`)
    const podsPerNode = c === 0 ? 20 : 2
    const clusterPods: NonNullable<ClusterInput['pods']> = []
    const nodes: ClusterInput['nodes'] = Array.from({length: p.nodesPerCluster}, (_, j) => {
      const podCidrBase = plan.podBase + j * 256
      for (let k = 0; k < podsPerNode; k++) {
        clusterPods.push({
          namespace: k % 4 === 3 ? 'shop' : 'default',
          name: `app-${j}-${k}`,
          node: nodeName(c, j),
          ip: ipText(podCidrBase + 2 + k),
          ...(c === 0 ? {} : {ports: [8080]}),
        })
      }
      return {
        name: nodeName(c, j),
        ...(regional ? {zone: zones[j % 3] as string} : {}),
        networkIP: `10.${plan.network}.0.${2 + j}`,
        podCidr: `${ipText(podCidrBase)}/24`,
      }
    })
    pods += clusterPods.length
    const defaults = clusterPods.filter((x) => x.namespace === 'default')
    const ilb = `${name}-web-ilb`
    const backend = `${name}-web-backend`
    const vip = `10.${plan.network}.16.10`
    const clusterServices: NonNullable<ClusterInput['services']> = [
      {
        namespace: 'default', name: 'web', type: 'LoadBalancer', clusterIP: ipText(plan.serviceBase + 10),
        ports: [{name: 'http', port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP'}],
        endpoints: defaults.slice(0, 8).map((x) => x.name),
        loadBalancer: {internal: true, forwardingRule: ilb},
      },
      {namespace: 'default', name: 'api', type: 'ClusterIP', clusterIP: ipText(plan.serviceBase + 11), ports: [{port: 8080, protocol: 'TCP'}], endpoints: defaults.slice(0, 3).map((x) => x.name)},
      {
        namespace: 'shop', name: 'metrics', type: 'NodePort', clusterIP: ipText(plan.serviceBase + 12),
        ports: [{name: 'metrics', port: 9090, targetPort: 8080, nodePort: 30090, protocol: 'TCP'}],
        endpoints: clusterPods.filter((x) => x.namespace === 'shop').slice(0, 2).map((x) => x.name),
      },
    ]
    services += clusterServices.length
    forwardingRules.push({
      name: ilb, region: plan.region, network: netName(plan.network), subnetwork: `${netName(plan.network)}-svc`, IPAddress: vip,
      IPProtocol: 'TCP', ports: ['80'], allowGlobalAccess: c % 5 !== 4, backendService: backend,
    })
    backendServices.push({name: backend, region: plan.region, backends: nodes.map((n) => n.name), healthCheck: {protocol: 'HTTP', port: 10256, requestPath: '/healthz'}})

    const masquerade: ClusterInput['masquerade'] =
      c % 3 === 0 ? undefined : c % 3 === 1 ? {kubenet: {nonMasqueradeCidr: '10.0.0.0/8'}} : {ipMasq: {nonMasqueradeCIDRs: ['10.0.0.0/8', '172.16.0.0/12']}}
    if (c === 0) {
      const podIp = new Map(clusterPods.map((x) => [`${x.namespace}/${x.name}`, x.ip]))
      bigDump = kubeProxyDump({
        lines: p.iptablesLines,
        podRange: `${ipText(plan.podBase)}/20`,
        serviceBase: plan.serviceBase,
        serviceCount: 8190,
        endpointPool: clusterPods.map((x) => x.ip),
        declared: clusterServices.map((s) => ({
          namespace: s.namespace ?? 'default', name: s.name, clusterIP: s.clusterIP,
          ports: s.ports.map((x) => ({name: x.name, port: x.port, targetPort: x.targetPort ?? x.port, nodePort: x.nodePort, protocol: x.protocol ?? 'TCP'})),
          endpoints: (s.endpoints ?? []).map((e) => podIp.get(`${s.namespace ?? 'default'}/${e}`) as string),
          loadBalancerIP: s.loadBalancer ? vip : undefined,
        })),
        seed: p.seed,
      })
      const first = nodes[0] as ClusterInput['nodes'][number]
      nodes[0] = {...first, iptables: bigDump.text}
    }
    clusters.push({
      name,
      location: regional ? plan.region : zones[1] as string,
      network: netName(plan.network),
      subnetwork: `${netName(plan.network)}-nodes`,
      mode: plan.mode,
      clusterIpv4Cidr: `${ipText(plan.podBase)}/20`,
      servicesIpv4Cidr: `${ipText(plan.serviceBase)}/19`,
      ...(masquerade ? {masquerade} : {}),
      nodes,
      pods: clusterPods,
      services: clusterServices,
    })
  }

  // routes
  const routes: RouteInput[] = []
  for (let i = 0; i < p.networks; i++) {
    routes.push({name: `${netName(i)}-default-internet`, network: netName(i), destRange: '0.0.0.0/0', nextHopGateway: 'default-internet-gateway'})
    // tagged for the network's nodes (or nobody), so the gateway itself takes the default route on
    const nodeTag = clusterIn.has(i) ? `gke-${clusterName((clusterIn.get(i) as ClusterPlan).index)}-node` : 'app-0'
    routes.push({name: `${netName(i)}-partner-via-gw`, network: netName(i), destRange: `11.250.${i}.0/24`, priority: 900, tags: [nodeTag], nextHopInstance: gatewayName(i)})
  }
  const spread = p.routes - routes.length
  for (let g = 0; g < spread; g++) {
    const n = g % p.networks
    const prefix = 24 + (g % 4) * 2
    const dest = `11.${g >>> 8}.${g & 255}.0/${prefix}`
    const kind = rng()
    const hop: Partial<RouteInput> =
      kind < 0.4 ? {nextHopInstance: gatewayName(n)}
      : kind < 0.55 ? {nextHopIp: gatewayIp(n)}
      : kind < 0.6 ? (clusterIn.has(n) ? {nextHopIlb: `${clusterName((clusterIn.get(n) as ClusterPlan).index)}-web-ilb`} : {nextHopInstance: gatewayName(n)})
      : {nextHopGateway: 'default-internet-gateway'}
    const tagged = rng() < 0.15
    const tags = tagged ? [clusterIn.has(n) ? `gke-${clusterName((clusterIn.get(n) as ClusterPlan).index)}-node` : `app-${intBelow(rng, 100)}`] : undefined
    routes.push({
      name: `${netName(n)}-route-${pad(g, 5)}`, network: netName(n), destRange: dest, priority: 100 + intBelow(rng, 1900),
      ...(tags ? {tags} : {}), ...hop,
    } as RouteInput)
  }

  // firewalls
  const firewalls: FirewallInput[] = []
  for (let i = 0; i < p.networks; i++) {
    const network = netName(i)
    firewalls.push(
      {name: `${network}-allow-internal`, network, priority: 65000, sourceRanges: ['10.0.0.0/8'], allowed: [{IPProtocol: 'tcp'}, {IPProtocol: 'udp'}, {IPProtocol: 'icmp'}]},
      {name: `${network}-allow-health-checks`, network, priority: 1000, sourceRanges: ['35.191.0.0/16', '130.211.0.0/22'], allowed: [{IPProtocol: 'tcp'}]},
      {name: `${network}-allow-iap-ssh`, network, priority: 1000, sourceRanges: ['35.235.240.0/20'], allowed: [{IPProtocol: 'tcp', ports: ['22']}]},
      {name: `${network}-deny-smtp-egress`, network, direction: 'EGRESS', priority: 1000, destinationRanges: ['0.0.0.0/0'], denied: [{IPProtocol: 'tcp', ports: ['25']}]},
    )
  }
  const randomCount = p.firewalls - firewalls.length
  const hubShare = Math.floor(randomCount * 0.2)
  const randomRange = (): string =>
    rng() < 0.75 ? `172.${16 + intBelow(rng, 16)}.${intBelow(rng, 256)}.0/${24 + intBelow(rng, 5)}` : `192.168.${intBelow(rng, 256)}.0/${24 + intBelow(rng, 5)}`
  const randomPorts = (): string[] =>
    Array.from({length: 1 + intBelow(rng, 3)}, () => {
      const lo = 1000 + intBelow(rng, 9000)
      return rng() < 0.7 ? String(lo) : `${lo}-${lo + 1 + intBelow(rng, 200)}`
    })
  for (let g = 0; g < randomCount; g++) {
    const n = g < hubShare ? 0 : (g - hubShare) % p.networks
    const network = netName(n)
    const ingress = rng() < 0.7
    const r = rng()
    const protocols: ProtocolInput[] =
      r < 0.5 ? [{IPProtocol: 'tcp', ports: randomPorts()}]
      : r < 0.7 ? [{IPProtocol: 'udp', ports: randomPorts()}]
      : r < 0.8 ? [{IPProtocol: 'icmp'}]
      : r < 0.95 ? [{IPProtocol: 'tcp', ports: randomPorts()}, {IPProtocol: 'udp', ports: randomPorts()}]
      : [{IPProtocol: 'all'}]
    const t = rng()
    const clusterTag = clusterIn.has(n) ? `gke-${clusterName((clusterIn.get(n) as ClusterPlan).index)}-node` : 'gateway'
    const targetTags = t < 0.4 ? [] : t < 0.8 ? [`app-${intBelow(rng, 100)}`] : [clusterTag]
    const ranges = Array.from({length: 1 + intBelow(rng, 3)}, randomRange)
    const rule: FirewallInput = {
      name: `${network}-fw-${pad(g, 5)}`,
      network,
      direction: ingress ? 'INGRESS' : 'EGRESS',
      priority: 100 + intBelow(rng, 64800),
      ...(ingress ? (rng() < 0.8 ? {sourceRanges: ranges} : {sourceTags: [`tag-${intBelow(rng, 50)}`]}) : {destinationRanges: ranges}),
      ...(targetTags.length ? {targetTags} : {}),
      ...(rng() < 0.6 ? {allowed: protocols} : {denied: protocols}),
      ...(rng() < 0.02 ? {disabled: true} : {}),
    }
    firewalls.push(rule)
  }

  const topology: TopologyInput = {
    apiVersion: 'xcc/v1',
    kind: 'Topology',
    metadata: {name: `bench-${p.label}`, description: `synthetic benchmark topology (size ${p.label}, seed ${p.seed})`},
    networks,
    routes,
    firewalls,
    instances,
    forwardingRules,
    backendServices,
    clusters,
  }

  const dumpInfo = bigDump as NonNullable<typeof bigDump>
  const c1 = plans[1] as ClusterPlan
  const c0PodOnNode1 = (clusters[0]?.pods ?? []).find((x) => x.node === nodeName(0, Math.min(1, p.nodesPerCluster - 1)) && x.namespace === 'default') as {ip: string}
  const flows: FlowSpec[] = [
    // the big dump's node: KUBE-SERVICES misses, IP-MASQ, egress, hub routes, peering, ILB health check over the peer's ingress rules, backend node DNAT, reply
    {label: 'pod(big node) -> ILB in peered VPC', from: `${clusterName(0)}/default/app-0-0`, to: `lb/${clusterName(1)}-web-ilb`},
    // a cluster IP deep in the 100k-line dump: KUBE-SVC statistic branches, KUBE-SEP DNAT, every endpoint pod, replies
    {label: 'pod(big node) -> ClusterIP in big dump', from: `${clusterName(0)}/default/app-0-0`, to: `${dumpInfo.target.ip}:${dumpInfo.target.port}`},
    // routes-based pod to a VPC-native pod across the hub peering (custom routes exchanged for the reply)
    {label: 'ROUTES pod -> pod in peered VPC', from: `${clusterName(1)}/default/app-0-0`, to: `${c0PodOnNode1.ip}:8080`},
    // a VM to a service's internal load balancer in a peered network
    {label: 'VM -> service ILB in peered VPC', from: `instance/${gatewayName(0)}`, to: `${clusterName(1)}/default/web`},
    // a pod through a static route to the gateway VM (guest forwarding and MASQUERADE)
    {label: 'pod -> static route via gateway VM', from: `${clusterName(1)}/default/app-0-0`, to: `11.250.${c1.network}.7:443`},
  ]

  const counts: GeneratedCounts = {
    networks: networks.length,
    subnets: networks.reduce((sum, n) => sum + (n.subnets?.length ?? 0), 0),
    peerings: networks.reduce((sum, n) => sum + (n.peerings?.length ?? 0), 0),
    routes: routes.length,
    impliedRoutes: plans.filter((x) => x.mode === 'ROUTES').length * p.nodesPerCluster,
    firewalls: firewalls.length,
    instances: instances.length,
    clusters: clusters.length,
    nodes: clusters.length * p.nodesPerCluster,
    pods,
    services,
    forwardingRules: forwardingRules.length,
    iptablesLines: dumpInfo.lines,
    iptablesServices: dumpInfo.services,
  }
  return {topology, flows, counts}
}

// ---------------------------------------------------------------------------------------------
// the kube-proxy dump

export interface DumpService {
  readonly namespace: string
  readonly name: string
  readonly clusterIP: string
  readonly ports: ReadonlyArray<{readonly name?: string; readonly port: number; readonly targetPort: number; readonly nodePort?: number; readonly protocol: 'TCP' | 'UDP'}>
  readonly endpoints: readonly string[]
  readonly loadBalancerIP?: string
}

export interface KubeProxyDumpOptions {
  /** about this many lines (the dump stops adding services once it reaches it) */
  readonly lines: number
  /** the cluster pod range (KUBE-SVC's `! -s <podRange> … -j KUBE-MARK-MASQ`) */
  readonly podRange: string
  /** cluster IPs are serviceBase + 16 + n */
  readonly serviceBase: number
  /** usable cluster IPs in the service range */
  readonly serviceCount: number
  /** pod IPs that endpoints are drawn from */
  readonly endpointPool: readonly string[]
  /** services that must appear first, as declared in the topology */
  readonly declared: readonly DumpService[]
  readonly seed: number
}

const GKE_NON_MASQUERADE: ReadonlyArray<readonly [string, string]> = [
  ['10.0.0.0/8', 'RFC 1918 reserved range'],
  ['172.16.0.0/12', 'RFC 1918 reserved range'],
  ['192.168.0.0/16', 'RFC 1918 reserved range'],
  ['240.0.0.0/4', 'RFC 5735 reserved range'],
  ['192.0.2.0/24', 'RFC 5737 reserved range'],
  ['198.51.100.0/24', 'RFC 5737 reserved range'],
  ['203.0.113.0/24', 'RFC 5737 reserved range'],
  ['100.64.0.0/10', 'RFC 6598 reserved range'],
  ['198.18.0.0/15', 'RFC 6815 reserved range'],
  ['192.0.0.0/24', 'RFC 6890 reserved range'],
  ['192.88.99.0/24', 'RFC 7526 reserved range'],
]

/**
 * An iptables-save dump shaped like a large kube-proxy (iptables mode) node on GKE, with about
 * `lines` lines. Returns the text, its line count, how many services it holds, and a cluster IP
 * near the end of KUBE-SERVICES whose service has several endpoints (a trace target).
 */
export function kubeProxyDump(o: KubeProxyDumpOptions): {text: string; lines: number; services: number; target: {ip: string; port: number}} {
  const rng = prng(o.seed * 7919 + 17)
  const natChains: string[] = []
  const natRules = new Map<string, string[]>()
  const filterRules = new Map<string, string[]>()
  const add = (map: Map<string, string[]>, chain: string, line: string): void => {
    const list = map.get(chain)
    if (list) list.push(`-A ${chain} ${line}`)
    else map.set(chain, [`-A ${chain} ${line}`])
  }
  // the fixed part of the dump (headers, builtin chains, masquerade, filter scaffolding): about 90 lines
  const fixedLines = 90
  let count = fixedLines
  let target: {ip: string; port: number} | undefined

  const emit = (svc: DumpService): void => {
    for (const port of svc.ports) {
      const proto = port.protocol.toLowerCase()
      const id = `${svc.namespace}/${svc.name}${port.name ? `:${port.name}` : ''}`
      const suffix = chainSuffix(`${id}${proto}`)
      const svcChain = `KUBE-SVC-${suffix}`
      if (svc.endpoints.length === 0) {
        add(filterRules, 'KUBE-SERVICES', `-d ${svc.clusterIP}/32 -p ${proto} -m comment --comment "${id} has no endpoints" -m ${proto} --dport ${port.port} -j REJECT --reject-with icmp-port-unreachable`)
        count++
        if (port.nodePort !== undefined) {
          add(filterRules, 'KUBE-EXTERNAL-SERVICES', `-p ${proto} -m comment --comment "${id} has no endpoints" -m addrtype --dst-type LOCAL -m ${proto} --dport ${port.nodePort} -j REJECT --reject-with icmp-port-unreachable`)
          count++
        }
        continue
      }
      natChains.push(`:${svcChain} - [0:0]`)
      add(natRules, 'KUBE-SERVICES', `-d ${svc.clusterIP}/32 -p ${proto} -m comment --comment "${id} cluster IP" -m ${proto} --dport ${port.port} -j ${svcChain}`)
      add(natRules, svcChain, `! -s ${o.podRange} -d ${svc.clusterIP}/32 -p ${proto} -m comment --comment "${id} cluster IP" -m ${proto} --dport ${port.port} -j KUBE-MARK-MASQ`)
      count += 3
      svc.endpoints.forEach((ep, i) => {
        const sep = `KUBE-SEP-${chainSuffix(`${id}${proto}${ep}:${port.targetPort}`)}`
        natChains.push(`:${sep} - [0:0]`)
        const left = svc.endpoints.length - i
        const statistic = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : ''
        add(natRules, svcChain, `-m comment --comment "${id} -> ${ep}:${port.targetPort}"${statistic} -j ${sep}`)
        add(natRules, sep, `-s ${ep}/32 -m comment --comment "${id}" -j KUBE-MARK-MASQ`)
        add(natRules, sep, `-p ${proto} -m comment --comment "${id}" -m ${proto} -j DNAT --to-destination ${ep}:${port.targetPort}`)
        count += 4
      })
      if (port.nodePort !== undefined || svc.loadBalancerIP !== undefined) {
        const ext = `KUBE-EXT-${suffix}`
        natChains.push(`:${ext} - [0:0]`)
        add(natRules, ext, `-m comment --comment "masquerade traffic for ${id} external destinations" -j KUBE-MARK-MASQ`)
        add(natRules, ext, `-j ${svcChain}`)
        count += 3
        if (svc.loadBalancerIP !== undefined) {
          add(natRules, 'KUBE-SERVICES', `-d ${svc.loadBalancerIP}/32 -p ${proto} -m comment --comment "${id} loadbalancer IP" -m ${proto} --dport ${port.port} -j ${ext}`)
          count++
        }
        if (port.nodePort !== undefined) {
          add(natRules, 'KUBE-NODEPORTS', `-p ${proto} -m comment --comment "${id}" -m ${proto} --dport ${port.nodePort} -j ${ext}`)
          count++
        }
      }
      if (proto === 'tcp' && svc.endpoints.length >= 3) target = {ip: svc.clusterIP, port: port.port}
    }
  }

  for (const svc of o.declared) emit(svc)
  let n = 0
  const namespaces = 40
  while (count < o.lines) {
    if (n >= o.serviceCount - 16) throw new Error(`kubeProxyDump: the service range holds only ${o.serviceCount} cluster IPs`)
    const ns = `team-${pad(n % namespaces, 2)}`
    const dns = rng() < 0.05
    const endpointCount = rng() < 0.04 ? 0 : 1 + intBelow(rng, 10)
    const start = intBelow(rng, o.endpointPool.length)
    const endpoints = Array.from({length: Math.min(endpointCount, o.endpointPool.length)}, (_, k) => o.endpointPool[(start + k * 7) % o.endpointPool.length] as string)
    const ports: DumpService['ports'] = dns
      ? [{name: 'dns', port: 53, targetPort: 53, protocol: 'UDP'}, {name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP'}]
      : rng() < 0.3
        ? [{name: 'http', port: 80, targetPort: 8080, protocol: 'TCP'}, {name: 'grpc', port: 9090, targetPort: 9090, protocol: 'TCP'}]
        : [{name: 'http', port: pick(rng, [80, 443, 8080, 8443]), targetPort: 8080, ...(rng() < 0.2 ? {nodePort: 31000 + (n % 1700)} : {}), protocol: 'TCP'}]
    emit({namespace: ns, name: `svc-${pad(n, 5)}`, clusterIP: ipText(o.serviceBase + 16 + n), ports, endpoints})
    n++
  }
  if (!target) throw new Error('kubeProxyDump: no service with 3 or more endpoints (raise lines)')

  // iptables-save orders the user chains it prints by name; the rules follow chain by chain
  const userNat = [...new Set(natChains)].sort()
  const natBuiltin = [':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]']
  const natFixed = [':IP-MASQ - [0:0]', ':KUBE-KUBELET-CANARY - [0:0]', ':KUBE-MARK-DROP - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-POSTROUTING - [0:0]', ':KUBE-PROXY-CANARY - [0:0]', ':KUBE-SERVICES - [0:0]']
  const ruleChains = (map: Map<string, string[]>, chain: string): string[] => map.get(chain) ?? []
  const userRules = userNat.map((decl) => decl.slice(1, decl.indexOf(' '))).flatMap((chain) => ruleChains(natRules, chain))
  const lines = [
    '# Generated by iptables-save v1.8.7 on Mon Jan  1 00:00:00 2024',
    '*mangle',
    ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-IPTABLES-HINT - [0:0]', ':KUBE-KUBELET-CANARY - [0:0]', ':KUBE-PROXY-CANARY - [0:0]',
    'COMMIT',
    '# Completed on Mon Jan  1 00:00:00 2024',
    '# Generated by iptables-save v1.8.7 on Mon Jan  1 00:00:00 2024',
    '*filter',
    ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
    ':KUBE-EXTERNAL-SERVICES - [0:0]', ':KUBE-FIREWALL - [0:0]', ':KUBE-FORWARD - [0:0]', ':KUBE-KUBELET-CANARY - [0:0]', ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-PROXY-CANARY - [0:0]', ':KUBE-PROXY-FIREWALL - [0:0]', ':KUBE-SERVICES - [0:0]',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A INPUT -j KUBE-FIREWALL',
    '-A INPUT -p tcp -m tcp --dport 10250 -m comment --comment "kubelet" -j ACCEPT',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A FORWARD -s 10.0.0.0/8 -m comment --comment "pod traffic" -j ACCEPT',
    '-A FORWARD -d 10.0.0.0/8 -m comment --comment "pod traffic" -j ACCEPT',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -j KUBE-FIREWALL',
    ...ruleChains(filterRules, 'KUBE-EXTERNAL-SERVICES'),
    '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP',
    '-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" -m mark --mark 0x8000/0x8000 -j DROP',
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ...ruleChains(filterRules, 'KUBE-SERVICES'),
    'COMMIT',
    '# Completed on Mon Jan  1 00:00:00 2024',
    '# Generated by iptables-save v1.8.7 on Mon Jan  1 00:00:00 2024',
    '*nat',
    ...natBuiltin,
    ...natFixed,
    ...userNat,
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A POSTROUTING -m comment --comment "ip-masq: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom IP-MASQ chain" -m addrtype ! --dst-type LOCAL -j IP-MASQ',
    '-A IP-MASQ -d 169.254.0.0/16 -m comment --comment "ip-masq: local traffic is not subject to MASQUERADE" -j RETURN',
    ...GKE_NON_MASQUERADE.map(([range, why]) => `-A IP-MASQ -d ${range} -m comment --comment "ip-masq: ${why} is not subject to MASQUERADE" -j RETURN`),
    '-A IP-MASQ -m comment --comment "ip-masq: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE',
    '-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    ...ruleChains(natRules, 'KUBE-NODEPORTS'),
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ...ruleChains(natRules, 'KUBE-SERVICES'),
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ...userRules,
    'COMMIT',
    '# Completed on Mon Jan  1 00:00:00 2024',
  ]
  return {text: `${lines.join('\n')}\n`, lines: lines.length, services: o.declared.length + n, target}
}

// ---------------------------------------------------------------------------------------------
// serialisation

/** Block-style YAML as a person or `xcc snapshot` would write it (the iptables dump as a literal block). */
export function toYaml(t: TopologyInput): string {
  return dumpYaml(t, {lineWidth: -1, noRefs: true, noCompatMode: true})
}

/** JSON, two-space indented (what a snapshot tool typically writes). */
export function toJson(t: TopologyInput): string {
  return `${JSON.stringify(t, null, 2)}\n`
}
