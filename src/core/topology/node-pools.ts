/**
 * GKE's node pools as the topology implies them. A topology lists a cluster's nodes, not its
 * pools; GKE puts every node of a pool in one managed instance group per zone, named
 * `gke-<cluster>-<pool>-<hash>-grp`, and names the node `gke-<cluster>-<pool>-<hash>-<4 chars>`.
 * So a node whose name has that shape belongs to the group of its name's prefix; any other node
 * belongs to the cluster's `default-pool` group of its zone, with a hash of the cluster name.
 * Backend services may name these groups (`backendServices[].groups`), and the lab's Compute API
 * shows them, so the names are derived here, once, for both.
 */
import {isZone} from './issues.js'

/** what the names are derived from: each cluster's name, location and nodes (a topology, or a document about to be one) */
export interface NodePoolSource {
  readonly clusters: ReadonlyArray<{readonly name: string; readonly location: string; readonly nodes: ReadonlyArray<{readonly name: string; readonly zone?: string | undefined}>}>
}

export interface NodePoolGroup {
  /** the instance group's name */
  readonly name: string
  readonly zone: string
  readonly cluster: string
  readonly pool: string
  /** node names, in the topology's order */
  readonly nodes: readonly string[]
}

const GKE_NODE_NAME = /^(gke-(.+)-([0-9a-f]{8}))-[a-z0-9]{4}$/

/** 8 hex digits of a stable hash (FNV-1a), as GKE's random suffixes look */
export function shortHash(text: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h.toString(16).padStart(8, '0')
}

/** GKE shortens the cluster name in the names it makes; so does the lab, to stay within 63 characters */
function clusterPart(cluster: string): string {
  return cluster.slice(0, 20).replace(/-+$/, '')
}

function poolOf(cluster: string, middle: string): string {
  if (middle === 'default-pool' || middle.endsWith('-default-pool')) return 'default-pool'
  return middle.startsWith(`${cluster}-`) ? middle.slice(cluster.length + 1) : 'default-pool'
}

/** Every node pool group of every cluster: one per (name prefix, zone), in the topology's order. */
export function nodePoolGroups(t: NodePoolSource): NodePoolGroup[] {
  const out: NodePoolGroup[] = []
  for (const c of t.clusters) {
    const byBase = new Map<string, {pool: string; zones: Map<string, string[]>}>()
    for (const n of c.nodes) {
      const zone = n.zone ?? (isZone(c.location) ? c.location : '')
      const shaped = GKE_NODE_NAME.exec(n.name)
      const base = shaped ? (shaped[1] as string) : `gke-${clusterPart(c.name)}-default-pool-${shortHash(c.name)}`
      const pool = shaped ? poolOf(c.name, shaped[2] as string) : 'default-pool'
      const entry = byBase.get(base) ?? {pool, zones: new Map<string, string[]>()}
      byBase.set(base, entry)
      entry.zones.set(zone, [...(entry.zones.get(zone) ?? []), n.name])
    }
    for (const [base, {pool, zones}] of byBase) {
      for (const [zone, nodes] of zones) {
        // a prefix spread over zones (GKE would have given each zone its own hash) gets the zone's letter
        const name = zones.size === 1 ? `${base}-grp` : `${base}-${zone.slice(-1)}-grp`
        out.push({name, zone, cluster: c.name, pool, nodes})
      }
    }
  }
  return out
}
