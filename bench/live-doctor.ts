/**
 * `npm run bench:live` (root): wall time of a live `xcc doctor` on the seed 001 lab against the
 * probe timeout (issue 4 target: the verdict within the probe timeout plus 2 s), the median of
 * each phase the doctor reports in `observations.timings`, and whether the captures on several
 * nodes start in parallel (capturesLiveMs for a backend of 1, 4 and 8 nodes behind the internal
 * load balancer: started one after another it would grow about linearly with the node count).
 * Wall time is measured around the spawned `xcc` process, so it includes Node start-up; the
 * start-up of `node -e 0` and of `xcc --version` are printed for reference.
 *   npm run build && npm run bench:live            (XCC_BENCH_RUNS=5: doctor runs per timeout)
 */
import {type SpawnSyncReturns, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'

import yaml from 'js-yaml'

import {parallelCaptureTopology} from './live-topology.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const HOME = mkdtempSync(join(tmpdir(), 'xcc-bench-live-'))
const RUNS = Math.max(1, Math.floor(Number(process.env.XCC_BENCH_RUNS ?? 5) || 5))
const PARALLEL_RUNS = 3
const TIMEOUTS_S = [2, 5]
const NODE_COUNTS = [1, 4, 8]
const SLACK_MS = 2000
const SEED_LAB = `bl${process.pid}s`
const SEED_DESTINATION = ['--from', 'frontend', '--to', '10.193.0.3:32191', '--to-context', 'backend']
const parallelLab = (k: number): string => `bl${process.pid}k${k}`
const labsUp = new Set<string>()
let interrupted = false

interface Timings {preflightMs: number; factsMs: number; capturesLiveMs: number; probeMs: number; collectMs: number; cleanupMs: number; totalMs: number}
const PHASES: Array<keyof Timings> = ['preflightMs', 'factsMs', 'capturesLiveMs', 'probeMs', 'collectMs', 'cleanupMs', 'totalMs']
interface Report {
  verdict: string
  diagnosis: {code: string} | null
  observations: {timings: Timings; captures: Array<{at: string; status: string}>; cleanup: {failed: string[]; kept: string[]}}
}
interface DoctorRun {wallMs: number; report: Report}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
const max = (xs: readonly number[]): number => Math.max(...xs)
const fmt = (ms: number): string => (Math.abs(ms) >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)
const signed = (ms: number): string => `${ms >= 0 ? '+' : '-'}${fmt(Math.abs(ms))}`
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS')

function checkInterrupted(): void {
  if (interrupted) throw new Error('interrupted')
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): {ms: number; r: SpawnSyncReturns<string>} {
  checkInterrupted()
  const t0 = performance.now()
  const r = spawnSync(file, args, {cwd: ROOT, encoding: 'utf8', env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024})
  const ms = performance.now() - t0
  if (r.error) throw new Error(`${file} ${args.join(' ')}: ${(r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `no exit within ${fmt(timeoutMs)}` : r.error.message}`)
  checkInterrupted()
  return {ms, r}
}

function xcc(args: readonly string[], opts: {lab?: string; expect?: number; timeoutMs?: number} = {}): {ms: number; stdout: string} {
  const env: NodeJS.ProcessEnv = {...process.env, XCC_HOME: HOME, NO_COLOR: '1'}
  if (opts.lab) env.KUBECONFIG = join(HOME, 'labs', opts.lab, 'kubeconfig')
  else delete env.KUBECONFIG
  const {ms, r} = run(process.execPath, [join(ROOT, 'bin/run.js'), ...args], env, opts.timeoutMs ?? 120_000)
  const expect = opts.expect ?? 0
  if (r.status !== expect) throw new Error(`xcc ${args.join(' ')} exited ${r.status ?? r.signal} (expected ${expect})\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(-2000)}`)
  return {ms, stdout: r.stdout}
}

function labUp(name: string, source: readonly string[]): void {
  labsUp.add(name)
  xcc(['lab', 'down', '--name', name])
  xcc(['lab', 'up', ...source, '--name', name], {timeoutMs: 180_000})
}

function labDown(name: string): void {
  spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'down', '--name', name], {cwd: ROOT, env: {...process.env, XCC_HOME: HOME}, timeout: 60_000, killSignal: 'SIGKILL'})
  labsUp.delete(name)
}

