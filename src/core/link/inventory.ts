/**
 * `xcc link list`: the links a project holds, found by their marks alone (xcc keeps no state
 * file). Every resource whose description is xcc's mark belongs to the mark's link; a peering has
 * no description, so a link owns the peerings named `xcc-<link>-peer-from` and `-peer-to`. From
 * the roles present follow the link's mode, its clusters (derived from the resources themselves:
 * the allow firewall's network and source ranges, the gateways' role names), its address (the
 * forwarding rule it owns, or GKE's it reuses) and what a complete link of that mode must hold:
 * what is absent is named, as an interrupted `xcc link create` leaves it. Pure.
 */
import {formatCidr, formatIp} from '../net/ipv4.js'
import type {WritableKind} from '../ports/gcp-writes.js'
import type {ClusterFacts, Model} from '../topology/model-types.js'
import {type LinkMode, nodeTags} from './design.js'
import {parseMark, resourceName} from './names.js'
import {type Resource, existingResources} from './resources.js'

export interface OwnedResource {
  readonly kind: WritableKind
  readonly name: string
  readonly role: string
  /** a peering's network */
  readonly parent?: string
}

export interface LinkAddress {
  readonly forwardingRule: string
  readonly ip: string
  readonly port: number
  /** false: GKE's internal load balancer of the Service, reused by the link */
  readonly owned: boolean
}

export interface FoundLink {
  readonly name: string
  readonly mode: LinkMode
  /** the client cluster, when the resources say it */
  readonly from?: string
  /** the server cluster, when the resources say it */
  readonly to?: string
  readonly networks: readonly string[]
  readonly address?: LinkAddress
  readonly resources: readonly OwnedResource[]
  readonly counts: Readonly<Record<string, number>>
  readonly health: 'complete' | 'incomplete'
  /** what a complete link of its mode holds and this one does not (`<kind> <name>[: why]`) */
  readonly missing: readonly string[]
}

/** the roles of `--mode peering` (core/link/peering.ts); any other role is a gateway link's */
const PEERING_ROLES = new Set(['peer', 'allow', 'allow-hc', 'hc', 'bs', 'fr'])
const PEERING_NAME = /^xcc-([a-z]([-a-z0-9]*[a-z0-9])?)-peer-(from|to)$/

/** which link a resource belongs to, and its role there */
function ownerOf(r: Resource): {link: string; role: string} | undefined {
  if (r.ref.kind === 'peering') {
    const m = PEERING_NAME.exec(r.ref.name)
    return m ? {link: m[1] as string, role: 'peer'} : undefined
  }
  const mark = parseMark(r.description)
  return mark ? {link: mark.link, role: mark.role} : undefined
}

/** every link of the project, by name */
export function findLinks(model: Model): FoundLink[] {
  const byLink = new Map<string, OwnedResource[]>()
  for (const r of existingResources(model.topology)) {
    const owner = ownerOf(r)
    if (!owner) continue
    const list = byLink.get(owner.link) ?? []
    list.push({kind: r.ref.kind, name: r.ref.name, role: owner.role, ...(r.ref.parent ? {parent: r.ref.parent} : {})})
    byLink.set(owner.link, list)
  }
  return [...byLink.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, resources]) => describeLink(model, name, resources))
}

function describeLink(model: Model, link: string, resources: OwnedResource[]): FoundLink {
  const mode: LinkMode = resources.every((r) => PEERING_ROLES.has(r.role)) ? 'peering' : 'gateway'
  const shape = mode === 'peering' ? peeringShape(model, link, resources) : gatewayShape(model, link, resources)
  const counts: Record<string, number> = {}
  for (const r of resources) counts[r.kind] = (counts[r.kind] ?? 0) + 1
  const networks = [...new Set([...[shape.from, shape.to].flatMap((c) => (c ? [model.clusters.get(c)?.network ?? ''] : [])), ...shape.networks])].filter(Boolean).sort()
  return {
    name: link, mode, ...(shape.from ? {from: shape.from} : {}), ...(shape.to ? {to: shape.to} : {}), networks, ...(shape.address ? {address: shape.address} : {}),
    resources: [...resources].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name)), counts,
    health: shape.missing.length === 0 ? 'complete' : 'incomplete', missing: shape.missing,
  }
}

interface Shape {
  readonly from?: string
  readonly to?: string
  readonly networks: readonly string[]
  readonly address?: LinkAddress
  readonly missing: string[]
}

