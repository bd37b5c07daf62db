/**
 * A rule xcc cannot decide (an unmodelled match, TCP flags past a connection's first packet)
 * makes the answer `unknown` only when the packet reaches it and the answer depends on it: the
 * evaluator follows both ways and folds them when they end alike.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {IptPacket, PipelineOutcome} from '../../../src/core/iptables/index.js'
import {evaluateHook, runPipeline} from '../../../src/core/iptables/index.js'
import {hitsOf, load, nodeHost, only, packet, summarize, table} from './builders.js'

function forward(lines: readonly string[], p: IptPacket = packet(), chains: readonly string[] = []): string[] {
  return evaluateHook(load(table('filter', lines, chains)), 'filter', 'FORWARD', p, nodeHost).map(summarize)
}

function pipeline(text: string, p: IptPacket = packet()): PipelineOutcome[] {
  return runPipeline({ruleset: load(text), host: nodeHost, origin: 'arriving', packet: p, ipForward: true, route: () => ({local: false, outIface: 'eth0'})})
}

describe('an undecidable rule', () => {
  it('is passed over when its target changes nothing the decision looks at (LOG, NFLOG, TCPMSS, no target)', () => {
    assert.deepEqual(forward([
      '-A FORWARD -m limit --limit 5/min -j LOG --log-prefix "dropped: "',
      '-A FORWARD -m limit --limit 5/min -j NFLOG --nflog-group 2',
      '-A FORWARD -m limit --limit 5/min',
      '-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu',
      '-A FORWARD -j DROP',
    ], packet({ctstate: 'ESTABLISHED'})), ['DROP by filter/FORWARD#5'])
  })

  it('leaves the verdict decided when the rules after it give the same verdict anyway', () => {
    assert.deepEqual(forward(['-A FORWARD -m limit --limit 5/min -j ACCEPT', '-A FORWARD -s 10.132.0.0/14 -j ACCEPT']), ['ACCEPT by filter/FORWARD#2'])
    assert.deepEqual(forward(['-A FORWARD -m owner --uid-owner 0 -j DROP'], packet(), []).length, 1)
    const policyDrop = load(['*filter', ':FORWARD DROP [0:0]', '-A FORWARD -m limit --limit 5/min -j DROP', 'COMMIT', ''].join('\n'))
    assert.deepEqual(evaluateHook(policyDrop, 'filter', 'FORWARD', packet(), nodeHost).map(summarize), ['DROP by filter/FORWARD policy'])
  })

  it('gives the evidence of the way where it did not match', () => {
    const [outcome] = evaluateHook(load(table('filter', ['-A FORWARD -j LOG', '-A FORWARD -m limit --limit 1/s -j ACCEPT', '-A FORWARD -j ACCEPT'])), 'filter', 'FORWARD', packet(), nodeHost)
    assert.ok(outcome)
    assert.deepEqual(hitsOf(outcome), ['FORWARD#1', 'FORWARD#3'])
  })

  it('makes the verdict unknown when its two ways end differently, naming the rule, why, and the rules hit before it', () => {
    const outcome = only(evaluateHook(load(table('filter', ['-A FORWARD -j LOG', '-A FORWARD -m limit --limit 1/s -j ACCEPT', '-A FORWARD -j DROP'])), 'filter', 'FORWARD', packet(), nodeHost))
    assert.equal(outcome.kind, 'unknown')
    assert.equal(outcome.kind === 'unknown' && `${outcome.rule.index} ${outcome.reason}`, '2 match -m limit is not modelled')
    assert.deepEqual(hitsOf(outcome), ['FORWARD#1'])
  })

  it('is skipped without a decision when a known match of the same rule fails, wherever that match is written', () => {
    assert.deepEqual(forward(['-A FORWARD -m limit --limit 1/s -s 192.168.0.0/16 -j ACCEPT', '-A FORWARD -j DROP']), ['DROP by filter/FORWARD#2'])
    assert.deepEqual(forward(['-A FORWARD -p udp -m limit --limit 1/s -j ACCEPT', '-A FORWARD -j DROP']), ['DROP by filter/FORWARD#2'])
  })

  it('inside a chain that returns either way does not matter', () => {
    assert.deepEqual(forward(['-A FORWARD -j CHECK', '-A CHECK -m limit --limit 1/s -j RETURN', '-A FORWARD -j ACCEPT'], packet(), ['CHECK']), ['ACCEPT by filter/FORWARD#2'])
  })

  it('keeps the statistic branches after it as possible outcomes when both ways give the same ones', () => {
    const outcomes = forward([
      '-A FORWARD -m limit --limit 1/s -j MARK --set-xmark 0x0/0x0',
      '-A FORWARD -m statistic --mode random --probability 0.5 -j ACCEPT',
      '-A FORWARD -j DROP',
    ])
    assert.deepEqual(outcomes, ['ACCEPT by filter/FORWARD#2', 'DROP by filter/FORWARD#3'])
  })

  it('that sets a mark no later rule looks at leaves the pipeline decided; one a later hook tests makes it unknown at the marking rule', () => {
    const unused = [
      '*mangle', '-A PREROUTING -m limit --limit 1/s -j MARK --set-xmark 0x10/0x10', 'COMMIT',
      '*filter', '-A FORWARD -m mark --mark 0x0/0x20 -j ACCEPT', 'COMMIT', '',
    ].join('\n')
    assert.deepEqual(pipeline(unused).map((o) => o.kind), ['forwarded'])
    const tested = [
      '*mangle', '-A PREROUTING -m limit --limit 1/s -j MARK --set-xmark 0x10/0x10', 'COMMIT',
      '*filter', '-A FORWARD -m mark --mark 0x10/0x10 -j DROP', 'COMMIT', '',
    ].join('\n')
    const outcome = only(pipeline(tested))
    assert.equal(outcome.kind === 'unknown' && `${outcome.hook} ${outcome.rule.chain}#${outcome.rule.index}`, 'PREROUTING PREROUTING#1')
  })
})
