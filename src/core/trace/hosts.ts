/**
 * What happens inside a node or VM: its netfilter pipeline (SNAT-14: the whole POSTROUTING
 * chain is the unit), its routing (ROUTE-11 guest routes, pods behind cbr0/veths), delivery
 * to a local process or pod, or forwarding back into the VPC.
 */
import {runPipeline} from '../iptables/pipeline.js'
import type {HostContext, IptPacket, NatRecord, PipelineInput, PipelineOutcome, RouteDecision, Ruleset} from '../iptables/types.js'
import {type Ip, cidrContainsIp, formatCidr, formatIp} from '../net/ipv4.js'
import type {InstanceFacts, Model, NodeFacts, PodFacts} from '../topology/model-types.js'
import {podIface} from '../topology/model.js'
import {implicitPod} from './endpoints.js'
import {hostContext} from './host-context.js'
import {declaredPod, nodeClass, podClass} from './equivalence.js'
import {explainNoMasquerade} from './masquerade.js'
import {type Ended, MAX_HOPS, type Trail, type WalkContext, type Place, abort, branch, drop, instancePlace, nodePlace, packetText, podPlace, reversePacket, natView, samePacket, step, viewRule} from './trail.js'
import type {HostRef, Packet, Step} from './types.js'

export {hostContext}

const NO_RULES: Ruleset = {source: 'no iptables rules', tables: new Map()}

const routers = new WeakMap<InstanceFacts, (dst: Ip) => RouteDecision | undefined>()

/** The guest's routing table: local addresses, pods (nodes), then connected, declared and default routes (longest prefix). */
export function hostRoute(model: Model, instance: InstanceFacts, host: HostContext): (dst: Ip) => RouteDecision | undefined {
  let route = routers.get(instance)
  if (!route) routers.set(instance, (route = buildHostRoute(model, instance, host)))
  return route
}

function buildHostRoute(model: Model, instance: InstanceFacts, host: HostContext): (dst: Ip) => RouteDecision | undefined {
  const node = model.nodes.get(instance.name)
  const cluster = node ? model.clusters.get(node.cluster) : undefined
  const order = {declared: 0, connected: 1, default: 2}
  const routes = [...instance.guest.routes].sort((a, b) => b.destRange.prefix - a.destRange.prefix || order[a.origin] - order[b.origin])
  return (dst) => {
    if (host.isLocal(dst)) return {local: true}
    if (node && cluster && cidrContainsIp(node.podCidr, dst)) {
      const pod = cluster.pods.find((p) => p.ip === dst && !p.hostNetwork)
      return {local: false, outIface: pod?.nodeIface ?? podIface(cluster.mode, dst)}
    }
    const best = routes.find((r) => cidrContainsIp(r.destRange, dst))
    if (!best) return undefined
    return {local: false, outIface: instance.kind === 'node' ? 'eth0' : `nic${best.nic}`}
  }
}

/** The pod behind a node that owns `address`, declared or (when the cluster declares none) implicit. */
function podOnNode(model: Model, node: NodeFacts, address: Ip): PodFacts | undefined {
  const cluster = model.clusters.get(node.cluster)
  if (!cluster || !cidrContainsIp(node.podCidr, address)) return undefined
  const declared = cluster.pods.find((p) => p.ip === address && p.node === node.name && !p.hostNetwork)
  if (declared || cluster.pods.some((p) => !p.hostNetwork)) return declared
  return implicitPod(cluster, node, address)
}

function toPacket(p: IptPacket): Packet {
  return {src: p.src, dst: p.dst, protocol: p.protocol === 'udp' ? 'udp' : 'tcp', srcPort: p.srcPort, dstPort: p.dstPort}
}

/**
 * Runs `packet` through the host and continues the walk from each outcome.
 * `fromPod`: the packet comes from this pod (for the masquerade step, SNAT-18).
 */
