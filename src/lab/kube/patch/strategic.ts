/**
 * Strategic merge patch for the built-in types. Maps merge recursively and `null` deletes a key,
 * as in a JSON merge patch; lists are replaced unless the type's schema gives them a merge key
 * (lists of maps merged element by element, e.g. containers by `name`) or a merge strategy
 * (lists of scalars merged as sets, e.g. finalizers). Directives:
 * - `$patch: replace` in a map replaces the map; in a list element, replaces the whole list;
 * - `$patch: delete` in a map deletes it; in a list element, deletes the element with that key;
 * - `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>` and `$retainKeys`.
 */
import {badRequest} from '../errors.js'
import {isPlainObject, jsonEqual} from '../types.js'

/** How the fields of one map type patch. Fields not listed: maps merge, lists replace. */
export interface PatchSchema {
  readonly [field: string]: FieldPatch
}

export interface FieldPatch {
  /** lists of maps: merge elements that share this key */
  readonly mergeKey?: string
  /** lists of scalars: merge as a set instead of replacing */
  readonly mergeScalars?: boolean
  /** the schema of the map, or of each list element */
  readonly schema?: PatchSchema
}

const DIRECTIVE = '$patch'
const SET_ORDER = '$setElementOrder/'
const DELETE_FROM = '$deleteFromPrimitiveList/'
const RETAIN_KEYS = '$retainKeys'

/** Removes directives from a value that is inserted as is (no original to merge with). */
function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => !(isPlainObject(v) && v[DIRECTIVE] !== undefined && Object.keys(v).length === 1)).map(stripDirectives)
  if (!isPlainObject(value)) return value
  const result: Record<string, unknown> = {}
  for (const [key, child] of Object.entries(value)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(SET_ORDER) || key.startsWith(DELETE_FROM) || key === '__proto__') continue
    if (child === null) continue
    result[key] = stripDirectives(child)
  }
  return result
}

export function applyStrategicMergePatch(original: unknown, patch: unknown, schema: PatchSchema = {}): unknown {
  if (!isPlainObject(patch)) throw badRequest('a strategic merge patch must be a JSON object')
  const merged = mergeMap(isPlainObject(original) ? original : {}, patch, schema)
  return merged === undefined ? {} : merged
}

function mergeMap(original: Record<string, unknown>, patch: Record<string, unknown>, schema: PatchSchema): Record<string, unknown> | undefined {
  const directive = patch[DIRECTIVE]
  if (directive === 'delete') return undefined
  if (directive === 'replace') return stripDirectives(patch) as Record<string, unknown>
  if (directive !== undefined) throw badRequest(`unknown patch directive "${String(directive)}" in a map`)

  const result: Record<string, unknown> = {...original}
  const orders: Array<[string, unknown]> = []
  const deletions: Array<[string, unknown]> = []
  for (const [key, value] of Object.entries(patch)) {
    if (key === RETAIN_KEYS || key === '__proto__') continue
    if (key.startsWith(SET_ORDER)) {
      orders.push([key.slice(SET_ORDER.length), value])
      continue
    }
    if (key.startsWith(DELETE_FROM)) {
      deletions.push([key.slice(DELETE_FROM.length), value])
      continue
    }
    if (value === null) {
      delete result[key]
      continue
    }
    const field = schema[key]
    if (isPlainObject(value)) {
      const merged = mergeMap(isPlainObject(result[key]) ? result[key] : {}, value, field?.schema ?? {})
      if (merged === undefined) delete result[key]
      else result[key] = merged
    } else if (Array.isArray(value)) {
      result[key] = field && (field.mergeKey || field.mergeScalars) ? mergeList(Array.isArray(result[key]) ? result[key] : [], value, field) : stripDirectives(value)
    } else result[key] = value
  }
  for (const [key, values] of deletions) {
    if (!Array.isArray(values)) throw badRequest(`${DELETE_FROM}${key} must be a list`)
    if (Array.isArray(result[key])) result[key] = (result[key] as unknown[]).filter((v) => !values.some((d) => jsonEqual(d, v)))
  }
  for (const [key, order] of orders) {
    if (!Array.isArray(order)) throw badRequest(`${SET_ORDER}${key} must be a list`)
    if (Array.isArray(result[key])) result[key] = reorder(result[key] as unknown[], order, schema[key]?.mergeKey)
  }
  const retain = patch[RETAIN_KEYS]
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw badRequest(`${RETAIN_KEYS} must be a list of field names`)
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key]
  }
  return result
}

function keyOf(item: unknown, mergeKey: string | undefined): unknown {
  return mergeKey && isPlainObject(item) ? item[mergeKey] : item
}

function mergeList(original: readonly unknown[], patch: readonly unknown[], field: FieldPatch): unknown[] {
  if (patch.some((item) => isPlainObject(item) && item[DIRECTIVE] === 'replace')) {
    return patch.filter((item) => !(isPlainObject(item) && item[DIRECTIVE] === 'replace')).map(stripDirectives)
  }
  const mergeKey = field.mergeKey
  const result = [...original]
  for (const item of patch) {
    if (!mergeKey || !isPlainObject(item)) {
      if (!result.some((existing) => jsonEqual(existing, item))) result.push(item)
      continue
    }
    const key = item[mergeKey]
    if (key === undefined) throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`)
    const index = result.findIndex((existing) => jsonEqual(keyOf(existing, mergeKey), key))
    if (item[DIRECTIVE] === 'delete') {
      if (index >= 0) result.splice(index, 1)
      continue
    }
    const base = index >= 0 && isPlainObject(result[index]) ? (result[index] as Record<string, unknown>) : {}
    const merged = mergeMap(base, item, field.schema ?? {})
    if (merged === undefined) {
      if (index >= 0) result.splice(index, 1)
    } else if (index >= 0) result[index] = merged
    else result.push(merged)
  }
  return result
}

/** Elements named in `order` first, in that order; the others keep their relative position after them. */
function reorder(items: readonly unknown[], order: readonly unknown[], mergeKey: string | undefined): unknown[] {
  const position = (item: unknown): number => {
    const key = keyOf(item, mergeKey)
    const index = order.findIndex((o) => jsonEqual(keyOf(o, mergeKey), key))
    return index < 0 ? order.length : index
  }
  return items
    .map((item, index) => ({item, index, rank: position(item)}))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.item)
}
