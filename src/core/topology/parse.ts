/**
 * Text → Topology. Pure: the caller reads the file. YAML goes through js-yaml (the fastest
 * parser measured on large snapshots: 22 MB in ~0.6 s), JSON through JSON.parse plus a scan for
 * duplicated keys (which YAML rejects and JSON.parse would silently merge).
 * Every problem becomes a TopologyIssue naming the YAML path and the value.
 */
import {CORE_SCHEMA, type LoadOptions, loadAll} from 'js-yaml'
import type {z} from 'zod'

import {TopologyError, type TopologyIssue, formatPath, shorten} from '../errors.js'
import {describeBounds, documentBounds} from '../document-bounds.js'
import {scanJson} from './json-keys.js'
import {TOPOLOGY_LIMITS} from './limits.js'
import {buildModel} from './model.js'
import type {Model} from './model-types.js'
import {knownFieldsAt, topologySchema} from './schema.js'
import {validateTopology} from './validate.js'

/** how many of the schema's issues are described (the rest are counted); TopologyError shows the first 50 */
const DESCRIBED_SCHEMA_ISSUES = 1000
/** how many unknown keys of one mapping are described (the rest are counted in one issue) */
const DESCRIBED_UNKNOWN_KEYS = 50

export type TopologyFormat = 'yaml' | 'json'

export function detectFormat(file: string, text: string): TopologyFormat {
  if (/\.json$/i.test(file)) return 'json'
  if (/\.ya?ml$/i.test(file)) return 'yaml'
  return text.trimStart().startsWith('{') ? 'json' : 'yaml'
}

/**
 * Parses a topology file's text, checks the schema and the semantics, and derives the model
 * (the loader's facts, computed once). Throws TopologyError listing every problem.
 */
export function parseTopology(text: string, file: string): Model {
  return topologyFromDocument(parseDocument(text, file), file)
}

/**
 * A topology document already in memory (plain data, as YAML or JSON would give it) → Model: the
 * schema, the semantics and the model, with the problems named as parseTopology names them.
 */
export function topologyFromDocument(raw: unknown, file: string): Model {
  const parsed = topologySchema.safeParse(raw)
  if (!parsed.success) {
    // a list of a million wrong entries is a million issues: describe the first ones, count the rest
    const {issues} = parsed.error
    const described = issues.slice(0, DESCRIBED_SCHEMA_ISSUES).flatMap((issue) => describeIssue(issue, raw))
    // the "… and N more unknown fields" lines stand for N problems each
    const counted = described.reduce((n, issue) => n + (issue.more ?? 1), 0)
    throw new TopologyError(file, described.map(({more: _, ...issue}) => issue), {total: counted + Math.max(0, issues.length - DESCRIBED_SCHEMA_ISSUES)})
  }
  const issues = validateTopology(parsed.data)
  if (issues.length > 0) throw new TopologyError(file, issues)
  const {model, issues: ruleIssues} = buildModel(parsed.data)
  if (ruleIssues.length > 0) throw new TopologyError(file, ruleIssues)
  return model
}

function parseDocument(text: string, file: string): unknown {
  const {maxBytes, maxDepth} = TOPOLOGY_LIMITS
  // the caller reads at most maxBytes bytes; a text given otherwise is held to as many characters
  if (text.length > maxBytes) {
    throw new TopologyError(file, [{path: '', message: `the file is larger than ${maxBytes / 2 ** 20} MiB (${text.length.toLocaleString('en-US')} characters); xcc reads topology files up to ${maxBytes / 2 ** 20} MiB`}])
  }
  const format = detectFormat(file, text)
  let raw: unknown
  if (format === 'json') {
    if (text.trim() === '') throw new TopologyError(file, [{path: '', message: 'the file is empty'}])
    // before JSON.parse, which would build every level the text asks for
    const scan = scanJson(text, maxDepth)
    if (scan.tooDeep) throw new TopologyError(file, [{path: '', message: boundsMessage('depth'), ...scan.tooDeep}])
    try {
      raw = JSON.parse(text)
    } catch (error) {
      throw new TopologyError(file, [{path: '', message: `malformed JSON: ${shorten((error as Error).message, 200)}`, ...jsonPosition(text, error as Error)}])
    }
    // JSON.parse keeps the last of two equal keys; reject them as the YAML parser does.
    if (scan.duplicates.length > 0) {
      throw new TopologyError(file, scan.duplicates.map((d) => ({path: formatPath(d.path), message: `malformed JSON: duplicated key "${shorten(d.key)}"`, line: d.line, column: d.column})))
    }
  } else {
    // Like kubectl, empty documents (a leading or trailing `---`) are ignored; a second Topology is not.
    const documents: unknown[] = []
    try {
      // maxDepth: js-yaml 4.3's nesting limit (not in @types/js-yaml), set to ours
      const options: LoadOptions & {maxDepth: number} = {schema: CORE_SCHEMA, filename: file, maxDepth}
      loadAll(text, (document) => documents.push(document), options)
    } catch (error) {
      const e = error as {reason?: string; message: string; mark?: {line: number; column: number}}
      const reason = e.reason ?? e.message.split('\n')[0] ?? ''
      throw new TopologyError(file, [{
        path: '',
        message: reason.startsWith('nesting exceeded maxDepth') ? boundsMessage('depth') : `malformed YAML: ${shorten(reason, 200)}`,
        line: e.mark ? e.mark.line + 1 : undefined,
        column: e.mark ? e.mark.column + 1 : undefined,
      }])
    }
    const present = documents.filter((document) => document !== null && document !== undefined)
    if (present.length > 1) {
      throw new TopologyError(file, [{path: '', message: `expected a single document, found ${present.length} (separated by ---); a file holds one Topology`}])
    }
    raw = present[0]
  }
  if (raw === null || raw === undefined) throw new TopologyError(file, [{path: '', message: 'the file is empty'}])
  // YAML aliases can make a small text a huge document: nothing walks it before this check
  const bounds = documentBounds(raw, TOPOLOGY_LIMITS)
  if (bounds) throw new TopologyError(file, [{path: bounds.path, message: boundsMessage(bounds.limit)}])
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TopologyError(file, [{path: '', message: 'expected a Topology object (apiVersion: xcc/v1, kind: Topology)', value: raw}])
  }
  return raw
}

