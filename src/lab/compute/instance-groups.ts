/**
 * `instanceGroups` (unmanaged): the topology's `instanceGroups`, GKE's node pool groups and the
 * groups derived for hand-written backend services (groups.ts), with membership kept outside the
 * group resource as GCE keeps it (`listInstances`, `addInstances`, `removeInstances`). A change of
 * membership re-flattens every backend service that uses the group, so the load balancer sends
 * to exactly the members.
 */
import type {Model} from '../../core/topology/model-types.js'
import type {InstanceGroupSpec, Topology} from '../../core/topology/schema.js'
import {CloudError, alreadyExists, conditionNotMet, inUse, invalidField, notFound} from '../cloud/errors.js'
import {fingerprint, sameFingerprint} from '../cloud/identity.js'
import {listBody, pageOf} from '../cloud/paging.js'
import {GLOBAL, checkName, resolveRef, resourcePath, scopeLink, selfLink, zone} from '../cloud/refs.js'
import type {Params} from '../cloud/router.js'
import {type Collection, findShown, listRoutes, pathOf} from './collections.js'
import {type ComputeContext, type View, bodyName, bodyOf, derivedError, identity, mutate, refOf, route, stringField, viewOf} from './context.js'
import {type GroupInfo, allGroups, reflatten} from './groups.js'
import {instanceGroupUsers} from './usage.js'
import {checkZone} from './zones.js'

function groupView(view: View, g: GroupInfo): Record<string, unknown> {
  const r = refOf(view, zone(g.zone), 'instanceGroups', g.name)
  const first = view.model.instances.get(g.members[0] ?? '')?.nics[0]
  const description = g.spec?.description ?? (g.origin === 'node-pool' ? `This instance group is controlled by Instance Group Manager '${g.name}'. To modify instances in this group, use the Instance Group Manager API: https://cloud.google.com/compute/docs/reference/latest/instanceGroupManagers` : g.origin === 'backend-service' ? `the instances of backend service ${g.owner ?? ''} in this zone (derived by the lab)` : undefined)
  const namedPorts = g.spec?.namedPorts ?? []
  const shown = {
    ...identity(view, 'compute#instanceGroup', r), ...(description !== undefined ? {description} : {}),
    ...(namedPorts.length > 0 ? {namedPorts: namedPorts.map((p) => ({name: p.name, port: p.port}))} : {}),
    ...(first ? {network: selfLink(refOf(view, GLOBAL, 'networks', first.network)), subnetwork: selfLink(refOf(view, {kind: 'regions', name: first.subnet.region}, 'subnetworks', first.subnet.name))} : {}),
    zone: scopeLink(view.project, zone(g.zone)), size: g.members.length, selfLink: selfLink(r),
  }
  return {...shown, fingerprint: fingerprint(shown)}
}

export const instanceGroups: Collection = {
  collection: 'instanceGroups', kind: 'compute#instanceGroup', scope: 'zones', iam: 'compute.instanceGroups',
  views: (view) => allGroups(view.topology).map((g) => ({scope: zone(g.zone), body: groupView(view, g)})),
}

/** the declared group `name` of `where` in a draft; a derived one is refused, an absent one is the 404 */
function declared(draft: Topology, params: Params): InstanceGroupSpec {
  const name = params.name as string
  const found = draft.instanceGroups.find((g) => g.name === name && g.zone === params.zone)
  if (found) return found
  const derived = allGroups(draft).find((g) => g.name === name && g.zone === params.zone)
  if (derived) derivedError(pathOf(instanceGroups, params, name), derived.origin === 'node-pool' ? `GKE cluster ${derived.owner ?? ''}` : `backend service ${derived.owner ?? ''}`)
  throw notFound(pathOf(instanceGroups, params, name))
}

function namedPortsOf(body: Record<string, unknown>): InstanceGroupSpec['namedPorts'] | undefined {
  const value = body.namedPorts
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) throw invalidField('resource.namedPorts', value, 'Must be a list of {name, port}.')
  return value.map((p: unknown, i) => {
    const e = (p ?? {}) as Record<string, unknown>
    if (typeof e.port !== 'number' || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) throw invalidField(`resource.namedPorts[${i}].port`, e.port, 'Must be 1..65535.')
    return {name: checkName(e.name, `resource.namedPorts[${i}].name`), port: e.port}
  })
}

function insert(ctx: ComputeContext, params: Params): unknown {
  const where = checkZone(ctx.store.topology, params.zone as string)
  const body = bodyOf(ctx)
  const name = checkName(body.name)
  const target = refOf(ctx.store, zone(where), 'instanceGroups', name)
  return mutate(ctx, {scope: zone(where), type: 'insert', target, what: 'instance group', created: true}, (draft) => {
    if (allGroups(draft).some((g) => g.name === name)) throw alreadyExists(resourcePath(target))
    const description = stringField(body, 'description')
    draft.instanceGroups.push({name, zone: where, instances: [], namedPorts: namedPortsOf(body) ?? [], ...(description !== undefined ? {description} : {})})
  })
}

function remove(ctx: ComputeContext, params: Params): unknown {
  const target = refOf(ctx.store, zone(params.zone as string), 'instanceGroups', params.name as string)
  return mutate(ctx, {scope: zone(params.zone as string), type: 'delete', target, what: 'instance group', deleted: true}, (draft) => {
    const group = declared(draft, params)
    const user = instanceGroupUsers(draft, ctx.store.project, group.name)[0]
    if (user) throw inUse('instanceGroup', resourcePath(target), user)
    draft.instanceGroups = draft.instanceGroups.filter((g) => g !== group)
  })
}

