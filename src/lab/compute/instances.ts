/**
 * `instances`: the topology's VMs and, as GKE shows them, its GKE nodes (named as their node
 * names, labelled `goog-gke-node`, read-only), with their NICs (`nic0`…), alias ranges, tags,
 * labels and metadata (a VM's guest as its startup script), and the serial console
 * (`getSerialPortOutput`). Writes are in instance-writes.ts.
 */
import {formatCidr, formatIp} from '../../core/net/ipv4.js'
import type {InstanceFacts} from '../../core/topology/model-types.js'
import {STARTUP_SCRIPT, guestNics, isDefaultGuest, renderGuestScript} from '../../core/topology/guest-script.js'
import {nodePoolGroups} from '../../core/topology/node-pools.js'
import type {InstanceSpec} from '../../core/topology/schema.js'
import {invalidField} from '../cloud/errors.js'
import {fingerprint} from '../cloud/identity.js'
import {GLOBAL, region, scopeLink, selfLink, zone} from '../cloud/refs.js'
import type {Params} from '../cloud/router.js'
import {type Collection, findShown, listRoutes, pathOf} from './collections.js'
import {type ComputeContext, type View, identity, refOf, route} from './context.js'

export const MACHINE_TYPE = 'e2-medium'

function nicViews(view: View, facts: InstanceFacts | undefined, spec: InstanceSpec | undefined): Array<Record<string, unknown>> {
  return (facts?.nics ?? []).map((nic) => {
    const declared = spec?.networkInterfaces[nic.index]?.aliasIpRanges ?? []
    const aliases = facts?.kind === 'node'
      ? nic.aliasRanges.map((r) => ({ipCidrRange: formatCidr(r), subnetworkRangeName: nic.subnet.secondary.find((s) => (s.cidr.base & r.base) === s.cidr.base)?.rangeName}))
      : declared.map((a) => ({ipCidrRange: a.ipCidrRange, ...(a.subnetworkRangeName !== undefined ? {subnetworkRangeName: a.subnetworkRangeName} : {})}))
    const shown = {
      kind: 'compute#networkInterface', network: selfLink(refOf(view, GLOBAL, 'networks', nic.network)),
      subnetwork: selfLink(refOf(view, region(nic.subnet.region), 'subnetworks', nic.subnet.name)), networkIP: formatIp(nic.ip), name: `nic${nic.index}`,
      ...(aliases.length > 0 ? {aliasIpRanges: aliases} : {}), stackType: 'IPV4_ONLY', nicType: 'GVNIC',
    }
    return {...shown, fingerprint: fingerprint(shown)}
  })
}

function metadataView(items: Readonly<Record<string, string>>): Record<string, unknown> {
  const list = Object.entries(items).map(([key, value]) => ({key, value}))
  return {kind: 'compute#metadata', fingerprint: fingerprint(list), ...(list.length > 0 ? {items: list} : {})}
}

/**
 * A VM's metadata as GCE shows it. The Compute API cannot see inside a VM: what its guest does
 * (forwarding, routes, iptables) is its startup script's doing. So a VM whose topology gives a
 * guest and no `startup-script` shows the script that sets that guest up (renderGuestScript),
 * which `xcc snapshot` and the writes below read back (core/topology/guest-script.ts).
 */
function shownMetadata(view: View, m: InstanceSpec): Readonly<Record<string, string>> {
  const metadata = m.metadata ?? {}
  if (isDefaultGuest(m.guest) || metadata[STARTUP_SCRIPT] !== undefined) return metadata
  return {...metadata, [STARTUP_SCRIPT]: renderGuestScript(m.guest, guestNics(view.topology, m))}
}

/** what an instance is, in one place: a VM of `instances`, or a GKE node of `clusters` */
export interface Machine {
  readonly name: string
  readonly zone: string
  readonly tags: readonly string[]
  readonly canIpForward: boolean
  readonly labels: Readonly<Record<string, string>>
  readonly metadata: Readonly<Record<string, string>>
  readonly description?: string
  readonly spec?: InstanceSpec
  /** the cluster of a GKE node */
  readonly cluster?: string
}