const has = (resources: readonly OwnedResource[], kind: WritableKind, name: string): boolean => resources.some((r) => r.kind === kind && r.name === name)

function ruleAddress(model: Model, name: string, owned: boolean, port?: number): LinkAddress | undefined {
  const rule = model.forwardingRules.get(name)
  if (!rule) return undefined
  const first = port ?? rule.ports?.[0]?.lo
  return first === undefined ? undefined : {forwardingRule: name, ip: formatIp(rule.ip), port: first, owned}
}

const clustersIn = (model: Model, network: string): ClusterFacts[] => [...model.clusters.values()].filter((c) => c.network === network)

/** the network a peering of the link points to */
function peeredWith(model: Model, peering: OwnedResource | undefined): string | undefined {
  if (!peering) return undefined
  return model.topology.networks.find((n) => n.name === peering.parent)?.peerings.find((p) => p.name === peering.name)?.network
}

function peeringShape(model: Model, link: string, resources: readonly OwnedResource[]): Shape {
  const missing: string[] = []
  const name = (role: string, side?: string): string => resourceName(link, role, side)
  const allow = model.topology.firewalls.find((f) => f.name === name('allow') && has(resources, 'firewall', f.name))
  const peerFrom = resources.find((r) => r.kind === 'peering' && r.name === name('peer', 'from'))
  const peerTo = resources.find((r) => r.kind === 'peering' && r.name === name('peer', 'to'))
  const rule = resources.find((r) => r.kind === 'forwardingRule' && r.name === name('fr'))
  // the server: the allow firewall's network (its target tags pick the cluster when several share it), else the peer-to side, else the rule's network
  const serverNetwork = allow?.network ?? peerTo?.parent ?? (rule ? model.forwardingRules.get(rule.name)?.network : undefined) ?? peeredWith(model, peerFrom)
  const serverCandidates = serverNetwork ? clustersIn(model, serverNetwork) : []
  const to = (serverCandidates.length > 1 && allow ? serverCandidates.filter((c) => nodeTags(model, c).some((t) => allow.targetTags.includes(t))) : serverCandidates)[0]
  // the client: the cluster whose node range the allow firewall lets in, else the only cluster of the peer-from side
  const sources = new Set(allow?.sourceRanges ?? [])
  const clientByRange = [...model.clusters.values()].find((c) => c !== to && sources.has(formatCidr(c.subnet.primary)))
  const clientNetwork = peerFrom?.parent ?? peeredWith(model, peerTo)
  const from = clientByRange ?? (clientNetwork ? clustersIn(model, clientNetwork).filter((c) => c !== to)[0] : undefined)

  if (!allow) missing.push(`firewall ${name('allow')}: ${from ? `${from.name}'s nodes` : 'the client'} cannot reach ${to ? `${to.name}'s nodes` : 'the server'} (PEER-09)`)
  // PEER-01: both networks must hold a peering to the other, and it must be ACTIVE (an existing peering not made by xcc counts)
  const inactive: string[] = []
  if (from && to && from.network !== to.network) {
    for (const [a, b, own] of [[from.network, to.network, name('peer', 'from')], [to.network, from.network, name('peer', 'to')]] as const) {
      const state = model.networks.get(a)?.peerings.find((p) => p.spec.network === b)
      if (!state) missing.push(`peering ${own}: ${a} has no peering to ${b} (PEER-01)`)
      else if (state.state !== 'ACTIVE') inactive.push(`peering ${state.spec.name}: ${a} → ${b} is ${state.state} (PEER-01)`)
    }
    // a side without its peering makes the other INACTIVE: say so only when both are there
    if (missing.every((m) => !m.startsWith('peering '))) missing.push(...inactive)
  } else if (!from || !to) {
    for (const r of [[peerFrom, name('peer', 'from')], [peerTo, name('peer', 'to')]] as const) if (!r[0]) missing.push(`peering ${r[1]}`)
  }
  // the load balancer: the link's own, or GKE's for the Service on the allowed port (reused, not owned)
  const lb = [['firewall', name('allow-hc')], ['healthCheck', name('hc')], ['backendService', name('bs')], ['forwardingRule', name('fr')]] as const
  const allowPort = Number(allow?.allowed?.[0]?.ports?.[0] ?? Number.NaN)
  const gke = to?.services.find((s) => s.forwardingRule && s.ports.some((p) => p.port === allowPort))
  const ownsLb = lb.some(([kind, n]) => has(resources, kind, n))
  let address: LinkAddress | undefined
  if (ownsLb || !gke?.forwardingRule) {
    for (const [kind, n] of lb) if (!has(resources, kind, n)) missing.push(`${kind} ${n}`)
    address = rule ? ruleAddress(model, rule.name, true) : undefined
  } else {
    address = ruleAddress(model, gke.forwardingRule, false, allowPort)
  }
  const networks = [serverNetwork, clientNetwork].filter((n): n is string => typeof n === 'string')
  return {...(from ? {from: from.name} : {}), ...(to ? {to: to.name} : {}), networks, ...(address ? {address} : {}), missing}
}

