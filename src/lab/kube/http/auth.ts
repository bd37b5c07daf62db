/**
 * Authentication: a client certificate verified against the cluster CA (user = CN, groups = O)
 * or `Authorization: Bearer <token>` (static tokens, ServiceAccount tokens). Authorization:
 * every authenticated user may do everything, decided in one place (`authorize`) so that RBAC
 * can be added there.
 */
import {createHash, timingSafeEqual} from 'node:crypto'
import type {IncomingMessage} from 'node:http'
import type {TLSSocket} from 'node:tls'

import type {UserInfo} from '../controllers/serviceaccounts.js'

export type {UserInfo}

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

export interface RequestAttributes {
  verb: string
  group?: string
  resource?: string
  subresource?: string
  namespace?: string
  name?: string
  path: string
}

/** The single authorization decision: allow every authenticated user (the place for RBAC later). */
export function authorize(user: UserInfo, _attributes: RequestAttributes): {allowed: boolean; reason?: string} {
  return {allowed: user.username !== '', reason: ''}
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
