/**
 * Watch streams: newline-delimited `{"type": …, "object": …}` events. Without a resourceVersion
 * (or with "0") the stream starts with a synthetic ADDED per current object; with one it
 * replays the history after it (410 Gone as an ERROR event when that history is no longer
 * kept). With selectors an object that starts matching arrives as ADDED and one that stops
 * matching as DELETED. `sendInitialEvents=true` ends the initial ADDED events with a BOOKMARK
 * annotated `k8s.io/initial-events-end`. The stream ends after `timeoutSeconds` (30 minutes at
 * most), when the client goes, or when the server closes.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import {ApiError} from '../errors.js'
import {apiVersionOf} from '../resources.js'
import {type Selector, matchesSelector, parseSelector} from '../selectors.js'
import type {StoreEvent} from '../store.js'
import {toTable, wantsTable} from '../tables.js'
import type {KubeObject} from '../types.js'
import type {ServerContext} from './context.js'
import {type ResourceRoute, intParam} from './request.js'

const MAX_TIMEOUT_SECONDS = 1800
/** a client that reads slower than this much pending output loses its watch (it will re-watch) */
const MAX_BUFFERED = 16 * 1024 * 1024

type WireType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'

/** How a store event looks through a selector: ADDED when an object starts matching, DELETED when it stops. */
export function project(event: StoreEvent, namespace: string | undefined, selector: Selector): WireType | undefined {
  const inScope = (object: KubeObject | undefined): boolean =>
    object !== undefined && (namespace === undefined || object.metadata.namespace === namespace) && matchesSelector(selector, object)
  const now = inScope(event.object)
  const before = inScope(event.previous)
  switch (event.type) {
    case 'ADDED':
      return now ? 'ADDED' : undefined
    case 'MODIFIED':
      return now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined
    case 'DELETED':
      return before || now ? 'DELETED' : undefined
  }
}

export function serveWatch(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, query: URLSearchParams): void {
  const {type} = route
  let fieldSelector = query.get('fieldSelector') ?? ''
  if (route.name !== undefined) fieldSelector = [`metadata.name=${route.name}`, fieldSelector].filter(Boolean).join(',')
  const selector = parseSelector(query.get('labelSelector'), fieldSelector)
  const asTable = wantsTable(req.headers.accept)
  const include = query.get('includeObject') === 'Object' ? 'Object' : query.get('includeObject') === 'None' ? 'None' : 'Metadata'
  const bookmarks = query.get('allowWatchBookmarks') === 'true'
  const initialEvents = query.get('sendInitialEvents') === 'true'
  const rvParam = query.get('resourceVersion') ?? ''
  if (rvParam !== '' && !/^\d+$/.test(rvParam)) throw new ApiError(400, 'BadRequest', `invalid resourceVersion: ${rvParam}`)
  const timeout = Math.min(intParam(query, 'timeoutSeconds') ?? MAX_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS)

  res.writeHead(200, {'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked'})
  // send the headers now: a client blocks until it has them, even when it no longer wants the stream
  res.flushHeaders()
  res.socket?.setNoDelay(true)
  let open = true
  const write = (wireType: WireType, object: unknown): void => {
    if (!open) return
    let payload = object
    if (asTable && (wireType === 'ADDED' || wireType === 'MODIFIED' || wireType === 'DELETED')) payload = toTable(type.kind, [object as KubeObject], {include})
    res.write(`${JSON.stringify({type: wireType, object: payload})}\n`)
    if (res.writableLength > MAX_BUFFERED) close()
  }
  const bookmark = (annotations?: Record<string, string>): void => {
    write('BOOKMARK', {kind: type.kind, apiVersion: apiVersionOf(type), metadata: {resourceVersion: String(ctx.store.resourceVersion), ...(annotations ? {annotations} : {})}})
  }
  let unsubscribe = (): void => {}
  const timer = setTimeout(() => close(), timeout * 1000)
  const close = (): void => {
    if (!open) return
    open = false
    clearTimeout(timer)
    unsubscribe()
    ctx.streams.delete(close)
    res.end()
  }
  ctx.streams.add(close)
  req.on('close', close)
  res.on('close', close)

  // replay and subscription happen in one synchronous step: no event can fall between them
  const replayFrom = rvParam === '' || rvParam === '0' || initialEvents ? undefined : Number(rvParam)
  if (replayFrom === undefined) {
    for (const object of ctx.store.list(type, route.namespace, selector)) write('ADDED', object)
    if (initialEvents && bookmarks) bookmark({'k8s.io/initial-events-end': 'true'})
  } else {
    try {
      for (const event of ctx.store.eventsSince(replayFrom)) {
        if (event.resource !== type) continue
        const wireType = project(event, route.namespace, selector)
        if (wireType) write(wireType, event.object)
      }
    } catch (error) {
      if (error instanceof ApiError) {
        write('ERROR', error.toStatus())
        close()
        return
      }
      throw error
    }
  }
  if (!open) return
  unsubscribe = ctx.store.subscribe((event) => {
    if (event.resource !== type) return
    const wireType = project(event, route.namespace, selector)
    if (wireType) write(wireType, event.object)
  })
}
