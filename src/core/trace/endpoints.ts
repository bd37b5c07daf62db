/**
 * `--from` and `--to` (contracts.md §2) resolved against the model. Bad syntax or a name the
 * topology does not hold is a usage error (exit 2) that says what was expected.
 */
import {XccError} from '../errors.js'
import {type Ip, addIp, cidrContainsIp, formatIp, parseIp} from '../net/ipv4.js'
import type {ClusterFacts, InstanceFacts, Model, NodeFacts, PodFacts} from '../topology/model-types.js'
import {podIface} from '../topology/model.js'
import type {Packet, Protocol} from './types.js'

export type Source =
  | {readonly kind: 'pod'; readonly pod: PodFacts; readonly node: NodeFacts; readonly cluster: ClusterFacts; readonly label: string}
  | {
    readonly kind: 'instance'; readonly instance: InstanceFacts; readonly nic: number; readonly label: string
    /** the address was given (--from <ip>), else the guest picks the NIC */
    readonly bound: boolean
    /** the given address when it is not the NIC's primary one (an alias IP) */
    readonly address?: Ip
  }

export interface Destination {
  readonly ip: Ip
  readonly port: number
  readonly protocol: Protocol
  readonly label: string
}

export interface Flow {
  readonly source: Source
  readonly destination: Destination
  readonly packet: Packet
}

/** The client's ephemeral port in traces; any port above 32767 behaves the same in the model. */
export const CLIENT_PORT = 40000

const FROM_SYNTAX = '<cluster>, <cluster>/<namespace>/<pod>, node/<name>, instance/<name> or an IPv4 address the topology owns'
const TO_SYNTAX = '<ipv4>:<port>, lb/<forwarding-rule> or <cluster>/<namespace>/<service>'

export function resolveFlow(model: Model, from: string, to: string, protocol?: Protocol): Flow {
  const source = resolveSource(model, from)
  const destination = resolveDestination(model, to, protocol)
  const src = source.kind === 'pod' ? source.pod.ip : source.address ?? (source.instance.nics[source.nic] as InstanceFacts['nics'][number]).ip
  return {source, destination, packet: {src, dst: destination.ip, protocol: destination.protocol, srcPort: CLIENT_PORT, dstPort: destination.port}}
}

export function resolveSource(model: Model, text: string): Source {
  const usage = (why: string): XccError => new XccError(`--from ${text}: ${why}`, {hint: `expected ${FROM_SYNTAX}`})
  const address = parseIp(text)
  if (address !== undefined) {
    const source = sourceByIp(model, address)
    if (source) return source
    const vip = [...model.forwardingRules.values()].find((f) => f.ip === address)
    throw usage(vip ? `${text} is the address of load balancer ${vip.name}; a load balancer cannot be a source` : `no pod, node or instance in the topology has the address ${text}`)
  }
  const parts = text.split('/')
  if (parts.length === 2 && (parts[0] === 'node' || parts[0] === 'instance')) {
    const instance = model.instances.get(parts[1] as string)
    if (!instance || (parts[0] === 'node' && instance.kind !== 'node')) throw usage(`there is no ${parts[0]} named "${parts[1]}"`)
    return {kind: 'instance', instance, nic: 0, bound: false, label: `${instance.kind === 'node' ? 'node' : 'instance'}/${instance.name}`}
  }
  if (parts.length === 1 && text) {
    const cluster = model.clusters.get(text) ?? throwError(usage(`there is no cluster named "${text}"`))
    const pod = cluster.pods[0]
    if (pod) return podSource(model, cluster, pod)
    const node = cluster.nodes[0] as NodeFacts
    return podSource(model, cluster, implicitPod(cluster, node, addIp(node.podCidr.base, 10)))
  }
  if (parts.length === 3 && parts.every(Boolean)) {
    const [clusterName, namespace, name] = parts as [string, string, string]
    const cluster = model.clusters.get(clusterName) ?? throwError(usage(`there is no cluster named "${clusterName}"`))
    const pod = cluster.pods.find((p) => p.namespace === namespace && p.name === name)
    if (!pod) throw usage(`cluster ${clusterName} has no pod ${namespace}/${name}`)
    return podSource(model, cluster, pod)
  }
  throw usage('not a valid source')
}

