/**
 * `npm run bench`: generates the synthetic topologies (bench/generate.ts) into bench/out/,
 * measures each size in fresh processes (bench/measure-size.ts), then the CLI's start-up beside
 * bare Node, and prints the figures, the growth between sizes and the targets at the largest size.
 *
 *   npm run bench [-- --sizes xs,s,m] [--traces 1000] [--doctor 1000] [--doctor-budget-ms 5000]
 *                 [--startup-runs 15] [--skip-startup] [--build] [--skip-cloud]
 *                 [--kubeconfig-runs 10] [--skip-kubeconfig]
 *
 * Then the cloud benchmark (bench/cloud.ts, `npm run bench:cloud`): the snapshot served by the
 * lab's emulator and `doctor --flows` on the xl topology, in a process of its own; and, unless
 * --skip-kubeconfig, `xcc kubeconfig generate` end to end (bench/kubeconfig.ts, no root: the
 * emulated GKE and Kubernetes APIs run in that process), its own table and verdicts.
 *
 * Targets are checked here and only here (never in timed tests). The printed summary says
 * PASS or MISS per target; it never prints counts of passes and failures.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {arch, cpus, loadavg, platform} from 'node:os'
import {join, relative} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'

import {type GeneratedCounts, generate, toJson, toYaml} from './generate.js'
import {SIZES, type SizeParams, sizeByLabel} from './sizes.js'
import type {Measurement} from './measure-size.js'
import {type StartupResult, measureStartup} from './startup.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const OUT = join(ROOT, 'bench', 'out')
const WORKER = join(ROOT, 'bench', 'measure-size.ts')

const TARGET = {loadMs: 2000, oneTraceMs: 1, thousandTracesMs: 500, rssMb: 500, startupDeltaMs: 100}
/** issue 14: `xcc --version` within 30 ms of bare Node (other commands: startupDeltaMs) */
const VERSION_DELTA_MS = 30

