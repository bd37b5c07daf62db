/**
 * `xcc masquerade add` racing `remove --all` (issue 13): two runs against one fake cluster,
 * interleaved deterministically — the other run goes through completely (read the state, plan,
 * apply) at a chosen point of this one. This run never reports a state it did not verify: when
 * the other writer changed the object, it fails (exit 3) naming the object and what it holds
 * now, at once (not after --timeout); when it reports success, the cluster holds what it says.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {XccError} from '../../../src/core/errors.js'
import {type AppliedChange, applyPlan} from '../../../src/core/masquerade/apply.js'
import {configMapCidrs} from '../../../src/core/masquerade/agent-edit.js'
import {daemonSetCidrs} from '../../../src/core/masquerade/daemonset.js'
import {type MasqueradePlan, planAdd, planRemove} from '../../../src/core/masquerade/plan.js'
import {loadMasqueradeState} from '../../../src/core/masquerade/state.js'
import {cidr} from '../../../src/core/net/ipv4.js'
import type {Clock} from '../../../src/core/ports/clock.js'
import {FakeCluster, instantClock} from './fake-cluster.js'

const SCRIPT = 'echo xcc-masquerade'
const SETTINGS = {image: 'example.com/net:1', script: SCRIPT}
const AGENT_CONFIG = 'nonMasqueradeCIDRs:\n  - 10.0.0.0/8\nresyncInterval: 60s\n'
const TIMEOUT_MS = 120_000

const add = async (cluster: FakeCluster, ranges: readonly string[]): Promise<MasqueradePlan> =>
  planAdd(await loadMasqueradeState(cluster), ranges.map((r) => cidr(r)), {mode: 'auto', force: false, daemonSet: SETTINGS})
const removeAll = async (cluster: FakeCluster): Promise<MasqueradePlan> => planRemove(await loadMasqueradeState(cluster), 'all', SCRIPT)

function apply(cluster: FakeCluster, plan: MasqueradePlan, clock: Clock = instantClock()): Promise<AppliedChange[]> {
  return applyPlan(plan, {cluster, clock, signal: new AbortController().signal, progress: () => {}, timeoutMs: TIMEOUT_MS})
}

/** the other process: a whole `xcc masquerade remove --all` (or `add`) */
const otherRemoveAll = async (cluster: FakeCluster): Promise<void> => void (await apply(cluster, await removeAll(cluster)))
const otherAdd = (ranges: readonly string[]) => async (cluster: FakeCluster): Promise<void> => void (await apply(cluster, await add(cluster, ranges)))

/** the write goes through, then the other run goes through, then this run gets its answer */
const thenOther = (cluster: FakeCluster, other: (c: FakeCluster) => Promise<void>) => async (run: () => Promise<unknown>): Promise<unknown> => {
  const answer = await run()
  await other(cluster)
  return answer
}

async function rejection(promise: Promise<unknown>): Promise<XccError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof XccError, `expected an XccError, got ${String(error)}`)
    assert.equal(error.exitCode, 3)
    return error
  }
  assert.fail('expected a rejection: this run must not report success')
}

/** the ranges the cluster masquerades for xcc, as its objects say */
function dsCidrs(cluster: FakeCluster): string[] {
  const ds = cluster.daemonSets.get('kube-system/xcc-masquerade')
  return ds ? daemonSetCidrs(ds) : []
}
const cmCidrs = (cluster: FakeCluster): string[] => configMapCidrs(cluster.configMaps.get('kube-system/ip-masq-agent'))

function agentCluster(): FakeCluster {
  const cluster = new FakeCluster()
  cluster.configMaps.set('kube-system/ip-masq-agent', {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'ip-masq-agent', namespace: 'kube-system', resourceVersion: '7'}, data: {config: AGENT_CONFIG}})
  return cluster
}

