/**
 * Splits one iptables-save rule line into arguments the way iptables-restore does
 * (`add_param_to_argv`): whitespace separates, double quotes group, and inside quotes a
 * backslash escapes the next character (`--comment "say \"hi\""`).
 */

/** `option` (-s, --dport), `bang` (an unquoted `!`) or `value`; a quoted token is always a value */
export type TokenKind = 'option' | 'bang' | 'value'

/** The line's tokens as two parallel arrays (no object per token: a big dump has a million of them). */
export interface Tokens {
  readonly texts: readonly string[]
  readonly kinds: readonly TokenKind[]
}

export type TokenizeResult = ({ok: true} & Tokens) | {ok: false; message: string}

const SPACE = 32
const TAB = 9
const QUOTE = 34
const BACKSLASH = 92

function classify(text: string): TokenKind {
  if (text === '!') return 'bang'
  if (text.length < 2 || text.charCodeAt(0) !== 45 /* - */) return 'value'
  const second = text.charCodeAt(1)
  if (second === 45) return text.length > 2 && isLetter(text.charCodeAt(2)) ? 'option' : 'value'
  return text.length === 2 && (isLetter(second) || (second >= 48 && second <= 57)) ? 'option' : 'value'
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122)
}

/**
 * A hand-written scanner rather than regular expressions: a 100k-line dump passes through
 * here and most of its lines carry a quoted --comment. Strings are only built for tokens that
 * contain quotes; every other token is one slice of the line.
 */
export function tokenizeRuleLine(text: string): TokenizeResult {
  const texts: string[] = []
  const kinds: TokenKind[] = []
  const n = text.length
  let i = 0
  while (i < n) {
    let c = text.charCodeAt(i)
    if (c === SPACE || c === TAB) {
      i++
      continue
    }
    const start = i
    // set once the token holds a quote: the unquoted text built so far
    let built: string | undefined
    while (i < n) {
      c = text.charCodeAt(i)
      if (c === SPACE || c === TAB) break
      if (c !== QUOTE) {
        if (built !== undefined) built += text[i]
        i++
        continue
      }
      if (built === undefined) built = text.slice(start, i)
      i++
      let segment = i
      for (;;) {
        if (i >= n) return {ok: false, message: 'unterminated quoted string'}
        c = text.charCodeAt(i)
        if (c === BACKSLASH) {
          if (i + 1 >= n) return {ok: false, message: 'unterminated quoted string'}
          built += text.slice(segment, i) + text[i + 1]
          i += 2
          segment = i
        } else if (c === QUOTE) {
          built += text.slice(segment, i)
          i++
          break
        } else {
          i++
        }
      }
    }
    if (built === undefined) {
      const token = text.slice(start, i)
      texts.push(token)
      kinds.push(classify(token))
    } else {
      texts.push(built)
      kinds.push('value')
    }
  }
  return {ok: true, texts, kinds}
}
