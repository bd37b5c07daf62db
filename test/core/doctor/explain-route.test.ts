/**
 * networkHolding answers once per model and address (with or without the network to leave out):
 * a memoised answer never leaks from one question into another, and a new model is asked afresh.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {networkHolding} from '../../../src/core/doctor/explain-route.js'
import {parseIp} from '../../../src/core/net/ipv4.js'
import {parseTopology} from '../../../src/core/topology/parse.js'

const FILE = 'test/fixtures/topologies/peering-not-transitive.yaml'
const text = readFileSync(FILE, 'utf8')
const ip = (s: string): number => {
  const p = parseIp(s)
  assert.ok(p !== undefined)
  return p
}

describe('networkHolding', () => {
  it('finds the subnet\'s network, another one when that is left out, a custom route\'s, or none', () => {
    const extra = `${text}\n`.replace('routes:\n', 'routes:\n- {name: hub-to-partner, network: net-hub, destRange: 172.16.0.0/12, nextHopIp: 10.12.0.9}\n- {name: hub-to-partner-24, network: net-hub, destRange: 172.16.5.0/24, nextHopIp: 10.12.0.9}\n- {name: a-to-partner-24, network: net-a, destRange: 172.16.5.0/24, nextHopIp: 10.10.0.9}\n')
    const model = parseTopology(extra, FILE)
    assert.deepEqual(networkHolding(model, ip('10.21.3.4')), {network: 'net-b'}, 'a secondary range')
    assert.equal(networkHolding(model, ip('10.21.3.4'), 'net-b'), undefined, 'left out, nothing else holds it')
    assert.deepEqual(networkHolding(model, ip('10.21.3.4')), {network: 'net-b'}, 'the answer with `except` did not replace this one')
    assert.equal(networkHolding(model, ip('172.16.5.1'))?.route?.name, 'a-to-partner-24', 'the most specific custom route, the first of equals (networks in order)')
    assert.equal(networkHolding(model, ip('172.16.5.1'), 'net-a')?.route?.name, 'hub-to-partner-24', 'the other network\'s when the first is left out')
    assert.equal(networkHolding(model, ip('172.16.9.1'))?.route?.name, 'hub-to-partner')
    assert.equal(networkHolding(model, ip('172.16.9.1'), 'net-hub'), undefined)
    assert.equal(networkHolding(model, ip('8.8.8.8')), undefined, 'routes to the internet hold nothing')
    const plain = parseTopology(text, FILE)
    assert.equal(networkHolding(plain, ip('172.16.5.1')), undefined, 'another model is asked afresh')
  })
})
