/**
 * The kubeconfig document xcc writes: one cluster, user and context, named after the context
 * (gcloud's `gke_<project>_<location>_<cluster>` by default). The cluster's server and CA come
 * from the GKE API for the chosen endpoint: the public IP, the private IP (`privateEndpoint`), or
 * the DNS endpoint, whose certificate is publicly trusted (a pinned CA would break TLS there, so
 * the file carries none). The user is gcloud's exec-plugin user, or a bearer token with its
 * expiry recorded in a user extension (kubectl ignores it; people and `xcc` read it).
 */
import {dump} from 'js-yaml'

import {XccError} from '../errors.js'
import type {GkeCluster} from '../ports/gcp.js'

export type AuthMode = 'exec' | 'token' | 'service-account'
export type EndpointKind = 'public' | 'internal' | 'dns'

export const EXEC_PLUGIN = 'gke-gcloud-auth-plugin'
/** gcloud's install hint, word for word */
export const EXEC_INSTALL_HINT = 'Install gke-gcloud-auth-plugin for use with kubectl by following https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin'
export const CREDENTIAL_EXTENSION = 'xcc.dev/credential'

/** The cluster a `--cluster NAME [--location L]` names among the project's; exit 2 naming what is wrong. */
export function findCluster(clusters: readonly GkeCluster[], name: string, location: string | undefined, project: string): GkeCluster {
  const named = clusters.filter((c) => c.name === name)
  if (named.length === 0) {
    const known = [...new Set(clusters.map((c) => c.name))].sort()
    throw new XccError(`no GKE cluster "${name}" in project ${project}`, {exitCode: 2, hint: known.length ? `its clusters: ${known.slice(0, 20).join(', ')}` : 'the project has no GKE clusters'})
  }
  if (location !== undefined) {
    const here = named.filter((c) => c.location === location)
    if (here.length === 0) throw new XccError(`no GKE cluster "${name}" in location ${location} of project ${project}`, {exitCode: 2, hint: `"${name}" is in ${named.map((c) => c.location).sort().join(', ')}: pass --location ${named[0]?.location}`})
    return here[0] as GkeCluster
  }
  if (named.length > 1) {
    const locations = named.map((c) => c.location).sort()
    throw new XccError(`the cluster name "${name}" is ambiguous in project ${project}: it is in ${locations.join(', ')}`, {exitCode: 2, hint: `pass --location, one of ${locations.join(', ')}`})
  }
  return named[0] as GkeCluster
}

/** gcloud's context name */
export function defaultContextName(project: string, location: string, cluster: string): string {
  return `gke_${project}_${location}_${cluster}`
}

