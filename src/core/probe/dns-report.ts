/**
 * The live doctor's report for `--to NAME:PORT` (dns-run.ts gathers, this decides): a resolved
 * name is the path probe's report with the DNS steps before the path and the DNS comparison in
 * front of the others; a name that did not resolve is the prediction's report when the pod's
 * answer agrees with it (its diagnosis stands, the captured DNS packets added as evidence), else
 * a diagnosis from what the pod's resolver and the packets said, the contradiction named
 * (design.md habit 5: a mismatch is itself a finding).
 */
import {type ContextRef, buildFixes, fixLines} from '../doctor/fixes.js'
import {DOCTOR_SCHEMA_VERSION, type DoctorReport, runChecks} from '../doctor/report.js'
import type {Diagnosis} from '../doctor/types.js'
import {parseIp} from '../net/ipv4.js'
import type {KubeNode} from '../ports/kube.js'
import {describeDnsResult} from './dns-answer.js'
import type {LiveCheck} from './live-checks.js'
import {traceLiveSource} from './live-trace.js'
import type {ObservedPacket} from './observe.js'
import type {LiveReport} from './report.js'
import {internalIps} from './targets.js'
import type {DnsObservation, LiveRequest, ObservationCheck, Observations, ProbeObservation} from './types.js'

export interface DnsJudgement {
  readonly port: number
  readonly dns: DnsObservation
  /** the DNS view the report shows: the prediction's steps when the pod agreed, else the pod's own */
  readonly view: NonNullable<DoctorReport['dns']>
  readonly notes: readonly string[]
  /** the static doctor's report for the same name, from the same pod (with --topology or the cloud's facts) */
  readonly expected?: DoctorReport
  /** the pod's answer against the prediction */
  readonly check?: ObservationCheck
  /** the live checks of the registry */
  readonly checks: readonly LiveCheck[]
}

/** The name resolved: the path probe's report (to the first address), with the name's DNS steps and comparison. */
export function assembleResolvedReport(j: DnsJudgement & {readonly report: LiveReport}): LiveReport {
  const {report, dns, check, expected} = j
  const address = dns.addresses[0] as string
  const comparison = [...(check ? [check] : []), ...(report.observations.checks ?? [])]
  const findings = check ? rerunComparison(report, comparison, j.checks) : report.findings
  const observations: Observations = {...report.observations, dns, ...(comparison.length ? {checks: comparison} : {}), notes: [...j.notes, ...report.observations.notes]}
  const merged: LiveReport = {...report, flow: {...report.flow, to: `${dns.name} (${address}:${j.port})`}, dns: j.view, findings, observations}
  // DNS_RECORD_STALE: the pod got the responder's record, which is no longer the Service's address
  if (expected?.diagnosis?.code === 'DNS_RECORD_STALE' && expected.dns?.address === address && report.verdict !== 'reachable') {
    const path = report.diagnosis ? [`observed: the path to ${address}: ${report.diagnosis.code}, ${report.diagnosis.summary}`] : []
    return {...merged, diagnosis: {...expected.diagnosis, evidence: [...expected.diagnosis.evidence, ...path]}}
  }
  return merged
}

/** the probe.matches-prediction finding again, now with the DNS comparison in front */
function rerunComparison(report: LiveReport, comparison: readonly ObservationCheck[], checks: readonly LiveCheck[]) {
  const match = checks.filter((c) => c.id === 'probe.matches-prediction')
  const again = runChecks({probe: report.observations.probe, captures: report.observations.captures, sourceNode: report.observations.probe.node, comparison, destination: {how: 'given'}}, match)
  return [...report.findings.filter((f) => f.check !== 'probe.matches-prediction'), ...again]
}

