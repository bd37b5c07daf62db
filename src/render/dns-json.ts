/** The `--json` object of `xcc dns link|unlink` (after schemaVersion); `list` prints its listing as it is. */
import type {DnsApplied} from '../core/dns/apply.js'
import {type DnsPlan, orderedChanges} from '../core/dns/plan.js'
import {manifestOf} from './masquerade-text.js'

export function dnsJson(plan: DnsPlan, applied: DnsApplied | undefined): Record<string, unknown> {
  const changes = applied ? [...applied.changes] : orderedChanges(plan).map((c) => ({kind: c.kind, namespace: c.namespace, name: c.name, action: c.action}))
  return {
    command: plan.verb,
    context: plan.context,
    provider: plan.provider,
    zone: plan.target.zone,
    cluster: plan.target.cluster,
    toContext: plan.target.context,
    domain: plan.target.domain,
    dryRun: applied === undefined,
    ...(plan.warning ? {warning: plan.warning} : {}),
    ...(plan.records ? {records: plan.records.records, skipped: plan.records.skipped} : {}),
    ...(applied?.address ?? plan.address ? {address: applied?.address ?? plan.address} : {}),
    changes,
    ...(applied?.responder ? {responder: {ready: true, detail: applied.responder.detail}} : {}),
    ...(applied ? {} : {manifests: orderedChanges(plan).flatMap((c) => (c.after && c.action !== 'delete' ? [manifestOf(c.after)] : []))}),
  }
}
