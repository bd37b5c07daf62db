/**
 * RBAC's escalation prevention on writes of roles and bindings, as kube-apiserver's RBAC
 * storage does it: a user may create or change a Role/ClusterRole only with rules they hold
 * themselves (or with the `escalate` verb on it), and bind a role only when they hold all of its
 * rules (or have the `bind` verb on it). Members of `system:masters` may do anything.
 */
import type {UserInfo} from '../controllers/serviceaccounts.js'
import {ApiError, forbiddenObject} from '../errors.js'
import {type KubeObject, jsonEqual} from '../types.js'
import {PRIVILEGED_GROUP, type RbacAuthorizer} from './authorizer.js'
import {type PolicyRule, RBAC_GROUP, compactRules, compactString, quotedList, roleRefOf, rulesOf, uncovered} from './rules.js'

const RESOURCES: Readonly<Record<string, string>> = {Role: 'roles', ClusterRole: 'clusterroles', RoleBinding: 'rolebindings', ClusterRoleBinding: 'clusterrolebindings'}

function allowedVerb(authorizer: RbacAuthorizer, user: UserInfo, verb: string, resource: string, namespace: string, name: string): boolean {
  const attributes = {verb, resourceRequest: true, path: '', apiGroup: RBAC_GROUP, apiVersion: 'v1', resource, subresource: '', namespace, name}
  return authorizer.authorize(user, attributes).allowed
}

function confirmNoEscalation(authorizer: RbacAuthorizer, user: UserInfo, namespace: string, rules: readonly PolicyRule[]): string | undefined {
  const owner = authorizer.rulesFor(user, namespace)
  const missing = uncovered(owner.rules, rules)
  if (missing.length === 0) return undefined
  const lines = [...new Set(compactRules(missing).map(compactString))].sort()
  let message = `user ${JSON.stringify(user.username)} (groups=${quotedList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${lines.join('\n')}`
  if (owner.errors.length > 0) message += `; resolution errors: [${owner.errors.join(' ')}]`
  return message
}

/**
 * The check to run on an RBAC object about to be stored by `user` (`current`: the stored one on
 * updates); throws 403 Forbidden (or 404 for a binding to a missing role).
 */
export function checkRbacWrite(authorizer: RbacAuthorizer, user: UserInfo, object: KubeObject, current: KubeObject | undefined): void {
  const resource = RESOURCES[object.kind ?? '']
  if (!resource || user.groups.includes(PRIVILEGED_GROUP)) return
  const namespace = object.metadata.namespace ?? ''
  const name = object.metadata.name ?? ''
  const target = {group: RBAC_GROUP, resource}
  if (object.kind === 'Role' || object.kind === 'ClusterRole') {
    const unchanged = current && jsonEqual(current.rules, object.rules) && jsonEqual(current.aggregationRule, object.aggregationRule)
    if (unchanged || allowedVerb(authorizer, user, 'escalate', resource, namespace, name)) return
    if (object.aggregationRule !== undefined && object.aggregationRule !== null) throw forbiddenObject(target, name, 'must have cluster-admin privileges to use an aggregationRule')
    const problem = confirmNoEscalation(authorizer, user, namespace, rulesOf(object))
    if (problem) throw forbiddenObject(target, name, problem)
    return
  }
  const ref = roleRefOf(object)
  const refResource = ref.kind === 'Role' ? 'roles' : 'clusterroles'
  if (allowedVerb(authorizer, user, 'bind', refResource, namespace, ref.name)) return
  const referenced = authorizer.referencedRules(ref, namespace)
  if ('error' in referenced) {
    const singular = ref.kind === 'Role' ? 'role' : 'clusterrole'
    throw new ApiError(404, 'NotFound', referenced.error, {name: ref.name, group: RBAC_GROUP, kind: singular})
  }
  const problem = confirmNoEscalation(authorizer, user, namespace, referenced.rules)
  if (problem) throw forbiddenObject(target, name, problem)
}
