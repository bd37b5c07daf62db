/**
 * Google API calls retried as Google advises: 429, 5xx and network failures again after an
 * exponential backoff with full jitter (0.5 s, 1 s, 2 s … capped at 16 s), until the command's
 * deadline; then the last failure is reported (exit 3). No call outlives the deadline: one that
 * has not answered by then (an endpoint that accepts and stays silent) is given up on, exit 3.
 */
import {XccError} from '../../core/errors.js'
import {type ApiFailure, describeFailure, isRetryable, toXccError} from './errors.js'

export interface CallContext {
  readonly api: string
  readonly project: string
  readonly endpoint: string
  /** epoch ms after which no retry starts */
  readonly deadline: number
  /** counts requests (and retries), for the bench */
  readonly stats?: {requests: number; retries: number}
  /** stops before the next request (Ctrl-C): the call rejects with the signal's reason */
  readonly signal?: AbortSignal
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** `call()`, or a timeout failure at the deadline (the call is left to settle on its own) */
async function beforeDeadline<T>(ctx: CallContext, request: string, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new XccError(`the ${ctx.api} API at ${ctx.endpoint} did not answer in time while ${request}`, {exitCode: 3, hint: 'check the network, or the endpoint override (CLOUDSDK_API_ENDPOINT_OVERRIDES_…); --timeout sets how long xcc waits'})), Math.max(0, ctx.deadline - Date.now()))
  })
  try {
    return await Promise.race([call(), late])
  } finally {
    clearTimeout(timer)
  }
}

export async function withRetries<T>(ctx: CallContext, request: string, call: () => Promise<T>): Promise<T> {
  let attempt = 0
  for (;;) {
    ctx.signal?.throwIfAborted()
    try {
      if (ctx.stats) ctx.stats.requests += 1
      return await beforeDeadline(ctx, request, call)
    } catch (error) {
      if (error instanceof XccError) throw error
      const failure: ApiFailure = describeFailure(error)
      const wait = Math.random() * Math.min(16_000, 500 * 2 ** attempt)
      if (!isRetryable(failure) || Date.now() + wait >= ctx.deadline) throw toXccError(failure, {api: ctx.api, project: ctx.project, request, endpoint: ctx.endpoint, attempts: attempt + 1})
      attempt += 1
      if (ctx.stats) ctx.stats.retries += 1
      await sleep(wait)
    }
  }
}
