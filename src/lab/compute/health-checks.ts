/**
 * `healthChecks` (global) and `regionHealthChecks`: the topology's `healthChecks`, plus one
 * derived regional check `<backend service>-hc` for each backend service whose `healthCheck`
 * names none (a hand-written topology). A change of a check is copied into every backend service
 * that names it, because the lab decides health from that copy (ILB-08). Only fixed ports are
 * served; intervals and thresholds show GCE's defaults.
 */
import type {BackendServiceSpec, HealthCheckSpec, Topology} from '../../core/topology/schema.js'
import {alreadyExists, inUse, invalidField, notFound, required} from '../cloud/errors.js'
import {GLOBAL, type Scope, checkName, region, resourcePath, scopeLink, scopePath, selfLink} from '../cloud/refs.js'
import type {Params} from '../cloud/router.js'
import {type Collection, aggregatedRoute, listRoutes, pathOf} from './collections.js'
import {type ComputeContext, type View, bodyName, bodyOf, derivedError, identity, mutate, refOf, route, stringField} from './context.js'
import {healthCheckUsers} from './usage.js'
import {checkRegion} from './zones.js'

type Protocol = HealthCheckSpec['type']
const PROTOCOLS: readonly Protocol[] = ['TCP', 'HTTP', 'HTTPS', 'HTTP2', 'SSL', 'GRPC']
const fieldOf = (type: Protocol): string => `${type.toLowerCase()}HealthCheck`

export interface CheckInfo {
  readonly name: string
  readonly scope: Scope
  readonly type: Protocol
  readonly port: number
  readonly requestPath?: string
  readonly description?: string
  /** the backend service a derived check stands for */
  readonly derivedFor?: string
}

export function allChecks(t: Topology): CheckInfo[] {
  return [
    ...t.healthChecks.map((h) => ({name: h.name, scope: h.region ? region(h.region) : GLOBAL, type: h.type, port: h.port, ...(h.requestPath !== undefined ? {requestPath: h.requestPath} : {}), ...(h.description !== undefined ? {description: h.description} : {})})),
    ...t.backendServices.filter((b) => b.healthCheck.name === undefined).map((b) => ({
      name: `${b.name}-hc`.slice(0, 63), scope: region(b.region), type: b.healthCheck.protocol, port: b.healthCheck.port,
      ...(b.healthCheck.requestPath !== undefined ? {requestPath: b.healthCheck.requestPath} : {}), description: `the health check of backend service ${b.name} (derived by the lab)`, derivedFor: b.name,
    })),
  ]
}

/** the check a backend service uses, as the API names it */
export function checkOf(t: Topology, b: BackendServiceSpec): CheckInfo | undefined {
  return allChecks(t).find((c) => (b.healthCheck.name === undefined ? c.derivedFor === b.name : c.name === b.healthCheck.name && c.derivedFor === undefined))
}

function checkView(view: View, c: CheckInfo): Record<string, unknown> {
  const r = refOf(view, c.scope, 'healthChecks', c.name)
  const port = {port: c.port, portSpecification: 'USE_FIXED_PORT', proxyHeader: 'NONE', ...(c.requestPath !== undefined ? {requestPath: c.requestPath} : {})}
  return {
    ...identity(view, 'compute#healthCheck', r), ...(c.description !== undefined ? {description: c.description} : {}),
    checkIntervalSec: 5, timeoutSec: 5, unhealthyThreshold: 2, healthyThreshold: 2, type: c.type, [fieldOf(c.type)]: port,
    ...(c.scope.kind === 'regions' ? {region: scopeLink(view.project, c.scope)} : {}), selfLink: selfLink(r),
  }
}

export const globalHealthChecks: Collection = {
  collection: 'healthChecks', kind: 'compute#healthCheck', scope: 'global', iam: 'compute.healthChecks',
  views: (view) => allChecks(view.topology).filter((c) => c.scope.kind === 'global').map((c) => ({scope: c.scope, body: checkView(view, c)})),
}

export const regionHealthChecks: Collection = {
  collection: 'healthChecks', kind: 'compute#healthCheck', scope: 'regions', iam: 'compute.regionHealthChecks',
  views: (view) => allChecks(view.topology).filter((c) => c.scope.kind === 'regions').map((c) => ({scope: c.scope, body: checkView(view, c)})),
}

