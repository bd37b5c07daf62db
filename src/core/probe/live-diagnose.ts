/**
 * The root cause from what the captures saw, for when no topology predicts the path (or the
 * prediction was contradicted). Only conclusions the packets prove are drawn; otherwise the
 * verdict is `unknown` with INSUFFICIENT_INFO and the evidence says what was seen and what is
 * missing. Fixes come from the shared builders (core/doctor/fixes.ts), as the static doctor's do.
 */
import {type FixFacts, type MasqueradeMechanism, buildFixes, fixLines} from '../doctor/fixes.js'
import type {Diagnosis, DiagnosisCode} from '../doctor/types.js'
import type {Verdict} from '../trace/types.js'
import {type ObservedPacket, describePacket, packetsOf} from './observe.js'
import type {InternalLoadBalancer} from './targets.js'
import type {CaptureObservation, ProbeObservation} from './types.js'

/** What owns the destination and how xcc came to know (or not). */
export interface DestinationFacts {
  /**
   * given: --to-context, or a service destination, names the context; found: xcc found the owner
   * by looking in every context; searched: it looked in every context and none owns it;
   * not-searched: nothing named a context and there was none to look in
   */
  readonly how: 'given' | 'found' | 'searched' | 'not-searched'
  readonly context?: string
  /** what owns it there, for messages (`service default/web`, `node n1`, `pod default/p`) */
  readonly owner?: string
  /** the Service it belongs to */
  readonly service?: {readonly context: string; readonly namespace: string; readonly name: string}
  /** the address is that Service's ClusterIP, and the probe runs in another cluster (GKE-06) */
  readonly clusterIpFromOutside?: boolean
}

export interface LiveSituation {
  readonly probe: ProbeObservation
  /** the node the probe ran on */
  readonly sourceNode: string
  /** the node's own addresses (a SYN leaving with one of them was masqueraded) */
  readonly sourceNodeAddresses: readonly string[]
  readonly captures: readonly CaptureObservation[]
  /** the probe's cluster: its context, and how its nodes masquerade today */
  readonly source: {readonly context: string; readonly mechanism: MasqueradeMechanism}
  /** the client's pod range, when known (--topology): a gateway must masquerade all of it */
  readonly clientRange?: string
  /** zones of VMs, when known (--topology), for the gcloud commands */
  readonly vmZones?: ReadonlyMap<string, string>
  readonly destination: DestinationFacts
  /** the destination is a Service's internal load balancer (what the clusters tell of it) */
  readonly loadBalancer?: InternalLoadBalancer & {readonly context: string}
  /** the region label of the probe's node */
  readonly sourceRegion?: string
}

export interface LiveConclusion {
  readonly verdict: Verdict
  readonly diagnosis: Diagnosis | null
}

const line = (host: string, p: ObservedPacket): string => `${host}: ${describePacket(p)} — tcpdump: ${p.line}`
const isSource = (s: Pick<LiveSituation, 'sourceNode'>, c: CaptureObservation): boolean => c.host.kind === 'node' && c.host.name === s.sourceNode

/** The packets that tell the story, for the evidence of any diagnosis. */
export function keyEvidence(situation: Pick<LiveSituation, 'captures' | 'sourceNode'>): string[] {
  const out: string[] = []
  for (const c of situation.captures) {
    if (c.status !== 'ok') {
      out.push(`${c.at}: capture ${c.status}${c.reason ? `: ${c.reason}` : ''}`)
      continue
    }
    const picks = [
      packetsOf(c.packets, 'request', 'In')[0],
      packetsOf(c.packets, 'request', 'Out')[0],
      packetsOf(c.packets, 'reply', 'In')[0],
      packetsOf(c.packets, 'reply', 'Out')[0],
      c.packets.find((p) => p.role === 'reset' || p.role === 'icmp'),
    ].filter((p): p is ObservedPacket => p !== undefined)
    const synOut = packetsOf(c.packets, 'request', 'Out')
    const retransmits = synOut.length > 1 ? ` (${synOut.length} SYNs: retransmitted)` : ''
    for (const p of picks) out.push(line(c.at, p) + (p.role === 'request' && p.direction === 'Out' ? retransmits : ''))
    if (isSource(situation, c) && packetsOf(c.packets, 'request', 'Out').length > 0 && packetsOf(c.packets, 'reply', 'In').length === 0) {
      out.push(`${c.at}: no SYN-ACK came back`)
    }
    if (picks.length === 0) out.push(`${c.at}: the capture worked (sanity packet seen) but saw no packet of the flow`)
  }
  return out
}

function diagnosis(code: DiagnosisCode, summary: string, evidence: readonly string[], facts: FixFacts): Diagnosis {
  const fixes = buildFixes(facts)
  return {code, summary, evidence, fix: fixLines(fixes), fixes}
}

type Need = {readonly summary: string; readonly command?: readonly string[]}

const unknown = (summary: string, evidence: readonly string[], needs: readonly Need[]): LiveConclusion => ({
  verdict: 'unknown',
  diagnosis: diagnosis('INSUFFICIENT_INFO', summary, evidence, {code: 'INSUFFICIENT_INFO', needs}),
})

