/**
 * The Compute adapter's pieces that need no server: `plain` (what the decoded client objects
 * become) and the permits that bound the requests in flight of a command.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {GCP_REQUESTS_AT_ONCE, permits, plain} from '../../../src/adapters/gcp/compute.js'

describe('plain', () => {
  it('drops proto3 marker keys and nulls at every depth, and keeps the data as it is', () => {
    const decoded = {
      _name: 'name', name: 'r1', description: null, priority: 0, canIpForward: false, tags: ['a', 'b'],
      networkInterfaces: [{_networkIP: 'networkIP', networkIP: '10.0.0.2', aliasIpRanges: [], accessConfigs: null}],
      labels: {app: 'web'}, nextHopIp: undefined,
    }
    assert.deepEqual(plain(decoded), {name: 'r1', priority: 0, canIpForward: false, tags: ['a', 'b'], networkInterfaces: [{networkIP: '10.0.0.2', aliasIpRanges: []}], labels: {app: 'web'}})
    assert.equal(plain('x'), 'x')
    assert.deepEqual(plain([null, 1, {_a: 'a'}]), [null, 1, {}])
  })
})

describe('permits', () => {
  it('lets at most `size` holders through at once, and every waiter in turn', async () => {
    const acquire = permits(3)
    let inFlight = 0
    let most = 0
    const order: number[] = []
    await Promise.all(Array.from({length: 10}, async (_, i) => {
      const release = await acquire()
      most = Math.max(most, ++inFlight)
      await new Promise((resolve) => setTimeout(resolve, 5))
      order.push(i)
      inFlight--
      release()
    }))
    assert.equal(most, 3)
    assert.equal(order.length, 10)
    assert.ok(GCP_REQUESTS_AT_ONCE > 1)
  })
})
