/**
 * `routes`: the topology's custom static routes, plus the per-node routes GKE makes for a
 * routes-based cluster (GKE-04), which the loader derives: the API shows them as GKE names them,
 * `gke-<cluster>-<cluster hash>-<node hash>` with the description `k8s-node-route`, and refuses to
 * change them. Subnet routes are not listed (the tracer derives them from the subnets). Routes
 * have no PATCH or PUT in Compute.
 */
import {shortHash} from '../../core/topology/node-pools.js'
import type {RouteSpec, Topology} from '../../core/topology/schema.js'
import {alreadyExists, invalidField, notFound} from '../cloud/errors.js'
import {GLOBAL, checkName, parseRef, resolveRef, resourcePath, selfLink, zone} from '../cloud/refs.js'
import type {Params} from '../cloud/router.js'
import {type Collection, listRoutes} from './collections.js'
import {type ComputeContext, type View, bodyName, bodyOf, derivedError, identity, mustFind, mutate, refOf, route, stringField, stringList} from './context.js'

const ref = (view: {project: string}, name: string) => refOf(view, GLOBAL, 'routes', name)

export interface NodeRoute {
  readonly name: string
  readonly cluster: string
  readonly network: string
  readonly node: string
  readonly zone: string
  readonly destRange: string
}

/** GKE-04: a ROUTES cluster's route per node, named as GKE names it */
export function nodeRoutes(t: Topology): NodeRoute[] {
  return t.clusters.filter((c) => c.mode === 'ROUTES').flatMap((c) => c.nodes.map((n) => ({
    name: `gke-${c.name.slice(0, 40).replace(/-+$/, '')}-${shortHash(c.name)}-${shortHash(`${c.name}/${n.name}`)}`,
    cluster: c.name, network: c.network, node: n.name, zone: n.zone ?? c.location, destRange: n.podCidr,
  })))
}

function zoneOfInstance(t: Topology, name: string): string | undefined {
  const node = t.clusters.flatMap((c) => c.nodes.map((n) => ({zone: n.zone ?? c.location, name: n.name}))).find((n) => n.name === name)
  return t.instances.find((m) => m.name === name)?.zone ?? node?.zone
}

function nextHop(view: View, r: RouteSpec): Record<string, unknown> {
  if (r.nextHopInstance !== undefined) {
    const z = view.model.instances.get(r.nextHopInstance)?.zone ?? zoneOfInstance(view.topology, r.nextHopInstance) ?? ''
    return {nextHopInstance: selfLink(refOf(view, zone(z), 'instances', r.nextHopInstance))}
  }
  if (r.nextHopIp !== undefined) return {nextHopIp: r.nextHopIp}
  if (r.nextHopIlb !== undefined) {
    const fr = view.topology.forwardingRules.find((f) => f.name === r.nextHopIlb)
    return {nextHopIlb: fr ? selfLink(refOf(view, {kind: 'regions', name: fr.region}, 'forwardingRules', fr.name)) : r.nextHopIlb}
  }
  return {nextHopGateway: `https://www.googleapis.com/compute/v1/projects/${view.project}/global/gateways/default-internet-gateway`}
}

function routeView(view: View, r: RouteSpec): Record<string, unknown> {
  const own = ref(view, r.name)
  return {
    ...identity(view, 'compute#route', own), ...(r.description !== undefined ? {description: r.description} : {}),
    network: selfLink(refOf(view, GLOBAL, 'networks', r.network)), destRange: r.destRange, priority: r.priority,
    ...(r.tags.length > 0 ? {tags: r.tags} : {}), ...nextHop(view, r), routeType: 'STATIC', routeStatus: 'ACTIVE', selfLink: selfLink(own),
  }
}

function nodeRouteView(view: View, r: NodeRoute): Record<string, unknown> {
  const own = ref(view, r.name)
  return {
    ...identity(view, 'compute#route', own), description: 'k8s-node-route',
    network: selfLink(refOf(view, GLOBAL, 'networks', r.network)), destRange: r.destRange, priority: 1000,
    nextHopInstance: selfLink(refOf(view, zone(r.zone), 'instances', r.node)), routeType: 'STATIC', routeStatus: 'ACTIVE', selfLink: selfLink(own),
  }
}

export const routes: Collection = {
  collection: 'routes', kind: 'compute#route', scope: 'global', iam: 'compute.routes',
  views: (view) => [
    ...view.topology.routes.map((r) => ({scope: GLOBAL, body: routeView(view, r)})),
    ...nodeRoutes(view.topology).map((r) => ({scope: GLOBAL, body: nodeRouteView(view, r)})),
  ],
}

