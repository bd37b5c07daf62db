/**
 * traceFlow: the path tracer (gcp-network-semantics.md §9). Walks the forward path from the
 * source, then, for TCP, the reply from wherever the forward path delivered back to the client
 * (ILB-06: replies are routed by the server side's own routes), and combines the verdicts of
 * every alternative path.
 */
import {type Ip, formatIp} from '../net/ipv4.js'
import type {ClusterFacts, InstanceFacts, Model, NodeFacts, PodFacts} from '../topology/model-types.js'
import {type Flow, implicitPod} from './endpoints.js'
import {hostContext, hostRoute, processOnHost, samePod} from './hosts.js'
import {loadBalance} from './lb.js'
import {type Ended, type Hops, MAX_PATHS, Trail, type WalkContext, drop, instancePlace, packetText, podPlace, reversePacket, step, viewPacket} from './trail.js'
import type {Assumption, HostRef, Packet, PathEnd, PathTrace, TraceResult, Verdict} from './types.js'
import {arriveAtInstance, emitIntoVpc} from './vpc.js'

const HOPS: Hops = {processOnHost, emitIntoVpc, arriveAtInstance, loadBalance}

export interface TraceOptions {
  /** hypothetical fixes, used by the doctor to test a diagnosis */
  readonly assumptions?: readonly Assumption[]
  /** follow every alternative path, also those provably equivalent to one already followed */
  readonly exhaustive?: boolean
}

export function traceFlow(model: Model, flow: Flow, options: TraceOptions = {}): TraceResult {
  const assumptions = options.assumptions ?? []
  const exhaustive = options.exhaustive ?? false
  const ctx: WalkContext = {hops: HOPS, model, assumptions, direction: 'forward', exhaustive}
  const {packet, client, ended} = startForward(ctx, flow)
  const paths: PathTrace[] = []
  for (const forward of ended) {
    if (paths.length >= MAX_PATHS) break
    if (forward.end.kind !== 'delivered' || packet.protocol !== 'tcp') {
      paths.push({forward: forward.trail.steps, forwardEnd: forward.end, return: [], verdict: pathVerdict(forward.end)})
      continue
    }
    const returnCtx: WalkContext = {hops: HOPS, model, assumptions, direction: 'return', exhaustive, client: {host: client, packet}}
    for (const back of startReturn(returnCtx, forward.trail.forReturn(), forward.end.host, forward.end.packet)) {
      paths.push({forward: forward.trail.steps, forwardEnd: forward.end, return: back.trail.steps, returnEnd: back.end, verdict: pathVerdict(forward.end, back.end)})
    }
  }
  return {
    flow: {from: flow.source.label, to: flow.destination.label, packet: viewPacket(packet)},
    paths: paths.slice(0, MAX_PATHS),
    verdict: combineVerdicts(paths.map((p) => p.verdict)),
  }
}

function startForward(ctx: WalkContext, flow: Flow): {packet: Packet; client: HostRef; ended: Ended[]} {
  const trail = new Trail()
  const source = flow.source
  if (source.kind === 'pod') {
    const {pod, node} = source
    const instance = ctx.model.instances.get(node.name) as InstanceFacts
    if (pod.hostNetwork) {
      // the pod's sockets are the node's: an unbound one takes the address of the way out
      const packet = {...flow.packet, src: unboundSource(ctx.model, instance, flow.packet.dst) ?? node.ip}
      const client: HostRef = {kind: 'pod', cluster: pod.cluster, namespace: pod.namespace, name: pod.name, node: pod.node, ip: packet.src, declared: pod.declared}
      trail.add(step('START_FROM_GKE_POD', podPlace(pod), packet, `host-network pod ${pod.namespace}/${pod.name} on node ${node.name} (cluster ${node.cluster})`))
      trail.add(step('SKIP_GKE_POD_IP_MASQUERADING', instancePlace(instance), packet, `the pod uses the node's network namespace and address ${formatIp(packet.src)}`, {reason: 'POD_USES_NODE_NETWORK_NAMESPACE'}))
      return {packet, client, ended: processOnHost(ctx, trail, instance, packet, 'local', undefined)}
    }
    const client: HostRef = {kind: 'pod', cluster: pod.cluster, namespace: pod.namespace, name: pod.name, node: pod.node, ip: pod.ip, declared: pod.declared}
    const cluster = ctx.model.clusters.get(node.cluster)
    trail.add(step('START_FROM_GKE_POD', podPlace(pod), flow.packet, `${pod.declared ? `pod ${pod.namespace}/${pod.name}` : `a pod (not declared; assumed at ${formatIp(pod.ip)})`} on node ${node.name}, cluster ${node.cluster} (${cluster?.mode ?? ''}); sends ${packetText(flow.packet)}`))
    if (flow.packet.dst === pod.ip) return {packet: flow.packet, client, ended: withinPod(trail, pod, client, flow.packet)}
    return {packet: flow.packet, client, ended: processOnHost(ctx, trail, instance, flow.packet, 'arriving', pod.nodeIface, pod)}
  }
  const instance = source.instance
  let packet = flow.packet
  if (!source.bound) packet = {...packet, src: unboundSource(ctx.model, instance, packet.dst) ?? packet.src}
  trail.add(step('START_FROM_INSTANCE', instancePlace(instance), packet, `${instance.kind === 'node' ? 'node' : 'instance'} ${instance.name} (${instance.zone}) sends ${packetText(packet)}`))
  return {packet, client: {kind: 'instance', name: instance.name}, ended: processOnHost(ctx, trail, instance, packet, 'local', undefined)}
}

