/**
 * A name resolved as a pod of the source cluster resolves it (pure): the pod's resolv.conf (the
 * search path `<ns>.svc.cluster.local svc.cluster.local cluster.local`, `ndots:5`) expanded the
 * way glibc's res_search does, each query answered by the cluster DNS from what the topology
 * holds — Services and pods for cluster.local, stub domains (kube-dns `stubDomains`, longest
 * suffix first; CoreDNS `forward` zones) to the servers they name, the rest to the upstreams —
 * and an xcc responder's zone files as the content of a stub server that is the responder.
 *
 * What xcc cannot know (an upstream on the Internet, a server the topology says nothing about)
 * is an `unknown` answer, never a guess. Reaching a forwarded-to server is the caller's
 * question (`reach`): the doctor traces the query's own packet there.
 */
import {type Ip, formatIp, parseIp} from '../net/ipv4.js'
import type {ClusterFacts, Model, ServiceFacts} from '../topology/model-types.js'
import {corefileForwards} from './resolve-config.js'
import {type ClusterDnsServer, clusterDnsServer} from './cluster-server.js'
import {DEFAULT_DOMAIN, KUBERNETES_DOMAIN, isWithin} from './domain.js'
import {KUBE_DNS_CONFIGMAP, KUBE_DNS_NAMESPACE, parseKubeDnsConfig} from './kube-dns.js'
import {RESPONDER_NAME, RESPONDER_NAMESPACE, type ResponderLink, readResponderLinks} from './responder.js'

/** the pod's resolv.conf `options ndots:5` (ClusterFirst) */
export const NDOTS = 5

export type DnsAnswer = 'address' | 'NXDOMAIN' | 'unknown' | 'unreachable'

export interface DnsStep {
  /** the name asked, fully qualified with its final dot */
  readonly query: string
  /** who answered: the cluster DNS, or the server it forwarded to */
  readonly server: string
  readonly answer: DnsAnswer
  readonly address?: string
  readonly detail: string
}

export type DnsOutcome = 'resolved' | 'DNS_NAME_NOT_FOUND' | 'DNS_STUB_DOMAIN_MISSING' | 'DNS_SERVER_UNREACHABLE' | 'unknown'

export interface Forwarded {
  readonly zone: string
  readonly server: Ip
  readonly port: number
}

export interface StaleRecord {
  readonly name: string
  readonly served: string
  readonly current: string
  readonly service: string
  readonly cluster: string
}

export interface NameResolution {
  readonly name: string
  readonly cluster: string
  readonly namespace: string
  /** the cluster DNS (kube-dns Service and pod), when the topology places it */
  readonly dns?: ClusterDnsServer
  readonly steps: readonly DnsStep[]
  readonly outcome: DnsOutcome
  readonly address?: string
  /** the stub server a query was forwarded to and could not reach (DNS_SERVER_UNREACHABLE) */
  readonly unreachable?: Forwarded
  /** the zone an xcc link serves that the cluster DNS has no stub for (DNS_STUB_DOMAIN_MISSING) */
  readonly missingZone?: string
  /** the responder answered with an address the Service no longer has */
  readonly stale?: StaleRecord
}

/** the source pod: its cluster, namespace and dnsPolicy (ClusterFirst unless said) */
export interface ResolveSource {
  readonly cluster: ClusterFacts
  readonly namespace: string
  readonly hostNetwork?: boolean
}

