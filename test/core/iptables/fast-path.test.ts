/**
 * The parser's fast path (fast-rule.ts, and the in-place line loop of parse.ts) must give exactly
 * what the general path gives: the same rules (refs, matches, targets, unsupported), the same
 * chains and policies, and the same errors. Every comparison parses the same text with the fast
 * path off and on.
 */
import assert from 'node:assert/strict'
import {readFileSync, readdirSync} from 'node:fs'
import {describe, it} from 'node:test'

import {kubeProxyDump} from '../../../bench/kube-proxy-dump.js'
import {isCompiledRule} from '../../../src/core/iptables/compiled.js'
import type {CompiledRule} from '../../../src/core/iptables/compiled.js'
import {compileRuleArgs} from '../../../src/core/iptables/compile-rule.js'
import {isResolvedBeforeChains} from '../../../src/core/iptables/compile-targets.js'
import {type FastContext, type FastRule, compileCommonRule} from '../../../src/core/iptables/fast-rule.js'
import {parseIptablesSave} from '../../../src/core/iptables/parse.js'
import {RegionMap} from '../../../src/core/iptables/region-map.js'
import {tokenizeRuleLine} from '../../../src/core/iptables/tokenize.js'
import type {Ruleset} from '../../../src/core/iptables/types.js'
import {ip} from '../../../src/core/net/ipv4.js'

const FIXTURES = new URL('../../fixtures/iptables/', import.meta.url)
const fixtures = readdirSync(FIXTURES).filter((name) => name.endsWith('.txt')).sort()

/** Every part of a parse as plain data, key order included (so that JSON output cannot differ either). */
function plain(result: ReturnType<typeof parseIptablesSave>): unknown {
  const tables = [...result.ruleset.tables].map(([name, table]) => [name, [...table.chains].map(([chainName, chain]) => [chainName, chain])])
  return JSON.parse(JSON.stringify({source: result.ruleset.source, tables, errors: result.errors}))
}

function assertSameBothWays(text: string, label: string): ReturnType<typeof parseIptablesSave> {
  const general = parseIptablesSave(text, label, {fastPath: false})
  const fast = parseIptablesSave(text, label, {fastPath: true})
  assert.deepStrictEqual(fast, general, label)
  assert.deepStrictEqual(plain(fast), plain(general), `${label} (as JSON)`)
  return fast
}

function rules(ruleset: Ruleset): CompiledRule[] {
  const all: CompiledRule[] = []
  for (const table of ruleset.tables.values()) {
    for (const chain of table.chains.values()) for (const rule of chain.rules) if (isCompiledRule(rule)) all.push(rule)
  }
  return all
}

const BUILTINS = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']

/** A fast-path context for the chains of one parsed table, the way parse.ts builds it. */
function contextFor(chains: Iterable<string>): FastContext {
  const names = new RegionMap<string>()
  for (const name of chains) names.set(name, name)
  return {
    jumpTo: (text, from, to) => {
      const name = names.get(text, from, to)
      if (name === undefined || BUILTINS.includes(name) || isResolvedBeforeChains(name) || name.includes('"')) return undefined
      return {kind: 'jump', chain: name, goto: false}
    },
    statistics: new RegionMap(),
    ports: new Map(),
    dnatPorts: new Map(),
  }
}

/**
 * Compiles every rule of `ruleset` (parsed with the general path) again with compileCommonRule
 * and with the general compiler, compares the two where the fast path took the line, and returns
 * how many lines it took.
 */
function compareLineByLine(ruleset: Ruleset): {fast: number; total: number} {
  let fast = 0
  let total = 0
  for (const table of ruleset.tables.values()) {
    const context = contextFor(table.chains.keys())
    const general = {isChain: (name: string) => table.chains.has(name) && !BUILTINS.includes(name)}
    for (const chain of table.chains.values()) {
      for (const rule of chain.rules) {
        total++
        const args = rule.ref.text
        const common: FastRule = {matches: [], target: {kind: 'none'}}
        if (!compileCommonRule(args, 0, args.length, context, common)) continue
        fast++
        const tokens = tokenizeRuleLine(args)
        assert.ok(tokens.ok, args)
        const compiled = compileRuleArgs(tokens, general)
        assert.ok(compiled.ok && compiled.unsupported === undefined, `the fast path took a line the general path does not fully compile: ${args}`)
        assert.deepStrictEqual({matches: common.matches, target: common.target}, {matches: compiled.matches, target: compiled.target}, args)
        assert.deepStrictEqual(JSON.stringify(common.matches), JSON.stringify(compiled.matches), args)
        assert.deepStrictEqual(JSON.stringify(common.target), JSON.stringify(compiled.target), args)
      }
    }
  }
  return {fast, total}
}

