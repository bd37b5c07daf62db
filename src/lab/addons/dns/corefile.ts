/**
 * A Corefile's structure (corefile(5)), as far as the lab's CoreDNS emulation needs it: server
 * blocks (`key… { directive… }`) whose directives may carry a block of their own (`hosts {
 * entries }`, `forward . IP { options }`). Comments (`#` to the end of the line) and quotes are
 * honoured; `import` and snippets are kept as directives (the caller ignores them with a note).
 * Unbalanced braces are an error, as they are a CoreDNS startup error.
 */
export interface CorefileDirective {
  readonly name: string
  readonly args: readonly string[]
  readonly body?: readonly CorefileDirective[]
}

export interface CorefileBlock {
  readonly keys: readonly string[]
  readonly directives: readonly CorefileDirective[]
}

type Token = {readonly text: string; readonly line: number} | {readonly text: '{' | '}' | '\n'; readonly line: number; readonly brace: true}

function tokenize(text: string): Token[] {
  const out: Token[] = []
  let line = 1
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (c === '\n') {
      out.push({text: '\n', line, brace: true})
      line++
      i++
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++
    } else if (/\s/.test(c)) {
      i++
    } else if (c === '{' || c === '}') {
      out.push({text: c, line, brace: true})
      i++
    } else if (c === '"') {
      let j = i + 1
      let word = ''
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++
        word += text[j]
        j++
      }
      out.push({text: word, line})
      i = j + 1
    } else {
      let j = i
      while (j < text.length && !/[\s{}#]/.test(text[j] as string)) j++
      out.push({text: text.slice(i, j), line})
      i = j
    }
  }
  return out
}

const isBrace = (t: Token | undefined, b: '{' | '}' | '\n'): boolean => t !== undefined && 'brace' in t && t.text === b

export function parseCorefile(text: string): {ok: true; blocks: CorefileBlock[]} | {ok: false; error: string} {
  const tokens = tokenize(text)
  let i = 0
  const skipNewlines = (): void => {
    while (isBrace(tokens[i], '\n')) i++
  }
  /** directives up to the closing brace of the current block */
  const directives = (depth: number): CorefileDirective[] | string => {
    const out: CorefileDirective[] = []
    for (;;) {
      skipNewlines()
      const t = tokens[i]
      if (t === undefined) return `line ${tokens.at(-1)?.line ?? 1}: a block is not closed`
      if (isBrace(t, '}')) {
        i++
        return out
      }
      if (isBrace(t, '{')) return `line ${t.line}: unexpected "{"`
      const words: string[] = []
      while (tokens[i] !== undefined && !('brace' in (tokens[i] as Token))) words.push((tokens[i++] as Token).text)
      let body: CorefileDirective[] | undefined
      if (isBrace(tokens[i], '{')) {
        if (depth > 3) return `line ${tokens[i]?.line ?? 0}: blocks nested too deep`
        i++
        const inner = directives(depth + 1)
        if (typeof inner === 'string') return inner
        body = inner
      }
      out.push({name: words[0] as string, args: words.slice(1), ...(body ? {body} : {})})
    }
  }
  const blocks: CorefileBlock[] = []
  for (;;) {
    skipNewlines()
    const t = tokens[i]
    if (t === undefined) break
    const keys: string[] = []
    // keys may span lines when separated by commas or spaces up to the opening brace
    while (tokens[i] !== undefined && !isBrace(tokens[i], '{')) {
      const k = tokens[i] as Token
      if (isBrace(k, '}')) return {ok: false, error: `line ${k.line}: unexpected "}"`}
      if (!('brace' in k)) keys.push(...k.text.split(',').filter(Boolean))
      i++
    }
    if (tokens[i] === undefined) return {ok: false, error: `line ${t.line}: server block ${keys.join(' ')} has no "{"`}
    if (keys.length === 0) return {ok: false, error: `line ${t.line}: a server block needs a zone`}
    i++
    const body = directives(0)
    if (typeof body === 'string') return {ok: false, error: body}
    blocks.push({keys, directives: body})
  }
  return {ok: true, blocks}
}
