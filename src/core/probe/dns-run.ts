/**
 * `xcc doctor --live --to NAME:PORT` (issue 17, contracts.md §10): the name is resolved in the
 * source pod's own network namespace and resolver (the DNS probe: getent through its
 * resolv.conf, search path and ndots:5 included), while captures on the source node and on the
 * cluster DNS pods' nodes record the DNS packets (UDP and TCP 53): the pod's queries, the ones
 * the cluster DNS forwards, and whether an answer came back. The answer is compared with the
 * static prediction for the same name (habit 5); a resolved name is then probed at its address
 * by the ordinary live doctor, with the DNS steps before the path.
 */
import {XccError} from '../errors.js'
import type {ContextRef} from '../doctor/fixes.js'
import {buildFixes, fixLines} from '../doctor/fixes.js'
import {DOCTOR_SCHEMA_VERSION, type DoctorReport, runChecks} from '../doctor/report.js'
import type {Diagnosis} from '../doctor/types.js'
import {type AccessNeed, checkAccess, podAccess} from '../kube/access.js'
import {throwIfAborted} from '../kube/pods.js'
import {parseIp} from '../net/ipv4.js'
import type {KubeCluster, KubeNode, KubePod} from '../ports/kube.js'
import {shellCommand} from '../shell.js'
import {parseCaptureLog} from './capture-log.js'
import {type CapturePoint, podCapture} from './captures.js'
import {type DnsExchange, askedNames, classifyDnsPackets, compareDns, describeDnsResult, liveDnsView, parseDnsProbeMessage, refineResult} from './dns-answer.js'
import {traceLiveSource} from './live-trace.js'
import {runProbe} from './probe-pod.js'
import type {LiveReport} from './report.js'
import {type Created, type LiveDeps, removeCreated} from './run.js'
import {type LiveTo, chooseNode, internalIps} from './targets.js'
import type {ObservedPacket} from './observe.js'
import type {CaptureObservation, DnsObservation, LiveRequest, ObservationCheck, Observations, ProbeObservation} from './types.js'

type NameRequest = LiveRequest & {readonly to: Extract<LiveTo, {kind: 'name'}>}
type AddressTo = Extract<LiveTo, {kind: 'address'}>

/** UDP and TCP 53, and the ICMP errors that say why a query went nowhere */
export const DNS_CAPTURE_FILTER = 'port 53 or (icmp and (icmp[0] == 3 or icmp[0] == 11))'
/** how long the pod's resolver may take: glibc waits 5 s for a server before it tries again */
const MIN_DNS_SECONDS = 5
const GRACE_MS = 200

interface Resolved {
  readonly dns: DnsObservation
  readonly exchanges: readonly DnsExchange[]
  readonly source: KubeCluster
  readonly node: KubeNode
  readonly namespace: string
  readonly notes: readonly string[]
  readonly cleanup: Observations['cleanup']
  readonly natRules?: string
  readonly routes: readonly string[]
  readonly ms: number
}