export interface UnresolvedInput extends DnsJudgement {
  readonly request: Pick<LiveRequest, 'runId' | 'sourcePort'>
  readonly node: KubeNode
  /** the source context, and the namespace whose search path the pod used */
  readonly context: string
  readonly namespace: string
  /** the source node's routes and NAT rules, as its DNS capture read them */
  readonly routes: readonly string[]
  readonly natRules?: string
  readonly cleanup: Observations['cleanup']
  readonly totalMs: number
}

/** The name did not resolve: no path probe. */
export function assembleUnresolvedReport(u: UnresolvedInput): LiveReport {
  const {dns} = u
  const probe: ProbeObservation = {
    at: dns.at, pod: podRef(dns.at), node: u.node.metadata.name, mode: dns.mode, ...(dns.src ? {src: dns.src} : {}), srcPort: u.request.sourcePort,
    dst: dns.name, dstPort: u.port, result: 'not-run', message: `${describeDnsResult(dns)}: the path to it was not probed`,
  }
  const timings = {preflightMs: 0, factsMs: 0, capturesLiveMs: 0, probeMs: dns.durationMs ?? 0, collectMs: 0, cleanupMs: 0, totalMs: u.totalMs}
  const observations: Observations = {runId: u.request.runId, dns, probe, captures: [], ...(u.check ? {checks: [u.check]} : {}), cleanup: u.cleanup, notes: [...u.notes], timings}
  // only the comparison has something to check: the path probe did not run
  const notRun = `${dns.name} did not resolve, so the path probe did not run`
  const checks = u.checks.map((c): LiveCheck => (c.id === 'probe.matches-prediction' ? c : {...c, run: () => [{status: 'skip', summary: notRun}]}))
  const findings = runChecks({probe, captures: [], sourceNode: u.node.metadata.name, destination: {how: 'not-searched'}, ...(u.check ? {comparison: [u.check]} : {})}, checks)
  const observed = dnsEvidence(dns)
  if (u.expected && u.check?.status === 'match' && u.expected.diagnosis) {
    const d = u.expected.diagnosis
    return {...u.expected, verdict: u.expected.verdict === 'reachable' ? 'unreachable' : u.expected.verdict, diagnosis: {...d, evidence: [...d.evidence, ...observed]}, findings: [...u.expected.findings, ...findings], dns: u.view, observations}
  }
  const contradiction = u.check?.status === 'mismatch' ? [`contradiction: predicted ${u.check.expected}; observed ${u.check.observed}`] : []
  const diagnosis = liveDiagnosis(dns, {cluster: u.context, context: u.context, known: true}, u.namespace, [...contradiction, ...observed])
  const nameserver = dns.resolver.nameservers[0] ?? '0.0.0.0'
  const src = dns.src ?? internalIps(u.node)[0] ?? '0.0.0.0'
  const packet = {src: parseIp(src) ?? 0, dst: parseIp(nameserver) ?? 0, protocol: 'udp' as const, srcPort: u.request.sourcePort, dstPort: 53}
  const node = {name: u.node.metadata.name, addresses: internalIps(u.node).map((a) => parseIp(a) ?? 0), ...(u.node.spec?.podCIDR ? {podCidr: u.node.spec.podCIDR} : {}), routes: u.routes, ...(u.natRules ? {natRules: u.natRules} : {})}
  return {
    schemaVersion: DOCTOR_SCHEMA_VERSION, verdict: diagnosis.code === 'INSUFFICIENT_INFO' ? 'unknown' : 'unreachable', diagnosis,
    forward: traceLiveSource({pod: probe.pod, node, packet, hostNetwork: false}), return: [], findings,
    flow: {from: dns.at, to: `${dns.name}:${u.port}`, packet: {src, dst: nameserver, protocol: 'udp', srcPort: u.request.sourcePort, dstPort: 53}},
    dns: u.view, observations,
  }
}

const podRef = (at: string): ProbeObservation['pod'] => {
  const [context = '', namespace = '', name = ''] = at.split('/')
  return {context, namespace, name}
}

