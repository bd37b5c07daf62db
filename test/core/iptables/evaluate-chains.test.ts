import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import type {HookOutcome} from '../../../src/core/iptables/index.js'
import {evaluateHook, parseIptablesSave} from '../../../src/core/iptables/index.js'
import {isCompiledRule} from '../../../src/core/iptables/compiled.js'
import {evaluateMatch, viewOf} from '../../../src/core/iptables/match.js'
import {formatIp, ip} from '../../../src/core/net/ipv4.js'
import {addressesOf, hitsOf, load, nodeHost, only, packet, summarize, table} from './builders.js'

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/iptables/${name}`, import.meta.url), 'utf8')

describe('evaluating chains', () => {
  it('jumps into a user chain and returns to the next rule of the caller when it falls off the end', () => {
    const ruleset = load(table('filter', ['-A FORWARD -j CHECK', '-A FORWARD -j DROP', '-A CHECK -p udp -j ACCEPT'], ['CHECK']))
    const outcome = only(evaluateHook(ruleset, 'filter', 'FORWARD', packet(), nodeHost))
    assert.equal(summarize(outcome), 'DROP by filter/FORWARD#2')
    assert.deepEqual(hitsOf(outcome), ['FORWARD#1', 'FORWARD#2'])
  })

  it('RETURN in a user chain continues with the caller; RETURN in the builtin chain applies its policy', () => {
    const ruleset = load(
      [
        '*filter',
        ':FORWARD DROP [0:0]',
        ':CHECK - [0:0]',
        '-A FORWARD -j CHECK',
        '-A FORWARD -d 8.8.8.8/32 -j RETURN',
        '-A FORWARD -j ACCEPT',
        '-A CHECK -p tcp -j RETURN',
        '-A CHECK -j DROP',
        'COMMIT',
      ].join('\n'),
    )
    const tcp = only(evaluateHook(ruleset, 'filter', 'FORWARD', packet(), nodeHost))
    assert.equal(summarize(tcp), 'ACCEPT by filter/FORWARD#3')
    assert.deepEqual(hitsOf(tcp), ['FORWARD#1', 'CHECK#1', 'FORWARD#3'])
    assert.equal(summarize(only(evaluateHook(ruleset, 'filter', 'FORWARD', packet({protocol: 'udp'}), nodeHost))), 'DROP by filter/CHECK#2')
    assert.equal(summarize(only(evaluateHook(ruleset, 'filter', 'FORWARD', packet({dst: '8.8.8.8'}), nodeHost))), 'DROP by filter/FORWARD policy')
  })

  it('a policy decides when the builtin chain ends; a missing table or chain accepts', () => {
    const ruleset = load('*filter\n:FORWARD DROP [0:0]\n-A FORWARD -p udp -j ACCEPT\nCOMMIT\n')
    const dropped = only(evaluateHook(ruleset, 'filter', 'FORWARD', packet(), nodeHost))
    assert.deepEqual(dropped.kind === 'verdict' && dropped.decidedBy, {table: 'filter', chain: 'FORWARD', policy: 'DROP'})
    assert.equal(summarize(only(evaluateHook(ruleset, 'filter', 'INPUT', packet(), nodeHost))), 'ACCEPT by filter/INPUT policy')
    assert.equal(summarize(only(evaluateHook(ruleset, 'nat', 'POSTROUTING', packet(), nodeHost))), 'ACCEPT by nat/POSTROUTING policy')
  })

  it('-g goes to a chain without a return address: its end returns to the chain that jumped before', () => {
    const ruleset = load(
      table(
        'filter',
        ['-A FORWARD -j OUTER', '-A FORWARD -j DROP', '-A OUTER -g INNER', '-A OUTER -j ACCEPT', '-A INNER -p udp -j ACCEPT'],
        ['OUTER', 'INNER'],
      ),
    )
    // INNER falls off → back to FORWARD#2 (not OUTER#2, which goto skipped)
    assert.equal(summarize(only(evaluateHook(ruleset, 'filter', 'FORWARD', packet(), nodeHost))), 'DROP by filter/FORWARD#2')
    const fromBuiltin = load('*filter\n:FORWARD DROP [0:0]\n:INNER - [0:0]\n-A FORWARD -g INNER\n-A FORWARD -j ACCEPT\nCOMMIT\n')
    assert.equal(summarize(only(evaluateHook(fromBuiltin, 'filter', 'FORWARD', packet(), nodeHost))), 'DROP by filter/FORWARD policy')
  })

  it('SNAT-14: a RETURN from IP-MASQ continues with the next POSTROUTING rule, whose MASQUERADE then decides', () => {
    const ruleset = load(
      table(
        'nat',
        [
          '-A POSTROUTING -m addrtype ! --dst-type LOCAL -j IP-MASQ',
          '-A POSTROUTING -d 10.193.0.0/16 -m comment --comment "chris: SNAT for outbound traffic to backend VPC" -j MASQUERADE',
          '-A IP-MASQ -d 10.0.0.0/8 -j RETURN',
          '-A IP-MASQ -j MASQUERADE',
        ],
        ['IP-MASQ'],
      ),
    )
    const outcome = only(evaluateHook(ruleset, 'nat', 'POSTROUTING', packet({outIface: 'eth0'}), nodeHost))
    assert.equal(summarize(outcome), 'ACCEPT by nat/POSTROUTING#2')
    assert.deepEqual(hitsOf(outcome), ['POSTROUTING#1', 'IP-MASQ#1', 'POSTROUTING#2'])
    assert.equal(addressesOf(outcome.packet), '10.209.0.2:47162 > 10.193.0.3:32191')
  })

  it('the first NAT target decides the nat table: later rules are not evaluated', () => {
    const ruleset = load(table('nat', ['-A POSTROUTING -j SNAT --to-source 10.0.0.1', '-A POSTROUTING -j SNAT --to-source 10.0.0.2']))
    const outcome = only(evaluateHook(ruleset, 'nat', 'POSTROUTING', packet(), nodeHost))
    assert.equal(formatIp(outcome.packet.src), '10.0.0.1')
  })

  it('the nat table only sees a connection\'s first packet: other states get ACCEPT with no hits', () => {
    const ruleset = load(table('nat', ['-A POSTROUTING -j MASQUERADE']))
    const outcome = only(evaluateHook(ruleset, 'nat', 'POSTROUTING', packet({ctstate: 'ESTABLISHED', outIface: 'eth0'}), nodeHost))
    assert.equal(outcome.kind, 'verdict')
    assert.deepEqual(outcome.hits, [])
    assert.equal(outcome.kind === 'verdict' && outcome.nat, undefined)
  })

  it('SNAT-09: the kubenet rule keeps the pod IP towards 10/8 and masquerades elsewhere', () => {
    const {ruleset} = parseIptablesSave(fixture('kubenet.txt'), 'node')
    const seed001 = only(evaluateHook(ruleset, 'nat', 'POSTROUTING', packet({outIface: 'eth0'}), nodeHost))
    assert.equal(addressesOf(seed001.packet), '10.132.0.10:47162 > 10.193.0.3:32191')
    assert.deepEqual(seed001.hits, [])
    const internet = only(evaluateHook(ruleset, 'nat', 'POSTROUTING', packet({dst: '8.8.8.8', outIface: 'eth0'}), nodeHost))
    assert.equal(formatIp(internet.packet.src), '10.209.0.2')
  })

  it('branches on -m statistic: kube-proxy\'s three endpoints give three outcomes, each with its assumptions', () => {
    const {ruleset} = parseIptablesSave(fixture('gke-node.txt'), 'node')
    const outcomes = evaluateHook(ruleset, 'nat', 'PREROUTING', packet({dst: '10.135.242.17', dstPort: 80}), nodeHost)
    assert.deepEqual(outcomes.map((o) => addressesOf(o.packet)), [
      '10.132.0.10:47162 > 10.132.0.5:8080',
      '10.132.0.10:47162 > 10.132.1.7:8080',
      '10.132.0.10:47162 > 10.132.2.9:8080',
    ])
    const assumptions = outcomes.map((o) => (o.kind === 'verdict' ? o.assumptions.map((a) => `${a.rule.index}:${a.matched}`) : []))
    assert.deepEqual(assumptions, [['2:true'], ['2:false', '3:true'], ['2:false', '3:false']])
    assert.deepEqual(hitsOf(outcomes[1] as HookOutcome), ['PREROUTING#2', 'KUBE-SERVICES#4', 'KUBE-SVC-W7AGHCCMNR3E6OPB#3', 'KUBE-SEP-QMZVB2WNXDQ3B7QL#2'])
  })

  it('does not branch on a probability of 1 (always) or 0 (never)', () => {
    const ruleset = load(
      table('filter', ['-A FORWARD -m statistic --mode random --probability 0.0 -j DROP', '-A FORWARD -m statistic --mode random --probability 1.0 -j REJECT']),
    )
    assert.equal(summarize(only(evaluateHook(ruleset, 'filter', 'FORWARD', packet(), nodeHost))), 'REJECT by filter/FORWARD#2')
  })

  it('caps statistic branching at 256 outcomes and names the statistic rule beyond that', () => {
    const lines = Array.from({length: 9}, (_, i) => `-A FORWARD -m statistic --mode nth --every 2 --packet ${i % 2} -j MARK --set-xmark 0x${1 << i}/0x${1 << i}`)
    const outcomes = evaluateHook(load(table('filter', lines)), 'filter', 'FORWARD', packet(), nodeHost)
    assert.ok(outcomes.length <= 256, `${outcomes.length} outcomes`)
    const unknown = outcomes.find((o) => o.kind === 'unknown')
    assert.ok(unknown && unknown.kind === 'unknown')
    assert.match(unknown.reason, /more than 256 possible outcomes/)
    assert.match(unknown.rule.text, /-m statistic/)
  })

  it('a rule it cannot model decides "unknown" when its other matches succeed, and names the rule and why', () => {
    const ruleset = load(table('filter', ['-A FORWARD -j LOG', '-A FORWARD -s 10.132.0.0/14 -m set --match-set allowed dst -j ACCEPT', '-A FORWARD -j DROP']))
    const outcome = only(evaluateHook(ruleset, 'filter', 'FORWARD', packet(), nodeHost))
    assert.equal(outcome.kind, 'unknown')
    assert.match(outcome.kind === 'unknown' ? `${outcome.rule.index} ${outcome.reason}` : '', /^2 -m set/)
    assert.deepEqual(hitsOf(outcome), ['FORWARD#1'])
  })

  it('a rule it cannot model is simply skipped when one of its supported matches already fails', () => {
    const ruleset = load(table('filter', ['-A FORWARD -s 192.168.0.0/16 -m set --match-set allowed dst -j ACCEPT', '-A FORWARD -j DROP']))
    assert.equal(summarize(only(evaluateHook(ruleset, 'filter', 'FORWARD', packet(), nodeHost))), 'DROP by filter/FORWARD#2')
  })

  it('an unmodelled rule behind a statistic rule is unknown only on the branch where the statistic matched', () => {
    const ruleset = load(table('filter', ['-A FORWARD -m statistic --mode random --probability 0.5 -j TEE --gateway 10.0.0.1', '-A FORWARD -j DROP']))
    const outcomes = evaluateHook(ruleset, 'filter', 'FORWARD', packet(), nodeHost)
    assert.deepEqual(outcomes.map(summarize), ['unknown at FORWARD#1', 'DROP by filter/FORWARD#2'])
  })

  it('reports a jump loop (A → B → A) as unknown instead of recursing forever', () => {
    const ruleset = load(table('filter', ['-A FORWARD -j A', '-A A -j B', '-A B -p tcp -j A'], ['A', 'B']))
    const outcome = only(evaluateHook(ruleset, 'filter', 'FORWARD', packet(), nodeHost))
    assert.equal(outcome.kind, 'unknown')
    assert.equal(outcome.kind === 'unknown' && outcome.reason, 'jump loop: FORWARD → A → B → A (the kernel refuses looping rulesets)')
    const gotoLoop = load(table('filter', ['-A FORWARD -j A', '-A A -g B', '-A B -g A'], ['A', 'B']))
    assert.equal(only(evaluateHook(gotoLoop, 'filter', 'FORWARD', packet(), nodeHost)).kind, 'unknown')
  })

  it('finds the same first matching rule through the per-destination index as a rule-by-rule scan', () => {
    const lines: string[] = []
    const chains: string[] = []
    for (let i = 0; i < 400; i++) {
      chains.push(`SVC-${i}`)
      const address = `10.96.${i >> 4}.${(i & 15) * 3}`
      lines.push(`-A KUBE-SERVICES -d ${address}/32 -p tcp -m tcp --dport ${80 + (i % 3)} -j SVC-${i}`)
      if (i % 37 === 0) lines.push(`-A KUBE-SERVICES -s 10.132.${i % 4}.0/24 -j SVC-${i}`)
      if (i % 53 === 0) lines.push(`-A KUBE-SERVICES -p udp -m udp --dport ${53 + (i % 2)} -j SVC-${i}`)
      if (i % 41 === 0) lines.push(`-A KUBE-SERVICES ! -d ${address}/32 -p tcp -m tcp --dport 443 -j SVC-${i}`)
      lines.push(`-A SVC-${i} -j ACCEPT`)
    }
    const ruleset = load(table('filter', ['-A FORWARD -j KUBE-SERVICES', ...lines], ['KUBE-SERVICES', ...chains]))
    const chain = ruleset.tables.get('filter')?.chains.get('KUBE-SERVICES')
    assert.ok(chain)
    let state = 7
    const next = (n: number): number => (state = (state * 1103515245 + 12345) % 2 ** 31) % n
    for (let k = 0; k < 2000; k++) {
      const i = next(420)
      const p = packet({
        src: `10.132.${next(6)}.9`,
        dst: `10.96.${i >> 4}.${(i & 15) * 3 + (next(8) === 0 ? 1 : 0)}`,
        protocol: next(4) === 0 ? 'udp' : 'tcp',
        dstPort: [80, 81, 82, 53, 54, 443][next(6)] as number,
      })
      const view = viewOf('FORWARD', p)
      const expected: number = chain.rules.findIndex((rule) => isCompiledRule(rule) && rule.matches.every((m) => evaluateMatch(m, p, view, nodeHost) === 1))
      const outcome = only(evaluateHook(ruleset, 'filter', 'FORWARD', p, nodeHost))
      const viaIndex = outcome.hits.find((h) => h.chain === 'KUBE-SERVICES')
      assert.equal(viaIndex ? viaIndex.index - 1 : -1, expected, `${addressesOf(p)} ${p.protocol}`)
    }
  })

  it('evaluates one trace through a large kube-proxy KUBE-SERVICES chain in well under a millisecond', () => {
    const lines: string[] = []
    const chains: string[] = []
    for (let i = 0; i < 5000; i++) {
      chains.push(`KUBE-SVC-${i}`)
      lines.push(`-A KUBE-SERVICES -d 10.96.${i >> 8}.${i & 255}/32 -p tcp -m comment --comment "ns/svc-${i}:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-${i}`)
      lines.push(`-A KUBE-SVC-${i} -p tcp -j DNAT --to-destination 10.132.${i >> 8}.${i & 255}:8080`)
    }
    lines.push('-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    const ruleset = load(table('nat', ['-A PREROUTING -j KUBE-SERVICES', ...lines], ['KUBE-SERVICES', 'KUBE-NODEPORTS', ...chains]))
    const probe = packet({dst: '10.96.18.136', dstPort: 80})
    assert.equal(formatIp(only(evaluateHook(ruleset, 'nat', 'PREROUTING', probe, nodeHost)).packet.dst), '10.132.18.136')
    const started = performance.now()
    for (let k = 0; k < 1000; k++) evaluateHook(ruleset, 'nat', 'PREROUTING', {...probe, dst: ip(`10.96.${k % 19}.${k % 256}`)}, nodeHost)
    const perTrace = (performance.now() - started) / 1000
    assert.ok(perTrace < 0.5, `${perTrace.toFixed(3)} ms per trace`)
  })
})