const TOPOLOGY: Need = {summary: 'Pass --topology FILE with the networks, firewalls and load balancers on the path, so xcc can name the drop.'}

/** what to do when no capture ran on the destination side, saying what xcc already tried */
function destinationSideNeeds(s: LiveSituation): Need[] {
  const d = s.destination
  const target = `${s.probe.dst}:${s.probe.dstPort}`
  if (d.how === 'given') return [{summary: `Check the address: nothing in context ${d.context} owns ${target} (no Service, node or pod), so xcc had nowhere to capture on the destination side.`}, TOPOLOGY]
  if (d.how === 'searched') return [{summary: `No context of the kubeconfig owns ${target}: give xcc a kubeconfig with the destination cluster's context (--kubeconfig), or check the address.`}, TOPOLOGY]
  return [{summary: 'Name the destination\'s cluster with --to-context <context> (or --to <context>/<namespace>/<service>) so xcc captures there too.'}, TOPOLOGY]
}

export function concludeFromObservations(s: LiveSituation): LiveConclusion {
  const {probe} = s
  if (probe.result === 'connected') return {verdict: 'reachable', diagnosis: null}
  const evidence = [`probe ${probe.at}: ${probe.result}${probe.message ? ` (${probe.message})` : ''}`, ...keyEvidence(s)]
  // the packets a diagnosis names first, then the rest of the story without repeating them
  const key = (e: string): string => (e.includes(' — tcpdump') ? e.slice(0, e.indexOf(' — tcpdump')) : e)
  const story = (first: readonly string[]): string[] => [...first, ...evidence.filter((e) => !first.some((f) => key(e) === key(f)))]
  const sourceHost = `node/${s.sourceNode}`
  if (probe.result === 'error' || probe.result === 'not-run') {
    return unknown(`the probe could not test the connection: ${probe.message ?? probe.result}`, evidence, [{summary: 'Fix the probe problem in the evidence and run xcc doctor again.'}])
  }
  const clusterIp = s.destination.clusterIpFromOutside ? s.destination.service : undefined
  if (clusterIp) {
    const ref = {cluster: clusterIp.context, context: clusterIp.context, known: true, namespace: clusterIp.namespace, name: clusterIp.name}
    return {verdict: 'unreachable', diagnosis: diagnosis('CLUSTER_IP_FROM_OUTSIDE_CLUSTER',
      `${probe.dst} is the ClusterIP of service ${clusterIp.namespace}/${clusterIp.name} in context ${clusterIp.context}; a ClusterIP is served only by the nodes of its own cluster (kube-proxy), so a pod of ${s.source.context} cannot reach it (GKE-06).`,
      story([`service ${clusterIp.namespace}/${clusterIp.name} (context ${clusterIp.context}): ClusterIP ${probe.dst}, no load-balancer address`]),
      {code: 'CLUSTER_IP_FROM_OUTSIDE_CLUSTER', service: ref})}
  }
  const ok = s.captures.filter((c) => c.status === 'ok')
  const source = ok.find((c) => isSource(s, c))
  const others = ok.filter((c) => !isSource(s, c))
  const reset = ok.flatMap((c) => c.packets.filter((p) => p.role === 'reset' && p.dst === probe.src).map((p) => ({c, p})))[0]
    ?? ok.flatMap((c) => c.packets.filter((p) => p.role === 'reset' && p.src !== probe.src).map((p) => ({c, p})))[0]
  if (reset) {
    const service = s.destination.service
    return {verdict: 'unreachable', diagnosis: diagnosis('DESTINATION_NOT_LISTENING',
      `The SYN reaches the destination, which answers with a reset: nothing serves ${probe.dst}:${probe.dstPort} there.`,
      story([line(reset.c.at, reset.p)]),
      {code: 'DESTINATION_NOT_LISTENING', at: `${probe.dst}:${probe.dstPort}`, protocol: 'tcp', port: probe.dstPort, ...(service ? {service: {...service, cluster: service.context, known: true}} : {})})}
  }
  if (!source) return unknown(`the probe's connection failed (${probe.result}) and the capture on ${sourceHost} did not work, so xcc cannot tell where the packets went`, evidence, [{summary: 'See the capture problem in the evidence (image, tcpdump, NET_RAW), then run again.'}])
  const left = packetsOf(source.packets, 'request', 'Out')
  if (left.length === 0) {
    return unknown(`the SYN never left ${sourceHost}: something on the node (NetworkPolicy, iptables FORWARD/OUTPUT) drops it`, evidence, [{summary: `Inspect the filter rules of node ${s.sourceNode} (iptables-save on the node).`}])
  }
  const sentWith = (left[0] as ObservedPacket).src
  const masqueraded = s.sourceNodeAddresses.includes(sentWith)
  const repliedAt = others.flatMap((c) => packetsOf(c.packets, 'reply', 'Out').map((p) => ({c, p})))
  const gotReply = packetsOf(source.packets, 'reply', 'In').length > 0
  // a forwarding VM that passed the SYN on with the source it arrived with (no SNAT)
  const gateway = others.filter((c) => c.host.kind === 'instance').map((c) => {
    const inbound = packetsOf(c.packets, 'request', 'In')[0]
    const outbound = packetsOf(c.packets, 'request', 'Out').find((p) => inbound && p.src === inbound.src && p.iface !== inbound.iface)
    return inbound && outbound ? {c, inbound, outbound} : undefined
  }).find((g) => g !== undefined)
  if (repliedAt.length > 0 && !gotReply) {
    const reply = repliedAt[0] as {c: CaptureObservation; p: ObservedPacket}
    if (gateway) {
      const instance = gateway.c.host.name
      const zone = s.vmZones?.get(instance)
      return {verdict: 'unreachable', diagnosis: diagnosis('GATEWAY_SNAT_MISSING',
        `Gateway ${instance} forwards the SYN without SNAT (it leaves with the client address ${gateway.outbound.src}); the destination answers to ${reply.p.dst}, which its side does not route back through the gateway, so the SYN-ACK never returns.`,
        story([line(gateway.c.at, gateway.inbound), line(gateway.c.at, gateway.outbound), line(reply.c.at, reply.p)]),
        {code: 'GATEWAY_SNAT_MISSING', gateway: {name: instance, ...(zone ? {zone} : {})}, sourceRange: s.clientRange ?? `${gateway.outbound.src}/32`})}
    }
    if (!masqueraded && sentWith === probe.src) {
      return {verdict: 'unreachable', diagnosis: diagnosis('POD_SNAT_MISSING',
        `The node sends the pod's SYN with the pod address ${sentWith} (no masquerade for ${probe.dst}); the destination answers to ${sentWith}, which its side cannot route back, so the SYN-ACK never returns and the SYN is retransmitted.`,
        story([`${line(sourceHost, left[0] as ObservedPacket)}${left.length > 1 ? ` (${left.length} SYNs: retransmitted)` : ''}`, line(reply.c.at, reply.p), `${sourceHost}: no SYN-ACK came back — tcpdump saw none`]),
        {code: 'POD_SNAT_MISSING', cluster: {cluster: s.source.context, context: s.source.context, known: true}, cidrs: [`${probe.dst}/32`], destinationOnly: true, mechanism: s.source.mechanism, routesBased: false})}
    }
    return unknown(`the destination answers (${describePacket(reply.p)}) but the SYN-ACK never reaches ${sourceHost}: the return path drops it`, evidence, [TOPOLOGY])
  }
  const regionMismatch = repliedAt.length === 0 ? regionMismatchOf(s, story, sentWith) : undefined
  if (regionMismatch) return regionMismatch
  const destinationCaptures = others.filter((c) => c.host.kind === 'node')
  if (destinationCaptures.length > 0 && destinationCaptures.every((c) => packetsOf(c.packets, 'request', 'In').length === 0)) {
    return unknown(`the SYN left ${sourceHost} (src ${sentWith}) but never arrived at ${destinationCaptures.map((c) => c.at).join(', ')}: a route, a firewall rule or the load balancer drops it on the way`, evidence, [TOPOLOGY])
  }
  if (destinationCaptures.length === 0 && !masqueraded) {
    return unknown(`the SYN left ${sourceHost} with the pod address ${sentWith} (not masqueraded) and no SYN-ACK came back; without a capture on the destination side xcc cannot tell a missing return route from a drop`, evidence, destinationSideNeeds(s))
  }
  return unknown(`the SYN left ${sourceHost} (src ${sentWith}) and no SYN-ACK came back`, evidence, destinationCaptures.length === 0 ? destinationSideNeeds(s) : [TOPOLOGY])
}

