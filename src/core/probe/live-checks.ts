/**
 * What the live doctor's checks read (src/checks/probe.*.ts): the probe's result, the captures,
 * the source node's NAT decision and, with --topology, the comparison with the prediction.
 * Gathered once by report.ts, then only read, as the static checks read the trace.
 */
import type {Check} from '../doctor/check.js'
import type {Step} from '../trace/types.js'
import type {DestinationFacts} from './live-diagnose.js'
import type {CaptureObservation, ObservationCheck, ProbeObservation} from './types.js'

export interface LiveCheckContext {
  readonly probe: ProbeObservation
  readonly captures: readonly CaptureObservation[]
  /** the node the probe ran on */
  readonly sourceNode: string
  /** without --topology: the source node's masquerade decision (a NAT or SKIP step), from its rules */
  readonly natStep?: Step
  /** without --topology: whether the node's NAT rules could be read, and why not */
  readonly natRules?: {readonly read: boolean; readonly error?: string}
  /** with --topology: each capture against the prediction */
  readonly comparison?: readonly ObservationCheck[]
  readonly destination: DestinationFacts
}

export type LiveCheck = Check<LiveCheckContext>
