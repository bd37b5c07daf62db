/**
 * Label and field selectors in their query-string form (`app=web,tier!=db,env in (a,b),!legacy`,
 * `metadata.name=x,spec.nodeName=`) and label selectors in their object form
 * (`matchLabels` / `matchExpressions`).
 */
import {badRequest} from './errors.js'
import type {KubeObject, LabelSelector} from './types.js'
import {isPlainObject} from './types.js'

export type LabelOperator = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt'

export interface LabelRequirement {
  readonly key: string
  readonly operator: LabelOperator
  readonly values: readonly string[]
}

const KEY = String.raw`[A-Za-z0-9](?:[A-Za-z0-9_./-]*[A-Za-z0-9])?`
const VALUE = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)?`
const EXISTS = new RegExp(`^(${KEY})$`)
const NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`)
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`)
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=|>|<)\\s*(${VALUE})$`)
const VALUE_ONLY = new RegExp(`^${VALUE}$`)

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '(') depth++
    else if (c === ')') depth--
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i))
      start = i + 1
    }
  }
  parts.push(text.slice(start))
  return parts
}

export function parseLabelSelector(text: string | null | undefined): LabelRequirement[] {
  if (!text || text.trim() === '') return []
  return splitTopLevel(text).map((raw) => {
    const part = raw.trim()
    let m = NOT_EXISTS.exec(part)
    if (m) return {key: m[1]!, operator: '!exists', values: []}
    m = EXISTS.exec(part)
    if (m) return {key: m[1]!, operator: 'exists', values: []}
    m = SET.exec(part)
    if (m) {
      const values = m[3]!.split(',').map((v) => v.trim())
      if (values.some((v) => !VALUE_ONLY.test(v))) throw badRequest(`unable to parse requirement: invalid label value in "${part}"`)
      return {key: m[1]!, operator: m[2] as 'in' | 'notin', values}
    }
    m = EQUALITY.exec(part)
    if (m) {
      const op = m[2]!
      const operator: LabelOperator = op === '!=' ? '!=' : op === '>' ? 'gt' : op === '<' ? 'lt' : '='
      if ((operator === 'gt' || operator === 'lt') && !/^-?\d+$/.test(m[3]!)) {
        throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer in "${part}"`)
      }
      return {key: m[1]!, operator, values: [m[3]!]}
    }
    throw badRequest(`unable to parse requirement: "${part}" is not a valid label selector term`)
  })
}

export function matchesLabels(requirements: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const own = labels ?? {}
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(own, r.key)
    const value = has ? own[r.key]! : undefined
    switch (r.operator) {
      case 'exists':
        return has
      case '!exists':
        return !has
      case '=':
        return has && value === r.values[0]
      case '!=':
        return !has || value !== r.values[0]
      case 'in':
        return has && r.values.includes(value!)
      case 'notin':
        return !has || !r.values.includes(value!)
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(value!)) return false
        const n = Number(value)
        const bound = Number(r.values[0])
        return r.operator === 'gt' ? n > bound : n < bound
      }
    }
    return false
  })
}

/** The object form used in DaemonSet specs. An empty selector matches everything; null matches nothing. */
export function labelSelectorRequirements(selector: LabelSelector | null | undefined): LabelRequirement[] | null {
  if (!selector) return null
  const requirements: LabelRequirement[] = []
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) requirements.push({key, operator: '=', values: [value]})
  for (const e of selector.matchExpressions ?? []) {
    const operator: LabelOperator = e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : '!exists'
    requirements.push({key: e.key, operator, values: e.values ?? []})
  }
  return requirements
}

export function formatLabelSelector(selector: LabelSelector | null | undefined): string {
  const requirements = labelSelectorRequirements(selector) ?? []
  return requirements
    .map((r) => {
      if (r.operator === 'exists') return r.key
      if (r.operator === '!exists') return `!${r.key}`
      if (r.operator === 'in' || r.operator === 'notin') return `${r.key} ${r.operator} (${r.values.join(',')})`
      return `${r.key}${r.operator}${r.values[0]}`
    })
    .join(',')
}

export interface FieldRequirement {
  readonly path: string
  readonly equal: boolean
  readonly value: string
}

/** Splits on unescaped `sep`; the field selector grammar escapes `\`, `,` and `=` with a backslash. */
function splitEscaped(text: string, sep: string): string[] {
  const parts: string[] = []
  let current = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1]
      i++
    } else if (c === sep) {
      parts.push(current)
      current = ''
    } else current += c
  }
  parts.push(current)
  return parts
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1')
}

export function parseFieldSelector(text: string | null | undefined): FieldRequirement[] {
  if (!text || text.trim() === '') return []
  return splitEscaped(text, ',').map((raw) => {
    const part = raw.trim()
    const m = /^([A-Za-z0-9_.[\]'"-]+?)\s*(==|!=|=)(.*)$/.exec(part)
    if (!m) throw badRequest(`invalid selector: '${part}'; can't understand '${part}'`)
    return {path: m[1]!, equal: m[2] !== '!=', value: unescape(m[3]!.trim())}
  })
}

/** The value of a dotted field path as a selector compares it: missing is "", scalars as strings. */
export function fieldValue(object: KubeObject, path: string): string {
  let current: unknown = object
  for (const segment of path.split('.')) {
    if (!isPlainObject(current)) return ''
    current = current[segment]
  }
  if (current === undefined || current === null) return ''
  if (typeof current === 'object') return JSON.stringify(current)
  return String(current)
}

export function matchesFields(requirements: readonly FieldRequirement[], object: KubeObject): boolean {
  return requirements.every((r) => (fieldValue(object, r.path) === r.value) === r.equal)
}

export interface Selector {
  readonly labels: readonly LabelRequirement[]
  readonly fields: readonly FieldRequirement[]
}

export function parseSelector(labelSelector?: string | null, fieldSelector?: string | null): Selector {
  return {labels: parseLabelSelector(labelSelector), fields: parseFieldSelector(fieldSelector)}
}

export function matchesSelector(selector: Selector, object: KubeObject): boolean {
  return matchesLabels(selector.labels, object.metadata.labels) && matchesFields(selector.fields, object)
}

export const EVERYTHING: Selector = {labels: [], fields: []}