/**
 * The kernel's source address for an unbound socket: the address of the way out (ROUTE-11). To one
 * of the host's own addresses that address itself (the local table); to a pod of the node the
 * pod-side address (cbr0 or the pod veth); else the address of the NIC the guest routes through.
 */
function unboundSource(model: Model, instance: InstanceFacts, dst: Ip): Ip | undefined {
  const host = hostContext(model, instance)
  const decision = hostRoute(model, instance, host)(dst)
  if (!decision) return undefined
  if (decision.local) return dst
  const nic = decision.outIface ? /^nic(\d)$/.exec(decision.outIface) : null
  if (nic) return instance.nics[Number(nic[1])]?.ip
  return decision.outIface ? host.interfaceAddress(decision.outIface) : undefined
}

/** A pod that connects to its own address: the packet never leaves the pod's network namespace (its loopback). */
function withinPod(trail: Trail, pod: PodFacts, client: HostRef, packet: Packet): Ended[] {
  const at = podPlace(pod)
  if (pod.ports && !pod.ports.includes(packet.dstPort)) {
    return drop(trail, at, packet, 'XCC_DESTINATION_NOT_LISTENING', `pod ${pod.namespace}/${pod.name} serves ${pod.ports.join(', ')}, not port ${packet.dstPort}`)
  }
  trail.add(step('ARRIVE_AT_GKE_POD', at, packet, `${formatIp(packet.dst)} is the pod's own address: the packet stays inside the pod (loopback)`))
  trail.add(step('DELIVER', at, packet, `delivered to pod ${at}`))
  return [{trail, end: {kind: 'delivered', host: client, packet}}]
}

/** §9 steps 9–12: the reply leaves the server with the addresses reversed. */
function startReturn(ctx: WalkContext, trail: Trail, host: HostRef, received: Packet): Ended[] {
  const reply = reversePacket(received)
  if (host.kind === 'pod' && ctx.client && host.ip === reply.dst && samePod(host, ctx.client.host)) {
    const label = podPlace(host)
    trail.add(step('START_FROM_GKE_POD', label, reply, `the pod answers itself ${packetText(reply)}`))
    trail.add(step('DELIVER', label, reply, 'the reply stays inside the pod and reaches the client'))
    return [{trail, end: {kind: 'delivered', host, packet: reply}}]
  }
  if (host.kind === 'instance') {
    const instance = ctx.model.instances.get(host.name) as InstanceFacts
    trail.add(step('START_FROM_INSTANCE', instancePlace(instance), reply, `${instance.name} answers ${packetText(reply)}`))
    return processOnHost(ctx, trail, instance, reply, 'local', undefined)
  }
  const node = ctx.model.instances.get(host.node) as InstanceFacts
  const label = podPlace(host)
  trail.add(step('START_FROM_GKE_POD', label, reply, `pod ${host.declared ? `${host.namespace}/${host.name}` : formatIp(host.ip)} answers ${packetText(reply)}`))
  const cluster = ctx.model.clusters.get(host.cluster)
  const declared = cluster?.pods.find((p) => p.name === host.name && p.namespace === host.namespace)
  if (declared?.hostNetwork) return processOnHost(ctx, trail, node, reply, 'local', undefined)
  const pod = declared ?? implicitPod(cluster as ClusterFacts, ctx.model.nodes.get(host.node) as NodeFacts, host.ip)
  return processOnHost(ctx, trail, node, reply, 'arriving', pod.nodeIface, pod)
}

export function pathVerdict(forward: PathEnd, back?: PathEnd): Verdict {
  if (forward.kind === 'aborted') return 'unknown'
  if (forward.kind === 'dropped') return 'unreachable'
  if (!back) return 'reachable'
  if (back.kind === 'aborted') return 'unknown'
  return back.kind === 'delivered' ? 'reachable' : 'unreachable'
}

/** ROUTE-04 / ILB: alternatives that disagree make the answer ambiguous; any undecidable one makes it unknown. */
export function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  const distinct = new Set(verdicts)
  if (distinct.size === 1) return verdicts[0] as Verdict
  if (distinct.has('unknown')) return 'unknown'
  return 'ambiguous'
}
