/**
 * `GET …/pods/<name>/log`: the log file of a container (init and ephemeral ones included) as
 * text/plain, with `container`, `tailLines`, `limitBytes`, `previous` (the run before the last
 * restart) and `follow` (streams what the process writes until it stops running). The open
 * file is followed, so a restart that moves the log aside does not mix two runs.
 */
import {type FileHandle, open} from 'node:fs/promises'
import type {IncomingMessage, ServerResponse} from 'node:http'

import {containerPaths} from '../controllers/container.js'
import {badRequest, notFound} from '../errors.js'
import type {ContainerStatus, Pod} from '../types.js'
import type {ServerContext} from './context.js'
import {type ResourceRoute, intParam} from './request.js'

const POLL_MS = 150
const MAX_INITIAL = 16 * 1024 * 1024

function tailLines(text: string, lines: number): string {
  if (lines <= 0) return ''
  const endsWithNewline = text.endsWith('\n')
  const parts = (endsWithNewline ? text.slice(0, -1) : text).split('\n')
  const kept = parts.slice(-lines).join('\n')
  return kept === '' && parts.length === 1 && parts[0] === '' ? '' : `${kept}${endsWithNewline ? '\n' : ''}`
}

function statusOf(pod: Pod | undefined, container: string): ContainerStatus | undefined {
  const status = pod?.status
  return [...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? []), ...(status?.ephemeralContainerStatuses ?? [])].find((c) => c.name === container)
}

function hasStarted(status: ContainerStatus | undefined): boolean {
  return Boolean(status && (status.state.running || status.state.terminated || status.lastState.terminated || status.restartCount > 0))
}

export async function serveLogs(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, route: ResourceRoute, query: URLSearchParams): Promise<void> {
  const pods = route.type
  const name = route.name!
  const pod = ctx.store.get(pods, route.namespace, name) as Pod | undefined
  if (!pod) throw notFound(pods, name)
  const containers = (pod.spec.containers ?? []).map((c) => c.name)
  const inits = (pod.spec.initContainers ?? []).map((c) => c.name)
  const ephemerals = (pod.spec.ephemeralContainers ?? []).map((c) => c.name)
  let container = query.get('container') ?? ''
  if (container === '') {
    if (containers.length !== 1) {
      const initText = inits.length > 0 ? ` or one of the init containers: [${inits.join(' ')}]` : ''
      const ephemeralText = ephemerals.length > 0 ? ` or one of the ephemeral containers: [${ephemerals.join(' ')}]` : ''
      throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]${initText}${ephemeralText}`)
    }
    container = containers[0]!
  }
  if (![...containers, ...inits, ...ephemerals].includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`)
  const previous = query.get('previous') === 'true'
  const status = statusOf(pod, container)
  if (!previous && !hasStarted(status)) {
    const reason = status?.state.waiting?.reason ?? (inits.includes(container) ? 'PodInitializing' : 'ContainerCreating')
    throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${reason}`)
  }
  const paths = containerPaths(ctx.logDir, pod.metadata.namespace!, name, container)
  let file: FileHandle
  try {
    file = await open(previous ? paths.previousLog : paths.log, 'r')
  } catch {
    if (previous) throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`)
    throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ContainerCreating`)
  }
  const limit = intParam(query, 'limitBytes')
  let budget = limit !== undefined && limit > 0 ? limit : Infinity
  const follow = query.get('follow') === 'true' && !previous
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    ctx.streams.delete(close)
    void file.close().catch(() => {})
    res.end()
  }
  try {
    const size = (await file.stat()).size
    const start = Math.max(0, size - MAX_INITIAL)
    const buffer = Buffer.alloc(size - start)
    await file.read(buffer, 0, buffer.length, start)
    let text = buffer.toString('utf8')
    const lines = intParam(query, 'tailLines')
    if (lines !== undefined) text = tailLines(text, lines)
    res.writeHead(200, {'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', ...(follow ? {'Transfer-Encoding': 'chunked'} : {})})
    const emit = (chunk: Buffer | string): void => {
      if (budget <= 0) return
      const bytes = Buffer.from(chunk)
      const part = bytes.length > budget ? bytes.subarray(0, budget) : bytes
      budget -= part.length
      res.write(part)
    }
    res.flushHeaders()
    emit(text)
    if (!follow || budget <= 0) {
      close()
      return
    }
    ctx.streams.add(close)
    req.on('close', close)
    let offset = size
    const uid = pod.metadata.uid
    const poll = async (): Promise<void> => {
      while (!closed && budget > 0) {
        // status first, then read: whatever the process wrote before it stopped is read below
        const current = ctx.store.get(pods, route.namespace, name) as Pod | undefined
        const stopped = !current || current.metadata.uid !== uid || !statusOf(current, container)?.state.running
        for (;;) {
          const now = (await file.stat()).size
          if (now <= offset || closed) break
          const chunk = Buffer.alloc(now - offset)
          const {bytesRead} = await file.read(chunk, 0, chunk.length, offset)
          if (bytesRead === 0) break
          offset += bytesRead
          emit(chunk.subarray(0, bytesRead))
        }
        if (stopped) break
        await new Promise((resolve) => setTimeout(resolve, POLL_MS))
      }
      close()
    }
    void poll().catch(close)
  } catch (error) {
    close()
    throw error
  }
}
