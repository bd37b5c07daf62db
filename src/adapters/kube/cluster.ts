/**
 * KubeCluster (src/core/ports.ts) on @kubernetes/client-node 1.x: one KubeConfig per opened
 * context (its own current-context, nothing shared with other contexts), CoreV1Api, AppsV1Api
 * and AuthorizationV1Api clients, a timeout on every request, and every failure normalised by
 * kube-errors.ts.
 *
 * This module only imports client-node's types: the caller passes the module it loaded
 * lazily (kube.ts), because importing client-node costs ~400 ms (ecosystem.md).
 */
import {Agent as HttpAgent} from 'node:http'
import {Agent as HttpsAgent} from 'node:https'

import type * as K8s from '@kubernetes/client-node'

import {XccError} from '../../core/errors.js'
import type {AccessAnswer, AccessQuestion, KubeCluster, KubeConfigMap, KubeContainer, KubeDaemonSet, KubeDeployment, KubeEndpoints, KubeNamespace, KubeNode, KubePod, KubeService} from '../../core/ports/kube.js'
import type {ClientNode, MergedKubeconfig} from './config.js'
import {describeLocation} from './config.js'
import {BoundedExecAuth, DEFAULT_EXEC_PLUGIN_TIMEOUT_MS, execPluginOf} from './exec-auth.js'
import {type KubeRequest, type KubeTarget, collectSecrets, kubeFailure, kubeStatusOf, safeError} from './errors.js'

/** a request that takes longer gives exit 3 instead of hanging the command */
export const DEFAULT_KUBE_REQUEST_TIMEOUT_MS = 15_000

type Options = K8s.ConfigurationOptions

/**
 * client-node returns model class instances (dates as Date objects); the port speaks the
 * API's JSON, so convert through JSON (Date → ISO string, undefined fields dropped).
 */
function plain<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T
}

/**
 * A list answer's items. Kubernetes marks `items` required, yet a server or proxy that answers
 * `"items": null` (Go's nil slice) or no items at all means an empty list, as kubectl reads it.
 */
function items<T>(list: {items?: unknown}): T[] {
  return Array.isArray(list.items) ? plain<T[]>(list.items) : []
}

/** builds the KubeConfig of one context; throws XccError exit 2 when the kubeconfig lacks a piece */
export function contextConfig(k8s: ClientNode, merged: MergedKubeconfig, name: string, execTimeoutMs: number): {config: K8s.KubeConfig; cluster: K8s.Cluster; user?: K8s.User} {
  const context = merged.contexts.get(name)
  const where = describeLocation(merged.location)
  if (!context) {
    const names = [...merged.contexts.keys()]
    throw new XccError(`kube context "${name}" not found in ${where}`, {
      exitCode: 2,
      hint: names.length > 0 ? `available contexts: ${names.join(', ')}` : 'the kubeconfig defines no contexts',
    })
  }
  const cluster = merged.clusters.get(context.cluster)
  if (!cluster) throw new XccError(`kube context "${name}" uses cluster "${context.cluster}", which ${where} does not define`, {exitCode: 2})
  const user = context.user === undefined ? undefined : merged.users.get(context.user)
  if (context.user !== undefined && !user) throw new XccError(`kube context "${name}" uses user "${context.user}", which ${where} does not define`, {exitCode: 2})
  const config = new k8s.KubeConfig()
  // copies: client-node's auth providers write refreshed tokens into the user object
  const copy = user ? structuredClone(user) : undefined
  // an exec plugin runs through BoundedExecAuth (a timeout, capped output, a redacted message),
  // not client-node's ExecAuth, which would run it first: client-node sees the user without it
  const plugin = execPluginOf(copy)
  if (copy && plugin) {
    const bare = {...copy, exec: undefined, authProvider: copy.exec ? copy.authProvider : undefined}
    config.addAuthenticator(new BoundedExecAuth(copy.name, plugin, execTimeoutMs))
    config.loadFromOptions({clusters: [structuredClone(cluster)], users: [bare], contexts: [{...context}], currentContext: name})
  } else {
    config.loadFromOptions({clusters: [structuredClone(cluster)], users: copy ? [copy] : [], contexts: [{...context}], currentContext: name})
  }
  return {config, cluster, ...(user ? {user} : {})}
}

/** a middleware that aborts the request (connect, headers and body) after `ms` */
export function timeoutMiddleware(k8s: ClientNode, ms: number): K8s.ObservableMiddleware {
  return {
    pre(request) {
      request.setSignal(AbortSignal.timeout(ms))
      return new k8s.Observable(Promise.resolve(request))
    },
    post(response) {
      return new k8s.Observable(Promise.resolve(response))
    },
  }
}

/** at most this many connections to one API server per kubeconfig opened: it also bounds how many requests run at once */
export const KEEP_ALIVE_SOCKETS = 8

