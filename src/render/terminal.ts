/**
 * What reaches a terminal. Colour decisions for a stream: off when not a TTY or when NO_COLOR is
 * set (https://no-color.org). And text from files and APIs (names, messages) shown safely: its
 * control characters escaped, so it cannot move the cursor, recolour or rewrite the screen.
 */
import {Chalk} from 'chalk'

import {visible} from '../core/shell.js'

export function colorEnabled(options: {isTTY: boolean; env: Readonly<Record<string, string | undefined>>}): boolean {
  const {env} = options
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true
  if (env.TERM === 'dumb') return false
  return options.isTTY
}

/** a multi-line text with every line's control characters escaped (line breaks kept) */
export function safeText(text: string): string {
  return text.split('\n').map(visible).join('\n')
}

export type Paint = Record<'plain' | 'bold' | 'dim' | 'red' | 'green', (text: string) => string>

/** colours that escape what they colour first: text from files and APIs is never sent raw */
export function safePaint(color: boolean): Paint {
  const chalk = new Chalk({level: color ? 1 : 0})
  return {
    plain: (t) => visible(t), bold: (t) => chalk.bold(visible(t)), dim: (t) => chalk.dim(visible(t)),
    red: (t) => chalk.red(visible(t)), green: (t) => chalk.green(visible(t)),
  }
}
