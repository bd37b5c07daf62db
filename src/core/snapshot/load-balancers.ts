/**
 * `xcc snapshot`, the internal load balancers: health checks, unmanaged instance groups, regional
 * internal backend services (their groups named, their members flattened into `backends`, their
 * health check copied into `healthCheck`: the topology's rules) and the internal passthrough
 * forwarding rules that use them (ILB-01). GKE's node pool groups are not listed: the loader
 * derives them from the nodes' names, so a backend service names one only when the derived name
 * is the API's (else its members stay in `backends` and the name is noted in `skipped`).
 */
import type {ComputeInventory, GceHealthCheck, GceHealthCheckPort} from '../ports/gcp.js'
import {type Doc, type Skipped, lastSegment, put, putText, sorted} from './docs.js'

const CHECK_TYPES = ['TCP', 'SSL', 'HTTP', 'HTTPS', 'HTTP2', 'GRPC'] as const
type CheckType = (typeof CHECK_TYPES)[number]
const HTTP_TYPES: ReadonlySet<string> = new Set(['HTTP', 'HTTPS', 'HTTP2'])

/** zone/name: GCE names an instance group within its zone */
const groupKey = (zone: string | undefined, name: string): string => `${lastSegment(zone)}/${name}`
const groupUrlKey = (url: string): string | undefined => {
  const m = /\/zones\/([^/]+)\/instanceGroup(?:Manager)?s\/([^/]+)$/.exec(url)
  return m ? `${m[1]}/${m[2]}` : undefined
}

export interface LoadBalancerInput {
  readonly inventory: ComputeInventory
  /** zone/name of every GKE node pool group (from the clusters' instanceGroupUrls) */
  readonly nodePoolGroups: ReadonlySet<string>
  /** names of the node pool groups the loader will derive from the snapshot's nodes */
  readonly derivedGroupNames: ReadonlySet<string>
  /** every machine the snapshot describes (instances and nodes) */
  readonly machines: ReadonlySet<string>
}

export interface LoadBalancerPart {
  readonly forwardingRules: Doc[]
  readonly backendServices: Doc[]
  readonly healthChecks: Doc[]
  readonly instanceGroups: Doc[]
}

interface CheckFacts {
  readonly name: string
  readonly type: CheckType
  readonly port: number
  readonly requestPath?: string
}

/** a health check as the format holds it: a type it knows and a fixed port, else why not */
function checkFacts(h: GceHealthCheck): CheckFacts | string {
  const type = (h.type ?? 'TCP') as CheckType
  if (!CHECK_TYPES.includes(type)) return `its type ${h.type} is not one the format knows (${CHECK_TYPES.join(', ')})`
  const spec = (h as unknown as Record<string, GceHealthCheckPort | undefined>)[`${type.toLowerCase()}HealthCheck`]
  if (spec?.portSpecification && spec.portSpecification !== 'USE_FIXED_PORT') return `it uses ${spec.portSpecification}; only fixed ports are described`
  if (spec?.port === undefined) return 'it has no port'
  return {name: h.name, type, port: spec.port, ...(HTTP_TYPES.has(type) && spec.requestPath !== undefined && spec.requestPath !== '/' ? {requestPath: spec.requestPath} : {})}
}

function healthCheckDocs(inventory: ComputeInventory, skipped: Skipped[]): {docs: Doc[]; byUrl: Map<string, CheckFacts>} {
  const docs: Doc[] = []
  const byUrl = new Map<string, CheckFacts>()
  const names = new Set<string>()
  for (const h of sorted(inventory.healthChecks)) {
    const facts = checkFacts(h)
    if (typeof facts === 'string') {
      skipped.push({kind: 'healthCheck', name: h.name, reason: facts})
      continue
    }
    if (names.has(h.name)) {
      skipped.push({kind: 'healthCheck', name: `${h.name} (${h.region ? lastSegment(h.region) : 'global'})`, reason: 'another health check of the project has its name; the format names health checks project-wide'})
      continue
    }
    names.add(h.name)
    byUrl.set(h.selfLink ?? h.name, facts)
    const doc: Doc = {name: h.name}
    if (h.region) doc.region = lastSegment(h.region)
    put(doc, 'type', facts.type, 'TCP')
    doc.port = facts.port
    put(doc, 'requestPath', facts.requestPath)
    putText(doc, 'description', h.description)
    docs.push(doc)
  }
  return {docs, byUrl}
}

function instanceGroupDocs(input: LoadBalancerInput, skipped: Skipped[]): {docs: Doc[]; declared: Map<string, string>} {
  const docs: Doc[] = []
  /** zone/name → the name the document uses */
  const declared = new Map<string, string>()
  const names = new Set(input.derivedGroupNames)
  const groups = [...input.inventory.instanceGroups].sort((a, b) => groupKey(a.zone, a.name).localeCompare(groupKey(b.zone, b.name)))
  for (const g of sorted(groups)) {
    const key = groupKey(g.zone, g.name)
    if (input.nodePoolGroups.has(key)) continue
    if (names.has(g.name)) {
      skipped.push({kind: 'instanceGroup', name: key, reason: 'another instance group (or a GKE node pool group) has its name; the format names groups project-wide'})
      continue
    }
    const members = [...new Set(g.instances.map(lastSegment))].sort()
    const unknown = members.filter((m) => !input.machines.has(m))
    for (const m of unknown) skipped.push({kind: 'instanceGroupMember', name: `${key}/${m}`, reason: 'the instance is not described (outside the regions read?)'})
    names.add(g.name)
    declared.set(key, g.name)
    const doc: Doc = {name: g.name, zone: lastSegment(g.zone)}
    put(doc, 'instances', members.filter((m) => input.machines.has(m)))
    put(doc, 'namedPorts', [...(g.namedPorts ?? [])].sort((a, b) => a.name.localeCompare(b.name)).map((p) => ({name: p.name, port: p.port})))
    putText(doc, 'description', g.description)
    docs.push(doc)
  }
  return {docs, declared}
}

