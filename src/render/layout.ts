/**
 * Fitting a view to its output. In a terminal every line is word-wrapped at the terminal's width
 * with a hanging indent (continuation lines start under the text of the first line, at the
 * segment marked `hang`, else under the line's first character). In a pipe nothing wraps. In
 * both, a line with a `cut` segment (verbatim tcpdump output) is never wrapped: where it is too
 * wide it is cut with `…` — at the terminal's width, in a pipe at `COLUMNS` or 160 columns. A
 * command to paste (a `verbatim` segment) is neither wrapped nor cut.
 */
import type {Line, Segment} from './lines.js'

/** where tcpdump lines are cut in a pipe when COLUMNS does not say */
export const PIPE_CUT_WIDTH = 160

export interface OutputWidth {
  /** wrap every line at this width (terminals only) */
  readonly wrap?: number
  /** cut verbatim lines (tcpdump) at this width */
  readonly cut: number
}

/** a positive COLUMNS wins, as for ls and most terminal programs; else the terminal's width */
export function outputWidth(stream: {readonly isTTY?: boolean; readonly columns?: number}, env: Readonly<Record<string, string | undefined>>): OutputWidth {
  const fromEnv = /^\d+$/.test(env.COLUMNS ?? '') ? Number(env.COLUMNS) : 0
  const columns = fromEnv > 0 ? fromEnv : 0
  if (!stream.isTTY) return {cut: columns || PIPE_CUT_WIDTH}
  const width = columns || (stream.columns && stream.columns > 0 ? stream.columns : 80)
  return {wrap: width, cut: width}
}

/** columns a string takes in a terminal: combining marks and joiners take none, East Asian wide characters two */
export function displayWidth(text: string): number {
  let width = 0
  for (const ch of text) {
    const code = ch.codePointAt(0) as number
    if ((code >= 0x300 && code <= 0x36f) || code === 0x200b || code === 0x200d || (code >= 0xfe00 && code <= 0xfe0f)) continue
    width += isWide(code) ? 2 : 1
  }
  return width
}

function isWide(code: number): boolean {
  return (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) || (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) || (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) || (code >= 0xffe0 && code <= 0xffe6) || (code >= 0x1f300 && code <= 0x1faff) || (code >= 0x20000 && code <= 0x3fffd)
}

/** the lines as they are drawn at this width: cut, wrapped or unchanged */
export function layoutLines(lines: readonly Line[], width: OutputWidth): Line[] {
  return lines.flatMap((line): Line[] => {
    if (line.some((s) => s.verbatim)) return [line]
    if (line.some((s) => s.cut)) return [cutLine(line, width.cut)]
    return width.wrap === undefined ? [line] : wrapLine(line, width.wrap)
  })
}

/** the line cut to `width` columns, ending in `…` when something was cut */
export function cutLine(line: Line, width: number): Line {
  if (lineWidth(line) <= width) return line
  const out: Segment[] = []
  let room = width - 1
  for (const s of line) {
    const text = take(s.text, room)
    if (text) out.push({...s, text})
    room -= displayWidth(text)
    if (text !== s.text) {
      const last = out[out.length - 1]
      if (last) out[out.length - 1] = {...last, text: last.text.trimEnd()}
      out.push({text: '…', style: s.style ?? 'plain'})
      break
    }
  }
  return out
}

function lineWidth(line: Line): number {
  return line.reduce((n, s) => n + displayWidth(s.text), 0)
}

/** the longest prefix of `text` that fits in `room` columns */
function take(text: string, room: number): string {
  let out = ''
  let used = 0
  for (const ch of text) {
    const w = displayWidth(ch)
    if (used + w > room) break
    out += ch
    used += w
  }
  return out
}

/**
 * Where continuation lines start: under the `hang` segment, else under the line's first
 * character. When that leaves too thin a column (under a third of the width, or narrower than
 * the longest word still to place), under an earlier segment, the first character, or column 0.
 */
function hangingIndent(line: Line, width: number): number {
  const starts: number[] = []
  let column = 0
  let from = 0
  for (const [i, s] of line.entries()) {
    starts.push(column)
    if (s.hang) {
      from = i
      break
    }
    column += displayWidth(s.text)
  }
  const hangs = line.some((s) => s.hang)
  const leading = displayWidth(/^\s*/.exec(line.map((s) => s.text).join(''))?.[0] ?? '')
  const longest = Math.max(0, ...line.slice(from).flatMap((s) => s.text.split(/\s+/)).map(displayWidth))
  const room = Math.max(Math.min(20, width / 3), longest)
  const candidates = [...(hangs ? starts : []), leading].filter((c) => c <= (hangs ? (starts[starts.length - 1] as number) : leading)).sort((a, b) => b - a)
  return candidates.find((c) => width - c >= room) ?? 0
}

/** word-wrapped at `width`, continuation lines indented under the first line's text */
export function wrapLine(line: Line, width: number): Line[] {
  if (lineWidth(line) <= width) return [line]
  const indent = hangingIndent(line, width)
  const rows: Segment[][] = []
  let row: Segment[] = []
  let used = 0
  const push = (text: string, s: Segment): void => {
    const last = row[row.length - 1]
    if (last && last.style === s.style) row[row.length - 1] = {...last, text: last.text + text}
    else row.push({text, ...(s.style ? {style: s.style} : {})})
    used += displayWidth(text)
  }
  const newRow = (): void => {
    rows.push(trimEnd(row))
    row = [{text: ' '.repeat(indent)}]
    used = indent
  }
  for (const s of line) {
    for (const token of s.text.split(/(\s+)/).filter(Boolean)) {
      const w = displayWidth(token)
      if (/^\s/.test(token)) {
        if (used === indent && rows.length > 0) continue // no blanks at the start of a continuation line
        if (used + w > width) newRow()
        else push(token, s)
        continue
      }
      if (used + w > width && used > indent) newRow()
      let rest = token
      while (used + displayWidth(rest) > width) {
        // a word wider than the room left is broken where the line ends
        const part = take(rest, width - used)
        if (!part) break
        push(part, s)
        rest = rest.slice(part.length)
        newRow()
      }
      if (rest) push(rest, s)
    }
  }
  rows.push(trimEnd(row))
  return rows
}

function trimEnd(row: Segment[]): Segment[] {
  const out = [...row]
  while (out.length > 0) {
    const last = out[out.length - 1] as Segment
    const text = last.text.trimEnd()
    if (text) {
      out[out.length - 1] = {...last, text}
      break
    }
    out.pop()
  }
  return out
}
