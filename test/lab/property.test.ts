/**
 * docs/lab.md "Proof the lab is faithful", for randomly generated small topologies (issue 3):
 * each seed's topology (test/support/random-topology.ts) is built in the lab and several random
 * TCP flows (test/support/random-flows.ts) are traced by the static doctor and made for real;
 * doctor and lab must agree (test/support/lab-compare.ts: same outcome, and the same client
 * address at the server). A disagreement prints the seed, the flow, both views and how to replay.
 *
 *   XCC_LAB_PROPERTY_COUNT=<n>   topologies to try (default 16, about 30 s; `npm run soak` runs 60)
 *   XCC_LAB_SEED=<n>             replay exactly one seed
 *   XCC_LAB_SEED_BASE=<n>|random the first seed (default 1; seeds are base, base+1, …)
 *
 * Needs root, iproute2, iptables, conntrack, socat and curl.
 */
import assert from 'node:assert/strict'
import {randomInt} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {CHECKS} from '../../src/checks/index.js'
import {evaluateDoctor} from '../../src/core/doctor/report.js'
import {resolveFlow} from '../../src/core/trace/endpoints.js'
import type {Step} from '../../src/core/trace/types.js'
import {destroyDataPlane} from '../../src/lab/runtime/dataplane.js'
import {type Comparison, type RunningLab, compare, startLab} from '../support/lab-compare.js'
import {requireLabTools} from '../support/netns.js'
import {seededRng} from '../support/random.js'
import {type RandomFlow, randomFlows} from '../support/random-flows.js'
import {LIMITS} from '../support/random-topology-draft.js'
import {Dice, type GeneratedTopology, randomTopology} from '../support/random-topology.js'

const LAB = `pt${process.pid}`
const DEFAULT_COUNT = 16
const MAX_COUNT = 10_000
const FLOWS_PER_TOPOLOGY = 8
/** unreachable flows wait for the probe timeout (1.5 s): probe a topology's flows together */
const PARALLEL_PROBES = 8

function envInt(name: string, fallback: number, max: number): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < 0 || value > max) throw new Error(`${name}=${text}: expected an integer 0..${max}`)
  return value
}

function seeds(): number[] {
  if (process.env.XCC_LAB_SEED) return [envInt('XCC_LAB_SEED', 0, 2 ** 32 - 1)]
  const count = envInt('XCC_LAB_PROPERTY_COUNT', DEFAULT_COUNT, MAX_COUNT)
  const base = process.env.XCC_LAB_SEED_BASE === 'random' ? randomInt(1, 2 ** 31) : envInt('XCC_LAB_SEED_BASE', 1, 2 ** 31)
  return Array.from({length: count}, (_, i) => base + i)
}

interface Outcome {
  readonly flow: RandomFlow
  readonly comparison?: Comparison
  readonly error?: string
}

