/**
 * `xcc dns link` on a kube-dns cluster (GKE's default): the `kube-system/kube-dns` ConfigMap's
 * `stubDomains` key (JSON: zone → ["IP[:port]", …]) gets the link's zone; no other key changes.
 *
 * - Validated as kube-dns validates it (kubernetes/dns pkg/dns/config): each key is JSON on its own;
 *   a stub domain is a DNS-1123 subdomain whose servers are IP[:port] (or names); at most three
 *   `upstreamNameservers`, each IP[:port]. kube-dns keeps its previous config when the new one is
 *   invalid, so xcc refuses (exit 2, nothing written) a ConfigMap it would not take, naming the key.
 * - Reversible: the annotation `xcc.dev/dns-links` keeps the `stubDomains` text before xcc's first
 *   edit (or that the key, or the ConfigMap, was absent) and what each zone held before xcc took it;
 *   unlinking the last link gives that text back byte for byte when nobody else changed the map
 *   meanwhile (else the map without xcc's zones, their earlier entries restored).
 */
import {XccError} from '../errors.js'
import type {KubeConfigMap} from '../ports/kube.js'
import {MANAGED_BY, MANAGED_BY_LABEL} from '../kube/labels.js'

export const KUBE_DNS_NAMESPACE = 'kube-system'
export const KUBE_DNS_CONFIGMAP = 'kube-dns'
export const STUB_DOMAINS_KEY = 'stubDomains'
export const UPSTREAMS_KEY = 'upstreamNameservers'
export const FEDERATIONS_KEY = 'federations'
/** xcc's record of its links in the ConfigMap (see LinksRecord) */
export const LINKS_ANNOTATION = 'xcc.dev/dns-links'
/** kube-dns takes at most three upstream nameservers */
export const MAX_UPSTREAMS = 3

const WHERE = `ConfigMap ${KUBE_DNS_NAMESPACE}/${KUBE_DNS_CONFIGMAP}`

export type StubDomains = Record<string, string[]>

export interface KubeDnsConfig {
  /** undefined when the key is absent */
  readonly stubDomains?: StubDomains
  readonly upstreamNameservers?: string[]
}

interface ZoneRecord {
  readonly cluster: string
  readonly domain: string
  /** the zone's entry before xcc took it (--force); null: it had none */
  readonly before: string[] | null
}

interface LinksRecord {
  readonly v: 1
  /** the ConfigMap did not exist before xcc's first link */
  readonly created: boolean
  /** the stubDomains text before xcc's first link; null: the key was absent */
  readonly original: string | null
  readonly zones: Readonly<Record<string, ZoneRecord>>
}

const DNS1123_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
function isDns1123Subdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every((l) => DNS1123_LABEL.test(l))
}

function isIpv4(s: string): boolean {
  const parts = s.split('.')
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)
}

function isIp(s: string): boolean {
  return isIpv4(s) || (/^[0-9a-f:.]+$/i.test(s) && s.includes(':') && s.split('::').length <= 2)
}

/** Go's net.SplitHostPort: `host:port`, `[v6]:port`; undefined when there is no port */
function splitHostPort(s: string): {host: string; port: string} | undefined {
  const bracket = /^\[([^\]]*)\]:([^:]*)$/.exec(s)
  if (bracket) return {host: bracket[1] as string, port: bracket[2] as string}
  const i = s.lastIndexOf(':')
  if (i < 0 || s.indexOf(':') !== i) return undefined
  return {host: s.slice(0, i), port: s.slice(i + 1)}
}

const validPort = (p: string): boolean => /^\d+$/.test(p) && Number(p) <= 65535

/** why kube-dns rejects a stub domain's server (config.go validateStubDomains), or undefined */
export function stubServerProblem(ns: string): string | undefined {
  const split = splitHostPort(ns)
  if (split && split.port !== '' && !validPort(split.port)) return `invalid nameserver: "${ns}"`
  const host = split ? split.host : ns
  if (!isIp(host) && !isDns1123Subdomain(ns)) return `invalid nameserver: "${ns}"`
  return undefined
}