/** Resolves the name in the pod, then probes its address (`probeAddress`: the ordinary live doctor), or explains why it did not resolve. */
export async function runLiveDoctorByName(req: NameRequest, deps: LiveDeps, probeAddress: (to: AddressTo) => Promise<LiveReport>): Promise<LiveReport> {
  const r = await resolveInPod(req, deps)
  const {dns} = r
  const cluster = deps.prediction?.clusterFor(r.source.context, [r.node.metadata.name])
  const podInput = dns.src ? {namespace: r.namespace, name: dns.at.split('/')[2] as string, ip: dns.src} : undefined
  const predicted = deps.prediction && cluster ? deps.prediction.resolveName({cluster, node: r.node.metadata.name, ...(podInput ? {pod: podInput} : {}), dst: dns.addresses[0] ?? '0.0.0.0', port: req.to.port, name: req.to.name}) : undefined
  const notes = [...r.notes, ...(predicted?.note ? [predicted.note] : [])]
  const expected = predicted?.report
  const check = compareDns(expected?.dns, dns)
  const view = check?.status === 'match' && expected?.dns ? expected.dns : liveDnsView(dns, r.source.context, r.namespace, r.exchanges)

  if (dns.result === 'resolved') {
    const address = dns.addresses[0] as string
    const report = await probeAddress({kind: 'address', ip: address, port: req.to.port})
    const comparison = [...(check ? [check] : []), ...(report.observations.checks ?? [])]
    const findings = check ? rerunComparison(report, comparison, deps) : report.findings
    const observations: Observations = {...report.observations, dns, ...(comparison.length ? {checks: comparison} : {}), notes: [...notes, ...report.observations.notes]}
    const merged: LiveReport = {...report, flow: {...report.flow, to: `${req.to.name} (${address}:${req.to.port})`}, dns: view, findings, observations}
    // DNS_RECORD_STALE: the pod got the responder's record, which is no longer the Service's address
    if (expected?.diagnosis?.code === 'DNS_RECORD_STALE' && expected.dns?.address === address && report.verdict !== 'reachable') {
      return {...merged, diagnosis: {...expected.diagnosis, evidence: [...expected.diagnosis.evidence, ...(report.diagnosis ? [`observed: ${report.diagnosis.code}, ${report.diagnosis.summary}`] : [])]}}
    }
    return merged
  }
  return unresolvedReport(req, deps, r, {view, notes, ...(expected ? {expected} : {}), ...(check ? {check} : {})})
}

/** the probe.matches-prediction finding again, now with the DNS comparison in front */
function rerunComparison(report: LiveReport, comparison: readonly ObservationCheck[], deps: LiveDeps) {
  const match = deps.checks.filter((c) => c.id === 'probe.matches-prediction')
  const again = runChecks({probe: report.observations.probe, captures: report.observations.captures, sourceNode: report.observations.probe.node, comparison, destination: {how: 'given'}}, match)
  const others = report.findings.filter((f) => f.check !== 'probe.matches-prediction')
  return [...others, ...again]
}