export function processOnHost(
  ctx: WalkContext, trail: Trail, instance: InstanceFacts, packet: Packet, origin: 'arriving' | 'local', inIface: string | undefined, fromPod?: PodFacts,
): Ended[] {
  if (++trail.hops > MAX_HOPS) return abort(trail, instancePlace(instance), packet, 'TRACE_TOO_LONG', `the path is longer than ${MAX_HOPS} hops`)
  const host = hostContext(ctx.model, instance)
  const forward = ctx.direction === 'forward'
  const restore = forward ? undefined : conntrackReverse(trail, instance.name, packet)
  // A reply reaching a host that never saw the request has no conntrack entry: a SYN-ACK is then INVALID.
  const unseen = !forward && !trail.hostsSeen.has(instance.name)
  const ctstate = forward ? 'NEW' : unseen ? 'INVALID' : 'ESTABLISHED'
  if (forward) trail.hostsSeen.add(instance.name)
  const input: PipelineInput = {
    ruleset: instance.guest.ruleset ?? NO_RULES,
    host,
    origin,
    packet: {...packet, ...(inIface === undefined ? {} : {inIface}), mark: 0, ctstate},
    ipForward: instance.guest.ipForward,
    route: hostRoute(ctx.model, instance, host),
    ...(restore ? {reply: restore} : {}),
  }
  const outcomes = runPipeline(input)
  const pickedUp = unseen ? loosePickupNat(input) : undefined
  const groups = groupEquivalentOutcomes(ctx, instance, outcomes)
  return branch(trail, groups, (t, g) => continueFrom(ctx, t, instance, packet, g.outcome, fromPod, unseen, g.alike, pickedUp))
}

/**
 * A reply that reaches a host which never saw the request: the SYN-ACK is INVALID and skips the
 * nat table, but conntrack picks the server's next segments up mid-stream (nf_conntrack_tcp_loose)
 * as a new connection, which the nat table then sees. The NAT that would apply to them, if any.
 */
function loosePickupNat(input: PipelineInput): NatRecord | undefined {
  const later = runPipeline({...input, packet: {...input.packet, ctstate: 'NEW'}})
  for (const outcome of later) {
    if (outcome.kind === 'unknown' || outcome.kind === 'no-route' || outcome.kind === 'dropped') continue
    const changed = outcome.nat.find((r) => !sameAddresses(r.before, r.after))
    if (changed) return changed
  }
  return undefined
}

interface OutcomeGroup {
  readonly outcome: PipelineOutcome
  readonly alike: PipelineOutcome[]
}

/**
 * kube-proxy's random choice of endpoint: endpoints that are alike pods (equivalence.ts), all on
 * this node or all on alike nodes, lead to identical paths; follow one of each.
 */
function groupEquivalentOutcomes(ctx: WalkContext, instance: InstanceFacts, outcomes: readonly PipelineOutcome[]): OutcomeGroup[] {
  const node = ctx.model.nodes.get(instance.name)
  if (ctx.exhaustive || !node || outcomes.length < 2) return outcomes.map((outcome) => ({outcome, alike: []}))
  const groups = new Map<string, OutcomeGroup>()
  const out: OutcomeGroup[] = []
  for (const outcome of outcomes) {
    const key = endpointKey(ctx, node, outcome)
    const group = key === undefined ? undefined : groups.get(key)
    if (group) {
      group.alike.push(outcome)
      continue
    }
    const fresh: OutcomeGroup = {outcome, alike: []}
    if (key !== undefined) groups.set(key, fresh)
    out.push(fresh)
  }
  return out
}

function endpointKey(ctx: WalkContext, node: NodeFacts, outcome: PipelineOutcome): string | undefined {
  if ((outcome.kind !== 'forwarded' && outcome.kind !== 'local') || !outcome.nat.some((r) => r.kind === 'DNAT')) return undefined
  const pod = declaredPod(ctx.model, node.cluster, outcome.packet.dst)
  const kind = pod ? podClass(ctx.model, pod) : undefined
  const where = pod ? (pod.node === node.name ? 'local' : nodeClass(ctx.model, pod.node)) : undefined
  if (!kind || !where) return undefined
  const p = outcome.packet
  const out = outcome.kind === 'forwarded' ? (outcome.outIface === 'eth0' ? 'eth0' : 'pod') : 'local'
  return [out, p.src, p.srcPort, p.dstPort, p.protocol, p.mark, outcome.nat.map((r) => r.kind).join(','), kind, where].join('|')
}