/** an upstream must be IP[:port] (util.ValidateNameserverIpAndPort) */
function upstreamProblem(ns: string): string | undefined {
  const split = splitHostPort(ns)
  const host = split ? split.host : ns
  if (!isIp(host)) return `bad IP address: "${ns}"`
  if (split && !validPort(split.port)) return `bad port number: "${ns}"`
  return undefined
}

function invalid(key: string, why: string): XccError {
  return new XccError(`${WHERE} key "${key}": ${why}`, {hint: `kube-dns ignores a config it cannot take and keeps its previous one, so xcc does not write on top of it; fix it first: kubectl -n ${KUBE_DNS_NAMESPACE} edit configmap ${KUBE_DNS_CONFIGMAP}`})
}

function parseJson(key: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw invalid(key, `invalid JSON: ${(error as Error).message}`)
  }
}

/** the config as kube-dns reads it; anything kube-dns would reject is bad input (exit 2) naming the key */
export function parseKubeDnsConfig(cm: KubeConfigMap | undefined): KubeDnsConfig {
  const data = cm?.data ?? {}
  const out: {stubDomains?: StubDomains; upstreamNameservers?: string[]} = {}
  const stubText = data[STUB_DOMAINS_KEY]
  if (stubText !== undefined) {
    const value = parseJson(STUB_DOMAINS_KEY, stubText)
    if (value === null) out.stubDomains = {}
    else {
      if (typeof value !== 'object' || Array.isArray(value)) throw invalid(STUB_DOMAINS_KEY, 'not a JSON object of domain → list of nameservers')
      const map: StubDomains = {}
      for (const [domain, servers] of Object.entries(value as Record<string, unknown>)) {
        if (servers !== null && (!Array.isArray(servers) || servers.some((s) => typeof s !== 'string'))) throw invalid(STUB_DOMAINS_KEY, `"${domain}": not a list of nameserver strings`)
        if (!isDns1123Subdomain(domain)) throw invalid(STUB_DOMAINS_KEY, `invalid domain name: "${domain}"`)
        for (const ns of (servers ?? []) as string[]) {
          const problem = stubServerProblem(ns)
          if (problem) throw invalid(STUB_DOMAINS_KEY, `"${domain}": ${problem}`)
        }
        map[domain] = [...((servers ?? []) as string[])]
      }
      out.stubDomains = map
    }
  }
  const upText = data[UPSTREAMS_KEY]
  if (upText !== undefined) {
    const value = parseJson(UPSTREAMS_KEY, upText)
    if (value !== null && (!Array.isArray(value) || value.some((s) => typeof s !== 'string'))) throw invalid(UPSTREAMS_KEY, 'not a JSON list of nameserver strings')
    const list = (value ?? []) as string[]
    if (list.length > MAX_UPSTREAMS) throw invalid(UPSTREAMS_KEY, `${list.length} upstream nameservers; kube-dns takes at most ${MAX_UPSTREAMS}`)
    for (const ns of list) {
      const problem = upstreamProblem(ns)
      if (problem) throw invalid(UPSTREAMS_KEY, problem)
    }
    out.upstreamNameservers = list
  }
  const fedText = data[FEDERATIONS_KEY]
  if (fedText !== undefined) {
    const value = parseJson(FEDERATIONS_KEY, fedText)
    if (value !== null && (typeof value !== 'object' || Array.isArray(value))) throw invalid(FEDERATIONS_KEY, 'not a JSON object of federation → domain')
  }
  return out
}

function readRecord(cm: KubeConfigMap | undefined): LinksRecord | undefined {
  const text = cm?.metadata.annotations?.[LINKS_ANNOTATION]
  if (text === undefined) return undefined
  try {
    const r = JSON.parse(text) as LinksRecord
    if (r.v === 1 && typeof r.created === 'boolean' && (r.original === null || typeof r.original === 'string') && r.zones && typeof r.zones === 'object') return r
  } catch {
    // the error below
  }
  throw new XccError(`${WHERE}: annotation ${LINKS_ANNOTATION} is not what xcc wrote`, {hint: `remove the annotation (kubectl -n ${KUBE_DNS_NAMESPACE} annotate configmap ${KUBE_DNS_CONFIGMAP} ${LINKS_ANNOTATION}-) and link again`})
}