/**
 * ILB-03 from what the clusters tell: the destination is a Service's internal load balancer (SVC-01)
 * without global access (SVC-02), GKE made it in its nodes' region, and the probe's node is in
 * another one; the SYN left and nothing answered, as a forwarding rule drops such a client.
 */
function regionMismatchOf(s: LiveSituation, story: (first: readonly string[]) => string[], sentWith: string): LiveConclusion | undefined {
  const lb = s.loadBalancer
  if (!lb || lb.globalAccess || !lb.region || !s.sourceRegion || lb.region === s.sourceRegion) return undefined
  const [namespace, name] = lb.service.split('/') as [string, string]
  return {verdict: 'unreachable', diagnosis: diagnosis('FORWARDING_RULE_REGION_MISMATCH',
    `${s.probe.dst} is the internal load balancer of service ${lb.service} in ${lb.region}, without global access; the client node is in ${s.sourceRegion}, so the forwarding rule drops its SYN (ILB-03).`,
    story([
      `service ${lb.service} (context ${lb.context}): an internal load balancer (SVC-01) without networking.gke.io/internal-load-balancer-allow-global-access: "true" (SVC-02); its nodes are in ${lb.region}`,
      `node/${s.sourceNode}: in region ${s.sourceRegion} (label topology.kubernetes.io/region); the SYN left with ${sentWith} and nothing answered`,
    ]),
    {code: 'FORWARDING_RULE_REGION_MISMATCH', service: {cluster: lb.context, context: lb.context, known: true, namespace, name}, region: lb.region})}
}
