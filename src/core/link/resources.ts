/**
 * The resources `xcc link` writes, in one shape for both sides of a plan: what the project holds
 * (read from the topology a snapshot of it gives) and what the link wants. Each is a `Resource`:
 * its reference, its mark, the fields that can change in place (`inPlace`), the fields that
 * cannot (`fixed`: a difference means delete and create) and the resources it refers to (the
 * dependency graph). `toDesired` turns a wanted one into the REST body the writer inserts.
 */
import type {DesiredResource, ResourceRef, ResourceScope, WritableKind} from '../ports/gcp-writes.js'
import {STARTUP_SCRIPT, guestNics, normalizeGuest, renderGuestScript} from '../topology/guest-script.js'
import {nodePoolGroups} from '../topology/node-pools.js'
import type {GuestSpec, Topology} from '../topology/schema.js'

export interface Resource {
  readonly ref: ResourceRef
  readonly description?: string
  readonly fixed: Readonly<Record<string, unknown>>
  readonly inPlace: Readonly<Record<string, unknown>>
  readonly refs: readonly ResourceRef[]
}

const global: ResourceScope = {kind: 'global'}
const region = (name: string): ResourceScope => ({kind: 'region', name})
const zone = (name: string): ResourceScope => ({kind: 'zone', name})
const ref = (kind: WritableKind, scope: ResourceScope, name: string, parent?: string): ResourceRef => ({kind, scope, name, ...(parent ? {parent} : {})})
const sortedList = (list: readonly string[] | undefined): string[] => [...(list ?? [])].sort()

export const networkRef = (name: string): ResourceRef => ref('network', global, name)
export const subnetRef = (regionName: string, name: string): ResourceRef => ref('subnetwork', region(regionName), name)
export const instanceRef = (zoneName: string, name: string): ResourceRef => ref('instance', zone(zoneName), name)
export const groupRef = (zoneName: string, name: string): ResourceRef => ref('instanceGroup', zone(zoneName), name)
export const checkRef = (regionName: string, name: string): ResourceRef => ref('healthCheck', region(regionName), name)
export const backendRef = (regionName: string, name: string): ResourceRef => ref('backendService', region(regionName), name)
export const ruleRef = (regionName: string, name: string): ResourceRef => ref('forwardingRule', region(regionName), name)

/** a reference as the API takes it in a body, relative to the project */
export function refPath(r: ResourceRef): string {
  const collection = {network: 'networks', subnetwork: 'subnetworks', firewall: 'firewalls', route: 'routes', instance: 'instances', instanceGroup: 'instanceGroups', healthCheck: 'healthChecks', backendService: 'backendServices', forwardingRule: 'forwardingRules', peering: 'networks'}[r.kind]
  const scope = r.scope.kind === 'global' ? 'global' : `${r.scope.kind === 'region' ? 'regions' : 'zones'}/${r.scope.name}`
  return `${scope}/${collection}/${r.name}`
}

type Allowed = ReadonlyArray<{readonly IPProtocol: string; readonly ports?: readonly string[] | undefined}>
const allowedView = (allowed: Allowed | undefined): string[] => (allowed ?? []).map((a) => `${a.IPProtocol.toLowerCase()}${a.ports?.length ? `:${sortedList(a.ports).join(',')}` : ''}`).sort()

/** the specs a link wants, in the topology's vocabulary (so they compare with what a snapshot reads) */
export type WantedSpec =
  | {readonly kind: 'network'; readonly name: string}
  | {readonly kind: 'subnetwork'; readonly name: string; readonly network: string; readonly region: string; readonly ipCidrRange: string}
  | {readonly kind: 'firewall'; readonly name: string; readonly network: string; readonly sourceRanges: readonly string[]; readonly targetTags: readonly string[]; readonly allowed: Allowed; readonly priority?: number}
  | {readonly kind: 'route'; readonly name: string; readonly network: string; readonly destRange: string; readonly priority: number; readonly nextHopInstance: {readonly zone: string; readonly name: string}}
  | {readonly kind: 'instance'; readonly name: string; readonly zone: string; readonly tags: readonly string[]; readonly nics: ReadonlyArray<{readonly network: string; readonly subnetwork: string; readonly region: string}>; readonly guest: GuestSpec; readonly labels: Readonly<Record<string, string>>}
  | {readonly kind: 'instanceGroup'; readonly name: string; readonly zone: string; readonly network: string; readonly instances: readonly string[]}
  | {readonly kind: 'healthCheck'; readonly name: string; readonly region: string; readonly port: number}
  | {readonly kind: 'backendService'; readonly name: string; readonly region: string; readonly network: string; readonly groups: ReadonlyArray<{readonly zone: string; readonly name: string}>; readonly healthCheck: string}
  | {readonly kind: 'forwardingRule'; readonly name: string; readonly region: string; readonly network: string; readonly subnetwork: string; readonly IPAddress?: string; readonly ports: readonly string[]; readonly allowGlobalAccess: boolean; readonly backendService: string; readonly labels: Readonly<Record<string, string>>}
  | {readonly kind: 'peering'; readonly name: string; readonly parent: string; readonly network: string; readonly exportCustomRoutes: boolean; readonly importCustomRoutes: boolean}