/** the instance names of an add/removeInstances body, each in the group's zone */
function membersOf(ctx: ComputeContext, where: string): string[] {
  const list = bodyOf(ctx).instances
  if (!Array.isArray(list)) throw invalidField('instances', list ?? '', 'Must be a list of {instance}.')
  return list.map((entry: unknown, i) => {
    const r = resolveRef((entry as Record<string, unknown> | null)?.instance, ctx.store.project, {field: `instances[${i}].instance`, collection: 'instances', scope: zone(where)})
    if (r.scope.kind !== 'zones' || r.scope.name !== where) throw invalidField(`instances[${i}].instance`, r.name, `The instance must be in the group's zone ${where}.`)
    return r.name
  })
}

function membership(ctx: ComputeContext, params: Params, action: 'addInstances' | 'removeInstances'): unknown {
  const where = params.zone as string
  const names = membersOf(ctx, where)
  const target = refOf(ctx.store, zone(where), 'instanceGroups', params.name as string)
  return mutate(ctx, {scope: zone(where), type: action, target, what: `${action} ${names.join(', ')}`}, (draft) => {
    const before = structuredClone(draft)
    const group = declared(draft, params)
    for (const name of names) {
      const path = resourcePath(refOf(ctx.store, zone(where), 'instances', name))
      const member = group.instances.includes(name)
      if (action === 'addInstances') {
        if (member) throw new CloudError(400, `The resource '${path}' is already a member of '${resourcePath(target)}'`, 'memberAlreadyExists')
        const nic0 = draft.instances.find((m) => m.name === name)?.networkInterfaces[0]?.network ?? draft.clusters.find((c) => c.nodes.some((n) => n.name === name))?.network
        if (nic0 === undefined) throw new CloudError(404, `The resource '${path}' was not found`, 'notFound')
        const groupNetwork = group.instances.map((m) => draft.instances.find((x) => x.name === m)?.networkInterfaces[0]?.network ?? draft.clusters.find((c) => c.nodes.some((n) => n.name === m))?.network)[0]
        if (groupNetwork !== undefined && groupNetwork !== nic0) throw invalidField('instances', name, `The instance's nic0 is in network ${nic0}, the group's members in ${groupNetwork}.`)
        group.instances.push(name)
      } else {
        if (!member) throw new CloudError(400, `The resource '${path}' is not a member of '${resourcePath(target)}'`, 'memberNotFound')
        group.instances = group.instances.filter((m) => m !== name)
      }
    }
    reflatten(before, draft)
  })
}

/** the groups of a committed model (never a draft), made once per model: a snapshot lists every group's members, one request each */
const committedGroups = new WeakMap<Model, Map<string, GroupInfo>>()

function committedGroup(view: View, name: string, zoneName: string): GroupInfo | undefined {
  let groups = committedGroups.get(view.model)
  if (!groups) {
    committedGroups.set(view.model, (groups = new Map()))
    for (const g of allGroups(view.topology)) if (!groups.has(`${g.zone}/${g.name}`)) groups.set(`${g.zone}/${g.name}`, g)
  }
  return groups.get(`${zoneName}/${name}`)
}

function listInstances(ctx: ComputeContext, params: Params): unknown {
  findShown(instanceGroups, ctx, params, params.name as string)
  const view = viewOf(ctx)
  const g = committedGroup(view, params.name as string, params.zone as string) as GroupInfo
  const ports = g.spec?.namedPorts ?? []
  const items = g.members.map((m) => ({instance: selfLink(refOf(view, zone(g.zone), 'instances', m)), status: 'RUNNING', ...(ports.length ? {namedPorts: ports} : {})}))
  const id = `${pathOf(instanceGroups, params, g.name)}/listInstances`
  return listBody('compute#instanceGroupsListInstances', id, `https://www.googleapis.com/compute/v1/${id}`, pageOf(items, ctx.request.query))
}

function setNamedPorts(ctx: ComputeContext, params: Params): unknown {
  const body = bodyOf(ctx)
  const ports = namedPortsOf(body) ?? []
  const target = refOf(ctx.store, zone(params.zone as string), 'instanceGroups', params.name as string)
  return mutate(ctx, {scope: zone(params.zone as string), type: 'setNamedPorts', target, what: 'named ports'}, (draft) => {
    const group = declared(draft, params)
    const given = stringField(body, 'fingerprint')
    if (given !== undefined && !sameFingerprint(given, findShown(instanceGroups, ctx, params, group.name).fingerprint)) throw conditionNotMet('fingerprint')
    group.namedPorts = ports
  })
}

const path = (p: Params): string => pathOf(instanceGroups, p, p.name)
const base = 'projects/:project/zones/:zone/instanceGroups'
export const instanceGroupRoutes = [
  ...listRoutes(instanceGroups),
  route('POST', base, 'compute.instanceGroups.create', true, (p, body) => pathOf(instanceGroups, p, bodyName(body)), insert),
  route('DELETE', `${base}/:name`, 'compute.instanceGroups.delete', true, path, remove),
  route('POST', `${base}/:name/addInstances`, 'compute.instanceGroups.update', true, path, (ctx, p) => membership(ctx, p, 'addInstances')),
  route('POST', `${base}/:name/removeInstances`, 'compute.instanceGroups.update', true, path, (ctx, p) => membership(ctx, p, 'removeInstances')),
  route('POST', `${base}/:name/setNamedPorts`, 'compute.instanceGroups.update', true, path, setNamedPorts),
  route('POST', `${base}/:name/listInstances`, 'compute.instanceGroups.list', false, path, listInstances),
]
