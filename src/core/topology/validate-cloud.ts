/**
 * The rules between the fields that hold what the Compute API names but the network does not
 * need: health checks, unmanaged instance groups, and which of them a backend service uses.
 * A backend service keeps its own `healthCheck` and its flattened `backends` (what the tracer and
 * the lab read); these rules keep the named objects and those copies in agreement.
 */
import {type IssueSink, regionOfZone} from './issues.js'
import {nodePoolGroups} from './node-pools.js'
import type {Topology} from './schema.js'

export function validateCloudObjects(t: Topology, sink: IssueSink): void {
  sink.unique(t.healthChecks, (h) => h.name, (i) => ['healthChecks', i, 'name'], 'health check name')
  const pools = nodePoolGroups(t)
  const groupNames = [
    ...t.instanceGroups.map((g, i) => ({name: g.name, path: ['instanceGroups', i, 'name']})),
    ...pools.map((g) => ({name: g.name, path: ['clusters', t.clusters.findIndex((c) => c.name === g.cluster), 'nodes']})),
  ]
  // the group names GKE derives from node names count too: a group of yours may not take one
  sink.unique(groupNames, (g) => g.name, (k) => groupNames[k]?.path ?? [], 'instance group name (node pool groups included)')

  const machineZone = new Map<string, string>([
    ...t.instances.map((m) => [m.name, m.zone] as const),
    ...t.clusters.flatMap((c) => c.nodes.map((n) => [n.name, n.zone ?? c.location] as const)),
  ])
  t.instanceGroups.forEach((g, i) => {
    sink.unique(g.instances, (x) => x, (j) => ['instanceGroups', i, 'instances', j], 'member')
    sink.unique(g.namedPorts, (p) => p.name, (j) => ['instanceGroups', i, 'namedPorts', j, 'name'], 'named port')
    g.instances.forEach((name, j) => {
      const zone = machineZone.get(name)
      if (zone === undefined) sink.add(['instanceGroups', i, 'instances', j], `instance "${name}" does not exist`, name)
      else if (zone !== g.zone) sink.add(['instanceGroups', i, 'instances', j], `instance "${name}" is in ${zone}, the group in ${g.zone}`, name)
    })
  })

  const members = new Map<string, {zone: string; instances: readonly string[]}>([
    ...pools.map((g) => [g.name, {zone: g.zone, instances: g.nodes}] as const),
    ...t.instanceGroups.map((g) => [g.name, {zone: g.zone, instances: g.instances}] as const),
  ])
  const healthChecks = new Map(t.healthChecks.map((h) => [h.name, h]))
  t.backendServices.forEach((b, i) => {
    const check = b.healthCheck
    if (check.name !== undefined) {
      const named = healthChecks.get(check.name)
      const path = ['backendServices', i, 'healthCheck', 'name']
      if (!named) sink.add(path, `health check "${check.name}" does not exist`, check.name)
      else if (named.region !== undefined && named.region !== b.region) sink.add(path, `health check "${check.name}" is in ${named.region}, the backend service in ${b.region}`, check.name)
      else if (named.type !== check.protocol || named.port !== check.port || named.requestPath !== check.requestPath) {
        sink.add(['backendServices', i, 'healthCheck'], `differs from health check "${check.name}" (${named.type} port ${named.port}${named.requestPath ? ` ${named.requestPath}` : ''}): a backend service's healthCheck is a copy of the check it names`)
      }
    }
    const backends = new Set(b.backends)
    sink.unique(b.groups ?? [], (g) => g, (j) => ['backendServices', i, 'groups', j], 'group')
    ;(b.groups ?? []).forEach((name, j) => {
      const path = ['backendServices', i, 'groups', j]
      const group = members.get(name)
      if (!group) return sink.add(path, `instance group "${name}" does not exist`, name)
      if (regionOfZone(group.zone) !== b.region) return sink.add(path, `instance group "${name}" is in ${group.zone}, outside the backend service's region ${b.region}`, name)
      const missing = group.instances.filter((m) => !backends.has(m))
      if (missing.length > 0) sink.add(path, `backends must list every member of the group (instance groups flattened); missing: ${missing.join(', ')}`, name)
    })
  })
}
