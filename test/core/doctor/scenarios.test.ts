/**
 * Every scenario fixture, traced and diagnosed: the verdict and diagnosis code are asserted, the
 * steps that carry the story are checked, the report must satisfy the JSON contract, and the
 * JSON and text renderings are compared with golden files.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {DIAGNOSIS_CODES} from '../../../src/core/doctor/types.js'
import {doctorReportSchema} from '../../../src/core/doctor/report-schema.js'
import {renderDoctorText} from '../../../src/render/doctor-text.js'
import {doctorFixture} from '../../support/fixtures.js'
import {assertGoldenJson, assertGoldenText} from '../../support/golden.js'
import {SCENARIOS, last} from '../../support/scenarios.js'

describe('scenario fixtures', () => {
  for (const s of SCENARIOS) {
    it(`${s.fixture}: ${s.from} → ${s.to} is ${s.verdict}${s.code ? ` with ${s.code}` : ''}`, () => {
      const report = doctorFixture(s.fixture, s.from, s.to)
      assert.equal(report.verdict, s.verdict)
      assert.equal(report.diagnosis?.code ?? null, s.code)
      const parsed = doctorReportSchema.safeParse(JSON.parse(JSON.stringify(report)))
      assert.ok(parsed.success, `the report breaks the JSON contract: ${parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3))}`)
      if (report.diagnosis) {
        assert.ok(report.diagnosis.summary.length > 0 && report.diagnosis.fix.length > 0, 'a diagnosis carries a summary and a fix')
        assert.ok(report.diagnosis.evidence.length > 0, 'a diagnosis carries evidence')
      }
      if (s.verdict !== 'reachable') assert.ok(report.findings.some((f) => f.status === 'fail'), 'a failing flow has a failing check')
      s.also?.(report)
      assertGoldenJson(`doctor/${s.fixture}.json`, JSON.parse(JSON.stringify(report)))
      assertGoldenText(`doctor/${s.fixture}.txt`, renderDoctorText(report, {color: false}))
    })
  }

  it('every diagnosis code of the contract is produced by at least one fixture', () => {
    const produced = new Set(SCENARIOS.map((s) => s.code))
    assert.deepEqual(DIAGNOSIS_CODES.filter((c) => !produced.has(c)), [])
  })

  it('FW-03: a rule that allows tcp does not admit udp, and a udp flow has no return path', () => {
    const report = doctorFixture('vpc-native-pair-works', 'a', '10.21.0.5:8080', 'udp')
    assert.equal(report.verdict, 'unreachable')
    assert.equal(report.diagnosis?.code, 'FIREWALL_RULE')
    assert.equal(last(report.forward)?.firewall?.name, 'implied-deny-ingress')
    assert.deepEqual(report.return, [])
  })

  it('guest.listen: udp to a port served only over tcp is not served; tcp through the gateway is reachable with a return path', () => {
    const report = doctorFixture('gateway-forwards', 'a', '10.40.0.10:443', 'udp')
    // the app serves tcp/443 only (guest.listen), so udp arrives but is not served
    assert.equal(report.diagnosis?.code, 'DESTINATION_NOT_LISTENING')
    const pod = doctorFixture('vpc-native-pair-works', 'b/default/server', '10.20.0.10:53', 'udp')
    assert.equal(pod.verdict, 'unreachable', 'net-a has no firewall rule admitting net-b')
    const within = doctorFixture('gateway-forwards', 'instance/gw', '10.40.0.10:443', 'tcp')
    assert.equal(within.verdict, 'reachable')
    assert.ok(within.return.length > 0)
  })
})
