/**
 * `forwardingRules` (regional, INTERNAL): the topology's `forwardingRules`, the frontends of
 * internal passthrough load balancers. An insert without `IPAddress` gets the subnet's first
 * free address; without `subnetwork`, the network's only subnet in the region. PATCH changes what
 * GCE lets it change (`allowGlobalAccess`); `setLabels` the labels.
 */
import type {ForwardingRuleSpec, Topology} from '../../core/topology/schema.js'
import {alreadyExists, conditionNotMet, inUse, invalidField, notFound, required} from '../cloud/errors.js'
import {fingerprint, sameFingerprint} from '../cloud/identity.js'
import {GLOBAL, checkName, region, resolveRef, resourcePath, scopeLink, selfLink} from '../cloud/refs.js'
import type {Params} from '../cloud/router.js'
import {type Collection, findShown, listRoutes, pathOf} from './collections.js'
import {type ComputeContext, type View, bodyName, bodyOf, identity, labelsOf, mutate, refOf, route, stringField, stringList} from './context.js'
import {allocateAddress} from './addresses.js'
import {forwardingRuleUsers} from './usage.js'
import {checkRegion} from './zones.js'

function labelsView(labels: Readonly<Record<string, string>> | undefined): Record<string, unknown> {
  return {...(labels && Object.keys(labels).length > 0 ? {labels} : {}), labelFingerprint: fingerprint(labels ?? {})}
}

function ruleView(view: View, f: ForwardingRuleSpec): Record<string, unknown> {
  const r = refOf(view, region(f.region), 'forwardingRules', f.name)
  const shown = {
    ...identity(view, 'compute#forwardingRule', r), ...(f.description !== undefined ? {description: f.description} : {}),
    region: scopeLink(view.project, region(f.region)), IPAddress: f.IPAddress, IPProtocol: f.IPProtocol,
    ...(f.allPorts ? {allPorts: true} : {ports: f.ports ?? []}),
    selfLink: selfLink(r), loadBalancingScheme: 'INTERNAL',
    subnetwork: selfLink(refOf(view, region(f.region), 'subnetworks', f.subnetwork)), network: selfLink(refOf(view, GLOBAL, 'networks', f.network)),
    backendService: selfLink(refOf(view, region(f.region), 'backendServices', f.backendService)),
    ...(f.sourceIpRanges.length > 0 ? {sourceIpRanges: f.sourceIpRanges} : {}),
    networkTier: 'PREMIUM', ipVersion: 'IPV4', allowGlobalAccess: f.allowGlobalAccess, ...labelsView(f.labels),
  }
  return {...shown, fingerprint: fingerprint(shown)}
}

export const forwardingRules: Collection = {
  collection: 'forwardingRules', kind: 'compute#forwardingRule', scope: 'regions', iam: 'compute.forwardingRules',
  views: (view) => view.topology.forwardingRules.map((f) => ({scope: region(f.region), body: ruleView(view, f)})),
}

/** network and subnet of the rule: as given, or the network's only subnet in the region */
function placement(ctx: ComputeContext, t: Topology, where: string, body: Record<string, unknown>): {network: string; subnetwork: string} {
  const project = ctx.store.project
  const subnetRef = body.subnetwork === undefined ? undefined : resolveRef(body.subnetwork, project, {field: 'resource.subnetwork', collection: 'subnetworks', scope: region(where)})
  const networkName = body.network === undefined ? undefined : resolveRef(body.network, project, {field: 'resource.network', collection: 'networks', scope: GLOBAL}).name
  if (subnetRef) {
    const owner = t.networks.find((n) => n.subnets.some((s) => s.name === subnetRef.name && s.region === where) && (networkName === undefined || n.name === networkName))
    if (!owner) throw notFound(resourcePath(subnetRef))
    return {network: owner.name, subnetwork: subnetRef.name}
  }
  if (networkName === undefined) throw required('resource.subnetwork')
  const candidates = t.networks.find((n) => n.name === networkName)?.subnets.filter((s) => s.region === where) ?? []
  if (candidates.length !== 1) throw invalidField('resource.subnetwork', '', `Network ${networkName} has ${candidates.length} subnets in ${where}: name one.`)
  return {network: networkName, subnetwork: (candidates[0] as {name: string}).name}
}

