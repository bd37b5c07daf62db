/**
 * Requests of the lab's cloud APIs, abstracted from HTTP so that one dispatcher serves plain
 * requests and the parts of a batch alike. A route names the permission it needs (GCP's IAM
 * names: `compute.firewalls.create`) and whether it writes: the viewer token may only read.
 */
import type {IncomingHttpHeaders} from 'node:http'

import type {CloudRole} from './auth.js'
import {CloudError, forbidden} from './errors.js'

export interface CloudRequest {
  readonly method: string
  /** the path without its query, `/compute/v1/projects/p/global/networks` */
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingHttpHeaders
  /** the parsed JSON body; undefined when there was none (or `""`, which the Node client sends to wait) */
  readonly body: unknown
  readonly role: CloudRole
  /** permissions the caller lacks (the lab's fault file: a custom role without them) */
  readonly denied?: ReadonlySet<string>
}

export interface CloudResponse {
  readonly status: number
  readonly body: unknown
}

export type Params = Readonly<Record<string, string>>

export interface Route<C> {
  readonly method: string
  /** segments after the API's prefix; `:name` captures one segment */
  readonly pattern: string
  /** the IAM permission the request needs */
  readonly permission: string
  readonly write: boolean
  /** permissions GCP also checks on this request, from its body (an instance insert: its disk, subnetworks, metadata…) */
  readonly also?: (body: unknown) => readonly string[]
  /** the resource a 403 names (`projects/p/global/firewalls/fw`; an insert names it in its body) */
  resource(params: Params, body: unknown): string
  handle(ctx: C, params: Params): unknown
}

interface Compiled<C> {
  readonly route: Route<C>
  readonly segments: readonly string[]
}

export class Router<C> {
  private readonly routes: Array<Compiled<C>> = []

  add(...routes: ReadonlyArray<Route<C>>): this {
    for (const route of routes) this.routes.push({route, segments: route.pattern.split('/')})
    return this
  }

  /** every permission a route needs, with whether some route needing it writes */
  permissions(): ReadonlyMap<string, boolean> {
    const out = new Map<string, boolean>()
    for (const {route} of this.routes) out.set(route.permission, (out.get(route.permission) ?? false) || route.write)
    return out
  }

  /** the route and its parameters; literal segments win over parameters at the same place */
  match(method: string, segments: readonly string[]): {route: Route<C>; params: Params} | {methods: string[]} | undefined {
    let best: {route: Route<C>; params: Params; literals: number} | undefined
    const methods = new Set<string>()
    for (const {route, segments: pattern} of this.routes) {
      if (pattern.length !== segments.length) continue
      const params: Record<string, string> = {}
      let literals = 0
      let ok = true
      for (let i = 0; i < pattern.length && ok; i++) {
        const want = pattern[i] as string
        const got = segments[i] as string
        if (want.startsWith(':')) params[want.slice(1)] = decodeURIComponent(got)
        else if (want === got) literals++
        else ok = false
      }
      if (!ok) continue
      methods.add(route.method)
      if (route.method !== method) continue
      if (!best || literals > best.literals) best = {route, params, literals}
    }
    if (best) return {route: best.route, params: best.params}
    return methods.size > 0 ? {methods: [...methods]} : undefined
  }
}

/** Runs the matched route for `request`: 404 for no route, 405 for another method, 403 for a viewer's write or a denied permission. */
export async function dispatch<C>(router: Router<C>, ctx: C, request: CloudRequest, segments: readonly string[]): Promise<CloudResponse> {
  const found = router.match(request.method, segments)
  if (!found) throw new CloudError(404, `The requested URL ${request.path} was not found on this server.`, 'notFound')
  if ('methods' in found) throw new CloudError(405, `Method ${request.method} is not allowed for ${request.path} (allowed: ${found.methods.join(', ')}).`, 'httpMethodNotAllowed')
  const {route, params} = found
  if ((route.write && request.role !== 'admin') || request.denied?.has(route.permission)) throw forbidden(route.permission, route.resource(params, request.body))
  const lacking = request.denied && route.also?.(request.body).find((p) => request.denied?.has(p))
  if (lacking) throw forbidden(lacking, route.resource(params, request.body))
  return {status: 200, body: await route.handle(ctx, params)}
}
