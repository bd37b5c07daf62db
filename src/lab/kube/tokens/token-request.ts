/**
 * `POST …/namespaces/NS/serviceaccounts/NAME/token` (authentication.k8s.io/v1 TokenRequest) as
 * kube-apiserver answers it (pkg/registry/core/serviceaccount/storage/token.go):
 * - `spec.expirationSeconds` defaults to 3600; below 600 or above 2^32 the request is invalid (422);
 * - `spec.audiences` defaults to the API's audiences;
 * - `spec.boundObjectRef` {kind: Secret | Pod | Node, name, uid?} must name an existing object
 *   (404 otherwise), with that uid when one is given (409), and a Pod must run as this
 *   ServiceAccount (400); any other kind is a 400;
 * - a configured maximum (kube-apiserver's `--service-account-max-token-expiration`; GKE grants
 *   at most 48 h) silently shortens the grant: `spec.expirationSeconds`,
 *   `status.expirationTimestamp` and the token's `exp` all say what was granted.
 */
import {ApiError, badRequest, conflict, invalid, notFound} from '../errors.js'
import type {ObjectStore} from '../store.js'
import {type KubeObject, isPlainObject} from '../types.js'
import type {BoundKind, ServiceAccountTokens} from './service-account-tokens.js'

export const DEFAULT_EXPIRATION_SECONDS = 3600
const MIN_EXPIRATION_SECONDS = 600
const MAX_EXPIRATION_SECONDS = 2 ** 32

export interface TokenRequestOptions {
  readonly store: ObjectStore
  readonly tokens: ServiceAccountTokens
  /** the longest lifetime granted, in seconds (undefined: as asked) */
  readonly maxExpirationSeconds?: number
}

const iso = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z')

function boundObject(options: TokenRequestOptions, sa: KubeObject, ref: Record<string, unknown>): {kind: BoundKind; object: KubeObject; node?: KubeObject} {
  const {store} = options
  const apiVersion = typeof ref.apiVersion === 'string' ? ref.apiVersion : ''
  const kind = typeof ref.kind === 'string' ? ref.kind : ''
  const name = typeof ref.name === 'string' ? ref.name : ''
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : ''
  const version = apiVersion.includes('/') ? apiVersion.split('/')[1]! : apiVersion
  const resource = group === '' ? ({Pod: 'pods', Secret: 'secrets', Node: 'nodes'} as Record<string, string>)[kind] : undefined
  if (!resource) throw badRequest(`cannot bind token for object of type ${group}/${version}, Kind=${kind}`)
  const type = store.registry.get(resource)
  const object = store.get(type, type.namespaced ? sa.metadata.namespace : undefined, name)
  if (!object) throw notFound(type, name)
  if (typeof ref.uid === 'string' && ref.uid !== '' && ref.uid !== object.metadata.uid) {
    throw conflict({group, resource: kind}, name, `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`)
  }
  if (kind === 'Pod') {
    const spec = isPlainObject(object.spec) ? object.spec : {}
    if ((spec.serviceAccountName ?? 'default') !== sa.metadata.name) {
      throw badRequest(`cannot bind token for serviceaccount "${sa.metadata.name}" to pod running with different serviceaccount name.`)
    }
    const nodeName = typeof spec.nodeName === 'string' ? spec.nodeName : ''
    const node = nodeName ? store.get(store.registry.get('nodes'), undefined, nodeName) : undefined
    return {kind, object, ...(node ? {node} : {})}
  }
  return {kind: kind as BoundKind, object}
}

/** The TokenRequest answered for the ServiceAccount `name` of `namespace`. */
export function answerTokenRequest(options: TokenRequestOptions, namespace: string, name: string, body: unknown): Record<string, unknown> {
  const serviceAccounts = options.store.registry.get('serviceaccounts')
  const sa = options.store.get(serviceAccounts, namespace, name)
  if (!sa) throw notFound(serviceAccounts, name)
  const spec = isPlainObject(body) && isPlainObject(body.spec) ? body.spec : {}
  const asked = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS
  if (typeof asked !== 'number' || !Number.isInteger(asked)) throw badRequest('spec.expirationSeconds must be an integer')
  const causes = []
  if (asked < MIN_EXPIRATION_SECONDS) causes.push({reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${asked}: may not specify a duration less than 10 minutes`})
  if (asked > MAX_EXPIRATION_SECONDS) causes.push({reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${asked}: may not specify a duration larger than 2^32 seconds`})
  if (causes.length > 0) throw invalid('TokenRequest', '', causes, 'authentication.k8s.io')
  const given = Array.isArray(spec.audiences) ? spec.audiences.filter((a): a is string => typeof a === 'string') : []
  const audiences = given.length > 0 ? given : [...options.tokens.apiAudiences]
  const ref = isPlainObject(spec.boundObjectRef) ? spec.boundObjectRef : undefined
  const bound = ref ? boundObject(options, sa, ref) : undefined
  const max = options.maxExpirationSeconds
  const expirationSeconds = max !== undefined && max > 0 && asked > max ? max : asked
  let issued: {token: string; expires: Date}
  try {
    issued = options.tokens.issueBound(sa, {audiences, expirationSeconds, ...(bound ? {bound} : {})})
  } catch (error) {
    throw error instanceof ApiError ? error : new ApiError(500, 'InternalError', 'Internal error occurred: failed to sign the token')
  }
  return {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: {name, namespace, creationTimestamp: null},
    spec: {audiences, expirationSeconds, boundObjectRef: ref ?? null},
    status: {token: issued.token, expirationTimestamp: iso(issued.expires)},
  }
}
