/**
 * What changes between two plans of one lab (compiled with the same name map, name-map.ts), as
 * the runtime applies it (src/lab/runtime/apply.ts): namespaces added and removed (by name; one
 * whose name now stands for something else is removed and added), links added and removed, and
 * for each namespace in both plans only what differs — ip lines as a delta (ip-diff.ts), sysctls
 * whose value differs, iptables tables that differ (iptables-diff.ts), ipsets. Servers and pods
 * are compared by namespace and by pod. Pure: the same two plans always give the same diff.
 */
import {type IpDelta, createdDevices, diffIpLines} from './ip-diff.js'
import {type TableText, diffTables} from './iptables-diff.js'
import type {LabPlan, NamespacePlan, PodPlan, ServerPlan, VethPlan} from './types.js'

export interface NamespaceChange {
  readonly name: string
  readonly ref: string
  readonly ip: IpDelta
  /** sysctls to set (new keys, or a new value) */
  readonly sysctls: ReadonlyArray<readonly [string, string]>
  /** tables to restore, each on its own (untouched tables keep their rules and counters) */
  readonly tables: readonly TableText[]
  /** the namespace's ipsets, when they differ (restored with -exist: sets and members are added, none removed) */
  readonly ipsets?: string
}

export interface ServerChange {
  readonly ns: string
  readonly ref: string
  readonly addPorts: readonly number[]
  readonly removePorts: readonly number[]
}

export interface PodChange {
  readonly before: PodPlan
  readonly after: PodPlan
  /** only the ports its stand-in serves differ (a change of the ports the topology mentions) */
  readonly portsOnly: boolean
}

export interface PlanDiff {
  readonly addedNamespaces: readonly NamespacePlan[]
  readonly removedNamespaces: readonly NamespacePlan[]
  readonly changedNamespaces: readonly NamespaceChange[]
  readonly addedLinks: readonly VethPlan[]
  /** links to delete whose namespaces both stay (the others go with their namespace) */
  readonly removedLinks: readonly VethPlan[]
  /** servers to start: in new namespaces, or new in a namespace that stays */
  readonly addedServers: readonly ServerPlan[]
  /** servers to stop in namespaces that stay */
  readonly removedServers: readonly ServerPlan[]
  readonly changedServers: readonly ServerChange[]
  readonly addedPods: readonly PodPlan[]
  readonly removedPods: readonly PodPlan[]
  readonly changedPods: readonly PodChange[]
}

const linkKey = (l: VethPlan): string => JSON.stringify([l.a.ns, l.a.iface, l.b.ns, l.b.iface, l.alias])
const podId = (p: PodPlan): string => `${p.cluster}/${p.namespace}/${p.name}`
const sameNamespace = (a: NamespacePlan, b: NamespacePlan): boolean => a.role === b.role && a.ref === b.ref

function byKey<T>(items: readonly T[], key: (t: T) => string): Map<string, T> {
  return new Map(items.map((i) => [key(i), i]))
}

function diffNamespace(before: NamespacePlan, after: NamespacePlan, gone: ReadonlySet<string>, recreated: ReadonlySet<string>): NamespaceChange | undefined {
  const ip = diffIpLines(before.ip, after.ip, gone, recreated)
  const old = new Map(before.sysctls)
  const sysctls = after.sysctls.filter(([k, v]) => old.get(k) !== v)
  const tables = diffTables(before.iptables, after.iptables)
  const ipsets = after.ipsets !== undefined && after.ipsets !== before.ipsets ? after.ipsets : undefined
  if (!ip.add.length && !ip.rulesAdded.length && !ip.remove.length && !sysctls.length && !tables.length && ipsets === undefined) return undefined
  return {name: after.name, ref: after.ref, ip, sysctls, tables, ...(ipsets !== undefined ? {ipsets} : {})}
}

