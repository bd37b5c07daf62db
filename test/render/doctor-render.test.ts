import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {renderDoctorText} from '../../src/render/doctor-text.js'
import {colorEnabled} from '../../src/render/terminal.js'
import type {DoctorReport} from '../../src/core/doctor/report.js'
import {doctorFixture} from '../support/fixtures.js'

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g
describe('doctor renderers', () => {
  const report = doctorFixture('seed-001-peered-vpcs-missing-snat', 'frontend', 'lb/backend-ilb')

  it('a command to paste is never wrapped nor cut, however narrow the terminal: it copies as one line', () => {
    const lines = renderDoctorText(report, {color: false, width: {wrap: 60, cut: 60}}).split('\n')
    assert.ok(lines.includes('    $ xcc masquerade add --context frontend --cidr 10.193.0.0/16   # frontend stands for the kube context of cluster frontend'))
  })

  it('colours the text renderer only when asked', () => {
    assert.match(renderDoctorText(report, {color: true}), ANSI)
    assert.doesNotMatch(renderDoctorText(report, {color: false}), ANSI)
  })

  it('colour decision: TTY only, NO_COLOR wins, FORCE_COLOR forces, TERM=dumb disables', () => {
    assert.equal(colorEnabled({isTTY: true, env: {}}), true)
    assert.equal(colorEnabled({isTTY: false, env: {}}), false)
    assert.equal(colorEnabled({isTTY: true, env: {NO_COLOR: '1'}}), false)
    assert.equal(colorEnabled({isTTY: true, env: {NO_COLOR: ''}}), true, 'an empty NO_COLOR is ignored (no-color.org)')
    assert.equal(colorEnabled({isTTY: false, env: {FORCE_COLOR: '1'}}), true)
    assert.equal(colorEnabled({isTTY: true, env: {FORCE_COLOR: '0'}}), true)
    assert.equal(colorEnabled({isTTY: true, env: {TERM: 'dumb'}}), false)
  })
})

describe('a reachable live verdict', () => {
  // the live doctor without a topology predicts only the node part; the probe connected
  const packet = {src: '10.20.0.9', dst: '10.11.0.100', protocol: 'tcp' as const, srcPort: 45000, dstPort: 80}
  const report: DoctorReport = {
    schemaVersion: 1, verdict: 'reachable', diagnosis: null, return: [], findings: [],
    flow: {from: 'a/default/xcc-probe-1', to: '10.11.0.100:80', packet},
    forward: [
      {step: 'START_FROM_GKE_POD', at: 'a/default/xcc-probe-1', host: {kind: 'pod', name: 'xcc-probe-1', cluster: 'a', namespace: 'default', node: 'n1'}, packet, detail: 'the probe connects'},
      {step: 'ABORT', at: 'node/n1', host: {kind: 'node', name: 'n1'}, packet, detail: 'the rest of the path depends on cloud facts', cause: 'UNSUPPORTED'},
    ],
  }

  it('is never shown under a red ✗ ABORT: the step where the prediction stops is marked …', () => {
    const text = renderDoctorText(report, {color: false})
    assert.doesNotMatch(text, /✗/)
    assert.match(text, /^ … {2}2 {2}ABORT {2,}node\/n1/m)
    assert.match(text, /Verdict +REACHABLE/)
    // the same step under a verdict that is not reachable is a failure
    assert.match(renderDoctorText({...report, verdict: 'unknown', diagnosis: {code: 'INSUFFICIENT_INFO', summary: 's', evidence: [], fix: [], fixes: []}}, {color: false}), /^ ✗ {2}2 {2}ABORT/m)
  })
})
