/**
 * A deduplicating work queue: keys added while a key waits are merged, and keys are handled one
 * at a time on a later turn of the event loop (never inside the store write that added them).
 */
export class WorkQueue {
  private readonly pending = new Set<string>()
  private scheduled = false
  private busy = false
  private stopped = false
  private readonly handle: (key: string) => void | Promise<void>
  private readonly onError: (key: string, error: unknown) => void

  constructor(handle: (key: string) => void | Promise<void>, onError: (key: string, error: unknown) => void = () => {}) {
    this.handle = handle
    this.onError = onError
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
        } catch (error) {
          this.onError(key, error)
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