/**
 * client-node gives every request an agent of its own, so every request opens a new (TLS)
 * connection. This middleware hands every request of one client the same keep-alive agent, made
 * from the options of the first request's agent (the cluster's CA, client certificate, server
 * name: the same for every request of one context). A proxy agent (a subclass) is left alone.
 * Idle sockets are unreferenced by node:http, so they never keep the process alive.
 */
export function reuseConnections(k8s: ClientNode): K8s.ObservableMiddleware {
  let shared: HttpAgent | undefined
  return {
    pre(request) {
      const agent = request.getAgent() as HttpAgent | undefined
      if (agent && (agent.constructor === HttpsAgent || agent.constructor === HttpAgent)) {
        // node:http keeps an agent's constructor options on it (not in its typings)
        const options = (agent as unknown as {options: ConstructorParameters<typeof HttpsAgent>[0]}).options
        shared ??= agent.constructor === HttpsAgent ? new HttpsAgent({...options, keepAlive: true, maxSockets: KEEP_ALIVE_SOCKETS}) : new HttpAgent({...options, keepAlive: true, maxSockets: KEEP_ALIVE_SOCKETS})
        request.setAgent(shared)
      }
      return new k8s.Observable(Promise.resolve(request))
    },
    post(response) {
      return new k8s.Observable(Promise.resolve(response))
    },
  }
}

function isWaitingToStart(message: string | undefined): boolean {
  return message !== undefined && /is waiting to start|ContainerCreating|PodInitializing/.test(message)
}