/** the guest as a comparable text (what the startup script sets up) */
const guestKey = (guest: GuestSpec): string => JSON.stringify(normalizeGuest(guest))

export function wantedResource(spec: WantedSpec, description: string | undefined): Resource {
  const d = description === undefined ? {} : {description}
  switch (spec.kind) {
    case 'network': return {ref: networkRef(spec.name), ...d, fixed: {}, inPlace: {}, refs: []}
    case 'subnetwork': return {ref: subnetRef(spec.region, spec.name), ...d, fixed: {network: spec.network, ipCidrRange: spec.ipCidrRange}, inPlace: {}, refs: [networkRef(spec.network)]}
    case 'firewall': return {
      ref: ref('firewall', global, spec.name), ...d, fixed: {network: spec.network, direction: 'INGRESS'},
      inPlace: {priority: spec.priority ?? 1000, sourceRanges: sortedList(spec.sourceRanges), targetTags: sortedList(spec.targetTags), allowed: allowedView(spec.allowed)}, refs: [networkRef(spec.network)],
    }
    case 'route': return {
      ref: ref('route', global, spec.name), ...d, fixed: {network: spec.network, destRange: spec.destRange, priority: spec.priority, nextHopInstance: spec.nextHopInstance.name, tags: []}, inPlace: {},
      refs: [networkRef(spec.network), instanceRef(spec.nextHopInstance.zone, spec.nextHopInstance.name)],
    }
    case 'instance': return {
      ref: instanceRef(spec.zone, spec.name), ...d,
      fixed: {canIpForward: true, networkInterfaces: spec.nics.map((n) => `${n.network}/${n.subnetwork}`), tags: sortedList(spec.tags), guest: guestKey(spec.guest), labels: spec.labels}, inPlace: {},
      refs: spec.nics.flatMap((n) => [networkRef(n.network), subnetRef(n.region, n.subnetwork)]),
    }
    case 'instanceGroup': return {ref: groupRef(spec.zone, spec.name), ...d, fixed: {}, inPlace: {instances: sortedList(spec.instances)}, refs: spec.instances.map((i) => instanceRef(spec.zone, i))}
    case 'healthCheck': return {ref: checkRef(spec.region, spec.name), ...d, fixed: {}, inPlace: {type: 'TCP', port: spec.port}, refs: []}
    case 'backendService': return {
      ref: backendRef(spec.region, spec.name), ...d, fixed: {}, inPlace: {groups: spec.groups.map((g) => g.name).sort(), healthCheck: spec.healthCheck},
      refs: [...spec.groups.map((g) => groupRef(g.zone, g.name)), checkRef(spec.region, spec.healthCheck)],
    }
    case 'forwardingRule': return {
      ref: ruleRef(spec.region, spec.name), ...d,
      fixed: {network: spec.network, subnetwork: spec.subnetwork, IPProtocol: 'TCP', ports: sortedList(spec.ports), backendService: spec.backendService, ...(spec.IPAddress ? {IPAddress: spec.IPAddress} : {}), labels: spec.labels},
      inPlace: {allowGlobalAccess: spec.allowGlobalAccess},
      refs: [networkRef(spec.network), subnetRef(spec.region, spec.subnetwork), backendRef(spec.region, spec.backendService)],
    }
    case 'peering': return {
      ref: ref('peering', global, spec.name, spec.parent), fixed: {network: spec.network}, inPlace: {exportCustomRoutes: spec.exportCustomRoutes, importCustomRoutes: spec.importCustomRoutes},
      refs: [networkRef(spec.parent), networkRef(spec.network)],
    }
  }
}

