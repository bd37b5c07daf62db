/**
 * A fault-injecting HTTPS proxy in front of a lab's Kubernetes API server, for tests of what xcc
 * does when the API misbehaves half-way (issue 13). It serves the lab server's own certificate
 * (so the lab's kubeconfig trusts it unchanged, with only the port changed) and forwards each
 * request upstream with the kubeconfig's admin client certificate. For every request the test's
 * `decide` says what happens:
 *
 * - `forward`: passed through;
 * - `drop-response`: forwarded, the upstream answer read whole (the server has carried it out),
 *   then the client's connection is reset — the answer is lost;
 * - `stall`: never forwarded, never answered — the API stopped answering;
 * - `stall-response`: forwarded, and its answer withheld (the client times out);
 * - `{holdUntil}`: forwarded only once the promise settles — another writer goes first.
 *
 * Loopback only (it listens on 127.0.0.1 and forwards only to 127.0.0.1), and bounded: anything
 * held is dropped after `maxHoldMs`, and close() resets every connection.
 */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {type IncomingMessage, type ServerResponse} from 'node:http'
import {type Server, createServer, request as httpsRequest} from 'node:https'
import type {AddressInfo, Socket} from 'node:net'
import {join} from 'node:path'
import {pipeline} from 'node:stream'

import {dump, load} from 'js-yaml'

export interface ProxiedRequest {
  readonly method: string
  /** the path without the query */
  readonly path: string
  readonly query: string
}

export type FaultAction = 'forward' | 'drop-response' | 'stall' | 'stall-response' | {readonly holdUntil: Promise<unknown>}

interface LabPki {
  readonly clusters: Readonly<Record<string, {ca: {cert: string}; server: {cert: string; key: string}; admin: {cert: string; key: string}}>>
}

interface Kubeconfig {
  clusters: Array<{name: string; cluster: {server: string}}>
}

export class FaultProxy {
  /** every request seen, with what was done to it */
  readonly log: Array<ProxiedRequest & {readonly action: string}> = []
  decide: (request: ProxiedRequest) => FaultAction = () => 'forward'
  private readonly sockets = new Set<Socket>()
  private readonly timers = new Set<NodeJS.Timeout>()

  private constructor(private readonly server: Server, private readonly upstream: URL, private readonly client: {ca: string; cert: string; key: string}, private readonly maxHoldMs: number) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    })
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res))
  }

  /** a proxy for cluster `cluster` of the lab in `labDir` (its pki.json and kubeconfig) */
  static async start(labDir: string, cluster: string, options: {maxHoldMs?: number} = {}): Promise<FaultProxy> {
    const pki = JSON.parse(readFileSync(join(labDir, 'pki.json'), 'utf8')) as LabPki
    const certs = pki.clusters[cluster]
    assert.ok(certs, `the lab has no cluster ${cluster}`)
    const kubeconfig = load(readFileSync(join(labDir, 'kubeconfig'), 'utf8')) as Kubeconfig
    const server = kubeconfig.clusters.find((c) => c.name === cluster)?.cluster.server
    assert.ok(server, `the lab's kubeconfig has no cluster ${cluster}`)
    const upstream = new URL(server)
    assert.equal(upstream.hostname, '127.0.0.1', 'the proxy forwards to loopback only')
    const https = createServer({cert: certs.server.cert, key: certs.server.key})
    const proxy = new FaultProxy(https, upstream, {ca: certs.ca.cert, cert: certs.admin.cert, key: certs.admin.key}, options.maxHoldMs ?? 60_000)
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  /** a copy of the lab's kubeconfig whose `cluster` goes through this proxy, written to `path` */
  writeKubeconfig(labDir: string, cluster: string, path: string): string {
    const kubeconfig = load(readFileSync(join(labDir, 'kubeconfig'), 'utf8')) as Kubeconfig
    for (const c of kubeconfig.clusters) if (c.name === cluster) c.cluster.server = this.url
    writeFileSync(path, dump(kubeconfig, {lineWidth: -1}), {mode: 0o600})
    return path
  }

  /** the requests seen that match, as `METHOD path` */
  seen(match: (r: ProxiedRequest) => boolean = () => true): string[] {
    return this.log.filter(match).map((r) => `${r.method} ${r.path} ${r.action}`)
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer)
    for (const socket of this.sockets) socket.destroy()
    await new Promise((resolve) => this.server.close(resolve))
  }

  /** resolves after maxHoldMs (bounded holds), or when the client goes away */
  private bounded(req: IncomingMessage): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.maxHoldMs)
      this.timers.add(timer)
      req.socket.once('close', done)
      function done(): void {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://proxy')
    const seen: ProxiedRequest = {method: req.method ?? 'GET', path: url.pathname, query: url.search}
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const action = this.decide(seen)
    this.log.push({...seen, action: typeof action === 'string' ? action : 'hold'})
    if (action === 'stall') {
      await this.bounded(req)
      return void req.socket.destroy()
    }
    if (typeof action === 'object') await Promise.race([action.holdUntil.catch(() => undefined), this.bounded(req)])
    if (req.socket.destroyed) return
    let upstream: IncomingMessage
    try {
      upstream = await this.forward(req, body, action !== 'drop-response' && action !== 'stall-response')
    } catch {
      return void req.socket.destroy()
    }
    if (action === 'drop-response' || action === 'stall-response') {
      // the server has answered (it carried the request out): read its answer whole, then lose it
      upstream.resume()
      await new Promise((resolve) => upstream.once('close', resolve))
      if (action === 'stall-response') await this.bounded(req)
      return void req.socket.destroy()
    }
    // streamed as it comes (a watch never ends). The headers go at once, as the server sent
    // them: a client blocks until it has them, and a watch may have nothing to send for long
    // (kubectl's wait for a deletion stops such a watch, and cannot end until its headers came).
    // An upstream that goes away mid-stream resets the client's connection, as it would directly.
    res.writeHead(upstream.statusCode ?? 502, upstream.headers)
    res.flushHeaders()
    pipeline(upstream, res, () => {})
  }

  /** the upstream answer once its headers arrive; `streamed`: the client bounds it from then on (a watch idles) */
  private forward(req: IncomingMessage, body: Buffer, streamed: boolean): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers = {...req.headers, host: this.upstream.host}
      delete headers.authorization
      const up = httpsRequest({
        host: '127.0.0.1', port: Number(this.upstream.port), method: req.method, path: req.url, headers,
        ca: this.client.ca, cert: this.client.cert, key: this.client.key,
        // a connection of its own per request: nothing held or reset upstream spills over to the next one
        agent: false,
      }, (answer) => {
        if (streamed) up.setTimeout(0)
        resolve(answer)
      })
      up.setTimeout(30_000, () => up.destroy(new Error('upstream timeout')))
      up.once('error', reject)
      up.end(body)
    })
  }
}
