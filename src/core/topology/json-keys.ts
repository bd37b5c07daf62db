/**
 * JSON.parse keeps the last of two equal keys; YAML (and so xcc) rejects them. This scan finds
 * them in text that JSON.parse has already accepted, so it only has to follow the structure.
 */

export interface DuplicateKey {
  /** path of the repeated key, e.g. ['networks', 0, 'name'] */
  readonly path: readonly PropertyKey[]
  readonly key: string
  readonly line: number
  readonly column: number
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

/** Every repeated key of every object in `text` (valid JSON), in document order. */
export function findDuplicateKeys(text: string): DuplicateKey[] {
  const found: DuplicateKey[] = []
  const stack: Frame[] = []
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = stringEnd(text, i)
      const top = stack[stack.length - 1]
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i + 1, end)
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw
        if (top.keys.has(key)) found.push({path: [...pathOf(top), key], key, ...position(text, i)})
        top.keys.add(key)
        top.key = key
        top.expectKey = false
      }
      i = end
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
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
  return found
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

function position(text: string, offset: number): {line: number; column: number} {
  const before = text.slice(0, offset)
  const lineStart = before.lastIndexOf('\n') + 1
  return {line: before.split('\n').length, column: offset - lineStart + 1}
}
