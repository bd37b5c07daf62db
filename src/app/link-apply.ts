/**
 * Applying a link's plan (design.md, "The cloud wing"): the planned changes run as soon as the
 * changes they depend on are done, a few at a time, peering changes one at a time (GCP refuses
 * concurrent peering operations on a network and its peer). Each change reports start, done or
 * failed with its duration, for the progress display. After a failure, or once the signal aborts
 * (Ctrl-C), nothing new starts; what is running finishes; the report says what was applied and
 * what was not. Running the same plan again finishes the job: what exists answers
 * `already-exists`, what is gone `already-gone`. A delete plan runs the same way.
 */
import {XccError} from '../core/errors.js'
import type {PlannedChange} from '../core/link/changes.js'
import type {AppliedChange, ApplyEvent, ApplyReport, FailedChange} from '../core/link/apply-report.js'
import type {ComputeWriter, DesiredResource, WriteOutcome} from '../core/ports/gcp-writes.js'

export type {AppliedChange, ApplyEvent, ApplyReport, FailedChange} from '../core/link/apply-report.js'

export const APPLY_CONCURRENCY = 4

export interface ApplyOptions {
  /** changes at once (default 4); peering changes are one at a time whatever this says */
  readonly concurrency?: number
  /** stops starting changes (Ctrl-C); the ones running finish */
  readonly signal?: AbortSignal
  readonly onEvent?: (event: ApplyEvent) => void
  /** for tests: a clock */
  readonly now?: () => number
}

/** refuses a plan that cannot run: a key twice, a dependency that is not in it, a cycle (the planner's bug) */
export function checkPlan(changes: readonly PlannedChange[]): void {
  const keys = new Set<string>()
  for (const c of changes) {
    if (keys.has(c.key)) throw new Error(`the plan has ${c.key} twice`)
    keys.add(c.key)
  }
  for (const c of changes) {
    for (const d of c.dependsOn) if (!keys.has(d)) throw new Error(`the plan's ${c.key} depends on ${d}, which is not in the plan`)
  }
  const done = new Set<string>()
  let progress = true
  while (progress && done.size < changes.length) {
    progress = false
    for (const c of changes) {
      if (!done.has(c.key) && c.dependsOn.every((d) => done.has(d))) {
        done.add(c.key)
        progress = true
      }
    }
  }
  if (done.size < changes.length) throw new Error(`the plan has a dependency cycle among ${changes.filter((c) => !done.has(c.key)).map((c) => c.key).join(', ')}`)
}

function run(writer: ComputeWriter, change: PlannedChange): Promise<WriteOutcome> {
  if (change.action === 'delete') return writer.delete(change.resource)
  const resource = change.resource as DesiredResource
  if (!('body' in resource)) throw new Error(`the plan's ${change.key} (${change.action}) carries no body`)
  return change.action === 'create' ? writer.insert(resource) : writer.update(resource)
}

export async function applyPlan(writer: ComputeWriter, changes: readonly PlannedChange[], options: ApplyOptions = {}): Promise<ApplyReport> {
  checkPlan(changes)
  const now = options.now ?? Date.now
  const emit = options.onEvent ?? (() => {})
  const limit = Math.max(1, options.concurrency ?? APPLY_CONCURRENCY)
  const began = now()
  const pending = [...changes]
  const done = new Set<string>()
  const applied: AppliedChange[] = []
  const failed: FailedChange[] = []
  const running = new Map<string, Promise<void>>()
  let peeringRunning = false
  let stopped = false
  let requests = 0
  let retries = 0

  const start = (change: PlannedChange): void => {
    const peering = change.resource.kind === 'peering'
    if (peering) peeringRunning = true
    const t0 = now()
    emit({type: 'start', change})
    const task = (async () => {
      try {
        const outcome = await run(writer, change)
        const ms = now() - t0
        done.add(change.key)
        requests += outcome.requests
        retries += outcome.retries
        applied.push({key: change.key, action: change.action, kind: change.resource.kind, name: change.resource.name, result: outcome.result, ms, requests: outcome.requests, retries: outcome.retries})
        emit({type: 'done', change, outcome, ms})
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error))
        stopped = true
        failed.push({key: change.key, message: e.message, exitCode: e instanceof XccError ? e.exitCode : 4})
        emit({type: 'failed', change, error: e, ms: now() - t0})
      } finally {
        if (peering) peeringRunning = false
        running.delete(change.key)
      }
    })()
    running.set(change.key, task)
  }

  /** the first change, in plan order, that may start now */
  const next = (): PlannedChange | undefined => pending.find((c) => c.dependsOn.every((d) => done.has(d)) && !(peeringRunning && c.resource.kind === 'peering'))

  for (;;) {
    if (options.signal?.aborted) stopped = true
    while (!stopped && running.size < limit) {
      const change = next()
      if (!change) break
      pending.splice(pending.indexOf(change), 1)
      start(change)
    }
    if (running.size === 0) break
    await Promise.race(running.values())
  }
  return {
    applied, failed, notApplied: pending.map((c) => c.key),
    interrupted: Boolean(options.signal?.aborted) && pending.length > 0,
    ms: now() - began, requests, retries,
  }
}
