/**
 * The lab's emulated APIs are HTTP servers on loopback: the Kubernetes API over TLS with client
 * certificates (each cluster has its own CA), the cloud APIs over plain HTTP as gcloud's endpoint
 * overrides point at them. This starts one, hands every request to the API's handler and turns
 * an escaped error into the API's own error answer, never a dropped connection.
 */
import {type IncomingMessage, type Server, type ServerResponse, createServer as createHttpServer} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'

export interface LoopbackTls {
  readonly key: string
  readonly cert: string
  /** the CA whose client certificates are asked for (verified by the API itself) */
  readonly caCert: string
}

export interface LoopbackOptions {
  /** 127.0.0.1: the lab never listens beyond loopback */
  readonly host: string
  /** 0 picks a free port */
  readonly port: number
  /** absent: plain HTTP */
  readonly tls?: LoopbackTls
  /** `address()` is `host:port` once listening */
  handle(req: IncomingMessage, res: ServerResponse, address: () => string): Promise<void>
  /** answers an error that escaped `handle` */
  fail(res: ServerResponse, error: unknown): void
}

export function serveLoopback(options: LoopbackOptions): Promise<{server: Server; port: number}> {
  let port = 0
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    options.handle(req, res, () => `${options.host}:${port}`).catch((error: unknown) => options.fail(res, error))
  }
  const server = options.tls
    ? createHttpsServer({key: options.tls.key, cert: options.tls.cert, ca: options.tls.caCert, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2'}, onRequest)
    : createHttpServer(onRequest)
  server.keepAliveTimeout = 65_000
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      const address = server.address()
      port = typeof address === 'object' && address ? address.port : options.port
      resolve({server, port})
    })
  })
}