function conntrackReverse(trail: Trail, host: string, reply: Packet): {restoreDst: {ip: Ip; port: number}; restoreSrc: {ip: Ip; port: number}} | undefined {
  const entry = trail.conntrack.find((e) => e.host === host && e.after.src === reply.dst && e.after.srcPort === reply.dstPort && e.after.dst === reply.src && e.after.dstPort === reply.srcPort)
  if (!entry) return undefined
  return {restoreDst: {ip: entry.before.src, port: entry.before.srcPort}, restoreSrc: {ip: entry.before.dst, port: entry.before.dstPort}}
}

function continueFrom(
  ctx: WalkContext, trail: Trail, instance: InstanceFacts, entered: Packet, outcome: PipelineOutcome, fromPod?: PodFacts, unseen = false, alike: readonly PipelineOutcome[] = [],
  pickedUp?: NatRecord,
): Ended[] {
  const at = instancePlace(instance)
  const source = instance.guest.ruleset?.source ?? NO_RULES.source
  if (outcome.kind === 'unknown') {
    return abort(trail, at, entered, 'XCC_IPTABLES_RULE_NOT_UNDERSTOOD', `${source}, line ${outcome.rule.line}: ${outcome.reason}; xcc cannot tell what this rule does to the packet`, {rules: [viewRule(source, outcome.rule)]})
  }
  const final = toPacket(outcome.packet)
  if (outcome.kind === 'no-route') return drop(trail, at, final, 'XCC_GUEST_NO_ROUTE', `${instance.name} has no route for ${formatIp(final.dst)} in its guest routing table`)
  recordNat(ctx, trail, instance, entered, final, outcome, alike, fromPod !== undefined)
  if (outcome.kind === 'dropped' && unseen) {
    // §9 step 11: a stateful host on the way back that never saw the request has no connection for the reply.
    return drop(trail, at, final, 'XCC_ASYMMETRIC_RETURN', `the reply passes ${instance.name}, which never saw the request: it has no connection for ${packetText(final)} and its ${outcome.hook} chain drops it (ROUTE-11)`, 'line' in outcome.by ? {rules: [viewRule(source, outcome.by)]} : {})
  }
  if (outcome.kind === 'dropped') return dropOnHost(trail, instance, final, outcome, source)
  if (unseen && pickedUp) {
    const before = toPacket(pickedUp.before)
    const after = toPacket(pickedUp.after)
    return drop(trail, at, final, 'XCC_ASYMMETRIC_RETURN', `the reply passes ${instance.name}, which never saw the request: the SYN-ACK has no connection there and goes through unchanged, but the server's next segments are picked up mid-stream by conntrack and ${pickedUp.kind === 'DNAT' ? 'DNATed' : 'source-NATed'} (${packetText(before)} becomes ${packetText(after)}), so the client gets them from a stranger and resets the connection (ROUTE-11)`, {rules: [viewRule(source, pickedUp.rule)]})
  }
  if (unseen && outcome.kind === 'forwarded') flagAsymmetric(trail, instance)
  if (outcome.kind === 'local') {
    // §9 step 2: a pod reaching its own node never leaves it, so nothing is masqueraded.
    if (fromPod && ctx.direction === 'forward') trail.add(step('SKIP_GKE_POD_IP_MASQUERADING', at, final, `${formatIp(final.dst)} is on the pod's own node ${instance.name}: the packet does not leave the node`, {reason: 'DESTINATION_ON_SAME_NODE'}))
    return deliverLocal(ctx, trail, instance, final)
  }
  const node = ctx.model.nodes.get(instance.name)
  if (node && outcome.outIface !== 'eth0') {
    if (fromPod && ctx.direction === 'forward' && !outcome.nat.some((r) => r.kind !== 'DNAT')) {
      trail.add(step('SKIP_GKE_POD_IP_MASQUERADING', at, final, `${formatIp(final.dst)} is a pod on the same node ${node.name}: the packet does not leave the node`, {reason: 'DESTINATION_ON_SAME_NODE'}))
    }
    return deliverToPod(ctx, trail, node, final)
  }
  if (node && fromPod && ctx.direction === 'forward') trail.add(masqueradeStep(ctx, instance, node, fromPod, entered, final, outcome))
  if (node && fromPod && ctx.direction === 'return') {
    trail.add(step('SKIP_GKE_POD_IP_MASQUERADING', at, final, `the reply of pod ${formatIp(fromPod.ip)} belongs to a connection; masquerading applies to new connections only`, {reason: 'NO_MASQUERADING_FOR_RETURN_PACKET'}))
  }
  const nic = instance.kind === 'node' ? 0 : Number(/^nic(\d)$/.exec(outcome.outIface)?.[1] ?? 0)
  return ctx.hops.emitIntoVpc(ctx, trail, instance, nic, final)
}

