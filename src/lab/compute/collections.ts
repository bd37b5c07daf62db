/**
 * The read side every Compute collection shares: `list` (filtered, paged), `get`, and the
 * aggregated list of zonal and regional collections (`items` keyed by `zones/Z`, `regions/R` or
 * `global`). A collection only says how it shows its resources; these routes do the rest.
 */
import type {Model} from '../../core/topology/model-types.js'
import {notFound} from '../cloud/errors.js'
import {parseFilter} from '../cloud/filter.js'
import type {CreationTimes} from '../cloud/identity.js'
import {listBody, pageOf} from '../cloud/paging.js'
import {COMPUTE_BASE, type Scope, region, scopePath, zone} from '../cloud/refs.js'
import type {Params, Route} from '../cloud/router.js'
import {type ComputeContext, type View, route, viewOf} from './context.js'

export interface Shown {
  readonly scope: Scope
  readonly body: Record<string, unknown>
}

export interface Collection {
  /** the URL segment, `firewalls` */
  readonly collection: string
  /** `compute#firewall` */
  readonly kind: string
  readonly scope: 'global' | 'regions' | 'zones'
  /** the IAM prefix, `compute.firewalls` */
  readonly iam: string
  /** every resource of the collection, as the API shows it, in a stable order */
  views(view: View): Shown[]
}

/** `projects/:project/<scope>/<collection>`; zones and regions themselves hang off the project */
export function basePattern(c: Pick<Collection, 'collection' | 'scope'>, options: {noScopeSegment?: boolean} = {}): string {
  if (options.noScopeSegment) return `projects/:project/${c.collection}`
  if (c.scope === 'global') return `projects/:project/global/${c.collection}`
  return `projects/:project/${c.scope}/:${c.scope === 'zones' ? 'zone' : 'region'}/${c.collection}`
}

export function scopeOf(c: Pick<Collection, 'scope'>, params: Params): Scope {
  if (c.scope === 'zones') return zone(params.zone as string)
  if (c.scope === 'regions') return region(params.region as string)
  return {kind: 'global'}
}

export function pathOf(c: Pick<Collection, 'collection' | 'scope'>, params: Params, name?: string): string {
  return `projects/${params.project}/${scopePath(scopeOf(c, params))}/${c.collection}${name === undefined ? '' : `/${name}`}`
}

/**
 * A collection's views of the store's current model, made once per model (and server: its
 * creation times): a model is never changed (a write commits a new one), and the creation times
 * change only in the write that commits the new model, before any other request is served.
 * Without this, every page of a 20,000-route list built all 20,000 views again.
 */
const shownCache = new WeakMap<CreationTimes, WeakMap<Model, Map<Collection, Shown[]>>>()

export function shownOf(c: Collection, ctx: ComputeContext): Shown[] {
  const view = viewOf(ctx)
  let byModel = shownCache.get(view.times)
  if (!byModel) shownCache.set(view.times, (byModel = new WeakMap()))
  let byCollection = byModel.get(view.model)
  if (!byCollection) byModel.set(view.model, (byCollection = new Map()))
  let shown = byCollection.get(c)
  if (!shown) byCollection.set(c, (shown = c.views(view)))
  return shown
}

/** the bodies of `shown` in `scope` (all of them for `undefined`), made once per views and scope: every page of a list asks */
const inScopeCache = new WeakMap<Shown[], Map<string, Array<Record<string, unknown>>>>()

function bodiesIn(shown: Shown[], scope: Scope | undefined): Array<Record<string, unknown>> {
  let byScope = inScopeCache.get(shown)
  if (!byScope) inScopeCache.set(shown, (byScope = new Map()))
  const key = scope ? scopePath(scope) : '*'
  let bodies = byScope.get(key)
  if (!bodies) byScope.set(key, (bodies = shown.filter((s) => !scope || sameScope(s.scope, scope)).map((s) => s.body)))
  return bodies
}

function sameScope(a: Scope, b: Scope): boolean {
  return a.kind === b.kind && (a.kind === 'global' || (b.kind !== 'global' && a.name === b.name))
}

/** the resource `name` of the collection in the request's scope, as shown, or the 404 */
export function findShown(c: Collection, ctx: ComputeContext, params: Params, name: string): Record<string, unknown> {
  const scope = scopeOf(c, params)
  const found = shownOf(c, ctx).find((s) => s.body.name === name && sameScope(s.scope, scope))
  if (!found) throw notFound(pathOf(c, params, name))
  return found.body
}

function listKind(kind: string, suffix: string): string {
  return `${kind}${suffix}`
}

export function listRoutes(c: Collection, options: {noScopeSegment?: boolean} = {}): Array<Route<ComputeContext>> {
  const base = basePattern(c, options)
  const list = route('GET', base, `${c.iam}.list`, false, (p) => (options.noScopeSegment ? `projects/${p.project}` : pathOf(c, p)), (ctx, params) => {
    const scope = scopeOf(c, params)
    const text = ctx.request.query.get('filter')
    const filter = parseFilter(text)
    const inScope = bodiesIn(shownOf(c, ctx), options.noScopeSegment ? undefined : scope)
    const items = text && text.trim() !== '' ? inScope.filter(filter) : inScope
    const id = options.noScopeSegment ? `projects/${params.project}/${c.collection}` : pathOf(c, params)
    return listBody(listKind(c.kind, 'List'), id, `${COMPUTE_BASE}${id}`, pageOf(items, ctx.request.query))
  })
  const get = route('GET', `${base}/:name`, `${c.iam}.get`, false, (p) => (options.noScopeSegment ? `projects/${p.project}/${c.collection}/${p.name}` : pathOf(c, p, p.name)), (ctx, params) => {
    if (!options.noScopeSegment) return findShown(c, ctx, params, params.name as string)
    const found = shownOf(c, ctx).find((s) => s.body.name === params.name)
    if (!found) throw notFound(`projects/${params.project}/${c.collection}/${params.name}`)
    return found.body
  })
  const routes = [list, get]
  if (c.scope !== 'global') routes.push(aggregatedRoute([c], c.collection, c.iam))
  return routes
}

/** `aggregated/<collection>`: the resources of several collections (global and regional health checks) by scope */
export function aggregatedRoute(collections: readonly Collection[], name: string, iam: string): Route<ComputeContext> {
  const kind = collections[0]?.kind ?? 'compute#unknown'
  return route('GET', `projects/:project/aggregated/${name}`, `${iam}.list`, false, (p) => `projects/${p.project}`, (ctx, params) => {
    const filter = parseFilter(ctx.request.query.get('filter'))
    const all = collections.flatMap((c) => shownOf(c, ctx)).filter((s) => filter(s.body))
    const page = pageOf(all, ctx.request.query)
    const items: Record<string, Record<string, unknown>> = {}
    for (const shown of page.items) {
      const key = scopePath(shown.scope)
      const entry = (items[key] ??= {[name]: []}) as Record<string, unknown[]>
      ;(entry[name] as unknown[]).push(shown.body)
    }
    const id = `projects/${params.project}/aggregated/${name}`
    return {kind: listKind(kind, 'AggregatedList'), id, items, ...(page.nextPageToken ? {nextPageToken: page.nextPageToken} : {}), selfLink: `${COMPUTE_BASE}${id}`}
  })
}