async function resolveInPod(req: NameRequest, deps: LiveDeps): Promise<Resolved> {
  const t0 = deps.clock.now()
  const w = {clock: deps.clock, signal: deps.signal}
  const event = (id: string, title: string, state: 'running' | 'done' | 'failed', detail?: string): void => deps.onEvent({id, title, state, ...(detail ? {detail} : {})})
  const source = deps.kube.open(req.from.context)
  const ns = req.probeNamespace
  event('dns-access', 'Check permissions to resolve the name in a pod', 'running')
  const needs: AccessNeed[] = [
    ...podAccess(ns, 'run the DNS probe and its captures'),
    {verb: 'list', resource: 'nodes', why: 'find the source node', required: true},
    {verb: 'get', resource: 'endpoints', namespace: 'kube-system', why: 'find the cluster DNS pods, to capture the queries they forward', required: false},
  ]
  if (req.from.pod) {
    needs.push({verb: 'get', resource: 'pods', namespace: req.from.pod.namespace, why: `read pod ${req.from.pod.name}`, required: true})
    needs.push({verb: 'patch', resource: 'pods', subresource: 'ephemeralcontainers', namespace: req.from.pod.namespace, why: 'resolve the name inside the pod with an ephemeral container', required: false})
  }
  const denied = await checkAccess(source, needs)
  const isDenied = (resource: string): boolean => denied.some((d) => (d.subresource ? `${d.resource}/${d.subresource}` : d.resource) === resource)
  event('dns-access', 'Check permissions to resolve the name in a pod', 'done')
  const nodes = await source.listNodes()
  let userPod: KubePod | undefined
  if (req.from.pod) {
    userPod = await source.getPod(req.from.pod.namespace, req.from.pod.name)
    if (!userPod) throw new XccError(`--from ${req.from.context}/${req.from.pod.namespace}/${req.from.pod.name}: no such pod in context "${req.from.context}"`, {hint: shellCommand(['kubectl', '--context', req.from.context, '-n', req.from.pod.namespace, 'get', 'pods'])})
    if (userPod.status?.phase !== 'Running' || !userPod.spec.nodeName) throw new XccError(`pod ${req.from.pod.namespace}/${req.from.pod.name} is not running (phase ${userPod.status?.phase ?? 'unknown'}), so it cannot resolve names`, {hint: 'resolve from the context instead (--from <context>)'})
  }
  const node = chooseNode(nodes, userPod?.spec.nodeName ?? req.node, source.context)
  const endpoints = isDenied('endpoints') ? undefined : await source.getEndpoints('kube-system', 'kube-dns').catch(() => undefined)
  const dnsNodes = [...new Set((endpoints?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.nodeName)).filter((n): n is string => n !== undefined && n !== node.metadata.name))].slice(0, 3)
  const notes: string[] = []
  if (!endpoints) notes.push('the cluster DNS pods (kube-system/kube-dns endpoints) could not be read, so only the source node captures the DNS packets')

  const seconds = Math.max(req.timeoutSeconds, MIN_DNS_SECONDS)
  const settings = {runId: req.runId, image: req.image, filter: DNS_CAPTURE_FILTER, seconds: seconds + req.startSeconds + 30, scripts: deps.scripts, startDeadlineMs: req.startSeconds * 1000, prefix: 'xcc-dns-capture'}
  const created: Created[] = []
  const track = (cluster: KubeCluster, namespace: string, name: string): void => void created.push({cluster, namespace, name})
  const points: CapturePoint[] = [node.metadata.name, ...dnsNodes].map((n, i) => podCapture(w, source, ns, n, i, settings, track))
  const cleanup = {deleted: [] as string[], kept: [] as string[], failed: [] as string[]}
  let probe: ProbeObservation | undefined
  let texts: string[] = []
  try {
    event('dns-capture', `Capture DNS packets on ${points.map((p) => p.at).join(', ')}`, 'running')
    await Promise.all(points.map((p) => p.start()))
    const broken = points.filter((p) => p.state.status !== 'ok')
    event('dns-capture', `DNS captures live on ${points.length - broken.length} of ${points.length} hosts`, broken.length ? 'failed' : 'done', broken.map((p) => `${p.at}: ${p.state.reason}`).join('; ') || undefined)
    event('dns', `Resolve ${req.to.name} in the pod (timeout ${seconds}s)`, 'running')
    probe = await runProbe(req, deps, source, node, userPod, {ip: req.to.name, port: 53, mode: 'dns', seconds}, isDenied('pods/ephemeralcontainers'), track, notes)
    await deps.clock.sleep(GRACE_MS, deps.signal)
    throwIfAborted(deps.signal)
    texts = await Promise.all(points.map(async (p) => p.read().catch(() => '')))
  } finally {
    await Promise.all(points.map((p) => p.stop().catch(() => undefined)))
    await removeCreated(created, req.keep, deps.clock, cleanup)
  }
  const ran = probe as ProbeObservation
  const answer = parseDnsProbeMessage(ran.message, ran.exitCode)
  const namespace = ran.mode === 'ephemeral' ? ran.pod.namespace : ns
  const names = askedNames(req.to.name, namespace)
  const logs = texts.map(parseCaptureLog)
  const classified = logs.map((l) => classifyDnsPackets(l.capture.packets, names, ran.src))
  const captures: CaptureObservation[] = points.map((p, i) => ({
    at: p.at, host: p.host, ...(p.context ? {context: p.context} : {}), ...(p.pod ? {pod: p.pod} : {}),
    status: p.state.status === 'pending' ? 'broken' : p.state.status, ...(p.state.reason ? {reason: p.state.reason} : {}),
    filter: DNS_CAPTURE_FILTER, packets: classified[i]?.packets ?? [],
  }))
  const exchanges = classified[0]?.exchanges ?? []
  const result = refineResult(answer.result, classified.flatMap((c) => c.exchanges))
  const mode = ran.mode === 'ephemeral' ? 'ephemeral' : 'pod'
  const dns: DnsObservation = {
    name: req.to.name, at: ran.at, mode, ...(ran.src ? {src: ran.src} : {}), resolver: answer.resolver, result, addresses: answer.addresses,
    ...(ran.exitCode === undefined ? {} : {exitCode: ran.exitCode}), ...(ran.message ? {message: ran.message} : {}), ...(ran.durationMs === undefined ? {} : {durationMs: ran.durationMs}), captures,
  }
  event('dns', `Resolve ${req.to.name}: ${describeDnsResult(dns)}`, result === 'resolved' ? 'done' : 'failed')
  const sourceLog = logs[0]
  return {dns, exchanges, source, node, namespace, notes, cleanup, routes: sourceLog?.routes ?? [], ...(sourceLog?.natRules ? {natRules: sourceLog.natRules} : {}), ms: Math.round(deps.clock.now() - t0)}
}

