/**
 * An emulated Kubernetes API server for one lab cluster: HTTPS on loopback, client-certificate
 * and bearer-token authentication, RBAC authorization (with the default bootstrap roles;
 * `system:masters` may do everything), PodSecurity admission, an in-memory object store, and
 * the controllers that make pods real (scheduler, kubelet through a PodRuntime, DaemonSets, Deployments without ReplicaSets,
 * Endpoints and EndpointSlices of Services (mirrored from the Endpoints without a selector), ServiceAccount tokens, namespaces, garbage collection). Real clients (kubectl 1.32,
 * @kubernetes/client-node 1.x) talk to it unchanged.
 */
import {mkdirSync} from 'node:fs'

import {ClusterApi} from './api.js'
import {parseCidr} from './admission.js'
import {DaemonSetController} from './controllers/daemonset.js'
import {DeploymentController} from './controllers/deployment.js'
import {EndpointsController} from './controllers/endpoints.js'
import {EndpointSliceMirroringController} from './controllers/endpointslice-mirroring.js'
import {EndpointSliceController} from './controllers/endpointslices.js'
import {EventRecorder} from './controllers/events.js'
import {Kubelet} from './controllers/kubelet.js'
import {GarbageCollector, NamespaceController} from './controllers/lifecycle.js'
import {Scheduler} from './controllers/scheduler.js'
import {ServiceAccountController} from './controllers/serviceaccounts.js'
import {ApiError} from './errors.js'
import {createAuthenticator, type StaticTokenUser} from './http/auth.js'
import type {ServerContext} from './http/context.js'
import {listen} from './http/server.js'
import {ResourceRegistry} from './resources.js'
import type {PodRuntime} from './runtime.js'
import {RbacAuthorizer} from './rbac/authorizer.js'
import {bootstrapPolicy} from './rbac/bootstrap.js'
import {ObjectStore} from './store.js'
import type {KubeObject} from './types.js'
import {signingKey} from './tokens/jwt.js'
import {ServiceAccountTokens} from './tokens/service-account-tokens.js'

export type {ClusterApi, DeleteOptions, PatchType} from './api.js'
export type {StaticTokenUser, UserInfo} from './http/auth.js'
export type {ObjectStore, StoreEvent} from './store.js'
export type {EventRecorder} from './controllers/events.js'
export type {KubeObject, NodeObject, Pod} from './types.js'
export type {ContainerIdentity, ContainerStartSpec, PodRuntime, ProcessExit, RunningProcess} from './runtime.js'
export {POD_IP_ANNOTATION, TERMINATION_MESSAGE_ENV} from './runtime.js'
export {LocalProcessRuntime} from './local-runtime.js'

export interface KubeApiServerOptions {
  clusterName: string
  /** default 127.0.0.1; only loopback addresses are accepted */
  host?: string
  /** default 0 (ephemeral) */
  port?: number
  /** PEM; caCert verifies client certificates and goes into ServiceAccount token Secrets */
  tls: {key: string; cert: string; caCert: string}
  /** more loopback addresses the same API listens on (a GKE cluster's private endpoint), same port when free */
  extraHosts?: readonly string[]
  /** ServiceAccount tokens (kube-apiserver's --service-account-* flags) */
  serviceAccounts?: {
    /** PEM RSA key that signs the tokens (default: a new key for this server) */
    signingKey?: string
    /** `iss` of bound tokens (default https://kubernetes.default.svc.cluster.local) */
    issuer?: string
    /** audiences the API accepts (default [issuer]) */
    apiAudiences?: readonly string[]
    /** the longest TokenRequest grant, seconds (default: no cap) */
    maxTokenExpirationSeconds?: number
  }
  /** bearer tokens → user and groups (plus `system:authenticated`); RBAC decides what they may do */
  staticTokens?: ReadonlyMap<string, StaticTokenUser>
  runtime: PodRuntime
  /** container logs: <logDir>/<ns>_<pod>_<container>.log (created if missing) */
  logDir: string
  /** created at start, namespaces first, then nodes, then the rest */
  objects?: readonly KubeObject[]
  /** where Service cluster IPs are allocated from when a Service has none (default 10.96.0.0/12) */
  serviceClusterIpRange?: string
  /** how many events watches can resume from (default 5000; older resourceVersions get 410 Gone) */
  watchHistory?: number
  /**
   * Controllers outside Kubernetes proper (the lab's node agents): made once the objects are
   * loaded, started after the built-in controllers (the server listens once every start has
   * settled), stopped first on close.
   */
  addons?: ReadonlyArray<(context: AddonContext) => Addon>
}

export interface AddonContext {
  readonly api: ClusterApi
  readonly store: ObjectStore
  readonly events: EventRecorder
}

export interface Addon {
  start(): void | Promise<void>
  stop(): void | Promise<void>
}

export interface KubeApiServer {
  readonly url: string
  readonly port: number
  /** `host:port` of each of `extraHosts`, in their order */
  readonly extraEndpoints: readonly string[]
  readonly store: ObjectStore
  /** writes with the API server's admission (defaults, validation) and deletion semantics */
  readonly api: ClusterApi
  /** stops the controllers, kills every pod process, tears pod networks down, closes connections */
  close(): Promise<void>
}

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public']

function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === 'localhost'
}

