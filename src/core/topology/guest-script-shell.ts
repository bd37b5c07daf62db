/**
 * The shell that guest-script.ts reads: one logical line of a POSIX sh startup script as words
 * and operators, for the few command shapes xcc understands. It is deliberately a subset: what it
 * cannot be sure the shell would read the same way (parameter and command expansion, globs,
 * tildes, braces, a quote left open across lines) is refused rather than guessed at, and the
 * script's line is then one xcc does not read.
 */

export interface Word {
  readonly kind: 'word'
  /** the word after quote removal */
  readonly value: string
  /** some part of it was quoted or escaped (a here-document delimiter then keeps its body literal) */
  readonly quoted: boolean
}

export interface Operator {
  readonly kind: 'op'
  readonly value: string
}

export type Token = Word | Operator

export type LexResult =
  | {readonly ok: true; readonly tokens: readonly Token[]}
  /** the line ends with an unquoted backslash: the next line continues it */
  | {readonly ok: false; readonly continues: true}
  | {readonly ok: false; readonly continues: false; readonly why: string}

const OPERATORS = ['<<-', '2>>', '2>&', '2>', '&&', '||', '<<', '>>', '>&', ';', '|', '&', '(', ')', '<', '>']
/** characters that make the shell expand or glob a word: refused unquoted */
const EXPANDING = new Set(['$', '`', '*', '?', '[', '{', '}'])

const fail = (why: string): LexResult => ({ok: false, continues: false, why})

function operatorAt(line: string, i: number): string | undefined {
  // an IO number is a digit right before a redirection, at the start of a word
  if (line[i] === '2' && line[i + 1] === '>') return OPERATORS.find((op) => op.startsWith('2') && line.startsWith(op, i)) ?? undefined
  return OPERATORS.find((op) => !op.startsWith('2') && line.startsWith(op, i))
}

/** One logical line as tokens; a `#` that starts a word starts a comment that runs to the end. */
export function lexLine(line: string): LexResult {
  const tokens: Token[] = []
  let i = 0
  const n = line.length
  while (i < n) {
    const c = line[i] as string
    if (c === ' ' || c === '\t') {
      i++
      continue
    }
    if (c === '#') break
    const op = operatorAt(line, i)
    if (op) {
      tokens.push({kind: 'op', value: op})
      i += op.length
      continue
    }
    let value = ''
    let quoted = false
    while (i < n) {
      const ch = line[i] as string
      if (ch === ' ' || ch === '\t' || operatorAt(line, i) !== undefined && !/[0-9]/.test(ch)) break
      if (ch === '\'') {
        const end = line.indexOf('\'', i + 1)
        if (end < 0) return fail('a single quote is left open')
        value += line.slice(i + 1, end)
        quoted = true
        i = end + 1
      } else if (ch === '"') {
        const read = doubleQuoted(line, i + 1)
        if (typeof read === 'string') return fail(read)
        value += read.value
        quoted = true
        i = read.next
      } else if (ch === '\\') {
        if (i + 1 >= n) return {ok: false, continues: true}
        value += line[i + 1]
        quoted = true
        i += 2
      } else if (EXPANDING.has(ch) || (ch === '~' && value === '' && !quoted)) {
        return fail(`"${ch}" would be expanded by the shell`)
      } else {
        value += ch
        i++
      }
    }
    tokens.push({kind: 'word', value, quoted})
  }
  return {ok: true, tokens}
}

/** A double-quoted string from `start` (after the quote): its value and where it ends, or why it is refused. */
function doubleQuoted(line: string, start: number): {value: string; next: number} | string {
  let value = ''
  let i = start
  while (i < line.length) {
    const ch = line[i] as string
    if (ch === '"') return {value, next: i + 1}
    if (ch === '$' || ch === '`') return `"${ch}" would be expanded by the shell`
    if (ch === '\\') {
      const next = line[i + 1]
      if (next === undefined) return 'a double quote is left open'
      // inside double quotes a backslash escapes only $ ` " \ (and a newline)
      if (next === '$' || next === '`' || next === '"' || next === '\\') {
        value += next
        i += 2
        continue
      }
    }
    value += ch
    i++
  }
  return 'a double quote is left open'
}

/** the words of tokens that are all words, else undefined */
export function wordsOnly(tokens: readonly Token[]): string[] | undefined {
  return tokens.every((t) => t.kind === 'word') ? tokens.map((t) => t.value) : undefined
}

/**
 * Splits `tokens` at the first `||`: the check and the action of `CHECK || ACTION`. Redirections
 * of either part to /dev/null (`2>/dev/null`, `>/dev/null 2>&1`) are dropped: they change what
 * is printed, not what is done. Undefined when the line is not that shape.
 */
export function splitOr(tokens: readonly Token[]): {check: string[]; action: string[]} | undefined {
  const at = tokens.findIndex((t) => t.kind === 'op' && t.value === '||')
  if (at < 0) return undefined
  const check = withoutNullRedirections(tokens.slice(0, at))
  const action = withoutNullRedirections(tokens.slice(at + 1))
  return check && action ? {check, action} : undefined
}

function withoutNullRedirections(tokens: readonly Token[]): string[] | undefined {
  const words: string[] = []
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token
    if (t.kind === 'word') {
      words.push(t.value)
      continue
    }
    const target = tokens[i + 1]
    if (target?.kind !== 'word') return undefined
    if ((t.value === '>' || t.value === '2>') && target.value === '/dev/null') i++
    else if (t.value === '2>&' && target.value === '1') i++
    else return undefined
  }
  return words
}

/** iptables-save's quoting of one argument: bare when it can be, else in double quotes with \" and \\ */
export function saveQuote(word: string): string {
  if (word !== '' && !/[\s"\\]/.test(word)) return word
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/** a control character other than a tab (a script line, a here-document line) */
export function controlCharacter(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000a-\u001f\u007f]/.test(text)
}
