/**
 * Authentication: a client certificate verified against the cluster CA (user = CN, groups = O,
 * plus `system:authenticated`), or `Authorization: Bearer <token>`: static tokens (the user and
 * groups they were given, plus `system:authenticated`) and ServiceAccount tokens
 * (`system:serviceaccount:<ns>:<name>` in `system:serviceaccounts`,
 * `system:serviceaccounts:<ns>` and `system:authenticated`). Authorization: RBAC
 * (rbac/authorizer.ts), worded on denial exactly as kube-apiserver words it.
 */
import {createHash, timingSafeEqual} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import type {TLSSocket} from 'node:tls'

import type {UserInfo} from '../controllers/serviceaccounts.js'
import {ApiError, forbiddenObject} from '../errors.js'
import type {Decision, RbacAuthorizer} from '../rbac/authorizer.js'
import type {RequestAttributes} from '../rbac/rules.js'
import {parseFieldSelector} from '../selectors.js'
import type {ResourceRoute} from './request.js'

export type {RequestAttributes, UserInfo}

export interface StaticTokenUser {
  user: string
  groups: string[]
}

export interface Authenticator {
  authenticate(req: IncomingMessage): UserInfo | undefined
}

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

export function createAuthenticator(options: {
  staticTokens?: ReadonlyMap<string, StaticTokenUser>
  serviceAccountToken: (token: string) => UserInfo | undefined
}): Authenticator {
  const statics = [...(options.staticTokens ?? new Map<string, StaticTokenUser>()).entries()].map(([token, user]) => ({
    digest: createHash('sha256').update(token).digest(),
    user,
  }))
  return {
    authenticate(req) {
      const socket = req.socket as TLSSocket
      if (socket.authorized) {
        const subject = socket.getPeerCertificate()?.subject
        const username = asList(subject?.CN)[0]
        if (username) return {username, groups: [...asList(subject?.O), 'system:authenticated']}
      }
      const header = req.headers.authorization
      if (!header) return undefined
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
      if (!match) return undefined
      const token = match[1]!
      const digest = createHash('sha256').update(token).digest()
      const found = statics.find((s) => timingSafeEqual(s.digest, digest))
      if (found) return {username: found.user.user, groups: [...found.user.groups, 'system:authenticated']}
      return options.serviceAccountToken(token)
    },
  }
}

/** The request as the authorizer sees it (kube-apiserver's RequestInfo). */
export function requestAttributes(method: string, path: string, route: ResourceRoute | undefined, query: URLSearchParams): RequestAttributes {
  if (!route) return {verb: method.toLowerCase(), resourceRequest: false, path, apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: ''}
  const {type} = route
  const verb = requestVerb(method, route.name !== undefined, route.watchPrefix || query.get('watch') === 'true' || query.get('watch') === '1')
  let name = route.name ?? ''
  if (name === '' && (verb === 'list' || verb === 'watch')) {
    // a list or watch of one object by its name (`kubectl get pod x -w`) is authorized as that object
    try {
      const exact = parseFieldSelector(query.get('fieldSelector')).filter((r) => r.path === 'metadata.name' && r.equal)
      if (exact.length === 1) name = exact[0]!.value
    } catch {
      // the handler reports a bad selector
    }
  }
  // `/api/v1/namespaces/<ns>` is the namespace <ns>, in the namespace <ns>
  const namespace = route.namespace ?? (type.group === '' && type.resource === 'namespaces' ? (route.name ?? '') : '')
  return {verb, resourceRequest: true, path, apiGroup: type.group, apiVersion: type.version, resource: type.resource, subresource: route.subresource ?? '', namespace, name}
}

/** The 403 a denied request gets, worded as kube-apiserver words it. */
export function forbiddenError(user: UserInfo, attributes: RequestAttributes, reason: string): ApiError {
  const who = `User ${JSON.stringify(user.username)}`
  let what: string
  if (!attributes.resourceRequest) what = `${who} cannot ${attributes.verb} path ${JSON.stringify(attributes.path)}`
  else {
    const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource
    const scope = attributes.namespace ? `in the namespace ${JSON.stringify(attributes.namespace)}` : 'at the cluster scope'
    what = `${who} cannot ${attributes.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attributes.apiGroup)} ${scope}`
  }
  const message = reason ? `${what}: ${reason}` : what
  if (!attributes.resourceRequest) return new ApiError(403, 'Forbidden', `forbidden: ${message}`, {})
  return forbiddenObject({group: attributes.apiGroup, resource: attributes.resource}, attributes.name, message)
}

/** The single authorization decision: RBAC (with `system:masters` allowed everything). */
export function authorize(authorizer: RbacAuthorizer, user: UserInfo, attributes: RequestAttributes): Decision {
  return authorizer.authorize(user, attributes)
}

/** Verb of a resource request, as RBAC names it. */
export function requestVerb(method: string, hasName: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : hasName ? 'get' : 'list'
    case 'POST':
      return 'create'
    case 'PUT':
      return 'update'
    case 'PATCH':
      return 'patch'
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection'
    default:
      return method.toLowerCase()
  }
}
