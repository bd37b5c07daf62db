/**
 * `subnetworks`: the subnets of the topology's networks, with their secondary ranges. GCE names a
 * subnet by region and name, the topology by network and name: the API view needs a subnet name
 * to be unique in its region, and an insert that would break that is a 409.
 */
import {formatIp} from '../../core/net/ipv4.js'
import type {SubnetSpec, Topology} from '../../core/topology/schema.js'
import {alreadyExists, conditionNotMet, inUse, invalidField, notFound, required} from '../cloud/errors.js'
import {fingerprint, sameFingerprint} from '../cloud/identity.js'
import {GLOBAL, type Scope, checkName, region, resolveRef, resourcePath, scopeLink, selfLink} from '../cloud/refs.js'
import type {Params} from '../cloud/router.js'
import {type Collection, listRoutes, pathOf} from './collections.js'
import {type ComputeContext, type View, bodyName, bodyOf, identity, mutate, refOf, route, stringField, viewOf} from './context.js'
import {subnetUsers} from './usage.js'
import {checkRegion} from './zones.js'

function secondaryOf(body: Record<string, unknown>): SubnetSpec['secondaryIpRanges'] | undefined {
  const value = body.secondaryIpRanges
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) throw invalidField('resource.secondaryIpRanges', value, 'Must be a list of {rangeName, ipCidrRange}.')
  return value.map((r: unknown, i) => {
    const entry = (r ?? {}) as Record<string, unknown>
    if (typeof entry.rangeName !== 'string') throw required(`resource.secondaryIpRanges[${i}].rangeName`)
    if (typeof entry.ipCidrRange !== 'string') throw required(`resource.secondaryIpRanges[${i}].ipCidrRange`)
    return {rangeName: checkName(entry.rangeName, `resource.secondaryIpRanges[${i}].rangeName`), ipCidrRange: entry.ipCidrRange}
  })
}

export function subnetView(view: View, network: string, s: SubnetSpec): Record<string, unknown> {
  const model = view.model.networks.get(network)?.subnets.find((x) => x.name === s.name)
  const r = refOf(view, region(s.region), 'subnetworks', s.name)
  const shown = {
    ...identity(view, 'compute#subnetwork', r), ...(s.description !== undefined ? {description: s.description} : {}),
    network: selfLink(refOf(view, GLOBAL, 'networks', network)), ipCidrRange: s.ipCidrRange,
    ...(model ? {gatewayAddress: formatIp(model.gateway)} : {}), region: scopeLink(view.project, region(s.region)), selfLink: selfLink(r),
    privateIpGoogleAccess: false,
    ...(s.secondaryIpRanges.length > 0 ? {secondaryIpRanges: s.secondaryIpRanges.map((x) => ({rangeName: x.rangeName, ipCidrRange: x.ipCidrRange}))} : {}),
    purpose: 'PRIVATE', stackType: 'IPV4_ONLY', privateIpv6GoogleAccess: 'DISABLE_GOOGLE_ACCESS', allowSubnetCidrRoutesOverlap: s.allowSubnetCidrRoutesOverlap,
  }
  return {...shown, fingerprint: fingerprint(shown)}
}

export const subnetworks: Collection = {
  collection: 'subnetworks', kind: 'compute#subnetwork', scope: 'regions', iam: 'compute.subnetworks',
  views: (view) => view.topology.networks.flatMap((n) => n.subnets.map((s) => ({scope: region(s.region) as Scope, body: subnetView(view, n.name, s)}))),
}

/** the subnet `name` of region `where`, with its network, in a draft */
export function findSubnet(t: Topology, where: string, name: string): {network: string; subnet: SubnetSpec} | undefined {
  for (const n of t.networks) {
    const subnet = n.subnets.find((s) => s.name === name && s.region === where)
    if (subnet) return {network: n.name, subnet}
  }
  return undefined
}

const path = (p: Params): string => pathOf(subnetworks, p, p.name)

