/**
 * Writes of `instances`: insert (NICs on a subnetwork, or a network with one subnet in the zone's
 * region; `networkIP` and alias netmasks allocated when left out; `canIpForward`, tags, labels,
 * metadata with its `startup-script`, which becomes the VM's guest), delete (members leave their groups and backend services,
 * as GCE removes them; a route through the VM keeps it), and the `set*` actions with GCE's
 * fingerprints. GKE nodes are the cluster's: writes to them are refused. Machine type, disks and
 * service accounts are accepted and not kept (the lab's VMs are namespaces).
 */
import {STARTUP_SCRIPT, guestNics, parseGuestScript, renderGuestScript, scriptExcerpt} from '../../core/topology/guest-script.js'
import type {InstanceSpec, NicSpec, Topology} from '../../core/topology/schema.js'
import {sameFingerprint} from '../cloud/identity.js'
import {alreadyExists, conditionNotMet, inUse, invalidField, notFound} from '../cloud/errors.js'
import {GLOBAL, checkName, region, resolveRef, resourcePath, zone} from '../cloud/refs.js'
import type {Params} from '../cloud/router.js'
import {regionOfZone} from '../../core/topology/issues.js'
import {pathOf} from './collections.js'
import {type ComputeContext, bodyName, bodyOf, derivedError, labelsOf, mutate, refOf, route, stringField, stringList, viewOf} from './context.js'
import {allocateAddress, allocateAliasRange} from './addresses.js'
import {reflatten} from './groups.js'
import {instanceView, instances, machines} from './instances.js'
import {instanceUsers} from './usage.js'
import {checkZone} from './zones.js'

function nicsOf(ctx: ComputeContext, draft: Topology, where: string, body: Record<string, unknown>): NicSpec[] {
  const list = body.networkInterfaces
  if (!Array.isArray(list) || list.length === 0) throw invalidField('resource.networkInterfaces', list ?? '', 'An instance needs at least one network interface.')
  const project = ctx.store.project
  const taken = new Set<string>()
  return list.map((entry: unknown, i) => {
    const e = (entry ?? {}) as Record<string, unknown>
    const field = `resource.networkInterfaces[${i}]`
    const subnetRef = e.subnetwork === undefined ? undefined : resolveRef(e.subnetwork, project, {field: `${field}.subnetwork`, collection: 'subnetworks', scope: region(regionOfZone(where))})
    const networkName = e.network === undefined ? undefined : resolveRef(e.network, project, {field: `${field}.network`, collection: 'networks', scope: GLOBAL}).name
    const inRegion = draft.networks.flatMap((n) => n.subnets.filter((s) => s.region === regionOfZone(where)).map((s) => ({network: n.name, subnet: s})))
    const candidates = inRegion.filter((c) => (subnetRef === undefined || c.subnet.name === subnetRef.name) && (networkName === undefined || c.network === networkName))
    if (subnetRef && candidates.length === 0) throw notFound(resourcePath(subnetRef))
    if (candidates.length !== 1) throw invalidField(`${field}.subnetwork`, e.subnetwork ?? e.network ?? '', `Name a subnetwork of ${regionOfZone(where)}${networkName ? ` in network ${networkName}` : ''} (${candidates.length} match).`)
    const {network, subnet} = candidates[0] as (typeof candidates)[number]
    if (e.accessConfigs !== undefined && Array.isArray(e.accessConfigs) && e.accessConfigs.length > 0) throw invalidField(`${field}.accessConfigs`, e.accessConfigs, 'The lab has no external addresses (use --no-address).')
    const given = stringField(e, 'networkIP', `${field}.networkIP`)
    const networkIP = given ?? allocateAddress(draft, network, subnet, taken)
    taken.add(networkIP)
    const aliases = Array.isArray(e.aliasIpRanges) ? e.aliasIpRanges : []
    return {
      network, subnetwork: subnet.name, networkIP,
      aliasIpRanges: aliases.map((a: unknown, j) => {
        const alias = (a ?? {}) as Record<string, unknown>
        const rangeName = stringField(alias, 'subnetworkRangeName', `${field}.aliasIpRanges[${j}].subnetworkRangeName`)
        const text = stringField(alias, 'ipCidrRange', `${field}.aliasIpRanges[${j}].ipCidrRange`) ?? ''
        return {ipCidrRange: allocateAliasRange(draft, network, subnet, text, rangeName), subnetworkRangeName: rangeName}
      }),
    }
  })
}

