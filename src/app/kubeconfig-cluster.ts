/**
 * What every `xcc kubeconfig` command starts with: the GKE cluster (project resolved as in
 * contracts §4, the cluster found by name and location) and, for the commands that manage service
 * accounts, a connection to its API server as the caller — the GKE API's server and CA with the
 * caller's Google access token, as GKE accepts it. Then `list` and `revoke`.
 */
import {type AccessToken, type GkeAccess, openGkeAccess} from '../adapters/gcp/index.js'
import {openKubeconfigText} from '../adapters/kube/issuer.js'
import {XccError} from '../core/errors.js'
import {type ChosenEndpoint, type EndpointKind, type AuthMode, buildKubeconfig, chooseEndpoint, defaultContextName, findCluster, toYaml} from '../core/kubeconfig/document.js'
import {
  EXPIRES_ANNOTATION, LEGACY_LAST_USED_LABEL, NAMESPACES_ANNOTATION, ROLE_ANNOTATION, type ServiceAccountRef, TTL_ANNOTATION, isOwned, objectNames, ownedSelector,
} from '../core/kubeconfig/objects.js'
import type {GkeCluster} from '../core/ports/gcp.js'
import type {IssuedKind, KubeIssuer} from '../core/ports/kube-issuer.js'

export interface ClusterRequest {
  readonly cluster: string
  readonly location?: string
  readonly project?: string
  readonly timeoutMs: number
}

export interface ResolvedCluster {
  readonly gcp: GkeAccess
  readonly cluster: GkeCluster
  readonly project: string
  readonly projectSource: string
}

export async function resolveCluster(request: ClusterRequest): Promise<ResolvedCluster> {
  const gcp = await openGkeAccess({...(request.project ? {project: request.project} : {}), timeoutMs: request.timeoutMs})
  const clusters = await gcp.gke.listClusters()
  const cluster = findCluster(clusters, request.cluster, request.location, gcp.project.project)
  return {gcp, cluster, project: gcp.project.project, projectSource: gcp.project.source}
}

export function endpointOf(resolved: ResolvedCluster, kind: EndpointKind, auth: AuthMode): ChosenEndpoint {
  return chooseEndpoint(resolved.cluster, kind, {auth, allowLoopback: resolved.gcp.localApi})
}

/** the API server as the caller (their Google access token), for creating, listing and deleting */
export async function openAsCaller(resolved: ResolvedCluster, endpoint: ChosenEndpoint, token?: AccessToken): Promise<KubeIssuer> {
  const access = token ?? (await resolved.gcp.accessToken())
  const context = defaultContextName(resolved.project, resolved.cluster.location, resolved.cluster.name)
  const text = toYaml(buildKubeconfig({context, endpoint, user: {kind: 'token', token: access.token, source: access.source}}))
  return (await openKubeconfigText(text, context, {label: `the GKE API's cluster ${resolved.cluster.name} (as ${access.source})`})).issuer
}

export interface IssuedEntry {
  readonly serviceAccount: string
  readonly role: string
  readonly scope: string
  readonly ttl?: string
  /** RFC 3339, `never`, or undefined when unknown */
  readonly expires?: string
  readonly lastUsed?: string
  readonly created?: string
}

