/**
 * `firewalls`: the topology's VPC firewall rules, field for field (the topology uses the API's
 * names). PATCH replaces the fields it names (gcloud `firewall-rules update`); PUT replaces the
 * rule. Rules by service account cannot be held by the topology and are refused.
 */
import type {FirewallSpec, ProtocolRuleSpec} from '../../core/topology/schema.js'
import {alreadyExists, invalidField, required} from '../cloud/errors.js'
import {GLOBAL, checkName, resolveRef, resourcePath, selfLink} from '../cloud/refs.js'
import type {Params} from '../cloud/router.js'
import {type Collection, listRoutes} from './collections.js'
import {type ComputeContext, type View, bodyName, bodyOf, identity, mustFind, mutate, refOf, route, stringField, stringList} from './context.js'

const ref = (view: {project: string}, name: string) => refOf(view, GLOBAL, 'firewalls', name)
const nonEmpty = <T>(key: string, list: readonly T[]): Record<string, readonly T[]> => (list.length > 0 ? {[key]: list} : {})

function protocols(list: readonly ProtocolRuleSpec[]): Array<Record<string, unknown>> {
  return list.map((r) => ({IPProtocol: r.IPProtocol, ...(r.ports && r.ports.length > 0 ? {ports: r.ports} : {})}))
}

export function firewallView(view: View, f: FirewallSpec): Record<string, unknown> {
  const r = ref(view, f.name)
  return {
    ...identity(view, 'compute#firewall', r), ...(f.description !== undefined ? {description: f.description} : {}),
    network: selfLink(refOf(view, GLOBAL, 'networks', f.network)), priority: f.priority,
    ...nonEmpty('sourceRanges', f.sourceRanges), ...nonEmpty('destinationRanges', f.destinationRanges),
    ...nonEmpty('sourceTags', f.sourceTags), ...nonEmpty('targetTags', f.targetTags),
    ...(f.allowed ? {allowed: protocols(f.allowed)} : {}), ...(f.denied ? {denied: protocols(f.denied)} : {}),
    direction: f.direction, logConfig: {enable: false}, disabled: f.disabled, selfLink: selfLink(r),
  }
}

export const firewalls: Collection = {
  collection: 'firewalls', kind: 'compute#firewall', scope: 'global', iam: 'compute.firewalls',
  views: (view) => view.topology.firewalls.map((f) => ({scope: GLOBAL, body: firewallView(view, f)})),
}

function protocolList(body: Record<string, unknown>, key: 'allowed' | 'denied'): ProtocolRuleSpec[] | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) throw invalidField(`resource.${key}`, value, 'Must be a list of {IPProtocol, ports}.')
  return value.map((entry: unknown, i) => {
    const e = (entry ?? {}) as Record<string, unknown>
    if (typeof e.IPProtocol !== 'string' && typeof e.IPProtocol !== 'number') throw required(`resource.${key}[${i}].IPProtocol`)
    const ports = stringList(e, 'ports', `resource.${key}[${i}].ports`)
    return {IPProtocol: String(e.IPProtocol).toLowerCase(), ...(ports && ports.length > 0 ? {ports} : {})}
  })
}

/** the fields of a request body that the topology holds, as a partial rule (PATCH) */
function fieldsOf(ctx: ComputeContext, body: Record<string, unknown>): Partial<FirewallSpec> {
  for (const key of ['sourceServiceAccounts', 'targetServiceAccounts']) {
    const list = stringList(body, key)
    if (list && list.length > 0) throw invalidField(`resource.${key}`, list, 'The lab has no service accounts: use tags or ranges.')
  }
  const out: Partial<FirewallSpec> = {}
  if (body.network !== undefined) out.network = resolveRef(body.network, ctx.store.project, {field: 'resource.network', collection: 'networks', scope: GLOBAL}).name
  const direction = stringField(body, 'direction')
  if (direction !== undefined) {
    if (direction !== 'INGRESS' && direction !== 'EGRESS') throw invalidField('resource.direction', direction, 'Must be INGRESS or EGRESS.')
    out.direction = direction
  }
  if (body.priority !== undefined) {
    if (typeof body.priority !== 'number' || !Number.isInteger(body.priority) || body.priority < 0 || body.priority > 65535) throw invalidField('resource.priority', body.priority, 'Must be an integer 0..65535.')
    out.priority = body.priority
  }
  for (const key of ['sourceRanges', 'destinationRanges', 'sourceTags', 'targetTags'] as const) {
    const list = stringList(body, key)
    if (list) out[key] = list
  }
  const allowed = protocolList(body, 'allowed')
  const denied = protocolList(body, 'denied')
  if (allowed && allowed.length > 0) out.allowed = allowed
  if (denied && denied.length > 0) out.denied = denied
  if (typeof body.disabled === 'boolean') out.disabled = body.disabled
  const description = stringField(body, 'description')
  if (description !== undefined) out.description = description
  return out
}