/** the map as JSON in the style of `like` (indented when it spans lines; its final newline kept) */
function render(map: StubDomains, like: string | undefined): string {
  const multiline = like !== undefined && like.trim().includes('\n')
  const text = multiline ? JSON.stringify(map, null, 2) : JSON.stringify(map)
  return like !== undefined && like.endsWith('\n') ? `${text}\n` : text
}

const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i])

function sameMap(a: StubDomains, b: StubDomains): boolean {
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => sameList(a[k], b[k]))
}

export type KubeDnsAction = 'create' | 'update' | 'delete' | 'none'

export interface KubeDnsEdit {
  readonly action: KubeDnsAction
  readonly before?: KubeConfigMap
  /** the ConfigMap to write (create, update) */
  readonly after?: KubeConfigMap
}

function withRecord(cm: KubeConfigMap | undefined, record: LinksRecord | undefined, data: Record<string, string>): KubeConfigMap {
  const annotations: Record<string, string> = {...(cm?.metadata.annotations ?? {})}
  delete annotations[LINKS_ANNOTATION]
  if (record && Object.keys(record.zones).length > 0) annotations[LINKS_ANNOTATION] = JSON.stringify(record)
  const {annotations: _old, ...meta} = cm?.metadata ?? {name: KUBE_DNS_CONFIGMAP, namespace: KUBE_DNS_NAMESPACE, labels: {[MANAGED_BY_LABEL]: MANAGED_BY}}
  return {apiVersion: 'v1', kind: 'ConfigMap', metadata: {...meta, ...(Object.keys(annotations).length > 0 ? {annotations} : {})}, data}
}

function result(cm: KubeConfigMap | undefined, after: KubeConfigMap): KubeDnsEdit {
  if (!cm) return {action: 'create', after}
  const same = cm.data?.[STUB_DOMAINS_KEY] === after.data?.[STUB_DOMAINS_KEY] && cm.metadata.annotations?.[LINKS_ANNOTATION] === after.metadata.annotations?.[LINKS_ANNOTATION]
  return same ? {action: 'none', before: cm, after: cm} : {action: 'update', before: cm, after}
}

export interface KubeDnsLink {
  readonly cluster: string
  readonly domain: string
  /** `<cluster>.<domain>` */
  readonly zone: string
  /** the responder's address(es), IP[:port] */
  readonly targets: readonly string[]
}

/** adds or refreshes the link's stub domain; `force` takes over an entry someone else wrote (restored on unlink) */
export function linkKubeDns(cm: KubeConfigMap | undefined, link: KubeDnsLink, options: {force?: boolean; pending?: boolean} = {}): KubeDnsEdit {
  const config = parseKubeDnsConfig(cm)
  // pending (a dry run before the responder's Service exists): its DNS name stands for its ClusterIP
  for (const t of options.pending ? [] : link.targets) {
    const split = splitHostPort(t)
    if (!isIp(split ? split.host : t) || (split && !validPort(split.port))) throw new XccError(`stub domain ${link.zone}: "${t}" is not IP[:port]`)
  }
  const record = readRecord(cm)
  const original = record ? record.original : cm?.data?.[STUB_DOMAINS_KEY] ?? null
  const current = config.stubDomains ?? {}
  const mine = record?.zones[link.zone]
  const existing = current[link.zone]
  if (existing !== undefined && !mine && !options.force) {
    throw new XccError(`${WHERE} key "${STUB_DOMAINS_KEY}" already sends ${link.zone} to ${JSON.stringify(existing)}, which xcc did not write`, {hint: 'choose another --domain, or run again with --force to take the entry over (unlink gives it back)'})
  }
  // dnsmasq sends a name to the longest matching stub domain: someone else's entry in the domain
  // would take part of it (an entry above the domain, like its TLD, is shadowed the other way)
  const inDomain = Object.keys(current).filter((k) => k !== link.zone && !record?.zones[k] && (k === link.domain || k.endsWith(`.${link.domain}`) || k.endsWith(`.${link.zone}`)))
  if (inDomain.length > 0) {
    throw new XccError(`${WHERE} key "${STUB_DOMAINS_KEY}" already sends names in ${link.domain} elsewhere (${inDomain.map((k) => `"${k}": ${JSON.stringify(current[k])}`).join(', ')}), which xcc did not write`, {hint: 'choose another --domain, or remove that entry first'})
  }
  const map: StubDomains = {...current, [link.zone]: [...link.targets]}
  const zones = {...(record?.zones ?? {}), [link.zone]: mine ?? {cluster: link.cluster, domain: link.domain, before: existing ?? null}}
  const next: LinksRecord = {v: 1, created: record ? record.created : cm === undefined, original, zones}
  const text = sameList(existing, link.targets) && mine ? (cm?.data?.[STUB_DOMAINS_KEY] as string) : render(map, cm?.data?.[STUB_DOMAINS_KEY])
  const after = withRecord(cm, next, {...(cm?.data ?? {}), [STUB_DOMAINS_KEY]: text})
  parseKubeDnsConfig(after)
  return result(cm, after)
}

