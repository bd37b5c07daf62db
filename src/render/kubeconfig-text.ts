/**
 * The text of `xcc kubeconfig generate | list | revoke`: what was written and for whom, when it
 * expires, the verification table, the warnings and the legacy users found (each with the command
 * that replaces it). Tokens are never part of a view.
 */
import {renderVerifyTable, type VerifyRow} from '../core/kubeconfig/verify.js'
import {safeText} from './terminal.js'

export interface GenerateView {
  readonly context: string
  readonly project: string
  readonly projectSource: string
  readonly cluster: {readonly name: string; readonly location: string}
  readonly auth: string
  readonly endpoint: {readonly kind: string; readonly server: string; readonly caSource: string}
  readonly written?: {readonly path: string; readonly merged: boolean; readonly currentContext?: string}
  readonly serviceAccount?: string
  readonly role?: string
  readonly expires?: string
  readonly created: readonly string[]
  readonly verification?: readonly VerifyRow[]
}

export function renderGenerate(view: GenerateView): string {
  const lines: string[] = []
  const where = view.written
    ? view.written.path === '-' ? 'printed on stdout' : `${view.written.merged ? 'merged into' : 'written to'} ${view.written.path}`
    : 'not written'
  lines.push(`kubeconfig for cluster ${view.cluster.name} (${view.cluster.location}, project ${view.project} from ${view.projectSource}): ${where}`)
  lines.push(`  context:   ${view.context}${view.written?.merged ? (view.written.currentContext === view.context ? ' (now current)' : ` (current-context unchanged${view.written.currentContext ? `: ${view.written.currentContext}` : ''})`) : ''}`)
  lines.push(`  server:    ${view.endpoint.server} (${view.endpoint.kind} endpoint; CA: ${view.endpoint.caSource})`)
  lines.push(`  auth:      ${view.auth}${view.serviceAccount ? ` as serviceaccount ${view.serviceAccount}, role ${view.role}` : ''}`)
  lines.push(`  expires:   ${view.expires ?? (view.auth === 'exec' ? 'never (the plugin gets a fresh token for each use)' : 'unknown (at most 1 h)')}`)
  if (view.created.length) lines.push(`  created:   ${view.created.join(', ')}`)
  let out = `${lines.map(safeText).join('\n')}\n`
  if (view.verification) out += `\n${safeText(renderVerifyTable(view.verification))}`
  return out
}

export interface ListView {
  readonly cluster: string
  readonly location: string
  readonly entries: ReadonlyArray<{readonly serviceAccount: string; readonly role: string; readonly scope: string; readonly expires?: string; readonly lastUsed?: string}>
}

export function renderList(view: ListView): string {
  if (view.entries.length === 0) return `no kubeconfigs issued by xcc on cluster ${safeText(view.cluster)} (${safeText(view.location)})\n`
  const rows = [['SERVICE ACCOUNT', 'ROLE', 'SCOPE', 'EXPIRES', 'LAST USED'], ...view.entries.map((e) => [e.serviceAccount, e.role, e.scope, e.expires ?? 'unknown', e.lastUsed ?? (e.expires === 'never' ? 'never' : '-')])]
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return `${rows.map((r) => safeText(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))).join('\n')}\n`
}
