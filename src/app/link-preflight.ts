/**
 * `xcc link create|delete` preflight (issue 16): before the confirmation and before anything is
 * written, IAM is asked which of the permissions the plan needs the caller holds
 * (projects.testIamPermissions). Any missing: exit 3 naming each with a predefined role that grants
 * it, nothing written. IAM that cannot be asked: a note on stderr, and the writes say what is missing.
 */
import {roleFor} from '../adapters/gcp/errors.js'
import {XccError} from '../core/errors.js'
import type {PlannedChange} from '../core/link/changes.js'
import {permissionsForPlan} from '../core/link/permissions.js'
import {cloud} from './deps.js'

export interface PreflightResult {
  /** the permissions the plan needs */
  readonly needed: readonly string[]
  /** false when IAM could not be asked */
  readonly checked: boolean
}

export async function preflightPermissions(changes: readonly PlannedChange[], project: string, timeoutMs: number, note: (text: string) => void): Promise<PreflightResult> {
  const wanted = permissionsForPlan(changes)
  const needed = wanted.map((w) => w.permission)
  if (needed.length === 0) return {needed, checked: true}
  const {iam} = await cloud.openIam({project, timeoutMs})
  const answer = await iam.testPermissions(needed)
  if ('unavailable' in answer) {
    note(`xcc: could not ask IAM which permissions you hold (${answer.unavailable}); a missing one will stop the run at the first write it refuses`)
    return {needed, checked: false}
  }
  const held = new Set(answer.held)
  const missing = wanted.filter((w) => !held.has(w.permission))
  if (missing.length === 0) return {needed, checked: true}
  const roles = [...new Set(missing.map((m) => roleFor(m.permission)))]
  throw new XccError(`missing ${missing.length === 1 ? 'permission' : 'permissions'} in project ${project}: ${missing.map((m) => m.permission).join(', ')}; nothing was written`, {
    exitCode: 3,
    details: missing.map((m) => `${m.permission} (granted by ${roleFor(m.permission)}), needed by ${m.changes.join(', ')}`),
    hint: `grant ${roles.length === 1 ? 'the role' : 'the roles'}: ${roles.map((r) => `gcloud projects add-iam-policy-binding ${project} --member=user:<you> --role=${r}`).join('; ')}`,
  })
}
