/**
 * `xcc snapshot`: read the project (Compute Engine, GKE) and the clusters' kube contexts, and
 * write one xcc/v1 Topology. The document goes through the loader (schema, semantics, model)
 * before it is written: what xcc writes, xcc reads. The YAML is js-yaml's rendering of that plain
 * data, which loads back equal (test/core/snapshot), so the text is not parsed again. The Google
 * clients are loaded only here (and by the doctor when it reads the cloud).
 */
import {randomBytes} from 'node:crypto'

import {writeFileAtomic} from '../adapters/files/index.js'
import {InterruptedError, XccError} from '../core/errors.js'
import {readNodesRules} from '../core/kube/node-rules.js'
import {DEFAULT_IMAGE} from '../core/probe/manifests.js'
import {visible} from '../core/shell.js'
import type {GkeCluster} from '../core/ports/gcp.js'
import type {KubeCluster, KubeConfigMap, KubeContexts, KubeEndpoints} from '../core/ports/kube.js'
import {DNS_CONFIG_MAPS} from '../core/snapshot/clusters.js'
import {type KubeFacts, type Skipped, buildSnapshot, renderSnapshotYaml} from '../core/snapshot/index.js'
import type {Model} from '../core/topology/model-types.js'
import {topologyFromDocument} from '../core/topology/parse.js'
import {clock, cloud, openKube, templates} from './deps.js'
import {interruptible} from './interrupt.js'

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
  /** read each node's `iptables-save -t nat` through a short-lived pod (--node-rules), with this image */
  readonly nodeRules?: {readonly image: string}
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
  const [nodes, pods, services, masqConfig, ...dns] = await Promise.all([
    cluster.listNodes(), cluster.listPods(undefined), cluster.listServices(), cluster.getConfigMap('kube-system', 'ip-masq-agent'),
    // how the cluster's pods resolve names (the doctor's --to NAME:PORT)
    ...DNS_CONFIG_MAPS.map((name) => cluster.getConfigMap('kube-system', name)),
  ])
  const endpoints = new Map<string, KubeEndpoints>()
  await Promise.all(services.map(async (s) => {
    const ns = s.metadata.namespace ?? 'default'
    const e = await cluster.getEndpoints(ns, s.metadata.name)
    if (e) endpoints.set(`${ns}/${s.metadata.name}`, e)
  }))
  const dnsConfigMaps = dns.filter((c): c is KubeConfigMap => c !== undefined)
  return {nodes, pods, services, endpoints, ...(masqConfig ? {masqConfig} : {}), ...(dnsConfigMaps.length ? {dnsConfigMaps} : {})}
}

/**
 * --node-rules: each node's nat table through a short-lived pod per node (core/kube/node-rules.ts).
 * A node that cannot be read, or a cluster where xcc may not create the pods, is a note in
 * `skipped`, as is a pod that could not be removed (with the command that removes it); an
 * interrupt ends the run, the pods removed.
 */
async function nodeRulesOf(request: SnapshotRequest, target: {context: string; cluster: KubeCluster; nodes: readonly string[]}, signal: AbortSignal, skipped: Skipped[]): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const nodes = [...target.nodes].sort()
  try {
    const {reads, leftovers} = await readNodesRules(nodes, {cluster: target.cluster, clock, signal, script: templates.masqueradeScripts().nodeRules, progress}, {
      context: target.context, runId: randomBytes(4).toString('hex'), image: request.nodeRules?.image ?? DEFAULT_IMAGE, app: 'xcc-snapshot',
      startDeadlineMs: Math.min(request.timeoutMs, 120_000), ...(request.kubeconfig ? {kubeconfig: request.kubeconfig} : {}),
    })
    reads.forEach((read, i) => {
      const node = nodes[i] as string
      if (read.rules !== undefined) out.set(node, read.rules)
      else skipped.push({kind: 'nodeRules', name: node, reason: `its nat table could not be read: ${read.error ?? 'no answer'}`})
    })
    if (leftovers) skipped.push({kind: 'pods', name: target.context, reason: `could not remove ${leftovers.pods.join(', ')} (${leftovers.why}); remove them with: ${leftovers.command}`})
  } catch (error) {
    if (error instanceof InterruptedError) throw error
    const e = error as Error
    const more = error instanceof XccError ? [...error.details, ...(error.hint ? [error.hint] : [])] : []
    skipped.push({kind: 'nodeRules', name: target.context, reason: `the nodes' nat tables could not be read: ${[e.message, ...more].join('; ')}`})
  }
  return out
}

const progress = (text: string): void => {
  process.stderr.write(`xcc: ${visible(text)}\n`)
}

