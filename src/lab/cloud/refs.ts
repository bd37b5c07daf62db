/**
 * Compute resource names. The lab emits every reference as real GCE does, a full URL on
 * `https://www.googleapis.com/compute/v1/` whatever host the request came to, and accepts the
 * forms real clients send (gcp-api-emulation.md §3.2): a URL on any host with `/compute/v1/`
 * (gcloud builds them from its endpoint override), `projects/P/…`, and the partial `global/…`,
 * `regions/R/…`, `zones/Z/…` that resolve against the request's project. A bare name is taken as
 * a name when the field can only mean one collection.
 */
import {invalidField} from './errors.js'

export const COMPUTE_BASE = 'https://www.googleapis.com/compute/v1/'

export type Scope = {readonly kind: 'global'} | {readonly kind: 'regions'; readonly name: string} | {readonly kind: 'zones'; readonly name: string}

export interface Ref {
  readonly project: string
  readonly scope: Scope
  readonly collection: string
  readonly name: string
}

export const GLOBAL: Scope = {kind: 'global'}
export const region = (name: string): Scope => ({kind: 'regions', name})
export const zone = (name: string): Scope => ({kind: 'zones', name})

export function scopePath(scope: Scope): string {
  return scope.kind === 'global' ? 'global' : `${scope.kind}/${scope.name}`
}

/** `projects/P/regions/R/subnetworks/S`: how messages name a resource */
export function resourcePath(ref: Ref): string {
  return `projects/${ref.project}/${scopePath(ref.scope)}/${ref.collection}/${ref.name}`
}

export function selfLink(ref: Ref): string {
  return `${COMPUTE_BASE}${resourcePath(ref)}`
}

export function scopeLink(project: string, scope: Scope): string {
  return scope.kind === 'global' ? `${COMPUTE_BASE}projects/${project}/global` : `${COMPUTE_BASE}projects/${project}/${scope.kind}/${scope.name}`
}

/** the last path segment of a URL or relative name ("zones/us-west1-a" → "us-west1-a") */
export function lastSegment(text: string): string {
  return text.replace(/\/+$/, '').split('/').pop() ?? ''
}

/** Parses any accepted form; undefined when the text is not a reference of that shape. */
export function parseRef(text: string, project: string): Ref | undefined {
  let rest = text.trim()
  const url = /^https?:\/\/[^/]+\/(?:compute\/(?:v1|beta|alpha)\/)?(.*)$/.exec(rest)
  if (url) rest = url[1] as string
  rest = rest.replace(/^\/+/, '').replace(/\?.*$/, '')
  let owner = project
  const projected = /^projects\/([^/]+)\/(.*)$/.exec(rest)
  if (projected) {
    owner = projected[1] as string
    rest = projected[2] as string
  }
  const parts = rest.split('/')
  if (parts[0] === 'global' && parts.length === 3) return {project: owner, scope: GLOBAL, collection: parts[1] as string, name: parts[2] as string}
  if ((parts[0] === 'regions' || parts[0] === 'zones') && parts.length === 4) {
    const scope: Scope = parts[0] === 'regions' ? region(parts[1] as string) : zone(parts[1] as string)
    return {project: owner, scope, collection: parts[2] as string, name: parts[3] as string}
  }
  return undefined
}

export interface Expected {
  /** the request field, for the error message (`resource.network`) */
  readonly field: string
  readonly collection: string
  /** a bare name resolves into this scope (the request's region or zone, or global) */
  readonly scope?: Scope
}

/** A reference to a resource of the lab's project, or a 400 naming the field. */
export function resolveRef(text: unknown, project: string, expected: Expected): Ref {
  if (typeof text !== 'string' || text.trim() === '') throw invalidField(expected.field, text, 'The URL is malformed.')
  const ref = /^[a-z0-9-]+$/.test(text) && expected.scope
    ? {project, scope: expected.scope, collection: expected.collection, name: text}
    : parseRef(text, project)
  if (!ref || ref.collection !== expected.collection || ref.name === '') {
    throw invalidField(expected.field, text, `The URL is malformed: expected a reference to ${expected.collection}.`)
  }
  if (ref.project !== project) {
    throw invalidField(expected.field, text, `The lab serves one project, ${project}: a reference to project ${ref.project} cannot be resolved.`)
  }
  return ref
}

/** The GCE name rule (RFC 1035 labels of at most 63 characters), checked on every insert. */
export const GCE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/

export function checkName(name: unknown, field = 'resource.name'): string {
  if (typeof name !== 'string' || !GCE_NAME.test(name)) {
    throw invalidField(field, name ?? '', `Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'`)
  }
  return name
}