/** `shared`: middleware every request also runs (reuseConnections, shared with other clients of the same context) */
export function openKubeCluster(k8s: ClientNode, merged: MergedKubeconfig, name: string, timeoutMs: number, execTimeoutMs = DEFAULT_EXEC_PLUGIN_TIMEOUT_MS, shared: readonly K8s.ObservableMiddleware[] = []): KubeCluster {
  const {config, cluster, user} = contextConfig(k8s, merged, name, execTimeoutMs)
  const target: KubeTarget = {context: name, cluster: cluster.name, server: cluster.server, ...(user ? {user: user.name} : {}), timeoutMs, secrets: collectSecrets(user)}
  let core: K8s.CoreV1Api
  let apps: K8s.AppsV1Api
  let authz: K8s.AuthorizationV1Api
  try {
    core = config.makeApiClient(k8s.CoreV1Api)
    apps = config.makeApiClient(k8s.AppsV1Api)
    authz = config.makeApiClient(k8s.AuthorizationV1Api)
  } catch (error) {
    throw safeError(target, `cannot use kube context "${name}": ${(error as Error).message}`, {exitCode: 2})
  }

  // appended to the client's own (empty) middleware list: a fresh merged list per request
  const options = (extra?: (options: Options) => Options): Options => {
    const base: Options = {middleware: [timeoutMiddleware(k8s, timeoutMs), ...shared], middlewareMergeStrategy: 'append'}
    return extra ? extra(base) : base
  }

  /** runs one request; `tolerate` may turn a failure with an HTTP status into a value */
  async function call<T>(request: KubeRequest, run: (options: Options) => Promise<T>, tolerate?: (code: number, message: string | undefined) => {value: T} | undefined): Promise<T> {
    try {
      return await run(options())
    } catch (error) {
      const status = kubeStatusOf(error, k8s.ApiException)
      const tolerated = status && tolerate?.(status.code, status.message)
      if (tolerated) return tolerated.value
      throw kubeFailure(error, status, request, target)
    }
  }

  const missing = <T>(code: number): {value: T | undefined} | undefined => (code === 404 ? {value: undefined} : undefined)

  /**
   * get (404 → undefined), create, replace (on the resourceVersion the object carries) and delete
   * (404 is done) of one namespaced kind, each a request named as kubectl would say it
   */
  function namespaced<K extends {metadata: {name: string}}, W>(kind: string, resource: string, group: string | undefined, api: {
    read(name: string, namespace: string, o: Options): Promise<W>
    create(namespace: string, body: W, o: Options): Promise<W>
    replace(name: string, namespace: string, body: W, o: Options): Promise<W>
    remove(name: string, namespace: string, o: Options): Promise<unknown>
  }) {
    const request = (verb: string, operation: string, namespace: string, objectName: string): KubeRequest =>
      ({operation: `${operation} ${kind} ${namespace}/${objectName}`, verb, resource, ...(group ? {group} : {}), namespace})
    return {
      async get(namespace: string, objectName: string): Promise<K | undefined> {
        const found = await call<W | undefined>(request('get', 'reading', namespace, objectName), (o) => api.read(objectName, namespace, o), missing)
        return found && plain<K>(found)
      },
      async create(namespace: string, object: K): Promise<K> {
        return plain<K>(await call(request('create', 'creating', namespace, object.metadata.name), (o) => api.create(namespace, object as unknown as W, o)))
      },
      async replace(namespace: string, object: K): Promise<K> {
        const objectName = object.metadata.name
        const replacing = {...request('update', 'replacing', namespace, objectName), replaces: `${kind} ${namespace}/${objectName}`}
        return plain<K>(await call(replacing, (o) => api.replace(objectName, namespace, object as unknown as W, o)))
      },
      async remove(namespace: string, objectName: string): Promise<void> {
        await call<unknown>(request('delete', 'deleting', namespace, objectName), (o) => api.remove(objectName, namespace, o), missing)
      },
    }
  }

  const configMaps = namespaced<KubeConfigMap, K8s.V1ConfigMap>('configmap', 'configmaps', undefined, {
    read: (n, namespace, o) => core.readNamespacedConfigMap({name: n, namespace}, o),
    create: (namespace, body, o) => core.createNamespacedConfigMap({namespace, body}, o),
    replace: (n, namespace, body, o) => core.replaceNamespacedConfigMap({name: n, namespace, body}, o),
    remove: (n, namespace, o) => core.deleteNamespacedConfigMap({name: n, namespace}, o),
  })
  // Background: the owner goes at once, the garbage collector removes its pods after
  const daemonSets = namespaced<KubeDaemonSet, K8s.V1DaemonSet>('daemonset', 'daemonsets', 'apps', {
    read: (n, namespace, o) => apps.readNamespacedDaemonSet({name: n, namespace}, o),
    create: (namespace, body, o) => apps.createNamespacedDaemonSet({namespace, body}, o),
    replace: (n, namespace, body, o) => apps.replaceNamespacedDaemonSet({name: n, namespace, body}, o),
    remove: (n, namespace, o) => apps.deleteNamespacedDaemonSet({name: n, namespace, propagationPolicy: 'Background'}, o),
  })
  const deployments = namespaced<KubeDeployment, K8s.V1Deployment>('deployment', 'deployments', 'apps', {
    read: (n, namespace, o) => apps.readNamespacedDeployment({name: n, namespace}, o),
    create: (namespace, body, o) => apps.createNamespacedDeployment({namespace, body}, o),
    replace: (n, namespace, body, o) => apps.replaceNamespacedDeployment({name: n, namespace, body}, o),
    remove: (n, namespace, o) => apps.deleteNamespacedDeployment({name: n, namespace, propagationPolicy: 'Background'}, o),
  })

  return {
    context: name,
    server: cluster.server,

    async listNodes() {
      const list = await call({operation: 'listing nodes', verb: 'list', resource: 'nodes'}, (o) => core.listNode({}, o))
      return items<KubeNode>(list)
    },

    async getNamespace(namespace) {
      const found = await call<K8s.V1Namespace | undefined>({operation: `reading namespace ${namespace}`, verb: 'get', resource: 'namespaces'}, (o) => core.readNamespace({name: namespace}, o), missing)
      return found && plain<KubeNamespace>(found)
    },

    async getPod(namespace, pod) {
      const request = {operation: `reading pod ${namespace}/${pod}`, verb: 'get', resource: 'pods', namespace}
      const found = await call<K8s.V1Pod | undefined>(request, (o) => core.readNamespacedPod({name: pod, namespace}, o), missing)
      return found && plain<KubePod>(found)
    },

    async listPods(namespace, labelSelector) {
      const selected = labelSelector ? ` matching ${labelSelector}` : ''
      const list =
        namespace === undefined
          ? await call({operation: `listing pods${selected} in every namespace`, verb: 'list', resource: 'pods', allNamespaces: true}, (o) =>
              core.listPodForAllNamespaces(labelSelector ? {labelSelector} : {}, o),
            )
          : await call({operation: `listing pods${selected} in namespace ${namespace}`, verb: 'list', resource: 'pods', namespace}, (o) =>
              core.listNamespacedPod({namespace, ...(labelSelector ? {labelSelector} : {})}, o),
            )
      return items<KubePod>(list)
    },

    async createPod(namespace, pod) {
      const request = {operation: `creating pod ${namespace}/${pod.metadata.name}`, verb: 'create', resource: 'pods', namespace}
      const created = await call(request, (o) => core.createNamespacedPod({namespace, body: pod as unknown as K8s.V1Pod}, o))
      return plain<KubePod>(created)
    },

    async deletePod(namespace, pod) {
      const request = {operation: `deleting pod ${namespace}/${pod}`, verb: 'delete', resource: 'pods', namespace}
      await call<unknown>(request, (o) => core.deleteNamespacedPod({name: pod, namespace, gracePeriodSeconds: 0}, o), missing)
    },

    async readPodLog(namespace, pod, container) {
      const request = {operation: `reading the log of container ${container} of pod ${namespace}/${pod}`, verb: 'get', resource: 'pods', subresource: 'log', namespace}
      // a container that has not started answers 400 "container "c" in pod "p" is waiting to start: ContainerCreating"
      return call(request, (o) => core.readNamespacedPodLog({name: pod, namespace, container}, o), (code, message) => (code === 400 && isWaitingToStart(message) ? {value: ''} : undefined))
    },

    async addEphemeralContainer(namespace, pod, container: KubeContainer) {
      const request = {operation: `adding ephemeral container ${container.name} to pod ${namespace}/${pod}`, verb: 'patch', resource: 'pods', subresource: 'ephemeralcontainers', namespace}
      // client-node picks the first patch media type its spec lists (JSON Patch) unless a
      // middleware overrides the Content-Type header: a strategic merge patch merges by name
      const body = {spec: {ephemeralContainers: [container]}}
      await call(request, (o) =>
        core.patchNamespacedPodEphemeralcontainers({name: pod, namespace, body}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch, o)),
      )
    },

    async getService(namespace, service) {
      const request = {operation: `reading service ${namespace}/${service}`, verb: 'get', resource: 'services', namespace}
      const found = await call<K8s.V1Service | undefined>(request, (o) => core.readNamespacedService({name: service, namespace}, o), missing)
      return found && plain<KubeService>(found)
    },

    async listServices() {
      const list = await call({operation: 'listing services in every namespace', verb: 'list', resource: 'services', allNamespaces: true}, (o) => core.listServiceForAllNamespaces({}, o))
      return items<KubeService>(list)
    },

    async createService(namespace, service) {
      const request = {operation: `creating service ${namespace}/${service.metadata.name}`, verb: 'create', resource: 'services', namespace}
      const created = await call(request, (o) => core.createNamespacedService({namespace, body: service as unknown as K8s.V1Service}, o))
      return plain<KubeService>(created)
    },

    async deleteService(namespace, service) {
      const request = {operation: `deleting service ${namespace}/${service}`, verb: 'delete', resource: 'services', namespace}
      await call<unknown>(request, (o) => core.deleteNamespacedService({name: service, namespace}, o), missing)
    },

    async annotateService(namespace, service, annotations) {
      const request = {operation: `annotating service ${namespace}/${service}`, verb: 'patch', resource: 'services', namespace}
      const patched = await call(request, (o) => core.patchNamespacedService({name: service, namespace, body: {metadata: {annotations}}}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch, o)))
      return plain<KubeService>(patched)
    },

    async getEndpoints(namespace, service) {
      const request = {operation: `reading endpoints ${namespace}/${service}`, verb: 'get', resource: 'endpoints', namespace}
      const found = await call<K8s.V1Endpoints | undefined>(request, (o) => core.readNamespacedEndpoints({name: service, namespace}, o), missing)
      return found && plain<KubeEndpoints>(found)
    },

    getConfigMap: configMaps.get,
    createConfigMap: configMaps.create,
    replaceConfigMap: configMaps.replace,
    deleteConfigMap: configMaps.remove,

    getDaemonSet: daemonSets.get,
    async listDaemonSets(namespace) {
      const list = await call({operation: `listing daemonsets in namespace ${namespace}`, verb: 'list', resource: 'daemonsets', group: 'apps', namespace}, (o) => apps.listNamespacedDaemonSet({namespace}, o))
      return items<KubeDaemonSet>(list)
    },
    createDaemonSet: daemonSets.create,
    replaceDaemonSet: daemonSets.replace,
    deleteDaemonSet: daemonSets.remove,

    getDeployment: deployments.get,
    createDeployment: deployments.create,
    replaceDeployment: deployments.replace,
    deleteDeployment: deployments.remove,

    async canI(questions: readonly AccessQuestion[]): Promise<AccessAnswer[]> {
      return Promise.all(
        questions.map(async (question) => {
          const resource = question.subresource ? `${question.resource}/${question.subresource}` : question.resource
          const scope = question.namespace === undefined ? '' : ` in namespace ${question.namespace}`
          const request = {operation: `asking whether the user may ${question.verb} ${resource}${scope}`, verb: 'create', resource: 'selfsubjectaccessreviews', group: 'authorization.k8s.io'}
          const body: K8s.V1SelfSubjectAccessReview = {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                verb: question.verb,
                resource: question.resource,
                ...(question.subresource ? {subresource: question.subresource} : {}),
                ...(question.group ? {group: question.group} : {}),
                ...(question.namespace === undefined ? {} : {namespace: question.namespace}),
                ...(question.name === undefined ? {} : {name: question.name}),
              },
            },
          }
          const review = await call(request, (o) => authz.createSelfSubjectAccessReview({body}, o))
          const reason = review.status?.reason || review.status?.evaluationError
          return {allowed: review.status?.allowed === true, ...(reason ? {reason} : {})}
        }),
      )
    },
  }
}
