/**
 * `xcc snapshot`: one xcc/v1 Topology of what a project and its clusters hold (contracts §6),
 * deterministic — the same project gives the same bytes — with what the format cannot express
 * listed in `skipped` rather than dropped. Pure: the app gathers the APIs' answers.
 */
import {dump} from 'js-yaml'

import type {ComputeInventory, GkeCluster} from '../ports/gcp.js'
import {nodePoolGroups} from '../topology/node-pools.js'
import {type Doc, type Skipped, buildCloudPart, nodePoolGroupKeys, nodesOfClusters} from './cloud.js'
import {type KubeFacts, buildClusterDocs, derivedPodRoutes} from './clusters.js'

export type {KubeFacts, Skipped}

export interface SnapshotInput {
  readonly project: string
  /** metadata.name (default: the project) */
  readonly name?: string
  readonly inventory: ComputeInventory
  readonly clusters: readonly GkeCluster[]
  /** the kube facts of a cluster, when one of the contexts is it */
  kubeOf(cluster: GkeCluster): KubeFacts | undefined
}

export interface Snapshot {
  readonly document: Doc
  readonly skipped: readonly Skipped[]
}

export function buildSnapshot(input: SnapshotInput): Snapshot {
  const skipped: Skipped[] = []
  const nodesByCluster = nodesOfClusters(input.clusters, input.inventory)
  const nodes = new Set([...nodesByCluster.values()].flatMap((s) => [...s]))
  const podRoutes = derivedPodRoutes(input.clusters, input.inventory, nodesByCluster)
  const clusters = buildClusterDocs(input.clusters, input.inventory, nodesByCluster, input.kubeOf, skipped)
  const clusterNodes = {clusters: clusters.map((c) => ({name: c.name as string, location: c.location as string, nodes: c.nodes as Array<{name: string; zone: string}>}))}
  const cloud = buildCloudPart({
    inventory: input.inventory, project: input.project, nodes, podRoutes,
    nodePoolGroups: nodePoolGroupKeys(input.clusters),
    derivedGroupNames: new Set(nodePoolGroups(clusterNodes).map((g) => g.name)),
    describedNodes: new Set(clusterNodes.clusters.flatMap((c) => c.nodes.map((n) => n.name))),
  }, skipped)
  const document: Doc = {apiVersion: 'xcc/v1', kind: 'Topology', metadata: {name: input.name ?? input.project, project: input.project}}
  for (const [key, list] of [['networks', cloud.networks], ['routes', cloud.routes], ['firewalls', cloud.firewalls], ['instances', cloud.instances], ['forwardingRules', cloud.forwardingRules], ['backendServices', cloud.backendServices], ['healthChecks', cloud.healthChecks], ['instanceGroups', cloud.instanceGroups], ['clusters', clusters]] as const) {
    if (list.length > 0) document[key] = list
  }
  skipped.sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`))
  return {document, skipped}
}

/** the document as YAML: keys in the order the format documents them, no line folding, no anchors */
export function renderSnapshotYaml(document: Doc): string {
  return dump(document, {lineWidth: -1, noRefs: true, sortKeys: false, quotingType: '"'})
}
