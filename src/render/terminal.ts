/** Colour decisions for a stream: off when not a TTY or when NO_COLOR is set (https://no-color.org). */
export function colorEnabled(options: {isTTY: boolean; env: Readonly<Record<string, string | undefined>>}): boolean {
  const {env} = options
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true
  if (env.TERM === 'dumb') return false
  return options.isTTY
}
