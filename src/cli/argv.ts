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
