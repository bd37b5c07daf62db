import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {IntervalSet} from '../../../src/core/net/interval-set.js'
import {cidr, cidrContains, cidrContainsIp, cidrsOverlap, formatCidr, formatIp, ip, parseCidr, parseIp, subtractCidrs} from '../../../src/core/net/ipv4.js'

describe('IPv4 addresses', () => {
  it('parses and formats dotted quads round-trip', () => {
    for (const text of ['0.0.0.0', '10.132.0.10', '255.255.255.255', '192.168.1.1']) {
      assert.equal(formatIp(parseIp(text) as number), text)
    }
  })

  it('rejects malformed addresses', () => {
    for (const text of ['256.0.0.1', '10.0.0', '10.0.0.1.2', 'a.b.c.d', '', ' 10.0.0.1', '010.0.0.1', '10.0.0.1/32']) {
      assert.equal(parseIp(text), undefined, text)
    }
  })
})

describe('CIDR blocks', () => {
  it('rejects host bits, bad prefixes and bare addresses unless allowed', () => {
    assert.match(String((parseCidr('10.0.0.1/8') as {reason: string}).reason), /host bits are set \(the network address is 10\.0\.0\.0\/8\)/)
    assert.equal(parseCidr('10.0.0.0/33').ok, false)
    assert.equal(parseCidr('10.0.0.0/').ok, false)
    assert.equal(parseCidr('10.0.0.0').ok, false)
    assert.deepEqual(parseCidr('10.0.0.7', {allowBareIp: true}), {ok: true, cidr: {base: ip('10.0.0.7'), prefix: 32}})
    assert.deepEqual(parseCidr('0.0.0.0/0'), {ok: true, cidr: {base: 0, prefix: 0}})
  })

  it('answers containment and overlap exactly', () => {
    assert.ok(cidrContainsIp(cidr('10.0.0.0/8'), ip('10.193.0.3')))
    assert.ok(!cidrContainsIp(cidr('10.0.0.0/8'), ip('11.0.0.0')))
    assert.ok(cidrContainsIp(cidr('0.0.0.0/0'), ip('255.255.255.255')))
    assert.ok(cidrContains(cidr('10.0.0.0/8'), cidr('10.193.0.0/16')))
    assert.ok(!cidrContains(cidr('10.193.0.0/16'), cidr('10.0.0.0/8')))
    assert.ok(cidrsOverlap(cidr('10.193.0.0/16'), cidr('10.0.0.0/8')))
    assert.ok(!cidrsOverlap(cidr('10.193.0.0/16'), cidr('10.194.0.0/16')))
  })

  it('subtracts a block from a larger one as the minimal CIDR list', () => {
    const pieces = subtractCidrs(cidr('10.0.0.0/8'), [cidr('10.193.0.0/16')]).map(formatCidr)
    assert.deepEqual(pieces, [
      '10.0.0.0/9', '10.128.0.0/10', '10.192.0.0/16', '10.194.0.0/15', '10.196.0.0/14', '10.200.0.0/13', '10.208.0.0/12', '10.224.0.0/11',
    ])
    const back = IntervalSet.of(pieces.map(cidr)).union(IntervalSet.of([cidr('10.193.0.0/16')]))
    assert.ok(back.equals(IntervalSet.of([cidr('10.0.0.0/8')])))
    assert.deepEqual(subtractCidrs(cidr('10.0.0.0/16'), [cidr('10.0.0.0/8')]), [])
    assert.deepEqual(subtractCidrs(cidr('10.0.0.0/16'), [cidr('11.0.0.0/8')]).map(formatCidr), ['10.0.0.0/16'])
  })
})

describe('interval sets', () => {
  it('computes union, intersection and difference of ranges', () => {
    const hc = IntervalSet.of([cidr('35.191.0.0/16'), cidr('130.211.0.0/22')])
    const allowed = IntervalSet.of([cidr('35.191.0.0/17')])
    assert.equal(hc.subtract(allowed).toString(), '35.191.128.0/17, 130.211.0.0/22')
    assert.equal(hc.intersect(allowed).toString(), '35.191.0.0/17')
    assert.ok(hc.subtract(IntervalSet.of([cidr('0.0.0.0/0')])).isEmpty())
    assert.equal(IntervalSet.of([cidr('10.0.0.0/25'), cidr('10.0.0.128/25')]).toString(), '10.0.0.0/24')
    assert.ok(hc.has(ip('130.211.3.255')) && !hc.has(ip('130.211.4.0')))
    assert.equal(IntervalSet.of([cidr('0.0.0.0/0')]).size(), 2 ** 32)
  })
})
