/**
 * What the Compute write adapter needs to know of each kind it writes: which client of
 * @google-cloud/compute 6 serves it, the request field that names the resource and the one that
 * carries its body (the protos' `InsertFirewallRequest{firewall, firewallResource}` and so on), where
 * it lives.
 */
import {describeRef} from '../../core/link/describe.js'
import type {ResourceRef, ResourceScope, WritableKind} from '../../core/ports/gcp-writes.js'

export interface KindClient {
  /** the client module under @google-cloud/compute/build/src/v1/, without `_client.js` */
  readonly file: string
  readonly client: string
  /** the request field holding the resource's name (`firewall`) */
  readonly param: string
  /** the request field holding the body (`firewallResource`) */
  readonly resource: string
  readonly scope: ResourceScope['kind']
}

export type ResourceKind = Exclude<WritableKind, 'peering'>

export const KINDS: Readonly<Record<ResourceKind, KindClient>> = {
  network: {file: 'networks', client: 'NetworksClient', param: 'network', resource: 'networkResource', scope: 'global'},
  subnetwork: {file: 'subnetworks', client: 'SubnetworksClient', param: 'subnetwork', resource: 'subnetworkResource', scope: 'region'},
  firewall: {file: 'firewalls', client: 'FirewallsClient', param: 'firewall', resource: 'firewallResource', scope: 'global'},
  route: {file: 'routes', client: 'RoutesClient', param: 'route', resource: 'routeResource', scope: 'global'},
  instance: {file: 'instances', client: 'InstancesClient', param: 'instance', resource: 'instanceResource', scope: 'zone'},
  instanceGroup: {file: 'instance_groups', client: 'InstanceGroupsClient', param: 'instanceGroup', resource: 'instanceGroupResource', scope: 'zone'},
  healthCheck: {file: 'region_health_checks', client: 'RegionHealthChecksClient', param: 'healthCheck', resource: 'healthCheckResource', scope: 'region'},
  backendService: {file: 'region_backend_services', client: 'RegionBackendServicesClient', param: 'backendService', resource: 'backendServiceResource', scope: 'region'},
  forwardingRule: {file: 'forwarding_rules', client: 'ForwardingRulesClient', param: 'forwardingRule', resource: 'forwardingRuleResource', scope: 'region'},
}

/** the request fields that say where a resource is: `{project}`, plus `{region}` or `{zone}` */
export function locationOf(project: string, ref: ResourceRef): Record<string, string> {
  const expected = ref.kind === 'peering' ? 'global' : KINDS[ref.kind].scope
  const word = {global: 'global', region: 'regional', zone: 'zonal'}
  // the planner's mistake, not the user's: a bug
  if (ref.scope.kind !== expected) throw new Error(`${describeRef(ref)}: a ${ref.kind} is ${word[expected]}, not ${word[ref.scope.kind]}`)
  if (ref.scope.kind === 'region') return {project, region: ref.scope.name}
  if (ref.scope.kind === 'zone') return {project, zone: ref.scope.name}
  return {project}
}

/** `zones/Z/instances/N` of any instance reference, for comparing group members */
export function instanceKey(url: string): string {
  return url.split('/').slice(-4).join('/')
}