interface Judged {
  readonly view: NonNullable<DoctorReport['dns']>
  readonly notes: readonly string[]
  readonly expected?: DoctorReport
  readonly check?: ObservationCheck
}

/** The name did not resolve: no path probe. Agreeing with the prediction, its diagnosis stands; else the packets decide. */
function unresolvedReport(req: NameRequest, deps: LiveDeps, r: Resolved, j: Judged): LiveReport {
  const {dns} = r
  const probe: ProbeObservation = {
    at: dns.at, pod: podRef(dns.at), node: r.node.metadata.name, mode: dns.mode, ...(dns.src ? {src: dns.src} : {}), srcPort: req.sourcePort,
    dst: req.to.name, dstPort: req.to.port, result: 'not-run', message: `${describeDnsResult(dns)}: the path to it was not probed`,
  }
  const timings = {preflightMs: 0, factsMs: 0, capturesLiveMs: 0, probeMs: dns.durationMs ?? 0, collectMs: 0, cleanupMs: 0, totalMs: r.ms}
  const observations: Observations = {runId: req.runId, dns, probe, captures: [], ...(j.check ? {checks: [j.check]} : {}), cleanup: r.cleanup, notes: [...j.notes], timings}
  const findings = runChecks({probe, captures: [], sourceNode: r.node.metadata.name, destination: {how: 'not-searched'}, ...(j.check ? {comparison: [j.check]} : {})}, deps.checks)
  const observed = dnsEvidence(dns)
  if (j.expected && j.check?.status === 'match' && j.expected.diagnosis) {
    const d = j.expected.diagnosis
    return {...j.expected, verdict: j.expected.verdict === 'reachable' ? 'unreachable' : j.expected.verdict, diagnosis: {...d, evidence: [...d.evidence, ...observed]}, findings: [...j.expected.findings, ...findings], observations}
  }
  const contradiction = j.check?.status === 'mismatch' ? [`contradiction: predicted ${j.check.expected}; observed ${j.check.observed}`] : []
  const diagnosis = liveDiagnosis(dns, {cluster: r.source.context, context: r.source.context, known: true}, r.namespace, [...contradiction, ...observed])
  const nameserver = parseIp(dns.resolver.nameservers[0] ?? '') ?? 0
  const src = dns.src ?? internalIps(r.node)[0] ?? '0.0.0.0'
  const packet = {src: parseIp(src) ?? 0, dst: nameserver, protocol: 'udp' as const, srcPort: req.sourcePort, dstPort: 53}
  const forward = traceLiveSource({pod: probe.pod, node: {name: r.node.metadata.name, addresses: internalIps(r.node).map((a) => parseIp(a) ?? 0), ...(r.node.spec?.podCIDR ? {podCidr: r.node.spec.podCIDR} : {}), routes: r.routes, ...(r.natRules ? {natRules: r.natRules} : {})}, packet, hostNetwork: false})
  return {
    schemaVersion: DOCTOR_SCHEMA_VERSION, verdict: diagnosis.code === 'INSUFFICIENT_INFO' ? 'unknown' : 'unreachable', diagnosis, forward, return: [], findings,
    flow: {from: dns.at, to: `${req.to.name}:${req.to.port}`, packet: {src, dst: dns.resolver.nameservers[0] ?? '0.0.0.0', protocol: 'udp', srcPort: req.sourcePort, dstPort: 53}},
    dns: j.view, observations,
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
