/**
 * The link applier (src/app/link-apply.ts) with xcc's Compute write adapter on the lab's cloud in
 * this process: a plan of every kind runs in dependency order, a few changes at a time, peerings
 * one at a time (shown by the lab's own operation times), and again changes nothing; its delete
 * plan removes it all. Interrupted after each change in turn, a run leaves part of the work, and
 * running the same plan again finishes it: the full set, each resource inserted once. A failure
 * (a missing permission) stops new changes, and a re-run once it is granted finishes the job.
 * Then the real gcloud lists what the applier created: names, descriptions, labels.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {applyPlan} from '../../../src/app/link-apply.js'
import type {ApplyEvent} from '../../../src/core/link/apply-report.js'
import type {ComputeInventory} from '../../../src/core/ports/gcp.js'
import {ALL, createPlan, deletePlan, openClients} from './link-fixture.js'
import {PROJECT, type TestCloud, findSdk, runTool, sdkSkip, startTestCloud} from './support.js'

const names = (inv: ComputeInventory): string[] => [
  ...Object.entries(inv).flatMap(([kind, list]: [string, ReadonlyArray<{name: string}>]) => list.map((r) => `${kind}/${r.name}`)),
  ...inv.networks.flatMap((n) => (n.peerings ?? []).map((p) => `peering/${n.name}/${p.name}`)),
].sort()

/** how many times the lab's cloud started an insert (or addPeering) of each target, over its whole life */
function inserts(cloud: TestCloud): Map<string, number> {
  const count = new Map<string, number>()
  for (const op of cloud.server.operations.list(PROJECT)) {
    if (op.operationType !== 'insert' && op.operationType !== 'addPeering') continue
    const key = `${String(op.operationType)} ${String(op.targetLink).split('/').slice(-2).join('/')}`
    count.set(key, (count.get(key) ?? 0) + 1)
  }
  return count
}

describe('applying a link\'s plan', () => {
  let cloud: TestCloud
  before(async () => {
    // 40 ms per change in the data plane: operations overlap when changes run at once
    cloud = await startTestCloud(undefined, {applyDelayMs: 40, faults: true})
  })
  after(() => cloud.close())

  it('runs every change after its dependencies, up to 4 at once, peerings one at a time; again: nothing; the delete plan removes it all', async () => {
    const {writer, compute} = await openClients(cloud.server.port, cloud.tokens.admin)
    const start = names(await compute.readInventory())
    const plan = createPlan()
    const events: ApplyEvent[] = []
    let running = 0
    let most = 0
    const report = await applyPlan(writer, plan, {onEvent: (e) => {
      events.push(e)
      running += e.type === 'start' ? 1 : -1
      most = Math.max(most, running)
    }})
    assert.deepEqual(report.failed, [])
    assert.deepEqual(report.notApplied, [])
    assert.equal(report.interrupted, false)
    assert.deepEqual(report.applied.map((a) => a.result), plan.map(() => 'created'))
    assert.ok(most > 1 && most <= 4, `changes at once: ${most}`)
    for (const change of plan) {
      const started = events.findIndex((e) => e.type === 'start' && e.change.key === change.key)
      for (const dep of change.dependsOn) {
        assert.ok(events.findIndex((e) => e.type === 'done' && e.change.key === dep) < started, `${change.key} started after ${dep} was done`)
      }
    }
    for (const e of events) if (e.type === 'done') assert.ok(e.ms >= 30, `${e.change.key} took its operation's time (${e.ms} ms)`)
    // the lab's view: the two addPeering operations did not overlap
    const peerOps = cloud.server.operations.list(PROJECT).filter((op) => op.operationType === 'addPeering').map((op) => [Date.parse(String(op.insertTime)), Date.parse(String(op.endTime))] as const)
    assert.equal(peerOps.length, 2)
    assert.ok((peerOps[1]?.[0] ?? 0) >= (peerOps[0]?.[1] ?? Infinity), `peerings one at a time: ${JSON.stringify(peerOps)}`)
    const made = names(await compute.readInventory())
    assert.equal(made.length - start.length, ALL.length)

    const again = await applyPlan(writer, plan)
    assert.deepEqual(again.applied.map((a) => a.result), plan.map(() => 'already-exists'))
    assert.deepEqual(names(await compute.readInventory()), made)

    const removal = await applyPlan(writer, deletePlan())
    assert.deepEqual(removal.failed, [])
    assert.deepEqual(removal.applied.map((a) => a.result), deletePlan().map(() => 'deleted'))
    const twice = await applyPlan(writer, deletePlan())
    assert.deepEqual(twice.applied.map((a) => a.result), deletePlan().map(() => 'already-gone'))
    assert.deepEqual(names(await compute.readInventory()), start)
  })

  it('a failure stops new changes, lets the running ones finish, and says what was not applied; a re-run finishes the job', async () => {
    const {writer, compute} = await openClients(cloud.server.port, cloud.tokens.admin)
    writeFileSync(join(cloud.dir, 'cloud-faults.json'), JSON.stringify({denied: ['compute.regionBackendServices.create']}))
    const plan = createPlan()
    const failed = await applyPlan(writer, plan)
    writeFileSync(join(cloud.dir, 'cloud-faults.json'), '{}')
    assert.deepEqual(failed.failed.map((f) => [f.key, f.exitCode]), [['backendService/regions/us-west1/xcc-t-bs', 3]])
    assert.match(failed.failed[0]?.message ?? '', /missing permission compute\.regionBackendServices\.create/)
    assert.ok(failed.notApplied.includes('forwardingRule/regions/us-west1/xcc-t-fr'), 'what depends on it never starts')
    assert.equal(failed.applied.length + failed.failed.length + failed.notApplied.length, plan.length, 'every change accounted for')
    const rerun = await applyPlan(writer, plan)
    assert.deepEqual(rerun.failed, [])
    const byResult = new Map<string, string[]>()
    for (const a of rerun.applied) byResult.set(a.result, [...(byResult.get(a.result) ?? []), a.key])
    assert.deepEqual(byResult.get('already-exists')?.sort(), failed.applied.map((a) => a.key).sort(), 'what the first run applied is found again')
    assert.equal((await applyPlan(writer, deletePlan())).failed.length, 0)
    assert.equal((await compute.readInventory()).forwardingRules.length, 0)
  })
})

