/**
 * Google API failures as xcc's errors (contracts: working with Google Cloud): a missing permission
 * is exit 3 naming it and a role that grants it; an unknown project or resource is exit 2 naming
 * it; an API that cannot be reached is exit 3. Messages never carry a token.
 */
import {XccError} from '../../core/errors.js'

export interface ApiFailure {
  /** HTTP status, when the API answered */
  readonly status?: number
  /** Google's error reason (`notFound`, `forbidden`, `rateLimitExceeded`, …) */
  readonly reason?: string
  readonly message: string
  /** a network-level failure: refused, reset, timed out, unresolvable */
  readonly network?: string
}

/** the status, reason and message of whatever a Google client threw */
export function describeFailure(error: unknown): ApiFailure {
  const e = error as {code?: unknown; status?: unknown; response?: {status?: number; data?: unknown}; message?: string; errno?: string; cause?: {code?: string}}
  const status = typeof e.response?.status === 'number' ? e.response.status : typeof e.status === 'number' ? e.status : typeof e.code === 'number' && e.code >= 100 ? e.code : undefined
  const networkCode = typeof e.code === 'string' ? e.code : e.cause?.code ?? e.errno
  const body = parseBody(e.response?.data) ?? parseBody(e.message)
  const first = body?.error?.errors?.[0]
  const message = first?.message ?? body?.error?.message ?? e.message ?? String(error)
  return {
    ...(status !== undefined ? {status} : {}),
    ...(first?.reason ? {reason: first.reason} : body?.error?.status ? {reason: body.error.status} : {}),
    message: redact(message),
    ...(status === undefined && networkCode && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|UND_ERR_SOCKET|ERR_SOCKET)/.test(networkCode) ? {network: networkCode} : {}),
  }
}

interface ErrorBody {
  readonly error?: {readonly message?: string; readonly status?: string; readonly errors?: ReadonlyArray<{readonly reason?: string; readonly message?: string}>}
}

function parseBody(value: unknown): ErrorBody | undefined {
  if (value && typeof value === 'object') return value as ErrorBody
  if (typeof value !== 'string' || !value.trimStart().startsWith('{')) return undefined
  try {
    return JSON.parse(value) as ErrorBody
  } catch {
    return undefined
  }
}

/** bearer tokens and key material never reach a message */
export function redact(text: string): string {
  return text.replace(/(Bearer\s+)[\w.~+/=-]+/gi, '$1…').replace(/ya29\.[\w.-]+/g, 'ya29.…').replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '(a private key)')
}

/**
 * A 400 that only says "not now": another peering operation on the network or its peer (GCP runs
 * one at a time; wiring-anchors B3, terraform-provider-google#3026), or a resource still being
 * created or deleted by an earlier operation.
 */
export function isTransientRefusal(f: ApiFailure): boolean {
  return f.status === 400 && (f.reason === 'resourceNotReady' || /peering operation in progress/i.test(f.message))
}

/** retried with backoff: quota, rate limits, server errors, the network, and transient refusals */
export function isRetryable(f: ApiFailure): boolean {
  return f.network !== undefined || f.status === 429 || (f.status !== undefined && f.status >= 500) || f.reason === 'rateLimitExceeded' || f.reason === 'userRateLimitExceeded' || isTransientRefusal(f)
}

/** a role that grants a permission, for the hint (the narrowest common predefined role) */
export function roleFor(permission: string): string {
  if (permission.startsWith('container.')) return /\.(get|list)$/.test(permission) ? 'roles/container.clusterViewer' : 'roles/container.admin'
  if (/^compute\.firewalls\.(create|delete|update)$/.test(permission)) return 'roles/compute.securityAdmin'
  if (/^compute\.[a-zA-Z]+\.(get|list|getIamPolicy)$/.test(permission)) return 'roles/compute.viewer'
  if (/^compute\.(instances|instanceGroups|disks)\./.test(permission)) return 'roles/compute.instanceAdmin.v1'
  if (permission.startsWith('compute.')) return 'roles/compute.networkAdmin'
  return 'roles/viewer'
}

/** the permission Google names in a 403 (`Required 'compute.firewalls.create' permission for …`) */
export function permissionIn(message: string): string | undefined {
  return /'([a-z]+\.[A-Za-z]+\.[A-Za-z]+)'/.exec(message)?.[1] ?? /permission[: ]+([a-z]+\.[A-Za-z]+\.[A-Za-z]+)/i.exec(message)?.[1]
}

/** the XccError for a failure that was not retried (or whose retries ran out) */
export function toXccError(f: ApiFailure, what: {api: string; project: string; request: string; endpoint: string; attempts?: number}): XccError {
  const tries = what.attempts && what.attempts > 1 ? ` (${what.attempts} attempts)` : ''
  if (f.network) return new XccError(`cannot reach the ${what.api} API at ${what.endpoint} (${f.network}) while ${what.request}${tries}`, {exitCode: 3, hint: 'check the network, or the endpoint override (CLOUDSDK_API_ENDPOINT_OVERRIDES_…)'})
  if (f.status === 401) return new XccError(`the ${what.api} API refused the credentials while ${what.request}: ${f.message}`, {exitCode: 3, hint: 'the access token expired or is not valid: get a new one (gcloud auth print-access-token), or use application default credentials'})
  if (f.status === 403) {
    const permission = permissionIn(f.message)
    return new XccError(permission ? `missing permission ${permission} in project ${what.project} (${what.request})` : `the ${what.api} API refused ${what.request} in project ${what.project}: ${f.message}`, {
      exitCode: 3,
      ...(permission ? {hint: `grant a role that includes ${permission}, e.g. ${roleFor(permission)}: gcloud projects add-iam-policy-binding ${what.project} --member=user:<you> --role=${roleFor(permission)}`} : {}),
    })
  }
  if (f.status === 404) return new XccError(`${what.request}: not found in project ${what.project} — ${f.message}`, {exitCode: 2, hint: 'check the project (--project) and the names'})
  if (f.status === 400) return new XccError(`the ${what.api} API refused ${what.request} as invalid: ${f.message}`, {exitCode: 2})
  return new XccError(`the ${what.api} API failed while ${what.request}${f.status ? ` (HTTP ${f.status})` : ''}${tries}: ${f.message}`, {exitCode: 3, ...(tries ? {hint: 'the API kept failing until --timeout; try again later, or with a longer --timeout'} : {})})
}
