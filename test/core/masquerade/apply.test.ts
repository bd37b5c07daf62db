/**
 * src/core/masquerade/apply.ts when the API fails half-way (issue 13, honest partial failures):
 * a write that reached the server but whose answer was lost (a connection reset, a timeout, a
 * 5xx) is read again before anything is reported — in place is success with a warning, not in
 * place is a failure saying what the object holds, unreadable is "unknown" — and a 409 on a
 * create or replace whose object already holds what xcc writes is success too. Errors that
 * cannot have been carried out (403, unsent) are reported as they are.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {ApiError, XccError} from '../../../src/core/errors.js'
import {type AppliedChange, applyPlan} from '../../../src/core/masquerade/apply.js'
import {CIDRS_ANNOTATION, daemonSetCidrs} from '../../../src/core/masquerade/daemonset.js'
import {type MasqueradePlan, planAdd, planRemove} from '../../../src/core/masquerade/plan.js'
import {loadMasqueradeState} from '../../../src/core/masquerade/state.js'
import {cidr} from '../../../src/core/net/ipv4.js'
import type {KubeDaemonSet} from '../../../src/core/ports/kube.js'
import {FakeCluster, answered, instantClock, lostAnswer} from './fake-cluster.js'

const SCRIPT = 'echo xcc-masquerade'
const SETTINGS = {image: 'example.com/net:1', script: SCRIPT}
const AGENT_CONFIG = 'nonMasqueradeCIDRs:\n  - 10.0.0.0/8\nresyncInterval: 60s\n'

async function planAddOn(cluster: FakeCluster, ranges: readonly string[]): Promise<MasqueradePlan> {
  return planAdd(await loadMasqueradeState(cluster), ranges.map((r) => cidr(r)), {mode: 'auto', force: false, daemonSet: SETTINGS})
}

async function planRemoveAllOn(cluster: FakeCluster): Promise<MasqueradePlan> {
  return planRemove(await loadMasqueradeState(cluster), 'all', SCRIPT)
}

function apply(cluster: FakeCluster, plan: MasqueradePlan, progress: string[] = []): Promise<AppliedChange[]> {
  return applyPlan(plan, {cluster, clock: instantClock(), signal: new AbortController().signal, progress: (t) => void progress.push(t), timeoutMs: 5000})
}

function daemonSetOf(plan: MasqueradePlan): KubeDaemonSet {
  const change = plan.changes[0]
  if (change?.kind !== 'DaemonSet' || !change.after) assert.fail('the plan writes no DaemonSet')
  return change.after
}

async function rejection(promise: Promise<unknown>): Promise<XccError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof XccError, `expected an XccError, got ${String(error)}`)
    assert.equal(error.exitCode, 3)
    return error
  }
  assert.fail('expected a rejection')
}

/** a cluster whose SNAT the ip-masq-agent ConfigMap governs */
function agentCluster(): FakeCluster {
  const cluster = new FakeCluster()
  cluster.configMaps.set('kube-system/ip-masq-agent', {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'ip-masq-agent', namespace: 'kube-system', resourceVersion: '7'}, data: {config: AGENT_CONFIG}})
  return cluster
}

/** the write is carried out, then the connection is reset before its answer arrives */
const applyThenLose = (what: string) => async (run: () => Promise<unknown>): Promise<never> => {
  await run()
  throw lostAnswer(what)
}

