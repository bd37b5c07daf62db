/**
 * The live checks (src/checks/probe.*.ts) against the registry contract: each passes on one
 * gathered context and fails (or warns) on another — plain objects, as the live doctor gathers them.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {LIVE_CHECKS} from '../../src/checks/index.js'
import type {LiveCheckContext} from '../../src/core/probe/live-checks.js'
import type {CaptureObservation, ProbeObservation} from '../../src/core/probe/types.js'
import type {Step} from '../../src/core/trace/types.js'

const probe = (result: ProbeObservation['result']): ProbeObservation => ({
  at: 'a/default/xcc-probe-1', pod: {context: 'a', namespace: 'default', name: 'xcc-probe-1'}, node: 'n1', mode: 'pod', src: '10.4.0.9', srcPort: 45000, dst: '10.8.0.10', dstPort: 80, result,
})
const capture = (status: CaptureObservation['status']): CaptureObservation => ({at: 'node/n1', host: {kind: 'node', name: 'n1'}, status, packets: [], ...(status === 'ok' ? {} : {reason: 'ErrImagePull'})})
const nat: Step = {step: 'NAT', at: 'node/n1', host: {kind: 'node', name: 'n1'}, packet: {src: '10.4.0.9', dst: '10.8.0.10', protocol: 'tcp', srcPort: 45000, dstPort: 80}, detail: 'the node masquerades the pod address'}
const base: LiveCheckContext = {probe: probe('connected'), captures: [capture('ok')], sourceNode: 'n1', destination: {how: 'given', context: 'b', owner: 'service default/web'}}

const CASES: Record<string, {pass: LiveCheckContext; fail: LiveCheckContext}> = {
  'probe.connects': {pass: base, fail: {...base, probe: probe('timeout')}},
  'probe.captures-work': {pass: base, fail: {...base, captures: [capture('ok'), capture('broken')]}},
  'probe.node-nat-rules': {pass: {...base, natRules: {read: true}, natStep: nat}, fail: {...base, natRules: {read: false, error: 'iptables-save: command not found'}}},
  'probe.destination-known': {pass: base, fail: {...base, destination: {how: 'given', context: 'b'}}},
  'probe.matches-prediction': {
    pass: {...base, comparison: [{step: 'NAT', at: 'node/n1', direction: 'forward', expected: 'x', observed: 'x', status: 'match', lines: []}]},
    fail: {...base, comparison: [{step: 'NAT', at: 'node/n1', direction: 'forward', expected: 'masqueraded', observed: 'pod address', status: 'mismatch', lines: []}]},
  },
}

describe('live checks registry', () => {
  it('has a passing and a failing case for every live check', () => {
    assert.deepEqual(Object.keys(CASES).sort(), LIVE_CHECKS.map((c) => c.id).sort())
  })

  for (const check of LIVE_CHECKS) {
    it(`${check.id}: passes, and ${check.severity === 'warning' ? 'warns' : 'fails'} where it should`, () => {
      const cases = CASES[check.id]
      assert.ok(cases)
      assert.deepEqual(check.run(cases.pass).map((f) => f.status), ['pass'])
      assert.ok(check.run(cases.fail).some((f) => f.status === (check.severity === 'warning' ? 'warn' : 'fail')))
    })
  }

  it('probe.destination-known never tells the user to add a flag they passed', () => {
    const [finding] = LIVE_CHECKS.find((c) => c.id === 'probe.destination-known')?.run({...base, destination: {how: 'given', context: 'b'}}) ?? []
    assert.match(finding?.summary ?? '', /nothing in context b owns 10\.8\.0\.10:80/)
    assert.doesNotMatch(finding?.summary ?? '', /--to-context/)
  })
})