/** `xcc kubeconfig list`: the service accounts xcc issued kubeconfigs for, with role, expiry and last use */
export async function listIssued(request: ClusterRequest & {readonly endpoint: EndpointKind}): Promise<{project: string; cluster: string; location: string; entries: IssuedEntry[]}> {
  const resolved = await resolveCluster(request)
  const kube = await openAsCaller(resolved, endpointOf(resolved, request.endpoint, 'service-account'))
  const [accounts, secrets] = await Promise.all([kube.list('ServiceAccount', ownedSelector()), kube.list('Secret', ownedSelector())])
  const entries = accounts.map((sa): IssuedEntry => {
    const ref = {namespace: sa.metadata.namespace ?? 'default', name: sa.metadata.name}
    const names = objectNames(ref)
    const own = secrets.filter((s) => s.metadata.namespace === ref.namespace && isOwned(s.metadata.labels, ref))
    const legacy = own.find((s) => s.metadata.name === names.legacyToken)
    const anchor = own.find((s) => s.metadata.name === names.anchor)
    const a = sa.metadata.annotations ?? {}
    const expires = legacy ? 'never' : anchor?.metadata.annotations?.[EXPIRES_ANNOTATION]
    const lastUsed = legacy?.metadata.labels?.[LEGACY_LAST_USED_LABEL]
    return {
      serviceAccount: `${ref.namespace}/${ref.name}`, role: a[ROLE_ANNOTATION] ?? 'unknown', scope: a[NAMESPACES_ANNOTATION] ? `namespaces ${a[NAMESPACES_ANNOTATION]}` : 'cluster',
      ...(a[TTL_ANNOTATION] ? {ttl: a[TTL_ANNOTATION]} : {}), ...(expires ? {expires} : {}), ...(lastUsed ? {lastUsed} : {}),
      ...(sa.metadata.creationTimestamp ? {created: sa.metadata.creationTimestamp} : {}),
    }
  }).sort((x, y) => x.serviceAccount.localeCompare(y.serviceAccount))
  return {project: resolved.project, cluster: resolved.cluster.name, location: resolved.cluster.location, entries}
}

export interface Revoked {
  readonly kind: IssuedKind
  readonly namespace?: string
  readonly name: string
}

/**
 * Deletes what xcc created for a service account, and nothing else (each object is read first and
 * deleted only when it carries xcc's labels for it): the token's Secret first, so that bound
 * tokens stop working at once, then the bindings, the roles, and the ServiceAccount.
 */
export async function revokeIssued(kube: KubeIssuer, sa: ServiceAccountRef, options: {requireIssued: boolean}): Promise<Revoked[]> {
  const account = await kube.read('ServiceAccount', sa.namespace, sa.name)
  if (account && !isOwned(account.metadata.labels, sa)) {
    throw new XccError(`serviceaccount ${sa.namespace}/${sa.name} was not created by xcc kubeconfig generate: xcc leaves it alone`, {exitCode: 2, hint: `it lacks the labels ${ownedSelector(sa)}`})
  }
  const names = objectNames(sa)
  const namespaces = (account?.metadata.annotations?.[NAMESPACES_ANNOTATION] ?? '').split(',').filter(Boolean)
  const candidates: Revoked[] = [
    {kind: 'Secret', namespace: sa.namespace, name: names.anchor},
    {kind: 'Secret', namespace: sa.namespace, name: names.legacyToken},
    {kind: 'ClusterRoleBinding', name: names.clusterScoped},
    ...namespaces.map((ns): Revoked => ({kind: 'RoleBinding', namespace: ns, name: names.namespaced})),
    {kind: 'ClusterRole', name: names.clusterScoped},
    ...namespaces.map((ns): Revoked => ({kind: 'Role', namespace: ns, name: names.namespaced})),
  ]
  const found = await Promise.all(candidates.map(async (c) => ({c, object: await kube.read(c.kind, c.namespace, c.name)})))
  const owned = found.filter((f) => f.object && isOwned(f.object.metadata.labels, sa)).map((f) => f.c)
  if (!account && owned.length === 0) {
    if (options.requireIssued) throw new XccError(`no kubeconfig issued by xcc for serviceaccount ${sa.namespace}/${sa.name} on this cluster`, {exitCode: 2, hint: 'xcc kubeconfig list --cluster CLUSTER shows what xcc issued'})
    return []
  }
  const deleted: Revoked[] = []
  // the token's Secret alone first: once it is gone, no token bound to it is accepted
  for (const c of owned.filter((o) => o.kind === 'Secret')) if (await kube.remove(c.kind, c.namespace, c.name)) deleted.push(c)
  await Promise.all(owned.filter((o) => o.kind.endsWith('Binding')).map(async (c) => (await kube.remove(c.kind, c.namespace, c.name)) && deleted.push(c)))
  await Promise.all(owned.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').map(async (c) => (await kube.remove(c.kind, c.namespace, c.name)) && deleted.push(c)))
  if (account && (await kube.remove('ServiceAccount', sa.namespace, sa.name))) deleted.push({kind: 'ServiceAccount', namespace: sa.namespace, name: sa.name})
  return deleted
}
