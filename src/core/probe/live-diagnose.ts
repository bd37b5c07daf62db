/**
 * The root cause from what the captures saw, for when no topology predicts the path (or the
 * prediction was contradicted). Only conclusions the packets prove are drawn; otherwise the
 * verdict is `unknown` with INSUFFICIENT_INFO and the evidence says what was seen and what is
 * missing (contracts.md §2).
 */
import type {Diagnosis} from '../doctor/types.js'
import type {Verdict} from '../trace/types.js'
import {type ObservedPacket, describePacket, packetsOf} from './observe.js'
import type {InternalLoadBalancer} from './targets.js'
import type {CaptureObservation, ProbeObservation} from './types.js'

export interface LiveSituation {
  readonly probe: ProbeObservation
  /** `node/<name>` the probe ran on */
  readonly sourceHost: string
  /** the node's own addresses (a SYN leaving with one of them was masqueraded) */
  readonly sourceNodeAddresses: readonly string[]
  readonly captures: readonly CaptureObservation[]
  /** fix commands for a missing pod SNAT, built by the caller from what it knows */
  readonly podSnatFix: readonly string[]
  /** fix commands for a gateway that does not SNAT, by instance name */
  readonly gatewaySnatFix: (instance: string, sourceRange: string) => readonly string[]
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

/** The packets that tell the story, for the evidence of any diagnosis. */
export function keyEvidence(situation: Pick<LiveSituation, 'captures' | 'sourceHost'>): string[] {
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
    if (c.at === situation.sourceHost && packetsOf(c.packets, 'request', 'Out').length > 0 && packetsOf(c.packets, 'reply', 'In').length === 0) {
      out.push(`${c.at}: no SYN-ACK came back`)
    }
    if (picks.length === 0) out.push(`${c.at}: the capture worked (sanity packet seen) but saw no packet of the flow`)
  }
  return out
}

const unknown = (summary: string, evidence: readonly string[], fix: readonly string[]): LiveConclusion => ({
  verdict: 'unknown',
  diagnosis: {code: 'INSUFFICIENT_INFO', summary, evidence, fix},
})

