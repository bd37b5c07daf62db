/**
 * The live doctor's human report against the lab (issue 12 §6), as a user reads it in a pipe:
 * tcpdump lines cut with `…` at 160 columns (or COLUMNS), capture times relative to the probe's
 * first packet, while --json keeps the whole lines and tcpdump's epoch times.
 */
import assert from 'node:assert/strict'
import {type SpawnSyncReturns, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {requireLabTools} from '../support/netns.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const HOME = mkdtempSync(join(tmpdir(), 'xcc-live-text-'))
const LAB = `lt${process.pid}`
const EPOCH = /\b1\d{9}\.\d{6}\b/
const TCPDUMP = / IP \d+\.\d+\.\d+\.\d+\.\d+ > \d+\.\d+\.\d+\.\d+\.\d+: /
const FLOW = ['doctor', '--from', 'frontend', '--to', '10.193.0.3:32191', '--to-context', 'backend', '--timeout', '2s']

function xcc(args: readonly string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['COLUMNS', 'FORCE_COLOR', 'CI'].includes(k))) as Record<string, string>
  return spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', timeout: 90_000, env: {...clean, XCC_HOME: HOME, KUBECONFIG: join(HOME, 'labs', LAB, 'kubeconfig'), NO_COLOR: '1', ...env}})
}

describe('the live doctor\'s text report (the lab of seed 001)', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['tcpdump', ['--version'], 'tcpdump'], ['openssl', ['version'], 'openssl']])
  before(() => {
    const up = xcc(['lab', 'up', '--scenario', 'peered-vpcs-missing-snat', '--name', LAB])
    assert.equal(up.status, 0, up.stderr)
  })
  after(() => {
    xcc(['lab', 'down', '--name', LAB])
    rmSync(HOME, {recursive: true, force: true})
  })

  it('in a pipe: tcpdump lines cut with … at 160 columns, times since the probe\'s first packet; --json keeps them whole', () => {
    const r = xcc(FLOW)
    assert.equal(r.status, 1, r.stderr)
    const tcpdump = r.stdout.split('\n').filter((l) => TCPDUMP.test(l))
    assert.ok(tcpdump.length >= 6, r.stdout)
    for (const line of tcpdump) assert.ok(line.length <= 160 && line.endsWith('…'), `cut at 160 columns: ${line}`)
    assert.doesNotMatch(r.stdout, EPOCH, 'no epoch seconds in the text')
    assert.match(r.stdout, / \+0\.000s \S+ +(?:In|Out) +IP /, 'the first packet is +0.000s')
    assert.match(r.stdout, / \+[1-9]\.\d{3}s \S+ +(?:In|Out) +IP /, 'a retransmitted SYN a second or more later')

    const json = xcc([...FLOW, '--json'])
    assert.equal(json.status, 1, json.stderr)
    const packets = (JSON.parse(json.stdout) as {observations: {captures: Array<{packets: Array<{time: number; line: string}>}>}}).observations.captures.flatMap((c) => c.packets)
    assert.ok(packets.length > 0)
    for (const p of packets) {
      assert.ok(p.time > 1e9, 'epoch seconds in --json')
      assert.match(p.line, EPOCH, 'the whole tcpdump line in --json')
    }
    assert.ok(packets.some((p) => p.line.length > 160), 'lines the text had to cut')
  })

  it('COLUMNS sets where a pipe cuts', () => {
    const r = xcc(FLOW, {COLUMNS: '100'})
    const tcpdump = r.stdout.split('\n').filter((l) => TCPDUMP.test(l))
    assert.ok(tcpdump.length >= 6)
    for (const line of tcpdump) assert.ok(line.length <= 100 && line.endsWith('…'), line)
  })
})