export function buildLoadBalancerPart(input: LoadBalancerInput, skipped: Skipped[]): LoadBalancerPart {
  const {inventory} = input
  const groups = new Map(inventory.instanceGroups.map((g) => [groupKey(g.zone, g.name), g]))
  const checks = healthCheckDocs(inventory, skipped)
  const instanceGroups = instanceGroupDocs(input, skipped)
  const backendServices: Doc[] = []
  const services = new Set<string>()
  for (const b of sorted(inventory.backendServices)) {
    if (!b.region || (b.loadBalancingScheme && b.loadBalancingScheme !== 'INTERNAL')) {
      skipped.push({kind: 'backendService', name: b.name, reason: 'only regional internal (passthrough) backend services are described'})
      continue
    }
    const checkUrl = b.healthChecks?.[0]
    const check = checkUrl ? checks.byUrl.get(checkUrl) ?? [...checks.byUrl.values()].find((c) => c.name === lastSegment(checkUrl)) : undefined
    if (!check) {
      skipped.push({kind: 'backendService', name: b.name, reason: 'its health check is not described (none, or not a fixed-port check of a known type)'})
      continue
    }
    const members: string[] = []
    const groupNames: string[] = []
    for (const backend of b.backends ?? []) {
      const key = groupUrlKey(backend.group)
      const group = key ? groups.get(key) : undefined
      if (!key || !group) {
        skipped.push({kind: 'backend', name: `${b.name}/${lastSegment(backend.group)}`, reason: 'not an instance group of this project (network endpoint groups are not described)'})
        continue
      }
      const name = instanceGroups.declared.get(key) ?? (input.nodePoolGroups.has(key) && input.derivedGroupNames.has(group.name) ? group.name : undefined)
      if (name) groupNames.push(name)
      else if (input.nodePoolGroups.has(key)) skipped.push({kind: 'backendGroup', name: `${b.name}/${group.name}`, reason: 'a node pool group whose name the loader would not derive from its nodes\' names; its members are listed as backends'})
      for (const url of group.instances) if (input.machines.has(lastSegment(url))) members.push(lastSegment(url))
    }
    const doc: Doc = {name: b.name, region: lastSegment(b.region), backends: [...new Set(members)].sort()}
    doc.healthCheck = {name: check.name, protocol: check.type, port: check.port, ...(check.requestPath !== undefined ? {requestPath: check.requestPath} : {})}
    put(doc, 'groups', [...new Set(groupNames)].sort())
    putText(doc, 'description', b.description)
    backendServices.push(doc)
    services.add(b.name)
  }
  return {forwardingRules: forwardingRuleDocs(inventory, services, skipped), backendServices, healthChecks: checks.docs, instanceGroups: instanceGroups.docs}
}

function forwardingRuleDocs(inventory: ComputeInventory, services: ReadonlySet<string>, skipped: Skipped[]): Doc[] {
  const out: Doc[] = []
  for (const f of sorted(inventory.forwardingRules)) {
    if (!f.region || f.loadBalancingScheme !== 'INTERNAL' || !f.backendService || !services.has(lastSegment(f.backendService))) {
      skipped.push({kind: 'forwardingRule', name: f.name, reason: 'only internal passthrough forwarding rules with a described backend service are described'})
      continue
    }
    const doc: Doc = {name: f.name, region: lastSegment(f.region), network: lastSegment(f.network), subnetwork: lastSegment(f.subnetwork), IPAddress: f.IPAddress}
    put(doc, 'IPProtocol', f.IPProtocol, 'TCP')
    if (f.allPorts) doc.allPorts = true
    else if (f.ports?.length) doc.ports = [...f.ports]
    put(doc, 'allowGlobalAccess', f.allowGlobalAccess, false)
    doc.backendService = lastSegment(f.backendService)
    put(doc, 'sourceIpRanges', f.sourceIpRanges ? [...f.sourceIpRanges] : undefined)
    putText(doc, 'description', f.description)
    putLabels(doc, f.labels, `forwardingRule/${f.name}`, skipped)
    out.push(doc)
  }
  return out
}

const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/

/** GCE labels the format can hold (it takes GCE's ASCII rule); any other is noted, not dropped silently */
export function putLabels(doc: Doc, labels: Readonly<Record<string, string>> | undefined, owner: string, skipped: Skipped[]): void {
  const kept: Record<string, string> = {}
  for (const key of Object.keys(labels ?? {}).sort()) {
    const value = (labels as Record<string, string>)[key] as string
    if (LABEL_KEY.test(key) && LABEL_VALUE.test(value)) kept[key] = value
    else skipped.push({kind: 'label', name: `${owner}/${key}`, reason: 'the format holds labels of lowercase ASCII letters, digits, _ and - only'})
  }
  if (Object.keys(kept).length > 0) doc.labels = kept
}
