/**
 * `npm run bench:bounds`: how fast the topology loader refuses hostile files (issue 13, bounded
 * inputs), and what the limits cost a large valid one. Every input is built in memory and given
 * to parseTopology (the loader, without the CLI's start-up), three times; the median is printed.
 *
 *   npm run bench:bounds [-- --runs 3] [--skip-xl]
 *
 * Before the limits: the alias bomb took 18 s and 3 GB (as the networks) or 18 s and a RangeError
 * (as a string field); deep JSON and a chain of aliases overflowed the stack; 50,000 repeated
 * JSON keys took 40 s. Targets are checked here and only here (tests bound them loosely).
 */
import {performance} from 'node:perf_hooks'

import {documentBounds} from '../src/core/document-bounds.js'
import {TopologyError} from '../src/core/errors.js'
import {scanJson} from '../src/core/topology/json-keys.js'
import {TOPOLOGY_LIMITS} from '../src/core/topology/limits.js'
import {parseTopology} from '../src/core/topology/parse.js'
import {generate, toJson} from './generate.js'
import {sizeByLabel} from './sizes.js'

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 3) || 3
const skipXl = process.argv.includes('--skip-xl')

const HEAD = 'apiVersion: xcc/v1\nkind: Topology\nmetadata: {name: bench}\n'

function aliasBomb(): string {
  const lines = ['anchors:', '  l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i <= 8; i++) lines.push(`  l${i}: &l${i} [${Array.from({length: 9}, () => `*l${i - 1}`).join(',')}]`)
  return `${HEAD}${lines.join('\n')}\nnetworks: *l8\n`
}

function aliasChain(): string {
  const lines = ['anchors:', '  a0: &a0 [x]']
  for (let i = 1; i < 100_000; i++) lines.push(`  a${i}: &a${i} [*a${i - 1}]`)
  return `${HEAD}${lines.join('\n')}\nnetworks: [*a99999]\n`
}

const INPUTS: ReadonlyArray<{name: string; file: string; text: () => string; targetMs: number}> = [
  {name: 'alias bomb, 9^9 strings (YAML)', file: 'bomb.yaml', text: aliasBomb, targetMs: 1000},
  {name: 'chain of 100,000 aliases (YAML)', file: 'chain.yaml', text: aliasChain, targetMs: 2000},
  {name: '100,000 nested arrays (JSON)', file: 'deep.json', text: () => `${'['.repeat(100_000)}${']'.repeat(100_000)}`, targetMs: 100},
  {name: '100,000 nested flow sequences (YAML)', file: 'deep.yaml', text: () => `${HEAD}networks: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, targetMs: 100},
  {name: '50,000 repeated keys (JSON)', file: 'dup.json', text: () => `{"apiVersion": "xcc/v1", "kind": "Topology", "metadata": {"name": "t"}, "x": {${Array.from({length: 50_000}, () => '"a": 1').join(',\n')}}}`, targetMs: 500},
  {
    name: `a list of ${(TOPOLOGY_LIMITS.maxValues - 10_000).toLocaleString('en-US')} wrong entries (JSON, within the limits)`,
    file: 'wrong.json',
    text: () => `{"apiVersion":"xcc/v1","kind":"Topology","metadata":{"name":"t"},"networks":[${Array(TOPOLOGY_LIMITS.maxValues - 10_000).fill('0').join(',')}]}`,
    targetMs: 10_000,
  },
]

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

function refuse(text: string, file: string): {ms: number; message: string} {
  const started = performance.now()
  try {
    parseTopology(text, file)
  } catch (error) {
    const ms = performance.now() - started
    if (!(error instanceof TopologyError)) throw error
    return {ms, message: error.details[0] ?? error.message}
  }
  throw new Error(`${file} loaded`)
}

console.log(`xcc bounds benchmark: node ${process.version}; limits ${TOPOLOGY_LIMITS.maxBytes / 2 ** 20} MiB, ${TOPOLOGY_LIMITS.maxDepth} levels, ${TOPOLOGY_LIMITS.maxValues.toLocaleString('en-US')} values; median of ${runs} runs in one process\n`)
for (const input of INPUTS) {
  const text = input.text()
  const times: number[] = []
  let message = ''
  for (let i = 0; i < runs; i++) ({ms: times[i] = 0, message} = refuse(text, input.file))
  const ms = median(times)
  const rss = process.memoryUsage().rss / 2 ** 20
  console.log(`${ms <= input.targetMs ? 'PASS' : 'MISS'}  ${input.name}: ${(text.length / 2 ** 10).toFixed(0)} KiB refused in ${ms.toFixed(1)} ms (target ${input.targetMs} ms; RSS now ${rss.toFixed(0)} MiB)`)
  console.log(`      ${message.slice(0, 200)}`)
}

if (!skipXl) {
  // what the limits cost the largest valid topology: the JSON scan and the walk, beside the whole load
  const text = toJson(generate(sizeByLabel('xl')).topology)
  const time = (f: () => unknown): number => {
    const samples: number[] = []
    for (let i = 0; i < runs; i++) {
      const started = performance.now()
      f()
      samples.push(performance.now() - started)
    }
    return median(samples)
  }
  const document = JSON.parse(text) as unknown
  const scanMs = time(() => scanJson(text, TOPOLOGY_LIMITS.maxDepth))
  const walkMs = time(() => documentBounds(document, TOPOLOGY_LIMITS))
  const loadMs = time(() => parseTopology(text, 'xl.json'))
  console.log(`\nsize xl (${(text.length / 2 ** 20).toFixed(1)} MiB JSON): load ${loadMs.toFixed(0)} ms, of which the JSON scan (depth and repeated keys, which it did before too) ${scanMs.toFixed(0)} ms and the bounds walk ${walkMs.toFixed(0)} ms`)
}
