/**
 * Cloud Resource Manager's `projects.testIamPermissions` for a lab (v3
 * `POST /v3/projects/P:testIamPermissions` and v1 `POST /v1/projects/P:testIamPermissions`, body
 * `{permissions: [...]}`, answer `{permissions: [the subset held]}`), answered from the same
 * permission sets the lab's routes enforce, so that the answer and the 403s always agree: the
 * admin token holds every permission but those the fault file denies; the viewer token holds the
 * permissions only reads need (and other `get`/`list` permissions, as roles/viewer does), never
 * one a write needs. The question itself needs no permission (GCP: any caller may ask).
 */
import {computePermissions} from '../compute/api.js'
import {containerPermissions} from '../container/api.js'
import {CloudError} from './errors.js'
import type {CloudRequest, CloudResponse} from './router.js'

const PATH = /^\/v[13]\/projects\/([^/:]+):testIamPermissions$/

/** whether `path` is the question (the server routes it here before GKE's `/v1/`) */
export function isIamPath(path: string): boolean {
  return PATH.test(path)
}

function writes(): ReadonlyMap<string, boolean> {
  return new Map([...computePermissions(), ...containerPermissions()])
}

/** whether the request's caller holds `permission`, as the routes decide */
export function holds(request: Pick<CloudRequest, 'role' | 'denied'>, permission: string, known: ReadonlyMap<string, boolean> = writes()): boolean {
  if (request.denied?.has(permission)) return false
  if (request.role === 'admin') return true
  const write = known.get(permission)
  return write === false || (write === undefined && /\.(get|list)$/.test(permission))
}

export function serveTestIamPermissions(project: string, request: CloudRequest): CloudResponse {
  if (request.method !== 'POST') throw new CloudError(405, `Method ${request.method} is not allowed for ${request.path} (allowed: POST).`, 'httpMethodNotAllowed')
  const asked = decodeURIComponent(PATH.exec(request.path)?.[1] ?? '')
  // CRM answers a project the caller cannot see (or that does not exist) with 403, never 404
  if (asked !== project) throw new CloudError(403, `The caller does not have permission`, 'forbidden')
  const body = request.body as {permissions?: unknown} | undefined
  const permissions = Array.isArray(body?.permissions) ? body.permissions : []
  if (permissions.some((p) => typeof p !== 'string' || !/^[a-z]+\.[A-Za-z]+\.[A-Za-z]+$/.test(p))) {
    throw new CloudError(400, `Permission ${JSON.stringify(permissions.find((p) => typeof p !== 'string' || !/^[a-z]+\.[A-Za-z]+\.[A-Za-z]+$/.test(p)))} is not valid.`, 'badRequest')
  }
  if (permissions.length > 100) throw new CloudError(400, 'At most 100 permissions may be tested at once.', 'badRequest')
  const known = writes()
  const held = (permissions as string[]).filter((p) => holds(request, p, known))
  return {status: 200, body: held.length > 0 ? {permissions: held} : {}}
}