/** Runs `task` over `items` with at most `limit` in flight, keeping the order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await task(items[i] as T)
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return out
}

async function probe(lab: RunningLab, flow: RandomFlow): Promise<Outcome> {
  try {
    return {flow, comparison: await compare(lab, flow.from, flow.to)}
  } catch (error) {
    return {flow, error: (error as Error).message}
  }
}

const steps = (list: readonly Step[]): string => list.map((s) => `${s.step}@${s.at}${s.cause ? `[${s.cause}]` : ''}`).join(' → ') || '(none)'

/** Both views of a flow on which doctor and lab disagree, and how to replay it. */
function explain(g: GeneratedTopology, o: Outcome, file: string): string {
  const head = `seed ${g.seed}${g.attempt ? ` (draw ${g.attempt})` : ''}: ${o.flow.from} → ${o.flow.to} [${o.flow.kind}]`
  if (o.error || !o.comparison) return `${head}\n  could not compare: ${o.error}`
  const c = o.comparison
  const report = evaluateDoctor(g.model, resolveFlow(g.model, o.flow.from, o.flow.to), CHECKS)
  const fwd = report.forward.at(-1)
  const back = report.return.at(-1)
  return [
    head,
    `  doctor: ${report.verdict}${report.diagnosis ? ` — ${report.diagnosis.code}: ${report.diagnosis.summary}` : ''}`,
    `    packet ${report.flow.packet.src}:${report.flow.packet.srcPort} → ${report.flow.packet.dst}:${report.flow.packet.dstPort}${c.deliveredSrc ? `; the server sees ${c.deliveredSrc}` : ''}`,
    `    forward: ${steps(report.forward)}`,
    ...(fwd?.step === 'DROP' || fwd?.step === 'ABORT' ? [`      ${fwd.detail}`] : []),
    `    return:  ${steps(report.return)}`,
    ...(back?.step === 'DROP' || back?.step === 'ABORT' ? [`      ${back.detail}`] : []),
    ...(report.alternatives ? [`    (${report.alternatives.length} alternative paths: ${report.alternatives.map((a) => a.verdict).join(', ')})`] : []),
    `  lab: ${c.lab.connected ? `connected, the server saw ${c.lab.clientAddress}` : `no connection (curl exit ${c.lab.code}: ${c.lab.output.split('\n').pop() ?? ''})`}`,
    `  topology: ${file}`,
    `  replay: XCC_LAB_SEED=${g.seed} node --import tsx --test test/lab/property.test.ts`,
  ].join('\n')
}

describe('the random topology generator', () => {
  it('draws valid, bounded topologies and resolvable flows, the same for the same seed', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const g = randomTopology(seed)
      assert.deepEqual(g.rejected, [], `seed ${seed}: the loader rejected a draw`)
      assert.deepEqual(randomTopology(seed).input, g.input, `seed ${seed} replays`)
      assert.ok(g.model.instances.size <= LIMITS.machines, `seed ${seed}: ${g.model.instances.size} instances and nodes`)
      assert.ok([...g.model.clusters.values()].reduce((n, c) => n + c.pods.length, 0) <= LIMITS.pods, `seed ${seed}: too many pods`)
      for (const f of randomFlows(g.model, new Dice(seededRng(seed)), FLOWS_PER_TOPOLOGY)) {
        const flow = resolveFlow(g.model, f.from, f.to)
        assert.equal(flow.packet.protocol, 'tcp', `seed ${seed}: ${f.from} → ${f.to}`)
      }
    }
  })
})

describe('the lab agrees with the static doctor on random topologies', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl']])
  after(async () => {
    await destroyDataPlane(LAB)
  })

  for (const seed of seeds()) {
    it(`seed ${seed}`, async (t) => {
      const g = randomTopology(seed)
      const flows = randomFlows(g.model, new Dice(seededRng((seed ^ 0x5f3759df) >>> 0)), FLOWS_PER_TOPOLOGY)
      const lab = await startLab(g.model, LAB)
      let outcomes: Outcome[]
      try {
        outcomes = await mapBounded(flows, PARALLEL_PROBES, (f) => probe(lab, f))
      } finally {
        await lab.destroy()
      }
      const verdicts = new Map<string, number>()
      for (const o of outcomes) {
        const key = o.comparison ? `${o.comparison.doctor}${o.comparison.skipped ? ' (skipped)' : ''}` : 'error'
        verdicts.set(key, (verdicts.get(key) ?? 0) + 1)
      }
      t.diagnostic(`${g.model.instances.size} instances and nodes, ${flows.length} flows: ${[...verdicts].map(([k, v]) => `${v} ${k}`).join(', ')}${g.rejected.length ? `; ${g.rejected.length} draws rejected first` : ''}`)
      const bad = outcomes.filter((o) => !o.comparison || !o.comparison.agree)
      if (bad.length === 0) return
      const file = join(tmpdir(), `xcc-property-seed-${seed}.yaml`)
      writeFileSync(file, yaml.dump(g.input, {flowLevel: 3, lineWidth: 200}))
      assert.fail(`doctor and lab disagree on ${bad.length} of ${outcomes.length} flows\n${bad.map((o) => explain(g, o, file)).join('\n')}`)
    })
  }
})