/** the REST body an insert takes (references relative to the project) */
export function toDesired(spec: WantedSpec, description: string, topology: Pick<Topology, 'networks'>, project: string): DesiredResource {
  const r = wantedResource(spec, description)
  const base = {kind: r.ref.kind, scope: r.ref.scope, name: r.ref.name, ...(r.ref.parent ? {parent: r.ref.parent} : {})}
  const net = (name: string): string => refPath(networkRef(name))
  switch (spec.kind) {
    case 'network': return {...base, body: {name: spec.name, description, autoCreateSubnetworks: false, routingConfig: {routingMode: 'REGIONAL'}}}
    case 'subnetwork': return {...base, body: {name: spec.name, description, network: net(spec.network), region: spec.region, ipCidrRange: spec.ipCidrRange}}
    case 'firewall': return {...base, body: {
      name: spec.name, description, network: net(spec.network), direction: 'INGRESS', priority: spec.priority ?? 1000,
      sourceRanges: [...spec.sourceRanges], targetTags: [...spec.targetTags], allowed: spec.allowed.map((a) => ({IPProtocol: a.IPProtocol, ...(a.ports ? {ports: [...a.ports]} : {})})),
    }}
    case 'route': return {...base, body: {name: spec.name, description, network: net(spec.network), destRange: spec.destRange, priority: spec.priority, nextHopInstance: refPath(instanceRef(spec.nextHopInstance.zone, spec.nextHopInstance.name))}}
    case 'instance': {
      const nics = spec.nics.map((n) => ({network: n.network, subnetwork: n.subnetwork}))
      // the lab and xcc snapshot read the guest back from this script (core/topology/guest-script.ts)
      const script = renderGuestScript(spec.guest, guestNics(topology, {networkInterfaces: nics.map((n) => ({...n, networkIP: '0.0.0.0', aliasIpRanges: []}))}))
      return {...base, body: {
        name: spec.name, description, machineType: `zones/${spec.zone}/machineTypes/e2-small`, canIpForward: true,
        networkInterfaces: spec.nics.map((n) => ({network: net(n.network), subnetwork: refPath(subnetRef(n.region, n.subnetwork))})),
        disks: [{boot: true, autoDelete: true, initializeParams: {sourceImage: 'projects/debian-cloud/global/images/family/debian-12'}}],
        tags: {items: [...spec.tags]}, labels: {...spec.labels}, metadata: {items: [{key: STARTUP_SCRIPT, value: script}]},
      }}
    }
    case 'instanceGroup': return {...base, body: {name: spec.name, description, zone: spec.zone, network: net(spec.network), instances: spec.instances.map((i) => `projects/${project}/${refPath(instanceRef(spec.zone, i))}`)}}
    case 'healthCheck': return {...base, body: {name: spec.name, description, region: spec.region, type: 'TCP', tcpHealthCheck: {port: spec.port}}}
    case 'backendService': return {...base, body: {
      name: spec.name, description, region: spec.region, loadBalancingScheme: 'INTERNAL', protocol: 'TCP', network: net(spec.network),
      backends: spec.groups.map((g) => ({group: refPath(groupRef(g.zone, g.name)), balancingMode: 'CONNECTION'})), healthChecks: [refPath(checkRef(spec.region, spec.healthCheck))],
    }}
    case 'forwardingRule': return {...base, body: {
      name: spec.name, description, region: spec.region, loadBalancingScheme: 'INTERNAL', IPProtocol: 'TCP', ports: [...spec.ports],
      network: net(spec.network), subnetwork: refPath(subnetRef(spec.region, spec.subnetwork)), backendService: refPath(backendRef(spec.region, spec.backendService)),
      ...(spec.IPAddress ? {IPAddress: spec.IPAddress} : {}), allowGlobalAccess: spec.allowGlobalAccess, labels: {...spec.labels},
    }}
    case 'peering': return {...base, body: {name: spec.name, network: net(spec.network), exchangeSubnetRoutes: true, exportCustomRoutes: spec.exportCustomRoutes, importCustomRoutes: spec.importCustomRoutes}}
  }
}