/** removes the link's stub domain (giving back what the zone held before); the last one restores the original text */
export function unlinkKubeDns(cm: KubeConfigMap | undefined, id: {zone: string}): KubeDnsEdit {
  const record = readRecord(cm)
  const mine = record?.zones[id.zone]
  if (!cm || !record || !mine) return cm ? {action: 'none', before: cm, after: cm} : {action: 'none'}
  const config = parseKubeDnsConfig(cm)
  const map: StubDomains = {...(config.stubDomains ?? {})}
  if (mine.before) map[id.zone] = [...mine.before]
  else delete map[id.zone]
  const zones = {...record.zones}
  delete zones[id.zone]
  const data: Record<string, string> = {...(cm.data ?? {})}
  if (Object.keys(zones).length > 0) {
    data[STUB_DOMAINS_KEY] = render(map, cm.data?.[STUB_DOMAINS_KEY])
    return result(cm, withRecord(cm, {...record, zones}, data))
  }
  // the last link: the original text when the map is what it held, else the map as it is now
  const originalMap = record.original === null ? {} : parseKubeDnsConfig({metadata: cm.metadata, data: {[STUB_DOMAINS_KEY]: record.original}}).stubDomains ?? {}
  if (sameMap(map, originalMap)) {
    if (record.original === null) delete data[STUB_DOMAINS_KEY]
    else data[STUB_DOMAINS_KEY] = record.original
  } else data[STUB_DOMAINS_KEY] = render(map, cm.data?.[STUB_DOMAINS_KEY])
  const otherAnnotations = Object.keys(cm.metadata.annotations ?? {}).filter((k) => k !== LINKS_ANNOTATION)
  if (record.created && Object.keys(data).length === 0 && otherAnnotations.length === 0) return {action: 'delete', before: cm}
  return result(cm, withRecord(cm, undefined, data))
}

export interface KubeDnsLinkState {
  readonly cluster: string
  readonly domain: string
  readonly zone: string
  /** where the zone goes now; undefined: someone removed the entry */
  readonly targets?: readonly string[]
}

/** the links the ConfigMap holds, in zone order */
export function kubeDnsLinks(cm: KubeConfigMap | undefined): KubeDnsLinkState[] {
  const record = readRecord(cm)
  if (!record) return []
  let stub: StubDomains = {}
  try {
    stub = parseKubeDnsConfig(cm).stubDomains ?? {}
  } catch {
    // an invalid map: list the links without their targets
  }
  return Object.entries(record.zones).sort(([a], [b]) => a.localeCompare(b)).map(([zone, z]) => ({cluster: z.cluster, domain: z.domain, zone, ...(stub[zone] ? {targets: stub[zone]} : {})}))
}