export interface ChosenEndpoint {
  readonly kind: EndpointKind
  /** `https://…` */
  readonly server: string
  /** base64 PEM, absent for the DNS endpoint */
  readonly caData?: string
  readonly caSource: 'GKE masterAuth.clusterCaCertificate' | 'public certificate authorities (DNS endpoint)'
  readonly warnings: readonly string[]
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$/i

function hostOf(endpoint: string): string {
  if (endpoint.startsWith('[')) return endpoint.slice(0, endpoint.indexOf(']') + 1)
  return endpoint.replace(/:\d+$/, '')
}

/**
 * The server and CA for `kind`. A loopback server is refused unless the GKE API itself is on this
 * machine (an emulator such as xcc's lab): a real cluster is never there, and a file pointing at
 * localhost works for nobody else. `auth` matters for the DNS endpoint: it refuses Kubernetes
 * tokens unless the cluster enables them there.
 */
export function chooseEndpoint(cluster: GkeCluster, kind: EndpointKind, options: {auth: AuthMode; allowLoopback: boolean}): ChosenEndpoint {
  const where = `cluster ${cluster.name} (${cluster.location})`
  const ip = cluster.controlPlaneEndpointsConfig?.ipEndpointsConfig
  const dns = cluster.controlPlaneEndpointsConfig?.dnsEndpointConfig
  const warnings: string[] = []
  let endpoint: string | undefined
  if (kind === 'public') {
    if (ip?.enablePublicEndpoint === false || cluster.privateClusterConfig?.enablePrivateEndpoint === true) {
      throw new XccError(`${where} has no public endpoint (its control plane is reachable only privately)`, {exitCode: 2, hint: '--endpoint internal from inside its network, or --endpoint dns'})
    }
    endpoint = ip?.publicEndpoint ?? cluster.endpoint
  } else if (kind === 'internal') {
    endpoint = cluster.privateClusterConfig?.privateEndpoint ?? ip?.privateEndpoint
    if (!endpoint) throw new XccError(`${where} has no private endpoint (privateEndpoint is not set)`, {exitCode: 2, hint: 'use --endpoint public, or --endpoint dns'})
  } else {
    endpoint = dns?.endpoint
    if (!endpoint) throw new XccError(`${where} has no DNS endpoint (controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint is not set)`, {exitCode: 2, hint: 'enable it: gcloud container clusters update CLUSTER --enable-dns-access; or use --endpoint public or internal'})
    if (dns?.allowExternalTraffic === false) warnings.push(`the DNS endpoint of ${where} does not allow external traffic: only Google Cloud services can use it, anyone else gets 403`)
    if (options.auth === 'service-account' && dns?.enableK8sTokensViaDns !== true) {
      throw new XccError(`the DNS endpoint of ${where} refuses Kubernetes service account tokens`, {exitCode: 2, hint: 'enable them (gcloud container clusters update CLUSTER --enable-k8s-tokens-via-dns), or use --endpoint public or internal'})
    }
  }
  if (!endpoint) throw new XccError(`${where} has no endpoint yet (status ${String(cluster.status ?? 'unknown')})`, {exitCode: 2, hint: 'wait until the cluster is RUNNING'})
  if (LOOPBACK.test(hostOf(endpoint)) && !options.allowLoopback) {
    throw new XccError(`${where}: its ${kind} endpoint ${endpoint} is a loopback address, which no other machine can reach`, {exitCode: 2, hint: 'a GKE cluster is never on localhost: check the endpoint override (CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER)'})
  }
  const server = `https://${endpoint}`
  if (kind === 'dns') return {kind, server, caSource: 'public certificate authorities (DNS endpoint)', warnings}
  const caData = cluster.masterAuth?.clusterCaCertificate
  if (!caData) throw new XccError(`${where} is missing certificate authority data (masterAuth.clusterCaCertificate)`, {exitCode: 3, hint: 'the GKE API did not give the CA of the cluster: try again when the cluster is RUNNING'})
  return {kind, server, caData, caSource: 'GKE masterAuth.clusterCaCertificate', warnings}
}

export type UserEntry =
  | {readonly kind: 'exec'}
  | {readonly kind: 'token'; readonly token: string; readonly expires?: string; readonly source: string}

export interface KubeconfigEntry {
  readonly context: string
  readonly endpoint: Pick<ChosenEndpoint, 'server' | 'caData'>
  readonly user: UserEntry
  /** the context's default namespace */
  readonly namespace?: string
}

export interface NamedEntries {
  readonly cluster: Record<string, unknown>
  readonly user: Record<string, unknown>
  readonly context: Record<string, unknown>
}

/** the cluster, user and context list items of an entry, in kubectl's field order */
export function namedEntries(entry: KubeconfigEntry): NamedEntries {
  const cluster = {
    cluster: {...(entry.endpoint.caData ? {'certificate-authority-data': entry.endpoint.caData} : {}), server: entry.endpoint.server},
    name: entry.context,
  }
  const user = entry.user.kind === 'exec'
    ? {exec: {apiVersion: 'client.authentication.k8s.io/v1beta1', command: EXEC_PLUGIN, installHint: EXEC_INSTALL_HINT, interactiveMode: 'IfAvailable', provideClusterInfo: true}}
    : {
        extensions: [{extension: {...(entry.user.expires ? {expires: entry.user.expires} : {}), source: entry.user.source}, name: CREDENTIAL_EXTENSION}],
        token: entry.user.token,
      }
  return {
    cluster,
    user: {name: entry.context, user},
    context: {context: {cluster: entry.context, ...(entry.namespace ? {namespace: entry.namespace} : {}), user: entry.context}, name: entry.context},
  }
}

/** YAML as kubectl writes it: lists not indented under their key, no line folding */
export function toYaml(value: unknown): string {
  return dump(value, {lineWidth: -1, noRefs: true, noArrayIndent: true, sortKeys: false})
}

/** A kubeconfig of its own (`-o FILE`): its current-context is the new one. */
export function buildKubeconfig(entry: KubeconfigEntry): Record<string, unknown> {
  const named = namedEntries(entry)
  return {apiVersion: 'v1', clusters: [named.cluster], contexts: [named.context], 'current-context': entry.context, kind: 'Config', preferences: {}, users: [named.user]}
}

/** the YAML of a kubeconfig with every token replaced (for a terminal without --show-token) */
export function redactTokens(document: Record<string, unknown>): Record<string, unknown> {
  const users = (document.users as Array<{name: string; user: Record<string, unknown>}> | undefined) ?? []
  return {...document, users: users.map((u) => (typeof u.user?.token === 'string' ? {...u, user: {...u.user, token: '<redacted: --show-token prints it>'}} : u))}
}
