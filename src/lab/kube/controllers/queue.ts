/** how a failed key comes back: after baseMs·2^n for its n-th failure in a row, at most `max` times */
export interface Backoff {
  readonly max: number
  readonly baseMs: number
}

/** the endpoints controllers' (client-go's rate-limited requeue, shortened for the lab) */
export const CONTROLLER_BACKOFF: Backoff = {max: 5, baseMs: 50}

/**
 * A deduplicating work queue: keys added while a key waits are merged, and keys are handled one
 * at a time on a later turn of the event loop (never inside the store write that added them).
 * With a backoff, a key whose handling threw is added again later; a success forgets its failures.
 */
export class WorkQueue {
  private readonly pending = new Set<string>()
  private readonly failures = new Map<string, number>()
  private scheduled = false
  private busy = false
  private stopped = false
  private readonly handle: (key: string) => void | Promise<void>
  private readonly onError: (key: string, error: unknown) => void

  constructor(handle: (key: string) => void | Promise<void>, onError: (key: string, error: unknown) => void = () => {}, private readonly backoff?: Backoff) {
    this.handle = handle
    this.onError = onError
  }

  private failed(key: string, error: unknown): void {
    this.onError(key, error)
    if (!this.backoff) return
    const attempt = (this.failures.get(key) ?? 0) + 1
    if (attempt > this.backoff.max) {
      this.failures.delete(key)
      return
    }
    this.failures.set(key, attempt)
    later(this.backoff.baseMs * 2 ** attempt, () => this.add(key))
  }

  add(key: string): void {
    if (this.stopped) return
    this.pending.add(key)
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled || this.busy || this.stopped) return
    this.scheduled = true
    setImmediate(() => void this.drain())
  }

  private async drain(): Promise<void> {
    this.scheduled = false
    if (this.busy) return
    this.busy = true
    try {
      while (this.pending.size > 0 && !this.stopped) {
        const key = this.pending.values().next().value as string
        this.pending.delete(key)
        try {
          await this.handle(key)
          this.failures.delete(key)
        } catch (error) {
          this.failed(key, error)
        }
      }
    } finally {
      this.busy = false
    }
  }

  stop(): void {
    this.stopped = true
    this.pending.clear()
  }
}

/** A timer that does not keep the process alive. */
export function later(ms: number, run: () => void): NodeJS.Timeout {
  const timer = setTimeout(run, ms)
  timer.unref()
  return timer
}

/** Sleeps that can all be cut short at once (a pod worker's backoffs when the pod is stopped). */
export class Sleepers {
  private readonly waking = new Set<() => void>()

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer)
        this.waking.delete(wake)
        resolve()
      }
      const timer = later(ms, wake)
      this.waking.add(wake)
    })
  }

  wakeAll(): void {
    for (const wake of [...this.waking]) wake()
  }
}
