/**
 * `--to NAME:PORT` for the live doctor: a DNS name and port is a destination (resolved in the
 * source pod first); a malformed name is bad input (exit 2) naming what is wrong, before any
 * cluster is asked.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {XccError} from '../../../src/core/errors.js'
import {parseLiveTo} from '../../../src/core/probe/targets.js'

const refused = (text: string, why: RegExp): void => {
  assert.throws(() => parseLiveTo(text), (e: unknown) => e instanceof XccError && e.exitCode === 2 && why.test(e.message), text)
}

describe('the live doctor\'s --to with a name', () => {
  it('a name and a port, a short name, a final dot; lower case as DNS compares', () => {
    assert.deepEqual(parseLiveTo('Backend.Default.svc.cluster.local:80'), {kind: 'name', name: 'backend.default.svc.cluster.local', port: 80})
    assert.deepEqual(parseLiveTo('backend:8080'), {kind: 'name', name: 'backend', port: 8080})
    assert.deepEqual(parseLiveTo('server.default.b.clusters.xcc.test.:53'), {kind: 'name', name: 'server.default.b.clusters.xcc.test.', port: 53})
  })

  it('addresses and services are what they were', () => {
    assert.deepEqual(parseLiveTo('10.2.0.3:80'), {kind: 'address', ip: '10.2.0.3', port: 80})
    assert.equal(parseLiveTo('ctx/default/web').kind, 'service')
  })

  it('malformed names, ports and the rest are bad input (exit 2)', () => {
    refused('a..b:80', /"a\.\.b" has an empty label/)
    refused(`${'x'.repeat(64)}.svc:80`, /is not a valid DNS label \(1-63 characters/)
    refused('a-.b:80', /"a-" is not a valid DNS label/)
    refused(`${'abcdefghi.'.repeat(26)}x:80`, /longer than the 253 characters/)
    refused('backend:0', /not an address:port, a service nor a DNS name/)
    refused('backend:99999', /not an address:port, a service nor a DNS name/)
    refused('backend', /the port is missing/)
    refused('10.0.0.1', /the port is missing/)
    refused('back_end!:80', /not an address:port, a service nor a DNS name/)
  })
})
