/**
 * Desired against existing: the changes that make the project hold what a link wants, and the
 * order they must run in. Pure. What exists and carries the link's mark is the link's state
 * (design.md: no state file); what exists under a wanted name without the mark is not xcc's and
 * refuses the plan (exit 2) before anything is written.
 */
import {XccError} from '../errors.js'
import type {DesiredResource, ResourceRef} from '../ports/gcp-writes.js'
import {type PlannedChange, changeKey} from './changes.js'
import type {Resource} from './resources.js'

export interface Wanted {
  readonly resource: Resource
  readonly desired: DesiredResource
  readonly reason: string
}

/** the suffix of the delete half of a replacement (its create keeps the plain key) */
export const REPLACED = '#replaced'

const show = (value: unknown): string => (value === undefined ? '(none)' : Array.isArray(value) ? `[${value.join(', ')}]` : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value))
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/** the fields of `want` (only those it sets) whose values differ in `have` */
function differences(want: Readonly<Record<string, unknown>>, have: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(want).filter((k) => want[k] !== undefined && !same(want[k], have[k])).map((k) => `${k} ${k === 'guest' ? '(the startup script)' : `${show(have[k])} → ${show(want[k])}`}`)
}

const what = (r: ResourceRef): string => `${r.kind} ${r.parent ? `${r.parent}/` : ''}${r.name}`

/**
 * The plan for `wanted` given `existing`; `owns` tells the link's own resources (its mark, or for
 * peerings, which carry no description, its names). Changes come in dependency order.
 */
export function diffLink(link: string, wanted: readonly Wanted[], existing: readonly Resource[], owns: (r: Resource) => boolean): PlannedChange[] {
  const byKey = new Map(existing.map((e) => [changeKey(e.ref), e]))
  const collisions: string[] = []
  const changes: Array<PlannedChange & {refs: readonly ResourceRef[]}> = []
  const wantedKeys = new Set<string>()
  for (const w of wanted) {
    const key = changeKey(w.resource.ref)
    wantedKeys.add(key)
    const have = byKey.get(key)
    if (!have) {
      changes.push({key, action: 'create', resource: w.desired, reason: w.reason, dependsOn: [], refs: w.resource.refs})
      continue
    }
    if (!owns(have)) {
      collisions.push(`${what(have.ref)} exists and is not xcc's (${have.description ? `its description is ${JSON.stringify(have.description.slice(0, 80))}` : 'it has no description'}), but link ${link} would create it`)
      continue
    }
    const fixed = differences(w.resource.fixed, have.fixed)
    if (fixed.length > 0) {
      changes.push({key: `${key}${REPLACED}`, action: 'delete', resource: have.ref, reason: `replaced: ${fixed.join('; ')} (a ${have.ref.kind} cannot change that in place)`, dependsOn: [], refs: have.refs})
      changes.push({key, action: 'create', resource: w.desired, reason: `${w.reason} (re-created with the new ${fixed.map((f) => f.split(' ')[0]).join(', ')})`, dependsOn: [`${key}${REPLACED}`], refs: w.resource.refs})
      continue
    }
    const inPlace = differences(w.resource.inPlace, have.inPlace)
    if (inPlace.length > 0) changes.push({key, action: 'update', resource: w.desired, reason: `${inPlace.join('; ')}`, dependsOn: [], refs: w.resource.refs})
  }
  if (collisions.length > 0) {
    throw new XccError(`link ${link}: ${collisions.length === 1 ? 'a name it needs is taken' : `${collisions.length} names it needs are taken`}; nothing was written`, {
      details: collisions, hint: 'xcc changes only what carries its mark; rename or delete those resources, or choose another link name',
    })
  }
  for (const e of existing) {
    const key = changeKey(e.ref)
    if (!wantedKeys.has(key) && owns(e)) changes.push({key, action: 'delete', resource: e.ref, reason: `owned by link ${link} and no longer wanted`, dependsOn: [], refs: e.refs})
  }
  return orderChanges(withDependencies(changes))
}

/** Every resource the link owns, deleted in the reverse of the order that created them. */
export function planDelete(link: string, existing: readonly Resource[], owns: (r: Resource) => boolean): PlannedChange[] {
  const changes = existing.filter(owns).map((e) => ({key: changeKey(e.ref), action: 'delete' as const, resource: e.ref, reason: `owned by link ${link}`, dependsOn: [] as string[], refs: e.refs}))
  return orderChanges(withDependencies(changes))
}

/**
 * A create or update waits for the creates and updates of what it refers to; a delete waits for
 * the deletes of what refers to it (forwarding rule before backend service before health check);
 * peering operations wait for each other (a network takes one at a time).
 */
function withDependencies(changes: ReadonlyArray<PlannedChange & {refs: readonly ResourceRef[]}>): PlannedChange[] {
  const writes = new Set(changes.filter((c) => c.action !== 'delete').map((c) => c.key))
  const deletes = changes.filter((c) => c.action === 'delete')
  let lastPeering: string | undefined
  const out: PlannedChange[] = []
  for (const c of changes) {
    const deps = new Set(c.dependsOn)
    if (c.action !== 'delete') {
      for (const r of c.refs) if (writes.has(changeKey(r)) && changeKey(r) !== c.key) deps.add(changeKey(r))
    } else {
      const target = changeKey(c.resource)
      for (const d of deletes) if (d !== c && d.refs.some((r) => changeKey(r) === target)) deps.add(d.key)
    }
    if (c.resource.kind === 'peering') {
      if (lastPeering) deps.add(lastPeering)
      lastPeering = c.key
    }
    out.push({key: c.key, action: c.action, resource: c.resource, reason: c.reason, dependsOn: [...deps].sort()})
  }
  return out
}

/** a topological order, stable: among the ready ones, the first listed goes first */
export function orderChanges(changes: readonly PlannedChange[]): PlannedChange[] {
  const keys = new Set(changes.map((c) => c.key))
  const done = new Set<string>()
  const out: PlannedChange[] = []
  const left = [...changes]
  while (left.length > 0) {
    const at = left.findIndex((c) => c.dependsOn.every((d) => done.has(d) || !keys.has(d)))
    if (at < 0) throw new Error(`xcc link: the plan's dependencies form a cycle (${left.map((c) => c.key).join(', ')})`)
    const [next] = left.splice(at, 1) as [PlannedChange]
    out.push(next)
    done.add(next.key)
  }
  return out
}