/** ROUTE-11: the reply takes another way back than the request; stateful rules or NAT there would break it. */
function flagAsymmetric(trail: Trail, instance: InstanceFacts): void {
  const last = trail.steps.length - 1
  const arrival = trail.steps[last]
  if (!arrival || arrival.step !== 'ARRIVE_AT_INSTANCE') return
  trail.steps[last] = {...arrival, warning: `XCC_ASYMMETRIC_RETURN: the reply passes ${instance.name}, which did not see the request; a stateful firewall or NAT there would drop it (ROUTE-11)`}
}

/** Steps for every NAT the host applied, and the conntrack entry the return path will reverse. */
function recordNat(
  ctx: WalkContext, trail: Trail, instance: InstanceFacts, entered: Packet, final: Packet, outcome: Exclude<PipelineOutcome, {kind: 'unknown' | 'no-route'}>, alike: readonly PipelineOutcome[],
  fromPod: boolean,
): void {
  const at = instancePlace(instance)
  const source = instance.guest.ruleset?.source ?? NO_RULES.source
  if (ctx.direction === 'return') {
    if (final.src !== entered.src || final.dst !== entered.dst || final.srcPort !== entered.srcPort || final.dstPort !== entered.dstPort) {
      trail.add(step('NAT', at, entered, `conntrack reverses this host's NAT for the reply: ${packetText(entered)} becomes ${packetText(final)}`, {nat: natView('XCC_CONNTRACK_REVERSE', entered, final)}))
    }
    return
  }
  // SNAT-06: MASQUERADE of a packet that already has the interface's address changes nothing; it is not a NAT.
  const records = outcome.nat.filter((r) => !sameAddresses(r.before, r.after))
  if (records.length > 0) trail.conntrack.push({host: instance.name, before: entered, after: final})
  const node = instance.kind === 'node'
  for (const record of records) {
    const before = toPacket(record.before)
    const after = toPacket(record.after)
    if (record.kind === 'DNAT') {
      const type = node ? 'XCC_KUBE_PROXY_DNAT' : 'XCC_GUEST_DNAT'
      const others = alike.length ? `; ${alike.length} more endpoint${alike.length === 1 ? '' : 's'} (${alike.map((o) => formatIp(o.packet.dst)).join(', ')}) behave exactly like this one: traced once` : ''
      trail.add(step('NAT', at, before, `${node ? 'kube-proxy DNAT' : 'DNAT'}: destination ${formatIp(before.dst)}:${before.dstPort} → ${formatIp(after.dst)}:${after.dstPort} (${source}, line ${record.rule.line})${others}`, {
        nat: natView(type, before, after), rules: [viewRule(source, record.rule)],
      }))
    } else if (!(node && fromPod && outcome.kind === 'forwarded' && outcome.outIface === 'eth0')) {
      // A pod's masquerade on the way out of eth0 is reported by masqueradeStep; this is any other SNAT
      // (kube-proxy's for external traffic to a service, SVC-06, a gateway's).
      const kubeProxy = node && record.rule.chain.startsWith('KUBE-')
      trail.add(step('NAT', at, before, `${kubeProxy ? 'kube-proxy ' : ''}${record.kind}: source ${formatIp(before.src)} → ${formatIp(after.src)} (${source}, line ${record.rule.line})`, {
        nat: {...natView(kubeProxy ? 'XCC_KUBE_PROXY_SNAT' : 'XCC_GUEST_SNAT', before, after), ...(record.randomPort ? {randomPort: true} : {})}, rules: [viewRule(source, record.rule)],
      }))
    }
  }
}

