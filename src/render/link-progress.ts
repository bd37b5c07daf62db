/**
 * Progress of a link's apply, on stderr (stdout keeps the result): in a terminal, listr2 shows a
 * line per change (waiting, running, then what it came to and how long it took, or why it
 * failed; what never started is shown skipped); elsewhere (CI, pipes) a plain line per change as
 * it ends, and listr2 is never loaded. Under --json the command shows nothing.
 */
import type {ApplyEvent, ApplyReport} from '../core/link/apply-report.js'
import type {PlannedChange} from '../core/link/changes.js'
import {describeRef} from '../core/link/describe.js'
import type {WriteResult} from '../core/ports/gcp-writes.js'
import {type Paint, safePaint} from './terminal.js'

const SIGN: Readonly<Record<PlannedChange['action'], string>> = {create: '+', update: '~', delete: '-'}

/** `+ create firewall rule xcc-l-allow` */
export function changeTitle(change: PlannedChange): string {
  return `${SIGN[change.action]} ${change.action} ${describeRef(change.resource)}`
}

const RESULT: Readonly<Record<WriteResult, string>> = {
  created: 'created', updated: 'updated', deleted: 'deleted', 'already-exists': 'already there', 'already-gone': 'already gone',
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

/** what a change came to: `created in 312 ms`, `already there in 20 ms (2 retries)` */
export function outcomeText(result: WriteResult, ms: number, retries: number): string {
  return `${RESULT[result]} in ${duration(ms)}${retries > 0 ? ` (${retries} ${retries === 1 ? 'retry' : 'retries'})` : ''}`
}

/** the plain line of an event (CI, pipes); none for `start` */
export function progressLine(event: ApplyEvent, paint: Paint = safePaint(false)): string | undefined {
  if (event.type === 'start') return undefined
  const title = changeTitle(event.change)
  if (event.type === 'done') {
    const fresh = event.outcome.result === 'created' || event.outcome.result === 'updated' || event.outcome.result === 'deleted'
    return `${paint.plain(title)}: ${(fresh ? paint.green : paint.dim)(outcomeText(event.outcome.result, event.ms, event.outcome.retries))}`
  }
  return `${paint.plain(title)}: ${paint.red(`failed after ${duration(event.ms)}`)}: ${paint.plain(event.error.message)}`
}

/** the closing lines: what was not applied, and how to finish */
export function summaryLines(report: ApplyReport, paint: Paint = safePaint(false)): string[] {
  const lines = [`${report.applied.length} ${report.applied.length === 1 ? 'change' : 'changes'} applied in ${duration(report.ms)} (${report.requests} API requests, ${report.retries} retries)`]
  if (report.notApplied.length > 0) {
    const why = report.interrupted ? 'interrupted' : 'stopped after a failure'
    lines.push(paint.red(`${report.notApplied.length} not applied (${why}): ${report.notApplied.join(', ')}`))
    lines.push(paint.dim('running the same command again finishes the job'))
  }
  return lines
}

export interface ApplyProgress {
  readonly onEvent: (event: ApplyEvent) => void
  /** once the apply returned: the display completed (changes that never started shown skipped) */
  finish(report: ApplyReport): Promise<void>
}

export interface ProgressOptions {
  readonly interactive: boolean
  readonly stream: NodeJS.WritableStream
  readonly color: boolean
}

interface Gate {
  readonly started: Promise<void>
  readonly ended: Promise<{ok: string} | {error: string} | {skipped: true}>
  start(): void
  end(value: {ok: string} | {error: string} | {skipped: true}): void
}

function gate(): Gate {
  let start = (): void => {}
  let end = (_: {ok: string} | {error: string} | {skipped: true}): void => {}
  const started = new Promise<void>((resolve) => (start = resolve))
  const ended = new Promise<{ok: string} | {error: string} | {skipped: true}>((resolve) => (end = resolve))
  return {started, ended, start: () => start(), end: (v) => {
    start()
    end(v)
  }}
}

export async function applyProgress(changes: readonly PlannedChange[], options: ProgressOptions): Promise<ApplyProgress> {
  const paint = safePaint(options.color)
  if (!options.interactive) {
    return {
      onEvent: (event) => {
        const line = progressLine(event, paint)
        if (line) options.stream.write(`${line}\n`)
      },
      finish: async (report) => {
        for (const line of summaryLines(report, paint)) options.stream.write(`${line}\n`)
      },
    }
  }
  const {Listr, ListrLogger, ProcessOutput} = await import('listr2')
  const gates = new Map(changes.map((c) => [c.key, gate()]))
  const logger = new ListrLogger({processOutput: new ProcessOutput(options.stream as NodeJS.WriteStream, options.stream as NodeJS.WriteStream)})
  const list = new Listr(changes.map((change) => ({
    title: paint.dim(`${changeTitle(change)} (waiting)`),
    task: async (_ctx: unknown, task: {title: string; skip(message?: string): void}) => {
      const g = gates.get(change.key) as Gate
      await g.started
      task.title = paint.plain(changeTitle(change))
      const end = await g.ended
      if ('skipped' in end) {
        task.title = paint.dim(changeTitle(change))
        task.skip('not applied')
      } else if ('error' in end) {
        throw new Error(end.error)
      } else {
        task.title = `${paint.plain(changeTitle(change))}: ${end.ok}`
      }
    },
  })), {concurrent: true, exitOnError: false, registerSignalListeners: false, rendererOptions: {logger, showErrorMessage: true, collapseErrors: false, collapseSkips: false}, fallbackRendererOptions: {logger}})
  const shown = list.run().catch(() => undefined)
  return {
    onEvent: (event) => {
      const g = gates.get(event.change.key)
      if (!g) return
      if (event.type === 'start') g.start()
      else if (event.type === 'done') g.end({ok: outcomeText(event.outcome.result, event.ms, event.outcome.retries)})
      else g.end({error: `failed after ${duration(event.ms)}: ${paint.plain(event.error.message)}`})
    },
    finish: async (report) => {
      for (const g of gates.values()) g.end({skipped: true})
      await shown
      for (const line of summaryLines(report, paint)) options.stream.write(`${line}\n`)
    },
  }
}
