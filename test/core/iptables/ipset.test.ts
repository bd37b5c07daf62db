/**
 * `ipset save` text and `-m set --match-set` (kube-proxy's IPVS mode, Calico): the sets are
 * parsed once and a packet is tested against them as xt_set does. The matching rules below
 * were checked on the kernel (fewer flags than dimensions, nomatch, --return-nomatch, bitmap).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {HostContext, IpSets, IptPacket} from '../../../src/core/iptables/index.js'
import {evaluateHook, parseIpsetSave, setsNamedBy} from '../../../src/core/iptables/index.js'
import {load, nodeHost, only, packet, summarize, table} from './builders.js'

const SAVE = [
  '# kube-proxy (IPVS) and Calico',
  'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x8a6f0c21',
  'add KUBE-CLUSTER-IP 10.96.0.1,tcp:443',
  'add KUBE-CLUSTER-IP 10.96.0.10,udp:53',
  'create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536',
  'add KUBE-LOOP-BACK 10.244.1.5,tcp:8080,10.244.1.5',
  'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535',
  'add KUBE-NODE-PORT-TCP 30080',
  '',
  'create cali40masq-ipam-pools hash:net family inet hashsize 1024 maxelem 1048576 timeout 0',
  'add cali40masq-ipam-pools 10.244.0.0/16',
  'add cali40masq-ipam-pools 10.244.9.0/24 nomatch',
  'create cali40this-host hash:ip family inet hashsize 1024 maxelem 1048576 timeout 300 counters comment',
  'add cali40this-host 10.0.0.11 timeout 120 packets 5 bytes 300 comment "eth0 address"',
  'create cali60all-ipam-pools hash:net family inet6',
  'add cali60all-ipam-pools fd00:10:244::/64',
  'create both list:set size 8',
  'add both cali40this-host',
  'add both KUBE-CLUSTER-IP',
  'create masked hash:ip family inet netmask 24',
  'add masked 10.5.5.5',
  'create bits hash:ip family inet hashsize 1024 maxelem 65536 bitmask 255.255.0.255',
  'add bits 10.1.2.3',
  '',
].join('\n')

function sets(text = SAVE): IpSets {
  const {ipsets, errors} = parseIpsetSave(text, 'node ipsets')
  assert.deepEqual(errors, [])
  return ipsets
}

/** whether `-m set <args>` matches the packet, with these sets on the host */
function inSet(args: string, p: IptPacket, ipsets: IpSets | null = sets()): string {
  const host: HostContext = ipsets ? {...nodeHost, ipsets} : nodeHost
  const outcome = only(evaluateHook(load(table('filter', [`-A FORWARD -m set ${args} -j DROP`])), 'filter', 'FORWARD', p, host))
  return outcome.kind === 'unknown' ? `unknown: ${outcome.reason}` : summarize(outcome) === 'DROP by filter/FORWARD#1' ? 'match' : 'no match'
}

