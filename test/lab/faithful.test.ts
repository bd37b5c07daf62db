/**
 * docs/lab.md "Proof the lab is faithful": for every doctor fixture and every built-in scenario,
 * the static doctor's verdict equals the outcome of a real TCP connection made in the lab from
 * the same source to the same destination — and when both connect, the echo server saw the
 * client address the tracer predicts. Needs root, iproute2, iptables, socat and curl.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {after, describe, it} from 'node:test'

import {splitNameTarget} from '../../src/core/dns/resolve.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import {destroyDataPlane} from '../../src/lab/runtime/dataplane.js'
import {compare, describe as describeComparison, startLab} from '../support/lab-compare.js'
import {requireLabTools} from '../support/netns.js'
import {SCENARIOS} from '../support/scenarios.js'

const LAB = `ft${process.pid}`

/** The built-in scenarios (templates/scenarios) and the flow each one is about. */
export const SCENARIO_FLOWS: ReadonlyArray<{scenario: string; from: string; to: string; reachable: boolean}> = [
  {scenario: 'peered-vpcs-missing-snat', from: 'frontend', to: 'lb/backend-ilb', reachable: false},
  {scenario: 'peered-vpcs-fixed-snat', from: 'frontend', to: 'lb/backend-ilb', reachable: true},
  {scenario: 'peered-vpcs-ip-masq-agent', from: 'frontend', to: 'lb/backend-ilb', reachable: false},
  {scenario: 'gateways-missing-snat', from: 'c1/default/ubuntu', to: 'lb/c2-forwarding-rules', reachable: false},
  {scenario: 'gateways-fixed-snat', from: 'c1/default/ubuntu', to: 'lb/c2-forwarding-rules', reachable: true},
  {scenario: 'vpc-native-pair-works', from: 'a', to: 'b/default/server', reachable: true},
  {scenario: 'ilb-cross-region-no-global-access', from: 'a', to: 'b/default/server', reachable: false},
  // before `xcc link`: nothing joins the two networks yet
  {scenario: 'two-vpcs-unwired', from: 'frontend', to: 'backend/default/dummy-backend', reachable: false},
  {scenario: 'overlapping-clusters-unwired', from: 'c1/default/ubuntu', to: 'c2/default/echoheaders', reachable: false},
  // the dns-* scenarios name their destination: the pod's cluster DNS answers first, which needs
  // the lab's Kubernetes side (this test runs the data plane only): test/lab/dns-scenarios.test.ts
]

function load(path: string) {
  return parseTopology(readFileSync(path, 'utf8'), path)
}

describe('the lab agrees with the static doctor', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl']])
  after(async () => {
    await destroyDataPlane(LAB)
  })

  for (const s of SCENARIOS) {
    it(`fixture ${s.fixture}: ${s.from} → ${s.to}`, async (t) => {
      if (s.verdict === 'unknown') {
        t.diagnostic('the doctor cannot decide this flow (INSUFFICIENT_INFO): nothing to compare')
        return
      }
      if (splitNameTarget(s.to)) {
        t.diagnostic('a DNS name: resolved before the path, compared with the lab by test/lab/dns-doctor.test.ts')
        return
      }
      const lab = await startLab(load(`test/fixtures/topologies/${s.fixture}.yaml`), LAB)
      try {
        const c = await compare(lab, s.from, s.to)
        t.diagnostic(describeComparison(c))
        assert.equal(c.doctor, s.verdict)
        assert.ok(c.agree, `doctor and lab disagree: ${describeComparison(c)}`)
      } finally {
        await lab.destroy()
      }
    })
  }

  for (const f of SCENARIO_FLOWS) {
    it(`scenario ${f.scenario}: ${f.from} → ${f.to} ${f.reachable ? 'connects' : 'fails'}`, async (t) => {
      const lab = await startLab(load(`templates/scenarios/${f.scenario}.yaml`), LAB)
      try {
        const c = await compare(lab, f.from, f.to)
        t.diagnostic(describeComparison(c))
        assert.equal(c.lab.connected, f.reachable, describeComparison(c))
        assert.ok(c.agree, `doctor and lab disagree: ${describeComparison(c)}`)
      } finally {
        await lab.destroy()
      }
    })
  }
})
