/**
 * The DNS responder of `xcc dns link` in cluster A: the public CoreDNS image serving one zone per
 * linked cluster B (`<B>.<domain>`) from an RFC 1035 zone file, all in one ConfigMap, behind a
 * ClusterIP Service that A's own DNS forwards the zones to. templates/dns/responder.yaml holds the
 * manifests; this fills in their names and image and writes the ConfigMap's data:
 *
 * - `Corefile`: a `.:53` block for the health and readiness endpoints and `reload`, then one block
 *   per zone with `file /etc/coredns/<zone>.db` (reloaded when the SOA serial changes);
 * - `<zone>.db`: SOA, NS, and `<service>.<namespace> A <ip>` per record. The serial is a hash of
 *   the records, so the same records give the same bytes (idempotent) and new ones a new serial;
 * - the annotation `xcc.dev/dns-responder-links` says which context, domain and Services each zone
 *   is for (`all`, or the --service list), which `xcc dns list` needs to tell what is missing.
 */
import {load} from 'js-yaml'

import {XccError} from '../errors.js'
import type {KubeConfigMap, KubeDeployment, KubeService} from '../ports/kube.js'
import type {DnsRecord} from './records.js'

export const RESPONDER_NAME = 'xcc-dns-responder'
export const RESPONDER_NAMESPACE = 'kube-system'
/** the CoreDNS image Kubernetes publishes (the one kubeadm installs) */
export const DEFAULT_RESPONDER_IMAGE = 'registry.k8s.io/coredns/coredns:v1.11.3'
export const RESPONDER_LINKS_ANNOTATION = 'xcc.dev/dns-responder-links'
export const RESPONDER_REPLICAS = 2
/** seconds: how long resolvers keep an answer (a moved load balancer is seen within this, after reload) */
export const RECORD_TTL = 30
/** where the responder's pods mount its ConfigMap (the Corefile and the zone files) */
export const RESPONDER_CONFIG_DIR = '/etc/coredns'
const ZONE_DIR = RESPONDER_CONFIG_DIR

export interface ResponderLink {
  /** `<cluster>.<domain>` */
  readonly zone: string
  readonly cluster: string
  /** B's kube context */
  readonly context: string
  readonly domain: string
  /** 'all': every Service of B with an internal address; else the --service list */
  readonly services: 'all' | readonly string[]
  readonly records: readonly ServedRecord[]
}

/** a record as the responder serves it (a DnsRecord, or one read back from a zone file) */
export type ServedRecord = Pick<DnsRecord, 'name' | 'address'> & {readonly service?: string}

export interface ResponderObjects {
  readonly configMap: KubeConfigMap
  readonly deployment: KubeDeployment
  readonly service: KubeService
}

export interface ResponderSettings {
  readonly image: string
  readonly namespace?: string
  readonly replicas?: number
}

/** FNV-1a, 32 bits: the zone's serial (1..2^31-1, so it is valid serial arithmetic from any start) */
function serialOf(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return (h % 0x7ffffffe) + 1
}

export function zoneFileName(zone: string): string {
  return `${zone}.db`
}

/** the zone file of one link */
export function renderZoneFile(link: ResponderLink): string {
  const suffix = `.${link.zone}`
  const lines = link.records.map((r) => {
    if (!r.name.endsWith(suffix)) throw new Error(`record ${r.name} is not in zone ${link.zone}`)
    return `${r.name.slice(0, -suffix.length)} ${RECORD_TTL} IN A ${r.address}${r.service ? ` ; ${r.service}` : ''}`
  })
  const serial = serialOf(lines.join('\n'))
  return [
    `; xcc dns link: the Services of cluster ${link.cluster} (context ${link.context}) with an internal load balancer`,
    `$ORIGIN ${link.zone}.`,
    `@ ${RECORD_TTL} IN SOA ns.${link.zone}. hostmaster.${link.zone}. ${serial} 7200 1800 86400 ${RECORD_TTL}`,
    `@ ${RECORD_TTL} IN NS ns.${link.zone}.`,
    ...lines,
    '',
  ].join('\n')
}