export function diffPlans(before: LabPlan, after: LabPlan): PlanDiff {
  const oldNs = byKey(before.namespaces, (n) => n.name)
  const newNs = byKey(after.namespaces, (n) => n.name)
  const kept = (name: string): boolean => {
    const a = oldNs.get(name)
    const b = newNs.get(name)
    return a !== undefined && b !== undefined && sameNamespace(a, b)
  }
  const addedNamespaces = after.namespaces.filter((n) => !kept(n.name))
  const removedNamespaces = before.namespaces.filter((n) => !kept(n.name))

  const oldLinks = byKey(before.links, linkKey)
  const newLinks = byKey(after.links, linkKey)
  const addedLinks = after.links.filter((l) => !oldLinks.has(linkKey(l)))
  const vanishing = before.links.filter((l) => !newLinks.has(linkKey(l)))
  const removedLinks = vanishing.filter((l) => kept(l.a.ns) && kept(l.b.ns))
  // per kept namespace: devices that go away (also with the namespace at their other end), and
  // those deleted and created again under the same name
  const ends = (links: readonly VethPlan[]): Array<readonly [string, string]> => links.flatMap((l) => [[l.a.ns, l.a.iface], [l.b.ns, l.b.iface]] as const)
  const goneEnds = new Set(ends(vanishing).map(([ns, i]) => `${ns}\u0000${i}`))
  const newEnds = new Set(ends(addedLinks).map(([ns, i]) => `${ns}\u0000${i}`))
  const devices = (ns: string, set: ReadonlySet<string>, keep: (key: string) => boolean): Set<string> =>
    new Set([...set].filter((k) => k.startsWith(`${ns}\u0000`) && keep(k)).map((k) => k.slice(ns.length + 1)))

  const changedNamespaces: NamespaceChange[] = []
  for (const n of after.namespaces) {
    if (!kept(n.name)) continue
    const old = oldNs.get(n.name) as NamespacePlan
    const bridges = createdDevices(old.ip).filter((d) => !createdDevices(n.ip).includes(d))
    const gone = new Set([...devices(n.name, goneEnds, (k) => !newEnds.has(k)), ...bridges])
    const recreated = devices(n.name, goneEnds, (k) => newEnds.has(k))
    const change = diffNamespace(old, n, gone, recreated)
    if (change) changedNamespaces.push(change)
  }

  const oldServers = byKey(before.servers, (s) => s.ns)
  const newServers = byKey(after.servers, (s) => s.ns)
  const addedServers = after.servers.filter((s) => !kept(s.ns) || !oldServers.has(s.ns))
  const removedServers = before.servers.filter((s) => kept(s.ns) && !newServers.has(s.ns))
  const changedServers: ServerChange[] = []
  for (const s of after.servers) {
    const old = oldServers.get(s.ns)
    if (!old || !kept(s.ns)) continue
    const addPorts = s.tcpPorts.filter((p) => !old.tcpPorts.includes(p))
    const removePorts = old.tcpPorts.filter((p) => !s.tcpPorts.includes(p))
    if (addPorts.length || removePorts.length) changedServers.push({ns: s.ns, ref: s.ref, addPorts, removePorts})
  }

  const oldPods = byKey(before.pods, podId)
  const newPods = byKey(after.pods, podId)
  const changedPods: PodChange[] = []
  for (const p of after.pods) {
    const old = oldPods.get(podId(p))
    if (!old) continue
    const samePorts = old.tcpPorts.join(',') === p.tcpPorts.join(',')
    const rest = (x: PodPlan): string => JSON.stringify([x.node, x.ip, x.ns, x.hostNetwork, x.declared])
    if (samePorts && rest(old) === rest(p)) continue
    changedPods.push({before: old, after: p, portsOnly: rest(old) === rest(p)})
  }
  return {
    addedNamespaces, removedNamespaces, changedNamespaces, addedLinks, removedLinks, addedServers, removedServers, changedServers,
    addedPods: after.pods.filter((p) => !oldPods.has(podId(p))), removedPods: before.pods.filter((p) => !newPods.has(podId(p))), changedPods,
  }
}

/** True when applying the diff would change nothing in the kernel. */
export function isEmptyDiff(d: PlanDiff): boolean {
  return [d.addedNamespaces, d.removedNamespaces, d.changedNamespaces, d.addedLinks, d.removedLinks, d.addedServers, d.removedServers, d.changedServers, d.addedPods, d.removedPods, d.changedPods].every((l) => l.length === 0)
}

/** One line saying what a diff changes, for progress and test names. */
export function summarizeDiff(d: PlanDiff): string {
  const parts: Array<[number, string, string]> = [
    [d.addedNamespaces.length, 'namespace', 'added'], [d.removedNamespaces.length, 'namespace', 'removed'], [d.changedNamespaces.length, 'namespace', 'changed'],
    [d.addedLinks.length, 'link', 'added'], [d.removedLinks.length, 'link', 'removed'],
    [d.changedNamespaces.reduce((n, c) => n + c.tables.length, 0), 'iptables table', 'replaced'],
    [d.addedServers.length + d.removedServers.length, 'echo server', 'started or stopped'], [d.changedServers.length, 'echo server', 'with new ports'],
  ]
  const said = parts.filter(([n]) => n > 0).map(([n, what, how]) => `${n} ${what}${n === 1 ? '' : 's'} ${how}`)
  return said.length ? said.join(', ') : 'nothing to change'
}