describe('a write whose answer was lost is read again before it is reported', () => {
  it('DaemonSet create carried out, answer lost (connection reset): success, rolled out, with a warning', async () => {
    const cluster = new FakeCluster().once('createDaemonSet', applyThenLose('creating daemonset kube-system/xcc-masquerade'))
    const progress: string[] = []
    const applied = await apply(cluster, await planAddOn(cluster, ['10.193.0.0/16']), progress)
    assert.equal(applied.length, 1)
    const [created] = applied as [AppliedChange]
    assert.deepEqual([created.kind, created.action, created.rolledOut], ['DaemonSet', 'create', true])
    assert.match(created.warning ?? '', /^the API's answer to the create was lost \(cannot reach .*socket hang up\); read again, DaemonSet kube-system\/xcc-masquerade holds what xcc wrote$/)
    assert.ok(progress.some((p) => /answer .* lost/.test(p)), `progress says so: ${progress.join(' | ')}`)
    assert.deepEqual(daemonSetCidrs(cluster.daemonSets.get('kube-system/xcc-masquerade')!), ['10.193.0.0/16'])
    assert.equal(cluster.calls.filter((c) => c.startsWith('createDaemonSet')).length, 1, 'no second create')
  })

  it('DaemonSet create answered 503 after it was stored: success with a warning', async () => {
    const cluster = new FakeCluster().once('createDaemonSet', async (run) => {
      await run()
      throw answered(503, 'ServiceUnavailable', 'creating daemonset kube-system/xcc-masquerade in context "fake" failed: etcd leader changed')
    })
    const [created] = await apply(cluster, await planAddOn(cluster, ['10.193.0.0/16'])) as [AppliedChange]
    assert.equal(created.rolledOut, true)
    assert.match(created.warning ?? '', /answer to the create was lost \(.*etcd leader changed\)/)
  })

  it('an update whose answer was lost (a later apply) is read again too', async () => {
    const cluster = new FakeCluster()
    await apply(cluster, await planAddOn(cluster, ['10.193.0.0/16']))
    cluster.once('replaceDaemonSet', applyThenLose('replacing daemonset kube-system/xcc-masquerade'))
    const [updated] = await apply(cluster, await planAddOn(cluster, ['10.194.0.0/16'])) as [AppliedChange]
    assert.deepEqual([updated.action, updated.rolledOut], ['update', true])
    assert.match(updated.warning ?? '', /answer to the update was lost/)
    assert.deepEqual(daemonSetCidrs(cluster.daemonSets.get('kube-system/xcc-masquerade')!), ['10.193.0.0/16', '10.194.0.0/16'])
  })

  it('ConfigMap update carried out, answer lost: success with a warning, the agent\'s config is xcc\'s', async () => {
    const cluster = agentCluster().once('replaceConfigMap', applyThenLose('replacing configmap kube-system/ip-masq-agent'))
    const plan = await planAddOn(cluster, ['10.193.0.0/16'])
    assert.equal(plan.mode, 'ip-masq-agent')
    const [updated] = await apply(cluster, plan) as [AppliedChange]
    assert.deepEqual([updated.kind, updated.action], ['ConfigMap', 'update'])
    assert.match(updated.warning ?? '', /answer to the update was lost .*ConfigMap kube-system\/ip-masq-agent holds what xcc wrote/)
    assert.equal(cluster.configMaps.get('kube-system/ip-masq-agent')?.metadata.annotations?.[CIDRS_ANNOTATION], '10.193.0.0/16')
  })

  it('remove: a delete whose answer was lost is read again (the DaemonSet is gone, its pods stopped)', async () => {
    const cluster = new FakeCluster()
    await apply(cluster, await planAddOn(cluster, ['10.193.0.0/16']))
    cluster.once('deleteDaemonSet', applyThenLose('deleting daemonset kube-system/xcc-masquerade'))
    const [deleted] = await apply(cluster, await planRemoveAllOn(cluster)) as [AppliedChange]
    assert.deepEqual([deleted.action, deleted.rolledOut], ['delete', true])
    assert.match(deleted.warning ?? '', /answer to the delete was lost .*DaemonSet kube-system\/xcc-masquerade is gone/)
  })

  it('a lost answer of a write that was not carried out: exit 3, saying so and what the object holds', async () => {
    const cluster = agentCluster().once('replaceConfigMap', async () => {
      throw lostAnswer('replacing configmap kube-system/ip-masq-agent')
    })
    const error = await rejection(apply(cluster, await planAddOn(cluster, ['10.193.0.0/16'])))
    assert.match(error.message, /^the update of ConfigMap kube-system\/ip-masq-agent did not take effect: cannot reach .*socket hang up; read again, xcc manages no range there \(xcc wrote 10\.193\.0\.0\/16\)$/)
    assert.match(error.hint ?? '', /run the command again/)
  })

  it('a lost answer and the re-read fails too: exit 3, the outcome unknown, how to find out', async () => {
    const cluster = new FakeCluster().once('createDaemonSet', applyThenLose('creating daemonset kube-system/xcc-masquerade'))
    const down = async (): Promise<never> => {
      throw lostAnswer('reading daemonset kube-system/xcc-masquerade')
    }
    for (let i = 0; i < 10; i++) cluster.once('getDaemonSet', down)
    const error = await rejection(apply(cluster, await planAddOn(cluster, ['10.193.0.0/16'])))
    assert.match(error.message, /^the outcome of the create of DaemonSet kube-system\/xcc-masquerade is unknown: cannot reach .*socket hang up; reading it again failed too: cannot reach .*while reading daemonset/)
    assert.match(error.hint ?? '', /xcc masquerade list --context fake/)
  })

  it('409 AlreadyExists on create, and the object holds exactly what xcc writes (another run made it): success with a warning', async () => {
    const cluster = new FakeCluster()
    const plan = await planAddOn(cluster, ['10.193.0.0/16'])
    // the other run creates the same DaemonSet between this run's read and its create
    cluster.once('createDaemonSet', async (run) => {
      await cluster.createDaemonSet('kube-system', daemonSetOf(plan))
      return run()
    })
    const [created] = await apply(cluster, plan) as [AppliedChange]
    assert.equal(created.rolledOut, true)
    assert.match(created.warning ?? '', /the create was refused \(.*already exists\); read again, DaemonSet kube-system\/xcc-masquerade holds what xcc wrote/)
  })

  it('409 AlreadyExists on create with other ranges in it: exit 3 naming what it holds now', async () => {
    const cluster = new FakeCluster()
    const plan = await planAddOn(cluster, ['10.193.0.0/16'])
    const other = await planAddOn(cluster, ['10.194.0.0/16'])
    cluster.once('createDaemonSet', async (run) => {
      await cluster.createDaemonSet('kube-system', daemonSetOf(other))
      return run()
    })
    const error = await rejection(apply(cluster, plan))
    assert.match(error.message, /^the create of DaemonSet kube-system\/xcc-masquerade did not take effect: .*already exists; read again, it masquerades 10\.194\.0\.0\/16 now \(xcc wrote 10\.193\.0\.0\/16\)$/)
  })

  it('409 Conflict on a replace whose object already holds xcc\'s content: success with a warning', async () => {
    const cluster = agentCluster()
    const plan = await planAddOn(cluster, ['10.193.0.0/16'])
    // another run of the same command wrote the same ConfigMap first
    await apply(cluster, await planAddOn(cluster, ['10.193.0.0/16']))
    const [updated] = await apply(cluster, plan) as [AppliedChange]
    assert.match(updated.warning ?? '', /the update was refused \(.*changed by someone else meanwhile.*\); read again, ConfigMap kube-system\/ip-masq-agent holds what xcc wrote/)
  })

  it('a failure after the write (the rollout cannot be read) says what was written', async () => {
    const cluster = new FakeCluster()
    for (let i = 0; i < 5; i++) {
      cluster.once('getDaemonSet', async () => {
        throw answered(403, 'Forbidden', 'reading daemonset kube-system/xcc-masquerade in context "fake" is forbidden')
      })
    }
    const error = await rejection(apply(cluster, await planAddOn(cluster, ['10.193.0.0/16'])))
    assert.match(error.message, /is forbidden$/)
    assert.deepEqual(error.details, ['HTTP 403 Forbidden', 'before that, xcc created DaemonSet kube-system/xcc-masquerade (10.193.0.0/16)'])
  })

  it('a refusal that cannot have been carried out (403) is reported as it is, without a re-read', async () => {
    const cluster = new FakeCluster().once('createDaemonSet', async () => {
      throw answered(403, 'Forbidden', 'creating daemonset kube-system/xcc-masquerade in context "fake" is forbidden')
    })
    const error = await rejection(apply(cluster, await planAddOn(cluster, ['10.193.0.0/16'])))
    assert.ok(error instanceof ApiError)
    assert.match(error.message, /is forbidden$/)
    assert.equal(cluster.calls.filter((c) => c.startsWith('getDaemonSet')).length, 0)
  })
})