/** mulberry32, as the benchmark generator uses */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function dump(lines: number, seed: number): string {
  const pool = Array.from({length: 60}, (_, i) => `10.64.${i >> 4}.${(i * 7) % 250 + 2}`)
  return kubeProxyDump({lines, podRange: '10.64.0.0/14', serviceBase: ip('10.96.0.0'), serviceCount: 4000, endpointPool: pool, declared: [], seed}).text
}

describe('the parser fast path', () => {
  it('gives the same ruleset and errors as the general path for every fixture', () => {
    assert.ok(fixtures.length >= 4)
    for (const name of fixtures) {
      const text = readFileSync(new URL(name, FIXTURES), 'utf8')
      const parsed = assertSameBothWays(text, name)
      assert.deepEqual(parsed.errors, [], name)
      // the same text with CRLF line ends takes the general line loop; the rules must not change
      assertSameBothWays(text.replace(/\n/g, '\r\n'), `${name} (CRLF)`)
    }
  })

  it('compiles each fixture line it takes exactly as the general compiler does', () => {
    let fast = 0
    for (const name of fixtures) {
      const counts = compareLineByLine(parseIptablesSave(readFileSync(new URL(name, FIXTURES), 'utf8'), name, {fastPath: false}).ruleset)
      fast += counts.fast
    }
    // the kube-proxy shapes of gke-node.txt and the ip-masq-agent chains
    assert.ok(fast >= 20, `only ${fast} fixture lines took the fast path`)
  })

  it('gives the same ruleset for a generated kube-proxy dump, and takes nearly all of its lines', () => {
    const text = dump(20_000, 3)
    const parsed = assertSameBothWays(text, 'kube-proxy')
    assert.deepEqual(parsed.errors, [])
    assert.ok(rules(parsed.ruleset).length > 10_000)
    const counts = compareLineByLine(parseIptablesSave(text, 'kube-proxy', {fastPath: false}).ruleset)
    assert.ok(counts.fast / counts.total > 0.97, `${counts.fast} of ${counts.total} rules took the fast path`)
  })

  it('agrees with the general path on lines near the common shapes (accepted or refused)', () => {
    const chains = [':KUBE-SVC-A - [0:0]', ':KUBE-SEP-B - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':SNAT - [0:0]', ':A"B - [0:0]', ':LOG - [0:0]', ':!X - [0:0]']
    const lines = [
      '-A KUBE-SVC-A -d 10.0.0.1/32 -p tcp -m comment --comment "a b" -m tcp --dport 80 -j KUBE-SEP-B',
      '-A KUBE-SVC-A ! -s 10.64.0.0/14 -d 10.0.0.1/32 -p udp -m comment --comment "x" -m udp --dport 53 -j KUBE-MARK-MASQ',
      '-A KUBE-SVC-A -m comment --comment "x" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-B',
      '-A KUBE-SVC-A -m comment --comment "x" -m statistic --mode random --probability .5 -j KUBE-SEP-B',
      '-A KUBE-SVC-A -m comment --comment "x" -m statistic --mode random --probability 1 -j KUBE-SEP-B',
      '-A KUBE-SVC-A -m comment --comment "x" -m statistic --mode random --probability 0 -j KUBE-SEP-B',
      '-A KUBE-SVC-A -m comment --comment "x" -m statistic --mode random --probability 1.5 -j KUBE-SEP-B',
      '-A KUBE-SVC-A -m comment --comment "x" -m statistic --mode random --probability 1. -j KUBE-SEP-B',
      '-A KUBE-SVC-A -m comment --comment "x" -m statistic --mode random --probability 0.5.5 -j KUBE-SEP-B',
      '-A KUBE-SVC-A -m comment --comment "x" -m statistic --mode random --probability . -j KUBE-SEP-B',
      '-A KUBE-SVC-A -m comment --comment "x" -m statistic --mode random --probability 0.5 -m comment --comment "y" -j KUBE-SEP-B',
      '-A KUBE-SVC-A -m comment --comment "x" -m statistic --mode nth --every 2 -j KUBE-SEP-B',
      '-A KUBE-SVC-A -m statistic --probability 0.5 --mode random -j KUBE-SEP-B',
      '-A KUBE-SEP-B -s 10.64.1.7/32 -m comment --comment "ns/svc" -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-B -p tcp -m comment --comment "ns/svc" -m tcp -j DNAT --to-destination 10.64.1.7:8080',
      '-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 10.64.1.7',
      '-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 10.64.1.7:80-90',
      '-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 10.64.1.7-10.64.1.9:80',
      '-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination :80',
      '-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 10.64.1.7:80 --random',
      '-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 10.64.1.7:99999',
      '-A KUBE-SEP-B -p tcp -m tcp -j DNAT --to-destination 10.64.1.256:80',
      '-A KUBE-SEP-B -s 10.064.1.7/32 -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-B -s 10.64.1.7/33 -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-B -s 10.64.1.7/08 -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-B -s 10.64.1.7/255.255.0.0 -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-B -s 10.64.1.7/ -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-B -s 10.64.1 -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-B -s ! 10.64.1.7 -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-B ! -p tcp -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-B -d 10.0.0.1/32 -s 10.0.0.2/32 -j KUBE-MARK-MASQ',
      '-A KUBE-SEP-B ! -s 10.0.0.2/32 ! -d 10.0.0.1 -j ACCEPT',
      '-A KUBE-SEP-B -p TCP -m tcp --dport 80 -j ACCEPT',
      '-A KUBE-SEP-B -p tcp -m udp --dport 80 -j ACCEPT',
      '-A KUBE-SEP-B -p udp -m udp --dport 0 -j DROP',
      '-A KUBE-SEP-B -p tcp -m tcp --dport 080 -j DROP',
      '-A KUBE-SEP-B -p tcp -m tcp --dport 65536 -j DROP',
      '-A KUBE-SEP-B -p tcp -m tcp --dport 80:90 -j DROP',
      '-A KUBE-SEP-B -p tcp -m tcp ! --dport 80 -j DROP',
      '-A KUBE-SEP-B -p tcp --dport 80 -j DROP',
      '-A KUBE-SEP-B -p tcp -m tcp --dport 80 -m comment --comment "after" -j DROP',
      '-A KUBE-SEP-B -m comment --comment "say \\"hi\\"" -j ACCEPT',
      '-A KUBE-SEP-B -m comment --comment "a"b -j ACCEPT',
      '-A KUBE-SEP-B -m comment --comment "unterminated -j ACCEPT',
      '-A KUBE-SEP-B -m comment --comment plain -j ACCEPT',
      '-A KUBE-SEP-B -m comment --comment "a" "b" -j ACCEPT',
      '-A KUBE-SEP-B -m comment --comment "" -j ACCEPT',
      '-A KUBE-SEP-B -m comment --comment "tab\there" -j ACCEPT',
      '-A KUBE-SEP-B  -j ACCEPT',
      '-A KUBE-SEP-B -j  ACCEPT',
      '-A KUBE-SEP-B\t-j ACCEPT',
      '-A KUBE-SEP-B -j\tACCEPT',
      '-A KUBE-SEP-B -j ACCEPT ',
      '-A KUBE-SEP-B -j ACCEPT\t',
      '-A  KUBE-SEP-B -j ACCEPT',
      '-A KUBE-SEP-B -j ACCEPT extra',
      '-A KUBE-SEP-B -j REJECT',
      '-A KUBE-SEP-B -j REJECT --reject-with icmp-port-unreachable',
      '-A KUBE-SEP-B -j REJECT --reject-with',
      '-A KUBE-SEP-B -j REJECT --reject-with -x',
      '-A KUBE-SEP-B -j REJECT --reject-with "a b"',
      '-A KUBE-SEP-B -j REJECT --reject-with !',
      '-A KUBE-SEP-B -j MASQUERADE',
      '-A KUBE-SEP-B -j MASQUERADE --random',
      '-A KUBE-SEP-B -j MASQUERADE --random-fully',
      '-A KUBE-SEP-B -j MASQUERADE --random-full',
      '-A KUBE-SEP-B -j MASQUERADE --to-ports 1000-2000',
      '-A KUBE-SEP-B -j RETURN',
      '-A KUBE-SEP-B -j DROP',
      '-A KUBE-SEP-B -j SNAT',
      '-A KUBE-SEP-B -j LOG',
      '-A KUBE-SEP-B -j A"B',
      '-A KUBE-SEP-B -j !X',
      '-A KUBE-SEP-B -j !',
      '-A KUBE-SEP-B -j POSTROUTING',
      '-A KUBE-SEP-B -j KUBE-UNDECLARED',
      '-A KUBE-SEP-B -j KUBE-SVC-A',
      '-A KUBE-SEP-B -g KUBE-SVC-A',
      '-A KUBE-SEP-B -j',
      '-A KUBE-SEP-B',
      '-A KUBE-SEP-B ! -j ACCEPT',
      '-A KUBE-UNDECLARED -j ACCEPT',
      '-A POSTROUTING -j KUBE-SVC-A',
      '[1:2] -A KUBE-SEP-B -j ACCEPT',
      '-A KUBE-SEP-B -s 10.0.0.1 -j ACCEPT\r',
      '-A KUBE-SEP-B -m comment --comment "\u00e9t\u00e9" -j ACCEPT',
      '-A KUBE-SEP-B -m comment --comment "line\u2028sep" -j ACCEPT',
      ':KUBE-NEW - [0:0]',
      ':KUBE-SVC-A - [0:0]',
      ':OUTPUT - [0:0]',
      ':-BAD - [0:0]',
      ':! - [0:0]',
      ':ABCDEFGHIJKLMNOPQRSTUVWXYZ0123 - [0:0]',
      ':KUBE-X ACCEPT [0:0]',
      ':KUBE-Y - [1:2]',
      ':KUBE-Z  - [0:0]',
      ':KUBE-\u00e9 - [0:0]',
    ]
    for (const table of ['nat', 'filter', 'security', 'bogus']) {
      for (const line of lines) {
        assertSameBothWays([`*${table}`, ...chains, line, 'COMMIT', ''].join('\n'), `${table}: ${line}`)
      }
      // all of them in one table: a line's effect on the next (declarations, rule indexes) is compared too
      assertSameBothWays([`*${table}`, ...chains, ...lines, 'COMMIT', ''].join('\n'), `${table}: all lines`)
    }
  })

  it('agrees with the general path on randomly damaged kube-proxy lines', () => {
    const base = dump(150, 5).split('\n')
    const rng = prng(42)
    const pick = (n: number): number => Math.floor(rng() * n)
    const alphabet = [' ', ' ', '\t', '"', '\\', '!', '-', '/', ':', '.', '0', '9', '5', 'x', ',', '\r', 'A', '\u00e9']
    const ruleLines = base.flatMap((line, i) => (line.startsWith('-A ') ? [i] : []))
    for (let round = 0; round < 1000; round++) {
      const lines = [...base]
      for (let edits = 1 + pick(3); edits > 0; edits--) {
        const at = ruleLines[pick(ruleLines.length)] as number
        const line = lines[at] as string
        const position = pick(line.length + 1)
        const kind = pick(4)
        if (kind === 0) lines[at] = line.slice(0, position) + (alphabet[pick(alphabet.length)] as string) + line.slice(position)
        else if (kind === 1) lines[at] = line.slice(0, position) + line.slice(position + 1)
        else if (kind === 2) lines[at] = line.slice(0, position) + (alphabet[pick(alphabet.length)] as string) + line.slice(position + 1)
        else {
          // swap two neighbouring words
          const words = line.split(' ')
          const w = 2 + pick(Math.max(1, words.length - 3))
          if (w + 1 < words.length) [words[w], words[w + 1]] = [words[w + 1] as string, words[w] as string]
          lines[at] = words.join(' ')
        }
      }
      assertSameBothWays(lines.join('\n'), `round ${round}`)
    }
  })
})
