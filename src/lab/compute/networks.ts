/**
 * `networks`: the topology's VPC networks (custom mode, their subnets as URLs, their peerings
 * with the state PEER-01 gives them: ACTIVE only when the peer network has a peering back), and
 * the peering actions gcloud's `networks peerings create|delete|update` send.
 */
import {formatCidr} from '../../core/net/ipv4.js'
import type {NetworkSpec, PeeringSpec, Topology} from '../../core/topology/schema.js'
import {alreadyExists, inUse, invalid, invalidField, required} from '../cloud/errors.js'
import {GLOBAL, checkName, resolveRef, region, resourcePath, selfLink} from '../cloud/refs.js'
import {type Collection, findShown, listRoutes} from './collections.js'
import {type ComputeContext, type View, bodyName, bodyOf, identity, mustFind, mutate, refOf, route, stringField} from './context.js'
import {networkUsers} from './usage.js'

const ref = (view: {project: string}, name: string) => refOf(view, GLOBAL, 'networks', name)

function peeringView(view: View, network: NetworkSpec, p: PeeringSpec): Record<string, unknown> {
  const back = view.topology.networks.find((n) => n.name === p.network)?.peerings.find((q) => q.network === network.name)
  const since = view.times.of(selfLink(ref(view, network.name)))
  return {
    name: p.name, network: selfLink(ref(view, p.network)), state: back ? 'ACTIVE' : 'INACTIVE',
    stateDetails: back ? `[${since}]: Connected.` : `[${since}]: Waiting for peer network to connect.`,
    autoCreateRoutes: true, exchangeSubnetRoutes: true,
    exportCustomRoutes: p.exportCustomRoutes, importCustomRoutes: p.importCustomRoutes,
    exportSubnetRoutesWithPublicIp: p.exportSubnetRoutesWithPublicIp, importSubnetRoutesWithPublicIp: p.importSubnetRoutesWithPublicIp,
    stackType: 'IPV4_ONLY', peerMtu: 1460, updateStrategy: 'INDEPENDENT',
  }
}

export function networkView(view: View, n: NetworkSpec): Record<string, unknown> {
  const r = ref(view, n.name)
  const body: Record<string, unknown> = {
    ...identity(view, 'compute#network', r), ...(n.description !== undefined ? {description: n.description} : {}),
    selfLink: selfLink(r), selfLinkWithId: selfLink({...r, name: String(identity(view, '', r).id)}),
    autoCreateSubnetworks: false,
    subnetworks: n.subnets.map((s) => selfLink(refOf(view, region(s.region), 'subnetworks', s.name))),
    ...(n.peerings.length > 0 ? {peerings: n.peerings.map((p) => peeringView(view, n, p))} : {}),
    routingConfig: {routingMode: 'REGIONAL', bgpBestPathSelectionMode: 'LEGACY'},
    networkFirewallPolicyEnforcementOrder: 'AFTER_CLASSIC_FIREWALL', mtu: 1460,
  }
  return body
}

export const networks: Collection = {
  collection: 'networks', kind: 'compute#network', scope: 'global', iam: 'compute.networks',
  views: (view) => view.topology.networks.map((n) => ({scope: GLOBAL, body: networkView(view, n)})),
}

const path = (p: {project?: string; name?: string}) => `projects/${p.project}/global/networks/${p.name ?? ''}`.replace(/\/$/, '')

function network(draft: Topology, ctx: ComputeContext, name: string): NetworkSpec {
  return mustFind(draft.networks, name, ref(ctx.store, name))
}

function insert(ctx: ComputeContext): unknown {
  const body = bodyOf(ctx)
  const name = checkName(body.name)
  if (body.autoCreateSubnetworks === true) throw invalidField('resource.autoCreateSubnetworks', true, 'The lab has custom-mode networks only: create it with --subnet-mode=custom and add subnets.')
  if (body.IPv4Range !== undefined) throw invalidField('resource.IPv4Range', body.IPv4Range, 'The lab has no legacy networks.')
  const target = ref(ctx.store, name)
  return mutate(ctx, {scope: GLOBAL, type: 'insert', target, what: 'network', created: true}, (draft) => {
    if (draft.networks.some((n) => n.name === name)) throw alreadyExists(resourcePath(target))
    const description = stringField(body, 'description')
    draft.networks.push({name, subnets: [], peerings: [], ...(description !== undefined ? {description} : {})})
  })
}