function gatewayShape(model: Model, link: string, resources: readonly OwnedResource[]): Shape {
  const missing: string[] = []
  const name = (role: string, side?: string): string => resourceName(link, role, side)
  const prefix = `xcc-${link}-`
  // the server is the cluster that owns the load balancer's roles (<c>-fr, <c>-bs, …) or the allow-from-gw-<c> firewall; the client the allow-gw-<c> one, or the other gateways' cluster
  const clusterOfRole = (role: string, suffix: string): string | undefined => (role.endsWith(suffix) ? role.slice(0, -suffix.length) : undefined)
  const known = (c: string | undefined): c is string => c !== undefined && model.clusters.has(c)
  const serverByRole = resources.map((r) => ['-fr', '-bs', '-hc', '-ig'].map((s) => clusterOfRole(r.role, s)).find(known)).find(known)
  const fromFirewall = (role: string): string | undefined => resources.filter((r) => r.role === role).map((r) => r.name.slice(`${prefix}${role}-`.length)).find(known)
  const to = serverByRole ?? fromFirewall('allow-from-gw')
  const gwClusters = [...new Set(resources.map((r) => clusterOfRole(r.role, '-gw') ?? clusterOfRole(r.role, '-to-shared')).filter(known))]
  const from = fromFirewall('allow-gw') ?? gwClusters.find((c) => c !== to)
  const sharedNetwork = model.topology.networks.find((n) => n.subnets.some((s) => s.name === name('shared') && has(resources, 'subnetwork', s.name)))
  if (!sharedNetwork) missing.push(`subnetwork ${name('shared')}`)
  for (const f of ['shared-allow', 'shared-allow-hc']) if (!has(resources, 'firewall', name(f))) missing.push(`firewall ${name(f)}`)
  if (from) {
    if (!has(resources, 'firewall', name('allow-gw', from))) missing.push(`firewall ${name('allow-gw', from)}`)
  } else missing.push(`the client cluster's gateways and firewall (${prefix}<client>-gw-1, ${prefix}allow-gw-<client>)`)
  if (to) {
    if (!has(resources, 'firewall', name('allow-from-gw', to))) missing.push(`firewall ${name('allow-from-gw', to)}`)
    for (const [kind, role] of [['instanceGroup', 'ig'], ['healthCheck', 'hc'], ['backendService', 'bs'], ['forwardingRule', 'fr']] as const) {
      if (!has(resources, kind, name(`${to}-${role}`))) missing.push(`${kind} ${name(`${to}-${role}`)}`)
    }
  } else missing.push(`the server cluster's load balancer (${prefix}<server>-fr)`)
  // ROUTE-04: one route per gateway to the shared range, and a gateway for every route
  for (const c of [from, to].filter(known)) {
    const gateways = resources.filter((r) => r.kind === 'instance' && r.role === `${c}-gw`).map((r) => r.name.slice(name(`${c}-gw`).length + 1))
    const routes = resources.filter((r) => r.kind === 'route' && r.role === `${c}-to-shared`).map((r) => r.name.slice(name(`${c}-to-shared`).length + 1))
    if (gateways.length === 0) missing.push(`instance ${name(`${c}-gw`, '1')}: ${c} has no gateway`)
    for (const n of gateways) if (!routes.includes(n)) missing.push(`route ${name(`${c}-to-shared`, n)}`)
    for (const n of routes) if (!gateways.includes(n)) missing.push(`instance ${name(`${c}-gw`, n)}`)
  }
  const address = to ? ruleAddress(model, name(`${to}-fr`), true) : undefined
  return {...(from ? {from} : {}), ...(to ? {to} : {}), networks: sharedNetwork ? [sharedNetwork.name] : [], ...(address ? {address} : {}), missing}
}
