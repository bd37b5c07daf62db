/**
 * JUnit XML for `xcc doctor --flows --junit FILE`: one test suite, one test case per flow, a
 * failure for each flow that does not meet its expectation (its root cause, evidence and fix in
 * the body). CI systems (GitHub Actions, GitLab, Jenkins) read this shape.
 */
import type {FlowOutcome} from '../core/doctor/flows.js'
import {describeResult} from '../core/doctor/flows.js'

/** text as XML 1.0 allows it: the five special characters as entities, control characters as visible escapes */
function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

export interface JunitRun {
  /** the suite's name, e.g. `xcc doctor --flows flows.yaml` */
  readonly name: string
  readonly outcomes: readonly FlowOutcome[]
  /** seconds each flow took, in order */
  readonly seconds: readonly number[]
  /** ISO time the run started */
  readonly timestamp: string
}

export function renderJunit(run: JunitRun): string {
  const failures = run.outcomes.filter((o) => !o.met).length
  const total = run.seconds.reduce((a, b) => a + b, 0)
  const cases = run.outcomes.map((o, i) => {
    const name = `${o.from} → ${o.to} is ${o.expect}`
    const time = (run.seconds[i] ?? 0).toFixed(3)
    if (o.met) return `    <testcase classname="xcc.doctor" name="${xml(name)}" time="${time}"/>`
    const d = o.result.diagnosis
    const body = d ? [d.summary, '', 'Evidence:', ...d.evidence.map((e) => `  - ${e}`), '', 'Fix:', ...d.fix.map((f) => `  ${f}`)].join('\n') : `the flow is ${o.result.verdict}`
    return [
      `    <testcase classname="xcc.doctor" name="${xml(name)}" time="${time}">`,
      `      <failure message="${xml(`expected ${o.expect}, got ${describeResult(o.result)}`)}" type="${xml(d?.code ?? o.result.verdict)}">${xml(body)}</failure>`,
      '    </testcase>',
    ].join('\n')
  })
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="xcc doctor" tests="${run.outcomes.length}" failures="${failures}" errors="0" time="${total.toFixed(3)}">`,
    `  <testsuite name="${xml(run.name)}" tests="${run.outcomes.length}" failures="${failures}" errors="0" skipped="0" time="${total.toFixed(3)}" timestamp="${xml(run.timestamp)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}
