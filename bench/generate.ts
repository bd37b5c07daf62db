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

import {dump as dumpYaml} from 'js-yaml'
import type {z} from 'zod'

import {clusterName, clusterNetwork, gatewayName, intBelow, ipOf, ipText, netName, nodeName, pad, prng, regionOf} from './generate-support.js'
import {kubeProxyDump} from './kube-proxy-dump.js'
import type {SizeParams} from './sizes.js'

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
// serialisation

/** Block-style YAML as a person or `xcc snapshot` would write it (the iptables dump as a literal block). */
export function toYaml(t: TopologyInput): string {
  return dumpYaml(t, {lineWidth: -1, noRefs: true, noCompatMode: true})
}

/** JSON, two-space indented (what a snapshot tool typically writes). */
export function toJson(t: TopologyInput): string {
  return `${JSON.stringify(t, null, 2)}\n`
}
