/**
 * Instance groups as the API shows them, and the flattening that keeps a backend service's
 * `backends` (the instances that receive traffic: what the tracer and the data plane read) equal
 * to the members of its groups. Three kinds of group exist in a lab: the topology's
 * `instanceGroups` (yours, unmanaged), GKE's node pool groups (derived from the nodes, read-only),
 * and, for a backend service whose `backends` lists instances that none of its groups holds (a
 * hand-written topology), one derived group per zone named `<backend service>-<zone>`, unless the
 * instances are exactly a node pool group. Derived groups are read-only.
 */
import {nodePoolGroups} from '../../core/topology/node-pools.js'
import type {BackendServiceSpec, InstanceGroupSpec, Topology} from '../../core/topology/schema.js'

export interface GroupInfo {
  readonly name: string
  readonly zone: string
  readonly members: readonly string[]
  readonly origin: 'declared' | 'node-pool' | 'backend-service'
  /** the declared group */
  readonly spec?: InstanceGroupSpec
  /** the cluster of a node pool group, the backend service of a derived one */
  readonly owner?: string
}

function zoneOf(t: Topology, instance: string): string | undefined {
  const vm = t.instances.find((m) => m.name === instance)
  if (vm) return vm.zone
  for (const c of t.clusters) {
    const n = c.nodes.find((x) => x.name === instance)
    if (n) return n.zone ?? c.location
  }
  return undefined
}

function membersOf(t: Topology, groups: readonly string[], pools = nodePoolGroups(t)): Set<string> {
  const out = new Set<string>()
  for (const name of groups) {
    const found = t.instanceGroups.find((g) => g.name === name)?.instances ?? pools.find((g) => g.name === name)?.nodes ?? []
    for (const m of found) out.add(m)
  }
  return out
}

/** the backends of `b` that none of its groups holds (`pools`: the topology's node pool groups, when already at hand) */
export function looseBackends(t: Topology, b: BackendServiceSpec, pools = nodePoolGroups(t)): string[] {
  const grouped = membersOf(t, b.groups ?? [], pools)
  return b.backends.filter((m) => !grouped.has(m))
}

/** Every group of the lab, declared ones first, then node pools, then derived backend groups. */
export function allGroups(t: Topology, pools = nodePoolGroups(t)): GroupInfo[] {
  const out: GroupInfo[] = [
    ...t.instanceGroups.map((g) => ({name: g.name, zone: g.zone, members: g.instances, origin: 'declared' as const, spec: g})),
    ...pools.map((g) => ({name: g.name, zone: g.zone, members: g.nodes, origin: 'node-pool' as const, owner: g.cluster})),
  ]
  for (const b of t.backendServices) out.push(...derivedGroups(t, b, pools))
  return out
}

function derivedGroups(t: Topology, b: BackendServiceSpec, pools = nodePoolGroups(t)): GroupInfo[] {
  let loose = looseBackends(t, b, pools)
  const out: GroupInfo[] = []
  for (const pool of pools) {
    if (pool.nodes.length > 0 && pool.nodes.every((n) => loose.includes(n))) loose = loose.filter((m) => !pool.nodes.includes(m))
  }
  const byZone = new Map<string, string[]>()
  for (const m of loose) {
    const z = zoneOf(t, m) ?? ''
    byZone.set(z, [...(byZone.get(z) ?? []), m])
  }
  for (const [z, members] of byZone) out.push({name: `${b.name}-${z}`.slice(0, 63).replace(/-+$/, ''), zone: z, members, origin: 'backend-service', owner: b.name})
  return out
}

/** the groups a backend service's API view lists: its own, then node pools its loose backends fill, then derived ones */
export function backendGroups(t: Topology, b: BackendServiceSpec): Array<{name: string; zone: string}> {
  const pools = nodePoolGroups(t)
  const all = allGroups(t, pools)
  const own = (b.groups ?? []).map((name) => all.find((g) => g.name === name)).filter((g): g is GroupInfo => g !== undefined)
  const loose = looseBackends(t, b, pools)
  const filled = pools.filter((p) => p.nodes.length > 0 && p.nodes.every((n) => loose.includes(n)))
  return [...own, ...filled, ...derivedGroups(t, b, pools)].map((g) => ({name: g.name, zone: g.zone}))
}

/** `groups` and flattened `backends` for a backend service whose API view lists `refs` (group name and zone) */
export function backendsFromGroups(t: Topology, refs: ReadonlyArray<{name: string; zone: string}>): {groups: string[]; backends: string[]} | {unknown: {name: string; zone: string}} {
  const all = allGroups(t)
  const groups: string[] = []
  const backends = new Set<string>()
  for (const ref of refs) {
    const g = all.find((x) => x.name === ref.name && x.zone === ref.zone)
    if (!g) return {unknown: ref}
    // a derived group is not a thing of its own: its members are the backends it stood for
    if (g.origin !== 'backend-service' && !groups.includes(g.name)) groups.push(g.name)
    for (const m of g.members) backends.add(m)
  }
  return {groups, backends: [...backends]}
}

/**
 * After group memberships or instances changed (`before` → `next`), every backend service of
 * `next` gets `backends` = its loose backends of `before` that still exist + the members of its
 * groups now.
 */
export function reflatten(before: Topology, next: Topology): void {
  const exists = (name: string): boolean => zoneOf(next, name) !== undefined
  for (const b of next.backendServices) {
    const old = before.backendServices.find((x) => x.name === b.name) ?? b
    const loose = looseBackends(before, old).filter(exists)
    b.backends = [...new Set([...loose, ...membersOf(next, b.groups ?? [])])]
  }
}
