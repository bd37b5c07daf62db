import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {HookOutcome} from '../../../src/core/iptables/index.js'
import {evaluateHook} from '../../../src/core/iptables/index.js'
import {formatIp} from '../../../src/core/net/ipv4.js'
import {addressesOf, hitsOf, load, nodeHost, only, packet, summarize, table} from './builders.js'

function verdictOf(outcome: HookOutcome): Extract<HookOutcome, {kind: 'verdict'}> {
  assert.equal(outcome.kind, 'verdict', outcome.kind === 'unknown' ? outcome.reason : '')
  return outcome as Extract<HookOutcome, {kind: 'verdict'}>
}

const leaving = packet({src: '10.132.0.10', dst: '8.8.8.8', dstPort: 443, outIface: 'eth0'})

function postrouting(rule: string, p = leaving): Extract<HookOutcome, {kind: 'verdict'}> {
  return verdictOf(only(evaluateHook(load(table('nat', [`-A POSTROUTING ${rule}`])), 'nat', 'POSTROUTING', p, nodeHost)))
}

describe('evaluating targets', () => {
  it('ACCEPT, DROP and REJECT (with --reject-with) decide the packet', () => {
    const ruleset = load(
      table('filter', [
        '-A FORWARD -p udp -j REJECT --reject-with icmp-port-unreachable',
        '-A FORWARD -d 8.8.8.8/32 -j DROP',
        '-A FORWARD -j ACCEPT',
      ]),
    )
    const verdict = (p = packet()): string => summarize(only(evaluateHook(ruleset, 'filter', 'FORWARD', p, nodeHost)))
    assert.equal(verdict(packet({protocol: 'udp'})), 'REJECT by filter/FORWARD#1')
    assert.equal(verdict(packet({dst: '8.8.8.8'})), 'DROP by filter/FORWARD#2')
    assert.equal(verdict(), 'ACCEPT by filter/FORWARD#3')
  })

  it('MASQUERADE takes the output interface\'s address and keeps the source port', () => {
    const outcome = postrouting('! -d 10.0.0.0/8 -m addrtype ! --dst-type LOCAL -j MASQUERADE')
    assert.equal(outcome.verdict, 'ACCEPT')
    assert.equal(addressesOf(outcome.packet), '10.209.0.2:47162 > 8.8.8.8:443')
    assert.equal(outcome.nat?.kind, 'MASQUERADE')
    assert.equal(addressesOf(outcome.nat?.before ?? leaving), '10.132.0.10:47162 > 8.8.8.8:443')
    assert.equal(outcome.nat?.randomPort, false)
    assert.deepEqual(outcome.nat?.rule, outcome.decidedBy)
  })

  it('MASQUERADE --random-fully / --random marks the source port as unpredictable', () => {
    assert.equal(postrouting('-j MASQUERADE --random-fully').nat?.randomPort, true)
    assert.equal(postrouting('-j MASQUERADE --random').nat?.randomPort, true)
  })

  it('MASQUERADE --to-ports keeps a port inside the range and picks an unpredictable one outside it', () => {
    const inside = postrouting('-p tcp -j MASQUERADE --to-ports 40000-50000')
    assert.equal(inside.packet.srcPort, 47162)
    assert.equal(inside.nat?.randomPort, false)
    const outside = postrouting('-p tcp -j MASQUERADE --to-ports 1024-2047')
    assert.equal(outside.nat?.randomPort, true)
    assert.equal(postrouting('-p tcp -j MASQUERADE --to-ports 5000').packet.srcPort, 5000)
  })

  it('MASQUERADE drops the packet when the output interface has no address (the kernel\'s masquerade_tg)', () => {
    const outcome = postrouting('-j MASQUERADE', {...leaving, outIface: 'veth-noaddr'})
    assert.equal(outcome.verdict, 'DROP')
  })

  it('SNAT --to-source sets the source address and optionally a port range', () => {
    assert.equal(addressesOf(postrouting('-j SNAT --to-source 10.210.200.2').packet), '10.210.200.2:47162 > 8.8.8.8:443')
    assert.equal(postrouting('-j SNAT --to-source 10.210.200.2').nat?.kind, 'SNAT')
    const ranged = postrouting('-p tcp -j SNAT --to-source 10.210.200.2:1024-2047 --random-fully --persistent')
    assert.equal(formatIp(ranged.packet.src), '10.210.200.2')
    assert.equal(ranged.nat?.randomPort, true)
  })

  it('SNAT to an address range is unsupported: the kernel picks the address by hash', () => {
    const ruleset = load(table('nat', ['-A POSTROUTING -j SNAT --to-source 10.210.200.2-10.210.200.9']))
    const outcome = only(evaluateHook(ruleset, 'nat', 'POSTROUTING', leaving, nodeHost))
    assert.equal(outcome.kind, 'unknown')
    assert.match(outcome.kind === 'unknown' ? outcome.reason : '', /address range/)
  })

  it('DNAT --to-destination sets the destination and keeps the port unless one is given', () => {
    const ruleset = load(
      table('nat', [
        '-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.210.200.7:80',
        '-A PREROUTING -p udp -j DNAT --to-destination 10.210.200.8',
        '-A PREROUTING -p tcp -m tcp --dport 9000 -j DNAT --to-destination :9443',
      ]),
    )
    const dnat = (p = packet()): string => {
      const outcome = verdictOf(only(evaluateHook(ruleset, 'nat', 'PREROUTING', p, nodeHost)))
      return `${outcome.nat?.kind} ${addressesOf(outcome.packet)}`
    }
    assert.equal(dnat(packet({dstPort: 8080})), 'DNAT 10.132.0.10:47162 > 10.210.200.7:80')
    assert.equal(dnat(packet({protocol: 'udp', dstPort: 5353})), 'DNAT 10.132.0.10:47162 > 10.210.200.8:5353')
    assert.equal(dnat(packet({dstPort: 9000})), 'DNAT 10.132.0.10:47162 > 10.193.0.3:9443')
  })

  it('a NAT target in a hook where the kernel refuses it is unknown, not silently applied', () => {
    const outcome = only(evaluateHook(load(table('nat', ['-A PREROUTING -j MASQUERADE'])), 'nat', 'PREROUTING', packet(), nodeHost))
    assert.equal(outcome.kind, 'unknown')
    assert.match(outcome.kind === 'unknown' ? outcome.reason : '', /not valid in nat PREROUTING/)
  })

  it('MARK --set-xmark/--set-mark/--or-mark/--and-mark/--xor-mark update the mark and evaluation continues', () => {
    const markAfter = (rule: string, mark: number): number => {
      const ruleset = load(table('mangle', [`-A PREROUTING ${rule}`]))
      const outcome = verdictOf(only(evaluateHook(ruleset, 'mangle', 'PREROUTING', packet({mark}), nodeHost)))
      assert.deepEqual(outcome.decidedBy, {table: 'mangle', chain: 'PREROUTING', policy: 'ACCEPT'})
      return outcome.packet.mark
    }
    assert.equal(markAfter('-j MARK --set-xmark 0x4000/0x4000', 0x8001), 0xc001)
    assert.equal(markAfter('-j MARK --set-xmark 0x4000/0x0', 0xc000), 0x8000)
    assert.equal(markAfter('-j MARK --set-xmark 0x1/0xffffffff', 0xc000), 0x1)
    assert.equal(markAfter('-j MARK --set-mark 0x10/0xf0', 0xff), 0x1f)
    assert.equal(markAfter('-j MARK --set-mark 0x2', 0xff), 0x2)
    assert.equal(markAfter('-j MARK --or-mark 0x4000', 0x1), 0x4001)
    assert.equal(markAfter('-j MARK --and-mark 0xff', 0x4001), 0x1)
    assert.equal(markAfter('-j MARK --xor-mark 0x4000', 0x4001), 0x1)
  })

  it('LOG and NFLOG never terminate: evaluation continues with the next rule, and the LOG rule is a hit', () => {
    const ruleset = load(table('filter', ['-A FORWARD -j LOG --log-prefix "drop: " --log-level 4', '-A FORWARD -j NFLOG --nflog-group 5', '-A FORWARD -j DROP']))
    const outcome = only(evaluateHook(ruleset, 'filter', 'FORWARD', packet(), nodeHost))
    assert.equal(summarize(outcome), 'DROP by filter/FORWARD#3')
    assert.deepEqual(hitsOf(outcome), ['FORWARD#1', 'FORWARD#2', 'FORWARD#3'])
  })

  it('a rule without a target only counts, and evaluation continues', () => {
    const ruleset = load(table('filter', ['-A FORWARD -s 10.132.0.0/24', '-A FORWARD -j DROP']))
    assert.deepEqual(hitsOf(only(evaluateHook(ruleset, 'filter', 'FORWARD', packet(), nodeHost))), ['FORWARD#1', 'FORWARD#2'])
  })
})