function metadataOf(body: Record<string, unknown>, field = 'resource.metadata'): Record<string, string> | undefined {
  const value = body.metadata === undefined ? undefined : (body.metadata as Record<string, unknown> | null)
  if (value === undefined || value === null) return undefined
  const items = value.items ?? []
  if (!Array.isArray(items)) throw invalidField(`${field}.items`, items, 'Must be a list of {key, value}.')
  const out: Record<string, string> = {}
  for (const [i, item] of items.entries()) {
    const e = (item ?? {}) as Record<string, unknown>
    if (typeof e.key !== 'string' || typeof e.value !== 'string') throw invalidField(`${field}.items[${i}]`, item, 'Must be {key, value} strings.')
    out[e.key] = e.value
  }
  return out
}

/**
 * A VM's startup script is its guest (core/topology/guest-script.ts): after a write sets the
 * VM's metadata, the topology's `guest` is what the script sets up. No script: the default guest.
 * A script xcc reads: that guest, and the script stays in `metadata` unless it is exactly the
 * canonical rendering of that guest, which the API shows for `guest` anyway (one truth, not two).
 * A script xcc does not read: the default guest. The lab still runs that script when the VM
 * boots, so the VM may forward, route or filter in ways the doctor, which reads the topology,
 * cannot know about; the lab's log says which line xcc could not read.
 */
function takeGuestScript(ctx: ComputeContext, draft: Topology, spec: InstanceSpec): void {
  const script = spec.metadata?.[STARTUP_SCRIPT]
  spec.guest = {ipForward: false, routes: []}
  if (script === undefined) return
  const nics = guestNics(draft, spec)
  const read = parseGuestScript(script, nics)
  if ('unreadable' in read) {
    ctx.store.note(`cloud: instance ${spec.name}: its startup script line ${read.unreadable.line} (${scriptExcerpt(read.unreadable.text)}) is not one xcc reads; its topology has the default guest (no forwarding, routes or rules), though the VM runs the script`)
    return
  }
  spec.guest = read.guest
  if (script !== renderGuestScript(read.guest, nics)) return
  const {[STARTUP_SCRIPT]: _, ...rest} = spec.metadata ?? {}
  if (Object.keys(rest).length > 0) spec.metadata = rest
  else delete spec.metadata
}

function tagsOf(body: Record<string, unknown>): string[] {
  const tags = body.tags === undefined || body.tags === null ? [] : stringList(body.tags as Record<string, unknown>, 'items', 'resource.tags.items') ?? []
  for (const tag of tags) checkName(tag, 'resource.tags.items')
  return tags
}

function insert(ctx: ComputeContext, params: Params): unknown {
  const where = checkZone(ctx.store.topology, params.zone as string)
  const body = bodyOf(ctx)
  const name = checkName(body.name)
  const target = refOf(ctx.store, zone(where), 'instances', name)
  return mutate(ctx, {scope: zone(where), type: 'insert', target, what: 'instance', created: true}, (draft) => {
    if (machines(viewOf(ctx)).some((m) => m.name === name) || draft.instances.some((m) => m.name === name)) throw alreadyExists(resourcePath(target))
    const description = stringField(body, 'description')
    const labels = labelsOf(body)
    const metadata = metadataOf(body)
    const spec: InstanceSpec = {
      name, zone: where, tags: tagsOf(body), canIpForward: body.canIpForward === true, networkInterfaces: nicsOf(ctx, draft, where, body),
      guest: {ipForward: false, routes: []},
      ...(metadata && Object.keys(metadata).length > 0 ? {metadata} : {}), ...(description !== undefined ? {description} : {}),
      ...(labels && Object.keys(labels).length > 0 ? {labels} : {}),
    }
    takeGuestScript(ctx, draft, spec)
    draft.instances.push(spec)
  })
}

/** the VM `name` of the request's zone in a draft: a GKE node is refused, an unknown name is the 404 */
function vm(ctx: ComputeContext, draft: Topology, params: Params): InstanceSpec {
  const found = draft.instances.find((m) => m.name === params.name && m.zone === params.zone)
  if (found) return found
  const node = machines(viewOf(ctx)).find((m) => m.name === params.name && m.zone === params.zone && m.cluster)
  if (node) derivedError(pathOf(instances, params, params.name), `GKE cluster ${node.cluster ?? ''}`)
  throw notFound(pathOf(instances, params, params.name))
}

