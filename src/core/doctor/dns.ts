/**
 * `xcc doctor --to NAME:PORT` (static): the name is resolved as a pod of the source cluster
 * resolves it (src/core/dns/resolve.ts), the DNS steps go before the path, and the path is traced
 * to the address it resolved to. When resolution fails, the path shown is the DNS query's own:
 * the pod's query to its cluster DNS (DNS_NAME_NOT_FOUND, DNS_STUB_DOMAIN_MISSING), or the
 * cluster DNS pod's forwarded query, UDP 53 from its own pod, to the stub server it cannot reach
 * (DNS_SERVER_UNREACHABLE: the blocked DNS path, with that path's own fix).
 */
import {type ClusterDnsServer, clusterDnsServer} from '../dns/cluster-server.js'
import {type NameResolution, resolveName, splitNameTarget} from '../dns/resolve.js'
import {XccError} from '../errors.js'
import {type Ip, formatIp} from '../net/ipv4.js'
import {findClusterContext} from '../kube/contexts.js'
import type {ClusterFacts, Model} from '../topology/model-types.js'
import {CLIENT_PORT, type Flow, type Source, implicitPod, resolveFlow, resolveSource} from '../trace/endpoints.js'
import {traceFlow} from '../trace/trace.js'
import type {Protocol} from '../trace/types.js'
import type {Check} from './check.js'
import {type ContextRef, buildFixes, fixLines} from './fixes.js'
import {type DnsView, type DoctorReport, evaluateDoctor} from './report.js'
import type {Diagnosis} from './types.js'

type Options = {contexts?: readonly string[]}

/** the doctor for any `--to`: a name is resolved first, anything else is traced as before */
export function evaluateDoctorTo(model: Model, from: string, to: string, protocol: Protocol | undefined, checks: readonly Check[], options: Options = {}): DoctorReport {
  const target = splitNameTarget(to)
  if (!target) return evaluateDoctor(model, resolveFlow(model, from, to, protocol), checks, options)
  const source = resolveSource(model, from)
  if (source.kind !== 'pod') {
    throw new XccError(`--to ${to}: a name is resolved as a pod of the source cluster resolves it, and ${source.label} is not a pod`, {hint: 'give --from <cluster> or <cluster>/<namespace>/<pod>'})
  }
  const server = clusterDnsServer(source.cluster)
  const reached = new Map<string, Flow>()
  const reach = (ip: Ip, port: number): boolean => {
    if (!server) return true
    const flow = dnsPodFlow(model, source.cluster, server, ip, port)
    const ok = traceFlow(model, flow).verdict === 'reachable'
    if (!ok) reached.set(`${ip}:${port}`, flow)
    return ok
  }
  const resolution = resolveName(model, {cluster: source.cluster, namespace: source.pod.namespace}, target.name, {reach})
  const view = dnsView(resolution)
  if (resolution.outcome === 'resolved' || resolution.outcome === 'unknown') {
    if (resolution.address === undefined) {
      return queryReport(model, source, server, resolution, view, checks, options, unknownDiagnosis(resolution))
    }
    const flow = resolveFlow(model, from, `${resolution.address}:${target.port}`, protocol)
    const report = evaluateDoctor(model, {...flow, destination: {...flow.destination, label: `${target.name} (${resolution.address}:${target.port})`}}, checks, {...options, dns: resolution})
    const withDns = {...report, dns: view}
    if (!resolution.stale || report.verdict === 'reachable') return withDns
    return {...withDns, diagnosis: staleDiagnosis(model, options, source.cluster, resolution, report.diagnosis)}
  }
  if (resolution.outcome === 'DNS_SERVER_UNREACHABLE' && resolution.unreachable && server) {
    const u = resolution.unreachable
    const flow = reached.get(`${u.server}:${u.port}`) ?? dnsPodFlow(model, source.cluster, server, u.server, u.port)
    const path = evaluateDoctor(model, flow, checks, {...options, dns: resolution})
    const query = `the cluster DNS pod ${formatIp(server.podIP)} → ${formatIp(u.server)}:${u.port}/udp`
    const underlying = path.diagnosis
    const facts = {code: 'DNS_SERVER_UNREACHABLE' as const, server: `${formatIp(u.server)}:${u.port}`, zone: u.zone, path: underlying?.fixes ?? []}
    const fixes = buildFixes(facts)
    const diagnosis: Diagnosis = {
      code: 'DNS_SERVER_UNREACHABLE',
      summary: `Cluster ${source.cluster.name} forwards ${u.zone} to ${formatIp(u.server)}:${u.port}, but the DNS query (UDP 53 from the cluster DNS pod ${formatIp(server.podIP)}) cannot reach it${underlying ? `: ${underlying.code}, ${underlying.summary}` : ''}`,
      evidence: [...resolution.steps.map(describeStep), ...(underlying ? [`the DNS query's own path: ${underlying.code}`, ...underlying.evidence] : [])],
      fix: fixLines(fixes), fixes,
    }
    return {...path, verdict: path.verdict === 'reachable' ? 'unreachable' : path.verdict, diagnosis, dns: {...view, query}}
  }
  return queryReport(model, source, server, resolution, view, checks, options, nameDiagnosis(model, options, source.cluster, resolution))
}