function remove(ctx: ComputeContext, name: string): unknown {
  const target = ref(ctx.store, name)
  return mutate(ctx, {scope: GLOBAL, type: 'delete', target, what: 'network', deleted: true}, (draft) => {
    network(draft, ctx, name)
    const user = networkUsers(draft, ctx.store.project, name)[0]
    if (user) throw inUse('network', resourcePath(target), user)
    draft.networks = draft.networks.filter((n) => n.name !== name)
  })
}

function patch(ctx: ComputeContext, name: string): unknown {
  const body = bodyOf(ctx)
  return mutate(ctx, {scope: GLOBAL, type: 'patch', target: ref(ctx.store, name), what: 'network'}, (draft) => {
    const n = network(draft, ctx, name)
    const description = stringField(body, 'description')
    if (description !== undefined) n.description = description
  })
}

/** a peering operation holds its network and the peer until it is DONE: a second one on either is refused */
function peeringLocks(ctx: ComputeContext, name: string, peer: string | undefined): string[] {
  return [name, ...(peer && peer !== name ? [peer] : [])].map((n) => selfLink(ref(ctx.store, n)))
}

/** the peering of an addPeering body: `networkPeering{…}`, or the legacy top-level `{name, peerNetwork}` */
function peeringOf(ctx: ComputeContext, body: Record<string, unknown>): PeeringSpec {
  const given = (body.networkPeering ?? {}) as Record<string, unknown>
  const name = checkName(given.name ?? body.name, 'networkPeering.name')
  const peer = given.network ?? body.peerNetwork
  if (peer === undefined) throw required('networkPeering.network')
  const peerRef = resolveRef(peer, ctx.store.project, {field: 'networkPeering.network', collection: 'networks', scope: GLOBAL})
  const flag = (key: string, fallback: boolean): boolean => (typeof given[key] === 'boolean' ? (given[key] as boolean) : fallback)
  if (given.exchangeSubnetRoutes === false) throw invalidField('networkPeering.exchangeSubnetRoutes', false, 'Subnet routes are always exchanged.')
  return {
    name, network: peerRef.name,
    exportCustomRoutes: flag('exportCustomRoutes', false), importCustomRoutes: flag('importCustomRoutes', false),
    exportSubnetRoutesWithPublicIp: flag('exportSubnetRoutesWithPublicIp', true), importSubnetRoutesWithPublicIp: flag('importSubnetRoutesWithPublicIp', false),
  }
}

function addPeering(ctx: ComputeContext, name: string): unknown {
  const peering = peeringOf(ctx, bodyOf(ctx))
  return mutate(ctx, {scope: GLOBAL, type: 'addPeering', target: ref(ctx.store, name), what: `peering ${peering.name}`, locks: peeringLocks(ctx, name, peering.network)}, (draft) => {
    const n = network(draft, ctx, name)
    mustFind(draft.networks, peering.network, ref(ctx.store, peering.network))
    if (n.peerings.some((p) => p.name === peering.name)) throw invalid(`There is already a peering named '${peering.name}' in network '${resourcePath(ref(ctx.store, name))}'.`)
    if (n.peerings.some((p) => p.network === peering.network)) throw invalid(`Network '${resourcePath(ref(ctx.store, name))}' is already peered with '${resourcePath(ref(ctx.store, peering.network))}'.`)
    n.peerings.push(peering)
  })
}

function removePeering(ctx: ComputeContext, name: string): unknown {
  const peering = checkName(bodyOf(ctx).name, 'name')
  const peer = ctx.store.topology.networks.find((n) => n.name === name)?.peerings.find((p) => p.name === peering)?.network
  return mutate(ctx, {scope: GLOBAL, type: 'removePeering', target: ref(ctx.store, name), what: `peering ${peering}`, locks: peeringLocks(ctx, name, peer)}, (draft) => {
    const n = network(draft, ctx, name)
    if (!n.peerings.some((p) => p.name === peering)) throw invalidField('name', peering, `Network '${resourcePath(ref(ctx.store, name))}' has no peering of that name.`)
    n.peerings = n.peerings.filter((p) => p.name !== peering)
  })
}

