/** The clock port: time and waiting, so that core's polling loops run on a fake clock in tests. */

export interface Clock {
  now(): number
  /** resolves after ms, or early (without throwing) when the signal aborts */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}
