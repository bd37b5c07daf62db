/**
 * The applier's scheduling, with a writer behind the port that only records (the lab's cloud
 * tests show the same with the real adapter): the concurrency bound, peering changes one at a
 * time, dependencies first, plan order among the ready ones, nothing new after a failure or an
 * abort, and plans that cannot run (a key twice, a missing dependency, a cycle) refused before
 * anything is written.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {applyPlan, checkPlan} from '../../src/app/link-apply.js'
import {XccError} from '../../src/core/errors.js'
import {type PlannedChange, changeKey} from '../../src/core/link/changes.js'
import type {ComputeWriter, DesiredResource, ResourceRef, WriteOutcome} from '../../src/core/ports/gcp-writes.js'

const G = {kind: 'global'} as const

function change(kind: DesiredResource['kind'], name: string, dependsOn: string[] = [], parent?: string): PlannedChange {
  const resource: DesiredResource = {kind, scope: G, name, body: {}, ...(parent ? {parent} : {})}
  return {key: changeKey(resource), action: 'create', resource, reason: 'test', dependsOn}
}

/** a writer that takes `ms` per call and records what ran at once */
function recorder(ms = 10, fails?: (ref: ResourceRef) => Error | undefined, delay: (ref: ResourceRef) => number = () => ms): ComputeWriter & {log: string[]; most: number; mostPeerings: number} {
  let now = 0
  let peerings = 0
  const state = {log: [] as string[], most: 0, mostPeerings: 0}
  const call = async (ref: ResourceRef, result: WriteOutcome['result']): Promise<WriteOutcome> => {
    now++
    if (ref.kind === 'peering') peerings++
    state.most = Math.max(state.most, now)
    state.mostPeerings = Math.max(state.mostPeerings, peerings)
    state.log.push(`start ${ref.name}`)
    await new Promise((resolve) => setTimeout(resolve, delay(ref)))
    now--
    if (ref.kind === 'peering') peerings--
    state.log.push(`end ${ref.name}`)
    const error = fails?.(ref)
    if (error) throw error
    return {ref, result, requests: 2, retries: 0}
  }
  return Object.assign(state, {
    project: 'p',
    insert: (r: DesiredResource) => call(r, 'created'),
    update: (r: DesiredResource) => call(r, 'updated'),
    delete: (r: ResourceRef) => call(r, 'deleted'),
  })
}

describe('the applier\'s scheduling', () => {
  it('at most 4 at once, peerings one at a time, dependencies first, plan order among the ready', async () => {
    const net = change('network', 'n')
    const plan = [
      net, ...['a', 'b', 'c', 'd', 'e', 'f'].map((x) => change('firewall', `fw-${x}`, [net.key])),
      change('peering', 'p1', [net.key], 'n'), change('peering', 'p2', [net.key], 'm'), change('peering', 'p3', [], 'o'),
    ]
    const writer = recorder()
    const report = await applyPlan(writer, plan)
    assert.equal(report.applied.length, plan.length)
    assert.equal(writer.most, 4)
    assert.equal(writer.mostPeerings, 1)
    assert.deepEqual(writer.log.slice(0, 2), ['start n', 'start p3'], 'p3 needs nothing: it starts with the network')
    assert.ok(writer.log.indexOf('end n') < writer.log.indexOf('start fw-a'))
    assert.deepEqual(report.applied.find((a) => a.name === 'fw-a'), {key: 'firewall/global/fw-a', action: 'create', kind: 'firewall', name: 'fw-a', result: 'created', ms: report.applied.find((a) => a.name === 'fw-a')?.ms, requests: 2, retries: 0})
    assert.equal(report.requests, plan.length * 2)
    const serial = recorder()
    await applyPlan(serial, plan, {concurrency: 1})
    assert.equal(serial.most, 1)
  })

  it('after a failure nothing new starts, the running changes finish, and the rest is reported not applied', async () => {
    const plan = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((x) => change('firewall', x))
    // b fails while a, c and d are still running
    const writer = recorder(30, (ref) => (ref.name === 'b' ? new XccError('missing permission compute.firewalls.create', {exitCode: 3}) : undefined), (ref) => (ref.name === 'b' ? 5 : 30))
    const events: string[] = []
    const report = await applyPlan(writer, plan, {onEvent: (e) => events.push(`${e.type} ${e.change.resource.name}`)})
    assert.deepEqual(report.failed, [{key: 'firewall/global/b', message: 'missing permission compute.firewalls.create', exitCode: 3}])
    assert.deepEqual(report.applied.map((a) => a.name).sort(), ['a', 'c', 'd'], 'those running with b finished')
    assert.deepEqual(report.notApplied, ['firewall/global/e', 'firewall/global/f', 'firewall/global/g'])
    assert.equal(report.interrupted, false)
    assert.ok(events.includes('failed b'))
    const bug = await applyPlan(recorder(1, () => new Error('a bug')), [plan[0] as PlannedChange])
    assert.equal(bug.failed[0]?.exitCode, 4, 'not an XccError: a bug')
  })

  it('an abort starts nothing new and lets the running finish', async () => {
    const plan = ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => change('firewall', x))
    const controller = new AbortController()
    const writer = recorder(20)
    const report = await applyPlan(writer, plan, {concurrency: 2, signal: controller.signal, onEvent: (e) => {
      if (e.type === 'start' && e.change.resource.name === 'b') controller.abort()
    }})
    assert.deepEqual(report.applied.map((a) => a.name), ['a', 'b'])
    assert.deepEqual(report.notApplied, ['firewall/global/c', 'firewall/global/d', 'firewall/global/e', 'firewall/global/f'])
    assert.equal(report.interrupted, true)
    const already = new AbortController()
    already.abort()
    const none = await applyPlan(recorder(), plan, {signal: already.signal})
    assert.deepEqual([none.applied.length, none.notApplied.length, none.interrupted], [0, plan.length, true])
  })

  it('a plan that cannot run is refused before anything is written', async () => {
    const a = change('network', 'a')
    const b = change('subnetwork', 'b', [a.key])
    assert.throws(() => checkPlan([a, a]), /network\/global\/a twice/)
    assert.throws(() => checkPlan([b]), /depends on network\/global\/a, which is not in the plan/)
    const x = change('firewall', 'x', ['firewall/global/y'])
    const y = change('firewall', 'y', ['firewall/global/x'])
    const writer = recorder()
    await assert.rejects(applyPlan(writer, [a, x, y]), /cycle among firewall\/global\/x, firewall\/global\/y/)
    assert.deepEqual(writer.log, [])
    checkPlan([a, b])
  })
})
