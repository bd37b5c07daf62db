/**
 * `xcc doctor --topology FILE --flows FLOWS` on a generated topology, for bench/cloud.ts: a flows
 * file of N distinct flows (pod → pod, Service and internal load balancer within a cluster and over
 * the peerings, VM → Service, some that cannot get through, and the generator's own five), each
 * expecting what the static tracer answers for it in this process. The child's wall time is the whole process; its --json
 * must give N outcomes, every one met, or the run is wrong, however fast.
 */
import {spawn} from 'node:child_process'
import {performance} from 'node:perf_hooks'

import {dump} from 'js-yaml'

import type {Model} from '../src/core/topology/model-types.js'
import {resolveFlow} from '../src/core/trace/endpoints.js'
import {traceFlow} from '../src/core/trace/trace.js'
import {childrenCpuMs} from './cloud-snapshot.js'
import type {Generated} from './generate.js'

export interface BenchFlow {
  readonly from: string
  readonly to: string
  readonly expect: 'reachable' | 'unreachable'
}

/**
 * Up to `count` distinct flows over the generated topology (a small one has fewer), with the
 * verdict the tracer gives each (flows it calls ambiguous or unknown are left out: they can meet
 * no expectation).
 */
export function benchFlows(generated: Generated, model: Model, count: number): BenchFlow[] {
  const clusters = generated.topology.clusters ?? []
  const instances = generated.topology.instances ?? []
  const candidates: Array<{from: string; to: string}> = generated.flows.map((f) => ({from: f.from, to: f.to}))
  const seen = new Set<string>()
  const out: BenchFlow[] = []
  const podsOf = (c: number): ReadonlyArray<{name: string; namespace?: string; ip: string}> => clusters[c % clusters.length]?.pods ?? []
  // as many candidates as needed, deterministic, each pair once: within a cluster, over the
  // peerings to the hub network's cluster (GKE's per-node routes, PEER-02…), and some that cannot
  // get through (no peering: PEER-07; a ClusterIP from another cluster)
  const hubPartners = Math.max(1, Math.min(12, clusters.length - 1))
  for (let i = 0; candidates.length < count * 2 && i < count * 20; i++) {
    const a = i % clusters.length
    const partner = a === 0 ? 1 + (i % hubPartners) : 0
    const far = (a + 2 + (i % 7)) % clusters.length
    const src = podsOf(a)[Math.floor(i / clusters.length) % Math.max(1, podsOf(a).length)]
    const ca = clusters[a]?.name as string
    if (!src) continue
    const from = `${ca}/${src.namespace ?? 'default'}/${src.name}`
    const podIn = (c: number): string | undefined => {
      const pods = podsOf(c)
      const pod = pods[(i * 3 + 1) % Math.max(1, pods.length)]
      return pod && `${pod.ip}:8080`
    }
    const vm = instances[i % Math.max(1, instances.length)]
    const to = [
      podIn(a), `${ca}/default/api`, `lb/${ca}-web-ilb`, podIn(partner), `lb/${clusters[partner]?.name}-web-ilb`,
      `${clusters[partner]?.name}/default/web`, podIn(far), `${ca}/shop/metrics`,
    ][i % 8]
    if (to) candidates.push({from, to})
    if (vm && i % 8 === 5) candidates.push({from: `instance/${vm.name}`, to: `${clusters[a]?.name}/default/web`})
  }
  for (const c of candidates) {
    if (out.length >= count) break
    const key = `${c.from} ${c.to}`
    if (seen.has(key)) continue
    seen.add(key)
    const verdict = traceFlow(model, resolveFlow(model, c.from, c.to)).verdict
    if (verdict === 'reachable' || verdict === 'unreachable') out.push({...c, expect: verdict})
  }
  // a small topology has fewer distinct flows than asked for: all it has
  return out
}

export function flowsYaml(flows: readonly BenchFlow[]): string {
  return dump(flows, {lineWidth: -1, noRefs: true})
}

export interface DoctorRun {
  readonly ms: number
  /** the child's user + system CPU time, when /proc says (Linux) */
  readonly cpuMs?: number
  readonly code: number | null
  readonly outcomes: number
  readonly met: number
  readonly problems: readonly string[]
}

interface Outcome {
  readonly from: string
  readonly to: string
  readonly met: boolean
  /** the verdict, or `verdict (CODE)`, when it is said */
  readonly got?: string
}

/** the outcomes of the text output: `✓ FROM → TO   expected X` or `✗ FROM → TO   expected X, got Y` */
function textOutcomes(text: string): Outcome[] {
  const out: Outcome[] = []
  for (const line of text.split('\n')) {
    const m = /^([✓✗]) (\S+) → (\S+) {3}expected \S+?(?:, got (.+))?$/.exec(line)
    if (m) out.push({from: m[2] as string, to: m[3] as string, met: m[1] === '✓', ...(m[4] ? {got: m[4]} : {})})
  }
  return out
}

/**
 * One `xcc doctor --topology … --flows …` in a fresh process (its text output, as a person or a CI
 * job runs it; `json` for --json), checked: exit 0, one outcome per flow, in the file's order, all met.
 */
export function runDoctorFlows(bin: string, topology: string, flowsFile: string, expected: readonly BenchFlow[], options: {json?: boolean} = {}): Promise<DoctorRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const cpuBefore = childrenCpuMs()
    const child = spawn(process.execPath, [bin, 'doctor', '--topology', topology, '--flows', flowsFile, ...(options.json ? ['--json'] : [])], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, NO_COLOR: '1'}})
    const stdout: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => stdout.push(c))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.once('error', reject)
    child.once('close', (code) => {
      const ms = performance.now() - started
      const cpuAfter = childrenCpuMs()
      const problems: string[] = []
      const text = Buffer.concat(stdout).toString()
      let outcomes: Outcome[] = []
      if (options.json) {
        try {
          outcomes = (JSON.parse(text) as {flows: Array<{from: string; to: string; met: boolean; result: {verdict: string}}>}).flows.map((o) => ({from: o.from, to: o.to, met: o.met, got: o.result.verdict}))
        } catch {
          problems.push(`no --json output (exit ${code}): ${stderr.slice(-500)}`)
        }
      } else {
        outcomes = textOutcomes(text)
        if (!text.includes(`Every flow (${expected.length}) behaves as expected.`)) problems.push(`no "Every flow (${expected.length}) behaves as expected." (exit ${code}): ${(text.trim().split('\n').pop() ?? '') || stderr.slice(-500)}`)
      }
      if (code !== 0) problems.push(`exit ${code} (0 when every flow meets its expectation)`)
      if (outcomes.length !== expected.length) problems.push(`${outcomes.length} outcomes for ${expected.length} flows`)
      let met = 0
      outcomes.forEach((o, i) => {
        if (o.met) met++
        const want = expected[i]
        if (!want || want.from !== o.from || want.to !== o.to) problems.push(`outcome ${i} is ${o.from} → ${o.to}, not the flow of the file`)
        else if (!o.met && problems.length < 5) problems.push(`${o.from} → ${o.to}: got ${o.got ?? '?'}, expected ${want.expect}`)
      })
      resolve({ms, code, outcomes: outcomes.length, met, problems, ...(cpuBefore !== undefined && cpuAfter !== undefined ? {cpuMs: cpuAfter - cpuBefore} : {})})
    })
  })
}