/** the clusters' kube facts, from the contexts that reach them; a context that fails is a note, not the end */
async function gatherKube(request: SnapshotRequest, clusters: readonly GkeCluster[], skipped: Skipped[], signal?: AbortSignal): Promise<{facts: Map<string, KubeFacts>; matched: Array<{context: string; cluster: string}>}> {
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
  // each cluster is read through the first of its contexts (in the given or the kubeconfig's order) that answers: the same contexts give the same snapshot
  const byCluster = new Map<string, Array<{name: string; cluster: KubeCluster}>>()
  for (const name of names) {
    const cluster = kube.open(name)
    const gke = clusters.find((c) => c.endpoint && sameServer(cluster.server, c.endpoint))
    if (gke) byCluster.set(gke.name, [...(byCluster.get(gke.name) ?? []), {name, cluster}])
    else if (request.contexts.length > 0) skipped.push({kind: 'context', name, reason: `its API server ${cluster.server} is not the endpoint of a GKE cluster of the project`})
  }
  await Promise.all([...byCluster].map(async ([gke, candidates]) => {
    for (const {name, cluster} of candidates) {
      let read: KubeFacts
      try {
        read = {context: name, ...(await kubeFacts(cluster))}
      } catch (error) {
        skipped.push({kind: 'context', name, reason: `could not be read: ${(error as Error).message}`})
        continue
      }
      if (request.nodeRules && signal) read = {...read, nodeRules: await nodeRulesOf(request, {context: name, cluster, nodes: read.nodes.map((n) => n.metadata.name)}, signal, skipped)}
      facts.set(gke, read)
      matched.push({context: name, cluster: gke})
      return
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
  const {facts, matched} = request.nodeRules
    ? await interruptible((signal) => gatherKube(request, clusters, skipped, signal), 'removing the node-reading pods of this run')
    : await gatherKube(request, clusters, skipped)
  const snapshot = buildSnapshot({project: gcp.project.project, ...(request.name ? {name: request.name} : {}), inventory, clusters, kubeOf: (c) => facts.get(c.name)})
  const yaml = renderSnapshotYaml(snapshot.document)
  let model: Model
  try {
    model = topologyFromDocument(snapshot.document, request.output === '-' ? 'snapshot' : request.output)
  } catch (error) {
    throw new XccError(`the project holds something the snapshot cannot describe consistently: ${(error as Error).message}`, {exitCode: 3, details: error instanceof XccError ? error.details : [], hint: 'please report it, with the details above (no secrets in them)'})
  }
  if (request.output !== '-') await writeFileAtomic(request.output, yaml)
  return {
    project: gcp.project.project, projectSource: gcp.project.source, yaml, model, skipped: [...skipped, ...snapshot.skipped].sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`)),
    contexts: matched, requests: gcp.stats.requests, retries: gcp.stats.retries,
  }
}

export interface ProjectRead {
  readonly project: string
  readonly projectSource: string
  readonly model: Model
  readonly clusters: readonly GkeCluster[]
  /** the kube context each cluster was read through */
  readonly contexts: ReadonlyArray<{readonly context: string; readonly cluster: string}>
  readonly skipped: readonly Skipped[]
  readonly requests: number
}

/** The project as a snapshot sees it, in memory (for `xcc link`): nothing is written. */
export async function readProject(request: {readonly project?: string; readonly kubeconfig?: string; readonly timeoutMs: number}): Promise<ProjectRead> {
  const gcp = await cloud.open({...(request.project ? {project: request.project} : {}), timeoutMs: request.timeoutMs})
  const [inventory, clusters] = await Promise.all([gcp.compute.readInventory({}), gcp.gke.listClusters()])
  const skipped: Skipped[] = []
  const {facts, matched} = await gatherKube({regions: [], contexts: [], output: '-', timeoutMs: request.timeoutMs, ...(request.kubeconfig ? {kubeconfig: request.kubeconfig} : {})}, clusters, skipped)
  const snapshot = buildSnapshot({project: gcp.project.project, inventory, clusters, kubeOf: (c) => facts.get(c.name)})
  let model: Model
  try {
    model = topologyFromDocument(snapshot.document, 'the project')
  } catch (error) {
    throw new XccError(`the project holds something xcc cannot describe consistently: ${(error as Error).message}`, {exitCode: 3, details: error instanceof XccError ? error.details : [], hint: 'please report it, with the details above (no secrets in them)'})
  }
  return {project: gcp.project.project, projectSource: gcp.project.source, model, clusters, contexts: matched, skipped: [...skipped, ...snapshot.skipped], requests: gcp.stats.requests}
}
