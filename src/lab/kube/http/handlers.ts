/** Resource requests: get, list, create, update, patch, delete and the special subresources. */
import type {IncomingMessage, ServerResponse} from 'node:http'

import {type DeleteOptions, PATCH_CONTENT_TYPES} from '../api.js'
import {ApiError, badRequest, conflict, methodNotAllowed, notFound, statusSuccess} from '../errors.js'
import {apiVersionOf} from '../resources.js'
import {parseSelector} from '../selectors.js'
import {type IncludeObject, toTable, wantsTable} from '../tables.js'
import {type KubeObject, type Pod, isPlainObject} from '../types.js'
import {answerTokenRequest} from '../tokens/token-request.js'
import {checkRbacWrite} from '../rbac/escalation.js'
import {answerReview} from '../rbac/reviews.js'
import type {UserInfo} from './auth.js'
import type {ServerContext} from './context.js'
import {serveLogs} from './logs.js'
import {type ResourceRoute, intParam, isDryRun, mediaType, parseBody, readBody, sendJson} from './request.js'
import {serveWatch} from './watch.js'

function includeObject(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject')
  return value === 'None' || value === 'Object' ? value : 'Metadata'
}

function sortKey(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}\u0000${object.metadata.name ?? ''}`
}

function send(res: ServerResponse, req: IncomingMessage, query: URLSearchParams, code: number, object: KubeObject, kind: string): void {
  if (wantsTable(req.headers.accept)) sendJson(res, code, toTable(kind, [object], {include: includeObject(query), resourceVersion: object.metadata.resourceVersion}))
  else sendJson(res, code, object)
}

function list(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, query: URLSearchParams): void {
  const selector = parseSelector(query.get('labelSelector'), query.get('fieldSelector'))
  let items = ctx.store.list(route.type, route.namespace, selector)
  const resourceVersion = String(ctx.store.resourceVersion)
  const token = query.get('continue')
  if (token) {
    let after: string
    try {
      after = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')).after as string
    } catch {
      throw badRequest('invalid continue token')
    }
    items = items.filter((item) => sortKey(item) > after)
  }
  const limit = intParam(query, 'limit')
  let next: string | undefined
  let remaining: number | undefined
  if (limit && limit > 0 && items.length > limit) {
    remaining = items.length - limit
    items = items.slice(0, limit)
    next = Buffer.from(JSON.stringify({after: sortKey(items[limit - 1]!)})).toString('base64url')
  }
  if (wantsTable(req.headers.accept)) {
    sendJson(res, 200, toTable(route.type.kind, items, {include: includeObject(query), resourceVersion, continue: next}))
    return
  }
  const metadata: Record<string, unknown> = {resourceVersion}
  if (next) {
    metadata.continue = next
    metadata.remainingItemCount = remaining
  }
  sendJson(res, 200, {kind: `${route.type.kind}List`, apiVersion: apiVersionOf(route.type), metadata, items})
}

function deleteOptions(body: unknown, query: URLSearchParams): DeleteOptions {
  const options: DeleteOptions = {}
  if (isPlainObject(body)) {
    if (typeof body.gracePeriodSeconds === 'number') options.gracePeriodSeconds = body.gracePeriodSeconds
    if (typeof body.propagationPolicy === 'string') options.propagationPolicy = body.propagationPolicy as DeleteOptions['propagationPolicy']
    if (body.orphanDependents === true) options.propagationPolicy = 'Orphan'
    if (isPlainObject(body.preconditions)) options.preconditions = body.preconditions as DeleteOptions['preconditions']
    if (Array.isArray(body.dryRun) && body.dryRun.includes('All')) options.dryRun = true
  }
  const grace = intParam(query, 'gracePeriodSeconds')
  if (grace !== undefined) options.gracePeriodSeconds = grace
  const policy = query.get('propagationPolicy')
  if (policy) options.propagationPolicy = policy as DeleteOptions['propagationPolicy']
  if (query.get('orphanDependents') === 'true') options.propagationPolicy = 'Orphan'
  if (isDryRun(query)) options.dryRun = true
  return options
}

function bind(ctx: ServerContext, route: ResourceRoute, body: unknown): unknown {
  const target = isPlainObject(body) && isPlainObject(body.target) ? body.target : undefined
  if (!target || typeof target.name !== 'string') throw badRequest('a Binding needs target.name')
  const pods = route.type
  const pod = ctx.store.get(pods, route.namespace, route.name!) as Pod | undefined
  if (!pod) throw notFound(pods, route.name!)
  if (pod.spec.nodeName) throw conflict(pods, route.name!, `pod ${route.name} is already assigned to node "${pod.spec.nodeName}"`)
  ctx.store.mutate(
    pods,
    route.namespace,
    route.name!,
    (draft) => {
      ;(draft as Pod).spec.nodeName = target.name as string
    },
    {allowServerFields: true},
  )
  return statusSuccess()
}

/** The subresource a PUT or PATCH writes (undefined: the object itself), or null when it cannot be written. */
function writableSubresource(route: ResourceRoute): 'status' | 'ephemeralcontainers' | undefined | null {
  if (route.subresource === undefined) return undefined
  if (route.subresource === 'status') return 'status'
  if (route.subresource === 'ephemeralcontainers' && route.type.group === '' && route.type.resource === 'pods') return 'ephemeralcontainers'
  return null
}

export async function handleResource(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, query: URLSearchParams, user: UserInfo): Promise<void> {
  const {type} = route
  const method = req.method ?? 'GET'
  const dryRun = isDryRun(query)
  if (method === 'GET' || method === 'HEAD') {
    if (route.subresource === 'log') return serveLogs(ctx, req, res, route, query)
    const watching = route.watchPrefix || query.get('watch') === 'true' || query.get('watch') === '1'
    if (watching) return serveWatch(ctx, req, res, route, query)
    if (route.name === undefined) return list(ctx, req, res, route, query)
    const object = ctx.store.get(type, route.namespace, route.name)
    if (!object) throw notFound(type, route.name)
    return send(res, req, query, 200, object, type.kind)
  }
  if (route.watchPrefix) throw methodNotAllowed()
  const warnings: string[] = []
  const write = {dryRun, warnings, guard: (object: KubeObject, current: KubeObject | undefined) => checkRbacWrite(ctx.authorizer, user, object, current)}
  const reply = (code: number, object: KubeObject): void => {
    if (warnings.length > 0) res.setHeader('Warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`))
    send(res, req, query, code, object, type.kind)
  }
  const body = method === 'DELETE' || method === 'POST' || method === 'PUT' || method === 'PATCH' ? parseBody(await readBody(req), req.headers['content-type']) : undefined
  switch (method) {
    case 'POST': {
      if (route.subresource === 'binding') return sendJson(res, 201, bind(ctx, route, body))
      if (route.subresource === 'token' && type.group === '' && type.resource === 'serviceaccounts') {
        return sendJson(res, 201, answerTokenRequest(ctx.tokenRequests, route.namespace!, route.name!, body))
      }
      if (route.name !== undefined) throw methodNotAllowed()
      if (type.virtual) return sendJson(res, 201, answerReview(ctx.authorizer, type, route.namespace, body, user))
      return reply(201, ctx.api.create(type, route.namespace, body, write))
    }
    case 'PUT': {
      const subresource = writableSubresource(route)
      if (route.name === undefined || subresource === null) throw methodNotAllowed()
      return reply(200, ctx.api.update(type, route.namespace, route.name, body, {...write, subresource}))
    }
    case 'PATCH': {
      const subresource = writableSubresource(route)
      if (route.name === undefined || subresource === null) throw methodNotAllowed()
      const patchType = PATCH_CONTENT_TYPES[mediaType(req.headers['content-type'])]
      if (!patchType) {
        throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_CONTENT_TYPES).join(', ')}`)
      }
      const {object, created} = ctx.api.patch(type, route.namespace, route.name, patchType, body, {...write, subresource})
      return reply(created ? 201 : 200, object)
    }
    case 'DELETE': {
      if (route.subresource) throw methodNotAllowed()
      const options = deleteOptions(body, query)
      if (route.name !== undefined) return reply(200, ctx.api.delete(type, route.namespace, route.name, options))
      const selector = parseSelector(query.get('labelSelector'), query.get('fieldSelector'))
      const items = ctx.store.list(type, route.namespace, selector).map((object) => ctx.api.delete(type, object.metadata.namespace, object.metadata.name!, options))
      return sendJson(res, 200, {kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata: {resourceVersion: String(ctx.store.resourceVersion)}, items})
    }
    default:
      throw methodNotAllowed()
  }
}