/** the pod's own query: UDP 53 to its cluster DNS (the Service when the topology declares it, else the DNS pod) */
function queryReport(model: Model, source: Extract<Source, {kind: 'pod'}>, server: ClusterDnsServer | undefined, resolution: NameResolution, view: DnsView, checks: readonly Check[], options: Options, diagnosis: Diagnosis): DoctorReport {
  const address = server ? formatIp(server.declared ? server.serviceIP : server.podIP) : undefined
  if (!server || !address) throw new XccError(`cluster ${source.cluster.name} has no address free for its DNS server, so xcc cannot place it`, {exitCode: 2})
  const dst = server.declared ? server.serviceIP : server.podIP
  const flow: Flow = {source, destination: {ip: dst, port: 53, protocol: 'udp', label: `${address}:53`}, packet: {src: source.pod.ip, dst, protocol: 'udp', srcPort: CLIENT_PORT, dstPort: 53}}
  const report = evaluateDoctor(server.declared ? model : withDnsPod(model, source.cluster, server), flow, checks, {...options, dns: resolution})
  return {...report, verdict: diagnosis.code === 'INSUFFICIENT_INFO' ? 'unknown' : 'unreachable', diagnosis, dns: {...view, query: `${flow.source.label} → ${address}:53/udp`}}
}

/** the model with the cluster DNS pod the lab (and GKE) runs, when the topology does not list it: the query's destination */
function withDnsPod(model: Model, cluster: ClusterFacts, server: ClusterDnsServer): Model {
  const pod = {...implicitPod(cluster, server.node, server.podIP), namespace: 'kube-system', name: 'kube-dns', ports: [53]}
  return {...model, clusters: new Map(model.clusters).set(cluster.name, {...cluster, pods: [...cluster.pods, pod]})}
}

function dnsPodFlow(model: Model, cluster: ClusterFacts, server: ClusterDnsServer, ip: Ip, port: number): Flow {
  const pod = cluster.pods.find((p) => p.ip === server.podIP) ?? {...implicitPod(cluster, server.node, server.podIP), namespace: 'kube-system', name: 'kube-dns'}
  const source: Source = {kind: 'pod', pod, node: server.node, cluster, label: `${cluster.name}/kube-system/${pod.name}`}
  return {
    source,
    destination: {ip, port, protocol: 'udp', label: `${formatIp(ip)}:${port}`},
    packet: {src: server.podIP, dst: ip, protocol: 'udp', srcPort: CLIENT_PORT, dstPort: port},
  }
}

