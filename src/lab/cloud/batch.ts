/**
 * The batch endpoint gcloud uses (`POST /batch/compute/v1`, multipart/mixed; gcp-api-emulation.md
 * §2.4): every part is an HTTP request, served through the same dispatcher as a plain request
 * (with the outer request's credentials when the part has none), and answered as one part of a
 * multipart/mixed response whose Content-ID echoes the part's as `<response-…>`.
 */
import {randomBytes} from 'node:crypto'
import type {IncomingHttpHeaders} from 'node:http'

import {invalid} from './errors.js'

export interface BatchPart {
  readonly contentId: string
  readonly method: string
  /** path and query of the inner request */
  readonly target: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export interface BatchAnswer {
  readonly contentId: string
  readonly status: number
  readonly body: unknown
}

const MAX_PARTS = 1000

function boundaryOf(contentType: string | undefined): string {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '')
  if (!m) throw invalid('A batch request must be multipart/mixed with a boundary.')
  return (m[1] ?? m[2]) as string
}

/** header block → lowercase map; the rest after the first blank line */
function splitHead(text: string): {headers: Record<string, string>; first: string; rest: string} {
  const normal = text.replace(/\r\n/g, '\n')
  const end = normal.indexOf('\n\n')
  const head = end < 0 ? normal : normal.slice(0, end)
  const rest = end < 0 ? '' : normal.slice(end + 2)
  const lines = head.split('\n')
  const headers: Record<string, string> = {}
  let first = ''
  for (const [i, line] of lines.entries()) {
    const m = /^([^:\s]+):\s*(.*)$/.exec(line)
    if (m) headers[(m[1] as string).toLowerCase()] = m[2] as string
    else if (i === 0) first = line
  }
  return {headers, first, rest}
}

export function parseBatch(contentType: string | undefined, body: string): BatchPart[] {
  const boundary = boundaryOf(contentType)
  const chunks = body.split(`--${boundary}`)
  const parts: BatchPart[] = []
  for (const chunk of chunks.slice(1)) {
    if (chunk.startsWith('--')) break
    const outer = splitHead(chunk.replace(/^\r?\n/, ''))
    const inner = splitHead(outer.rest)
    const line = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/[\d.]+)?$/.exec(inner.first.trim())
    if (!line) throw invalid(`A batch part is not an HTTP request: ${inner.first.slice(0, 80)}`)
    parts.push({
      contentId: (outer.headers['content-id'] ?? '').replace(/^<|>$/g, ''),
      method: line[1] as string,
      target: line[2] as string,
      headers: inner.headers,
      body: inner.rest.replace(/\s+$/, ''),
    })
    if (parts.length > MAX_PARTS) throw invalid(`A batch request holds at most ${MAX_PARTS} parts.`)
  }
  return parts
}

const REASONS: Readonly<Record<number, string>> = {200: 'OK', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 412: 'Precondition Failed', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable'}

export function renderBatch(answers: readonly BatchAnswer[]): {contentType: string; body: string} {
  const boundary = `batch_${randomBytes(12).toString('hex')}`
  const parts = answers.map((a) => {
    const json = JSON.stringify(a.body)
    return [
      `--${boundary}`, 'Content-Type: application/http', `Content-ID: <response-${a.contentId}>`, '',
      `HTTP/1.1 ${a.status} ${REASONS[a.status] ?? 'Unknown'}`, 'Content-Type: application/json; charset=UTF-8', `Content-Length: ${Buffer.byteLength(json)}`, '',
      json, '',
    ].join('\r\n')
  })
  return {contentType: `multipart/mixed; boundary=${boundary}`, body: `${parts.join('')}--${boundary}--\r\n`}
}
