/** Compute's operation collections: global, regional and zonal `get`, `wait`, `list`, `delete`, and the aggregated list. */
import {parseFilter} from '../cloud/filter.js'
import {listBody, pageOf} from '../cloud/paging.js'
import {COMPUTE_BASE, GLOBAL, type Scope, region, scopePath, zone} from '../cloud/refs.js'
import type {Params} from '../cloud/router.js'
import {type ComputeContext, route} from './context.js'

type Kind = 'global' | 'regions' | 'zones'

const IAM: Readonly<Record<Kind, string>> = {global: 'compute.globalOperations', regions: 'compute.regionOperations', zones: 'compute.zoneOperations'}

function scopeOf(kind: Kind, params: Params): Scope {
  if (kind === 'zones') return zone(params.zone as string)
  if (kind === 'regions') return region(params.region as string)
  return GLOBAL
}

function base(kind: Kind): string {
  if (kind === 'zones') return 'projects/:project/zones/:zone/operations'
  if (kind === 'regions') return 'projects/:project/regions/:region/operations'
  return 'projects/:project/global/operations'
}

function routesOf(kind: Kind): Array<ReturnType<typeof route>> {
  const path = (p: Params): string => `projects/${p.project}/${scopePath(scopeOf(kind, p))}/operations${p.name ? `/${p.name}` : ''}`
  return [
    route('GET', base(kind), `${IAM[kind]}.list`, false, path, (ctx: ComputeContext, p) => {
      const filter = parseFilter(ctx.request.query.get('filter'))
      const items = ctx.ops.list(p.project as string, scopeOf(kind, p)).filter(filter)
      return listBody('compute#operationList', path(p), `${COMPUTE_BASE}${path(p)}`, pageOf(items, ctx.request.query))
    }),
    route('GET', `${base(kind)}/:name`, `${IAM[kind]}.get`, false, path, (ctx: ComputeContext, p) => ctx.ops.get(p.project as string, scopeOf(kind, p), p.name as string)),
    route('POST', `${base(kind)}/:name/wait`, `${IAM[kind]}.get`, false, path, (ctx: ComputeContext, p) => ctx.ops.wait(p.project as string, scopeOf(kind, p), p.name as string)),
    route('DELETE', `${base(kind)}/:name`, `${IAM[kind]}.delete`, true, path, (ctx: ComputeContext, p) => {
      ctx.ops.delete(p.project as string, scopeOf(kind, p), p.name as string)
      return {}
    }),
  ]
}

export const operationRoutes = [
  ...routesOf('global'), ...routesOf('regions'), ...routesOf('zones'),
  route('GET', 'projects/:project/aggregated/operations', 'compute.globalOperations.list', false, (p) => `projects/${p.project}`, (ctx, p) => {
    const filter = parseFilter(ctx.request.query.get('filter'))
    const page = pageOf(ctx.ops.list(p.project as string).filter(filter), ctx.request.query)
    const items: Record<string, {operations: unknown[]}> = {}
    for (const op of page.items) {
      const key = typeof op.zone === 'string' ? `zones/${op.zone.split('/').pop()}` : typeof op.region === 'string' ? `regions/${op.region.split('/').pop()}` : 'global'
      ;(items[key] ??= {operations: []}).operations.push(op)
    }
    const id = `projects/${p.project}/aggregated/operations`
    return {kind: 'compute#operationAggregatedList', id, items, ...(page.nextPageToken ? {nextPageToken: page.nextPageToken} : {}), selfLink: `${COMPUTE_BASE}${id}`}
  }),
]
