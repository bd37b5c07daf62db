/**
 * Pass-through arguments: everything after the first `--` belongs to another program and must
 * reach it byte for byte. oclif's non-strict parser keeps the tokens but re-sorts its argv by
 * each token's first position in the command line, so a `--name x` after `--` that repeats an
 * earlier token (`lab exec --name L host -- echo --name x`) lands in front of the host. Commands
 * that run another program therefore split the command line themselves and give oclif only the
 * part before `--`.
 */

export interface SplitArgv {
  /** the tokens before the first `--` (what oclif parses) */
  readonly own: string[]
  /** the tokens after the first `--`, unchanged; undefined when there is no `--` */
  readonly passThrough?: string[]
}

export function splitAtDoubleDash(argv: readonly string[]): SplitArgv {
  const cut = argv.indexOf('--')
  return cut < 0 ? {own: [...argv]} : {own: argv.slice(0, cut), passThrough: argv.slice(cut + 1)}
}

/**
 * A command line without `--` that runs another program (`lab exec node/x tcpdump -i eth0`):
 * the command starts at the first word after the `positionals` words the command itself takes.
 * Words before it that start with `-` are its flags; those of `valueFlags` take the next word.
 */
export function commandAfterPositionals(argv: readonly string[], options: {positionals: number; valueFlags: readonly string[]}): {own: string[]; command: string[]} {
  let seen = 0
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string
    if (word.startsWith('-') && word !== '-') {
      if (options.valueFlags.includes(word)) i++
      continue
    }
    if (seen === options.positionals) return {own: argv.slice(0, i), command: argv.slice(i)}
    seen++
  }
  return {own: [...argv], command: []}
}

/** a word as a POSIX shell reads it back unchanged: bare when it is safe, else in single quotes */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}