function sameAddresses(a: IptPacket, b: IptPacket): boolean {
  return a.src === b.src && a.dst === b.dst && a.srcPort === b.srcPort && a.dstPort === b.dstPort
}

/** SNAT-06/SNAT-18: the NAT step (GKE_POD_IP_MASQUERADING) or why masquerading was skipped. */
function masqueradeStep(ctx: WalkContext, instance: InstanceFacts, node: NodeFacts, pod: PodFacts, entered: Packet, final: Packet, outcome: Extract<PipelineOutcome, {kind: 'forwarded' | 'sent'}>): Step {
  const at = instancePlace(instance)
  const source = instance.guest.ruleset?.source ?? NO_RULES.source
  const snat = outcome.nat.find((r) => r.kind !== 'DNAT' && !sameAddresses(r.before, r.after))
  if (snat) {
    const before = toPacket(snat.before)
    return step('NAT', at, before, `node ${node.name} masquerades pod ${formatIp(pod.ip)}: source ${formatIp(before.src)} → ${formatIp(final.src)} (${source}, line ${snat.rule.line})${snat.randomPort ? '; the source port is randomised (--random-fully)' : ''}`, {
      nat: {...natView('GKE_POD_IP_MASQUERADING', before, final), ...(snat.randomPort ? {randomPort: true} : {})},
      rules: outcome.hits.filter((h) => h.table === 'nat' && (h.chain === 'POSTROUTING' || h === snat.rule || h.chain.startsWith('IP-MASQ') || h.chain === 'KUBE-POSTROUTING')).map((h) => viewRule(source, h)),
    })
  }
  const why = explainNoMasquerade(ctx.model, instance, node, final, outcome.hits)
  return step('SKIP_GKE_POD_IP_MASQUERADING', at, final, why.detail, {
    reason: why.reason,
    ...(why.range ? {nonMasqueradeRange: formatCidr(why.range)} : {}),
    ...(why.rules.length ? {rules: why.rules.map((r) => viewRule(source, r))} : {}),
  })
}

