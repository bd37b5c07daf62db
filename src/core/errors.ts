/**
 * Two kinds of error (design.md habit 10): a user-fixable XccError carries a message, a hint
 * and an exit code and never prints a stack; anything else is a bug (exit 4).
 */

/** contracts.md §2: 2 bad input or usage, 3 the environment failed */
export type UserExitCode = 2 | 3

export class XccError extends Error {
  readonly exitCode: UserExitCode
  readonly hint?: string
  readonly details: readonly string[]

  constructor(message: string, options: {exitCode?: UserExitCode; hint?: string; details?: readonly string[]} = {}) {
    super(message)
    this.name = 'XccError'
    this.exitCode = options.exitCode ?? 2
    this.hint = options.hint
    this.details = options.details ?? []
  }
}

/**
 * What became of a request to an outside API that failed — for a write, whether it may have
 * taken effect all the same:
 * - `answered`: the server answered with an error status (a 5xx may still have been carried
 *   out; a 409 says the object exists or changed meanwhile; the rest were refused);
 * - `unanswered`: the request was sent but no answer came (a timeout, a connection reset): the
 *   server may have carried it out;
 * - `unsent`: it never reached the server (connection refused, DNS, TLS, credentials).
 */
export type RequestFate =
  | {readonly kind: 'answered'; readonly status: number; readonly reason?: string}
  | {readonly kind: 'unanswered'}
  | {readonly kind: 'unsent'}

/** A failed API request (exit 3), with what became of it. */
export class ApiError extends XccError {
  readonly fate: RequestFate

  constructor(message: string, fate: RequestFate, options: {hint?: string; details?: readonly string[]} = {}) {
    super(message, {...options, exitCode: 3})
    this.name = 'ApiError'
    this.fate = fate
  }
}

/** a write that failed this way may have been carried out: its outcome is known only by reading the object again */
export function mayHaveApplied(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false
  const {fate} = error
  return fate.kind === 'unanswered' || (fate.kind === 'answered' && fate.status >= 500)
}

/** One problem in a topology file: where (YAML path), what, and the offending value. */
export interface TopologyIssue {
  /** YAML path such as `routes[3].nextHopInstance`; empty for the document itself */
  readonly path: string
  readonly message: string
  /** present when the problem is about a value the file holds */
  readonly value?: unknown
  readonly line?: number
  readonly column?: number
}

export class TopologyError extends XccError {
  readonly file: string
  readonly issues: readonly TopologyIssue[]

  constructor(file: string, issues: readonly TopologyIssue[]) {
    const shown = issues.slice(0, 50).map((issue) => formatTopologyIssue(file, issue))
    if (issues.length > shown.length) shown.push(`… and ${issues.length - shown.length} more`)
    super(`invalid topology ${file}: ${issues.length === 1 ? '1 problem' : `${issues.length} problems`}`, {
      exitCode: 2,
      details: shown,
      hint: 'fix the file and run again; docs/topology.md describes every field',
    })
    this.name = 'TopologyError'
    this.file = file
    this.issues = issues
  }
}

export function formatTopologyIssue(file: string, issue: TopologyIssue): string {
  const where = issue.line === undefined ? file : `${file}:${issue.line}${issue.column === undefined ? '' : `:${issue.column}`}`
  const path = issue.path ? ` ${issue.path}:` : ''
  const value = issue.value === undefined ? '' : ` (value: ${formatValue(issue.value)})`
  return `${where}:${path} ${issue.message}${value}`
}

export function formatValue(value: unknown): string {
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = String(value)
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** `['routes', 3, 'nextHopInstance']` → `routes[3].nextHopInstance` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out ? `.${String(key)}` : String(key)
  }
  return out
}

/** The user interrupted a run (Ctrl-C): everything it created has been removed; exit 130. */
export class InterruptedError extends Error {
  constructor(message = 'interrupted') {
    super(message)
    this.name = 'InterruptedError'
  }
}