export function concludeFromObservations(s: LiveSituation): LiveConclusion {
  const {probe} = s
  if (probe.result === 'connected') return {verdict: 'reachable', diagnosis: null}
  const evidence = [`probe ${probe.at}: ${probe.result}${probe.message ? ` (${probe.message})` : ''}`, ...keyEvidence(s)]
  // the packets a diagnosis names first, then the rest of the story without repeating them
  const key = (e: string): string => (e.includes(' — tcpdump') ? e.slice(0, e.indexOf(' — tcpdump')) : e)
  const story = (first: readonly string[]): string[] => [...first, ...evidence.filter((e) => !first.some((f) => key(e) === key(f)))]
  if (probe.result === 'error' || probe.result === 'not-run') {
    return unknown(`the probe could not test the connection: ${probe.message ?? probe.result}`, evidence, ['fix the probe problem above and run xcc doctor again'])
  }
  const ok = s.captures.filter((c) => c.status === 'ok')
  const source = ok.find((c) => c.at === s.sourceHost)
  const others = ok.filter((c) => c.at !== s.sourceHost)
  const reset = ok.flatMap((c) => c.packets.filter((p) => p.role === 'reset' && p.dst === probe.src).map((p) => ({c, p})))[0]
    ?? ok.flatMap((c) => c.packets.filter((p) => p.role === 'reset' && p.src !== probe.src).map((p) => ({c, p})))[0]
  if (reset) {
    return {verdict: 'unreachable', diagnosis: {
      code: 'DESTINATION_NOT_LISTENING',
      summary: `The SYN reaches the destination, which answers with a reset: nothing serves ${probe.dst}:${probe.dstPort} there.`,
      evidence: story([line(reset.c.at, reset.p)]),
      fix: [`check what serves port ${probe.dstPort} behind ${probe.dst} (kubectl get endpoints; ss -ltnp on the VM), or target the port it serves`],
    }}
  }
  if (!source) return unknown(`the probe's connection failed (${probe.result}) and the capture on ${s.sourceHost} did not work, so xcc cannot tell where the packets went`, evidence, ['see the capture problem in the evidence (image, tcpdump, NET_RAW), then run again'])
  const left = packetsOf(source.packets, 'request', 'Out').filter((p) => p.dst === probe.dst || p.dstPort === probe.dstPort)
  if (left.length === 0) return unknown(`the SYN never left ${s.sourceHost}: something on the node (NetworkPolicy, iptables FORWARD/OUTPUT) drops it`, evidence, [`inspect the node's filter rules: iptables-save on ${s.sourceHost.slice(5)}`])
  const sentWith = (left[0] as ObservedPacket).src
  const masqueraded = s.sourceNodeAddresses.includes(sentWith)
  const repliedAt = others.flatMap((c) => packetsOf(c.packets, 'reply', 'Out').map((p) => ({c, p})))
  const gotReply = packetsOf(source.packets, 'reply', 'In').length > 0
  // a forwarding VM that passed the SYN on with the source it arrived with (no SNAT)
  const gateway = others.filter((c) => c.at.startsWith('instance/')).map((c) => {
    const inbound = packetsOf(c.packets, 'request', 'In')[0]
    const outbound = packetsOf(c.packets, 'request', 'Out').find((p) => inbound && p.src === inbound.src && p.iface !== inbound.iface)
    return inbound && outbound ? {c, inbound, outbound} : undefined
  }).find((g) => g !== undefined)
  if (repliedAt.length > 0 && !gotReply) {
    const reply = repliedAt[0] as {c: CaptureObservation; p: ObservedPacket}
    if (gateway) {
      const instance = gateway.c.at.slice('instance/'.length)
      return {verdict: 'unreachable', diagnosis: {
        code: 'GATEWAY_SNAT_MISSING',
        summary: `Gateway ${instance} forwards the SYN without SNAT (it leaves with the client address ${gateway.outbound.src}); the destination answers to ${reply.p.dst}, which its side does not route back through the gateway, so the SYN-ACK never returns.`,
        evidence: story([line(gateway.c.at, gateway.inbound), line(gateway.c.at, gateway.outbound), line(reply.c.at, reply.p)]),
        fix: [...s.gatewaySnatFix(instance, `${gateway.outbound.src}/32`)],
      }}
    }
    if (!masqueraded && sentWith === probe.src) {
      return {verdict: 'unreachable', diagnosis: {
        code: 'POD_SNAT_MISSING',
        summary: `The node sends the pod's SYN with the pod address ${sentWith} (no masquerade for ${probe.dst}); the destination answers to ${sentWith}, which its side cannot route back, so the SYN-ACK never returns and the SYN is retransmitted.`,
        evidence: story([`${line(s.sourceHost, left[0] as ObservedPacket)}${left.length > 1 ? ` (${left.length} SYNs: retransmitted)` : ''}`, line(reply.c.at, reply.p), `${s.sourceHost}: no SYN-ACK came back — tcpdump saw none`]),
        fix: s.podSnatFix,
      }}
    }
    return unknown(`the destination answers (${describePacket(reply.p)}) but the SYN-ACK never reaches ${s.sourceHost}: the return path drops it`, evidence, ['pass --topology with the networks on the path so xcc can name the drop'])
  }
  const regionMismatch = repliedAt.length === 0 ? regionMismatchOf(s, story, sentWith) : undefined
  if (regionMismatch) return regionMismatch
  const destinationCaptures = others.filter((c) => c.at.startsWith('node/'))
  if (destinationCaptures.length > 0 && destinationCaptures.every((c) => packetsOf(c.packets, 'request', 'In').length === 0)) {
    return unknown(`the SYN left ${s.sourceHost} (src ${sentWith}) but never arrived at ${destinationCaptures.map((c) => c.at).join(', ')}: a route, a firewall rule or the load balancer drops it on the way`, evidence, ['pass --topology with the networks, firewalls and load balancers on the path so xcc can name the drop'])
  }
  if (destinationCaptures.length === 0 && !masqueraded) {
    return unknown(`the SYN left ${s.sourceHost} with the pod address ${sentWith} (not masqueraded) and no SYN-ACK came back; without a capture on the destination side xcc cannot tell a missing return route from a drop`, evidence, ['add --to-context <context of the destination cluster> (or --to <context>/<namespace>/<service>) to capture there too, or pass --topology'])
  }
  return unknown(`the SYN left ${s.sourceHost} (src ${sentWith}) and no SYN-ACK came back`, evidence, ['pass --topology, or --to-context to capture on the destination side'])
}

/**
 * ILB-03 from what the clusters tell: the destination is a Service's internal load balancer (SVC-01)
 * without global access (SVC-02), GKE made it in its nodes' region, and the probe's node is in
 * another one; the SYN left and nothing answered, as a forwarding rule drops such a client.
 */
function regionMismatchOf(s: LiveSituation, story: (first: readonly string[]) => string[], sentWith: string): LiveConclusion | undefined {
  const lb = s.loadBalancer
  if (!lb || lb.globalAccess || !lb.region || !s.sourceRegion || lb.region === s.sourceRegion) return undefined
  const [namespace, name] = lb.service.split('/')
  return {verdict: 'unreachable', diagnosis: {
    code: 'FORWARDING_RULE_REGION_MISMATCH',
    summary: `${s.probe.dst} is the internal load balancer of service ${lb.service} in ${lb.region}, without global access; the client node is in ${s.sourceRegion}, so the forwarding rule drops its SYN (ILB-03).`,
    evidence: story([
      `service ${lb.service} (context ${lb.context}): an internal load balancer (SVC-01) without networking.gke.io/internal-load-balancer-allow-global-access: "true" (SVC-02); its nodes are in ${lb.region}`,
      `${s.sourceHost}: in region ${s.sourceRegion} (label topology.kubernetes.io/region); the SYN left with ${sentWith} and nothing answered`,
    ]),
    fix: [
      `kubectl --context ${lb.context} -n ${namespace} annotate service ${name} networking.gke.io/internal-load-balancer-allow-global-access=true   # GKE turns on global access for its forwarding rule (SVC-02)`,
      `or: run the client in ${lb.region}`,
    ],
  }}
}