function complete(name: string, fields: Partial<FirewallSpec>): FirewallSpec {
  if (fields.network === undefined) throw required('resource.network')
  if (!fields.allowed && !fields.denied) throw invalidField('resource', name, 'A firewall rule needs allowed or denied.')
  return {
    name, network: fields.network, direction: fields.direction ?? 'INGRESS', priority: fields.priority ?? 1000,
    sourceRanges: fields.sourceRanges ?? [], sourceTags: fields.sourceTags ?? [], destinationRanges: fields.destinationRanges ?? [], targetTags: fields.targetTags ?? [],
    ...(fields.allowed ? {allowed: fields.allowed} : {}), ...(fields.denied ? {denied: fields.denied} : {}),
    disabled: fields.disabled ?? false, ...(fields.description !== undefined ? {description: fields.description} : {}),
  }
}

function insert(ctx: ComputeContext): unknown {
  const body = bodyOf(ctx)
  const name = checkName(body.name)
  const rule = complete(name, fieldsOf(ctx, body))
  const target = ref(ctx.store, name)
  return mutate(ctx, {scope: GLOBAL, type: 'insert', target, what: 'firewall', created: true}, (draft) => {
    if (draft.firewalls.some((f) => f.name === name)) throw alreadyExists(resourcePath(target))
    draft.firewalls.push(rule)
  })
}

function change(ctx: ComputeContext, name: string, type: 'patch' | 'update'): unknown {
  const body = bodyOf(ctx)
  const fields = fieldsOf(ctx, body)
  const target = ref(ctx.store, name)
  return mutate(ctx, {scope: GLOBAL, type, target, what: 'firewall'}, (draft) => {
    const i = draft.firewalls.indexOf(mustFind(draft.firewalls, name, target))
    const old = draft.firewalls[i] as FirewallSpec
    if (fields.network !== undefined && fields.network !== old.network) throw invalidField('resource.network', body.network, 'A firewall rule cannot move to another network.')
    if ((fields.allowed && old.denied) || (fields.denied && old.allowed)) throw invalidField('resource', name, 'A rule cannot change from allowed to denied or back.')
    // PUT replaces the rule; PATCH keeps what the body does not name
    const merged = type === 'update' ? complete(name, {network: old.network, ...fields}) : {...old, ...fields}
    draft.firewalls[i] = merged
  })
}

function remove(ctx: ComputeContext, name: string): unknown {
  const target = ref(ctx.store, name)
  return mutate(ctx, {scope: GLOBAL, type: 'delete', target, what: 'firewall', deleted: true}, (draft) => {
    mustFind(draft.firewalls, name, target)
    draft.firewalls = draft.firewalls.filter((f) => f.name !== name)
  })
}

const path = (p: Params): string => `projects/${p.project}/global/firewalls${p.name ? `/${p.name}` : ''}`
const base = 'projects/:project/global/firewalls'
export const firewallRoutes = [
  ...listRoutes(firewalls),
  route('POST', base, 'compute.firewalls.create', true, (p, body) => path({...p, name: bodyName(body)}), (ctx) => insert(ctx)),
  route('PATCH', `${base}/:name`, 'compute.firewalls.update', true, path, (ctx, p) => change(ctx, p.name as string, 'patch')),
  route('PUT', `${base}/:name`, 'compute.firewalls.update', true, path, (ctx, p) => change(ctx, p.name as string, 'update')),
  route('DELETE', `${base}/:name`, 'compute.firewalls.delete', true, path, (ctx, p) => remove(ctx, p.name as string)),
]