function dropOnHost(trail: Trail, instance: InstanceFacts, packet: Packet, outcome: Extract<PipelineOutcome, {kind: 'dropped'}>, source: string): Ended[] {
  const at = instancePlace(instance)
  if ('ipForwardDisabled' in outcome.by) {
    return drop(trail, at, packet, 'XCC_GUEST_FORWARDING_DISABLED', `net.ipv4.ip_forward is off on ${instance.name}: its operating system does not forward ${packetText(packet)}`)
  }
  const by = outcome.by
  const rules = 'line' in by ? [viewRule(source, by)] : []
  const where = 'line' in by ? `${source}, line ${by.line}` : `${source}: ${by.table} ${by.chain} policy ${by.policy}`
  if ('line' in by && outcome.verdict === 'REJECT' && /has no endpoints/.test(by.text)) {
    return drop(trail, at, packet, 'XCC_DESTINATION_NOT_LISTENING', `the service at ${formatIp(packet.dst)}:${packet.dstPort} has no endpoints; kube-proxy rejects the connection (${where})`, {rules})
  }
  // SVC-06: eTP=Local on a node without a local endpoint: kube-proxy marks the packet and drops it
  const noLocal = outcome.hits.find((h) => /has no local endpoints/.test(h.text))
  if (noLocal) {
    return drop(trail, at, packet, 'XCC_DESTINATION_NOT_LISTENING', `the service at ${formatIp(packet.dst)}:${packet.dstPort} has no endpoint on ${instance.name} (externalTrafficPolicy: Local); kube-proxy drops the connection (${source}, line ${noLocal.line}, then ${where})`, {rules: [viewRule(source, noLocal), ...rules]})
  }
  if (outcome.hook === 'FORWARD') {
    return drop(trail, at, packet, 'XCC_GUEST_FORWARDING_DISABLED', `the FORWARD chain of ${instance.name} ${outcome.verdict === 'REJECT' ? 'rejects' : 'drops'} ${packetText(packet)} (${where})`, {rules})
  }
  return drop(trail, at, packet, 'XCC_GUEST_FIREWALL', `the ${outcome.hook} chain of ${instance.name} ${outcome.verdict === 'REJECT' ? 'rejects' : 'drops'} ${packetText(packet)} (${where})`, {rules})
}

function deliverToPod(ctx: WalkContext, trail: Trail, node: NodeFacts, packet: Packet): Ended[] {
  const pod = podOnNode(ctx.model, node, packet.dst)
  if (!pod && ctx.direction === 'return') {
    return drop(trail, nodePlace(node.name), packet, 'ROUTE_WRONG_NETWORK', `the reply to ${formatIp(packet.dst)} is routed to node ${node.name} of cluster ${node.cluster}, not to the client: the reply goes astray`)
  }
  if (!pod) return drop(trail, nodePlace(node.name), packet, 'UNKNOWN_INTERNAL_ADDRESS', `no pod of cluster ${node.cluster} has the address ${formatIp(packet.dst)} on node ${node.name}`)
  const at = podPlace(pod)
  trail.add(step('ARRIVE_AT_GKE_POD', at, packet, `pod ${pod.declared ? `${pod.namespace}/${pod.name}` : formatIp(pod.ip)} on node ${node.name}${pod.declared ? '' : ' (not declared in the topology; assumed)'}`))
  const ref: HostRef = {kind: 'pod', cluster: pod.cluster, namespace: pod.namespace, name: pod.name, node: pod.node, ip: pod.ip, declared: pod.declared}
  if (ctx.direction === 'forward' && pod.ports && !pod.ports.includes(packet.dstPort)) {
    return drop(trail, at, packet, 'XCC_DESTINATION_NOT_LISTENING', `pod ${pod.namespace}/${pod.name} serves ${pod.ports.join(', ')}, not port ${packet.dstPort}`)
  }
  return finish(ctx, trail, at, ref, packet, `delivered to pod ${at}`)
}

/** DELIVER on the forward path; on the return path, only if the reply reaches the client as the client expects it. */
function finish(ctx: WalkContext, trail: Trail, at: Place, host: HostRef, packet: Packet, detail: string): Ended[] {
  const client = ctx.client
  if (ctx.direction === 'return' && client) {
    if (!sameHost(ctx, client.host, host)) {
      return drop(trail, at, packet, 'ROUTE_WRONG_NETWORK', `the reply to ${formatIp(packet.dst)} is routed to ${at}, not to the client ${describeHost(client.host)}: the reply goes astray`)
    }
    const expected = reversePacket(client.packet)
    if (!samePacket(expected, packet)) {
      return drop(trail, at, packet, 'XCC_REPLY_NOT_FOR_CLIENT', `the client expects a reply ${packetText(expected)} but receives ${packetText(packet)}; it does not belong to its connection`)
    }
    trail.add(step('DELIVER', at, packet, `the reply reaches the client ${host.kind === client.host.kind ? at : describeHost(client.host)}`))
    return [{trail, end: {kind: 'delivered', host, packet}}]
  }
  trail.add(step('DELIVER', at, packet, detail))
  return [{trail, end: {kind: 'delivered', host, packet}}]
}

