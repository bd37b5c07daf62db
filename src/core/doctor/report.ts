/**
 * `xcc doctor --json` (contracts.md §2): gather → evaluate (checks) → diagnose → report.
 * The report object is the JSON output itself; the human renderer reads the same object.
 */
import type {DnsOutcome, DnsStep} from '../dns/resolve.js'
import type {Model} from '../topology/model-types.js'
import type {Flow} from '../trace/endpoints.js'
import type {FlowView, Step, Verdict} from '../trace/types.js'
import {type Check, type Finding, buildDoctorContext, checkDocs} from './check.js'
import {diagnose} from './diagnose.js'
import {type Diagnosis} from './types.js'

export const DOCTOR_SCHEMA_VERSION = 1

export interface DoctorReport {
  readonly schemaVersion: typeof DOCTOR_SCHEMA_VERSION
  readonly verdict: Verdict
  readonly diagnosis: Diagnosis | null
  readonly forward: readonly Step[]
  readonly return: readonly Step[]
  readonly findings: readonly Finding[]
  /** extension: what was traced */
  readonly flow: FlowView
  /** extension: every alternative path when there is more than one (ECMP, backends, endpoints) */
  readonly alternatives?: ReadonlyArray<{readonly verdict: Verdict; readonly forward: readonly Step[]; readonly return: readonly Step[]}>
  /** extension: `--to NAME:PORT`, the name resolved as the source pod resolves it, before the path */
  readonly dns?: DnsView
}

export interface DnsView {
  readonly name: string
  readonly cluster: string
  readonly namespace: string
  /** the cluster DNS Service every query goes to */
  readonly nameserver?: string
  readonly steps: readonly DnsStep[]
  readonly outcome: DnsOutcome
  readonly address?: string
  /** the flow traced instead of the name's when resolution fails: the DNS query's own packets */
  readonly query?: string
}

/** Runs every check; an exception inside one check fails only that check (design.md habit 10). */
export function runChecks<C>(ctx: C, checks: readonly Check<C>[]): Finding[] {
  return checks.flatMap((check) => {
    const docs = checkDocs(check.id)
    try {
      return check.run(ctx).map((f) => ({check: check.id, docs, ...f}))
    } catch (error) {
      return [{check: check.id, docs, status: 'error' as const, summary: `the check crashed: ${(error as Error).message} (a bug in xcc; please report it)`}]
    }
  })
}

export function evaluateDoctor(model: Model, flow: Flow, checks: readonly Check[], options: Parameters<typeof buildDoctorContext>[2] = {}): DoctorReport {
  const ctx = buildDoctorContext(model, flow, options)
  const findings = runChecks(ctx, checks)
  const diagnosis = diagnose(ctx, findings)
  return {
    schemaVersion: DOCTOR_SCHEMA_VERSION,
    verdict: ctx.trace.verdict,
    diagnosis,
    forward: ctx.primary.forward,
    return: ctx.primary.return,
    findings,
    flow: ctx.trace.flow,
    ...(ctx.trace.paths.length > 1 ? {alternatives: ctx.trace.paths.map((p) => ({verdict: p.verdict, forward: p.forward, return: p.return}))} : {}),
  }
}
