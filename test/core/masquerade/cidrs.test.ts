/**
 * src/core/masquerade/cidrs.ts: the ranges `xcc masquerade` is asked to masquerade — checked
 * before anything is read (exit 2 naming the value; SNAT-04: IPv4 network addresses only) and
 * against the cluster's own ranges (SNAT-17: the cluster's own pods, nodes and services are
 * never masqueraded).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {type OwnRanges, checkAgainstOwnRanges, parseMasqueradeCidrs} from '../../../src/core/masquerade/cidrs.js'
import {type Cidr, cidr, cidrsOverlap, formatCidr, maskOf} from '../../../src/core/net/ipv4.js'
import {seededRng} from '../../support/random.js'
import {assertBadInput} from '../../support/xcc-error.js'

const texts = (cs: readonly Cidr[]) => cs.map(formatCidr)
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

describe('parseMasqueradeCidrs', () => {
  it('comma lists and repeated flags, in the order given, blanks around entries trimmed', () => {
    assert.deepEqual(texts(parseMasqueradeCidrs(['10.193.0.0/16'])), ['10.193.0.0/16'])
    assert.deepEqual(texts(parseMasqueradeCidrs(['10.193.0.0/16,10.194.0.0/16', '172.20.0.0/16'])), ['10.193.0.0/16', '10.194.0.0/16', '172.20.0.0/16'])
    assert.deepEqual(texts(parseMasqueradeCidrs([' 10.2.0.0/16 , 10.1.0.0/16 '])), ['10.2.0.0/16', '10.1.0.0/16'])
    assert.deepEqual(texts(parseMasqueradeCidrs(['10.193.0.3/32'])), ['10.193.0.3/32'])
    assert.deepEqual(texts(parseMasqueradeCidrs(['128.0.0.0/1'])), ['128.0.0.0/1'])
  })

  it('nothing given, or only blanks: exit 2 with an example', () => {
    assertBadInput(() => parseMasqueradeCidrs([]), /give at least one CIDR/)
    assertBadInput(() => parseMasqueradeCidrs(['']), /give at least one CIDR/)
    assertBadInput(() => parseMasqueradeCidrs([' , ']), /give at least one CIDR/)
  })

  it('an empty entry in a list is exit 2 naming the list', () => {
    assertBadInput(() => parseMasqueradeCidrs(['10.1.0.0/16,,10.2.0.0/16']), /empty entry/, /10\.1\.0\.0\/16,,10\.2\.0\.0\/16/)
    assertBadInput(() => parseMasqueradeCidrs(['10.1.0.0/16,']), /empty entry/)
    assertBadInput(() => parseMasqueradeCidrs([',10.1.0.0/16']), /empty entry/)
    assertBadInput(() => parseMasqueradeCidrs(['10.1.0.0/16', '']), /empty entry/)
  })

  it('SNAT-04: host bits set is exit 2 naming the value and the network address', () => {
    const e = assertBadInput(() => parseMasqueradeCidrs(['10.193.0.1/16']), /--cidr 10\.193\.0\.1\/16/, /host bits/, /10\.193\.0\.0\/16/)
    assert.ok(e.hint)
    assertBadInput(() => parseMasqueradeCidrs(['10.0.0.0/8,10.193.5.5/24']), /10\.193\.5\.5\/24/)
  })

  it('bad syntax is exit 2 naming the value', () => {
    for (const bad of ['banana', '10.193.0.0', '10.193.0.0/33', '10.193.0.0/', '300.1.0.0/16', '10.193/16', '10.193.0.0/16/1', '10.193.0.0/1a', '010.1.0.0/16', '-1.0.0.0/8']) {
      assertBadInput(() => parseMasqueradeCidrs([bad]), new RegExp(`--cidr ${esc(bad)}`))
    }
  })

  it('/0 is refused (it would masquerade every destination, the cluster\'s own too: SNAT-17)', () => {
    assertBadInput(() => parseMasqueradeCidrs(['0.0.0.0/0']), /0\.0\.0\.0\/0/, /every destination/)
  })

  it('IPv6 is refused (SNAT-04: the agent masquerades IPv4 only without --enable-ipv6)', () => {
    assertBadInput(() => parseMasqueradeCidrs(['fd00::/8']), /fd00::\/8/, /IPv6/)
    assertBadInput(() => parseMasqueradeCidrs(['10.1.0.0/16,2001:db8::/32']), /2001:db8::\/32/, /IPv6/)
  })

  it('overlaps and duplicates are refused; the message names both ranges, whichever comes first', () => {
    assertBadInput(() => parseMasqueradeCidrs(['10.0.0.0/8', '10.193.0.0/16']), /--cidr 10\.193\.0\.0\/16/, /overlaps 10\.0\.0\.0\/8/)
    assertBadInput(() => parseMasqueradeCidrs(['10.193.0.0/16,10.0.0.0/8']), /--cidr 10\.0\.0\.0\/8/, /overlaps 10\.193\.0\.0\/16/)
    assertBadInput(() => parseMasqueradeCidrs(['10.1.0.0/16', '10.1.0.0/16']), /10\.1\.0\.0\/16: overlaps 10\.1\.0\.0\/16/)
    assertBadInput(() => parseMasqueradeCidrs(['10.1.0.0/16,10.2.0.0/16', '10.2.128.0/17']), /10\.2\.128\.0\/17/, /10\.2\.0\.0\/16/)
  })

  it('the flag name given is the one in the message', () => {
    assertBadInput(() => parseMasqueradeCidrs(['x'], '--range'), /^--range x/)
    assertBadInput(() => parseMasqueradeCidrs([], '--range'), /^--range: /)
  })

  it('random lists: disjoint ranges parse to themselves in order; any overlap is refused naming both (seeded)', () => {
    const rng = seededRng(17)
    const randomCidr = (): Cidr => {
      const prefix = 1 + Math.floor(rng() * 32)
      return {base: (Math.floor(rng() * 2 ** 32) & maskOf(prefix)) >>> 0, prefix}
    }
    for (let n = 0; n < 300; n++) {
      const list = Array.from({length: 1 + Math.floor(rng() * 6)}, randomCidr)
      const clash = list.findIndex((c, i) => list.slice(0, i).some((o) => cidrsOverlap(o, c)))
      const input = list.map(formatCidr)
      // split into one or more flag values
      const values = rng() < 0.5 ? [input.join(',')] : input
      if (clash < 0) {
        assert.deepEqual(parseMasqueradeCidrs(values), list)
      } else {
        const first = list.slice(0, clash).find((o) => cidrsOverlap(o, list[clash] as Cidr)) as Cidr
        assertBadInput(() => parseMasqueradeCidrs(values), new RegExp(`--cidr ${esc(formatCidr(list[clash] as Cidr))}: overlaps ${esc(formatCidr(first))}`))
      }
    }
  })
})

describe('SNAT-17 checkAgainstOwnRanges', () => {
  const own: OwnRanges = {
    podRanges: [
      {cidr: cidr('10.132.0.0/24'), node: 'node-a'},
      {cidr: cidr('10.132.1.0/24'), node: 'node-b'},
      {cidr: cidr('10.132.2.0/24'), node: 'node-c'},
    ],
    nodeAddresses: [
      {cidr: cidr('10.209.0.2/32'), node: 'node-a'},
      {cidr: cidr('10.209.0.3/32'), node: 'node-b'},
    ],
    serviceAddresses: [{cidr: cidr('10.135.240.1/32'), service: 'default/kubernetes'}],
  }
  const check = (...cs: string[]) => checkAgainstOwnRanges(cs.map((c) => cidr(c)), own, 'frontend')

  it('SNAT-17: a peer range that touches none of the cluster\'s ranges is fine', () => {
    check('10.193.0.0/16')
    check('10.132.3.0/24', '10.209.0.4/32', '10.135.240.2/32', '172.20.0.0/14')
    checkAgainstOwnRanges([cidr('10.0.0.0/8')], {podRanges: [], nodeAddresses: [], serviceAddresses: []}, 'empty')
  })

  it('SNAT-17: a range containing node pod ranges is exit 2 naming the first and counting the others, and the context', () => {
    assertBadInput(() => check('10.132.0.0/14'), /--cidr 10\.132\.0\.0\/14 contains the pod range 10\.132\.0\.0\/24 of node node-a/, /context "frontend"/, /and 2 more node pod ranges/)
    assertBadInput(() => check('10.132.1.0/24'), /contains the pod range 10\.132\.1\.0\/24 of node node-b/)
    const one = assertBadInput(() => check('10.132.2.0/23'), /contains the pod range 10\.132\.2\.0\/24 of node node-c/)
    assert.doesNotMatch(one.message, /more node pod ranges/)
  })

  it('SNAT-17: a range inside a node pod range (overlap) is exit 2 saying it overlaps', () => {
    assertBadInput(() => check('10.132.0.128/25'), /--cidr 10\.132\.0\.128\/25 overlaps the pod range 10\.132\.0\.0\/24 of node node-a/)
    assertBadInput(() => check('10.132.1.7/32'), /overlaps the pod range 10\.132\.1\.0\/24 of node node-b/)
  })

  it('SNAT-17: a range containing a node IP is exit 2 naming the node', () => {
    assertBadInput(() => check('10.209.0.0/16'), /--cidr 10\.209\.0\.0\/16 contains node node-a \(10\.209\.0\.2\/32\)/, /context "frontend"/)
    assertBadInput(() => check('10.209.0.3/32'), /contains node node-b/)
  })

  it('SNAT-17: a range containing a service ClusterIP is exit 2 naming the service', () => {
    assertBadInput(() => check('10.135.240.0/20'), /--cidr 10\.135\.240\.0\/20 contains the ClusterIP 10\.135\.240\.1\/32 of service default\/kubernetes/, /context "frontend"/)
  })

  it('SNAT-17: every given range is checked, not only the first', () => {
    assertBadInput(() => check('10.193.0.0/16', '10.0.0.0/8'), /--cidr 10\.0\.0\.0\/8/)
  })
})