function remove(ctx: ComputeContext, params: Params): unknown {
  const target = refOf(ctx.store, zone(params.zone as string), 'instances', params.name as string)
  return mutate(ctx, {scope: target.scope, type: 'delete', target, what: 'instance', deleted: true}, (draft) => {
    const m = vm(ctx, draft, params)
    const user = instanceUsers(draft, ctx.store.project, m.name)[0]
    if (user) throw inUse('instance', resourcePath(target), user)
    const before = structuredClone(draft)
    draft.instances = draft.instances.filter((x) => x !== m)
    for (const g of draft.instanceGroups) g.instances = g.instances.filter((x) => x !== m.name)
    reflatten(before, draft)
  })
}

/** setTags {items, fingerprint}, setLabels {labels, labelFingerprint}, setMetadata {items, fingerprint} */
function setter(action: 'setTags' | 'setLabels' | 'setMetadata') {
  return (ctx: ComputeContext, params: Params): unknown => {
    const body = bodyOf(ctx)
    const target = refOf(ctx.store, zone(params.zone as string), 'instances', params.name as string)
    return mutate(ctx, {scope: target.scope, type: action, target, what: action}, (draft) => {
      const m = vm(ctx, draft, params)
      const shown = instanceView(viewOf(ctx), machines(viewOf(ctx)).find((x) => x.name === m.name) as ReturnType<typeof machines>[number])
      const current = action === 'setTags' ? (shown.tags as {fingerprint: string}).fingerprint : action === 'setLabels' ? shown.labelFingerprint : (shown.metadata as {fingerprint: string}).fingerprint
      const given = stringField(body, action === 'setLabels' ? 'labelFingerprint' : 'fingerprint')
      if (given !== undefined && !sameFingerprint(given, current)) throw conditionNotMet(action === 'setLabels' ? 'labelFingerprint' : 'fingerprint')
      if (action === 'setTags') m.tags = tagsOf({tags: body})
      else if (action === 'setLabels') {
        const labels = labelsOf(body, 'labels') ?? {}
        if (Object.keys(labels).length > 0) m.labels = labels
        else delete m.labels
      } else {
        const metadata = metadataOf({metadata: body}, 'metadata') ?? {}
        if (Object.keys(metadata).length > 0) m.metadata = metadata
        else delete m.metadata
        takeGuestScript(ctx, draft, m)
      }
    })
  }
}

/**
 * What GCP checks on instances.insert besides compute.instances.create: the boot disk it creates,
 * each interface's subnetwork (and its external address), and the metadata, tags and labels it sets.
 */
export function insertAlsoNeeds(body: unknown): string[] {
  const b = (body ?? {}) as {disks?: unknown[]; networkInterfaces?: Array<{accessConfigs?: unknown[]}>; metadata?: unknown; tags?: unknown; labels?: Record<string, string>}
  const nics = Array.isArray(b.networkInterfaces) ? b.networkInterfaces : []
  return [
    ...(Array.isArray(b.disks) && b.disks.length > 0 ? ['compute.disks.create'] : []),
    ...(nics.length > 0 ? ['compute.subnetworks.use'] : []),
    ...(nics.some((n) => (n.accessConfigs?.length ?? 0) > 0) ? ['compute.subnetworks.useExternalIp'] : []),
    ...(b.metadata !== undefined ? ['compute.instances.setMetadata'] : []),
    ...(b.tags !== undefined ? ['compute.instances.setTags'] : []),
    ...(b.labels && Object.keys(b.labels).length > 0 ? ['compute.instances.setLabels'] : []),
  ]
}

const path = (p: Params): string => pathOf(instances, p, p.name)
const base = 'projects/:project/zones/:zone/instances'
export const instanceWriteRoutes = [
  {...route('POST', base, 'compute.instances.create', true, (p, body) => pathOf(instances, p, bodyName(body)), insert), also: insertAlsoNeeds},
  route('DELETE', `${base}/:name`, 'compute.instances.delete', true, path, remove),
  route('POST', `${base}/:name/setTags`, 'compute.instances.setTags', true, path, setter('setTags')),
  route('POST', `${base}/:name/setLabels`, 'compute.instances.setLabels', true, path, setter('setLabels')),
  route('POST', `${base}/:name/setMetadata`, 'compute.instances.setMetadata', true, path, setter('setMetadata')),
]
