/**
 * The `xcc kubeconfig` ports (core/ports/kube-issuer.ts) on @kubernetes/client-node 1.x, from a
 * kubeconfig held in memory: the issuing user's (the GKE API's server and CA, the caller's Google
 * access token, as GKE accepts it) or the new kubeconfig itself, for the verification. Requests
 * carry the per-request timeout of cluster.ts and fail as its requests fail (errors.ts): a 403
 * names the permission, nothing carries a token.
 */
import type * as K8s from '@kubernetes/client-node'

import type {ManifestObject} from '../../core/kubeconfig/objects.js'
import type {IssuedKind, IssuedObject, KubeIssuer, KubeProbe} from '../../core/ports/kube-issuer.js'
import {XccError} from '../../core/errors.js'
import type {MergedKubeconfig} from './config.js'
import {DEFAULT_KUBE_REQUEST_TIMEOUT_MS, contextConfig, openKubeCluster, reuseConnections, timeoutMiddleware} from './cluster.js'
import {DEFAULT_EXEC_PLUGIN_TIMEOUT_MS} from './exec-auth.js'
import {type KubeRequest, type KubeTarget, collectSecrets, kubeFailure, kubeStatusOf} from './errors.js'

const RBAC = 'rbac.authorization.k8s.io'
const PLURAL: Record<IssuedKind, {resource: string; group: string; namespaced: boolean}> = {
  ServiceAccount: {resource: 'serviceaccounts', group: '', namespaced: true},
  Secret: {resource: 'secrets', group: '', namespaced: true},
  ClusterRole: {resource: 'clusterroles', group: RBAC, namespaced: false},
  ClusterRoleBinding: {resource: 'clusterrolebindings', group: RBAC, namespaced: false},
  Role: {resource: 'roles', group: RBAC, namespaced: true},
  RoleBinding: {resource: 'rolebindings', group: RBAC, namespaced: true},
}

const plain = <T>(value: unknown): T => JSON.parse(JSON.stringify(value)) as T

export interface OpenedKubeconfig {
  readonly issuer: KubeIssuer
  readonly probe: KubeProbe
}