/** Everything the project holds of the kinds xcc writes, as a snapshot's topology describes it. */
export function existingResources(t: Topology): Resource[] {
  const out: Resource[] = []
  const subnetRegion = new Map<string, string>()
  for (const n of t.networks) {
    out.push(wantedResource({kind: 'network', name: n.name}, n.description))
    for (const s of n.subnets) {
      subnetRegion.set(`${n.name}/${s.name}`, s.region)
      out.push(wantedResource({kind: 'subnetwork', name: s.name, network: n.name, region: s.region, ipCidrRange: s.ipCidrRange}, s.description))
    }
    for (const p of n.peerings) out.push(wantedResource({kind: 'peering', name: p.name, parent: n.name, network: p.network, exportCustomRoutes: p.exportCustomRoutes, importCustomRoutes: p.importCustomRoutes}, undefined))
  }
  const instanceZone = new Map(t.instances.map((i) => [i.name, i.zone]))
  for (const f of t.firewalls) {
    out.push({
      ref: ref('firewall', global, f.name), ...(f.description ? {description: f.description} : {}), fixed: {network: f.network, direction: f.direction},
      inPlace: {priority: f.priority, sourceRanges: sortedList(f.sourceRanges), targetTags: sortedList(f.targetTags), allowed: allowedView(f.allowed)}, refs: [networkRef(f.network)],
    })
  }
  const ruleRegion = new Map(t.forwardingRules.map((f) => [f.name, f.region]))
  for (const r of t.routes) {
    const hop = r.nextHopInstance ? instanceZone.get(r.nextHopInstance) : undefined
    const ilb = r.nextHopIlb ? ruleRegion.get(r.nextHopIlb) : undefined
    out.push({
      ref: ref('route', global, r.name), ...(r.description ? {description: r.description} : {}),
      fixed: {network: r.network, destRange: r.destRange, priority: r.priority, nextHopInstance: r.nextHopInstance, tags: sortedList(r.tags), ...(r.nextHopIlb ? {nextHopIlb: r.nextHopIlb} : {}), ...(r.nextHopIp ? {nextHopIp: r.nextHopIp} : {})},
      inPlace: {},
      refs: [networkRef(r.network), ...(hop && r.nextHopInstance ? [instanceRef(hop, r.nextHopInstance)] : []), ...(ilb && r.nextHopIlb ? [ruleRef(ilb, r.nextHopIlb)] : [])],
    })
  }
  for (const i of t.instances) {
    out.push({
      ref: instanceRef(i.zone, i.name), ...(i.description ? {description: i.description} : {}),
      fixed: {canIpForward: i.canIpForward, networkInterfaces: i.networkInterfaces.map((n) => `${n.network}/${n.subnetwork}`), tags: sortedList(i.tags), guest: guestKey(i.guest), labels: i.labels ?? {}}, inPlace: {},
      refs: i.networkInterfaces.flatMap((n) => [networkRef(n.network), ...(subnetRegion.has(`${n.network}/${n.subnetwork}`) ? [subnetRef(subnetRegion.get(`${n.network}/${n.subnetwork}`) as string, n.subnetwork)] : [])]),
    })
  }
  const groupZone = new Map<string, string>([...nodePoolGroups(t).map((g) => [g.name, g.zone] as const), ...t.instanceGroups.map((g) => [g.name, g.zone] as const)])
  for (const g of t.instanceGroups) {
    out.push({ref: groupRef(g.zone, g.name), ...(g.description ? {description: g.description} : {}), fixed: {}, inPlace: {instances: sortedList(g.instances)}, refs: g.instances.map((i) => instanceRef(instanceZone.get(i) ?? g.zone, i))})
  }
  const checkRegion = new Map(t.healthChecks.map((h) => [h.name, h.region]))
  for (const h of t.healthChecks) {
    out.push({ref: h.region ? checkRef(h.region, h.name) : ref('healthCheck', global, h.name), ...(h.description ? {description: h.description} : {}), fixed: {}, inPlace: {type: h.type, port: h.port}, refs: []})
  }
  for (const b of t.backendServices) {
    const check = b.healthCheck.name
    const checkScope = check ? checkRegion.get(check) : undefined
    out.push({
      ref: backendRef(b.region, b.name), ...(b.description ? {description: b.description} : {}), fixed: {}, inPlace: {groups: sortedList(b.groups), healthCheck: check},
      refs: [...(b.groups ?? []).flatMap((g) => (groupZone.has(g) ? [groupRef(groupZone.get(g) as string, g)] : [])), ...(check ? [checkScope ? checkRef(checkScope, check) : ref('healthCheck', global, check)] : [])],
    })
  }
  for (const f of t.forwardingRules) {
    out.push({
      ref: ruleRef(f.region, f.name), ...(f.description ? {description: f.description} : {}),
      fixed: {network: f.network, subnetwork: f.subnetwork, IPProtocol: f.IPProtocol, ports: sortedList(f.ports), backendService: f.backendService, IPAddress: f.IPAddress, labels: f.labels ?? {}},
      inPlace: {allowGlobalAccess: f.allowGlobalAccess},
      refs: [networkRef(f.network), subnetRef(f.region, f.subnetwork), backendRef(f.region, f.backendService)],
    })
  }
  return out
}
