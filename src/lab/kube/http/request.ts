/** Request plumbing: resource paths, bodies (JSON or YAML), JSON and Status responses. */
import type {IncomingMessage, ServerResponse} from 'node:http'

import yaml from 'js-yaml'

import {BodyTooLargeError, readBody as readLimitedBody, sendJson, withoutProtoKeys} from '../../http/json.js'
import {ApiError, badRequest, notFoundPath} from '../errors.js'
import type {ResourceRegistry, ResourceType} from '../resources.js'
import {decodeProtobufObject} from './protobuf.js'

export {sendJson}

const BODY_LIMIT = 3 * 1024 * 1024

export interface ResourceRoute {
  readonly type: ResourceType
  readonly namespace?: string
  readonly name?: string
  readonly subresource?: string
  /** the legacy `/watch/` path prefix */
  readonly watchPrefix: boolean
}

/** `/api/v1/…` or `/apis/<group>/<version>/…` below the group version, or undefined for other paths. */
export function parseResourcePath(registry: ResourceRegistry, segments: readonly string[]): ResourceRoute | undefined {
  let group: string
  let version: string
  let rest: string[]
  if (segments[0] === 'api' && segments.length >= 3) {
    group = ''
    version = segments[1]!
    rest = segments.slice(2)
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    group = segments[1]!
    version = segments[2]!
    rest = segments.slice(3)
  } else return undefined
  let watchPrefix = false
  if (rest[0] === 'watch') {
    watchPrefix = true
    rest = rest.slice(1)
  }
  let namespace: string | undefined
  if (rest[0] === 'namespaces' && rest.length >= 3 && registry.find(group, version, rest[2]!)?.namespaced) {
    namespace = rest[1]
    rest = rest.slice(2)
  }
  if (rest.length === 0 || rest.length > 3) throw notFoundPath()
  const type = registry.find(group, version, rest[0]!)
  if (!type) throw notFoundPath()
  const [, name, subresource] = rest
  if (type.namespaced && name !== undefined && namespace === undefined) throw notFoundPath()
  if (!type.namespaced && namespace !== undefined) throw notFoundPath()
  if (subresource !== undefined && !type.subresources[subresource]) throw notFoundPath()
  return {type, namespace, name, subresource, watchPrefix}
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  try {
    return await readLimitedBody(req, BODY_LIMIT)
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large')
    throw error
  }
}

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase()
}

/** Parses a JSON or YAML body; an empty body is undefined. */
export function parseBody(body: Buffer, contentType: string | undefined): unknown {
  if (body.length === 0) return undefined
  const media = mediaType(contentType)
  const text = body.toString('utf8')
  if (media === 'application/vnd.kubernetes.protobuf') return decodeProtobufObject(body)
  if (media.includes('protobuf') || media.includes('cbor')) {
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`)
  }
  // parser messages quote the input (which may hold a secret): report only where it failed
  if (media.endsWith('yaml')) {
    try {
      return withoutProtoKeys(yaml.load(text, {schema: yaml.JSON_SCHEMA}))
    } catch (error) {
      const mark = (error as {mark?: {line?: number; column?: number}}).mark
      throw badRequest(`the request body is not valid YAML${mark?.line !== undefined ? ` (line ${mark.line + 1}, column ${(mark.column ?? 0) + 1})` : ''}`)
    }
  }
  try {
    return withoutProtoKeys(JSON.parse(text))
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message)?.[1]
    throw badRequest(`the request body is not valid JSON${position ? ` (at byte ${position})` : ''}`)
  }
}

export function sendError(res: ServerResponse, error: ApiError): void {
  sendJson(res, error.code, error.toStatus())
}

/** Integer query parameter, or undefined; 400 when it is not an integer. */
export function intParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name)
  if (raw === null || raw === '') return undefined
  if (!/^-?\d+$/.test(raw)) throw badRequest(`invalid value for ${name}: ${raw}`)
  return Number(raw)
}

export function isDryRun(query: URLSearchParams): boolean {
  return query.getAll('dryRun').includes('All')
}
