/**
 * The plain-document helpers the parts of `xcc snapshot` share: what a skipped resource is, a
 * topology as a plain document, sorting by name, and putting only what differs from the format's
 * defaults.
 */
export interface Skipped {
  readonly kind: string
  readonly name: string
  readonly reason: string
}

/** a topology as a plain document, fields in the order the format documents them */
export type Doc = Record<string, unknown>

/** the name at the end of a resource URL (no array of every segment: it is asked for every reference of every item) */
export const lastSegment = (url: string | undefined): string => (url === undefined ? '' : url.slice(url.lastIndexOf('/') + 1))
export const byName = <T extends {readonly name: string}>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
export const sorted = <T extends {readonly name: string}>(items: readonly T[]): T[] => [...items].sort(byName)

/** only what differs from the format's default, so a snapshot reads like a hand-written file */
export function put(doc: Doc, key: string, value: unknown, fallback?: unknown): void {
  if (value === undefined) return
  if (Array.isArray(value) && value.length === 0 && (fallback === undefined || (Array.isArray(fallback) && fallback.length === 0))) return
  if (fallback !== undefined && JSON.stringify(value) === JSON.stringify(fallback)) return
  doc[key] = value
}

/** a free-text field (a description) when it says something */
export function putText(doc: Doc, key: string, value: string | undefined): void {
  if (value) doc[key] = value
}
