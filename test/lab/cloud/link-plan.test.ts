/**
 * `xcc link plan` against real labs of the unwired seeds (templates/scenarios two-vpcs-unwired,
 * overlapping-clusters-unwired), with nothing but what `xcc lab env` prints: the project is read
 * through the real Google clients (xcc's adapters) and the lab's kube APIs, and the plan is the
 * one the planner makes from the scenario's topology itself (the same golden files as
 * test/core/link/plan.test.ts). Needs root (namespaces), iproute2, iptables.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {GOLDEN_DIR} from '../../support/golden.js'
import {LabCli, STACK} from '../../support/lab-cli.js'
import {requireLabTools} from '../../support/netns.js'

describe('xcc link plan on labs of the unwired seeds', () => {
  requireLabTools()
  const cli = new LabCli()
  const home = cli.home()
  const labs = {s001: cli.lab('lp001'), s000: cli.lab('lp000')}
  const env: Record<string, Record<string, string>> = {}
  after(() => cli.cleanup())
  before(() => {
    for (const [key, scenario] of [['s001', 'two-vpcs-unwired'], ['s000', 'overlapping-clusters-unwired']] as const) {
      const up = cli.run(home, ['lab', 'up', '--scenario', scenario, '--name', labs[key]])
      assert.equal(up.status, 0, up.stderr)
      const printed = cli.run(home, ['lab', 'env', '--name', labs[key], '--json'])
      assert.equal(printed.status, 0, printed.stderr)
      env[key] = (JSON.parse(printed.stdout) as {variables: Record<string, string>}).variables
    }
  })
  const plan = (key: 's001' | 's000', args: readonly string[]) => cli.run(home, ['link', 'plan', ...args], {env: env[key], timeoutMs: 120_000})

  it('seed 001: --mode peering prints the planner\'s plan (golden), and --detailed-exitcode exits 2 for changes', () => {
    const r = plan('s001', ['fe-be', '--mode', 'peering', '--from', 'frontend', '--to', 'backend', '--service', 'default/dummy-backend', '--detailed-exitcode'])
    assert.equal(r.status, 2, r.stderr)
    assert.equal(r.stdout, readFileSync(join(GOLDEN_DIR, 'link/plan-peering-seed-001.txt'), 'utf8'))
  })

  it('seed 001: --json is the planner\'s JSON (golden)', () => {
    const r = plan('s001', ['fe-be', '--mode', 'peering', '--from', 'frontend', '--to', 'backend', '--service', 'default/dummy-backend', '--json'])
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(readFileSync(join(GOLDEN_DIR, 'link/plan-peering-seed-001.json'), 'utf8')))
  })

  it('seed 001: after xcc masquerade add on the frontend, the plan has no masquerade step', () => {
    const added = cli.run(home, ['masquerade', 'add', '--context', 'frontend', '--cidr', '10.193.0.0/16', '--json'], {env: env.s001, timeoutMs: 180_000})
    assert.equal(added.status, 0, added.stderr)
    const r = plan('s001', ['fe-be', '--mode', 'peering', '--from', 'frontend', '--to', 'backend', '--service', 'default/dummy-backend', '--json'])
    assert.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout) as {kube: unknown[]; notes: string[]; summary: {create: number}}
    assert.deepEqual(out.kube, [])
    assert.ok(out.notes.some((n) => /xcc-masquerade DaemonSet already masquerades 10\.193\.0\.0\/16/.test(n)), out.notes.join('\n'))
    assert.equal(out.summary.create, 7)
  })

  it('seed 000: --mode gateway prints the planner\'s plan (golden)', () => {
    const r = plan('s000', ['c1-c2', '--mode', 'gateway', '--from', 'c1', '--to', 'c2', '--service', 'default/echoheaders'])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, readFileSync(join(GOLDEN_DIR, 'link/plan-gateway-seed-000.txt'), 'utf8'))
  })

  it('seed 000: --mode auto picks gateway because the ranges overlap', () => {
    const r = plan('s000', ['c1-c2', '--from', 'c1', '--to', 'us-west1-b/c2', '--service', 'default/echoheaders', '--json'])
    assert.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout) as {schemaVersion: number; mode: string; modeReason: string; plan: unknown[]}
    assert.equal(out.schemaVersion, 1)
    assert.equal(out.mode, 'gateway')
    assert.match(out.modeReason, /^gateway: 10\.138\.0\.0\/20 \(subnet cluster-1 of cluster-1\) overlaps 10\.138\.0\.0\/20 \(subnet cluster-2 of cluster-2\), so the networks cannot be peered \(PEER-08\)$/)
    assert.equal(out.plan.length, 18)
  })

  it('seed 000: --mode peering is refused with exit 2 naming the overlap; an unknown cluster or Service too; nothing on stdout', () => {
    const refused = plan('s000', ['c1-c2', '--mode', 'peering', '--from', 'c1', '--to', 'c2', '--service', 'default/echoheaders'])
    assert.equal(refused.status, 2)
    assert.match(refused.stderr, /cluster-1 and cluster-2 cannot be peered: 10\.138\.0\.0\/20 .* \(PEER-08\)/)
    assert.equal(refused.stdout, '')
    assert.doesNotMatch(refused.stderr, STACK)
    const unknown = plan('s000', ['c1-c2', '--from', 'c9', '--to', 'c2', '--service', 'default/echoheaders'])
    assert.equal(unknown.status, 2)
    assert.match(unknown.stderr, /--from c9: no such GKE cluster in the project/)
    const noService = plan('s000', ['c1-c2', '--from', 'c1', '--to', 'c2', '--service', 'default/nope', '--json'])
    assert.equal(noService.status, 2)
    assert.match((JSON.parse(noService.stdout) as {error: {message: string}}).error.message, /--service default\/nope: no such Service in cluster c2/)
  })
})