/** `label` names the kubeconfig in messages (`the new kubeconfig`, `the GKE API's cluster c1`) */
export async function openKubeconfigText(text: string, context: string, options: {label: string; timeoutMs?: number; execTimeoutMs?: number}): Promise<OpenedKubeconfig> {
  const k8s = await import('@kubernetes/client-node')
  const kc = new k8s.KubeConfig()
  kc.loadFromString(text)
  const merged: MergedKubeconfig = {
    location: {origin: 'explicit', paths: [options.label]}, files: [options.label],
    clusters: new Map(kc.getClusters().map((c) => [c.name, c])), users: new Map(kc.getUsers().map((u) => [u.name, u])),
    contexts: new Map(kc.getContexts().map((c) => [c.name, c])), current: context,
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_KUBE_REQUEST_TIMEOUT_MS
  const execTimeoutMs = options.execTimeoutMs ?? DEFAULT_EXEC_PLUGIN_TIMEOUT_MS
  // one keep-alive agent for every request made with this kubeconfig (issuing, or the verification's /version, who am I and reviews)
  const reuse = reuseConnections(k8s)
  const cluster = openKubeCluster(k8s, merged, context, timeoutMs, execTimeoutMs, [reuse])
  const {config, cluster: entry, user} = contextConfig(k8s, merged, context, execTimeoutMs)
  const target: KubeTarget = {context, cluster: entry.name, server: entry.server, ...(user ? {user: user.name} : {}), timeoutMs, secrets: collectSecrets(user)}
  const core = config.makeApiClient(k8s.CoreV1Api)
  const rbac = config.makeApiClient(k8s.RbacAuthorizationV1Api)
  const authn = config.makeApiClient(k8s.AuthenticationV1Api)
  const version = config.makeApiClient(k8s.VersionApi)
  const o = (): K8s.ConfigurationOptions => ({middleware: [timeoutMiddleware(k8s, timeoutMs), reuse], middlewareMergeStrategy: 'append'})

  async function call<T>(request: KubeRequest, run: (options: K8s.ConfigurationOptions) => Promise<T>, tolerate?: (code: number) => {value: T} | undefined): Promise<T> {
    try {
      return await run(o())
    } catch (error) {
      const status = kubeStatusOf(error, k8s.ApiException)
      const tolerated = status && tolerate?.(status.code)
      if (tolerated) return tolerated.value
      throw kubeFailure(error, status, request, target)
    }
  }
  const request = (verb: string, kind: IssuedKind, namespace: string | undefined, name: string | undefined, operation: string): KubeRequest => {
    const p = PLURAL[kind]
    return {operation: `${operation} ${kind.toLowerCase()} ${namespace ? `${namespace}/` : ''}${name ?? ''}`.trim(), verb, resource: p.resource, group: p.group, ...(p.namespaced && namespace ? {namespace} : {}), ...(p.namespaced && !namespace ? {allNamespaces: true} : {})}
  }
  const missing = <T>(code: number): {value: T | undefined} | undefined => (code === 404 ? {value: undefined} : undefined)
  const ns = (kind: IssuedKind, namespace: string | undefined): string => {
    if (PLURAL[kind].namespaced && !namespace) throw new XccError(`a ${kind} needs a namespace`, {exitCode: 2})
    return namespace ?? ''
  }

  /* eslint-disable @typescript-eslint/no-explicit-any -- one table over the typed clients: each entry is checked by its use */
  const ops: Record<IssuedKind, {create(n: string, body: any, o: K8s.ConfigurationOptions): Promise<unknown>; read(n: string, name: string, o: K8s.ConfigurationOptions): Promise<unknown>; remove(n: string, name: string, o: K8s.ConfigurationOptions): Promise<unknown>; list(n: string | undefined, labelSelector: string, o: K8s.ConfigurationOptions): Promise<{items?: unknown}>; patch(n: string, name: string, body: any, o: K8s.ConfigurationOptions): Promise<unknown>}> = {
    ServiceAccount: {
      create: (namespace, body, opt) => core.createNamespacedServiceAccount({namespace, body}, opt),
      read: (namespace, name, opt) => core.readNamespacedServiceAccount({namespace, name}, opt),
      remove: (namespace, name, opt) => core.deleteNamespacedServiceAccount({namespace, name}, opt),
      list: (namespace, labelSelector, opt) => (namespace ? core.listNamespacedServiceAccount({namespace, labelSelector}, opt) : core.listServiceAccountForAllNamespaces({labelSelector}, opt)),
      patch: (namespace, name, body, opt) => core.patchNamespacedServiceAccount({namespace, name, body}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch, opt)),
    },
    Secret: {
      create: (namespace, body, opt) => core.createNamespacedSecret({namespace, body}, opt),
      read: (namespace, name, opt) => core.readNamespacedSecret({namespace, name}, opt),
      remove: (namespace, name, opt) => core.deleteNamespacedSecret({namespace, name}, opt),
      list: (namespace, labelSelector, opt) => (namespace ? core.listNamespacedSecret({namespace, labelSelector}, opt) : core.listSecretForAllNamespaces({labelSelector}, opt)),
      patch: (namespace, name, body, opt) => core.patchNamespacedSecret({namespace, name, body}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch, opt)),
    },
    ClusterRole: {
      create: (_n, body, opt) => rbac.createClusterRole({body}, opt),
      read: (_n, name, opt) => rbac.readClusterRole({name}, opt),
      remove: (_n, name, opt) => rbac.deleteClusterRole({name}, opt),
      list: (_n, labelSelector, opt) => rbac.listClusterRole({labelSelector}, opt),
      patch: (_n, name, body, opt) => rbac.patchClusterRole({name, body}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch, opt)),
    },
    ClusterRoleBinding: {
      create: (_n, body, opt) => rbac.createClusterRoleBinding({body}, opt),
      read: (_n, name, opt) => rbac.readClusterRoleBinding({name}, opt),
      remove: (_n, name, opt) => rbac.deleteClusterRoleBinding({name}, opt),
      list: (_n, labelSelector, opt) => rbac.listClusterRoleBinding({labelSelector}, opt),
      patch: (_n, name, body, opt) => rbac.patchClusterRoleBinding({name, body}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch, opt)),
    },
    Role: {
      create: (namespace, body, opt) => rbac.createNamespacedRole({namespace, body}, opt),
      read: (namespace, name, opt) => rbac.readNamespacedRole({namespace, name}, opt),
      remove: (namespace, name, opt) => rbac.deleteNamespacedRole({namespace, name}, opt),
      list: (namespace, labelSelector, opt) => (namespace ? rbac.listNamespacedRole({namespace, labelSelector}, opt) : rbac.listRoleForAllNamespaces({labelSelector}, opt)),
      patch: (namespace, name, body, opt) => rbac.patchNamespacedRole({namespace, name, body}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch, opt)),
    },
    RoleBinding: {
      create: (namespace, body, opt) => rbac.createNamespacedRoleBinding({namespace, body}, opt),
      read: (namespace, name, opt) => rbac.readNamespacedRoleBinding({namespace, name}, opt),
      remove: (namespace, name, opt) => rbac.deleteNamespacedRoleBinding({namespace, name}, opt),
      list: (namespace, labelSelector, opt) => (namespace ? rbac.listNamespacedRoleBinding({namespace, labelSelector}, opt) : rbac.listRoleBindingForAllNamespaces({labelSelector}, opt)),
      patch: (namespace, name, body, opt) => rbac.patchNamespacedRoleBinding({namespace, name, body}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch, opt)),
    },
  }
  /* eslint-enable @typescript-eslint/no-explicit-any */

  const asIssued = (kind: IssuedKind, value: unknown): IssuedObject => ({...plain<Omit<IssuedObject, 'kind'>>(value), kind})

  const issuer: KubeIssuer = {
    server: entry.server,
    async create(object: ManifestObject) {
      const kind = object.kind as IssuedKind
      if (!PLURAL[kind]) throw new XccError(`xcc does not create ${object.kind} objects`, {exitCode: 2})
      const {namespace, name} = object.metadata
      const created = await call(request('create', kind, namespace, name, 'creating'), (opt) => ops[kind].create(ns(kind, namespace), object, opt))
      return asIssued(kind, created)
    },
    async read(kind, namespace, name) {
      const found = await call<unknown>(request('get', kind, namespace, name, 'reading'), (opt) => ops[kind].read(ns(kind, namespace), name, opt), missing)
      return found === undefined ? undefined : asIssued(kind, found)
    },
    async remove(kind, namespace, name) {
      const gone = await call<unknown>(request('delete', kind, namespace, name, 'deleting'), (opt) => ops[kind].remove(ns(kind, namespace), name, opt), (code) => (code === 404 ? {value: 'missing'} : undefined))
      return gone !== 'missing'
    },
    async list(kind, labelSelector, namespace) {
      const operation = `listing ${PLURAL[kind].resource}${namespace ? ` in namespace ${namespace}` : ''} labelled ${labelSelector}`
      const list = await call({...request('list', kind, namespace, undefined, 'listing'), operation}, (opt) => ops[kind].list(namespace, labelSelector, opt))
      return (Array.isArray(list.items) ? list.items : []).map((item) => asIssued(kind, item))
    },
    async annotate(kind, namespace, name, annotations) {
      await call(request('patch', kind, namespace, name, 'annotating'), (opt) => ops[kind].patch(ns(kind, namespace), name, {metadata: {annotations}}, opt))
    },
    async requestToken(namespace, serviceAccount, options) {
      const req: KubeRequest = {operation: `requesting a token for serviceaccount ${namespace}/${serviceAccount}`, verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace}
      const body: K8s.AuthenticationV1TokenRequest = {
        apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
        spec: {audiences: [], expirationSeconds: options.expirationSeconds, ...(options.boundSecret ? {boundObjectRef: {apiVersion: 'v1', kind: 'Secret', name: options.boundSecret.name, uid: options.boundSecret.uid}} : {})},
      }
      const answer = await call(req, (opt) => core.createNamespacedServiceAccountToken({name: serviceAccount, namespace, body}, opt))
      const token = answer.status?.token
      const expires = answer.status?.expirationTimestamp
      if (!token || !expires) throw new XccError(`the API server answered the TokenRequest for serviceaccount ${namespace}/${serviceAccount} without a token or its expiry`, {exitCode: 3})
      return {token, expirationTimestamp: expires instanceof Date ? expires.toISOString().replace(/\.\d{3}Z$/, 'Z') : String(expires)}
    },
    canI: (questions) => cluster.canI(questions),
    async namespaceExists(name) {
      const found = await call<unknown>({operation: `reading namespace ${name}`, verb: 'get', resource: 'namespaces'}, (opt) => core.readNamespace({name}, opt), (code) => (code === 404 ? {value: undefined} : code === 403 ? {value: 'unknown'} : undefined))
      return found !== undefined
    },
  }

  const probe: KubeProbe = {
    async version() {
      const info = await call({operation: 'reading /version', verb: 'get', resource: 'version'}, (opt) => version.getCode({}, opt))
      return info.gitVersion
    },
    async whoami() {
      const review = await call({operation: 'asking who the user is (SelfSubjectReview)', verb: 'create', resource: 'selfsubjectreviews', group: 'authentication.k8s.io'}, (opt) =>
        authn.createSelfSubjectReview({body: {apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview'}}, opt))
      return {username: review.status?.userInfo?.username ?? '', groups: review.status?.userInfo?.groups ?? []}
    },
    canI: (questions) => cluster.canI(questions),
  }
  return {issuer, probe}
}

/** starts loading client-node (~400 ms) while something else waits on the network; errors surface at the real import */
export function preloadKubeClient(): void {
  void import('@kubernetes/client-node').catch(() => undefined)
}
