/** `xcc doctor --flows`: the file's flows and what meeting an expectation means. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {meets, parseFlows} from '../../../src/core/doctor/flows.js'
import type {DoctorReport} from '../../../src/core/doctor/report.js'
import {TopologyError} from '../../../src/core/errors.js'
import {renderJunit} from '../../../src/render/junit.js'
import {doctorFixture} from '../../support/fixtures.js'
import {assertGoldenText} from '../../support/golden.js'

const problems = (text: string): string[] => {
  try {
    parseFlows(text, 'flows.yaml')
  } catch (error) {
    assert.ok(error instanceof TopologyError)
    assert.match(error.message, /^invalid flows file flows\.yaml: /)
    return [...error.details]
  }
  assert.fail('expected the flows to be refused')
}

describe('a flows file', () => {
  it('is a YAML (or JSON) list of {from, to, protocol?, expect}', () => {
    assert.deepEqual(parseFlows('- {from: a, to: b/default/server, expect: reachable}\n- {from: a, to: "10.0.0.1:53", protocol: udp, expect: NO_ROUTE}\n', 'f.yaml'), [
      {from: 'a', to: 'b/default/server', expect: 'reachable'},
      {from: 'a', to: '10.0.0.1:53', protocol: 'udp', expect: 'NO_ROUTE'},
    ])
    assert.equal(parseFlows('[{"from": "a", "to": "lb/x", "expect": "unreachable"}]', 'f.json').length, 1)
  })

  it('names every problem at once, by index and field', () => {
    assert.deepEqual(problems('- {from: a, expect: maybe, port: 80}\n- 7\n- {from: a, to: b, protocol: sctp, expect: reachable}\n'), [
      'flows.yaml: [0].port: unknown field (a flow has from, to, protocol, expect)',
      'flows.yaml: [0].to: is required: a source or destination as in --from/--to',
      'flows.yaml: [0].expect: must be reachable, unreachable or a diagnosis code (POD_SNAT_MISSING, …) (value: "maybe")',
      'flows.yaml: [1]: expected {from, to, protocol?, expect} (value: 7)',
      'flows.yaml: [2].protocol: must be tcp or udp (value: "sctp")',
    ])
  })

  it('must be a non-empty list, and valid YAML', () => {
    assert.match(problems('from: a\n')[0] ?? '', /expected a list of flows/)
    assert.match(problems('[]')[0] ?? '', /the list of flows is empty/)
    assert.match(problems('- {from: [}\n')[0] ?? '', /^flows\.yaml:1:\d+: not valid YAML/)
  })
})

describe('meeting an expectation', () => {
  const broken = doctorFixture('seed-001-peered-vpcs-missing-snat', 'frontend', 'lb/backend-ilb')
  const fixed = doctorFixture('seed-001-fixed-node-masquerade', 'frontend', 'lb/backend-ilb')
  const ambiguous = {...broken, verdict: 'ambiguous'} as DoctorReport

  it('reachable and unreachable are the verdict; a code is the diagnosis; ambiguous or unknown meets neither', () => {
    assert.equal(meets(fixed, 'reachable'), true)
    assert.equal(meets(broken, 'unreachable'), true)
    assert.equal(meets(broken, 'POD_SNAT_MISSING'), true)
    assert.equal(meets(broken, 'NO_ROUTE'), false)
    assert.equal(meets(broken, 'reachable'), false)
    assert.equal(meets(ambiguous, 'unreachable'), false)
  })

  it('as JUnit XML: one test case per flow, a failure with the root cause and fix for each flow that misses', () => {
    const outcomes = [
      {from: 'frontend', to: 'lb/backend-ilb', expect: 'POD_SNAT_MISSING' as const, met: true, result: broken},
      {from: 'frontend', to: 'lb/backend-ilb', expect: 'reachable' as const, met: false, result: broken},
      {from: 'a<&>"\'', to: 'b\u001b[2J', expect: 'reachable' as const, met: true, result: fixed},
    ]
    assertGoldenText('doctor/flows.junit.xml', renderJunit({name: 'xcc doctor --flows flows.yaml', outcomes, seconds: [0.012, 0.003, 0.001], timestamp: '2026-12-07T00:00:00.000Z'}))
  })
})
