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

/** Whole seconds of a duration written as Kubernetes flags take it (`48h`, `1h30m`, `5400s`), or undefined. */
export function hmsSeconds(text: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text)
  if (!m || text === '') return undefined
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)
}
