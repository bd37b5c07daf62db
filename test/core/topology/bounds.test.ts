/**
 * Bounded inputs (issue 13): a topology file can not make the loader run for minutes, exhaust the
 * memory or overflow the stack. YAML aliases, nesting, the size of the text and the values quoted
 * in messages all have limits, and each refusal is a load error (exit 2) that names the limit.
 * The times are printed (t.diagnostic) and bounded loosely; bench/bounds.ts measures them.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {TopologyError, type TopologyIssue, formatTopologyIssue, formatValue} from '../../../src/core/errors.js'
import {TOPOLOGY_LIMITS} from '../../../src/core/topology/limits.js'
import {parseTopology} from '../../../src/core/topology/parse.js'

const HEAD = 'apiVersion: xcc/v1\nkind: Topology\nmetadata: {name: t}\n'
/** generous: the old loader took 15-70 s on these; the limits make them milliseconds */
const BOUND_MS = 5000

function refusal(text: string, file = 'topo.yaml'): {issues: readonly TopologyIssue[]; details: readonly string[]; ms: number} {
  const start = performance.now()
  try {
    parseTopology(text, file)
  } catch (error) {
    const ms = performance.now() - start
    assert.ok(error instanceof TopologyError, `expected a TopologyError, got ${(error as Error).stack?.slice(0, 300)}`)
    assert.equal(error.exitCode, 2)
    return {issues: error.issues, details: error.details, ms}
  }
  assert.fail('the topology loaded without error')
}