// ---------------------------------------------------------------------------------------------
// arguments

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`)

const sizes: SizeParams[] = (option('sizes')?.split(',') ?? SIZES.map((s) => s.label)).map(sizeByLabel)
const traceCount = Number(option('traces') ?? 1000)
const doctorCount = Number(option('doctor') ?? 1000)
const doctorBudgetMs = Number(option('doctor-budget-ms') ?? 5000)
const startupRuns = Math.max(10, Number(option('startup-runs') ?? 15))

// ---------------------------------------------------------------------------------------------
// formatting

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, alignLeft = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i < alignLeft ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

const fixed = (n: number | undefined, digits = 0): string => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits))
const thousands = (n: number): string => n.toLocaleString('en-US')
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1)
const verdictOf = (ok: boolean): string => (ok ? 'PASS' : 'MISS')

function section(title: string): void {
  console.log(`\n${title}\n${'='.repeat(title.length)}`)
}

// ---------------------------------------------------------------------------------------------
// measuring

interface SizeResult {
  readonly size: SizeParams
  readonly counts: GeneratedCounts
  readonly generateMs: number
  readonly yamlBytes: number
  readonly jsonBytes: number
  /** YAML: load, traces, doctor */
  readonly full: Measurement
  /** JSON: load and one trace per flow */
  readonly json: Measurement
  /** the loader's stages, YAML and JSON */
  readonly yamlStages: Measurement
  readonly jsonStages: Measurement
}

function runWorker(args: readonly string[], nodeFlags: readonly string[] = []): Measurement {
  const result = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', WORKER, ...args], {cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 2 ** 20})
  if (result.status !== 0) {
    throw new Error(`measure-size ${args.join(' ')} exited with ${result.status ?? result.signal}:\n${result.stderr.slice(-4000)}`)
  }
  const lastLine = result.stdout.trim().split('\n').pop() ?? ''
  return JSON.parse(lastLine) as Measurement
}

function measureSize(size: SizeParams): SizeResult {
  const start = performance.now()
  const generated = generate(size)
  const yaml = toYaml(generated.topology)
  const json = toJson(generated.topology)
  const generateMs = performance.now() - start
  const base = join(OUT, `bench-${size.label}`)
  const flows = `${base}.flows.json`
  writeFileSync(`${base}.yaml`, yaml)
  writeFileSync(`${base}.json`, json)
  writeFileSync(flows, `${JSON.stringify(generated.flows, null, 2)}\n`)
  process.stderr.write(`bench: ${size.label}: generated ${mb(yaml.length)} MB YAML, ${mb(json.length)} MB JSON in ${fixed(generateMs)} ms; measuring…\n`)
  // --expose-gc only lets the worker collect once at the very end, after reading the peak RSS
  const full = runWorker(['--mode', 'full', '--file', `${base}.yaml`, '--flows', flows, '--traces', String(traceCount), '--doctor', String(doctorCount),
    '--doctor-budget-ms', String(doctorBudgetMs)], ['--expose-gc'])
  const jsonRun = runWorker(['--mode', 'load', '--file', `${base}.json`, '--flows', flows])
  const yamlStages = runWorker(['--mode', 'breakdown', '--file', `${base}.yaml`, '--flows', flows])
  const jsonStages = runWorker(['--mode', 'breakdown', '--file', `${base}.json`, '--flows', flows])
  const yamlVerdicts = full.flows.map((f) => f.verdict).join(',')
  const jsonVerdicts = jsonRun.flows.map((f) => f.verdict).join(',')
  if (yamlVerdicts !== jsonVerdicts) throw new Error(`size ${size.label}: YAML and JSON traces disagree (${yamlVerdicts} vs ${jsonVerdicts})`)
  return {size, counts: generated.counts, generateMs, yamlBytes: Buffer.byteLength(yaml), jsonBytes: Buffer.byteLength(json), full, json: jsonRun, yamlStages, jsonStages}
}

const STARTUP_COMMANDS = [
  {label: 'node -e 0', argv: ['-e', '0']},
  {label: 'xcc --version', argv: ['bin/run.js', '--version']},
  {label: 'xcc doctor --help', argv: ['bin/run.js', 'doctor', '--help']},
]

/** Builds dist/ when it is missing (or on --build); says so when src/ is newer than dist/. */
function ensureBuild(): string {
  const manifest = join(ROOT, 'oclif.manifest.json')
  const entry = join(ROOT, 'dist', 'commands')
  const missing = !existsSync(manifest) || !existsSync(entry)
  if (missing || flag('build')) {
    process.stderr.write(`bench: ${missing ? 'dist/ or oclif.manifest.json is missing' : '--build'}: running npm run build…\n`)
    const result = spawnSync('npm', ['run', 'build'], {cwd: ROOT, encoding: 'utf8'})
    if (result.status !== 0) throw new Error(`npm run build failed:\n${(result.stdout + result.stderr).slice(-4000)}`)
    return 'built by this run'
  }
  const newest = (dir: string): number =>
    readdirSync(dir, {withFileTypes: true}).reduce((latest, e) => {
      const path = join(dir, e.name)
      return Math.max(latest, e.isDirectory() ? newest(path) : statSync(path).mtimeMs)
    }, 0)
  const srcTime = newest(join(ROOT, 'src'))
  const distTime = statSync(manifest).mtimeMs
  return srcTime > distTime ? 'WARNING: src/ is newer than dist/: start-up was measured on an older build (pass --build)' : 'dist/ is up to date with src/'
}

// ---------------------------------------------------------------------------------------------
// growth

/** log(ratio of metric) / log(ratio of input size): 1 = linear, 0 = constant, 2 = quadratic. */
function exponent(a: number, b: number, sizeA: number, sizeB: number): number {
  return Math.log(b / a) / Math.log(sizeB / sizeA)
}

function describeExponent(e: number): string {
  if (!Number.isFinite(e)) return 'n/a'
  if (e < 0.3) return 'about constant'
  if (e < 0.8) return 'sub-linear'
  if (e < 1.25) return 'about linear'
  if (e < 1.7) return 'super-linear'
  return 'quadratic or worse'
}

// ---------------------------------------------------------------------------------------------

function main(): void {
  const benchStart = performance.now()
  mkdirSync(OUT, {recursive: true})
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const loadBefore = loadavg()
  console.log(`xcc benchmark: node ${process.version}, ${platform()} ${arch()}, ${cpus().length} CPUs (${cpu}), load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`)
  console.log(`sizes ${sizes.map((s) => s.label).join(', ')}; ${traceCount} traces and up to ${doctorCount} doctor runs per size (doctor budget ${doctorBudgetMs / 1000} s)`)
  console.log(`every figure comes from a fresh process per size and format (bench/measure-size.ts, source run through tsx); files in ${relative(ROOT, OUT)}/`)

  const results = sizes.map(measureSize)
  const largest = results[results.length - 1] as SizeResult

  section('Generated topologies')
  console.log(table(
    ['size', 'networks', 'peerings', 'routes', '+implied', 'firewalls', 'VMs', 'clusters', 'nodes', 'pods', 'iptables lines', 'kube svcs', 'YAML MB', 'JSON MB', 'gen ms'],
    results.map((r) => [
      r.size.label, thousands(r.counts.networks), thousands(r.counts.peerings), thousands(r.counts.routes), thousands(r.counts.impliedRoutes),
      thousands(r.counts.firewalls), thousands(r.counts.instances), thousands(r.counts.clusters), thousands(r.counts.nodes), thousands(r.counts.pods),
      thousands(r.counts.iptablesLines), thousands(r.counts.iptablesServices), mb(r.yamlBytes), mb(r.jsonBytes), fixed(r.generateMs),
    ]),
  ))
  console.log('iptables lines: the one large kube-proxy dump (node 0 of cluster c000); every other node\'s rules are derived by the loader')

  section('Time per size')
  console.log(table(
    ['size', 'load YAML ms', 'load JSON ms', 'first trace ms', 'warm trace µs (median)', `${thousands(traceCount)} traces ms`, 'mean trace ms', 'first doctor ms', 'doctor runs', 'doctor mean ms'],
    results.map((r) => [
      r.size.label, fixed(r.full.loadMs), fixed(r.json.loadMs), fixed(r.full.flows[0]?.firstMs, 2), fixed(r.full.flows[0]?.medianUs, 1),
      fixed(r.full.traces?.totalMs, 1), fixed((r.full.traces?.meanUs ?? NaN) / 1000, 2), fixed(r.full.doctor?.firstMs, 2), String(r.full.doctor?.count ?? 0), fixed(r.full.doctor?.meanMs, 2),
    ]),
  ))
  console.log('load = parseTopology: text parse + schema + validation + model (which parses every node\'s iptables rules).')
  console.log('first trace = the first traceFlow in the process (flow 1 below), as `xcc doctor` pays it; warm = median of flow 1 over the round-robin;')
  console.log(`the ${thousands(traceCount)} traces are round-robin over all flows; doctor = evaluateDoctor (trace + ${'20'} checks + diagnosis), round-robin.`)

  section('Memory per size (MB)')
  console.log(table(
    ['size', 'baseline RSS', 'peak RSS: load + 1st traces + 1 doctor', 'peak RSS: whole YAML run', 'peak RSS: JSON load run', 'heap kept after GC'],
    results.map((r) => [r.size.label, fixed(r.full.baselineRssMb), fixed(r.full.cliPeakRssMb), fixed(r.full.peakRssMb), fixed(r.json.peakRssMb), fixed(r.full.retainedHeapMb)]),
  ))
  console.log('baseline = RSS of the worker after its imports (node + tsx loader + xcc modules). The whole-run peak includes the garbage of')
  console.log('every trace and doctor run that V8 had not yet collected; "heap kept after GC" is what the model really holds.')

  section('Loader stages (ms, fresh process each)')
  console.log(table(
    ['size', 'format', 'read', 'text parse', 'schema (zod)', 'validate', 'model', 'sum'],
    results.flatMap((r) =>
      [r.yamlStages, r.jsonStages].map((m) => {
        const b = m.breakdown
        return [r.size.label, m.format, fixed(m.readMs), fixed(b?.parseMs), fixed(b?.schemaMs), fixed(b?.validateMs), fixed(b?.modelMs), fixed(m.loadMs)]
      }),
    ),
    2,
  ))

  section(`Flows at size ${largest.size.label}`)
  console.log(table(
    ['#', 'flow', 'verdict', 'paths', 'first ms', 'warm median µs', 'warm mean µs', 'doctor', 'diagnosis'],
    largest.full.flows.map((f, i) => [String(i + 1), f.label, f.verdict, String(f.paths), fixed(f.firstMs, 2), fixed(f.medianUs, 1), fixed(f.meanUs, 1), f.doctorVerdict ?? '-', f.diagnosis ?? '-']),
    2,
  ))
  console.log('paths = alternatives the tracer follows (ILB backends × kube-proxy endpoints, capped at 64)')

  if (results.length > 1) {
    const first = results[0] as SizeResult
    const upperFrom = results[Math.max(0, results.length - 3)] as SizeResult
    section(`Growth (ratio between consecutive sizes; exponent = log(metric ratio) / log(YAML size ratio): 0 constant, 1 linear, 2 quadratic)`)
    const metrics: Array<{name: string; get: (r: SizeResult) => number}> = [
      {name: 'YAML size', get: (r) => r.yamlBytes},
      {name: 'load YAML', get: (r) => r.full.loadMs},
      {name: 'load JSON', get: (r) => r.json.loadMs},
      {name: 'first trace (flow 1)', get: (r) => r.full.flows[0]?.firstMs ?? NaN},
      ...largest.full.flows.map((_, i) => ({name: `warm trace, flow ${i + 1}`, get: (r: SizeResult) => r.full.flows[i]?.medianUs ?? NaN})),
      {name: `${thousands(traceCount)} traces`, get: (r) => r.full.traces?.totalMs ?? NaN},
      {name: 'doctor mean', get: (r) => r.full.doctor?.meanMs ?? NaN},
      {name: 'peak RSS (CLI-like)', get: (r) => r.full.cliPeakRssMb ?? NaN},
      {name: 'heap kept after GC', get: (r) => r.full.retainedHeapMb ?? NaN},
    ]
    const steps = results.slice(1).map((r, i) => [results[i] as SizeResult, r] as const)
    console.log(table(
      ['metric', ...steps.map(([a, b]) => `${a.size.label}→${b.size.label}`), `exp ${first.size.label}→${largest.size.label}`, `exp ${upperFrom.size.label}→${largest.size.label}`, 'growth at the upper sizes'],
      metrics.map((m) => {
        const upper = exponent(m.get(upperFrom), m.get(largest), upperFrom.yamlBytes, largest.yamlBytes)
        return [
          m.name,
          ...steps.map(([a, b]) => `×${fixed(m.get(b) / m.get(a), 2)}`),
          fixed(exponent(m.get(first), m.get(largest), first.yamlBytes, largest.yamlBytes), 2),
          fixed(upper, 2),
          m.name === 'YAML size' ? '(input)' : describeExponent(upper),
        ]
      }),
    ))
  }

  let startup: StartupResult[] = []
  let buildNote = ''
  if (!flag('skip-startup')) {
    buildNote = ensureBuild()
    startup = measureStartup(ROOT, STARTUP_COMMANDS, startupRuns)
    section(`Start-up (median of ${startupRuns} interleaved runs each, after 2 warm-up runs)`)
    const bare = startup[0] as StartupResult
    console.log(table(
      ['command', 'median ms', 'min ms', 'max ms', 'median minus node -e 0'],
      startup.map((s) => [s.label, fixed(s.medianMs, 1), fixed(s.minMs, 1), fixed(Math.max(...s.samples), 1), s === bare ? '' : `+${fixed(s.medianMs - bare.medianMs, 1)} ms`]),
    ))
    console.log(buildNote)
  }

  section(`Targets at size ${largest.size.label}`)
  const flow1 = largest.full.flows[0]
  const slowestWarm = Math.max(...largest.full.flows.map((f) => (f.medianUs ?? Infinity) / 1000))
  const scaledTraceTarget = (TARGET.thousandTracesMs * traceCount) / 1000
  const rows: string[][] = [
    ['load + validate, YAML', `< ${TARGET.loadMs} ms`, `${fixed(largest.full.loadMs)} ms`, verdictOf(largest.full.loadMs < TARGET.loadMs)],
    ['load + validate, JSON', `< ${TARGET.loadMs} ms`, `${fixed(largest.json.loadMs)} ms`, verdictOf(largest.json.loadMs < TARGET.loadMs)],
    ['one trace, cold (first in the process, flow 1)', `< ${TARGET.oneTraceMs} ms`, `${fixed(flow1?.firstMs, 2)} ms`, verdictOf((flow1?.firstMs ?? Infinity) < TARGET.oneTraceMs)],
    ['one trace, warm (median, slowest flow)', `< ${TARGET.oneTraceMs} ms`, `${fixed(slowestWarm, 2)} ms`, verdictOf(slowestWarm < TARGET.oneTraceMs)],
    [`${thousands(traceCount)} traces (round-robin over ${largest.full.flows.length} flows)`, `< ${fixed(scaledTraceTarget)} ms`, `${fixed(largest.full.traces?.totalMs, 1)} ms`,
      verdictOf((largest.full.traces?.totalMs ?? Infinity) < scaledTraceTarget)],
    ['peak RSS, load + first traces + 1 doctor', `< ${TARGET.rssMb} MB`, `${fixed(largest.full.cliPeakRssMb)} MB`, verdictOf((largest.full.cliPeakRssMb ?? Infinity) < TARGET.rssMb)],
    ['peak RSS, whole YAML run (with all traces)', `< ${TARGET.rssMb} MB`, `${fixed(largest.full.peakRssMb)} MB`, verdictOf(largest.full.peakRssMb < TARGET.rssMb)],
  ]
  const bare = startup[0]
  for (const s of startup.slice(1)) {
    const delta = s.medianMs - (bare as StartupResult).medianMs
    const goal = s.label === 'xcc --version' ? VERSION_DELTA_MS : TARGET.startupDeltaMs
    rows.push([`start-up: ${s.label} (vs node -e 0)`, `< +${goal} ms`, `+${fixed(delta, 1)} ms`, verdictOf(delta < goal)])
  }
  console.log(table(['target', 'goal', 'measured', 'result'], rows))
  const loadAfter = loadavg()
  console.log(`\nload average at the end: ${loadAfter.map((x) => x.toFixed(2)).join(' ')} (on ${cpus().length} CPUs; other work on the machine slows every figure)`)
  console.log(`the benchmark took ${fixed((performance.now() - benchStart) / 1000)} s`)

  writeFileSync(join(OUT, 'results.json'), `${JSON.stringify({node: process.version, cpu, loadBefore, loadAfter, results, startup, buildNote}, null, 2)}\n`)
  console.log(`raw figures: ${relative(ROOT, join(OUT, 'results.json'))}`)

  if (!flag('skip-kubeconfig')) {
    if (!buildNote) buildNote = ensureBuild()
    section('kubeconfig generate, end to end (npm run bench:kubeconfig)')
    const kc = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'kubeconfig.ts'), '--runs', option('kubeconfig-runs') ?? '10'], {cwd: ROOT, stdio: 'inherit'})
    if (kc.status !== 0) throw new Error(`bench/kubeconfig.ts exited with ${kc.status ?? kc.signal}`)
  }
}

main()

if (!flag('skip-cloud')) {
  // the cloud targets on the largest size asked for (its own process: its emulator and children)
  ensureBuild()
  const largest = sizes[sizes.length - 1] as SizeParams
  const cloud = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'cloud.ts'), '--no-build', '--size', largest.label, '--skip-startup'], {cwd: ROOT, stdio: 'inherit'})
  if (cloud.status !== 0) throw new Error(`bench/cloud.ts exited with ${cloud.status ?? cloud.signal}`)
}