function insert(ctx: ComputeContext, params: Params): unknown {
  const where = checkRegion(ctx.store.topology, params.region as string)
  const body = bodyOf(ctx)
  const name = checkName(body.name)
  const scheme = stringField(body, 'loadBalancingScheme')
  if (scheme !== 'INTERNAL') throw invalidField('resource.loadBalancingScheme', scheme ?? '', 'The lab serves internal passthrough load balancers only (INTERNAL).')
  if (body.target !== undefined) throw invalidField('resource.target', body.target, 'An internal forwarding rule names a backend service.')
  if (body.backendService === undefined) throw required('resource.backendService')
  const backend = resolveRef(body.backendService, ctx.store.project, {field: 'resource.backendService', collection: 'backendServices', scope: region(where)})
  const protocol = (stringField(body, 'IPProtocol') ?? 'TCP').toUpperCase()
  if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'L3_DEFAULT') throw invalidField('resource.IPProtocol', protocol, 'Must be TCP, UDP or L3_DEFAULT.')
  const portRange = stringField(body, 'portRange')
  const ports = stringList(body, 'ports') ?? (portRange !== undefined ? [portRange.replace(/^(\d+)-\1$/, '$1')] : undefined)
  const address = stringField(body, 'IPAddress')
  if (address !== undefined && !/^\d+\.\d+\.\d+\.\d+$/.test(address)) throw invalidField('resource.IPAddress', address, 'The lab has no address resources: give an IPv4 address, or none.')
  const target = refOf(ctx.store, region(where), 'forwardingRules', name)
  return mutate(ctx, {scope: region(where), type: 'insert', target, what: 'forwarding rule', created: true}, (draft) => {
    if (draft.forwardingRules.some((f) => f.name === name)) throw alreadyExists(resourcePath(target))
    if (!draft.backendServices.some((b) => b.name === backend.name && b.region === where)) throw notFound(resourcePath(backend))
    const {network, subnetwork} = placement(ctx, draft, where, body)
    const subnet = draft.networks.find((n) => n.name === network)?.subnets.find((s) => s.name === subnetwork)
    const description = stringField(body, 'description')
    const labels = labelsOf(body)
    draft.forwardingRules.push({
      name, region: where, network, subnetwork, IPAddress: address ?? allocateAddress(draft, network, subnet as NonNullable<typeof subnet>),
      IPProtocol: protocol, ...(body.allPorts === true ? {allPorts: true} : {ports: ports ?? []}),
      allowGlobalAccess: body.allowGlobalAccess === true, sourceIpRanges: stringList(body, 'sourceIpRanges') ?? [], backendService: backend.name,
      ...(description !== undefined ? {description} : {}), ...(labels && Object.keys(labels).length ? {labels} : {}),
    })
  })
}

function find(draft: Topology, params: Params): ForwardingRuleSpec {
  const f = draft.forwardingRules.find((x) => x.name === params.name && x.region === params.region)
  if (!f) throw notFound(pathOf(forwardingRules, params, params.name))
  return f
}

function patch(ctx: ComputeContext, params: Params): unknown {
  const body = bodyOf(ctx)
  const target = refOf(ctx.store, region(params.region as string), 'forwardingRules', params.name as string)
  return mutate(ctx, {scope: target.scope, type: 'patch', target, what: 'forwarding rule'}, (draft) => {
    const f = find(draft, params)
    for (const key of Object.keys(body)) {
      // the Node client sends every map field, empty ones too (`labels: {}`, gcp-api-emulation.md §1.5)
      const emptyMap = body[key] !== null && typeof body[key] === 'object' && !Array.isArray(body[key]) && Object.keys(body[key] as object).length === 0
      if (!emptyMap && !['allowGlobalAccess', 'name', 'fingerprint', 'description'].includes(key)) throw invalidField(`resource.${key}`, body[key], 'A forwarding rule\'s PATCH changes allowGlobalAccess only.')
    }
    if (typeof body.allowGlobalAccess === 'boolean') f.allowGlobalAccess = body.allowGlobalAccess
  })
}

function setLabels(ctx: ComputeContext, params: Params): unknown {
  const body = bodyOf(ctx)
  const labels = labelsOf(body, 'labels') ?? {}
  const target = refOf(ctx.store, region(params.region as string), 'forwardingRules', params.name as string)
  return mutate(ctx, {scope: target.scope, type: 'setLabels', target, what: 'labels'}, (draft) => {
    const f = find(draft, params)
    const given = stringField(body, 'labelFingerprint')
    if (given !== undefined && !sameFingerprint(given, findShown(forwardingRules, ctx, params, f.name).labelFingerprint)) throw conditionNotMet('labelFingerprint')
    if (Object.keys(labels).length > 0) f.labels = labels
    else delete f.labels
  })
}

function remove(ctx: ComputeContext, params: Params): unknown {
  const target = refOf(ctx.store, region(params.region as string), 'forwardingRules', params.name as string)
  return mutate(ctx, {scope: target.scope, type: 'delete', target, what: 'forwarding rule', deleted: true}, (draft) => {
    const f = find(draft, params)
    const user = forwardingRuleUsers(draft, ctx.store.project, f.name)[0]
    if (user) throw inUse('forwardingRule', resourcePath(target), user)
    draft.forwardingRules = draft.forwardingRules.filter((x) => x !== f)
  })
}

const path = (p: Params): string => pathOf(forwardingRules, p, p.name)
const base = 'projects/:project/regions/:region/forwardingRules'
export const forwardingRuleRoutes = [
  ...listRoutes(forwardingRules),
  route('POST', base, 'compute.forwardingRules.create', true, (p, body) => pathOf(forwardingRules, p, bodyName(body)), insert),
  route('PATCH', `${base}/:name`, 'compute.forwardingRules.update', true, path, patch),
  route('POST', `${base}/:name/setLabels`, 'compute.forwardingRules.setLabels', true, path, setLabels),
  route('DELETE', `${base}/:name`, 'compute.forwardingRules.delete', true, path, remove),
]
