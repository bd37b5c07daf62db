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
import {type AccessNeed, checkAccess, podAccess} from '../kube/access.js'
import {throwIfAborted} from '../kube/pods.js'
import type {KubeCluster, KubeNode, KubePod} from '../ports/kube.js'
import {shellCommand} from '../shell.js'
import {parseCaptureLog} from './capture-log.js'
import {type CapturePoint, podCapture} from './captures.js'
import {type DnsExchange, askedNames, classifyDnsPackets, compareDns, describeDnsResult, liveDnsView, parseDnsProbeMessage, refineResult} from './dns-answer.js'
import {assembleResolvedReport, assembleUnresolvedReport} from './dns-report.js'
import {runProbe} from './probe-pod.js'
import type {LiveReport} from './report.js'
import {type Created, type LiveDeps, removeCreated} from './run-deps.js'
import {type LiveTo, chooseNode} from './targets.js'
import type {CaptureObservation, DnsObservation, LiveRequest, Observations, ProbeObservation} from './types.js'

type NameRequest = LiveRequest & {readonly to: Extract<LiveTo, {kind: 'name'}>}
type AddressTo = Extract<LiveTo, {kind: 'address'}>

/** UDP and TCP 53, and the ICMP errors that say why a query went nowhere */
const DNS_CAPTURE_FILTER = 'port 53 or (icmp and (icmp[0] == 3 or icmp[0] == 11))'
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
    const report = await probeAddress({kind: 'address', ip: dns.addresses[0] as string, port: req.to.port})
    return assembleResolvedReport({port: req.to.port, dns, view, notes, report, checks: deps.checks, ...(expected ? {expected} : {}), ...(check ? {check} : {})})
  }
  return assembleUnresolvedReport({
    request: req, port: req.to.port, dns, view, notes, node: r.node, context: r.source.context, namespace: r.namespace, routes: r.routes,
    ...(r.natRules ? {natRules: r.natRules} : {}), cleanup: r.cleanup, totalMs: r.ms, checks: deps.checks,
    ...(expected ? {expected} : {}), ...(check ? {check} : {}),
  })
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