describe('interrupted after each change in turn, then run again', () => {
  const plan = createPlan()
  for (let k = 1; k <= plan.length; k++) {
    it(`interrupted after ${k} done: the re-run ends with the full set, each inserted once`, async () => {
      const cloud = await startTestCloud(undefined, {applyDelayMs: 5})
      try {
        const {writer, compute} = await openClients(cloud.server.port, cloud.tokens.admin)
        const start = names(await compute.readInventory())
        const controller = new AbortController()
        let done = 0
        const first = await applyPlan(writer, plan, {signal: controller.signal, onEvent: (e) => {
          if (e.type === 'done' && ++done === k) controller.abort(new Error('Ctrl-C'))
        }})
        assert.deepEqual(first.failed, [])
        assert.ok(first.applied.length >= k, 'what ran before the interruption finished')
        assert.equal(first.applied.length + first.notApplied.length, plan.length)
        assert.equal(first.interrupted, first.notApplied.length > 0)
        const second = await applyPlan(writer, plan)
        assert.deepEqual(second.failed, [])
        assert.deepEqual(second.notApplied, [])
        const results = new Map(second.applied.map((a) => [a.key, a.result]))
        for (const a of first.applied) assert.equal(results.get(a.key), 'already-exists', a.key)
        for (const key of first.notApplied) assert.equal(results.get(key), 'created', key)
        assert.equal(names(await compute.readInventory()).length - start.length, ALL.length, 'the full set')
        const counts = inserts(cloud)
        assert.equal(counts.size, ALL.length, 'an insert (or addPeering) per resource')
        assert.ok([...counts.values()].every((n) => n === 1), JSON.stringify([...counts]))
      } finally {
        await cloud.close()
      }
    })
  }
})

describe('the real gcloud lists what the applier created', {skip: sdkSkip()}, () => {
  let cloud: TestCloud
  const home = mkdtempSync(join(tmpdir(), 'xcc-gcloud-home-'))
  before(async () => {
    cloud = await startTestCloud()
    const {writer} = await openClients(cloud.server.port, cloud.tokens.admin)
    const report = await applyPlan(writer, createPlan())
    assert.deepEqual(report.failed, [])
  })
  after(async () => {
    await cloud.close()
    rmSync(home, {recursive: true, force: true})
  })

  it('names, descriptions and labels, as gcloud shows them', async () => {
    const sdk = findSdk()
    if (!('bin' in sdk)) throw new Error(sdk.missing)
    const env = {
      CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${cloud.server.url}/compute/v1/`, CLOUDSDK_AUTH_ACCESS_TOKEN: cloud.tokens.admin,
      CLOUDSDK_CORE_PROJECT: PROJECT, CLOUDSDK_CONFIG: join(home, 'gcloud'),
    }
    const gcloud = async (args: string[]): Promise<Array<Record<string, unknown>>> => {
      const r = await runTool(sdk.bin, 'gcloud', [...args, '--format=json'], env, {home})
      assert.equal(r.code, 0, r.stderr)
      return JSON.parse(r.stdout) as Array<Record<string, unknown>>
    }
    const firewalls = await gcloud(['compute', 'firewall-rules', 'list', '--filter=name ~ ^xcc-'])
    assert.deepEqual(firewalls.map((f) => [f.name, JSON.parse(String(f.description))]), [['xcc-t-allow-b', {'managed-by': 'xcc', link: 't', role: 'allow', v: 1}]])
    const instances = await gcloud(['compute', 'instances', 'list', '--filter=labels.managed-by=xcc'])
    assert.deepEqual(instances.map((i) => [i.name, i.labels, JSON.parse(String(i.description)).role, i.canIpForward]), [['xcc-t-gw-1', {'managed-by': 'xcc', 'xcc-link': 't'}, 'gateway', true]])
    const rules = await gcloud(['compute', 'forwarding-rules', 'list', '--regions=us-west1'])
    assert.deepEqual(rules.map((r) => [r.name, r.labels, String(r.backendService).split('/').pop(), r.loadBalancingScheme]), [['xcc-t-fr', {'managed-by': 'xcc', 'xcc-link': 't'}, 'xcc-t-bs', 'INTERNAL']])
  })
})
