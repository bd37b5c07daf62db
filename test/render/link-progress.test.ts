/**
 * The apply's progress: plain lines (CI, pipes) per change as it ends, the summary saying what was
 * not applied and how to finish, control characters from API messages escaped, colours only when
 * asked; and listr2's display (interactive) ending with every change shown and the summary.
 */
import assert from 'node:assert/strict'
import {PassThrough} from 'node:stream'
import {describe, it} from 'node:test'

import type {ApplyReport} from '../../src/core/link/apply-report.js'
import {type PlannedChange, changeKey} from '../../src/core/link/changes.js'
import type {DesiredResource} from '../../src/core/ports/gcp-writes.js'
import {applyProgress, changeTitle, progressLine, summaryLines} from '../../src/render/link-progress.js'

const fw: DesiredResource = {kind: 'firewall', scope: {kind: 'global'}, name: 'xcc-l-allow', body: {}}
const sub: DesiredResource = {kind: 'subnetwork', scope: {kind: 'region', name: 'us-west1'}, name: 'xcc-l-via', body: {}}
const peer: DesiredResource = {kind: 'peering', scope: {kind: 'global'}, parent: 'net-a', name: 'xcc-l-a-b', body: {}}
const create = (r: DesiredResource): PlannedChange => ({key: changeKey(r), action: 'create', resource: r, reason: 'test', dependsOn: []})
const report = (over: Partial<ApplyReport>): ApplyReport => ({applied: [], failed: [], notApplied: [], interrupted: false, ms: 1234, requests: 9, retries: 1, ...over})

function collect(stream: PassThrough): () => string {
  let text = ''
  stream.on('data', (c: Buffer) => (text += c.toString()))
  return () => text
}

describe('the apply\'s progress', () => {
  it('plain lines per change as it ends', () => {
    assert.equal(changeTitle(create(sub)), '+ create subnetwork xcc-l-via in us-west1')
    assert.equal(changeTitle({...create(peer), action: 'delete'}), '- delete peering xcc-l-a-b of network net-a')
    assert.equal(progressLine({type: 'start', change: create(fw)}), undefined)
    assert.equal(progressLine({type: 'done', change: create(fw), ms: 312.4, outcome: {ref: fw, result: 'created', requests: 2, retries: 0}}), '+ create firewall rule xcc-l-allow: created in 312 ms')
    assert.equal(progressLine({type: 'done', change: create(fw), ms: 1520, outcome: {ref: fw, result: 'already-exists', requests: 3, retries: 2}}), '+ create firewall rule xcc-l-allow: already there in 1.5 s (2 retries)')
    assert.equal(progressLine({type: 'failed', change: create(fw), ms: 40, error: new Error('missing permission compute.firewalls.create\u001b[2J')}), '+ create firewall rule xcc-l-allow: failed after 40 ms: missing permission compute.firewalls.create\\x1b[2J')
  })

  it('the summary says what was not applied and how to finish', () => {
    assert.deepEqual(summaryLines(report({})), ['0 changes applied in 1.2 s (9 API requests, 1 retries)'])
    assert.deepEqual(summaryLines(report({notApplied: ['a', 'b'], interrupted: true})).slice(1), ['2 not applied (interrupted): a, b', 'running the same command again finishes the job'])
    assert.match(summaryLines(report({notApplied: ['a']}))[1] ?? '', /stopped after a failure/)
  })

  it('writes plain lines when not interactive, coloured only when asked', async () => {
    const stream = new PassThrough()
    const text = collect(stream)
    const progress = await applyProgress([create(fw)], {interactive: false, stream, color: false})
    progress.onEvent({type: 'start', change: create(fw)})
    progress.onEvent({type: 'done', change: create(fw), ms: 5, outcome: {ref: fw, result: 'created', requests: 2, retries: 0}})
    await progress.finish(report({}))
    assert.equal(text(), '+ create firewall rule xcc-l-allow: created in 5 ms\n0 changes applied in 1.2 s (9 API requests, 1 retries)\n')
    const colored = new PassThrough()
    const painted = collect(colored)
    const p2 = await applyProgress([create(fw)], {interactive: false, stream: colored, color: true})
    p2.onEvent({type: 'done', change: create(fw), ms: 5, outcome: {ref: fw, result: 'created', requests: 2, retries: 0}})
    assert.ok(painted().includes('\u001b[32mcreated in 5 ms'), JSON.stringify(painted()))
  })

  it('listr2 shows every change: what it came to, what failed, what never started', async () => {
    const stream = new PassThrough()
    const text = collect(stream)
    const changes = [create(fw), create(sub), create(peer)]
    const progress = await applyProgress(changes, {interactive: true, stream, color: false})
    progress.onEvent({type: 'start', change: changes[0] as PlannedChange})
    progress.onEvent({type: 'start', change: changes[1] as PlannedChange})
    progress.onEvent({type: 'done', change: changes[0] as PlannedChange, ms: 12, outcome: {ref: fw, result: 'created', requests: 2, retries: 0}})
    progress.onEvent({type: 'failed', change: changes[1] as PlannedChange, ms: 30, error: new Error('quota exceeded')})
    await progress.finish(report({notApplied: [changes[2]?.key as string]}))
    const out = text()
    assert.match(out, /\+ create firewall rule xcc-l-allow: created in 12 ms/)
    assert.match(out, /\+ create subnetwork xcc-l-via in us-west1.*failed after 30 ms: quota exceeded/)
    assert.match(out, /\+ create peering xcc-l-a-b of network net-a.*not applied/)
    assert.match(out, /1 not applied \(stopped after a failure\)/)
  })
})
