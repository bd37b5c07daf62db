/**
 * Limits on a loaded YAML or JSON document: how deep it nests and how many values it holds, YAML
 * aliases expanded. js-yaml shares an aliased value instead of copying it, so a few hundred bytes
 * of anchors ("billion laughs") load at once into a document that anything walking it (a schema,
 * a message quoting a value) sees as hundreds of millions of values. This walk stops as soon as a
 * limit is crossed: it costs at most maxValues steps, and never recurses.
 */
import {formatPath, shorten} from './errors.js'

export interface DocumentLimits {
  /** mappings and lists inside each other, the document itself being level 1 */
  readonly maxDepth: number
  /** values (mappings, lists, scalars), each alias counting its whole value at each use */
  readonly maxValues: number
}

/** the first limit crossed, and the YAML path of the mapping or list where it is */
export interface DocumentBoundsExceeded {
  readonly limit: 'depth' | 'values'
  readonly path: string
}

/** where a mapping or list sits: its container's link and its key there */
interface Link {
  readonly parent: Link | undefined
  readonly key: string | number | undefined
  /** the document itself is level 1 */
  readonly depth: number
}

export function documentBounds(root: unknown, limits: DocumentLimits): DocumentBoundsExceeded | undefined {
  if (root === null || typeof root !== 'object') return undefined
  const values: unknown[] = [root]
  const parents: Array<Link | undefined> = [undefined]
  const keys: Array<string | number | undefined> = [undefined]
  let count = 1
  while (values.length > 0) {
    const value = values.pop()
    const parent = parents.pop()
    const key = keys.pop()
    if (value === null || typeof value !== 'object') continue
    const link: Link = {parent, key, depth: (parent?.depth ?? 0) + 1}
    if (link.depth > limits.maxDepth) return {limit: 'depth', path: pathOf(link)}
    const list = Array.isArray(value) ? (value as unknown[]) : undefined
    const names = list ? undefined : Object.keys(value)
    const size = list ? list.length : (names as string[]).length
    count += size
    if (count > limits.maxValues) return {limit: 'values', path: pathOf(link)}
    // in reverse, so that the walk (and the place it reports) follows the document's order
    for (let i = size - 1; i >= 0; i--) {
      const k = list ? i : ((names as string[])[i] as string)
      values.push(list ? list[i] : (value as Record<string, unknown>)[k])
      parents.push(link)
      keys.push(k)
    }
  }
  return undefined
}

/** "more than 2,000,000 values (…)" or "nested deeper than 64 levels (…)" */
export function describeBounds(limit: DocumentBoundsExceeded['limit'], limits: DocumentLimits): string {
  const n = (x: number): string => x.toLocaleString('en-US')
  return limit === 'depth'
    ? `the document is nested deeper than ${limits.maxDepth} levels (mappings and lists inside each other)`
    : `the document holds more than ${n(limits.maxValues)} values (mappings, lists and scalars, a YAML alias counting its whole value at each use)`
}

function pathOf(link: Link): string {
  const path: Array<string | number> = []
  for (let at: Link | undefined = link; at?.key !== undefined; at = at.parent) path.push(at.key)
  return shorten(formatPath(path.reverse()), 120)
}
