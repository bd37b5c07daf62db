/**
 * API errors as Kubernetes reports them: an HTTP code, a machine-readable reason and a
 * `meta/v1 Status` body. Messages follow the real API server's wording, because clients (and
 * people) match on them. They never carry secret values.
 */

export interface StatusCause {
  reason?: string
  message?: string
  field?: string
}

export interface StatusDetails {
  name?: string
  group?: string
  kind?: string
  uid?: string
  causes?: StatusCause[]
  retryAfterSeconds?: number
}

export interface Status {
  kind: 'Status'
  apiVersion: 'v1'
  metadata: Record<string, never>
  status: 'Success' | 'Failure'
  message?: string
  reason?: string
  details?: StatusDetails
  code: number
}

export class ApiError extends Error {
  readonly code: number
  readonly reason: string
  readonly details?: StatusDetails

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.reason = reason
    this.details = details
  }

  toStatus(): Status {
    return statusFailure(this.code, this.reason, this.message, this.details)
  }
}

export function statusFailure(code: number, reason: string, message: string, details?: StatusDetails): Status {
  const status: Status = {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code}
  if (details) status.details = details
  return status
}

export function statusSuccess(details?: StatusDetails): Status {
  const status: Status = {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200}
  if (details) status.details = details
  return status
}

/** `pods` or `daemonsets.apps`, as the API server names a resource in messages. */
export interface ResourceName {
  group: string
  resource: string
}

function qualified(r: ResourceName): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource
}

export function notFound(r: ResourceName, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(r)} "${name}" not found`, {name, group: r.group || undefined, kind: r.resource})
}

export function alreadyExists(r: ResourceName, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, {name, group: r.group || undefined, kind: r.resource})
}

export function conflict(r: ResourceName, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, {
    name,
    group: r.group || undefined,
    kind: r.resource,
  })
}

export function invalid(kind: string, name: string, causes: StatusCause[], group = ''): ApiError {
  // as Go's aggregate error: one message alone, several (deduplicated) in brackets
  const messages = [...new Set(causes.map((c) => (c.field ? `${c.field}: ${c.message}` : (c.message ?? ''))))]
  const listed = messages.length === 1 ? messages[0]! : `[${messages.join(', ')}]`
  return new ApiError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${listed}`, {name, group: group || undefined, kind, causes})
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message)
}

export function forbidden(message: string): ApiError {
  return new ApiError(403, 'Forbidden', message)
}

/** `pods "x" is forbidden: …` (`pods is forbidden: …` without a name), with the details the real server gives. */
export function forbiddenObject(r: ResourceName, name: string, why: string): ApiError {
  const subject = name ? `${qualified(r)} ${JSON.stringify(name)}` : qualified(r)
  return new ApiError(403, 'Forbidden', `${subject} is forbidden: ${why}`, {name: name || undefined, group: r.group || undefined, kind: r.resource})
}

export function methodNotAllowed(message = 'the server does not allow this method on the requested resource'): ApiError {
  return new ApiError(405, 'MethodNotAllowed', message)
}

export function gone(requested: string, oldest: number): ApiError {
  return new ApiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`)
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized')
}

export function notFoundPath(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource')
}
