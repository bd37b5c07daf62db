/**
 * What every Compute handler works with: the store (the topology), the operations, the request,
 * and the helpers that turn a change of the topology into an operation, and a resource of the
 * topology into what GCE shows (kind, id, creationTimestamp, selfLink).
 */
import type {Model} from '../../core/topology/model-types.js'
import type {Topology} from '../../core/topology/schema.js'
import {invalidField, notFound, peeringInProgress} from '../cloud/errors.js'
import type {CreationTimes} from '../cloud/identity.js'
import {resourceId} from '../cloud/identity.js'
import type {Operations} from '../cloud/operations.js'
import {type Ref, type Scope, resourcePath, selfLink} from '../cloud/refs.js'
import type {CloudRequest, Params, Route} from '../cloud/router.js'
import type {CloudStore} from '../cloud/store.js'
import type {SerialConsoles} from './serial.js'

export interface ComputeContext {
  readonly store: CloudStore
  readonly ops: Operations
  readonly times: CreationTimes
  readonly serial: SerialConsoles
  readonly request: CloudRequest
  /** the identity of the token (an operation's `user`) */
  readonly user: string
}

/** the read-only view of the moment a request is served */
export interface View {
  readonly project: string
  readonly model: Model
  readonly topology: Topology
  readonly times: CreationTimes
}

export function viewOf(ctx: ComputeContext): View {
  return {project: ctx.store.project, model: ctx.store.model, topology: ctx.store.topology, times: ctx.times}
}

export function refOf(view: {readonly project: string}, scope: Scope, collection: string, name: string): Ref {
  return {project: view.project, scope, collection, name}
}

/** kind, id, creationTimestamp, name and selfLink of a resource, first in its JSON as GCE orders them */
export function identity(view: View, kind: string, ref: Ref): Record<string, unknown> {
  const link = selfLink(ref)
  return {kind, id: resourceId(link), creationTimestamp: view.times.of(link), name: ref.name}
}

/** the JSON body of a request as an object; anything else is a 400 */
export function bodyOf(ctx: ComputeContext): Record<string, unknown> {
  const body = ctx.request.body
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body)) throw invalidField('resource', body, 'The request body must be a JSON object.')
  return body as Record<string, unknown>
}

export function stringField(body: Record<string, unknown>, key: string, field = `resource.${key}`): string | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw invalidField(field, value, 'Must be a string.')
  return value
}

export function stringList(body: Record<string, unknown>, key: string, field = `resource.${key}`): string[] | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalidField(field, value, 'Must be a list of strings.')
  return value as string[]
}

/** a request's GCE labels (a map of strings) */
export function labelsOf(body: Record<string, unknown>, field = 'resource.labels'): Record<string, string> | undefined {
  const value = body.labels
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) throw invalidField(field, value, 'Must be a map of strings.')
  return value as Record<string, string>
}

/** the `name` of an insert's body, for the 403 of a viewer's insert */
export function bodyName(body: unknown): string {
  const name = body !== null && typeof body === 'object' ? (body as Record<string, unknown>).name : undefined
  return typeof name === 'string' ? name : ''
}

/** a resource the lab derives (GKE's nodes, routes and groups): the API shows it, only GKE changes it */
export function derivedError(what: string, by: string): never {
  throw invalidField('resource', what, `It is managed by ${by} (derived from the lab's topology) and cannot be changed through the API.`)
}

/**
 * A mutation: the changed topology is committed (validated, persisted, handed to the data plane)
 * and answered by its operation. An insert repeating an earlier `requestId` gets the earlier
 * operation back and changes nothing.
 */
export function mutate(ctx: ComputeContext, op: {scope: Scope; type: string; target: Ref; what: string; created?: boolean; deleted?: boolean; locks?: readonly string[]}, change: (draft: Topology) => void): Record<string, unknown> {
  const requestId = ctx.request.query.get('requestId') ?? undefined
  const earlier = ctx.ops.replay(requestId)
  if (earlier) return earlier
  if (op.locks && ctx.ops.busy(op.locks)) {
    ctx.store.note(`cloud: refused ${op.type} on ${resourcePath(op.target)}: another peering operation is in progress`)
    throw peeringInProgress()
  }
  const draft = ctx.store.draft()
  change(draft)
  const applied = ctx.store.commit(draft, `${op.type} ${resourcePath(op.target)}`)
  const link = selfLink(op.target)
  if (op.created) ctx.times.created(link)
  if (op.deleted) ctx.times.deleted(link)
  return ctx.ops.start({project: op.target.project, scope: op.scope, operationType: op.type, targetLink: link, user: ctx.user, ...(requestId ? {requestId} : {}), ...(op.locks ? {locks: op.locks} : {})}, applied)
}

/** the item of `list` named `name`, or the API's 404 for `ref` */
export function mustFind<T extends {readonly name: string}>(list: readonly T[], name: string, ref: Ref): T {
  const found = list.find((x) => x.name === name)
  if (!found) throw notFound(resourcePath(ref))
  return found
}

/** Routes of one collection share their permission prefix and resource naming; this builds them. */
export function route(
  method: string, pattern: string, permission: string, write: boolean,
  resource: (params: Params, body: unknown) => string, handle: (ctx: ComputeContext, params: Params) => unknown,
): Route<ComputeContext> {
  return {method, pattern, permission, write, resource, handle}
}
