/**
 * `regionBackendServices` (INTERNAL): the topology's `backendServices`. The API's backends are
 * instance groups; the topology keeps their names (`groups`) and the flattened members
 * (`backends`), which the load balancer sends to. Its health check is named and copied
 * (`healthCheck`). gcloud's `backend-services add-backend` GETs the service and PUTs it back
 * whole. `getHealth` reports each member as the lab decides health: from the firewall (ILB-08).
 */
import {formatIp} from '../../core/net/ipv4.js'
import type {BackendServiceSpec, Topology} from '../../core/topology/schema.js'
import {probersAdmitted} from '../compile/health-checks.js'
import {alreadyExists, conditionNotMet, inUse, invalidField, notFound, required} from '../cloud/errors.js'
import {fingerprint, sameFingerprint} from '../cloud/identity.js'
import {GLOBAL, checkName, parseRef, region, resolveRef, resourcePath, scopeLink, selfLink, zone} from '../cloud/refs.js'
import type {Params} from '../cloud/router.js'
import {type Collection, findShown, listRoutes, pathOf} from './collections.js'
import {type ComputeContext, type View, bodyName, bodyOf, identity, mutate, refOf, route, stringField, viewOf} from './context.js'
import {backendGroups, backendsFromGroups} from './groups.js'
import {allChecks, checkOf} from './health-checks.js'
import {backendServiceUsers} from './usage.js'
import {checkRegion} from './zones.js'

function serviceView(view: View, b: BackendServiceSpec): Record<string, unknown> {
  const r = refOf(view, region(b.region), 'backendServices', b.name)
  const frontend = view.topology.forwardingRules.find((f) => f.backendService === b.name)
  const network = frontend?.network ?? view.model.instances.get(b.backends[0] ?? '')?.nics[0]?.network
  const check = checkOf(view.topology, b)
  const shown = {
    ...identity(view, 'compute#backendService', r), description: b.description ?? '', selfLink: selfLink(r),
    backends: backendGroups(view.topology, b).map((g) => ({group: selfLink(refOf(view, zone(g.zone), 'instanceGroups', g.name)), balancingMode: 'CONNECTION', failover: false})),
    ...(check ? {healthChecks: [selfLink(refOf(view, check.scope, 'healthChecks', check.name))]} : {}),
    timeoutSec: 30, protocol: frontend?.IPProtocol === 'UDP' ? 'UDP' : frontend?.IPProtocol === 'L3_DEFAULT' ? 'UNSPECIFIED' : 'TCP',
    sessionAffinity: 'NONE', affinityCookieTtlSec: 0, region: scopeLink(view.project, region(b.region)), loadBalancingScheme: 'INTERNAL',
    connectionDraining: {drainingTimeoutSec: 0}, ...(network ? {network: selfLink(refOf(view, GLOBAL, 'networks', network))} : {}),
  }
  return {...shown, fingerprint: fingerprint(shown)}
}

export const backendServices: Collection = {
  collection: 'backendServices', kind: 'compute#backendService', scope: 'regions', iam: 'compute.regionBackendServices',
  views: (view) => view.topology.backendServices.map((b) => ({scope: region(b.region), body: serviceView(view, b)})),
}

