/**
 * What `xcc link` plans and applies: a list of changes, each to one resource, with the keys of the
 * changes that must finish first. The planner (core/link) makes it from the desired state and what
 * exists; the applier (app) runs it in dependency order; delete runs the same graph in reverse.
 */
import type {DesiredResource, ResourceRef} from '../ports/gcp-writes.js'

export type ChangeAction = 'create' | 'update' | 'delete'

export interface PlannedChange {
  /** unique in a plan: `<kind>/<scope>/<parent/>name` (see changeKey) */
  readonly key: string
  readonly action: ChangeAction
  /** create and update: the whole desired resource; delete: the reference */
  readonly resource: DesiredResource | ResourceRef
  /** why this change is needed, for the plan's human output (e.g. "pods of frontend send with their node's address (SNAT-01)") */
  readonly reason: string
  /** keys of changes in the same plan that must be applied first */
  readonly dependsOn: readonly string[]
}

export function scopeKey(ref: ResourceRef): string {
  return ref.scope.kind === 'global' ? 'global' : `${ref.scope.kind === 'region' ? 'regions' : 'zones'}/${ref.scope.name}`
}

export function changeKey(ref: ResourceRef): string {
  return `${ref.kind}/${scopeKey(ref)}/${ref.parent ? `${ref.parent}/` : ''}${ref.name}`
}