export function machines(view: View): Machine[] {
  const pools = nodePoolGroups(view.topology)
  const vms: Machine[] = view.topology.instances.map((m) => ({
    name: m.name, zone: m.zone, tags: m.tags, canIpForward: m.canIpForward, labels: m.labels ?? {}, metadata: shownMetadata(view, m), spec: m,
    ...(m.description !== undefined ? {description: m.description} : {}),
  }))
  const nodes: Machine[] = view.topology.clusters.flatMap((c) => c.nodes.map((n) => {
    const facts = view.model.instances.get(n.name)
    const pool = pools.find((g) => g.nodes.includes(n.name))
    return {
      name: n.name, zone: n.zone ?? c.location, tags: facts?.tags ?? [], canIpForward: c.mode === 'ROUTES', cluster: c.name,
      labels: {'goog-gke-node': '', 'goog-k8s-cluster-name': c.name, 'goog-k8s-cluster-location': c.location, 'goog-k8s-node-pool-name': pool?.pool ?? 'default-pool'},
      metadata: {'cluster-name': c.name, 'cluster-location': c.location, 'created-by': pool ? `projects/${view.project}/zones/${pool.zone}/instanceGroupManagers/${pool.name}` : ''},
    }
  }))
  return [...vms, ...nodes]
}

export function instanceView(view: View, m: Machine): Record<string, unknown> {
  const r = refOf(view, zone(m.zone), 'instances', m.name)
  const facts = view.model.instances.get(m.name)
  return {
    ...identity(view, 'compute#instance', r), ...(m.description !== undefined ? {description: m.description} : {}),
    tags: {...(m.tags.length > 0 ? {items: m.tags} : {}), fingerprint: fingerprint(m.tags)},
    machineType: `${scopeLink(view.project, zone(m.zone))}/machineTypes/${MACHINE_TYPE}`, status: 'RUNNING', zone: scopeLink(view.project, zone(m.zone)),
    canIpForward: m.canIpForward, networkInterfaces: nicViews(view, facts, m.spec),
    disks: [{kind: 'compute#attachedDisk', type: 'PERSISTENT', mode: 'READ_WRITE', deviceName: 'persistent-disk-0', index: 0, boot: true, autoDelete: true, interface: 'SCSI', diskSizeGb: '10'}],
    metadata: metadataView(m.metadata), selfLink: selfLink(r),
    scheduling: {onHostMaintenance: 'MIGRATE', automaticRestart: true, preemptible: false, provisioningModel: 'STANDARD'},
    cpuPlatform: 'Intel Broadwell', ...(Object.keys(m.labels).length > 0 ? {labels: m.labels} : {}), labelFingerprint: fingerprint(m.labels),
    startRestricted: false, deletionProtection: false, fingerprint: fingerprint([m.name, m.tags, m.labels, m.metadata]),
  }
}

export const instances: Collection = {
  collection: 'instances', kind: 'compute#instance', scope: 'zones', iam: 'compute.instances',
  views: (view) => machines(view).map((m) => ({scope: zone(m.zone), body: instanceView(view, m)})),
}

/** GET …/serialPort?port=1&start=N: the console from byte N */
function serialPortOutput(ctx: ComputeContext, params: Params): unknown {
  findShown(instances, ctx, params, params.name as string)
  const port = ctx.request.query.get('port') ?? '1'
  if (port !== '1') throw invalidField('port', port, 'The lab\'s VMs have serial port 1 only.')
  const start = Number(ctx.request.query.get('start') ?? '0')
  const read = ctx.serial.read(params.name as string, Number.isFinite(start) ? start : 0)
  return {kind: 'compute#serialPortOutput', contents: read.contents, start: String(read.start), next: String(read.next), selfLink: `https://www.googleapis.com/compute/v1/${pathOf(instances, params, params.name)}/serialPort`}
}

export const instanceReadRoutes = [
  ...listRoutes(instances),
  route('GET', 'projects/:project/zones/:zone/instances/:name/serialPort', 'compute.instances.getSerialPortOutput', false, (p) => pathOf(instances, p, p.name), serialPortOutput),
]