describe('add racing remove --all', () => {
  it('daemonset: remove --all deletes the DaemonSet add just created, while add follows its rollout: add fails at once, saying it is gone', async () => {
    const cluster = new FakeCluster()
    const plan = await add(cluster, ['10.193.0.0/16'])
    cluster.once('createDaemonSet', thenOther(cluster, otherRemoveAll))
    const clock = instantClock()
    const error = await rejection(apply(cluster, plan, clock))
    assert.equal(error.message, 'another writer changed DaemonSet kube-system/xcc-masquerade after xcc\'s create: it is gone')
    assert.match(error.hint ?? '', /xcc masquerade list --context fake/)
    assert.deepEqual(error.details, ['created DaemonSet kube-system/xcc-masquerade (10.193.0.0/16)'])
    assert.ok(clock.now() < TIMEOUT_MS / 2, `it did not wait for --timeout (${clock.now()} ms)`)
  })

  it('daemonset: another add rewrites the DaemonSet with more ranges meanwhile: add fails, naming the ranges it holds now', async () => {
    const cluster = new FakeCluster()
    const plan = await add(cluster, ['10.193.0.0/16'])
    cluster.once('createDaemonSet', thenOther(cluster, otherAdd(['10.194.0.0/16'])))
    const error = await rejection(apply(cluster, plan))
    assert.equal(error.message, 'another writer changed DaemonSet kube-system/xcc-masquerade after xcc\'s create: it masquerades 10.193.0.0/16,10.194.0.0/16 now (xcc wrote 10.193.0.0/16)')
  })

  it('daemonset: add re-creates the DaemonSet while remove --all waits for its pods to stop: remove fails at once, saying what it holds', async () => {
    const cluster = new FakeCluster()
    await apply(cluster, await add(cluster, ['10.193.0.0/16']))
    const plan = await removeAll(cluster)
    cluster.once('deleteDaemonSet', thenOther(cluster, otherAdd(['10.193.0.0/16'])))
    const clock = instantClock()
    const error = await rejection(apply(cluster, plan, clock))
    assert.equal(error.message, 'another writer changed DaemonSet kube-system/xcc-masquerade after xcc\'s delete: it masquerades 10.193.0.0/16 now')
    assert.ok(clock.now() < TIMEOUT_MS / 2, `it did not wait for --timeout (${clock.now()} ms)`)
  })

  it('ip-masq-agent: remove --all restores the ConfigMap right after add wrote it: add fails, saying xcc manages no range there', async () => {
    const cluster = agentCluster()
    const plan = await add(cluster, ['10.193.0.0/16'])
    cluster.once('replaceConfigMap', thenOther(cluster, otherRemoveAll))
    const error = await rejection(apply(cluster, plan))
    assert.equal(error.message, 'another writer changed ConfigMap kube-system/ip-masq-agent after xcc\'s update: xcc manages no range there (xcc wrote 10.193.0.0/16)')
    assert.equal(cluster.configMaps.get('kube-system/ip-masq-agent')?.data?.config, AGENT_CONFIG, 'the other run restored it')
  })

  // every interleaving: the other run goes through before the n-th call of this one
  for (const [name, setup, mine, other, claim] of [
    ['add (daemonset) vs remove --all', (): FakeCluster => new FakeCluster(), (c: FakeCluster) => add(c, ['10.193.0.0/16']), otherRemoveAll, dsCidrs],
    ['add (ip-masq-agent) vs remove --all', agentCluster, (c: FakeCluster) => add(c, ['10.193.0.0/16']), otherRemoveAll, cmCidrs],
    ['remove --all (daemonset) vs add', (): FakeCluster => new FakeCluster(), removeAll, otherAdd(['10.193.0.0/16']), dsCidrs],
    ['remove --all (ip-masq-agent) vs add', agentCluster, removeAll, otherAdd(['10.193.0.0/16']), cmCidrs],
  ] as const) {
    it(`${name}, at every step: success only when the cluster holds what is reported, else exit 3 naming the object`, async () => {
      for (let step = 0; step < 40; step++) {
        const cluster = setup()
        if (name.startsWith('remove')) await apply(cluster, await add(cluster, ['10.193.0.0/16']))
        const start = cluster.calls.length
        let fired = false
        cluster.beforeCall = async (_op, index) => {
          if (index - start !== step || fired) return
          fired = true
          await other(cluster)
        }
        let result: {cidrs: readonly string[]} | XccError
        try {
          const plan = await mine(cluster)
          await apply(cluster, plan)
          result = {cidrs: plan.cidrs}
        } catch (error) {
          assert.ok(error instanceof XccError, `step ${step}: ${String(error)}`)
          result = error
        }
        if (!fired) break
        if (result instanceof XccError) {
          assert.equal(result.exitCode, 3, `step ${step}: ${result.message}`)
          assert.match(result.message, /(another writer changed|changed by someone else|not found|did not take effect)/, `step ${step}`)
          assert.match(result.message, /(DaemonSet|ConfigMap|daemonset|configmap) kube-system\/(xcc-masquerade|ip-masq-agent)/, `step ${step}: names the object`)
        } else {
          assert.deepEqual(claim(cluster), result.cidrs, `step ${step}: reported ${result.cidrs.join(',') || 'nothing'}, the cluster holds ${claim(cluster).join(',') || 'nothing'}`)
        }
      }
    })
  }
})
