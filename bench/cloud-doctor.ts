/**
 * `xcc doctor --topology FILE --flows FLOWS` on a generated topology, for bench/cloud.ts: a flows
 * file of N distinct flows (pod → pod across clusters, pod → Service, pod → internal load
 * balancer, VM → pod, VM → Service, and the generator's own five), each expecting what the static
 * tracer answers for it in this process. The child's wall time is the whole process; its --json
 * must give N outcomes, every one met, or the run is wrong, however fast.
 */
import {spawn} from 'node:child_process'
import {performance} from 'node:perf_hooks'

import {dump} from 'js-yaml'

import type {Model} from '../src/core/topology/model-types.js'
import {resolveFlow} from '../src/core/trace/endpoints.js'
import {traceFlow} from '../src/core/trace/trace.js'
import type {Generated} from './generate.js'

export interface BenchFlow {
  readonly from: string
  readonly to: string
  readonly expect: 'reachable' | 'unreachable'
}

/**
 * `count` distinct flows over the generated topology, with the verdict the tracer gives each
 * (flows it calls ambiguous or unknown are left out: they can meet no expectation).
 */
export function benchFlows(generated: Generated, model: Model, count: number): BenchFlow[] {
  const clusters = generated.topology.clusters ?? []
  const instances = generated.topology.instances ?? []
  const candidates: Array<{from: string; to: string}> = generated.flows.map((f) => ({from: f.from, to: f.to}))
  const seen = new Set<string>()
  const out: BenchFlow[] = []
  const podsOf = (c: number): ReadonlyArray<{name: string; namespace?: string; ip: string}> => clusters[c % clusters.length]?.pods ?? []
  // as many candidates as needed, deterministic, each pair once
  for (let i = 0; candidates.length < count * 2 && i < count * 20; i++) {
    const a = i % clusters.length
    const b = (a + 1 + ((i * 7) % (clusters.length - 1))) % clusters.length
    const src = podsOf(a)[Math.floor(i / clusters.length) % Math.max(1, podsOf(a).length)]
    const dst = podsOf(b)[(i * 3) % Math.max(1, podsOf(b).length)]
    const vm = instances[i % Math.max(1, instances.length)]
    const ca = clusters[a]?.name as string
    const cb = clusters[b]?.name as string
    if (!src || !dst) continue
    const from = `${ca}/${src.namespace ?? 'default'}/${src.name}`
    switch (i % 6) {
      case 0: candidates.push({from, to: `${dst.ip}:8080`}); break
      case 1: candidates.push({from, to: `${cb}/default/web`}); break
      case 2: candidates.push({from, to: `lb/${cb}-web-ilb`}); break
      case 3: if (vm) candidates.push({from: `instance/${vm.name}`, to: `${dst.ip}:8080`}); break
      case 4: if (vm) candidates.push({from: `instance/${vm.name}`, to: `${cb}/default/api`}); break
      default: candidates.push({from, to: `${cb}/shop/metrics`})
    }
  }
  for (const c of candidates) {
    if (out.length >= count) break
    const key = `${c.from} ${c.to}`
    if (seen.has(key)) continue
    seen.add(key)
    const verdict = traceFlow(model, resolveFlow(model, c.from, c.to)).verdict
    if (verdict === 'reachable' || verdict === 'unreachable') out.push({...c, expect: verdict})
  }
  if (out.length < count) throw new Error(`only ${out.length} distinct flows with a clear verdict (asked for ${count})`)
  return out
}

export function flowsYaml(flows: readonly BenchFlow[]): string {
  return dump(flows, {lineWidth: -1, noRefs: true})
}

export interface DoctorRun {
  readonly ms: number
  readonly code: number | null
  readonly outcomes: number
  readonly met: number
  readonly verdicts: ReadonlyMap<string, number>
  readonly problems: readonly string[]
}

/** one `xcc doctor --topology … --flows … --json` in a fresh process, checked */
export function runDoctorFlows(bin: string, topology: string, flowsFile: string, expected: readonly BenchFlow[], nodeArgs: readonly string[] = []): Promise<DoctorRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [...nodeArgs, bin, 'doctor', '--topology', topology, '--flows', flowsFile, '--json'], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, NO_COLOR: '1'}})
    const stdout: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => stdout.push(c))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.once('error', reject)
    child.once('close', (code) => {
      const ms = performance.now() - started
      const problems: string[] = []
      let outcomes: Array<{from: string; to: string; met: boolean; result: {verdict: string}}> = []
      try {
        outcomes = (JSON.parse(Buffer.concat(stdout).toString()) as {flows: typeof outcomes}).flows
      } catch {
        problems.push(`no --json output (exit ${code}): ${stderr.slice(-500)}`)
      }
      if (code !== 0) problems.push(`exit ${code} (0 when every flow meets its expectation)`)
      if (outcomes.length !== expected.length) problems.push(`${outcomes.length} outcomes for ${expected.length} flows`)
      const verdicts = new Map<string, number>()
      let met = 0
      outcomes.forEach((o, i) => {
        verdicts.set(o.result.verdict, (verdicts.get(o.result.verdict) ?? 0) + 1)
        if (o.met) met++
        const want = expected[i]
        if (!want || want.from !== o.from || want.to !== o.to) problems.push(`outcome ${i} is ${o.from} → ${o.to}, not the flow of the file`)
        else if (!o.met && problems.length < 5) problems.push(`${o.from} → ${o.to}: ${o.result.verdict}, expected ${want.expect}`)
      })
      resolve({ms, code, outcomes: outcomes.length, met, verdicts, problems})
    })
  })
}
