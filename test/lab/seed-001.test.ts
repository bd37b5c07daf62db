/**
 * Seed 001 in the lab, as its author saw it: tcpdump on the frontend node shows the pod's SYN to
 * the peered load balancer leaving with the pod IP 10.132.0.10 and retransmitted, never answered;
 * with the fix scenario the same connection is answered and the server saw the node's address.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {after, describe, it} from 'node:test'

import {parseTopology} from '../../src/core/topology/parse.js'
import {destroyDataPlane} from '../../src/lab/runtime/dataplane.js'
import {probeTcp} from '../../src/lab/runtime/servers.js'
import {startLab} from '../support/lab-compare.js'
import {requireLabTools} from '../support/netns.js'

const LAB = `sd${process.pid}`
const NODE = 'node/gke-frontend-cluster-default-pool-d65237bb-1c6s'
const POD = 'pod/frontend/default/curl'

function load(name: string) {
  const path = `templates/scenarios/${name}.yaml`
  return parseTopology(readFileSync(path, 'utf8'), path)
}

/** tcpdump on the node for `seconds` (bounded), lines as the seed prints them. */
function capture(ns: string, seconds: number): {lines: Promise<string[]>; ready: Promise<void>} {
  const child = spawn('ip', ['netns', 'exec', ns, 'timeout', String(seconds), 'tcpdump', '-nn', '-l', '-i', 'eth0', 'net', '10.193.0.0/16'], {stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  const ready = new Promise<void>((resolve) => child.stderr.on('data', (c: Buffer) => c.toString().includes('listening on') && resolve()))
  const lines = new Promise<string[]>((resolve) => child.once('exit', () => resolve(out.split('\n').filter(Boolean))))
  return {lines, ready}
}

describe('seed 001 reproduced in the lab', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['tcpdump', ['--version'], 'tcpdump']])
  after(async () => {
    await destroyDataPlane(LAB)
  })

  it('the SYN leaves the node with the pod IP and is retransmitted, unanswered', async () => {
    const lab = await startLab(load('peered-vpcs-missing-snat'), LAB)
    try {
      const tap = capture((lab.plan.hosts[NODE] as {ns: string}).ns, 5)
      await tap.ready
      const probe = await probeTcp((lab.plan.hosts[POD] as {ns: string}).ns, '10.193.0.3', 32191, {timeoutMs: 3500})
      assert.equal(probe.connected, false)
      assert.equal(probe.code, 28, 'the connection hangs until the timeout (no reset, no ICMP)')
      const syns = (await tap.lines).filter((l) => / IP 10\.132\.0\.10\.\d+ > 10\.193\.0\.3\.32191: Flags \[S\], seq \d+/.test(l))
      assert.ok(syns.length >= 2, `SYN and its retransmits from the pod IP, as in the seed:\n${syns.join('\n')}`)
      assert.equal(new Set(syns.map((l) => /10\.132\.0\.10\.(\d+)/.exec(l)?.[1])).size, 1, 'the same connection retransmitted')
      assert.equal((await tap.lines).filter((l) => /Flags \[S\.\]/.test(l)).length, 0, 'no SYN-ACK ever comes back')
    } finally {
      await lab.destroy()
    }
  })

  it('with the masquerade rule the server answers and saw the node address', async () => {
    const lab = await startLab(load('peered-vpcs-fixed-snat'), LAB)
    try {
      const probe = await probeTcp((lab.plan.hosts[POD] as {ns: string}).ns, '10.193.0.3', 32191)
      assert.equal(probe.connected, true, probe.output)
      assert.ok(probe.clientAddress, 'the echo server reports the client address')
      assert.notEqual(probe.clientAddress, '10.132.0.10', 'not the pod IP any more')
    } finally {
      await lab.destroy()
    }
  })
})
