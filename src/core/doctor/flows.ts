/**
 * `xcc doctor --flows FILE`: many flows checked in one run, for CI. The file is a YAML (or JSON)
 * list of `{from, to, protocol?, expect}`, where `expect` is `reachable`, `unreachable` or a
 * diagnosis code. A flow meets its expectation when the verdict (or the diagnosis) is the one
 * expected; anything else — `ambiguous`, `unknown`, another code — does not.
 */
import {CORE_SCHEMA, load} from 'js-yaml'

import {TopologyError, type TopologyIssue} from '../errors.js'
import type {Protocol} from '../trace/types.js'
import type {DoctorReport} from './report.js'
import {DIAGNOSIS_CODES, type DiagnosisCode} from './types.js'

export type FlowExpectation = 'reachable' | 'unreachable' | DiagnosisCode

export interface FlowSpec {
  readonly from: string
  readonly to: string
  readonly protocol?: Protocol
  readonly expect: FlowExpectation
}

export interface FlowOutcome<R extends DoctorReport = DoctorReport> {
  readonly from: string
  readonly to: string
  readonly expect: FlowExpectation
  readonly met: boolean
  readonly result: R
}

const EXPECTATIONS: readonly string[] = ['reachable', 'unreachable', ...DIAGNOSIS_CODES]
const FIELDS = new Set(['from', 'to', 'protocol', 'expect'])

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The flows of a file; every problem is reported at once, each naming the flow's index and field (exit 2). */
export function parseFlows(text: string, file: string): FlowSpec[] {
  let document: unknown
  try {
    document = load(text, {schema: CORE_SCHEMA, filename: file, json: false})
  } catch (error) {
    const {reason, mark} = error as {reason?: string; mark?: {line?: number; column?: number}}
    throw new TopologyError(file, [{path: '', message: `not valid YAML: ${reason ?? 'unparsable'}`, ...(mark?.line === undefined ? {} : {line: mark.line + 1, column: (mark.column ?? 0) + 1})}], {kind: 'flows'})
  }
  const issues: TopologyIssue[] = []
  if (!Array.isArray(document)) throw new TopologyError(file, [{path: '', message: 'expected a list of flows ({from, to, protocol?, expect})'}], {kind: 'flows'})
  if (document.length === 0) throw new TopologyError(file, [{path: '', message: 'the list of flows is empty'}], {kind: 'flows'})
  const flows: FlowSpec[] = []
  document.forEach((entry, i) => {
    const at = `[${i}]`
    if (!isMapping(entry)) return void issues.push({path: at, message: 'expected {from, to, protocol?, expect}', value: entry})
    for (const key of Object.keys(entry)) if (!FIELDS.has(key)) issues.push({path: `${at}.${key}`, message: 'unknown field (a flow has from, to, protocol, expect)'})
    for (const key of ['from', 'to'] as const) {
      if (typeof entry[key] !== 'string' || entry[key] === '') issues.push({path: `${at}.${key}`, message: 'is required: a source or destination as in --from/--to', ...(entry[key] === undefined ? {} : {value: entry[key]})})
    }
    const protocol = entry.protocol
    if (protocol !== undefined && protocol !== 'tcp' && protocol !== 'udp') issues.push({path: `${at}.protocol`, message: 'must be tcp or udp', value: protocol})
    const expect = entry.expect
    if (typeof expect !== 'string' || !EXPECTATIONS.includes(expect)) {
      issues.push({path: `${at}.expect`, message: 'must be reachable, unreachable or a diagnosis code (POD_SNAT_MISSING, …)', ...(expect === undefined ? {} : {value: expect})})
    }
    if (typeof entry.from === 'string' && typeof entry.to === 'string' && typeof expect === 'string' && EXPECTATIONS.includes(expect)) {
      flows.push({from: entry.from, to: entry.to, ...(protocol === 'tcp' || protocol === 'udp' ? {protocol} : {}), expect: expect as FlowExpectation})
    }
  })
  if (issues.length > 0) throw new TopologyError(file, issues, {kind: 'flows'})
  return flows
}

export function meets(report: DoctorReport, expect: FlowExpectation): boolean {
  if (expect === 'reachable') return report.verdict === 'reachable'
  if (expect === 'unreachable') return report.verdict === 'unreachable'
  return report.diagnosis?.code === expect
}

/** what a flow came to, in a few words: the verdict and, when there is one, the code */
export function describeResult(report: DoctorReport): string {
  return report.diagnosis ? `${report.verdict} (${report.diagnosis.code})` : report.verdict
}