/** "billion laughs": 9 anchors of 9 aliases each, 9^9 (387 million) strings once expanded */
function aliasBomb(where: (top: string) => string): string {
  const lines = ['anchors:', '  l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i <= 8; i++) lines.push(`  l${i}: &l${i} [${Array.from({length: 9}, () => `*l${i - 1}`).join(',')}]`)
  return `apiVersion: xcc/v1\nkind: Topology\n${lines.join('\n')}\n${where('*l8')}\n`
}

describe('YAML aliases are bounded', () => {
  for (const [what, where] of [
    ['as the networks', (top: string) => `metadata: {name: bomb}\nnetworks: ${top}`],
    ['as a string field (the message quotes the value)', (top: string) => `metadata: {name: bomb, description: ${top}}`],
    ['under an unknown field only', (_top: string) => 'metadata: {name: bomb}\nextra: {}'],
  ] as const) {
    it(`an alias bomb ${what} is a load error naming the limit, in well under a second`, (t) => {
      const {issues, ms} = refusal(aliasBomb(where))
      t.diagnostic(`refused in ${ms.toFixed(1)} ms`)
      assert.ok(ms < BOUND_MS, `took ${ms} ms`)
      assert.equal(issues.length, 1, JSON.stringify(issues))
      assert.match(issues[0]?.message ?? '', new RegExp(`more than ${TOPOLOGY_LIMITS.maxValues.toLocaleString('en-US')} values`))
      assert.match(issues[0]?.message ?? '', /alias/)
    })
  }

  it('a chain of aliases that nests deeper than the limit is refused, not a stack overflow', () => {
    const lines = ['anchors:', '  a0: &a0 [x]']
    for (let i = 1; i < 100_000; i++) lines.push(`  a${i}: &a${i} [*a${i - 1}]`)
    const {issues} = refusal(`${HEAD}${lines.join('\n')}\nnetworks: [*a99999]\n`)
    assert.equal(issues.length, 1, JSON.stringify(issues))
    assert.match(issues[0]?.message ?? '', new RegExp(`nested deeper than ${TOPOLOGY_LIMITS.maxDepth} levels`))
  })

  it('aliases that stay within the limits load as before (a dump shared by several nodes)', () => {
    const rules = '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o nic1 -j MASQUERADE\nCOMMIT\n'
    const text = `${HEAD}networks:\n  - name: vpc-a\n    subnets: [{name: a-main, region: us-west1, ipCidrRange: 10.1.0.0/24}]\n  - name: vpc-b\n    subnets: [{name: b-main, region: us-west1, ipCidrRange: 10.2.0.0/24}]\ninstances:\n${
      ['gw-1', 'gw-2'].map((name, i) => `  - name: ${name}\n    zone: us-west1-a\n    networkInterfaces:\n      - {network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.${i + 2}}\n      - {network: vpc-b, subnetwork: b-main, networkIP: 10.2.0.${i + 2}}\n    guest:\n      iptables: ${i === 0 ? `&rules ${JSON.stringify(rules)}` : '*rules'}\n`).join('')}`
    const model = parseTopology(text, 'topo.yaml')
    assert.equal(model.instances.get('gw-2')?.guest.rulesText, rules)
  })
})

describe('nesting is bounded', () => {
  it('100000 nested JSON arrays are a load error naming the depth limit and where, not a stack overflow', (t) => {
    const {issues, ms} = refusal(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 'deep.json')
    t.diagnostic(`refused in ${ms.toFixed(1)} ms`)
    assert.ok(ms < BOUND_MS, `took ${ms} ms`)
    assert.equal(issues.length, 1, JSON.stringify(issues))
    assert.match(issues[0]?.message ?? '', new RegExp(`nested deeper than ${TOPOLOGY_LIMITS.maxDepth} levels`))
    assert.equal(issues[0]?.line, 1)
    assert.equal(issues[0]?.column, TOPOLOGY_LIMITS.maxDepth + 1)
  })

  it('deeply nested JSON objects inside a Topology too', () => {
    const deep = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`
    const {issues} = refusal(`{"apiVersion": "xcc/v1", "kind": "Topology", "metadata": {"name": "t"}, "extra": ${deep}}`, 'deep.json')
    assert.match(issues[0]?.message ?? '', new RegExp(`nested deeper than ${TOPOLOGY_LIMITS.maxDepth} levels`))
  })

  it('100000 nested YAML flow sequences are a load error naming the depth limit, with the line', () => {
    const {issues} = refusal(`${HEAD}networks: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`)
    assert.equal(issues.length, 1, JSON.stringify(issues))
    assert.match(issues[0]?.message ?? '', new RegExp(`nested deeper than ${TOPOLOGY_LIMITS.maxDepth} levels`))
    assert.equal(issues[0]?.line, 4)
  })
})

describe('the size of the text is bounded', () => {
  it(`a text larger than ${TOPOLOGY_LIMITS.maxBytes / 2 ** 20} MiB is refused before it is parsed`, () => {
    const text = `${HEAD}metadata: {description: "${'x'.repeat(TOPOLOGY_LIMITS.maxBytes)}"}\n`
    const {issues, ms} = refusal(text)
    assert.ok(ms < BOUND_MS, `took ${ms} ms`)
    assert.match(issues[0]?.message ?? '', new RegExp(`larger than ${TOPOLOGY_LIMITS.maxBytes / 2 ** 20} MiB`))
  })

  it('many repeated JSON keys are reported in linear time', (t) => {
    const text = `{"apiVersion": "xcc/v1", "kind": "Topology", "metadata": {"name": "t"}, "x": {${Array.from({length: 50_000}, () => '"a": 1').join(',\n')}}}`
    const {issues, details, ms} = refusal(text, 'dup.json')
    t.diagnostic(`refused in ${ms.toFixed(1)} ms`)
    assert.ok(ms < BOUND_MS, `took ${ms} ms`)
    assert.equal(issues.length, 49_999)
    assert.deepEqual(issues[1], {path: 'x.a', message: 'malformed JSON: duplicated key "a"', line: 3, column: 1})
    assert.equal(details.length, 51)
  })
})

describe('the schema\'s problems are described up to a bound, and counted', () => {
  it('a mapping with 100,000 unknown fields: the first 50 and a count', (t) => {
    const keys = Array.from({length: 100_000}, (_, i) => `"k${i}": 0`).join(', ')
    const {issues, ms} = refusal(`{"apiVersion": "xcc/v1", "kind": "Topology", "metadata": {"name": "t"}, ${keys}}`, 'keys.json')
    t.diagnostic(`refused in ${ms.toFixed(1)} ms`)
    assert.equal(issues.length, 51)
    assert.deepEqual(issues[50], {path: '', message: '… and 99950 more unknown fields'})
    assert.throws(() => parseTopology(`{"apiVersion": "xcc/v1", "kind": "Topology", "metadata": {"name": "t"}, ${keys}}`, 'keys.json'), /invalid topology keys\.json: 100000 problems/)
  })

  it('a list of 100,000 wrong entries: the first 1000 described, all counted', () => {
    const {issues} = refusal(`{"apiVersion": "xcc/v1", "kind": "Topology", "metadata": {"name": "t"}, "routes": [${Array(100_000).fill('0').join(',')}]}`, 'list.json')
    assert.equal(issues.length, 1000)
    assert.throws(() => parseTopology(`{"apiVersion": "xcc/v1", "kind": "Topology", "metadata": {"name": "t"}, "routes": [${Array(100_000).fill('0').join(',')}]}`, 'list.json'), /100000 problems/)
  })
})

describe('messages never format a whole huge value', () => {
  it('formatValue stops at 80 characters, with …, whatever the value holds', (t) => {
    let shared: unknown[] = Array.from({length: 9}, () => 'lol')
    for (let i = 0; i < 9; i++) shared = Array.from({length: 9}, () => shared)
    const start = performance.now()
    const text = formatValue(shared)
    const ms = performance.now() - start
    t.diagnostic(`formatted in ${ms.toFixed(2)} ms`)
    assert.ok(ms < 100, `took ${ms} ms`)
    assert.equal(text.length, 80)
    assert.ok(text.endsWith('…'), text)
    assert.ok(text.startsWith('[[[[[[[[[["lol","lol"'), text)
    const long = formatValue('x'.repeat(50_000_000))
    assert.equal(long, `"${'x'.repeat(78)}…`)
  })

  it('small values are JSON as before', () => {
    assert.equal(formatValue('10.1.0.0/33'), '"10.1.0.0/33"')
    assert.equal(formatValue(42), '42')
    assert.equal(formatValue([1, 'a', {b: null, c: true}]), '[1,"a",{"b":null,"c":true}]')
    assert.equal(formatValue({a: undefined, b: [undefined]}), '{"b":[null]}')
    assert.equal(formatValue(undefined), 'undefined')
    assert.equal(formatValue('a\u0000b'), '"a\\u0000b"')
  })

  it('a huge unknown key is shortened in the message', () => {
    const key = `k${'e'.repeat(1_000_000)}`
    const {details} = refusal(`${HEAD}${key}: 1\n`)
    assert.equal(details.length, 1)
    assert.ok((details[0] as string).length < 400, `${(details[0] as string).length} characters`)
    assert.match(details[0] as string, /unknown field "keee+…"/)
  })

  it('a whole issue line stays short whatever the value', () => {
    const line = formatTopologyIssue('t.yaml', {path: 'a', message: 'bad', value: 'v'.repeat(10_000)})
    assert.ok(line.length < 120, line)
  })
})
