/**
 * `xcc dns list --context A`: the links A's DNS holds, each with the records its responder serves
 * and whether each still matches cluster B (current, stale — the load balancer moved: `xcc dns
 * link` again refreshes it —, gone, or missing), and whether A's DNS still sends the zone to the
 * responder. B is read through its kube context, recorded with the link.
 */
import type {KubeService} from '../ports/kube.js'
import {corefileLinks} from './corefile-edit.js'
import {kubeDnsLinks} from './kube-dns.js'
import {customKey, configuredZones} from './plan.js'
import {type ForwardingRuleFacts, type RecordStatus, compareRecords, recordSet} from './records.js'
import {readResponderLinks} from './responder.js'
import {COREFILE_KEY, type DnsProvider, type DnsState, corefileWhere} from './state.js'

export type StubState = 'ok' | 'missing' | 'elsewhere'

export interface LinkListing {
  readonly zone: string
  readonly cluster: string
  /** B's kube context */
  readonly context?: string
  readonly domain: string
  readonly services: 'all' | readonly string[]
  /** does A's DNS send the zone to the responder? */
  readonly stub: StubState
  readonly stubTargets: readonly string[]
  readonly records: readonly RecordStatus[]
  /** B could not be read (its records' states are then unknown), or the responder does not serve the zone */
  readonly error?: string
}

export interface DnsListing {
  readonly context: string
  readonly provider: DnsProvider
  /** the responder's ClusterIP */
  readonly address?: string
  /** the responder's pods: ready of wanted (undefined: no responder Deployment) */
  readonly responder?: {readonly ready: number; readonly replicas: number}
  readonly links: readonly LinkListing[]
  /** some link is not as `xcc dns link` left it (exit 1) */
  readonly drift: boolean
}

/** what B holds now: its Services (through its context) and, when its project could be read, its forwarding rules */
export interface RemoteFacts {
  readonly services: readonly KubeService[]
  readonly forwardingRules?: readonly ForwardingRuleFacts[]
  /** why the forwarding rules are not given (no project known, the API refused), when they are not */
  readonly rulesUnread?: string
}

/** B's facts through its context; an error message when its Services cannot be read */
export type RemoteServices = (context: string) => Promise<RemoteFacts | {error: string}>

function stubTargets(state: DnsState, zone: string): string[] | undefined {
  if (state.provider === 'kube-dns') {
    const link = kubeDnsLinks(state.kubeDns).find((l) => l.zone === zone)
    return link ? [...(link.targets ?? [])] : undefined
  }
  const text = state.provider === 'coredns-custom' ? state.corednsCustom?.data?.[customKey(zone)] : state.coredns?.data?.[COREFILE_KEY]
  const link = corefileLinks(text ?? '', corefileWhere).find((l) => l.zone === zone)
  return link ? link.targets : undefined
}

function stubState(targets: readonly string[] | undefined, address: string | undefined): StubState {
  if (!targets || targets.length === 0) return 'missing'
  return address !== undefined && targets.every((t) => t === address || t.startsWith(`${address}:`)) ? 'ok' : 'elsewhere'
}

export async function listDnsLinks(state: DnsState, remote: RemoteServices): Promise<DnsListing> {
  const address = state.responder.service?.spec?.clusterIP
  const served = readResponderLinks(state.responder.configMap)
  const links: LinkListing[] = []
  for (const link of served) {
    const targets = stubTargets(state, link.zone)
    const base = {zone: link.zone, cluster: link.cluster, context: link.context, domain: link.domain, services: link.services, stub: stubState(targets, address), stubTargets: targets ?? []}
    const facts = await remote(link.context)
    if ('error' in facts) {
      links.push({...base, records: link.records.map((r) => ({name: r.name, service: r.service ?? r.name, state: 'unknown' as const, served: r.address})), error: `cluster ${link.cluster} (context ${link.context}) could not be read: ${facts.error}`})
      continue
    }
    const now = recordSet({cluster: link.cluster, domain: link.domain, services: facts.services, ...(facts.forwardingRules ? {forwardingRules: facts.forwardingRules} : {})})
    const wanted = link.services === 'all' ? now : {...now, records: now.records.filter((r) => (link.services as readonly string[]).includes(r.service))}
    const records = compareRecords(link.records, wanted, link.services === 'all')
    // without the project's forwarding rules, a Service still there may have the address an xcc link's rule gives it
    const present = new Set(facts.services.map((s) => `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`))
    const unchecked = facts.forwardingRules ? [] : records.filter((r) => r.state === 'gone' && present.has(r.service))
    if (unchecked.length === 0) {
      links.push({...base, records})
      continue
    }
    links.push({
      ...base, records: records.map((r) => (unchecked.includes(r) ? {...r, state: 'unknown' as const} : r)),
      error: `${unchecked.map((r) => r.service).join(', ')}: no load balancer of the Service itself, and the forwarding rules of ${link.cluster}'s project (xcc link's) were not read${facts.rulesUnread ? `: ${facts.rulesUnread}` : ''}`,
    })
  }
  // zones A's DNS sends somewhere although the responder does not serve them
  for (const zone of configuredZones(state).filter((z) => !served.some((l) => l.zone === z))) {
    const targets = stubTargets(state, zone) ?? []
    const cluster = zone.split('.')[0] as string
    links.push({zone, cluster, domain: zone.slice(cluster.length + 1), services: 'all', stub: stubState(targets, address), stubTargets: targets, records: [], error: 'the responder serves no records for this zone'})
  }
  links.sort((a, b) => a.zone.localeCompare(b.zone))
  const deployment = state.responder.deployment
  const responder = deployment ? {ready: deployment.status?.readyReplicas ?? 0, replicas: deployment.spec.replicas ?? 1} : undefined
  // links whose names no responder pod answers
  const down = links.length > 0 && (!responder || responder.ready === 0)
  const drift = down || links.some((l) => l.error !== undefined || l.stub !== 'ok' || l.records.some((r) => r.state !== 'current'))
  return {context: state.context, provider: state.provider, ...(address ? {address} : {}), ...(responder ? {responder} : {}), links, drift}
}
