/** Durations as users write them in flags (`--timeout 5s`). */
import {XccError} from './errors.js'

/** `5s`, `500ms`, `1m`, or plain seconds */
export function parseDuration(text: string, flag: string, options: {min: number; max: number}): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim())
  if (!m) throw new XccError(`--${flag} ${text}: not a duration`, {hint: 'write it like 5s, 1500ms or 2m'})
  const value = Number(m[1]) * (m[2] === 'ms' ? 0.001 : m[2] === 'm' ? 60 : 1)
  if (value < options.min || value > options.max) throw new XccError(`--${flag} ${text}: must be between ${options.min}s and ${options.max}s`)
  return value
}
