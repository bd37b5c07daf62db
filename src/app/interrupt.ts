/**
 * Ctrl-C and SIGTERM for commands that create things in clusters: the first one aborts the run
 * (its code stops waiting and cleans up, then exits 130), a second one exits at once.
 */
export async function interruptible<T>(body: (signal: AbortSignal) => Promise<T>, cleaning: string): Promise<T> {
  const controller = new AbortController()
  let interrupts = 0
  const onSignal = (): void => {
    interrupts += 1
    if (interrupts > 1) process.exit(130)
    process.stderr.write(`\nxcc: interrupted; ${cleaning} (Ctrl-C again to quit at once)\n`)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await body(controller.signal)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
