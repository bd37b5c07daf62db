/**
 * JSON.parse keeps the last of two equal keys; YAML (and so xcc) rejects them. JSON.parse also
 * builds a document nested as deep as the text asks (a few bytes a level). One scan of the text,
 * before JSON.parse, finds both: the first place nested deeper than the limit, and every repeated
 * key. It only follows brackets and strings, in linear time; its duplicates are meaningful only
 * once JSON.parse has accepted the text.
 */

export interface DuplicateKey {
  /** path of the repeated key, e.g. ['networks', 0, 'name'] */
  readonly path: readonly PropertyKey[]
  readonly key: string
  readonly line: number
  readonly column: number
}

export interface JsonScan {
  readonly duplicates: readonly DuplicateKey[]
  /** where the text first nests deeper than maxDepth (1-based line and column of the bracket) */
  readonly tooDeep?: {readonly line: number; readonly column: number}
}

interface Frame {
  /** the frame holding this one; its key or index at the time names this one */
  readonly parent?: {readonly frame: Frame; readonly at: PropertyKey}
  /** undefined for an array */
  readonly keys?: Set<string>
  key?: string
  index: number
  expectKey: boolean
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const NEWLINE = 0x0a

/** Every repeated key of every object in `text`, in document order, unless the text nests deeper than maxDepth. */
export function scanJson(text: string, maxDepth = Infinity): JsonScan {
  const duplicates: DuplicateKey[] = []
  const stack: Frame[] = []
  // positions are counted on the way: a raw newline cannot be inside a JSON string
  let line = 1
  let lineStart = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = stringEnd(text, i)
      const top = stack[stack.length - 1]
      if (top?.keys && top.expectKey) {
        const key = keyText(text.slice(i + 1, end))
        if (top.keys.has(key)) duplicates.push({path: [...pathOf(top), key], key, line, column: i - lineStart + 1})
        top.keys.add(key)
        top.key = key
        top.expectKey = false
      }
      i = end
    } else if (c === NEWLINE) {
      line++
      lineStart = i + 1
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= maxDepth) return {duplicates, tooDeep: {line, column: i - lineStart + 1}}
      const top = stack[stack.length - 1]
      const parent = top ? {frame: top, at: top.keys ? (top.key as string) : top.index} : undefined
      stack.push({parent, index: 0, expectKey: true, keys: c === 0x7b ? new Set<string>() : undefined})
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop()
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1]
      if (top?.keys) top.expectKey = true
      else if (top) top.index++
    }
  }
  return {duplicates}
}

/** Every repeated key of every object in `text` (valid JSON), in document order. */
export function findDuplicateKeys(text: string): DuplicateKey[] {
  return [...scanJson(text).duplicates]
}

/** a key's text between its quotes, unescaped (as written when the escapes are malformed: JSON.parse reports those) */
function keyText(raw: string): string {
  if (!raw.includes('\\')) return raw
  try {
    return JSON.parse(`"${raw}"`) as string
  } catch {
    return raw
  }
}

function pathOf(frame: Frame): PropertyKey[] {
  const path: PropertyKey[] = []
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent.frame) path.unshift(f.parent.at)
  return path
}

/** index of the quote that closes the string opening at `start` */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1)
  while (end > 0) {
    let backslashes = 0
    while (text.charCodeAt(end - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return end
    end = text.indexOf('"', end + 1)
  }
  return text.length
}
