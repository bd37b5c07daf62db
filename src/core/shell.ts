/**
 * Commands xcc prints for people to paste: every argument quoted for a POSIX shell, so a name
 * from a topology file or an API (`a;touch$(…)`) is read back as a literal, never run.
 */

/** one word as a POSIX shell reads it back: bare when it is plainly safe, else single-quoted */
export function shellWord(word: string): string {
  if (word !== '' && /^[\w@%+=:,./-]+$/.test(word)) return word
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** a command line from its words, each quoted as needed */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellWord).join(' ')
}

/**
 * Text from files or APIs shown on a terminal: control characters (escape sequences, carriage
 * returns, NUL…) are written as visible escapes, so a hostile name cannot move the cursor,
 * recolour the screen or hide part of a line. Newlines and tabs are escaped too: a name is one line.
 */
export function visible(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0)
    if (c === '\n') return '\\n'
    if (c === '\r') return '\\r'
    if (c === '\t') return '\\t'
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}