/** `NAME:PORT` where NAME is a DNS name (not an address, not `lb/…` or `<cluster>/<ns>/<svc>`), else undefined */
export function splitNameTarget(to: string): {name: string; port: number} | undefined {
  const m = /^([A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?):(\d{1,5})$/.exec(to)
  if (!m || parseIp(m[1] as string) !== undefined) return undefined
  const port = Number(m[2])
  if (port < 1 || port > 65535 || !/[A-Za-z]/.test(m[1] as string)) return undefined
  return {name: (m[1] as string).toLowerCase(), port}
}

/** glibc res_search: a final dot is absolute; ≥ ndots dots tries the name first, else the search list first */
export function candidates(name: string, namespace: string): string[] {
  if (name.endsWith('.')) return [name]
  const search = [`${namespace}.svc.${KUBERNETES_DOMAIN}`, `svc.${KUBERNETES_DOMAIN}`, KUBERNETES_DOMAIN]
  const dots = name.split('.').length - 1
  const expanded = search.map((s) => `${name}.${s}.`)
  return dots >= NDOTS ? [`${name}.`, ...expanded] : [...expanded, `${name}.`]
}

export interface ResolveOptions {
  /** can the cluster DNS pod reach this server with UDP 53? (the doctor traces it) */
  readonly reach?: (server: Ip, port: number) => boolean
}

export function resolveName(model: Model, source: ResolveSource, name: string, options: ResolveOptions = {}): NameResolution {
  const cluster = source.cluster
  const dns = clusterDnsServer(cluster)
  const dnsLabel = dns ? `kube-dns ${formatIp(dns.serviceIP)} (cluster ${cluster.name})` : `the cluster DNS of ${cluster.name}`
  const config = forwardConfig(cluster)
  const responders = responderZones(model)
  const steps: DnsStep[] = []
  const base = {name, cluster: cluster.name, namespace: source.namespace, ...(dns ? {dns} : {})}
  let unreachable: Forwarded | undefined
  let missingZone: string | undefined
  for (const query of candidates(name, source.namespace)) {
    const fqdn = query.slice(0, -1)
    if (isWithin(fqdn, KUBERNETES_DOMAIN)) {
      const address = clusterLocal(cluster, fqdn)
      steps.push(address
        ? {query, server: dnsLabel, answer: 'address', address, detail: `${fqdn} is in the cluster's own zone ${KUBERNETES_DOMAIN}: ${address}`}
        : {query, server: dnsLabel, answer: 'NXDOMAIN', detail: `no Service or pod of cluster ${cluster.name} has the name ${fqdn}`})
      if (address) return {...base, steps, outcome: 'resolved', address}
      continue
    }
    const stub = longestZone(config.stubs, fqdn)
    if (!stub) {
      const linked = missingStubZone(model, responders, fqdn)
      if (linked) missingZone ??= linked
      steps.push({
        query, server: dnsLabel, answer: linked ? 'NXDOMAIN' : 'unknown',
        detail: linked
          ? `${fqdn} is under ${linked}, a zone xcc dns link serves, but the cluster DNS has no stub domain for it: it asks its upstreams${config.upstreams.length ? ` (${config.upstreams.join(', ')})` : ''}, which do not know the zone`
          : `no stub domain covers ${fqdn}: the cluster DNS asks its upstreams${config.upstreams.length ? ` (${config.upstreams.join(', ')})` : ' (the node\'s resolver)'}, whose answer xcc cannot know`,
      })
      continue
    }
    const targets = config.stubs.get(stub) as readonly string[]
    const target = targets.map(parseTarget).find((t) => t !== undefined)
    if (!target) {
      steps.push({query, server: dnsLabel, answer: 'unknown', detail: `stub domain ${stub} forwards to ${targets.join(', ')}, which xcc cannot place`})
      continue
    }
    const server = `${formatIp(target.ip)}${target.port === 53 ? '' : `:${target.port}`} (stub domain ${stub})`
    if (options.reach && !options.reach(target.ip, target.port)) {
      unreachable ??= {zone: stub, server: target.ip, port: target.port}
      steps.push({query, server, answer: 'unreachable', detail: `the cluster DNS forwards ${fqdn} to ${formatIp(target.ip)}:${target.port}, which its query cannot reach`})
      continue
    }
    const served = responderAt(model, responders, target.ip)
    if (!served) {
      steps.push({query, server, answer: 'unknown', detail: `the cluster DNS forwards ${fqdn} to ${formatIp(target.ip)}:${target.port}, a server whose records the topology does not hold`})
      continue
    }
    const link = served.links.find((l) => isWithin(fqdn, l.zone))
    const record = link?.records.find((r) => r.name === fqdn)
    if (!link || !record) {
      steps.push({query, server, answer: 'NXDOMAIN', detail: link ? `the xcc responder of cluster ${served.cluster} serves zone ${link.zone} without a record ${fqdn}` : `the xcc responder of cluster ${served.cluster} serves no zone holding ${fqdn}`})
      continue
    }
    steps.push({query, server, answer: 'address', address: record.address, detail: `the xcc responder of cluster ${served.cluster} answers ${fqdn} from zone ${link.zone}: ${record.address}`})
    const stale = staleRecord(model, link, record)
    return {...base, steps, outcome: 'resolved', address: record.address, ...(stale ? {stale} : {})}
  }
  const outcome: DnsOutcome = unreachable ? 'DNS_SERVER_UNREACHABLE' : missingZone ? 'DNS_STUB_DOMAIN_MISSING' : steps.some((s) => s.answer === 'unknown') ? 'unknown' : 'DNS_NAME_NOT_FOUND'
  return {...base, steps, outcome, ...(unreachable ? {unreachable} : {}), ...(missingZone ? {missingZone} : {})}
}

interface ForwardConfig {
  /** zone → targets (IP[:port] or names) */
  readonly stubs: ReadonlyMap<string, readonly string[]>
  readonly upstreams: readonly string[]
}

function configMap(cluster: ClusterFacts, namespace: string, name: string): {metadata: {namespace: string; name: string; annotations?: Record<string, string>}; data: Record<string, string>} | undefined {
  const cm = (cluster.spec.configMaps ?? []).find((c) => c.namespace === namespace && c.name === name)
  return cm ? {metadata: {namespace, name, ...(cm.annotations ? {annotations: cm.annotations} : {})}, data: cm.data} : undefined
}

/** the forwarding the cluster DNS does, from its provider's ConfigMap as the topology holds it */
export function forwardConfig(cluster: ClusterFacts): ForwardConfig {
  if (cluster.spec.dnsProvider === 'CoreDNS') {
    const corefile = configMap(cluster, KUBE_DNS_NAMESPACE, 'coredns')?.data.Corefile
    return corefile === undefined ? {stubs: new Map(), upstreams: []} : corefileForwards(corefile)
  }
  const parsed = parseKubeDnsConfig(configMap(cluster, KUBE_DNS_NAMESPACE, KUBE_DNS_CONFIGMAP))
  return {stubs: new Map(Object.entries(parsed.stubDomains ?? {})), upstreams: parsed.upstreamNameservers ?? []}
}

function longestZone(stubs: ReadonlyMap<string, readonly string[]>, fqdn: string): string | undefined {
  return [...stubs.keys()].filter((z) => isWithin(fqdn, z)).sort((a, b) => b.length - a.length)[0]
}

function parseTarget(text: string): {ip: Ip; port: number} | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d{1,5}))?$/.exec(text.trim())
  const address = m ? parseIp(m[1] as string) : undefined
  return address === undefined ? undefined : {ip: address, port: m?.[2] ? Number(m[2]) : 53}
}

