/** What applying a link's plan reports: an event per change as it goes, and the whole at the end (src/app/link-apply.ts). */
import type {WriteOutcome, WriteResult} from '../ports/gcp-writes.js'
import type {PlannedChange} from './changes.js'

export type ApplyEvent =
  | {readonly type: 'start'; readonly change: PlannedChange}
  | {readonly type: 'done'; readonly change: PlannedChange; readonly outcome: WriteOutcome; readonly ms: number}
  | {readonly type: 'failed'; readonly change: PlannedChange; readonly error: Error; readonly ms: number}

export interface AppliedChange {
  readonly key: string
  readonly action: PlannedChange['action']
  readonly kind: string
  readonly name: string
  readonly result: WriteResult
  readonly ms: number
  readonly requests: number
  readonly retries: number
}

export interface FailedChange {
  readonly key: string
  readonly message: string
  readonly exitCode: 2 | 3 | 4
}

export interface ApplyReport {
  /** the changes that finished, in the order they finished */
  readonly applied: readonly AppliedChange[]
  readonly failed: readonly FailedChange[]
  /** keys of the changes that never started (after a failure or an interruption, or behind a failed one) */
  readonly notApplied: readonly string[]
  /** the signal aborted before every change was done */
  readonly interrupted: boolean
  readonly ms: number
  readonly requests: number
  readonly retries: number
}
