/**
 * Who uses a resource: GCE refuses to delete a network, subnet, instance, forwarding rule,
 * backend service, health check or instance group that another resource still names
 * (`resourceInUseByAnotherResource`), and the topology could not hold the dangling reference
 * anyway. Each function lists the users' resource paths, nearest first.
 */
import {isZone} from '../../core/topology/issues.js'
import type {Topology} from '../../core/topology/schema.js'

export function networkUsers(t: Topology, project: string, network: string): string[] {
  const p = `projects/${project}`
  const own = t.networks.find((n) => n.name === network)
  return [
    ...(own?.subnets ?? []).map((s) => `${p}/regions/${s.region}/subnetworks/${s.name}`),
    ...t.firewalls.filter((f) => f.network === network).map((f) => `${p}/global/firewalls/${f.name}`),
    ...t.routes.filter((r) => r.network === network).map((r) => `${p}/global/routes/${r.name}`),
    ...t.networks.filter((n) => n.peerings.some((q) => q.network === network)).map((n) => `${p}/global/networks/${n.name}`),
    ...t.instances.filter((m) => m.networkInterfaces.some((nic) => nic.network === network)).map((m) => `${p}/zones/${m.zone}/instances/${m.name}`),
    ...t.forwardingRules.filter((f) => f.network === network).map((f) => `${p}/regions/${f.region}/forwardingRules/${f.name}`),
    ...t.clusters.filter((c) => c.network === network).map((c) => `${p}/${isZone(c.location) ? 'zones' : 'locations'}/${c.location}/clusters/${c.name}`),
  ]
}

export function subnetUsers(t: Topology, project: string, network: string, subnet: string): string[] {
  const p = `projects/${project}`
  return [
    ...t.instances.filter((m) => m.networkInterfaces.some((nic) => nic.network === network && nic.subnetwork === subnet)).map((m) => `${p}/zones/${m.zone}/instances/${m.name}`),
    ...t.forwardingRules.filter((f) => f.network === network && f.subnetwork === subnet).map((f) => `${p}/regions/${f.region}/forwardingRules/${f.name}`),
    ...t.clusters.filter((c) => c.network === network && c.subnetwork === subnet).map((c) => `${p}/locations/${c.location}/clusters/${c.name}`),
  ]
}

export function instanceUsers(t: Topology, project: string, instance: string): string[] {
  return t.routes.filter((r) => r.nextHopInstance === instance).map((r) => `projects/${project}/global/routes/${r.name}`)
}

export function forwardingRuleUsers(t: Topology, project: string, name: string): string[] {
  const ip = t.forwardingRules.find((f) => f.name === name)?.IPAddress
  return [
    ...t.routes.filter((r) => r.nextHopIlb === name || (ip !== undefined && r.nextHopIlb === ip)).map((r) => `projects/${project}/global/routes/${r.name}`),
    ...t.clusters.flatMap((c) => c.services.filter((s) => s.loadBalancer?.forwardingRule === name).map((s) => `projects/${project}/locations/${c.location}/clusters/${c.name}/services/${s.namespace}/${s.name}`)),
  ]
}

export function backendServiceUsers(t: Topology, project: string, name: string): string[] {
  return t.forwardingRules.filter((f) => f.backendService === name).map((f) => `projects/${project}/regions/${f.region}/forwardingRules/${f.name}`)
}

export function healthCheckUsers(t: Topology, project: string, name: string): string[] {
  return t.backendServices.filter((b) => b.healthCheck.name === name).map((b) => `projects/${project}/regions/${b.region}/backendServices/${b.name}`)
}

export function instanceGroupUsers(t: Topology, project: string, name: string): string[] {
  return t.backendServices.filter((b) => (b.groups ?? []).includes(name)).map((b) => `projects/${project}/regions/${b.region}/backendServices/${b.name}`)
}