/**
 * The captured DNS packets that decide, as evidence (render draws each quoted tcpdump line under
 * its sentence): the queries no answer came back to — the cluster DNS pod's forwarded ones
 * first, since they show where resolution stopped — and the first NXDOMAIN the pod got.
 */
export function dnsEvidence(dns: DnsObservation): string[] {
  const lines: string[] = [`observed: ${describeDnsResult(dns)} (${dns.at}${dns.message ? `: ${dns.message}` : ''})`]
  const unanswered: Array<{at: string; p: ObservedPacket}> = []
  for (const c of dns.captures) {
    const replies = c.packets.filter((p) => p.role === 'reply')
    for (const p of c.packets) {
      if (p.role !== 'request' || replies.some((r) => r.dstPort === p.srcPort && r.src === p.dst && r.dst === p.src)) continue
      if (!unanswered.some((u) => u.p.src === p.src && u.p.dst === p.dst)) unanswered.push({at: c.at, p})
    }
  }
  unanswered.sort((a, b) => Number(a.p.src === dns.src) - Number(b.p.src === dns.src))
  for (const {at, p} of unanswered.slice(0, 3)) lines.push(`observed at ${at}: ${p.src === dns.src ? 'the pod\'s' : 'a forwarded'} DNS query ${p.src} → ${p.dst}:${p.dstPort ?? 53} got no answer — tcpdump: ${p.line}`)
  const nx = dns.captures.flatMap((c) => c.packets.filter((p) => p.role === 'reply' && p.dst === dns.src && /NXDomain/.test(p.line)).map((p) => ({at: c.at, p})))[0]
  if (nx && dns.result === 'not-found') lines.push(`observed at ${nx.at}: the answer to the pod was NXDOMAIN — tcpdump: ${nx.p.line}`)
  return lines
}

/** Without a prediction (or against it): what the pod's resolver and the packets say. */
function liveDiagnosis(dns: DnsObservation, cluster: ContextRef, namespace: string, evidence: readonly string[]): Diagnosis {
  if (dns.result === 'not-found') {
    const fixes = buildFixes({code: 'DNS_NAME_NOT_FOUND', name: dns.name, cluster, namespace})
    return {code: 'DNS_NAME_NOT_FOUND', summary: `No name a pod of ${cluster.context} in namespace ${namespace} tries for ${dns.name} exists: the cluster DNS answered NXDOMAIN`, evidence: [...evidence], fix: fixLines(fixes), fixes}
  }
  if (dns.result === 'timeout' || dns.result === 'servfail') {
    // the query the cluster DNS forwarded: a query for the name that did not come from the pod
    const forwarded = dns.captures.flatMap((c) => c.packets).find((p) => p.role === 'request' && p.src !== dns.src && !dns.resolver.nameservers.includes(p.dst))
    const server = forwarded ? `${forwarded.dst}:${forwarded.dstPort ?? 53}` : `${dns.resolver.nameservers[0] ?? 'the cluster DNS'}:53`
    const fixes = buildFixes({code: 'DNS_SERVER_UNREACHABLE', server, zone: dns.name, path: []})
    const what = dns.result === 'servfail' ? 'the cluster DNS answered SERVFAIL' : 'no answer came back in time'
    return {code: 'DNS_SERVER_UNREACHABLE', summary: `The DNS query for ${dns.name} from ${dns.at} went to ${server} and ${what}`, evidence: [...evidence], fix: fixLines(fixes), fixes}
  }
  const fixes = buildFixes({code: 'INSUFFICIENT_INFO', needs: [{summary: `The DNS probe in ${dns.at} failed (${dns.message ?? 'no message'}); check that the probe image has getent (--image).`}]})
  return {code: 'INSUFFICIENT_INFO', summary: `xcc could not resolve ${dns.name} in the pod: the DNS probe failed`, evidence: [...evidence], fix: fixLines(fixes), fixes}
}
