/**
 * A lab's cloud: one plain-HTTP server on 127.0.0.1 (gcloud's endpoint overrides and the Node
 * clients' `protocol: 'http'` reach it) serving Compute Engine v1 under `/compute/v1/` with its
 * batch endpoint `/batch/compute/v1`, and GKE v1 under `/v1/`. Every request passes the injected
 * faults first, then needs one of the lab's tokens; then it is dispatched to its API, and an error
 * becomes Google's error answer.
 */
import type {IncomingMessage, Server, ServerResponse} from 'node:http'

import {BodyTooLargeError, readBody, sendJson, withoutProtoKeys} from '../http/json.js'
import {serveLoopback} from '../http/server.js'
import {COMPUTE_PREFIX, serveCompute} from '../compute/api.js'
import type {SerialConsoles} from '../compute/serial.js'
import {CONTAINER_PREFIX, type ContainerContext, serveContainer} from '../container/api.js'
import type {ClusterEndpoint} from '../container/clusters.js'
import {type CloudRole, type CloudTokens, cloudAccount, createTokenCheck} from './auth.js'
import {parseBatch, renderBatch} from './batch.js'
import {type ApiFlavour, CloudError, invalid, unauthenticated} from './errors.js'
import type {FaultInjector} from './faults.js'
import {isIamPath, serveTestIamPermissions} from './iam.js'
import {CreationTimes} from './identity.js'
import {Operations, WAIT_LIMIT_MS} from './operations.js'
import type {CloudRequest, CloudResponse} from './router.js'
import type {CloudStore} from './store.js'

const BODY_LIMIT = 32 * 1024 * 1024
export const BATCH_PATH = '/batch/compute/v1'

export interface CloudServerOptions {
  readonly store: CloudStore
  readonly tokens: CloudTokens
  readonly serial: SerialConsoles
  /** each cluster's Kubernetes API address and CA, for GKE's `endpoint` and `masterAuth` */
  readonly endpoints: ReadonlyMap<string, ClusterEndpoint>
  readonly faults?: FaultInjector
  readonly log: (message: string) => void
  /** default 0: a free port */
  readonly port?: number
  readonly waitLimitMs?: number
}

export interface CloudServer {
  readonly port: number
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  readonly operations: Operations
  close(): Promise<void>
}

function flavourOf(path: string): ApiFlavour {
  return path.startsWith(CONTAINER_PREFIX) ? 'container' : 'compute'
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw invalid(`Invalid JSON payload received. ${(error as Error).message}`)
  }
  return value === '' ? undefined : withoutProtoKeys(value)
}

export async function startCloudServer(options: CloudServerOptions): Promise<CloudServer> {
  const operations = new Operations(options.waitLimitMs ?? WAIT_LIMIT_MS)
  const times = new CreationTimes(new Date())
  const check = createTokenCheck(options.tokens)
  const containerContext: ContainerContext = {store: options.store, endpoints: options.endpoints, createTime: new Date().toISOString()}

  const serveOne = async (request: CloudRequest): Promise<CloudResponse> => {
    const flavour = flavourOf(request.path)
    try {
      if (isIamPath(request.path)) return serveTestIamPermissions(options.store.project, request)
      if (request.path.startsWith(COMPUTE_PREFIX)) {
        const user = cloudAccount(options.store.project, request.role)
        return await serveCompute({store: options.store, ops: operations, times, serial: options.serial, request, user}, request)
      }
      if (request.path.startsWith(CONTAINER_PREFIX)) return await serveContainer(containerContext, request)
      throw new CloudError(404, `The requested URL ${request.path} was not found on this server.`, 'notFound')
    } catch (error) {
      if (error instanceof CloudError) return {status: error.code, body: error.body(isIamPath(request.path) ? 'container' : flavour)}
      options.log(`cloud: ${request.method} ${request.path} failed: ${(error as Error).stack ?? String(error)}`)
      const bug = new CloudError(500, `Internal error in the lab's cloud: ${(error as Error).message}`, 'backendError')
      return {status: 500, body: bug.body(flavour)}
    }
  }

  const serveBatch = async (req: IncomingMessage, body: string, role: CloudRole): Promise<{contentType: string; body: string}> => {
    const answers = []
    for (const part of parseBatch(req.headers['content-type'], body)) {
      const url = new URL(part.target, 'http://127.0.0.1')
      const own = part.headers.authorization !== undefined ? check(part.headers) : role
      let answer: CloudResponse
      if (!own) answer = {status: 401, body: unauthenticated().body(flavourOf(url.pathname))}
      else {
        try {
          answer = await serveOne({method: part.method, path: url.pathname, query: url.searchParams, headers: part.headers, body: parseJson(part.body), role: own, denied: options.faults?.denied()})
        } catch (error) {
          if (!(error instanceof CloudError)) throw error
          answer = {status: error.code, body: error.body('compute')}
        }
      }
      answers.push({contentId: part.contentId, status: answer.status, body: answer.body})
    }
    return renderBatch(answers)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const method = req.method ?? 'GET'
    const flavour = flavourOf(url.pathname)
    const fail = (error: CloudError): void => sendJson(res, error.code, error.body(flavour), 'application/json; charset=UTF-8')
    let text: string
    try {
      text = (await readBody(req, BODY_LIMIT)).toString('utf8')
    } catch (error) {
      if (error instanceof BodyTooLargeError) return fail(new CloudError(413, error.message, 'requestTooLarge'))
      throw error
    }
    const injected = await options.faults?.inject(method, url.pathname)
    if (injected && !injected.afterServing) return fail(injected)
    const role = check(req.headers)
    if (!role) return fail(unauthenticated())
    if (url.pathname === BATCH_PATH) {
      if (method !== 'POST') return fail(new CloudError(405, 'The batch endpoint takes POST.', 'httpMethodNotAllowed'))
      let batch: {contentType: string; body: string}
      try {
        batch = await serveBatch(req, text, role)
      } catch (error) {
        if (error instanceof CloudError) return fail(error)
        throw error
      }
      if (injected) return fail(injected)
      res.writeHead(200, {'Content-Type': batch.contentType, 'Content-Length': Buffer.byteLength(batch.body)})
      res.end(batch.body)
      return
    }
    let body: unknown
    try {
      body = parseJson(text)
    } catch (error) {
      if (error instanceof CloudError) return fail(error)
      throw error
    }
    const answer = await serveOne({method, path: url.pathname, query: url.searchParams, headers: req.headers, body, role, denied: options.faults?.denied()})
    if (method !== 'GET') options.log(`cloud: ${method} ${url.pathname} → ${answer.status}${injected ? ` (answered ${injected.code} instead)` : ''}`)
    if (injected) return fail(injected)
    sendJson(res, answer.status, answer.body, 'application/json; charset=UTF-8')
  }

  const {server, port} = await serveLoopback({
    host: '127.0.0.1', port: options.port ?? 0,
    handle: (req, res) => handle(req, res),
    fail: (res, error) => {
      options.log(`cloud: request failed: ${(error as Error).stack ?? String(error)}`)
      sendJson(res, 500, new CloudError(500, 'Internal error in the lab\'s cloud.', 'backendError').body('compute'))
    },
  })
  return {port, url: `http://127.0.0.1:${port}`, operations, close: () => closeServer(server)}
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