function nextHopOf(ctx: ComputeContext, body: Record<string, unknown>): Pick<RouteSpec, 'nextHopInstance' | 'nextHopIp' | 'nextHopIlb' | 'nextHopGateway'> {
  const project = ctx.store.project
  const given = ['nextHopInstance', 'nextHopIp', 'nextHopIlb', 'nextHopGateway', 'nextHopVpnTunnel', 'nextHopNetwork', 'nextHopHub', 'nextHopInterconnectAttachment'].filter((k) => body[k] !== undefined && body[k] !== null)
  if (given.length !== 1) throw invalidField('resource', given.join(', ') || 'none', 'A route needs exactly one next hop.')
  const key = given[0] as string
  const value = body[key]
  switch (key) {
    case 'nextHopInstance': {
      const r = resolveRef(value, project, {field: 'resource.nextHopInstance', collection: 'instances'})
      const where = zoneOfInstance(ctx.store.topology, r.name)
      if (where === undefined || (r.scope.kind === 'zones' && r.scope.name !== where)) throw notFound(resourcePath(r))
      return {nextHopInstance: r.name}
    }
    case 'nextHopIp':
      return {nextHopIp: stringField(body, 'nextHopIp') as string}
    case 'nextHopIlb': {
      const text = stringField(body, 'nextHopIlb') as string
      if (/^\d+\.\d+\.\d+\.\d+$/.test(text)) return {nextHopIlb: text}
      const r = resolveRef(text, project, {field: 'resource.nextHopIlb', collection: 'forwardingRules'})
      if (!ctx.store.topology.forwardingRules.some((f) => f.name === r.name)) throw notFound(resourcePath(r))
      return {nextHopIlb: r.name}
    }
    case 'nextHopGateway': {
      const r = parseRef(String(value), project)
      if (r?.collection !== 'gateways' || r.name !== 'default-internet-gateway') throw invalidField('resource.nextHopGateway', value, 'The only gateway is default-internet-gateway.')
      return {nextHopGateway: 'default-internet-gateway'}
    }
    default:
      throw invalidField(`resource.${key}`, value, 'The lab has no next hops of this kind (instances, IPs, internal load balancers and the internet gateway only).')
  }
}

function insert(ctx: ComputeContext): unknown {
  const body = bodyOf(ctx)
  const name = checkName(body.name)
  const network = resolveRef(body.network, ctx.store.project, {field: 'resource.network', collection: 'networks', scope: GLOBAL}).name
  const destRange = stringField(body, 'destRange')
  if (destRange === undefined) throw invalidField('resource.destRange', '', 'Required.')
  const priority = body.priority === undefined ? 1000 : body.priority
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > 65535) throw invalidField('resource.priority', priority, 'Must be an integer 0..65535.')
  const description = stringField(body, 'description')
  const spec: RouteSpec = {name, network, destRange, priority, tags: stringList(body, 'tags') ?? [], ...nextHopOf(ctx, body), ...(description !== undefined ? {description} : {})}
  const target = ref(ctx.store, name)
  return mutate(ctx, {scope: GLOBAL, type: 'insert', target, what: 'route', created: true}, (draft) => {
    if (draft.routes.some((r) => r.name === name) || nodeRoutes(draft).some((r) => r.name === name)) throw alreadyExists(resourcePath(target))
    draft.routes.push(spec)
  })
}

function remove(ctx: ComputeContext, name: string): unknown {
  const target = ref(ctx.store, name)
  const derived = nodeRoutes(ctx.store.topology).find((r) => r.name === name)
  if (derived) derivedError(resourcePath(target), `GKE cluster ${derived.cluster}`)
  return mutate(ctx, {scope: GLOBAL, type: 'delete', target, what: 'route', deleted: true}, (draft) => {
    mustFind(draft.routes, name, target)
    draft.routes = draft.routes.filter((r) => r.name !== name)
  })
}

const path = (p: Params): string => `projects/${p.project}/global/routes${p.name ? `/${p.name}` : ''}`
const base = 'projects/:project/global/routes'
export const routeRoutes = [
  ...listRoutes(routes),
  route('POST', base, 'compute.routes.create', true, (p, body) => path({...p, name: bodyName(body)}), (ctx) => insert(ctx)),
  route('DELETE', `${base}/:name`, 'compute.routes.delete', true, path, (ctx, p) => remove(ctx, p.name as string)),
]