/** the records of a zone file xcc wrote: `name`, `address` and the Service from its comment */
export function parseZoneFile(text: string, zone: string): {name: string; address: string; service?: string}[] {
  const out: {name: string; address: string; service?: string}[] = []
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(?:\d+\s+)?IN\s+A\s+(\S+)(?:\s*;\s*(\S+))?/.exec(line)
    if (!m || m[1] === '@') continue
    out.push({name: `${m[1]}.${zone}`, address: m[2] as string, ...(m[3] ? {service: m[3]} : {})})
  }
  return out
}

export function renderResponderCorefile(links: readonly ResponderLink[]): string {
  const blocks = [...links].sort((a, b) => a.zone.localeCompare(b.zone)).map((l) => [
    `${l.zone}:53 {`,
    '    errors',
    `    file ${ZONE_DIR}/${zoneFileName(l.zone)} {`,
    '        reload 10s',
    '    }',
    '}',
  ].join('\n'))
  return ['.:53 {', '    errors', '    health :8080', '    ready :8181', '    reload 10s', '}', ...blocks, ''].join('\n')
}

interface LinkMeta {
  readonly cluster: string
  readonly context: string
  readonly domain: string
  readonly services: 'all' | readonly string[]
}

/** the ConfigMap's data and annotation for these links */
export function responderData(links: readonly ResponderLink[]): {data: Record<string, string>; annotation: string} {
  const data: Record<string, string> = {Corefile: renderResponderCorefile(links)}
  const meta: Record<string, LinkMeta> = {}
  for (const l of [...links].sort((a, b) => a.zone.localeCompare(b.zone))) {
    data[zoneFileName(l.zone)] = renderZoneFile(l)
    meta[l.zone] = {cluster: l.cluster, context: l.context, domain: l.domain, services: l.services}
  }
  return {data, annotation: JSON.stringify(meta)}
}

/** the links a responder ConfigMap serves, with the records its zone files hold */
export function readResponderLinks(cm: KubeConfigMap | undefined): ResponderLink[] {
  const text = cm?.metadata.annotations?.[RESPONDER_LINKS_ANNOTATION]
  if (!cm || text === undefined) return []
  let meta: Record<string, LinkMeta>
  try {
    meta = JSON.parse(text) as Record<string, LinkMeta>
  } catch {
    throw new XccError(`ConfigMap ${cm.metadata.namespace}/${cm.metadata.name}: annotation ${RESPONDER_LINKS_ANNOTATION} is not what xcc wrote`, {hint: 'link again to rewrite it'})
  }
  return Object.entries(meta).sort(([a], [b]) => a.localeCompare(b)).map(([zone, m]) => ({
    zone, cluster: m.cluster, context: m.context, domain: m.domain, services: m.services,
    records: parseZoneFile(cm.data?.[zoneFileName(zone)] ?? '', zone),
  }))
}

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/

/** the manifests of templates/dns/responder.yaml with `settings` and `links` filled in */
export function renderResponder(template: string, links: readonly ResponderLink[], settings: ResponderSettings): ResponderObjects {
  if (!SAFE.test(settings.image) || settings.image.length > 255) throw new XccError(`--responder-image ${settings.image}: not an image reference`)
  const values: Record<string, string> = {
    NAME: RESPONDER_NAME,
    NAMESPACE: settings.namespace ?? RESPONDER_NAMESPACE,
    IMAGE: settings.image,
    REPLICAS: String(settings.replicas ?? RESPONDER_REPLICAS),
  }
  const text = template.replace(/\{\{([A-Z]+)\}\}/g, (whole, key: string) => values[key] ?? whole)
  const docs: unknown[] = []
  for (const part of text.split(/^---$/m)) {
    const doc = load(part)
    if (doc) docs.push(doc)
  }
  const find = <T>(kind: string): T => {
    const found = docs.find((d) => (d as {kind?: string}).kind === kind)
    if (!found) throw new Error(`templates/dns/responder.yaml has no ${kind}`)
    return found as T
  }
  const cm = find<KubeConfigMap>('ConfigMap')
  const {data, annotation} = responderData(links)
  return {
    configMap: {...cm, metadata: {...cm.metadata, annotations: {...cm.metadata.annotations, [RESPONDER_LINKS_ANNOTATION]: annotation}}, data},
    deployment: find<KubeDeployment>('Deployment'),
    service: find<KubeService>('Service'),
  }
}
