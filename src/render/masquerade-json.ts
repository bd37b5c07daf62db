/** The `--json` object of `xcc masquerade add|remove` (after schemaVersion). */
import type {WriteResult} from '../core/masquerade/apply.js'
import {manifestOf} from './masquerade-text.js'

export function masqueradeJson(command: 'add' | 'remove', result: WriteResult): Record<string, unknown> {
  const {plan} = result
  return {
    command,
    context: plan.context,
    mode: plan.mode,
    why: plan.why,
    dryRun: result.applied === undefined,
    cidrs: plan.cidrs,
    alreadyMasqueraded: plan.alreadyMasqueraded,
    changes: plan.changes.map((c) => ({kind: c.kind, namespace: c.namespace, name: c.name, action: c.action})),
    manifests: plan.changes.flatMap((c) => (c.after && c.action !== 'delete' ? [manifestOf(c.after)] : [])),
    ...(result.applied ? {applied: result.applied} : {}),
  }
}
