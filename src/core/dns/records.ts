/**
 * The records `xcc dns link` serves for cluster B: `<service>.<namespace>.<B>.<domain> A <ip>`, the
 * address at which A's pods reach that Service of B — its internal load balancer:
 *
 * - a `LoadBalancer` Service GKE made internal (annotation `networking.gke.io/load-balancer-type:
 *   Internal`, or the older `cloud.google.com/load-balancer-type`), or whose load-balancer address
 *   is an INTERNAL forwarding rule's (ILB-01), with that address;
 * - else the internal forwarding rule `xcc link` made for it (its description names the Service).
 *
 * External load balancers are not internal addresses and never served. Staleness compares what the
 * responder serves with what B holds now: a changed address is stale, a Service without its
 * address any more is gone, and (when the link takes every Service) a new one is missing.
 */
import {XccError} from '../errors.js'
import type {KubeService} from '../ports/kube.js'
import {MAX_NAME} from './domain.js'

export const INTERNAL_LB_ANNOTATIONS = ['networking.gke.io/load-balancer-type', 'cloud.google.com/load-balancer-type'] as const

/** an internal forwarding rule of B's project, as the Compute API gives it */
export interface ForwardingRuleFacts {
  readonly name: string
  readonly IPAddress?: string
  readonly loadBalancingScheme?: string
  /** xcc's rules: `{"managed-by":"xcc","link":…,"role":…,"service":"<ns>/<name>","v":1}` */
  readonly description?: string
}

export type RecordSource = 'service-load-balancer' | 'xcc-link-forwarding-rule'

export interface DnsRecord {
  /** the fully-qualified name, without the final dot */
  readonly name: string
  /** `<namespace>/<name>` */
  readonly service: string
  readonly address: string
  readonly source: RecordSource
}

export interface RecordSetInput {
  /** B's DNS label and the domain */
  readonly cluster: string
  readonly domain: string
  readonly services: readonly KubeService[]
  readonly forwardingRules?: readonly ForwardingRuleFacts[]
  /** `--service NS/NAME`: only these (each must have an internal address); undefined: every Service with one */
  readonly only?: readonly string[]
}

export interface RecordSet {
  readonly records: readonly DnsRecord[]
  /** Services of B left out, and why (only those that have some load balancer) */
  readonly skipped: ReadonlyArray<{readonly service: string; readonly why: string}>
}

const keyOf = (s: KubeService): string => `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`

/** the Service an xcc link's forwarding rule serves, from its description */
function ruleService(rule: ForwardingRuleFacts): string | undefined {
  if (!rule.description) return undefined
  try {
    const d = JSON.parse(rule.description) as Record<string, unknown>
    return d['managed-by'] === 'xcc' && typeof d.service === 'string' ? d.service : undefined
  } catch {
    return undefined
  }
}

const isInternalRule = (r: ForwardingRuleFacts): boolean => (r.loadBalancingScheme ?? '').toUpperCase() === 'INTERNAL'

/** the internal address of one Service, or why it has none */
export function internalAddress(service: KubeService, rules: readonly ForwardingRuleFacts[]): {address: string; source: RecordSource} | {why: string} {
  const key = keyOf(service)
  if (service.spec?.type === 'LoadBalancer') {
    const ip = service.status?.loadBalancer?.ingress?.find((i) => i.ip)?.ip
    const annotated = INTERNAL_LB_ANNOTATIONS.some((a) => service.metadata.annotations?.[a]?.toLowerCase() === 'internal')
    const rule = ip ? rules.find((r) => r.IPAddress === ip) : undefined
    if (ip && (annotated || (rule && isInternalRule(rule)))) return {address: ip, source: 'service-load-balancer'}
    const linked = rules.find((r) => isInternalRule(r) && r.IPAddress && ruleService(r) === key)
    if (linked?.IPAddress) return {address: linked.IPAddress, source: 'xcc-link-forwarding-rule'}
    if (!ip) return {why: annotated ? 'its internal load balancer has no address yet' : 'its load balancer has no address yet'}
    return {why: `its load balancer ${ip} is external, not internal (ILB-01)`}
  }
  const linked = rules.find((r) => isInternalRule(r) && r.IPAddress && ruleService(r) === key)
  if (linked?.IPAddress) return {address: linked.IPAddress, source: 'xcc-link-forwarding-rule'}
  return {why: `it is a ${service.spec?.type ?? 'ClusterIP'} Service without an internal load balancer`}
}

/** the records for B, sorted by name; a --service without an internal address is bad input */
export function recordSet(input: RecordSetInput): RecordSet {
  const rules = input.forwardingRules ?? []
  const byKey = new Map(input.services.map((s) => [keyOf(s), s]))
  if (input.only) {
    const unknown = input.only.filter((k) => !byKey.has(k))
    if (unknown.length > 0) throw new XccError(`--service ${unknown.join(',')}: no such Service in cluster ${input.cluster}`, {hint: 'give it as NAMESPACE/NAME'})
  }
  const records: DnsRecord[] = []
  const skipped: {service: string; why: string}[] = []
  const wanted = input.only ? input.only.map((k) => byKey.get(k) as KubeService) : input.services
  for (const service of wanted) {
    const key = keyOf(service)
    const found = internalAddress(service, rules)
    if ('why' in found) {
      if (input.only) throw new XccError(`--service ${key}: ${found.why}, so no address in cluster ${input.cluster} can serve it`, {hint: `make it reachable first: xcc link create … --service ${key}`})
      if (service.spec?.type === 'LoadBalancer') skipped.push({service: key, why: found.why})
      continue
    }
    const name = `${service.metadata.name}.${service.metadata.namespace ?? 'default'}.${input.cluster}.${input.domain}`
    if (name.length > MAX_NAME) {
      skipped.push({service: key, why: `${name.length} characters is longer than a DNS name may be (${MAX_NAME})`})
      continue
    }
    records.push({name, service: key, address: found.address, source: found.source})
  }
  records.sort((a, b) => a.name.localeCompare(b.name))
  return {records, skipped}
}

/** `unknown`: cluster B could not be read */
export type RecordState = 'current' | 'stale' | 'gone' | 'missing' | 'unknown'

export interface RecordStatus {
  readonly name: string
  readonly service: string
  readonly state: RecordState
  /** what the responder serves (undefined: missing) */
  readonly served?: string
  /** what B holds now (undefined: gone) */
  readonly current?: string
}

/**
 * What the responder serves against B's record set now: `current`, `stale` (the address changed:
 * `xcc dns link` again refreshes it), `gone` (B has no internal address for it any more), and, for a
 * link of every Service, `missing` (a Service of B that gained one since).
 */
export function compareRecords(served: readonly {name: string; address: string; service?: string}[], now: RecordSet, allServices: boolean): RecordStatus[] {
  const current = new Map(now.records.map((r) => [r.name, r]))
  const out: RecordStatus[] = served.map((s) => {
    const c = current.get(s.name)
    const service = c?.service ?? s.service ?? s.name
    if (!c) return {name: s.name, service, state: 'gone' as const, served: s.address}
    return {name: s.name, service, state: c.address === s.address ? 'current' as const : 'stale' as const, served: s.address, current: c.address}
  })
  if (allServices) {
    const names = new Set(served.map((s) => s.name))
    for (const r of now.records) if (!names.has(r.name)) out.push({name: r.name, service: r.service, state: 'missing', current: r.address})
  }
  return out.sort((a, b) => a.name.localeCompare(b.name))
}