/** health check, groups and backends of a request body (insert, PUT, or the fields a PATCH names) */
function fieldsOf(ctx: ComputeContext, draft: Topology, where: string, body: Record<string, unknown>, old?: BackendServiceSpec): Partial<BackendServiceSpec> {
  const project = ctx.store.project
  const scheme = stringField(body, 'loadBalancingScheme')
  if (scheme !== undefined && scheme !== 'INTERNAL') throw invalidField('resource.loadBalancingScheme', scheme, 'The lab serves internal passthrough load balancers only (INTERNAL).')
  const out: Partial<BackendServiceSpec> = {}
  if (body.healthChecks !== undefined || !old) {
    const list = body.healthChecks
    if (!Array.isArray(list) || list.length !== 1) throw invalidField('resource.healthChecks', list ?? '', 'An internal backend service needs exactly one health check.')
    const r = parseRef(String(list[0]), project) ?? resolveRef(list[0], project, {field: 'resource.healthChecks[0]', collection: 'healthChecks', scope: GLOBAL})
    if (r.collection !== 'healthChecks') throw invalidField('resource.healthChecks[0]', list[0], 'Must be a health check.')
    if (r.scope.kind === 'regions' && r.scope.name !== where) throw invalidField('resource.healthChecks[0]', list[0], `A regional health check must be in the backend service's region ${where}.`)
    const check = allChecks(draft).find((c) => c.name === r.name && c.scope.kind === r.scope.kind && (c.scope.kind === 'global' || (r.scope.kind !== 'global' && c.scope.name === r.scope.name)))
    if (!check) throw notFound(resourcePath(r))
    if (check.derivedFor !== undefined && check.derivedFor !== old?.name) throw invalidField('resource.healthChecks[0]', list[0], `It is the derived health check of backend service ${check.derivedFor}.`)
    out.healthCheck = {...(check.derivedFor === undefined ? {name: check.name} : {}), protocol: check.type, port: check.port, ...(check.requestPath !== undefined ? {requestPath: check.requestPath} : {})}
  }
  if (body.backends !== undefined || !old) {
    const list = (body.backends ?? []) as unknown
    if (!Array.isArray(list)) throw invalidField('resource.backends', list, 'Must be a list of {group}.')
    const refs = list.map((entry: unknown, i) => {
      const r = resolveRef((entry as Record<string, unknown> | null)?.group, project, {field: `resource.backends[${i}].group`, collection: 'instanceGroups'})
      if (r.scope.kind !== 'zones') throw invalidField(`resource.backends[${i}].group`, r.name, 'Must be a zonal instance group.')
      return {name: r.name, zone: r.scope.name}
    })
    const flat = backendsFromGroups(draft, refs)
    if ('unknown' in flat) throw notFound(resourcePath(refOf(ctx.store, zone(flat.unknown.zone), 'instanceGroups', flat.unknown.name)))
    out.groups = flat.groups
    out.backends = flat.backends
  }
  const description = stringField(body, 'description')
  if (description !== undefined) out.description = description
  return out
}

function insert(ctx: ComputeContext, params: Params): unknown {
  const where = checkRegion(ctx.store.topology, params.region as string)
  const body = bodyOf(ctx)
  const name = checkName(body.name)
  if (body.loadBalancingScheme === undefined) throw required('resource.loadBalancingScheme')
  const target = refOf(ctx.store, region(where), 'backendServices', name)
  return mutate(ctx, {scope: region(where), type: 'insert', target, what: 'backend service', created: true}, (draft) => {
    if (draft.backendServices.some((b) => b.name === name)) throw alreadyExists(resourcePath(target))
    const fields = fieldsOf(ctx, draft, where, body)
    draft.backendServices.push({name, region: where, backends: fields.backends ?? [], healthCheck: fields.healthCheck as BackendServiceSpec['healthCheck'], ...(fields.groups?.length ? {groups: fields.groups} : {}), ...(fields.description ? {description: fields.description} : {})})
  })
}

function change(ctx: ComputeContext, params: Params, type: 'patch' | 'update'): unknown {
  const where = params.region as string
  const body = bodyOf(ctx)
  const target = refOf(ctx.store, region(where), 'backendServices', params.name as string)
  return mutate(ctx, {scope: region(where), type, target, what: 'backend service'}, (draft) => {
    const b = draft.backendServices.find((x) => x.name === params.name && x.region === where)
    if (!b) throw notFound(resourcePath(target))
    const given = stringField(body, 'fingerprint')
    if (given !== undefined && !sameFingerprint(given, findShown(backendServices, ctx, params, b.name).fingerprint)) throw conditionNotMet('fingerprint')
    const fields = fieldsOf(ctx, draft, where, type === 'update' ? {backends: [], ...body} : body, b)
    if (fields.healthCheck) b.healthCheck = fields.healthCheck
    if (fields.backends) b.backends = fields.backends
    if (fields.groups) {
      if (fields.groups.length > 0) b.groups = fields.groups
      else delete b.groups
    }
    // gcloud's add-backend echoes the description it read, `""` for none
    if (fields.description) b.description = fields.description
    else if (fields.description === '') delete b.description
  })
}

