/**
 * Progress for humans: in a terminal, listr2 draws the running steps on stderr and clears them
 * when all succeed, so stdout keeps only the result. Elsewhere (pipes, CI, --json) the steps run
 * silently and listr2 is never loaded.
 */
export interface ProgressTask<C> {
  readonly title: string
  run(ctx: C): Promise<void> | void
}

export async function runWithProgress<C extends object>(tasks: readonly ProgressTask<C>[], ctx: C, options: {interactive: boolean}): Promise<C> {
  if (!options.interactive) {
    for (const task of tasks) await task.run(ctx)
    return ctx
  }
  const {Listr, ListrLogger, ProcessOutput} = await import('listr2')
  // stdout belongs to the report: point listr2's "stdout" at stderr.
  const logger = new ListrLogger({processOutput: new ProcessOutput(process.stderr, process.stderr)})
  const list = new Listr<C>(
    tasks.map((t) => ({title: t.title, task: async (c: C) => t.run(c)})),
    {ctx, exitOnError: true, registerSignalListeners: false, rendererOptions: {logger, showErrorMessage: false, clearOutput: true}},
  )
  return list.run()
}

export function isInteractive(stream: NodeJS.WriteStream, env: Readonly<Record<string, string | undefined>>): boolean {
  return Boolean(stream.isTTY) && !env.CI
}