/** the same pod: its cluster, node and address (undeclared pods have no other identity) */
export function samePod(a: HostRef, b: HostRef): boolean {
  return a.kind === 'pod' && b.kind === 'pod' && a.cluster === b.cluster && a.ip === b.ip && a.node === b.node
}

function sameHost(ctx: WalkContext, a: HostRef, b: HostRef): boolean {
  if (a.kind === 'instance' && b.kind === 'instance') return a.name === b.name
  if (a.kind === 'pod' && b.kind === 'pod') return samePod(a, b)
  // a host-network pod is its node: the reply to its address is the node's (SNAT-18 POD_USES_NODE_NETWORK_NAMESPACE)
  const [pod, instance] = a.kind === 'pod' ? [a, b as Extract<HostRef, {kind: 'instance'}>] : [b as Extract<HostRef, {kind: 'pod'}>, a]
  const declared = ctx.model.clusters.get(pod.cluster)?.pods.find((p) => p.namespace === pod.namespace && p.name === pod.name)
  return pod.node === instance.name && declared?.hostNetwork === true
}

function describeHost(host: HostRef): string {
  return host.kind === 'instance' ? host.name : host.declared ? `${host.cluster}/${host.namespace}/${host.name}` : `pod ${formatIp(host.ip)} on ${host.node}`
}

function deliverLocal(ctx: WalkContext, trail: Trail, instance: InstanceFacts, packet: Packet): Ended[] {
  const at = instancePlace(instance)
  const node = ctx.model.nodes.get(instance.name)
  if (ctx.direction === 'forward') {
    const vip = ctx.model.vipsBackedBy(instance.name).find((f) => f.ip === packet.dst)
    if (node) {
      const hostPod = ctx.model.clusters.get(node.cluster)?.pods.find((p) => p.hostNetwork && p.node === node.name && p.ports?.includes(packet.dstPort))
      if (hostPod) return deliverHostNetworkPod(ctx, trail, hostPod, packet)
      // A VIP no kube-proxy rule claimed: nothing on the node serves it (the kernel answers with a reset).
      if (vip) return drop(trail, at, packet, 'XCC_DESTINATION_NOT_LISTENING', `no service of cluster ${node.cluster} serves ${formatIp(packet.dst)}:${packet.dstPort} (load balancer ${vip.name}) on node ${node.name}: no kube-proxy rule matches`)
    } else {
      const listen = instance.guest.listen
      if (listen && !listen.some((l) => l.port === packet.dstPort && l.protocol === packet.protocol)) {
        return drop(trail, at, packet, 'XCC_DESTINATION_NOT_LISTENING', `${instance.name} listens on ${listen.map((l) => `${l.protocol}/${l.port}`).join(', ') || 'nothing'}, not ${packet.protocol}/${packet.dstPort}`)
      }
    }
  }
  return finish(ctx, trail, at, {kind: 'instance', name: instance.name}, packet, `delivered to ${at}${vipNote(ctx, instance, packet)}`)
}

function vipNote(ctx: WalkContext, instance: InstanceFacts, packet: Packet): string {
  const fr = ctx.model.vipsBackedBy(instance.name).find((f) => f.ip === packet.dst)
  return fr ? ` (the load balancer address of ${fr.name} is local on its backends)` : ''
}

function deliverHostNetworkPod(ctx: WalkContext, trail: Trail, pod: PodFacts, packet: Packet): Ended[] {
  const at = podPlace(pod)
  trail.add(step('ARRIVE_AT_GKE_POD', at, packet, `host-network pod ${pod.namespace}/${pod.name} on node ${pod.node}`))
  return finish(ctx, trail, at, {kind: 'pod', cluster: pod.cluster, namespace: pod.namespace, name: pod.name, node: pod.node, ip: pod.ip, declared: pod.declared}, packet, `delivered to pod ${at}`)
}
