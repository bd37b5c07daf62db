/**
 * Lists as Compute pages them: `maxResults` (default and most 500) items from `pageToken` on,
 * and a `nextPageToken` while more remain (gcp-api-emulation.md §3.5); both clients follow it.
 * `items` is left out of an empty page, as GCE leaves it out. The token is the offset, opaque to
 * clients; a token that is not one of ours is a 400.
 */
import {invalidField} from './errors.js'

export interface Page<T> {
  readonly items: readonly T[]
  readonly nextPageToken?: string
}

export function readMaxResults(query: URLSearchParams): number {
  const text = query.get('maxResults')
  if (text === null || text === '') return 500
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0) throw invalidField('maxResults', text, 'Must be a non-negative integer.')
  if (n > 500) throw invalidField('maxResults', text, 'Must be less than or equal to 500.')
  return n === 0 ? 500 : n
}

function readOffset(query: URLSearchParams): number {
  const token = query.get('pageToken')
  if (!token) return 0
  const decoded = Buffer.from(token, 'base64url').toString('utf8')
  const m = /^offset:(\d+)$/.exec(decoded)
  if (!m) throw invalidField('pageToken', token, 'The page token is not one this list returned.')
  return Number(m[1])
}

export function pageOf<T>(items: readonly T[], query: URLSearchParams): Page<T> {
  const size = readMaxResults(query)
  const offset = readOffset(query)
  const page = items.slice(offset, offset + size)
  const next = offset + size < items.length ? Buffer.from(`offset:${offset + size}`).toString('base64url') : undefined
  return {items: page, ...(next ? {nextPageToken: next} : {})}
}

/** `{kind, id, items?, nextPageToken?, selfLink}` of a Compute list */
export function listBody<T>(kind: string, id: string, selfLink: string, page: Page<T>): Record<string, unknown> {
  return {kind, id, ...(page.items.length > 0 ? {items: page.items} : {}), ...(page.nextPageToken ? {nextPageToken: page.nextPageToken} : {}), selfLink}
}