/** kube-dns `<svc>.<ns>.svc.cluster.local` (a Service's ClusterIP) and `<a-b-c-d>.<ns>.pod.cluster.local` (pods insecure) */
function clusterLocal(cluster: ClusterFacts, fqdn: string): string | undefined {
  const labels = fqdn.slice(0, -(KUBERNETES_DOMAIN.length + 1)).split('.')
  if (labels.length === 3 && labels[2] === 'svc') {
    const svc = cluster.services.find((s) => s.name === labels[0] && s.namespace === labels[1])
    return svc ? formatIp(svc.clusterIP) : undefined
  }
  if (labels.length === 3 && labels[2] === 'pod') {
    const address = parseIp((labels[0] as string).replaceAll('-', '.'))
    return address === undefined ? undefined : formatIp(address)
  }
  return undefined
}

interface Responder {
  readonly cluster: string
  readonly service: ServiceFacts
  readonly links: readonly ResponderLink[]
}

/** every xcc responder of the topology: its Service and the zones its ConfigMap serves */
function responderZones(model: Model): Responder[] {
  const out: Responder[] = []
  for (const cluster of model.clusters.values()) {
    const service = cluster.services.find((s) => s.namespace === RESPONDER_NAMESPACE && s.name === RESPONDER_NAME)
    const links = readResponderLinks(configMap(cluster, RESPONDER_NAMESPACE, RESPONDER_NAME))
    if (service) out.push({cluster: cluster.name, service, links})
  }
  return out
}

function responderAt(model: Model, responders: readonly Responder[], server: Ip): Responder | undefined {
  return responders.find((r) => r.service.clusterIP === server || r.service.endpoints.some((p) => p.ip === server)
    || (r.service.forwardingRule !== undefined && model.forwardingRules.get(r.service.forwardingRule)?.ip === server))
}

/**
 * DNS_STUB_DOMAIN_MISSING's rule: the name is under a zone an xcc link serves — a zone of some
 * responder's ConfigMap, or `<cluster>.clusters.xcc.test` (the default --domain) of a cluster of
 * the topology — and the asking cluster's DNS has no stub domain for it (checked by the caller).
 */
function missingStubZone(model: Model, responders: readonly Responder[], fqdn: string): string | undefined {
  const zones = [
    ...responders.flatMap((r) => r.links.map((l) => l.zone)),
    ...[...model.clusters.keys()].map((c) => `${c}.${DEFAULT_DOMAIN}`),
  ]
  return zones.filter((z) => isWithin(fqdn, z)).sort((a, b) => b.length - a.length)[0]
}

/** the record names a Service of a cluster of the topology whose load balancer has another address now */
function staleRecord(model: Model, link: ResponderLink, record: {name: string; address: string; service?: string}): StaleRecord | undefined {
  if (!record.service) return undefined
  const [namespace, name] = record.service.split('/')
  const service = model.clusters.get(link.cluster)?.services.find((s) => s.namespace === namespace && s.name === name)
  const rule = service?.forwardingRule === undefined ? undefined : model.forwardingRules.get(service.forwardingRule)
  if (!rule || formatIp(rule.ip) === record.address) return undefined
  return {name: record.name, served: record.address, current: formatIp(rule.ip), service: record.service, cluster: link.cluster}
}
