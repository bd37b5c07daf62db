/**
 * Instances (VMs and GKE nodes) and pods as namespaces (docs/lab.md). A NIC is `nicN` in a VM
 * and `eth0` in a node (the names their iptables use), with its address as /32 and every route
 * via its subnet gateway on the router, as GCE configures guests (a VM also gets a link route to
 * each gateway, as its DHCP lease gives it). Guests get `guest.routes`
 * (ROUTE-11), `guest.ipForward`, the VIPs they back on `lo` (what the guest agent does; on a
 * node only kube-proxy's rules and host-network pods serve them) and their iptables: a VM's
 * `guest.iptables`, a node's own `iptables` or the rules xcc derives from `masquerade` and the
 * services (kube-proxy DNAT to pods, SNAT-*). Pods of a routes-based node sit on kubenet's cbr0
 * bridge in hairpin mode, VPC-native pods behind a veth each.
 */
import {formatCidr, formatIp} from '../../core/net/ipv4.js'
import type {ClusterFacts, InstanceFacts, Model, NodeFacts, PodFacts} from '../../core/topology/model-types.js'
import {podIface} from '../../core/topology/model.js'
import {type PlanContext, hostNs, routerNs} from './context.js'
import {linkAlias, namespaceName, podVethIface, routerIface} from './names.js'
import type {NamespacePlan, PodPlan, ServerPlan, VethPlan} from './types.js'

export function compileInstance(ctx: PlanContext, host: InstanceFacts): {ns: NamespacePlan; links: VethPlan[]} {
  const ns = hostNs(ctx, host.name)
  const index = ctx.hostIndex.get(host.name) as number
  const links: VethPlan[] = []
  const ip: string[] = []
  for (const nic of host.nics) {
    links.push({
      a: {ns: routerNs(ctx, nic.network), iface: routerIface(index, nic.index)},
      b: {ns, iface: nic.guestIface},
      alias: linkAlias(ctx.lab, `${host.kind === 'node' ? 'node' : 'instance'}/${host.name} nic${nic.index} in ${nic.network}`),
    })
    ip.push(`link set ${nic.guestIface} up`, `addr add ${formatIp(nic.ip)}/32 dev ${nic.guestIface}`)
    // GCE's guest agent makes alias ranges of a VM local addresses (a node routes them to pods instead)
    if (host.kind === 'vm') for (const r of nic.aliasRanges) ip.push(`route add local ${formatCidr(r)} dev ${nic.guestIface} table local`)
  }
  // ROUTE-11: guest routes, longest prefix first; the first of equal ranges wins as in the tracer
  const order = {declared: 0, connected: 1, default: 2}
  const seen = new Set<string>()
  // a VM's DHCP lease (GCE's option 121) also holds a link route to each NIC's gateway, so that a
  // startup script's `ip route add DEST via GATEWAY` (without onlink) works as it does on GCE
  if (host.kind === 'vm') {
    for (const nic of host.nics) {
      const gateway = `${formatIp(nic.subnet.gateway)}/32`
      if (host.guest.routes.some((r) => formatCidr(r.destRange) === gateway)) continue
      seen.add(gateway)
      ip.push(`route add ${formatIp(nic.subnet.gateway)} dev ${nic.guestIface} scope link`)
    }
  }
  for (const r of [...host.guest.routes].sort((a, b) => b.destRange.prefix - a.destRange.prefix || order[a.origin] - order[b.origin])) {
    const nic = host.nics[r.nic]
    const key = formatCidr(r.destRange)
    if (!nic || seen.has(key)) continue
    seen.add(key)
    ip.push(`route add ${r.destRange.prefix === 0 ? 'default' : key} via ${formatIp(nic.subnet.gateway)} dev ${nic.guestIface} onlink`)
  }
  for (const fr of ctx.model.vipsBackedBy(host.name)) ip.push(`addr add ${formatIp(fr.ip)}/32 dev lo`)
  const node = ctx.model.nodes.get(host.name)
  const cluster = node ? ctx.model.clusters.get(node.cluster) : undefined
  if (node && cluster) ip.push(...nodePodSide(cluster, node))
  return {
    ns: {
      name: ns, role: host.kind === 'node' ? 'node' : 'vm', ref: `${host.kind === 'node' ? 'node' : 'instance'}/${host.name}`, ip,
      sysctls: [
        ['net.ipv4.ip_forward', host.guest.ipForward ? '1' : '0'],
        ['net.ipv4.conf.all.rp_filter', '0'], ['net.ipv4.conf.default.rp_filter', '0'],
      ],
      ...(host.guest.rulesText ? {iptables: kernelRules(node ? guardVips(ctx, host, host.guest.rulesText) : host.guest.rulesText)} : {}),
      ...(host.guest.rulesText && host.guest.rulesPath ? {iptablesPath: host.guest.rulesPath} : {}),
      ...(host.guest.ipsetsText !== undefined ? {ipsets: host.guest.ipsetsText, ...(host.guest.ipsetsPath ? {ipsetsPath: host.guest.ipsetsPath} : {})} : {}),
    },
    links,
  }
}

