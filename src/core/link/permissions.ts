/**
 * The IAM permissions a plan needs, as Compute Engine checks them per request: each change's own
 * permission (`compute.firewalls.create`, `compute.networks.addPeering`, …) plus those real GCP
 * checks on what an insert references or sets (an instance's insert also creates its boot disk,
 * uses its subnetworks and sets its metadata, tags and labels). Pure: the preflight asks IAM which
 * of these the caller holds (projects.testIamPermissions) before anything is written.
 */
import type {ChangeAction, PlannedChange} from './changes.js'
import type {WritableKind} from '../ports/gcp-writes.js'

/** the IAM collection of each kind (regional load balancer parts have their own: `regionHealthChecks`) */
const COLLECTION: Readonly<Record<Exclude<WritableKind, 'peering'>, string>> = {
  network: 'compute.networks',
  subnetwork: 'compute.subnetworks',
  firewall: 'compute.firewalls',
  route: 'compute.routes',
  instance: 'compute.instances',
  instanceGroup: 'compute.instanceGroups',
  healthCheck: 'compute.regionHealthChecks',
  backendService: 'compute.regionBackendServices',
  forwardingRule: 'compute.forwardingRules',
}

/** a network's peerings are changed through the network (PEER-01): add, update, remove */
const PEERING: Readonly<Record<ChangeAction, string>> = {
  create: 'compute.networks.addPeering',
  update: 'compute.networks.updatePeering',
  delete: 'compute.networks.removePeering',
}

/** the permissions one change needs, sorted */
export function permissionsForChange(change: Pick<PlannedChange, 'action' | 'resource'>): string[] {
  const {kind} = change.resource
  if (kind === 'peering') return [PEERING[change.action]]
  const own = `${COLLECTION[kind]}.${change.action}`
  const body = 'body' in change.resource ? change.resource.body : {}
  const extra: string[] = []
  if (kind === 'instance' && change.action === 'create') {
    // instances.insert: the boot disk is created with it and each interface uses its subnetwork
    extra.push('compute.disks.create', 'compute.subnetworks.use')
    if (body.metadata !== undefined) extra.push('compute.instances.setMetadata')
    if (body.tags !== undefined) extra.push('compute.instances.setTags')
    if (body.labels !== undefined && Object.keys(body.labels as object).length > 0) extra.push('compute.instances.setLabels')
    const nics = Array.isArray(body.networkInterfaces) ? (body.networkInterfaces as Array<{accessConfigs?: unknown[]}>) : []
    if (nics.some((n) => (n.accessConfigs?.length ?? 0) > 0)) extra.push('compute.subnetworks.useExternalIp')
  }
  // instanceGroups.addInstances/removeInstances are checked as the group's update
  if (kind === 'instanceGroup' && change.action === 'create' && Array.isArray(body.instances) && body.instances.length > 0) extra.push('compute.instanceGroups.update')
  return [...new Set([own, ...extra])].sort()
}

/** every permission the changes need, each once, sorted, with the changes that need it */
export function permissionsForPlan(changes: ReadonlyArray<Pick<PlannedChange, 'key' | 'action' | 'resource'>>): Array<{permission: string; changes: string[]}> {
  const by = new Map<string, string[]>()
  for (const change of changes) {
    for (const p of permissionsForChange(change)) by.set(p, [...(by.get(p) ?? []), change.key])
  }
  return [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([permission, keys]) => ({permission, changes: keys}))
}
