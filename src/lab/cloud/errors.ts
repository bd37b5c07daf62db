/**
 * Google's error answers, as the lab's cloud APIs send them. Compute Engine answers
 * `{error: {code, message, errors: [{message, domain, reason}]}}` without a `status`; GKE (and
 * Google's front end for 401) adds the canonical `status` (gcp-api-emulation.md §3.4). gcloud prints
 * `message`; the Node clients throw it as the error's message.
 */

export type ApiFlavour = 'compute' | 'container'

const STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION', 413: 'INVALID_ARGUMENT', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 501: 'UNIMPLEMENTED', 503: 'UNAVAILABLE',
}

export class CloudError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason: string,
    readonly extra: {readonly location?: string; readonly locationType?: string} = {},
  ) {
    super(message)
  }

  body(flavour: ApiFlavour): unknown {
    const detail = {message: this.message, domain: 'global', reason: this.reason, ...this.extra}
    // the front end's own answers (401) carry a status for every API; Compute's own errors never do
    const status = flavour === 'container' || this.code === 401 ? {status: STATUS[this.code] ?? 'UNKNOWN'} : {}
    return {error: {code: this.code, message: this.message, errors: [detail], ...status}}
  }
}

/** `projects/p/global/networks/x`: how Compute names a resource in its messages */
export function notFound(resource: string): CloudError {
  return new CloudError(404, `The resource '${resource}' was not found`, 'notFound')
}

export function alreadyExists(resource: string): CloudError {
  return new CloudError(409, `The resource '${resource}' already exists`, 'alreadyExists')
}

/** a request field the lab cannot take, worded as Compute words INVALID_FIELD_VALUE */
export function invalidField(field: string, value: unknown, why: string): CloudError {
  const shown = typeof value === 'string' ? value : JSON.stringify(value) ?? ''
  return new CloudError(400, `Invalid value for field '${field}': '${shown}'. ${why}`, 'invalid')
}

export function invalid(message: string): CloudError {
  return new CloudError(400, message, 'invalid')
}

export function required(field: string): CloudError {
  return new CloudError(400, `Required field '${field}' not specified`, 'required')
}

export function inUse(kind: string, resource: string, user: string): CloudError {
  return new CloudError(400, `The ${kind} resource '${resource}' is already being used by '${user}'`, 'resourceInUseByAnotherResource')
}

/** what gcloud prints for a read-only token: the permission a write needs, on the resource it names */
export function forbidden(permission: string, resource: string): CloudError {
  return new CloudError(403, `Required '${permission}' permission for '${resource}'`, 'forbidden')
}

export function unauthenticated(): CloudError {
  return new CloudError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.', 'authError', {location: 'Authorization', locationType: 'header'})
}

/** GCP runs one peering operation at a time on a network and its peer (wiring-anchors B3, terraform-provider-google#3026) */
export function peeringInProgress(): CloudError {
  return new CloudError(400, 'There is a peering operation in progress on the local or peer network. Try again later.', 'badRequest')
}

export function conditionNotMet(field: string): CloudError {
  return new CloudError(412, `Supplied fingerprint does not match current fingerprint (${field}).`, 'conditionNotMet')
}