function sourceByIp(model: Model, address: Ip): Source | undefined {
  for (const cluster of model.clusters.values()) {
    const pod = cluster.pods.find((p) => p.ip === address && !p.hostNetwork)
    if (pod) return podSource(model, cluster, pod)
  }
  for (const instance of model.instances.values()) {
    const nic = instance.nics.find((n) => n.ip === address)
    if (nic) return {kind: 'instance', instance, nic: nic.index, bound: true, label: `${instance.kind === 'node' ? 'node' : 'instance'}/${instance.name}`}
  }
  // a VM's alias IP (ROUTE-10: its own address); a node's alias ranges are its pods, below
  for (const instance of model.instances.values()) {
    const nic = instance.kind === 'vm' ? instance.nics.find((n) => n.aliasRanges.some((r) => cidrContainsIp(r, address))) : undefined
    if (nic) return {kind: 'instance', instance, nic: nic.index, bound: true, address, label: `instance/${instance.name}`}
  }
  for (const cluster of model.clusters.values()) {
    const node = cluster.nodes.find((n) => cidrContainsIp(n.podCidr, address))
    if (node && address !== node.podCidr.base && address !== node.podGateway) return podSource(model, cluster, implicitPod(cluster, node, address))
  }
  return undefined
}

function podSource(model: Model, cluster: ClusterFacts, pod: PodFacts): Source {
  const node = model.nodes.get(pod.node) as NodeFacts
  return {kind: 'pod', pod, node, cluster, label: pod.declared ? `${cluster.name}/${pod.namespace}/${pod.name}` : `${cluster.name}/${node.name}`}
}

/** contracts.md §2: a cluster without declared pods is probed from podCidr network + 10 on its first node. */
export function implicitPod(cluster: ClusterFacts, node: NodeFacts, address: Ip): PodFacts {
  return {
    cluster: cluster.name, namespace: 'default', name: `pod-${formatIp(address)}`, node: node.name, ip: address, hostNetwork: false, declared: false,
    nodeIface: podIface(cluster.mode, address),
  }
}

export function resolveDestination(model: Model, text: string, protocol?: Protocol): Destination {
  const usage = (why: string): XccError => new XccError(`--to ${text}: ${why}`, {hint: `expected ${TO_SYNTAX}`})
  const ipPort = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text)
  if (ipPort) {
    const address = parseIp(ipPort[1] as string)
    const port = Number(ipPort[2])
    if (address === undefined) throw usage(`${ipPort[1]} is not an IPv4 address`)
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw usage(`port ${ipPort[2]} is not in 1..65535`)
    return {ip: address, port, protocol: protocol ?? 'tcp', label: text}
  }
  if (parseIp(text) !== undefined) throw usage(`${text} has no port; use ${text}:<port>`)
  const parts = text.split('/')
  if (parts.length === 2 && parts[0] === 'lb' && parts[1]) {
    const fr = model.forwardingRules.get(parts[1]) ?? throwError(usage(`there is no forwarding rule named "${parts[1]}"`))
    const first = fr.ports?.[0]
    if (!first) throw usage(`forwarding rule ${fr.name} forwards all ports; give --to ${formatIp(fr.ip)}:<port>`)
    return {ip: fr.ip, port: first.lo, protocol: protocol ?? (fr.protocol === 'UDP' ? 'udp' : 'tcp'), label: text}
  }
  if (parts.length === 3 && parts.every(Boolean)) {
    const [clusterName, namespace, name] = parts as [string, string, string]
    const cluster = model.clusters.get(clusterName) ?? throwError(usage(`there is no cluster named "${clusterName}"`))
    const svc = cluster.services.find((s) => s.namespace === namespace && s.name === name)
    if (!svc) throw usage(`cluster ${clusterName} has no service ${namespace}/${name}`)
    const port = svc.ports[0] as (typeof svc.ports)[number]
    const proto = protocol ?? (port.protocol === 'UDP' ? 'udp' : 'tcp')
    // contracts.md §2: the service's internal load balancer when it has one, else its ClusterIP.
    const fr = svc.forwardingRule ? model.forwardingRules.get(svc.forwardingRule) : undefined
    return {ip: fr ? fr.ip : svc.clusterIP, port: port.port, protocol: proto, label: text}
  }
  throw usage('not a valid destination')
}

function throwError(error: Error): never {
  throw error
}
