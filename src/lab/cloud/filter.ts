/**
 * The Compute list filter as gcloud sends it (gcp-api-emulation.md §2.5, §3.6): one term
 * `FIELD eq|ne VALUE`, or terms in parentheses one after the other (all must hold). A string
 * VALUE is an RE2 regular expression anchored to the whole field value; gcloud writes
 * `name eq ".*\bnet\-a\b.*"` for `--filter=name=net-a`, and its `\-` is why the expression is
 * compiled without the `u` flag. A field is a dotted path; on a list (`tags.items`) a term holds
 * when any element matches. Also accepted, because the Node client passes whatever xcc writes:
 * `=` and `!=` for exact equality (AIP-160), and unquoted values.
 */
import {invalidField} from './errors.js'

interface Term {
  readonly field: readonly string[]
  readonly op: 'eq' | 'ne' | '=' | '!='
  readonly value: string
}

export type Filter = (resource: unknown) => boolean

const TERM = /^\s*([A-Za-z_][\w.]*)\s+(eq|ne)\s+(.+?)\s*$|^\s*([A-Za-z_][\w.]*)\s*(!=|=)\s*(.+?)\s*$/

function unquote(text: string): string {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) return text.slice(1, -1).replace(/\\"/g, '"')
  if (text.length >= 2 && text.startsWith("'") && text.endsWith("'")) return text.slice(1, -1)
  return text
}

function parseTerm(text: string, whole: string): Term {
  const m = TERM.exec(text)
  if (!m) throw invalidField('filter', whole, 'Invalid list filter expression.')
  const [field, op, value] = m[1] !== undefined ? [m[1], m[2], m[3]] : [m[4], m[5], m[6]]
  return {field: (field as string).split('.'), op: op as Term['op'], value: unquote(value as string)}
}

/** splits `(a)(b) (c)` (an `AND` between groups allowed) into its terms; a filter without parentheses is one term */
function splitTerms(text: string): string[] {
  const trimmed = text.trim()
  if (!trimmed.startsWith('(')) return [trimmed]
  const bad = (): never => {
    throw invalidField('filter', text, 'Invalid list filter expression.')
  }
  const terms: string[] = []
  let i = 0
  while (i < trimmed.length) {
    const c = trimmed[i] as string
    if (/\s/.test(c)) {
      i++
      continue
    }
    if (/^AND[\s(]/i.test(trimmed.slice(i, i + 4)) && terms.length > 0) {
      i += 3
      continue
    }
    if (c !== '(') bad()
    let depth = 0
    let quoted = false
    let j = i
    for (; j < trimmed.length; j++) {
      const d = trimmed[j]
      if (d === '\\') {
        j++
        continue
      }
      if (d === '"') quoted = !quoted
      if (quoted) continue
      if (d === '(') depth++
      else if (d === ')' && --depth === 0) break
    }
    if (depth !== 0) bad()
    terms.push(trimmed.slice(i + 1, j))
    i = j + 1
  }
  return terms
}

function valuesAt(resource: unknown, path: readonly string[]): string[] {
  let current: unknown[] = [resource]
  for (const key of path) {
    const next: unknown[] = []
    for (const value of current) {
      if (value === null || typeof value !== 'object') continue
      const child = (value as Record<string, unknown>)[key]
      if (Array.isArray(child)) next.push(...child)
      else if (child !== undefined) next.push(child)
    }
    current = next
  }
  return current.filter((v) => v === null || typeof v !== 'object').map((v) => String(v))
}

/** The filter as a predicate on the API view of a resource; undefined or empty: everything. */
export function parseFilter(text: string | null | undefined): Filter {
  if (!text || text.trim() === '') return () => true
  const terms = splitTerms(text).map((t) => parseTerm(t, text))
  const tests = terms.map((term) => {
    let matches: (value: string) => boolean
    if (term.op === 'eq' || term.op === 'ne') {
      let pattern: RegExp
      try {
        pattern = new RegExp(`^(?:${term.value})$`)
      } catch {
        throw invalidField('filter', text, `Invalid regular expression: ${term.value}`)
      }
      matches = (value) => pattern.test(value)
    } else matches = (value) => value === term.value
    const negated = term.op === 'ne' || term.op === '!='
    return (resource: unknown): boolean => {
      const any = valuesAt(resource, term.field).some(matches)
      return negated ? !any : any
    }
  })
  return (resource) => tests.every((test) => test(resource))
}