/**
 * The guest's rules as the kernel takes them: a rule negating 0.0.0.0/0 matches nothing (kubenet
 * with nonMasqueradeCidr 0.0.0.0/0 installs no rule at all, SNAT-09) and iptables-nft refuses it.
 */
function kernelRules(rules: string): string {
  return rules.split('\n').filter((line) => !/^-[AI] .*!\s+-[sd]\s+0\.0\.0\.0\/0(\s|$)/.test(line)).join('\n')
}

/**
 * A node holds the VIPs it backs on `lo`, but only kube-proxy's rules and host-network pods serve
 * them (kube-proxy rejects a load balancer IP without endpoints; the tracer: "a VIP no kube-proxy
 * rule claimed: nothing on the node serves it"). The node's echo server stands for "absent: assume
 * served" on the node's own address only, so new TCP connections to a VIP that no rule rewrote, on
 * a port no host-network pod of the node declares, are reset. Added first in the filter INPUT chain.
 */
function guardVips(ctx: PlanContext, host: InstanceFacts, rules: string): string {
  const vips = ctx.model.vipsBackedBy(host.name)
  if (vips.length === 0) return rules
  const node = ctx.model.nodes.get(host.name) as NodeFacts
  const ports = [...new Set(ctx.model.clusters.get(node.cluster)?.pods.filter((p) => p.hostNetwork && p.node === host.name).flatMap((p) => p.ports ?? []))]
  const except = ports.length ? ` -m multiport ! --dports ${ports.slice(0, 15).join(',')}` : ''
  const guard = vips.map((f) => `-I INPUT 1 -d ${formatIp(f.ip)}/32 -p tcp${except} -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset`)
  const lines = rules.trimEnd().split('\n')
  const filter = lines.indexOf('*filter')
  const commit = filter < 0 ? -1 : lines.indexOf('COMMIT', filter)
  if (commit < 0) return [...lines, '*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...guard, 'COMMIT', ''].join('\n')
  return [...lines.slice(0, commit), ...guard, ...lines.slice(commit), ''].join('\n')
}

/** kubenet's cbr0 bridge (routes-based), or a black hole under the per-pod routes (VPC-native). */
function nodePodSide(cluster: ClusterFacts, node: NodeFacts): string[] {
  if (cluster.mode === 'ROUTES') {
    return ['link add cbr0 type bridge', `addr add ${formatIp(node.podGateway)}/${node.podCidr.prefix} dev cbr0`, 'link set cbr0 up']
  }
  // the tracer holds the pod range's first address local on every node; unknown pod IPs go nowhere
  return [`addr add ${formatIp(node.podGateway)}/32 dev lo`, `route add blackhole ${formatCidr(node.podCidr)}`]
}

/** The pods the lab runs: the declared ones, and the pod xcc assumes on each node of a cluster that declares none. */
export function labPods(model: Model): PodFacts[] {
  const out: PodFacts[] = []
  for (const c of model.clusters.values()) {
    out.push(...c.pods)
    if (c.pods.some((p) => !p.hostNetwork)) continue
    for (const n of c.nodes) out.push(assumedPod(c, n))
  }
  return out
}

/**
 * A cluster that declares no pods is probed from podCidr network + 10 on each node (the doctor's
 * `--from <cluster>` convention), so the lab runs a pod there; named as the doctor names it.
 */
function assumedPod(cluster: ClusterFacts, node: NodeFacts): PodFacts {
  const ip = (node.podCidr.base + 10) >>> 0
  return {cluster: cluster.name, namespace: 'default', name: `pod-${formatIp(ip)}`, node: node.name, ip, hostNetwork: false, declared: false, nodeIface: podIface(cluster.mode, ip)}
}

export function compilePod(ctx: PlanContext, pod: PodFacts, index: number, ports: readonly number[]): {ns?: NamespacePlan; links: VethPlan[]; nodeLines: string[]; plan: PodPlan} {
  const cluster = ctx.model.clusters.get(pod.cluster) as ClusterFacts
  const node = ctx.model.nodes.get(pod.node) as NodeFacts
  const nodeNs = hostNs(ctx, pod.node)
  const base = {cluster: pod.cluster, namespace: pod.namespace, name: pod.name, node: pod.node, hostNetwork: pod.hostNetwork, declared: pod.declared, tcpPorts: ports}
  if (pod.hostNetwork) return {links: [], nodeLines: [], plan: {...base, ip: formatIp(node.ip), ns: nodeNs}}
  const ns = namespaceName(ctx.lab, 'pod', index)
  const wiring = podWiring(cluster.mode, node, pod.ip, index)
  return {
    ns: {name: ns, role: 'pod', ref: `pod/${pod.cluster}/${pod.namespace}/${pod.name}`, ip: wiring.podLines, sysctls: []},
    links: [{a: {ns: nodeNs, iface: wiring.nodeIface}, b: {ns, iface: 'eth0'}, alias: linkAlias(ctx.lab, `pod ${pod.cluster}/${pod.namespace}/${pod.name}`)}],
    nodeLines: wiring.nodeLines,
    plan: {...base, ip: formatIp(pod.ip), ns},
  }
}

/**
 * How a pod sits behind its node: a veth into cbr0 (routes-based, kubenet) or a `gke…` veth with
 * a /32 route (VPC-native); also used by the lab's kubelet for pods created at run time.
 */
export function podWiring(mode: 'ROUTES' | 'VPC_NATIVE', node: NodeFacts, podIp: number, index: number): {nodeIface: string; nodeLines: string[]; podLines: string[]} {
  const address = formatIp(podIp)
  if (mode === 'ROUTES') {
    const nodeIface = podVethIface(index)
    return {
      nodeIface,
      // hairpin: kubenet lets a pod reach itself through a service (the bridge sends the DNATed packet back out its port)
      nodeLines: [`link set ${nodeIface} master cbr0`, `link set ${nodeIface} type bridge_slave hairpin on`, `link set ${nodeIface} up`],
      podLines: ['link set eth0 up', `addr add ${address}/${node.podCidr.prefix} dev eth0`, `route add default via ${formatIp(node.podGateway)} dev eth0`],
    }
  }
  // GKE's ptp CNI: the node side of each pod veth holds the pod range's first address, the pods' gateway
  const nodeIface = podIface('VPC_NATIVE', podIp)
  const gateway = formatIp(node.podGateway)
  return {
    nodeIface,
    nodeLines: [`link set ${nodeIface} up`, `addr add ${gateway}/32 dev ${nodeIface}`, `route add ${address}/32 dev ${nodeIface}`],
    podLines: ['link set eth0 up', `addr add ${address}/32 dev eth0`, `route add ${gateway} dev eth0 scope link`, `route add default via ${gateway} dev eth0`],
  }
}

/**
 * The TCP ports worth serving where the topology leaves them unknown ("absent: assume served"):
 * every port the topology mentions, bounded.
 */
export function interestingPorts(model: Model): number[] {
  const ports = new Set<number>([80, 8080])
  const t = model.topology
  for (const c of t.clusters) {
    for (const p of c.pods) for (const port of p.ports ?? []) ports.add(port)
    for (const s of c.services) for (const p of s.ports) if (p.protocol === 'TCP') ports.add(p.targetPort ?? p.port)
  }
  for (const fr of model.forwardingRules.values()) {
    for (const r of fr.ports ?? []) ports.add(r.lo)
    ports.add(fr.backendService.healthCheck.port)
  }
  for (const m of t.instances) for (const l of m.guest.listen ?? []) if (l.protocol === 'tcp') ports.add(l.port)
  return [...ports].filter((p) => p > 0 && p < 65536).sort((a, b) => a - b).slice(0, 24)
}

/** What a VM or node serves: `guest.listen` when given, else every interesting port (nodes: minus host-network pods' ports). */
export function instanceServer(ctx: PlanContext, host: InstanceFacts, interesting: readonly number[], pods: readonly PodPlan[]): ServerPlan {
  const ns = hostNs(ctx, host.name)
  const ref = `${host.kind === 'node' ? 'node' : 'instance'}/${host.name}`
  if (host.guest.listen) return {ns, ref, tcpPorts: host.guest.listen.filter((l) => l.protocol === 'tcp').map((l) => l.port)}
  const taken = new Set(pods.filter((p) => p.hostNetwork && p.node === host.name).flatMap((p) => p.tcpPorts))
  return {ns, ref, tcpPorts: interesting.filter((p) => !taken.has(p))}
}