function updatePeering(ctx: ComputeContext, name: string): unknown {
  const given = (bodyOf(ctx).networkPeering ?? {}) as Record<string, unknown>
  const peering = checkName(given.name, 'networkPeering.name')
  const peer = ctx.store.topology.networks.find((n) => n.name === name)?.peerings.find((p) => p.name === peering)?.network
  return mutate(ctx, {scope: GLOBAL, type: 'updatePeering', target: ref(ctx.store, name), what: `peering ${peering}`, locks: peeringLocks(ctx, name, peer)}, (draft) => {
    const p = network(draft, ctx, name).peerings.find((q) => q.name === peering)
    if (!p) throw invalidField('networkPeering.name', peering, `Network '${resourcePath(ref(ctx.store, name))}' has no peering of that name.`)
    for (const key of ['exportCustomRoutes', 'importCustomRoutes', 'exportSubnetRoutesWithPublicIp', 'importSubnetRoutesWithPublicIp'] as const) {
      if (typeof given[key] === 'boolean') p[key] = given[key] as boolean
    }
  })
}

/** the routes a peering brings in (INCOMING) or offers (OUTGOING), from the model (PEER-02…05) */
function listPeeringRoutes(ctx: ComputeContext, name: string): unknown {
  const model = ctx.store.model
  const q = ctx.request.query
  const peeringName = q.get('peeringName') ?? ''
  const direction = q.get('direction') ?? 'INCOMING'
  const own = model.networks.get(name)
  if (!own) throw invalidField('network', name, 'No such network.')
  const peering = own.peerings.find((p) => p.spec.name === peeringName)
  if (!peering) throw invalidField('peeringName', peeringName, `Network '${name}' has no peering of that name.`)
  const routes = direction === 'OUTGOING'
    ? (model.networks.get(peering.spec.network)?.routes.routes ?? []).filter((r) => r.peering?.peerNetwork === name)
    : own.routes.routes.filter((r) => r.peering?.name === peeringName)
  const wanted = q.get('region')
  const items = routes
    .filter((r) => !wanted || !r.subnet || r.subnet.region === wanted)
    .map((r) => ({
      destRange: formatCidr(r.destRange),
      type: r.kind === 'PEERING_SUBNET' ? 'SUBNET_PEERING_ROUTE' : 'STATIC_PEERING_ROUTE', priority: r.priority, imported: true,
      ...(r.subnet ? {nextHopRegion: r.subnet.region} : {}),
    }))
  return {kind: 'compute#exchangedPeeringRoutesList', id: `projects/${ctx.store.project}/global/networks/${name}/listPeeringRoutes`, ...(items.length ? {items} : {})}
}

export const networkRoutes = [
  ...listRoutes(networks),
  route('POST', 'projects/:project/global/networks', 'compute.networks.create', true, (p, body) => path({...p, name: bodyName(body)}), (ctx) => insert(ctx)),
  route('DELETE', 'projects/:project/global/networks/:name', 'compute.networks.delete', true, path, (ctx, p) => remove(ctx, p.name as string)),
  route('PATCH', 'projects/:project/global/networks/:name', 'compute.networks.update', true, path, (ctx, p) => patch(ctx, p.name as string)),
  route('POST', 'projects/:project/global/networks/:name/addPeering', 'compute.networks.addPeering', true, path, (ctx, p) => addPeering(ctx, p.name as string)),
  route('POST', 'projects/:project/global/networks/:name/removePeering', 'compute.networks.removePeering', true, path, (ctx, p) => removePeering(ctx, p.name as string)),
  route('PATCH', 'projects/:project/global/networks/:name/updatePeering', 'compute.networks.updatePeering', true, path, (ctx, p) => updatePeering(ctx, p.name as string)),
  route('GET', 'projects/:project/global/networks/:name/listPeeringRoutes', 'compute.networks.listPeeringRoutes', false, path, (ctx, p) => {
    findShown(networks, ctx, p, p.name as string)
    return listPeeringRoutes(ctx, p.name as string)
  }),
]

