/**
 * The authorization.k8s.io reviews, answered with the same RBAC evaluation as real requests:
 * SelfSubjectAccessReview (may the requester…?), SubjectAccessReview and
 * LocalSubjectAccessReview (may this user/groups…?), SelfSubjectRulesReview (what may the
 * requester do in a namespace?). SelfSubjectReview (who am I?) is answered here too.
 */
import type {UserInfo} from '../controllers/serviceaccounts.js'
import {type StatusCause, badRequest, invalid} from '../errors.js'
import {type ResourceType, apiVersionOf} from '../resources.js'
import {isPlainObject} from '../types.js'
import {type RbacAuthorizer, aggregateErrors} from './authorizer.js'
import type {RequestAttributes} from './rules.js'

const str = (value: unknown): string => (typeof value === 'string' ? value : '')

function attributesOf(type: ResourceType, spec: Record<string, unknown>): RequestAttributes {
  const resource = isPlainObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined
  const nonResource = isPlainObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined
  const causes: StatusCause[] = []
  if (resource && nonResource) causes.push({reason: 'FieldValueInvalid', field: 'spec.nonResourceAttributes', message: 'Invalid value: "object": cannot be specified in combination with resourceAttributes'})
  if (!resource && !nonResource) causes.push({reason: 'FieldValueInvalid', field: 'spec.resourceAttributes', message: 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified'})
  if (causes.length > 0) throw invalid(type.kind, '', causes, type.group)
  if (nonResource) return {verb: str(nonResource.verb), resourceRequest: false, path: str(nonResource.path), apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: ''}
  const r = resource!
  return {
    verb: str(r.verb),
    resourceRequest: true,
    path: '',
    apiGroup: str(r.group),
    apiVersion: str(r.version),
    resource: str(r.resource),
    subresource: str(r.subresource),
    namespace: str(r.namespace),
    name: str(r.name),
  }
}

function reviewedUser(type: ResourceType, spec: Record<string, unknown>, requester: UserInfo): UserInfo {
  if (type.kind === 'SelfSubjectAccessReview') return requester
  const groups = Array.isArray(spec.groups) ? spec.groups.filter((g): g is string => typeof g === 'string') : []
  const username = str(spec.user)
  if (username === '' && groups.length === 0) {
    throw invalid(type.kind, '', [{reason: 'FieldValueInvalid', field: 'spec.user', message: 'Invalid value: "": at least one of user or group must be specified'}], type.group)
  }
  return {username, groups, ...(str(spec.uid) ? {uid: str(spec.uid)} : {})}
}

function accessReview(authorizer: RbacAuthorizer, type: ResourceType, namespace: string | undefined, body: Record<string, unknown>, requester: UserInfo): Record<string, unknown> {
  const spec = isPlainObject(body.spec) ? body.spec : {}
  const attributes = attributesOf(type, spec)
  if (type.kind === 'LocalSubjectAccessReview') {
    if (!attributes.resourceRequest) throw badRequest('disallowed on this kind of request')
    if (attributes.namespace === '') attributes.namespace = namespace ?? ''
    else if (attributes.namespace !== namespace) throw badRequest(`spec.resourceAttributes.namespace must match metadata.namespace: ${attributes.namespace} != ${namespace ?? ''}`)
  }
  const decision = authorizer.authorize(reviewedUser(type, spec, requester), attributes)
  const status: Record<string, unknown> = {allowed: decision.allowed}
  if (decision.reason) status.reason = decision.reason
  return {spec, status}
}

function rulesReview(authorizer: RbacAuthorizer, body: Record<string, unknown>, requester: UserInfo): Record<string, unknown> {
  const spec = isPlainObject(body.spec) ? body.spec : {}
  const {rules, errors} = authorizer.rulesFor(requester, str(spec.namespace))
  const resourceRules = rules
    .filter((r) => (r.resources ?? []).length > 0)
    .map((r) => ({verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], ...((r.resourceNames ?? []).length > 0 ? {resourceNames: r.resourceNames} : {})}))
  const nonResourceRules = rules.filter((r) => (r.nonResourceURLs ?? []).length > 0).map((r) => ({verbs: r.verbs, nonResourceURLs: r.nonResourceURLs}))
  const status: Record<string, unknown> = {resourceRules, nonResourceRules, incomplete: errors.length > 0}
  if (errors.length > 0) status.evaluationError = aggregateErrors(errors)
  return {spec, status}
}

/** The answer to a POST of a review kind (the virtual resources of the registry). */
export function answerReview(authorizer: RbacAuthorizer, type: ResourceType, namespace: string | undefined, body: unknown, requester: UserInfo): unknown {
  const object = isPlainObject(body) ? body : {}
  const metadata: Record<string, unknown> = {creationTimestamp: null}
  if (type.namespaced && namespace) metadata.namespace = namespace
  const head = {kind: type.kind, apiVersion: apiVersionOf(type), metadata}
  switch (type.kind) {
    case 'SelfSubjectReview':
      return {...head, status: {userInfo: {username: requester.username, ...(requester.uid ? {uid: requester.uid} : {}), groups: requester.groups, ...(requester.extra ? {extra: requester.extra} : {})}}}
    case 'SelfSubjectRulesReview':
      return {...head, ...rulesReview(authorizer, object, requester)}
    default:
      return {...head, ...accessReview(authorizer, type, namespace, object, requester)}
  }
}