export function dnsView(r: NameResolution): DnsView {
  return {
    name: r.name, cluster: r.cluster, namespace: r.namespace, ...(r.dns ? {nameserver: formatIp(r.dns.serviceIP)} : {}),
    steps: r.steps, outcome: r.outcome, ...(r.address !== undefined ? {address: r.address} : {}),
  }
}

const describeStep = (s: NameResolution['steps'][number]): string => `${s.query} → ${s.server}: ${s.answer === 'address' ? s.address : s.answer} (${s.detail})`

function contextOf(options: Options, cluster: ClusterFacts): ContextRef {
  const contexts = options.contexts ?? []
  const found = findClusterContext({name: cluster.name, location: cluster.spec.location}, contexts)
  return {cluster: cluster.name, context: found ?? cluster.name, known: found !== undefined || contexts.includes(cluster.name)}
}

function nameDiagnosis(model: Model, options: Options, cluster: ClusterFacts, r: NameResolution): Diagnosis {
  const evidence = r.steps.map(describeStep)
  if (r.outcome === 'DNS_STUB_DOMAIN_MISSING' && r.missingZone) {
    const zone = r.missingZone
    const target = [...model.clusters.values()].find((c) => c.name !== cluster.name && zone.startsWith(`${c.name}.`))
    const facts = {code: 'DNS_STUB_DOMAIN_MISSING' as const, zone, from: contextOf(options, cluster), ...(target ? {to: contextOf(options, target), domain: zone.slice(target.name.length + 1)} : {})}
    const fixes = buildFixes(facts)
    return {code: 'DNS_STUB_DOMAIN_MISSING', summary: `${r.name} is under ${zone}, a zone xcc dns link serves, but the cluster DNS of ${cluster.name} has no stub domain for it, so its upstreams answer NXDOMAIN`, evidence, fix: fixLines(fixes), fixes}
  }
  const fixes = buildFixes({code: 'DNS_NAME_NOT_FOUND', name: r.name, cluster: contextOf(options, cluster), namespace: r.namespace})
  return {code: 'DNS_NAME_NOT_FOUND', summary: `No name a pod of ${cluster.name} in namespace ${r.namespace} tries for ${r.name} exists: every query of its search path got NXDOMAIN`, evidence, fix: fixLines(fixes), fixes}
}

function unknownDiagnosis(r: NameResolution): Diagnosis {
  const fixes = buildFixes({code: 'INSUFFICIENT_INFO', needs: [{summary: `Resolve ${r.name} in a pod of the cluster: xcc doctor --live asks the cluster's DNS itself.`}]})
  return {code: 'INSUFFICIENT_INFO', summary: `xcc cannot know how ${r.name} resolves: the cluster DNS sends it to servers whose records the topology does not hold`, evidence: r.steps.map(describeStep), fix: fixLines(fixes), fixes}
}

function staleDiagnosis(model: Model, options: Options, cluster: ClusterFacts, r: NameResolution, path: Diagnosis | null): Diagnosis {
  const stale = r.stale as NonNullable<NameResolution['stale']>
  const to = model.clusters.get(stale.cluster) as ClusterFacts
  const domain = stale.name.slice(stale.name.indexOf(`.${stale.cluster}.`) + stale.cluster.length + 2)
  const fixes = buildFixes({code: 'DNS_RECORD_STALE', name: stale.name, served: stale.served, current: stale.current, from: contextOf(options, cluster), to: contextOf(options, to), domain})
  return {
    code: 'DNS_RECORD_STALE',
    summary: `The xcc responder answers ${stale.name} with ${stale.served}, but Service ${stale.service} of cluster ${stale.cluster} is at ${stale.current} now: the record is stale`,
    evidence: [...r.steps.map(describeStep), ...(path ? [`the path to the stale address: ${path.code}, ${path.summary}`] : [])],
    fix: fixLines(fixes), fixes,
  }
}