function rank(object: KubeObject): number {
  if (object.kind === 'Namespace') return 0
  if (object.kind === 'Node') return 1
  if (object.kind === 'ServiceAccount') return 2
  return 3
}

function loadObjects(api: ClusterApi, objects: readonly KubeObject[]): void {
  const registry = api.store.registry
  for (const name of SYSTEM_NAMESPACES) api.create(registry.get('namespaces'), undefined, {metadata: {name}})
  // the default RBAC policy, unless the given objects replace one of its roles or bindings
  const given = new Set(objects.map((o) => `${o.kind}/${o.metadata?.name ?? ''}`))
  for (const object of bootstrapPolicy()) {
    if (!given.has(`${object.kind}/${object.metadata.name}`)) api.create(registry.forKind(object.apiVersion!, object.kind!)!, undefined, object)
  }
  for (const object of [...objects].sort((a, b) => rank(a) - rank(b))) {
    const type = registry.forKind(object.apiVersion ?? '', object.kind ?? '')
    if (!type || type.virtual) throw new Error(`objects: ${object.apiVersion}/${object.kind} ${object.metadata?.name ?? ''} is not a kind this API server stores`)
    const namespace = type.namespaced ? (object.metadata?.namespace ?? 'default') : undefined
    try {
      api.create(type, namespace, object)
    } catch (error) {
      const exists = error instanceof ApiError && error.reason === 'AlreadyExists'
      if (exists && (object.kind === 'Namespace' || (object.kind === 'ServiceAccount' && object.metadata.name === 'default'))) continue
      throw new Error(`objects: cannot create ${object.kind} ${namespace ? `${namespace}/` : ''}${object.metadata?.name ?? ''}: ${(error as Error).message}`)
    }
  }
}

export async function startKubeApiServer(options: KubeApiServerOptions): Promise<KubeApiServer> {
  const host = options.host ?? '127.0.0.1'
  if (!isLoopback(host)) throw new Error(`the lab's API server listens on loopback only, not on ${host}`)
  mkdirSync(options.logDir, {recursive: true, mode: 0o700})
  const registry = new ResourceRegistry()
  const store = new ObjectStore(registry, {historyLimit: options.watchHistory})
  const api = new ClusterApi(store, parseCidr(options.serviceClusterIpRange ?? '10.96.0.0/12'))
  const events = new EventRecorder(store)
  const sa = options.serviceAccounts ?? {}
  const tokens = new ServiceAccountTokens(store, await signingKey(sa.signingKey), {...(sa.issuer ? {issuer: sa.issuer} : {}), ...(sa.apiAudiences ? {apiAudiences: sa.apiAudiences} : {})})
  const serviceAccounts = new ServiceAccountController(store, options.tls.caCert, tokens)
  const kubelet = new Kubelet({store, runtime: options.runtime, logDir: options.logDir, events})
  const controllers = [serviceAccounts, new NamespaceController(api), new GarbageCollector(api), new Scheduler(store, events), new DaemonSetController(api, events), new DeploymentController(api, events), new EndpointsController(api, events), new EndpointSliceController(api), new EndpointSliceMirroringController(api)]

  loadObjects(api, options.objects ?? [])
  for (const controller of controllers) controller.start()
  kubelet.start()
  const addons = (options.addons ?? []).map((make) => make({api, store, events}))
  const stopAddons = (): Promise<unknown> => Promise.allSettled(addons.map(async (addon) => addon.stop()))
  try {
    await Promise.all(addons.map(async (addon) => addon.start()))
  } catch (error) {
    await stopAddons()
    for (const controller of controllers) controller.stop()
    await kubelet.stop()
    throw error
  }

  const tokenRequests = {store, tokens, ...(sa.maxTokenExpirationSeconds !== undefined ? {maxExpirationSeconds: sa.maxTokenExpirationSeconds} : {})}
  const context: ServerContext = {api, store, authorizer: new RbacAuthorizer(store), tokenRequests, logDir: options.logDir, streams: new Set()}
  const authenticator = createAuthenticator({staticTokens: options.staticTokens, serviceAccountToken: (token) => tokens.authenticate(token)})
  const servers: Array<Awaited<ReturnType<typeof listen>>['server']> = []
  const extraEndpoints: string[] = []
  let port: number
  try {
    const listenOn = (at: string, wanted: number) => listen({host: at, port: wanted, tls: options.tls, registry, authenticator, context})
    const main = await listenOn(host, options.port ?? 0)
    servers.push(main.server)
    port = main.port
    for (const extra of options.extraHosts ?? []) {
      if (!isLoopback(extra)) throw new Error(`the lab's API server listens on loopback only, not on ${extra}`)
      // the same port on the other address when it is free there, else any
      const other = await listenOn(extra, port).catch((error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? listenOn(extra, 0) : Promise.reject(error)))
      servers.push(other.server)
      extraEndpoints.push(`${extra}:${other.port}`)
    }
  } catch (error) {
    for (const s of servers) s.close()
    await stopAddons()
    for (const controller of controllers) controller.stop()
    await kubelet.stop()
    throw error
  }
  let closing: Promise<void> | undefined
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    extraEndpoints,
    store,
    api,
    close() {
      closing ??= (async () => {
        await stopAddons()
        for (const controller of controllers) controller.stop()
        for (const close of [...context.streams]) close()
        const closed = Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
        for (const server of servers) server.closeAllConnections()
        await kubelet.stop()
        await closed
      })()
      return closing
    },
  }
}