function remove(ctx: ComputeContext, params: Params): unknown {
  const where = params.region as string
  const target = refOf(ctx.store, region(where), 'backendServices', params.name as string)
  return mutate(ctx, {scope: region(where), type: 'delete', target, what: 'backend service', deleted: true}, (draft) => {
    const b = draft.backendServices.find((x) => x.name === params.name && x.region === where)
    if (!b) throw notFound(resourcePath(target))
    const user = backendServiceUsers(draft, ctx.store.project, b.name)[0]
    if (user) throw inUse('backendService', resourcePath(target), user)
    draft.backendServices = draft.backendServices.filter((x) => x !== b)
  })
}

/** POST getHealth {group}: each member's health as the lab decides it (not an operation) */
function getHealth(ctx: ComputeContext, params: Params): unknown {
  findShown(backendServices, ctx, params, params.name as string)
  const view = viewOf(ctx)
  const b = view.topology.backendServices.find((x) => x.name === params.name) as BackendServiceSpec
  const groupRef = resolveRef(bodyOf(ctx).group, view.project, {field: 'group', collection: 'instanceGroups'})
  const flat = backendsFromGroups(view.topology, [{name: groupRef.name, zone: groupRef.scope.kind === 'zones' ? groupRef.scope.name : ''}])
  if ('unknown' in flat) throw notFound(resourcePath(groupRef))
  const frontends = [...view.model.forwardingRules.values()].filter((f) => f.backendService.name === b.name)
  const healthStatus = flat.backends.map((m) => {
    const instance = view.model.instances.get(m)
    const network = frontends[0] ? view.model.networks.get(frontends[0].network) : undefined
    const state = !instance || !frontends[0] || !network ? 'UNKNOWN' : probersAdmitted(network, instance, frontends[0].ip, b.healthCheck.port) ? 'HEALTHY' : 'UNHEALTHY'
    return {
      instance: selfLink(refOf(view, zone(instance?.zone ?? ''), 'instances', m)), ipAddress: instance?.nics[0] ? formatIp(instance.nics[0].ip) : '', port: b.healthCheck.port, healthState: state,
      ...(frontends[0] ? {forwardingRule: selfLink(refOf(view, region(frontends[0].region), 'forwardingRules', frontends[0].name)), forwardingRuleIp: formatIp(frontends[0].ip)} : {}),
    }
  })
  return {kind: 'compute#backendServiceGroupHealth', ...(healthStatus.length ? {healthStatus} : {})}
}

const path = (p: Params): string => pathOf(backendServices, p, p.name)
const base = 'projects/:project/regions/:region/backendServices'
export const backendServiceRoutes = [
  ...listRoutes(backendServices),
  route('POST', base, 'compute.regionBackendServices.create', true, (p, body) => pathOf(backendServices, p, bodyName(body)), insert),
  route('PATCH', `${base}/:name`, 'compute.regionBackendServices.update', true, path, (ctx, p) => change(ctx, p, 'patch')),
  route('PUT', `${base}/:name`, 'compute.regionBackendServices.update', true, path, (ctx, p) => change(ctx, p, 'update')),
  route('DELETE', `${base}/:name`, 'compute.regionBackendServices.delete', true, path, remove),
  route('POST', `${base}/:name/getHealth`, 'compute.regionBackendServices.get', false, path, getHealth),
]
