/**
 * The checks registry contract (design.md habit 3): every check has a file named after its id,
 * a documented section in docs/checks.md, and a passing and a failing fixture — each asserted here.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {CHECKS, LIVE_CHECKS} from '../../src/checks/index.js'
import type {Check, FindingStatus} from '../../src/core/doctor/check.js'
import {doctorFixture} from '../support/fixtures.js'

type Case = readonly [fixture: string, from: string, to: string]
const SEED_001: Case = ['seed-001-peered-vpcs-missing-snat', 'frontend', 'lb/backend-ilb']
const SEED_001_FIXED: Case = ['seed-001-fixed-node-masquerade', 'frontend', 'lb/backend-ilb']
const SEED_000: Case = ['seed-000-gateways-missing-snat', 'c1/default/ubuntu', 'lb/c2-forwarding-rules']
const PAIR = (fixture: string, to = 'b/default/server'): Case => [fixture, 'a', to]
const GATEWAY = (fixture: string): Case => [fixture, 'a', '10.40.0.10:443']

/** per check: a fixture where it passes and one where it fails (or warns, for warning checks) */
const DNS = (fixture: string): Case => [fixture, 'a/default/client', 'server.default.b.clusters.xcc.test:80']
const FIXTURES: Record<string, {pass: Case; fail: Case}> = {
  'dns.name-resolves': {pass: DNS('dns-linked'), fail: DNS('dns-stub-domain-missing')},
  'dns.server-reachable': {pass: DNS('dns-linked'), fail: DNS('dns-server-unreachable')},
  'dns.record-current': {pass: DNS('dns-linked'), fail: DNS('dns-record-stale')},
  'nat.masquerades-peer-ranges': {pass: SEED_001_FIXED, fail: SEED_001},
  'nat.pod-range-not-masqueraded': {pass: SEED_001, fail: PAIR('ip-masq-list-misses-pod-range')},
  'firewall.egress-allows': {pass: SEED_001, fail: PAIR('egress-denied')},
  'routing.route-to-destination': {pass: SEED_001, fail: PAIR('no-route', '10.99.0.5:443')},
  'routing.no-shadowed-routes': {pass: SEED_001, fail: PAIR('shadowed-custom-route')},
  'peering.active': {pass: SEED_001, fail: PAIR('peering-one-sided')},
  'peering.exchanges-needed-routes': {pass: PAIR('vpc-native-pair-works'), fail: ['routes-based-pods-not-exported', 'instance/vm-a', '10.56.0.5:8080']},
  'instances.can-ip-forward': {pass: SEED_001, fail: GATEWAY('gateway-without-can-ip-forward')},
  'gateway.guest-forwarding': {pass: GATEWAY('gateway-forwards'), fail: GATEWAY('gateway-ip-forward-off')},
  'nat.gateway-snat': {pass: GATEWAY('gateway-forwards'), fail: SEED_000},
  'lb.forwarding-rule-matches': {pass: SEED_001, fail: PAIR('ilb-wrong-port', '10.11.0.100:8443')},
  'lb.region-access': {pass: SEED_001, fail: PAIR('ilb-cross-region-no-global-access')},
  'lb.has-backends': {pass: SEED_001, fail: PAIR('ilb-no-backends')},
  'lb.health-check-firewall': {pass: SEED_001, fail: PAIR('ilb-health-check-blocked')},
  'destination.exists': {pass: SEED_001, fail: PAIR('unknown-address', '10.11.0.250:80')},
  'firewall.ingress-allows-client': {pass: SEED_001, fail: PAIR('firewall-blocks-pod-range')},
  'destination.listening': {pass: SEED_001, fail: PAIR('pod-port-not-served', '10.21.0.5:9090')},
  'routing.return-route': {pass: SEED_001_FIXED, fail: SEED_001},
  'ranges.unique-on-path': {pass: SEED_001, fail: SEED_000},
  'model.complete': {pass: SEED_001, fail: PAIR('node-rule-not-understood')},
}

const docs = readFileSync(fileURLToPath(new URL('../../docs/checks.md', import.meta.url)), 'utf8')

function statuses(check: Check, [fixture, from, to]: Case): FindingStatus[] {
  return doctorFixture(fixture, from, to).findings.filter((f) => f.check === check.id).map((f) => f.status)
}

describe('checks registry', () => {
  it('lists each check once, in a file named after its id', () => {
    const ids = [...CHECKS, ...LIVE_CHECKS].map((c) => c.id)
    assert.equal(new Set(ids).size, ids.length)
    for (const id of ids) assert.ok(existsSync(fileURLToPath(new URL(`../../src/checks/${id}.ts`, import.meta.url))), `src/checks/${id}.ts`)
  })

  it('documents every check in docs/checks.md, in registry order (static, then live), with its title and rules', () => {
    const headings = [...docs.matchAll(/^## (\S+)$/gm)].map((m) => m[1])
    assert.deepEqual(headings, [...CHECKS, ...LIVE_CHECKS].map((c) => c.id))
    for (const c of LIVE_CHECKS) assert.ok(docs.includes(`— ${c.severity}${c.rules.length ? ` — ${c.rules.join(', ')}` : ''}\n`), `docs/checks.md lists the severity and rules of ${c.id}`)
    for (const c of [...CHECKS, ...LIVE_CHECKS]) assert.ok(docs.includes(`**Healthy:** ${c.title.charAt(0).toLowerCase()}${c.title.slice(1)}.`), `docs/checks.md states the healthy state of ${c.id}`)
  })

  it('has a passing and a failing fixture for every check', () => {
    assert.deepEqual(Object.keys(FIXTURES).sort(), CHECKS.map((c) => c.id).sort())
  })

  for (const check of CHECKS) {
    it(`${check.id}: passes on ${FIXTURES[check.id]?.pass[0]} and ${check.severity === 'warning' ? 'warns' : 'fails'} on ${FIXTURES[check.id]?.fail[0]}`, () => {
      const cases = FIXTURES[check.id]
      assert.ok(cases)
      const passing = statuses(check, cases.pass)
      assert.ok(passing.length > 0 && passing.every((s) => s === 'pass'), `expected pass, got ${passing.join(', ')}`)
      const failing = statuses(check, cases.fail)
      assert.ok(failing.includes(check.severity === 'warning' ? 'warn' : 'fail'), `expected ${check.severity === 'warning' ? 'warn' : 'fail'}, got ${failing.join(', ')}`)
    })
  }

  it('a finding links to its section of docs/checks.md', () => {
    const report = doctorFixture(...SEED_001)
    for (const f of report.findings) assert.equal(f.docs, `docs/checks.md#${f.check.replace(/\./g, '')}`)
  })
})
