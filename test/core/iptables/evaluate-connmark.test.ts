/**
 * CONNMARK and -m connmark as xt_connmark does them (AWS VPC CNI, Calico): the connection mark
 * a connection's first packet starts with is 0, CONNMARK sets it or saves the packet mark into
 * it, --restore-mark copies it back, and a later packet of a connection xcc did not follow has an
 * unknown connection mark, which decides only the matches that need it.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {IptPacket} from '../../../src/core/iptables/index.js'
import {evaluateHook} from '../../../src/core/iptables/index.js'
import {load, nodeHost, only, packet, summarize, table} from './builders.js'

/** the mangle PREROUTING outcome of these rules */
function mangle(lines: readonly string[], p: IptPacket = packet()): ReturnType<typeof evaluateHook>[number] {
  return only(evaluateHook(load(table('mangle', lines.map((l) => `-A PREROUTING ${l}`))), 'mangle', 'PREROUTING', p, nodeHost))
}

function marks(lines: readonly string[], p?: IptPacket): string {
  const outcome = mangle(lines, p)
  assert.equal(outcome.kind, 'verdict', outcome.kind === 'unknown' ? outcome.reason : '')
  return `mark=0x${outcome.packet.mark.toString(16)} ctmark=0x${(outcome.packet.ctmark ?? 0).toString(16)}`
}

describe('connection marks', () => {
  it('CONNMARK --set-xmark, --set-mark, --or-mark, --and-mark and --xor-mark set the connection mark as the kernel\'s set form', () => {
    assert.equal(marks(['-j CONNMARK --set-xmark 0x80/0x80']), 'mark=0x0 ctmark=0x80')
    assert.equal(marks(['-j CONNMARK --set-xmark 0xff/0xffffffff', '-j CONNMARK --set-mark 0x10/0x30']), 'mark=0x0 ctmark=0xdf')
    assert.equal(marks(['-j CONNMARK --or-mark 0x5', '-j CONNMARK --and-mark 0x4', '-j CONNMARK --xor-mark 0x3']), 'mark=0x0 ctmark=0x7')
  })

  it('--save-mark is ctmark = (ctmark & ~ctmask) ^ (mark & nfmask), exclusive or as in the kernel, not or', () => {
    // measured on the kernel: connection mark 1, packet mark 1, save with nfmask 1 and ctmask 0 → 0
    assert.equal(marks(['-j MARK --set-xmark 0x1/0xffffffff', '-j CONNMARK --set-xmark 0x1/0xffffffff', '-j CONNMARK --save-mark --nfmask 0x1 --ctmask 0x0']), 'mark=0x1 ctmark=0x0')
    assert.equal(marks(['-j MARK --set-xmark 0x4321/0xffffffff', '-j CONNMARK --save-mark --nfmask 0xff00 --ctmask 0xffff']), 'mark=0x4321 ctmark=0x4300')
  })

  it('--restore-mark is mark = (mark & ~nfmask) ^ (ctmark & ctmask), shifted as --left-shift-mark says', () => {
    // measured on the kernel: mark 6, connection mark 0x30, restore with nfmask 3, ctmask 0x11, shift 1 → 0x24
    assert.equal(marks(['-j MARK --set-xmark 0x6/0xffffffff', '-j CONNMARK --set-xmark 0x30/0xffffffff', '-j CONNMARK --restore-mark --nfmask 0x3 --ctmask 0x11 --left-shift-mark 1']), 'mark=0x24 ctmark=0x30')
    // AWS VPC CNI: connections from the primary ENI carry 0x80, restored onto their packets
    assert.equal(marks(['-i eth0 -m addrtype --dst-type LOCAL -j CONNMARK --set-xmark 0x80/0x80', '-j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80'], packet({inIface: 'eth0', dst: '10.209.0.2'})), 'mark=0x80 ctmark=0x80')
  })

  it('-m connmark --mark value/mask compares the connection mark, and "!" negates', () => {
    assert.equal(summarize(mangle(['-j CONNMARK --set-xmark 0x80/0x80', '-m connmark --mark 0x80/0x80 -j DROP'])), 'DROP by mangle/PREROUTING#2')
    assert.equal(summarize(mangle(['-m connmark ! --mark 0x0/0x80 -j DROP'])), 'ACCEPT by mangle/PREROUTING policy')
    assert.equal(summarize(mangle(['-m connmark --mark 0x0 -j DROP'])), 'DROP by mangle/PREROUTING#1')
  })

  it('a packet without a connection (INVALID, UNTRACKED) has no connection mark: -m connmark fails even negated, CONNMARK changes nothing', () => {
    const invalid = packet({ctstate: 'INVALID'})
    assert.equal(summarize(mangle(['-m connmark ! --mark 0x1 -j DROP'], invalid)), 'ACCEPT by mangle/PREROUTING policy')
    assert.equal(marks(['-j MARK --set-xmark 0x2/0xffffffff', '-j CONNMARK --save-mark', '-j CONNMARK --set-xmark 0x1/0x1'], packet({ctstate: 'UNTRACKED'})), 'mark=0x2 ctmark=0x0')
  })

  it('a later packet of a connection xcc did not follow has an unknown connection mark: only the matches that need its bits are undecided', () => {
    const later = packet({ctstate: 'ESTABLISHED'})
    const restore = '-j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80'
    assert.equal(summarize(mangle([restore, '-m mark --mark 0x4000/0x4000 -j DROP'], later)), 'ACCEPT by mangle/PREROUTING policy')
    const unknown = mangle([restore, '-m mark --mark 0x80/0x80 -j DROP'], later)
    assert.equal(unknown.kind === 'unknown' && `${unknown.rule.index} ${unknown.reason}`, '2 bits of the packet mark were restored from a connection mark that is not known')
    assert.equal(mangle(['-m connmark --mark 0x80/0x80 -j DROP'], later).kind, 'unknown')
    // once CONNMARK set the bits, they are known again
    assert.equal(summarize(mangle(['-j CONNMARK --set-xmark 0x0/0x80', '-m connmark --mark 0x80/0x80 -j DROP'], later)), 'ACCEPT by mangle/PREROUTING policy')
    assert.equal(summarize(mangle(['-m connmark --mark 0x80/0x80 -j DROP'], packet({ctstate: 'ESTABLISHED', ctmark: 0x80}))), 'DROP by mangle/PREROUTING#1')
  })
})