/** one live doctor run on seed 001 (or a variant of it): exit 1, unreachable, POD_SNAT_MISSING, every capture ok, nothing left */
function doctor(lab: string, timeoutS: number, captures?: number): DoctorRun {
  const {ms, stdout} = xcc(['doctor', ...SEED_DESTINATION, '--timeout', `${timeoutS}s`, '--json'], {lab, expect: 1, timeoutMs: timeoutS * 1000 + 90_000})
  const report = JSON.parse(stdout) as Report
  const o = report.observations
  const problems = [
    report.verdict !== 'unreachable' && `verdict ${report.verdict}`,
    report.diagnosis?.code !== 'POD_SNAT_MISSING' && `diagnosis ${report.diagnosis?.code ?? 'none'}`,
    captures !== undefined && o.captures.length !== captures && `${o.captures.length} captures, expected ${captures}`,
    o.captures.some((c) => c.status !== 'ok') && `captures not ok: ${o.captures.filter((c) => c.status !== 'ok').map((c) => `${c.at} ${c.status}`).join(', ')}`,
    (o.cleanup.failed.length > 0 || o.cleanup.kept.length > 0) && `pods left: ${[...o.cleanup.failed, ...o.cleanup.kept].join(', ')}`,
  ].filter(Boolean)
  if (problems.length) throw new Error(`xcc doctor on lab ${lab}: ${problems.join('; ')}`)
  return {wallMs: ms, report}
}

function startup(): {node: number[]; xcc: number[]} {
  const node: number[] = []
  const cli: number[] = []
  for (let i = 0; i < 10; i++) {
    const n = run(process.execPath, ['-e', '0'], process.env, 30_000)
    if (n.r.status !== 0) throw new Error(`node -e 0 exited ${n.r.status}`)
    node.push(n.ms)
    cli.push(xcc(['--version'], {timeoutMs: 30_000}).ms)
  }
  return {node, xcc: cli}
}

function timeoutTable(): boolean {
  console.log(`\n1. seed 001 live doctor (lab up --scenario peered-vpcs-missing-snat; xcc doctor ${SEED_DESTINATION.join(' ')} --timeout T --json), ${RUNS} runs per timeout`)
  labUp(SEED_LAB, ['--scenario', 'peered-vpcs-missing-snat'])
  xcc(['doctor', ...SEED_DESTINATION, '--timeout', '2s', '--json'], {lab: SEED_LAB, expect: 1, timeoutMs: 120_000}) // warm-up (page cache, image), not counted
  const header = ['T', 'wall med', 'wall max', 'wall-T med', 'wall-T max', 'preflight', 'facts', 'capLive', 'probe', 'collect', 'cleanup', 'total', 'wall-total', 'target', 'med', 'max']
  const rows: string[][] = []
  let allPass = true
  for (const t of TIMEOUTS_S) {
    const runs: DoctorRun[] = []
    for (let i = 0; i < RUNS; i++) runs.push(doctor(SEED_LAB, t, 2))
    const walls = runs.map((x) => x.wallMs)
    const phase = (k: keyof Timings): number => median(runs.map((x) => x.report.observations.timings[k]))
    const target = t * 1000 + SLACK_MS
    allPass &&= max(walls) <= target
    rows.push([
      `${t} s`, fmt(median(walls)), fmt(max(walls)), signed(median(walls) - t * 1000), signed(max(walls) - t * 1000),
      ...PHASES.map((k) => fmt(phase(k))),
      fmt(median(runs.map((x) => x.wallMs - x.report.observations.timings.totalMs))),
      `<= ${fmt(target)}`, verdict(median(walls) <= target), verdict(max(walls) <= target),
    ])
    console.log(`   T=${t}s walls: ${walls.map(fmt).join(', ')}`)
  }
  labDown(SEED_LAB)
  printTable(header, rows)
  console.log('   phases are medians of observations.timings; wall-total = process start-up, kubeconfig, report and exit outside the run')
  return allPass
}