describe('ipsets', () => {
  it('reads ipset save text: create and add lines of every type kube-proxy and Calico use, comments, blank lines, timeouts and counters', () => {
    assert.deepEqual(sets().names, ['KUBE-CLUSTER-IP', 'KUBE-LOOP-BACK', 'KUBE-NODE-PORT-TCP', 'cali40masq-ipam-pools', 'cali40this-host', 'cali60all-ipam-pools', 'both', 'masked', 'bits'])
  })

  it('reports each malformed line with its number and what is wrong', () => {
    const text = [
      'create a hash:ip',
      'create b hash:bogus',
      'create c hash:ip sizeish 4',
      'add nowhere 10.0.0.1',
      'add a 10.0.0.300',
      'add a 10.0.0.1',
      'add a 10.0.0.1',
      'create p bitmap:port range 1000-2000',
      'add p 3000',
      'create n hash:net',
      'add n 10.0.0.0/0',
      'create ipp hash:ip,port',
      'add ipp 10.0.0.1',
      'add a 10.0.0.2 nomatch',
      'create a-set-name-that-is-far-too-long-for-ipset hash:ip',
      'flush a',
      'create l list:set',
      'add l missing',
    ].join('\n')
    assert.deepEqual(parseIpsetSave(text, 't').errors.map((e) => `${e.line}: ${e.message}`), [
      '2: unknown set type hash:bogus',
      '3: unknown create option sizeish',
      '4: add to set nowhere, which no create line before it defines',
      '5: 10.0.0.300: not an IPv4 address',
      '7: 10.0.0.1 is added to a twice',
      '9: 3000 is outside the range of p',
      '11: 10.0.0.0/0: not an IPv4 network with a prefix of 1 to 32',
      '13: 10.0.0.1: a hash:ip,port entry has 2 parts separated by commas',
      '14: nomatch: sets of type hash:ip have no nomatch entries',
      '15: set name a-set-name-that-is-far-too-long-for-ipset is longer than 31 characters',
      '16: only create and add lines belong in ipset save output (got flush)',
      '18: list:set l names set missing, which is not defined',
    ])
  })

  it('-m set tests the packet\'s addresses and ports in the order of the flags, the protocol with the port', () => {
    const svc = packet({dst: '10.96.0.1', dstPort: 443})
    assert.equal(inSet('--match-set KUBE-CLUSTER-IP dst,dst', svc), 'match')
    assert.equal(inSet('--match-set KUBE-CLUSTER-IP dst,dst', {...svc, protocol: 'udp'}), 'no match')
    assert.equal(inSet('--match-set KUBE-CLUSTER-IP dst,src', svc), 'no match')
    assert.equal(inSet('! --match-set KUBE-CLUSTER-IP dst,dst', svc), 'no match')
    const hairpin = packet({src: '10.244.1.5', dst: '10.244.1.5', dstPort: 8080})
    assert.equal(inSet('--match-set KUBE-LOOP-BACK dst,dst,src', hairpin), 'match')
    assert.equal(inSet('--match-set KUBE-LOOP-BACK dst,dst,src', {...hairpin, src: 10}), 'no match')
    assert.equal(inSet('--match-set KUBE-NODE-PORT-TCP dst', packet({dstPort: 30080})), 'match')
    assert.equal(inSet('--match-set cali40this-host src', packet({src: '10.0.0.11'})), 'match')
  })

  it('needs as many flags as the set has dimensions (extra ones are ignored); an IPv6 set never matches', () => {
    const svc = packet({dst: '10.96.0.1', dstPort: 443})
    assert.equal(inSet('--match-set KUBE-CLUSTER-IP dst', svc), 'no match')
    assert.equal(inSet('! --match-set KUBE-CLUSTER-IP dst', svc), 'match')
    assert.equal(inSet('--match-set KUBE-CLUSTER-IP dst,dst,src', svc), 'match')
    assert.equal(inSet('--match-set cali60all-ipam-pools src', svc), 'no match')
  })

  it('in a hash:net the most specific network that holds the address decides: nomatch keeps it out, and --return-nomatch matches only then', () => {
    assert.equal(inSet('--match-set cali40masq-ipam-pools src', packet({src: '10.244.3.7'})), 'match')
    assert.equal(inSet('--match-set cali40masq-ipam-pools src', packet({src: '10.244.9.7'})), 'no match')
    assert.equal(inSet('--match-set cali40masq-ipam-pools src --return-nomatch', packet({src: '10.244.9.7'})), 'match')
    assert.equal(inSet('--match-set cali40masq-ipam-pools src --return-nomatch', packet({src: '10.244.3.7'})), 'no match')
  })

  it('a list:set holds what any member set holds; a netmask or bitmask set holds whole networks', () => {
    assert.equal(inSet('--match-set both dst,dst', packet({dst: '10.96.0.10', protocol: 'udp', dstPort: 53})), 'match')
    assert.equal(inSet('--match-set both dst,dst', packet({dst: '10.0.0.11'})), 'match')
    assert.equal(inSet('--match-set both dst,dst', packet({dst: '10.0.0.12'})), 'no match')
    assert.equal(inSet('--match-set masked dst', packet({dst: '10.5.5.200'})), 'match')
    // ipset test on the kernel: 10.1.9.3 is in a set holding 10.1.2.3 with bitmask 255.255.0.255
    assert.equal(inSet('--match-set bits dst', packet({dst: '10.1.9.3'})), 'match')
    assert.equal(inSet('--match-set bits dst', packet({dst: '10.1.9.4'})), 'no match')
  })

  it('is unknown only when the host\'s ipsets are absent or do not define the set, and says which', () => {
    assert.match(inSet('--match-set KUBE-CLUSTER-IP dst,dst', packet(), null), /^unknown: -m set --match-set KUBE-CLUSTER-IP: the host's ipsets are not known/)
    assert.match(inSet('--match-set elsewhere dst', packet()), /^unknown: -m set --match-set elsewhere: set elsewhere is not among the host's ipsets \(node ipsets\)/)
  })

  it('lists the sets a ruleset names, with their rules, for the loader to check', () => {
    const ruleset = load(table('nat', ['-A POSTROUTING -m set --match-set a src -m set ! --match-set b dst -j MASQUERADE']))
    assert.deepEqual(setsNamedBy(ruleset).map((s) => `${s.name} ${s.rule.chain}#${s.rule.index}`), ['a POSTROUTING#1', 'b POSTROUTING#1'])
  })
})
