/**
 * The HTTPS front of the emulated API server: TLS with optional client certificates, then
 * authentication (and impersonation), RBAC authorization, and dispatch to discovery, OpenAPI or resource handlers.
 * Every failure is answered as a `Status` object.
 */
import type {IncomingMessage, Server, ServerResponse} from 'node:http'

import {serveLoopback} from '../../http/server.js'
import {ApiError, notFoundPath, statusFailure, unauthorized} from '../errors.js'
import type {ResourceRegistry} from '../resources.js'
import {type Authenticator, authorize, forbiddenError, requestAttributes} from './auth.js'
import {apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION} from './discovery.js'
import {handleResource} from './handlers.js'
import type {ServerContext} from './context.js'
import {impersonate} from './impersonation.js'
import {openApiV2, openApiV3Document, openApiV3Root} from './openapi.js'
import {parseResourcePath, sendError, sendJson} from './request.js'

export interface HttpOptions {
  readonly host: string
  readonly port: number
  readonly tls: {key: string; cert: string; caCert: string}
  readonly registry: ResourceRegistry
  readonly authenticator: Authenticator
  readonly context: ServerContext
}

const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz'])

async function dispatch(options: HttpOptions, req: IncomingMessage, res: ServerResponse, address: () => string): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://localhost')
  const path = url.pathname.replace(/\/+$/, '') || '/'
  const query = url.searchParams
  if (PUBLIC_PATHS.has(path) && req.method === 'GET') {
    if (path === '/version') return sendJson(res, 200, SERVER_VERSION)
    res.writeHead(200, {'Content-Type': 'text/plain'})
    res.end('ok')
    return
  }
  const authenticated = options.authenticator.authenticate(req)
  if (!authenticated) throw unauthorized()
  const {authorizer} = options.context
  const user = impersonate(req, authenticated, authorizer)
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent)
  const route = parseResourcePath(options.registry, segments)
  const attributes = requestAttributes(req.method ?? 'GET', url.pathname, route, query)
  const decision = authorize(authorizer, user, attributes)
  if (!decision.allowed) throw forbiddenError(user, attributes, decision.reason)
  if (route) return handleResource(options.context, req, res, route, query, user)
  if (req.method !== 'GET') throw notFoundPath()
  const {registry} = options
  let body: unknown
  if (path === '/api') body = apiVersions(address())
  else if (path === '/apis') body = apiGroupList(registry)
  else if (segments[0] === 'api' && segments.length === 2) body = apiResourceList(registry, '', segments[1]!)
  else if (segments[0] === 'apis' && segments.length === 2) body = apiGroup(registry, segments[1]!)
  else if (segments[0] === 'apis' && segments.length === 3) body = apiResourceList(registry, segments[1]!, segments[2]!)
  else if (path === '/.well-known/openid-configuration') body = options.context.tokenRequests.tokens.openidConfiguration()
  else if (path === '/openid/v1/jwks') body = options.context.tokenRequests.tokens.jwks()
  else if (path === '/openapi/v2') body = openApiV2(registry)
  else if (path === '/openapi/v3') body = openApiV3Root(registry)
  else if (segments[0] === 'openapi' && segments[1] === 'v3') body = openApiV3Document(registry, segments.slice(2).join('/'))
  if (body === undefined) throw notFoundPath()
  sendJson(res, 200, body)
}

export function listen(options: HttpOptions): Promise<{server: Server; port: number}> {
  return serveLoopback({
    host: options.host, port: options.port, tls: options.tls,
    handle: (req, res, address) => dispatch(options, req, res, address),
    fail: (res, error) => {
      if (error instanceof ApiError) sendError(res, error)
      else sendJson(res, 500, statusFailure(500, 'InternalError', `Internal error occurred: ${(error as Error)?.message ?? String(error)}`))
    },
  })
}