function insert(ctx: ComputeContext, params: Params): unknown {
  const where = checkRegion(ctx.store.topology, params.region as string)
  const body = bodyOf(ctx)
  const name = checkName(body.name)
  if (body.network === undefined) throw required('resource.network')
  const network = resolveRef(body.network, ctx.store.project, {field: 'resource.network', collection: 'networks', scope: GLOBAL}).name
  const ipCidrRange = stringField(body, 'ipCidrRange')
  if (ipCidrRange === undefined) throw required('resource.ipCidrRange')
  const purpose = stringField(body, 'purpose')
  if (purpose !== undefined && purpose !== 'PRIVATE') throw invalidField('resource.purpose', purpose, 'The lab has PRIVATE subnets only.')
  const target = refOf(ctx.store, region(where), 'subnetworks', name)
  return mutate(ctx, {scope: region(where), type: 'insert', target, what: 'subnetwork', created: true}, (draft) => {
    if (findSubnet(draft, where, name)) throw alreadyExists(resourcePath(target))
    const owner = draft.networks.find((n) => n.name === network)
    if (!owner) throw notFound(resourcePath(refOf(ctx.store, GLOBAL, 'networks', network)))
    const description = stringField(body, 'description')
    owner.subnets.push({
      name, region: where, ipCidrRange, secondaryIpRanges: secondaryOf(body) ?? [],
      allowSubnetCidrRoutesOverlap: body.allowSubnetCidrRoutesOverlap === true, ...(description !== undefined ? {description} : {}),
    })
  })
}

function remove(ctx: ComputeContext, params: Params): unknown {
  const where = params.region as string
  const name = params.name as string
  const target = refOf(ctx.store, region(where), 'subnetworks', name)
  return mutate(ctx, {scope: region(where), type: 'delete', target, what: 'subnetwork', deleted: true}, (draft) => {
    const found = findSubnet(draft, where, name)
    if (!found) throw notFound(resourcePath(target))
    const user = subnetUsers(draft, ctx.store.project, found.network, name)[0]
    if (user) throw inUse('subnetwork', resourcePath(target), user)
    const owner = draft.networks.find((n) => n.name === found.network)
    if (owner) owner.subnets = owner.subnets.filter((s) => s !== found.subnet)
  })
}

/** PATCH: description, secondary ranges (gcloud `subnets update --add/--remove-secondary-ranges`), the overlap flag */
function patch(ctx: ComputeContext, params: Params): unknown {
  const where = params.region as string
  const name = params.name as string
  const body = bodyOf(ctx)
  const target = refOf(ctx.store, region(where), 'subnetworks', name)
  return mutate(ctx, {scope: region(where), type: 'patch', target, what: 'subnetwork'}, (draft) => {
    const found = findSubnet(draft, where, name)
    if (!found) throw notFound(resourcePath(target))
    const given = stringField(body, 'fingerprint')
    if (given !== undefined && !sameFingerprint(given, subnetView(viewOf(ctx), found.network, found.subnet).fingerprint)) throw conditionNotMet('fingerprint')
    const secondary = secondaryOf(body)
    if (secondary) found.subnet.secondaryIpRanges = secondary
    const description = stringField(body, 'description')
    if (description !== undefined) found.subnet.description = description
    if (typeof body.allowSubnetCidrRoutesOverlap === 'boolean') found.subnet.allowSubnetCidrRoutesOverlap = body.allowSubnetCidrRoutesOverlap
  })
}

const base = 'projects/:project/regions/:region/subnetworks'
export const subnetworkRoutes = [
  ...listRoutes(subnetworks),
  route('POST', base, 'compute.subnetworks.create', true, (p, body) => pathOf(subnetworks, p, bodyName(body)), insert),
  route('DELETE', `${base}/:name`, 'compute.subnetworks.delete', true, path, remove),
  route('PATCH', `${base}/:name`, 'compute.subnetworks.update', true, path, patch),
]