function boundsMessage(limit: 'depth' | 'values'): string {
  const {maxDepth, maxValues} = TOPOLOGY_LIMITS
  const most = limit === 'depth' ? `a topology nests fewer than 10 levels, and xcc reads at most ${maxDepth}` : `xcc reads at most ${maxValues.toLocaleString('en-US')}`
  return `${describeBounds(limit, TOPOLOGY_LIMITS)}; ${most}`
}

function jsonPosition(text: string, error: Error): {line?: number; column?: number} {
  const m = /position (\d+)/.exec(error.message)
  if (!m) return {}
  const offset = Number(m[1])
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  return {line, column: offset - before.lastIndexOf('\n')}
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = raw
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined
    current = (current as Record<PropertyKey, unknown>)[key]
  }
  return current
}

/** a described issue; `more`: how many problems a summary line stands for */
type Described = TopologyIssue & {readonly more?: number}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): Described[] {
  const path = issue.path as PropertyKey[]
  const value = valueAt(raw, path)
  switch (issue.code) {
    case 'unrecognized_keys': {
      // a mapping of a million unknown keys is one issue: describe the first keys, count the rest
      const more = issue.keys.length - DESCRIBED_UNKNOWN_KEYS
      const described = issue.keys.slice(0, DESCRIBED_UNKNOWN_KEYS).map((key) => {
        const known = knownFieldsAt(path.filter((k): k is string | number => typeof k !== 'symbol'))
        const guess = closest(key, known)
        return {
          path: formatPath([...path, key]),
          message: `unknown field "${shorten(key)}"${guess ? ` (did you mean "${guess}"?)` : known.length ? ` (known fields: ${known.join(', ')})` : ''}`,
        }
      })
      return more > 0 ? [...described, {path: formatPath(path), message: `… and ${more} more unknown fields`, more}] : described
    }
    case 'invalid_type': {
      if (value === undefined) return [{path: formatPath(path), message: 'is required'}]
      // zod's own messages start "Invalid input"; the schema's say what a field expects ("must be a CIDR string …").
      const expected = issue.message.startsWith('Invalid input') ? undefined : issue.message
      if (issue.expected === 'int' && typeof value === 'number') return [{path: formatPath(path), message: expected ?? 'must be an integer', value}]
      return [{path: formatPath(path), message: `${expected ?? `must be ${article(issue.expected)}`}, not ${describeType(value)}`, value}]
    }
    case 'invalid_value':
      return [{path: formatPath(path), message: `must be ${issue.values.length === 1 ? String(issue.values[0]) : `one of ${issue.values.join(', ')}`}`, value}]
    case 'invalid_union': {
      // Report the branch that got furthest (the one whose own keys were recognised), else the union's message.
      // An empty mapping gets no branch at all: each would only say that its own key is missing.
      if (isEmptyMapping(value)) return [{path: formatPath(path), message: issue.message, value}]
      // A branch that is not a mapping at all (a CIDR string beside {ipCidrRange, …}) did not get anywhere either.
      const offRoot = (i: z.core.$ZodIssue): boolean => i.path.length === 0 && (i.code === 'unrecognized_keys' || i.code === 'invalid_type')
      const branches = (issue.errors ?? []).filter((branch) => branch.length > 0 && !branch.some(offRoot))
      const best = branches.sort((a, b) => a.length - b.length)[0]
      if (best && isMapping(value)) {
        return best.flatMap((inner) => describeIssue({...inner, path: [...path, ...inner.path]} as z.core.$ZodIssue, raw))
      }
      return [{path: formatPath(path), message: issue.message, value}]
    }
    case 'invalid_key': {
      // a record key that fails its pattern (labels, metadata): say what a key must be, and which key
      const inner = issue.issues[0]?.message
      return [{path: formatPath(path), message: inner && !inner.startsWith('Invalid') ? inner : issue.message, value: path.at(-1)}]
    }
    default:
      return [{path: formatPath(path), message: issue.message, value}]
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function isEmptyMapping(value: unknown): boolean {
  return isMapping(value) && Object.keys(value).length === 0
}

function article(type: string): string {
  if (type === 'array') return 'a list'
  if (type === 'object') return 'a mapping'
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`
}

function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  return article(typeof value)
}

/** the known field within edit distance 2 of `key`, if any */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const candidate of known) {
    // the distance is at least the difference in length (and a huge key costs nothing)
    if (Math.abs(key.length - candidate.length) >= bestDistance) continue
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      bestDistance = d
      best = candidate
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1))
      previous = current
    }
  }
  return row[b.length] as number
}
