/**
 * User impersonation (`kubectl --as`, `--as-group`, `--as-uid`): the `Impersonate-User`,
 * `Impersonate-Group`, `Impersonate-Uid` and `Impersonate-Extra-*` headers, each allowed only
 * when the requester may `impersonate` that user (or ServiceAccount), group, uid or extra, as
 * kube-apiserver checks them. The request then runs as the impersonated user: its groups are
 * the groups asked for (a ServiceAccount's own groups when none are), plus
 * `system:authenticated`.
 */
import type {IncomingMessage} from 'node:http'

import type {UserInfo} from '../controllers/serviceaccounts.js'
import {badRequest} from '../errors.js'
import type {RbacAuthorizer} from '../rbac/authorizer.js'
import type {RequestAttributes} from '../rbac/rules.js'
import {forbiddenError} from './auth.js'

const SA_PREFIX = 'system:serviceaccount:'

function values(req: IncomingMessage, header: string): string[] {
  return req.headersDistinct[header] ?? []
}

function attributes(resource: string, name: string, group = '', namespace = ''): RequestAttributes {
  return {verb: 'impersonate', resourceRequest: true, path: '', apiGroup: group, apiVersion: '', resource, subresource: '', namespace, name}
}

/** The user the request runs as: the authenticated one, or the one it impersonates (403 when not allowed). */
export function impersonate(req: IncomingMessage, requester: UserInfo, authorizer: RbacAuthorizer): UserInfo {
  const [username] = values(req, 'impersonate-user')
  const groups = values(req, 'impersonate-group')
  const [uid] = values(req, 'impersonate-uid')
  const extras = Object.keys(req.headersDistinct).filter((h) => h.startsWith('impersonate-extra-'))
  if (username === undefined) {
    if (groups.length > 0 || uid !== undefined || extras.length > 0) throw badRequest('requested impersonation without impersonating a user')
    return requester
  }
  const checks: RequestAttributes[] = []
  if (username.startsWith(SA_PREFIX) && username.split(':').length === 4) {
    const [, , namespace, name] = username.split(':') as [string, string, string, string]
    checks.push(attributes('serviceaccounts', name, '', namespace))
  } else checks.push(attributes('users', username))
  for (const group of groups) checks.push(attributes('groups', group))
  if (uid !== undefined) checks.push(attributes('uids', uid, 'authentication.k8s.io'))
  for (const header of extras) {
    const key = decodeURIComponent(header.slice('impersonate-extra-'.length))
    for (const value of values(req, header)) checks.push({...attributes('userextras', value, 'authentication.k8s.io'), subresource: key})
  }
  for (const check of checks) {
    const decision = authorizer.authorize(requester, check)
    if (!decision.allowed) throw forbiddenError(requester, check, decision.reason)
  }
  const finalGroups = [...groups]
  if (finalGroups.length === 0 && username.startsWith(SA_PREFIX) && username.split(':').length === 4) {
    const namespace = username.split(':')[2]!
    finalGroups.push('system:serviceaccounts', `system:serviceaccounts:${namespace}`)
  }
  if (username !== 'system:anonymous' && !finalGroups.some((g) => g === 'system:authenticated' || g === 'system:unauthenticated')) finalGroups.push('system:authenticated')
  return {username, groups: finalGroups, ...(uid !== undefined ? {uid} : {})}
}