function parallelTable(): {ratio: number; perK: Map<number, number>} {
  console.log(`\n2. parallel captures: seed 001 with K backend nodes behind the load balancer (captures = K + 1), --timeout 2s, ${PARALLEL_RUNS} runs per K`)
  const header = ['K', 'captures', 'capLive med', 'capLive runs', 'wall med', 'total med', 'lab up']
  const rows: string[][] = []
  const perK = new Map<number, number>()
  for (const k of NODE_COUNTS) {
    const file = join(HOME, `live-bench-${k}-nodes.yaml`)
    writeFileSync(file, yaml.dump(parallelCaptureTopology(k), {lineWidth: -1}))
    // the generated topology is valid and is seed 001: the static doctor reaches the same diagnosis
    const stat = JSON.parse(xcc(['doctor', '--topology', file, '--from', 'frontend', '--to', '10.193.0.3:32191', '--json'], {expect: 1}).stdout) as Report
    if (stat.verdict !== 'unreachable' || stat.diagnosis?.code !== 'POD_SNAT_MISSING') throw new Error(`static doctor on the ${k}-node topology: ${stat.verdict} ${stat.diagnosis?.code}`)
    const lab = parallelLab(k)
    const t0 = performance.now()
    labUp(lab, ['--topology', file])
    const upMs = performance.now() - t0
    try {
      const runs = Array.from({length: PARALLEL_RUNS}, () => doctor(lab, 2, k + 1))
      const cap = runs.map((x) => x.report.observations.timings.capturesLiveMs)
      perK.set(k, median(cap))
      rows.push([String(k), String(k + 1), fmt(median(cap)), cap.map(fmt).join(', '), fmt(median(runs.map((x) => x.wallMs))), fmt(median(runs.map((x) => x.report.observations.timings.totalMs))), fmt(upMs)])
    } finally {
      labDown(lab)
    }
  }
  printTable(header, rows)
  const first = NODE_COUNTS[0] as number
  const last = NODE_COUNTS[NODE_COUNTS.length - 1] as number
  const ratio = (perK.get(last) as number) / (perK.get(first) as number)
  const sequential = (last + 1) / (first + 1)
  console.log(`   capturesLiveMs(K=${last}) / capturesLiveMs(K=${first}) = ${ratio.toFixed(2)}  (${last + 1} vs ${first + 1} captures; started one after another ≈ ${sequential.toFixed(1)}×)`)
  return {ratio, perK}
}

function printTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => `   ${cells.map((c, i) => c.padStart(widths[i] as number)).join('  ')}`
  console.log(line(header))
  for (const r of rows) console.log(line(r))
}

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('the live doctor benchmark needs root (the lab)')
  if (!existsSync(join(ROOT, 'dist/commands/doctor/index.js'))) throw new Error('run npm run build first')
  console.log(`xcc live doctor benchmark — node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  const s = startup()
  console.log(`start-up (10 runs): node -e 0 median ${fmt(median(s.node))} (max ${fmt(max(s.node))}); xcc --version median ${fmt(median(s.xcc))} (max ${fmt(max(s.xcc))})`)
  const pass = timeoutTable()
  const {ratio} = parallelTable()
  console.log('\ntargets:')
  console.log(`  verdict within the probe timeout + 2 s (every run, T = ${TIMEOUTS_S.join(' s and ')} s): ${verdict(pass)}`)
  const sequential = ((NODE_COUNTS.at(-1) as number) + 1) / ((NODE_COUNTS[0] as number) + 1)
  console.log(`  captures start in parallel: capturesLiveMs K=${NODE_COUNTS.at(-1)} / K=${NODE_COUNTS[0]} = ${ratio.toFixed(2)} vs ≈ ${sequential.toFixed(1)} if sequential — ${ratio < sequential / 2 ? 'parallel (below half the sequential ratio)' : 'NOT clearly parallel (at least half the sequential ratio)'}`)
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void (interrupted = true))
let exitCode = 0
try {
  main()
} catch (error) {
  console.error(`bench:live failed: ${error instanceof Error ? error.message : String(error)}`)
  exitCode = 1
} finally {
  for (const name of [...labsUp]) labDown(name)
  const ours = [SEED_LAB, ...NODE_COUNTS.map(parallelLab)].map((name) => `xcc-${name}-`)
  const left = (spawnSync('ip', ['netns', 'list'], {encoding: 'utf8', timeout: 10_000}).stdout ?? '').split('\n').filter((l) => ours.some((p) => l.startsWith(p)))
  if (left.length) {
    console.error(`namespaces left behind: ${left.join(', ')}`)
    exitCode = 1
  }
  rmSync(HOME, {recursive: true, force: true})
}
process.exitCode = interrupted ? 130 : exitCode
