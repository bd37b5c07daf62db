/**
 * `xcc snapshot`: read the project (Compute Engine, GKE) and the clusters' kube contexts, and
 * write one xcc/v1 Topology. The snapshot is loaded back before it is written: what xcc writes,
 * xcc reads. The Google clients are loaded only here (and by the doctor when it reads the cloud).
 */
import {writeFileAtomic} from '../adapters/files/index.js'
import {XccError} from '../core/errors.js'
import type {GkeCluster} from '../core/ports/gcp.js'
import type {KubeCluster, KubeContexts, KubeEndpoints} from '../core/ports/kube.js'
import {type KubeFacts, type Skipped, buildSnapshot, renderSnapshotYaml} from '../core/snapshot/index.js'
import type {Model} from '../core/topology/model-types.js'
import {parseTopology} from '../core/topology/parse.js'
import {cloud, openKube} from './deps.js'

export interface SnapshotRequest {
  readonly project?: string
  readonly regions: readonly string[]
  /** kube contexts to read workloads from (default: every context whose API server is a cluster's endpoint) */
  readonly contexts: readonly string[]
  readonly kubeconfig?: string
  readonly name?: string
  /** `-` for stdout */
  readonly output: string
  readonly timeoutMs: number
}

export interface SnapshotResult {
  readonly project: string
  readonly projectSource: string
  readonly yaml: string
  readonly model: Model
  readonly skipped: readonly Skipped[]
  readonly contexts: ReadonlyArray<{readonly context: string; readonly cluster: string}>
  readonly requests: number
  readonly retries: number
}

/** `https://1.2.3.4` and the GKE endpoint `1.2.3.4` are the same server; a lab's endpoint carries its port */
function sameServer(server: string, endpoint: string): boolean {
  let url: URL
  try {
    url = new URL(server)
  } catch {
    return false
  }
  const port = url.port || '443'
  const [host, endpointPort] = endpoint.includes(':') && !endpoint.startsWith('[') ? endpoint.split(':') as [string, string] : [endpoint, '443']
  return url.hostname === host && port === endpointPort
}

async function kubeFacts(cluster: KubeCluster): Promise<Omit<KubeFacts, 'context'>> {
  const [nodes, pods, services, masqConfig] = await Promise.all([cluster.listNodes(), cluster.listPods(undefined), cluster.listServices(), cluster.getConfigMap('kube-system', 'ip-masq-agent')])
  const endpoints = new Map<string, KubeEndpoints>()
  await Promise.all(services.map(async (s) => {
    const ns = s.metadata.namespace ?? 'default'
    const e = await cluster.getEndpoints(ns, s.metadata.name)
    if (e) endpoints.set(`${ns}/${s.metadata.name}`, e)
  }))
  return {nodes, pods, services, endpoints, ...(masqConfig ? {masqConfig} : {})}
}

/** the clusters' kube facts, from the contexts that reach them; a context that fails is a note, not the end */
async function gatherKube(request: SnapshotRequest, clusters: readonly GkeCluster[], skipped: Skipped[]): Promise<{facts: Map<string, KubeFacts>; matched: Array<{context: string; cluster: string}>}> {
  const facts = new Map<string, KubeFacts>()
  const matched: Array<{context: string; cluster: string}> = []
  let kube: KubeContexts
  try {
    kube = await openKube(request.kubeconfig)
  } catch (error) {
    if (request.contexts.length > 0) throw error
    return {facts, matched}
  }
  for (const name of request.contexts) if (!kube.contexts.includes(name)) throw new XccError(`--context ${name}: no such context in the kubeconfig`, {exitCode: 2, hint: `contexts: ${kube.contexts.slice(0, 10).join(', ')}`})
  const names = request.contexts.length > 0 ? request.contexts : kube.contexts
  await Promise.all(names.map(async (name) => {
    const cluster = kube.open(name)
    const gke = clusters.find((c) => c.endpoint && sameServer(cluster.server, c.endpoint))
    if (!gke) {
      if (request.contexts.length > 0) skipped.push({kind: 'context', name, reason: `its API server ${cluster.server} is not the endpoint of a GKE cluster of the project`})
      return
    }
    if (facts.has(gke.name)) return
    try {
      facts.set(gke.name, {context: name, ...(await kubeFacts(cluster))})
      matched.push({context: name, cluster: gke.name})
    } catch (error) {
      skipped.push({kind: 'context', name, reason: `could not be read: ${(error as Error).message}`})
    }
  }))
  matched.sort((a, b) => a.cluster.localeCompare(b.cluster))
  return {facts, matched}
}

const regionOf = (location: string): string => location.replace(/-[a-z]$/, '')

export async function runSnapshot(request: SnapshotRequest): Promise<SnapshotResult> {
  const gcp = await cloud.open({...(request.project ? {project: request.project} : {}), timeoutMs: request.timeoutMs})
  const regions = request.regions.length > 0 ? request.regions : undefined
  const [inventory, allClusters] = await Promise.all([gcp.compute.readInventory(regions ? {regions} : {}), gcp.gke.listClusters()])
  const clusters = regions ? allClusters.filter((c) => regions.includes(regionOf(c.location))) : allClusters
  const skipped: Skipped[] = []
  const {facts, matched} = await gatherKube(request, clusters, skipped)
  const snapshot = buildSnapshot({project: gcp.project.project, ...(request.name ? {name: request.name} : {}), inventory, clusters, kubeOf: (c) => facts.get(c.name)})
  const yaml = renderSnapshotYaml(snapshot.document)
  let model: Model
  try {
    model = parseTopology(yaml, request.output === '-' ? 'snapshot' : request.output)
  } catch (error) {
    throw new XccError(`the project holds something the snapshot cannot describe consistently: ${(error as Error).message}`, {exitCode: 3, details: error instanceof XccError ? error.details : [], hint: 'please report it, with the details above (no secrets in them)'})
  }
  if (request.output !== '-') await writeFileAtomic(request.output, yaml)
  return {
    project: gcp.project.project, projectSource: gcp.project.source, yaml, model, skipped: [...skipped, ...snapshot.skipped].sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`)),
    contexts: matched, requests: gcp.stats.requests, retries: gcp.stats.retries,
  }
}
