/**
 * What `generate` proves with the new kubeconfig before it says it works: the server answers
 * `/version`, a SelfSubjectReview says who the file authenticates as, a SelfSubjectAccessReview
 * per rule of the role says the grant is in place (and one request the role must be refused is
 * refused). The questions and the table are built here; the adapter asks them.
 */
import {XccError} from '../errors.js'
import type {AccessAnswer, AccessQuestion} from '../ports/kube.js'
import type {PolicyRule, RoleChoice} from './roles.js'

export interface AccessCheck {
  readonly question: AccessQuestion
  /** whether the role must be allowed (true) or refused (false) */
  readonly expect: boolean
  readonly label: string
}

export interface VerifyRow {
  readonly check: string
  readonly ok: boolean
  readonly detail: string
}

function describeQuestion(q: AccessQuestion): string {
  const resource = `${q.resource}${q.subresource ? `/${q.subresource}` : ''}${q.group ? `.${q.group}` : ''}${q.name ? ` ${q.name}` : ''}`
  return `${q.verb} ${resource} ${q.namespace === undefined ? '(cluster-wide)' : `in ${q.namespace}`}`
}

function ruleQuestions(r: PolicyRule, namespace: string | undefined): AccessQuestion[] {
  const group = r.apiGroups?.[0] ?? ''
  const name = r.resourceNames?.[0]
  return (r.resources ?? []).flatMap((full) => {
    const [resource = '*', subresource] = full.split('/')
    return r.verbs.map((verb) => ({verb, resource, ...(subresource ? {subresource} : {}), ...(group ? {group} : {}), ...(namespace === undefined ? {} : {namespace}), ...(name ? {name} : {})}))
  })
}

/**
 * The access questions: each verb on each resource of each rule (in the rule's first API group,
 * on its first resourceName if it names some), in each namespace of --namespace (else
 * cluster-wide); then the request the role must be refused. Rules of nonResourceURLs are not
 * asked (a SelfSubjectAccessReview of a path is not in the port).
 */
export function accessChecks(role: RoleChoice, namespaces: readonly string[]): AccessCheck[] {
  const scopes: Array<string | undefined> = namespaces.length > 0 ? [...namespaces] : [undefined]
  const out: AccessCheck[] = []
  for (const scope of scopes) {
    for (const r of role.rules) for (const q of ruleQuestions(r, scope)) out.push({question: q, expect: true, label: `may ${describeQuestion(q)}`})
  }
  if (role.mustNot) {
    const q: AccessQuestion = {verb: role.mustNot.verb, resource: role.mustNot.resource, ...(role.mustNot.group ? {group: role.mustNot.group} : {}), ...(scopes[0] === undefined ? {} : {namespace: scopes[0]})}
    out.push({question: q, expect: false, label: `may not ${describeQuestion(q)}`})
  }
  return out
}

export interface VerifyInput {
  readonly version?: {readonly ok: true; readonly gitVersion: string} | {readonly ok: false; readonly error: string}
  readonly whoami?: {readonly ok: true; readonly username: string; readonly groups: readonly string[]} | {readonly ok: false; readonly error: string}
  /** the expected user (service-account mode) */
  readonly expectUser?: string
  readonly access: ReadonlyArray<{readonly check: AccessCheck; readonly answer?: AccessAnswer; readonly error?: string}>
}

export function verifyRows(input: VerifyInput): VerifyRow[] {
  const rows: VerifyRow[] = []
  if (input.version) rows.push(input.version.ok ? {check: 'server answers /version', ok: true, detail: input.version.gitVersion} : {check: 'server answers /version', ok: false, detail: input.version.error})
  if (input.whoami) {
    if (!input.whoami.ok) rows.push({check: 'who am I (SelfSubjectReview)', ok: false, detail: input.whoami.error})
    else {
      const same = input.expectUser === undefined || input.whoami.username === input.expectUser
      rows.push({check: 'who am I (SelfSubjectReview)', ok: same, detail: same ? input.whoami.username : `${input.whoami.username}, expected ${input.expectUser}`})
    }
  }
  for (const a of input.access) {
    if (a.error !== undefined || !a.answer) rows.push({check: a.check.label, ok: false, detail: a.error ?? 'no answer'})
    else {
      const ok = a.answer.allowed === a.check.expect
      rows.push({check: a.check.label, ok, detail: a.answer.allowed ? (ok ? 'allowed' : 'allowed, but must be refused') : ok ? 'refused, as it must be' : `refused${a.answer.reason ? `: ${a.answer.reason}` : ''}`})
    }
  }
  return rows
}

/** the table, one row a line (`ok`/`FAIL`, the check, what was seen) */
export function renderVerifyTable(rows: readonly VerifyRow[]): string {
  const width = Math.max(5, ...rows.map((r) => r.check.length))
  const lines = [`${'CHECK'.padEnd(width)}  RESULT  DETAIL`, ...rows.map((r) => `${r.check.padEnd(width)}  ${(r.ok ? 'ok' : 'FAIL').padEnd(6)}  ${r.detail}`)]
  return `${lines.join('\n')}\n`
}

/** the `exp` of a JWT (epoch seconds), undefined for an opaque token */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    const claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as {exp?: unknown}
    return typeof claims.exp === 'number' ? claims.exp : undefined
  } catch {
    return undefined
  }
}

/** `24h`, `90m`, `3600s`, `2d` → seconds; `never` → undefined. TokenRequest's minimum is 10 minutes. */
export function parseTtl(text: string): number | 'never' {
  if (text === 'never') return 'never'
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim())
  if (!m) throw new XccError(`--ttl ${text}: not a duration`, {exitCode: 2, hint: 'write it like 1h, 90m, 24h or 7d, or never'})
  const seconds = Number(m[1]) * {s: 1, m: 60, h: 3600, d: 86400}[m[2] as 's' | 'm' | 'h' | 'd']
  if (seconds < 600) throw new XccError(`--ttl ${text}: a token lasts at least 10 minutes`, {exitCode: 2, hint: 'Kubernetes refuses TokenRequests shorter than 10m'})
  if (seconds > 366 * 86400) throw new XccError(`--ttl ${text}: more than a year`, {exitCode: 2, hint: 'for a token that never expires, --ttl never'})
  return seconds
}

