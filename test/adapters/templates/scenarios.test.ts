import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {canonicalFlow, listScenarios} from '../../../src/adapters/templates/scenarios.js'

/** the flow each built-in scenario is about (as test/lab/faithful.test.ts, or for a name test/lab/dns-scenarios.test.ts, checks it in the lab) */
const FLOWS: Record<string, {from: string; to: string}> = {
  'peered-vpcs-missing-snat': {from: 'frontend', to: 'lb/backend-ilb'},
  'peered-vpcs-fixed-snat': {from: 'frontend', to: 'lb/backend-ilb'},
  'peered-vpcs-ip-masq-agent': {from: 'frontend', to: 'lb/backend-ilb'},
  'gateways-missing-snat': {from: 'c1/default/ubuntu', to: 'lb/c2-forwarding-rules'},
  'gateways-fixed-snat': {from: 'c1/default/ubuntu', to: 'lb/c2-forwarding-rules'},
  'vpc-native-pair-works': {from: 'a', to: 'b/default/server'},
  'ilb-cross-region-no-global-access': {from: 'a', to: 'b/default/server'},
  'two-vpcs-unwired': {from: 'frontend', to: 'backend/default/dummy-backend'},
  'overlapping-clusters-unwired': {from: 'c1/default/ubuntu', to: 'c2/default/echoheaders'},
  // names: resolved by the pod's cluster DNS first (test/lab/dns-scenarios.test.ts)
  'dns-name-not-found': {from: 'a/default/client', to: 'nosuch.default.b.clusters.xcc.test:80'},
  'dns-stub-domain-missing': {from: 'a/default/client', to: 'server.default.b.clusters.xcc.test:80'},
  'dns-server-unreachable': {from: 'a/default/client', to: 'server.default.b.clusters.xcc.test:80'},
  'dns-record-stale': {from: 'a/default/client', to: 'server.default.b.clusters.xcc.test:80'},
}

describe('built-in scenarios', () => {
  it('each names its flow in a "# flow:" comment', () => {
    const scenarios = listScenarios()
    assert.deepEqual(scenarios.map((s) => s.name).sort(), Object.keys(FLOWS).sort())
    for (const s of scenarios) assert.deepEqual(canonicalFlow(readFileSync(s.path, 'utf8')), FLOWS[s.name], s.name)
  })

  it('a topology without the comment names no flow; a malformed one neither', () => {
    assert.equal(canonicalFlow('apiVersion: xcc/v1\nkind: Topology\n'), undefined)
    assert.equal(canonicalFlow('# flow: --from a\n'), undefined)
    assert.deepEqual(canonicalFlow('# x\n# flow: --from x/y --to 10.0.0.1:80  \n'), {from: 'x/y', to: '10.0.0.1:80'})
  })

  it('each has a description, whole sentences (ilb-cross-region-no-global-access was cut off mid-phrase)', () => {
    for (const s of listScenarios()) assert.ok(s.description.length > 20, s.name)
    const ilb = listScenarios().find((s) => s.name === 'ilb-cross-region-no-global-access')
    assert.equal(ilb?.description, 'a europe-west1 pod calls an internal load balancer in us-central1 that has no global access (FORWARDING_RULE_REGION_MISMATCH)')
  })
})