/** type, port and path of a request body; `base` fills what a PATCH leaves out */
function checkFields(body: Record<string, unknown>, base?: HealthCheckSpec): Pick<HealthCheckSpec, 'type' | 'port' | 'requestPath'> {
  const type = (stringField(body, 'type') ?? base?.type) as Protocol | undefined
  if (type === undefined) throw required('resource.type')
  if (!PROTOCOLS.includes(type)) throw invalidField('resource.type', type, `The lab serves ${PROTOCOLS.join(', ')} health checks.`)
  const given = (body[fieldOf(type)] ?? {}) as Record<string, unknown>
  const spec = given.portSpecification
  if (spec !== undefined && spec !== 'USE_FIXED_PORT') throw invalidField(`resource.${fieldOf(type)}.portSpecification`, spec, 'The lab\'s health checks probe a fixed port.')
  if (given.portName !== undefined) throw invalidField(`resource.${fieldOf(type)}.portName`, given.portName, 'The lab\'s health checks probe a fixed port.')
  const port = given.port ?? base?.port ?? 80
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw invalidField(`resource.${fieldOf(type)}.port`, port, 'Must be 1..65535.')
  const requestPath = typeof given.requestPath === 'string' ? given.requestPath : type === base?.type ? base.requestPath : undefined
  return {type, port, ...(requestPath !== undefined && type !== 'TCP' && type !== 'SSL' && type !== 'GRPC' ? {requestPath} : {})}
}

/** copies a check into the backend services that name it (their `healthCheck` is what the lab reads) */
function copyToBackends(t: Topology, h: HealthCheckSpec): void {
  for (const b of t.backendServices) {
    if (b.healthCheck.name !== h.name) continue
    b.healthCheck = {name: h.name, protocol: h.type, port: h.port, ...(h.requestPath !== undefined ? {requestPath: h.requestPath} : {})}
  }
}

function scopeOf(params: Params): Scope {
  return params.region ? region(params.region) : GLOBAL
}

function insert(ctx: ComputeContext, params: Params): unknown {
  const scope = scopeOf(params)
  if (scope.kind === 'regions') checkRegion(ctx.store.topology, scope.name)
  const body = bodyOf(ctx)
  const name = checkName(body.name)
  const fields = checkFields(body)
  const target = refOf(ctx.store, scope, 'healthChecks', name)
  return mutate(ctx, {scope, type: 'insert', target, what: 'health check', created: true}, (draft) => {
    // health check names are one name space in a lab, global and regional alike (docs/topology.md)
    if (allChecks(draft).some((c) => c.name === name)) throw alreadyExists(resourcePath(target))
    const description = stringField(body, 'description')
    draft.healthChecks.push({name, ...(scope.kind === 'regions' ? {region: scope.name} : {}), ...fields, ...(description !== undefined ? {description} : {})})
  })
}

function find(draft: Topology, params: Params): HealthCheckSpec {
  const scope = scopeOf(params)
  const name = params.name as string
  const found = draft.healthChecks.find((h) => h.name === name && (scope.kind === 'global' ? h.region === undefined : h.region === scope.name))
  if (found) return found
  const derived = allChecks(draft).find((c) => c.name === name && scopePath(c.scope) === scopePath(scope))
  if (derived?.derivedFor) derivedError(path(params), `backend service ${derived.derivedFor}`)
  throw notFound(path(params))
}

function change(ctx: ComputeContext, params: Params, type: 'patch' | 'update'): unknown {
  const scope = scopeOf(params)
  const body = bodyOf(ctx)
  const target = refOf(ctx.store, scope, 'healthChecks', params.name as string)
  return mutate(ctx, {scope, type, target, what: 'health check'}, (draft) => {
    const h = find(draft, params)
    const fields = checkFields(body, type === 'patch' ? h : undefined)
    Object.assign(h, fields)
    if (fields.requestPath === undefined) delete h.requestPath
    const description = stringField(body, 'description')
    if (description !== undefined) h.description = description
    copyToBackends(draft, h)
  })
}

function remove(ctx: ComputeContext, params: Params): unknown {
  const scope = scopeOf(params)
  const target = refOf(ctx.store, scope, 'healthChecks', params.name as string)
  return mutate(ctx, {scope, type: 'delete', target, what: 'health check', deleted: true}, (draft) => {
    const h = find(draft, params)
    const user = healthCheckUsers(draft, ctx.store.project, h.name)[0]
    if (user) throw inUse('healthCheck', resourcePath(target), user)
    draft.healthChecks = draft.healthChecks.filter((x) => x !== h)
  })
}

function path(p: Params): string {
  return pathOf(p.region ? regionHealthChecks : globalHealthChecks, p, p.name)
}

function writes(base: string, iam: string): ReturnType<typeof route>[] {
  return [
    route('POST', base, `${iam}.create`, true, (p, body) => path({...p, name: bodyName(body)}), insert),
    route('PATCH', `${base}/:name`, `${iam}.update`, true, path, (ctx, p) => change(ctx, p, 'patch')),
    route('PUT', `${base}/:name`, `${iam}.update`, true, path, (ctx, p) => change(ctx, p, 'update')),
    route('DELETE', `${base}/:name`, `${iam}.delete`, true, path, remove),
  ]
}

export const healthCheckRoutes = [
  ...listRoutes(globalHealthChecks),
  ...listRoutes(regionHealthChecks).filter((r) => !r.pattern.includes('aggregated')),
  aggregatedRoute([globalHealthChecks, regionHealthChecks], 'healthChecks', 'compute.healthChecks'),
  ...writes('projects/:project/global/healthChecks', 'compute.healthChecks'),
  ...writes('projects/:project/regions/:region/healthChecks', 'compute.regionHealthChecks'),
]
