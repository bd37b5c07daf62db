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

  /**
   * `kind`: what the file is — a topology, or the flows of `xcc doctor --flows`; `total`: how many
   * problems were found, when `issues` lists only the first of them
   */
  constructor(file: string, issues: readonly TopologyIssue[], options: {kind?: 'topology' | 'flows'; total?: number} = {}) {
    const kind = options.kind ?? 'topology'
    const total = Math.max(options.total ?? 0, issues.length)
    const shown = issues.slice(0, 50).map((issue) => formatTopologyIssue(file, issue))
    if (total > shown.length) shown.push(`… and ${total - shown.length} more`)
    super(`invalid ${kind === 'flows' ? 'flows file' : 'topology'} ${file}: ${total === 1 ? '1 problem' : `${total} problems`}`, {
      exitCode: 2,
      details: shown,
      hint: kind === 'flows' ? 'fix the file and run again: a YAML list of {from, to, protocol?, expect}, as in README.md (--flows)' : 'fix the file and run again; docs/topology.md describes every field',
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

/** the longest value a message quotes, in characters (`…` included) */
export const MAX_FORMATTED_VALUE = 80

/**
 * A value as a message quotes it: JSON, cut at MAX_FORMATTED_VALUE characters with `…`. It writes
 * only what it prints, so a huge value (a 50 MB string, a list that YAML aliases expand to millions
 * of entries) costs no more than a small one.
 */
export function formatValue(value: unknown, max = MAX_FORMATTED_VALUE): string {
  const out = new BoundedText(max)
  writeJson(out, value, true)
  return out.text()
}

/** a string of at most `max` characters; writing past the end keeps the first max - 1 and adds … */
class BoundedText {
  private parts: string[] = []
  private length = 0
  full = false

  constructor(private readonly max: number) {}

  write(text: string): void {
    if (this.full) return
    if (this.length + text.length <= this.max) {
      this.parts.push(text)
      this.length += text.length
      return
    }
    let end = this.max - 1 - this.length
    // never half a surrogate pair
    if (end > 0 && /[\ud800-\udbff]/.test(text.charAt(end - 1))) end--
    this.parts.push(text.slice(0, end))
    this.length = this.max
    this.full = true
  }

  /** characters that still fit */
  room(): number {
    return this.max - this.length
  }

  text(): string {
    return this.full ? `${this.parts.join('')}…` : this.parts.join('')
  }
}

/** JSON.stringify's output (String() for what it cannot write), written only until `out` is full */
function writeJson(out: BoundedText, value: unknown, top: boolean): void {
  if (out.full) return
  if (typeof value === 'string') {
    // enough of the string for the space left (an escape can take 6 characters per character)
    // a prefix as long as the room left fills it (its JSON is longer still), so the rest is never read
    const room = out.room()
    out.write(JSON.stringify(value.length > room ? value.slice(0, room) : value))
    return
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean') {
    out.write(typeof value === 'number' && !Number.isFinite(value) ? 'null' : String(value))
    return
  }
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function' || value === undefined) {
    out.write(top ? String(value) : 'null')
    return
  }
  if (value instanceof Date) {
    writeJson(out, Number.isNaN(value.getTime()) ? null : value.toISOString(), false)
    return
  }
  if (Array.isArray(value)) {
    out.write('[')
    for (let i = 0; i < value.length && !out.full; i++) {
      if (i > 0) out.write(',')
      writeJson(out, value[i], false)
    }
    out.write(']')
    return
  }
  out.write('{')
  let first = true
  for (const key in value) {
    if (out.full) break
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue
    const item = (value as Record<string, unknown>)[key]
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue
    if (!first) out.write(',')
    first = false
    writeJson(out, key, false)
    out.write(':')
    writeJson(out, item, false)
  }
  out.write('}')
}

/** `['routes', 3, 'nextHopInstance']` → `routes[3].nextHopInstance` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out ? `.${shorten(String(key))}` : shorten(String(key))
  }
  return out
}

/** the longest name (a key of the file, a name it holds) a message quotes whole */
export const MAX_QUOTED_NAME = 64

/** `text`, or its first max - 1 characters and `…` when it is longer */
export function shorten(text: string, max = MAX_QUOTED_NAME): string {
  if (text.length <= max) return text
  let end = max - 1
  if (/[\ud800-\udbff]/.test(text.charAt(end - 1))) end--
  return `${text.slice(0, end)}…`
}

/** The user interrupted a run (Ctrl-C): everything it created has been removed; exit 130. */
export class InterruptedError extends Error {
  constructor(message = 'interrupted') {
    super(message)
    this.name = 'InterruptedError'
  }
}

/**
 * No Google Cloud credentials at all (contracts §4: exit 3, naming the ways to provide them). The
 * live doctor goes on without the cloud facts when this is all that is wrong: the user has not set
 * up cloud access, which is not a failure of it.
 */
export class NoCredentialsError extends XccError {
  constructor(message: string, hint: string) {
    super(message, {exitCode: 3, hint})
    this.name = 'NoCredentialsError'
  }
}
