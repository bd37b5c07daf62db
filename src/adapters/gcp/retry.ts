/**
 * Google API calls retried as Google advises: 429, 5xx and network failures again after an
 * exponential backoff with full jitter (0.5 s, 1 s, 2 s … capped at 16 s), until the command's
 * deadline; then the last failure is reported (exit 3).
 */
import {type ApiFailure, describeFailure, isRetryable, toXccError} from './errors.js'

export interface CallContext {
  readonly api: string
  readonly project: string
  readonly endpoint: string
  /** epoch ms after which no retry starts */
  readonly deadline: number
  /** counts requests (and retries), for the bench */
  readonly stats?: {requests: number; retries: number}
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function withRetries<T>(ctx: CallContext, request: string, call: () => Promise<T>): Promise<T> {
  let attempt = 0
  for (;;) {
    try {
      if (ctx.stats) ctx.stats.requests += 1
      return await call()
    } catch (error) {
      const failure: ApiFailure = describeFailure(error)
      const wait = Math.random() * Math.min(16_000, 500 * 2 ** attempt)
      if (!isRetryable(failure) || Date.now() + wait >= ctx.deadline) throw toXccError(failure, {api: ctx.api, project: ctx.project, request, endpoint: ctx.endpoint})
      attempt += 1
      if (ctx.stats) ctx.stats.retries += 1
      await sleep(wait)
    }
  }
}
