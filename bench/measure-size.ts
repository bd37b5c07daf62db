/**
 * One benchmark measurement in a fresh process (spawned by bench/run.ts), so that peak RSS and
 * first-call timings belong to this size alone. Prints one JSON line (a Measurement) on stdout.
 *
 *   node --import tsx bench/measure-size.ts --file bench/out/xl.yaml --flows bench/out/xl.flows.json
 *        [--mode full|load|breakdown] [--traces 1000] [--doctor 1000] [--doctor-budget-ms 5000]
 *
 * mode full:      load, first trace of every flow, one doctor run (the CLI's work), then N traces
 *                 round-robin over the flows and up to M doctor runs within a time budget
 * mode load:      load and one trace per flow (the verdicts show that YAML and JSON load the same model)
 * mode breakdown: the loader's stages timed one by one (text parse, schema, validation, model)
 */
import {readFileSync} from 'node:fs'
import {performance} from 'node:perf_hooks'

import {CORE_SCHEMA, load as loadYaml} from 'js-yaml'

import {CHECKS} from '../src/checks/index.js'
import {evaluateDoctor} from '../src/core/doctor/report.js'
import {buildModel} from '../src/core/topology/model.js'
import {detectFormat, parseTopology} from '../src/core/topology/parse.js'
import {topologySchema} from '../src/core/topology/schema.js'
import {validateTopology} from '../src/core/topology/validate.js'
import {type Flow, resolveFlow} from '../src/core/trace/endpoints.js'
import {traceFlow} from '../src/core/trace/trace.js'
import type {FlowSpec} from './generate.js'

export interface FlowMeasurement {
  readonly label: string
  readonly verdict: string
  readonly paths: number
  /** the first traceFlow of this flow in the process (after the loader, before any other trace of it) */
  readonly firstMs: number
  /** mean and median over its share of the N round-robin traces (warm) */
  readonly meanUs?: number
  readonly medianUs?: number
  readonly doctorVerdict?: string
  readonly diagnosis?: string | null
}

export interface Measurement {
  readonly mode: 'full' | 'load' | 'breakdown'
  readonly file: string
  readonly format: 'yaml' | 'json'
  /** RSS after the modules were imported, before the file was read */
  readonly baselineRssMb: number
  readonly readMs: number
  /** parseTopology: text parse + schema + validation + model */
  readonly loadMs: number
  readonly flows: readonly FlowMeasurement[]
  readonly traces?: {readonly count: number; readonly totalMs: number; readonly meanUs: number}
  /** firstMs: the first evaluateDoctor in the process (flow 1, right after the first traces) */
  readonly doctor?: {readonly count: number; readonly totalMs: number; readonly meanMs: number; readonly firstMs: number}
  /** peak RSS after load + the first trace of every flow + one doctor run: what one `xcc doctor` needs */
  readonly cliPeakRssMb?: number
  /** heap still used after a full GC at the end (the model and what the run keeps), when --expose-gc is on */
  readonly retainedHeapMb?: number
  readonly breakdown?: {readonly parseMs: number; readonly schemaMs: number; readonly validateMs: number; readonly modelMs: number}
  /** process.resourceUsage().maxRSS, and VmHWM from /proc/self/status where there is one */
  readonly peakRssMb: number
  readonly vmHwmMb?: number
}

function option(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`)
  const value = i >= 0 ? process.argv[i + 1] : fallback
  if (value === undefined) throw new Error(`missing --${name}`)
  return value
}

function vmHwmMb(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))
    return m ? Number(m[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

function time<T>(fn: () => T): [T, number] {
  const start = performance.now()
  const value = fn()
  return [value, performance.now() - start]
}

function main(): void {
  const file = option('file')
  const mode = option('mode', 'full') as Measurement['mode']
  const flowSpecs = JSON.parse(readFileSync(option('flows'), 'utf8')) as FlowSpec[]
  const traceCount = Number(option('traces', '1000'))
  const doctorCount = Number(option('doctor', '1000'))
  const doctorBudgetMs = Number(option('doctor-budget-ms', '5000'))
  const baselineRssMb = process.memoryUsage().rss / 2 ** 20

  const [text, readMs] = time(() => readFileSync(file, 'utf8'))
  const format = detectFormat(file, text)

  if (mode === 'breakdown') {
    // parseTopology's stages, in its order (src/core/topology/parse.ts)
    const [raw, parseMs] = time(() => (format === 'json' ? JSON.parse(text) : loadYaml(text, {schema: CORE_SCHEMA, filename: file})) as unknown)
    const [parsed, schemaMs] = time(() => topologySchema.safeParse(raw))
    if (!parsed.success) throw new Error(`schema: ${parsed.error.message.slice(0, 500)}`)
    const [issues, validateMs] = time(() => validateTopology(parsed.data))
    if (issues.length > 0) throw new Error(`validation: ${JSON.stringify(issues.slice(0, 5))}`)
    const [, modelMs] = time(() => buildModel(parsed.data))
    print({mode, file, format, baselineRssMb, readMs, loadMs: parseMs + schemaMs + validateMs + modelMs, flows: [], breakdown: {parseMs, schemaMs, validateMs, modelMs}})
    return
  }

  const [model, loadMs] = time(() => parseTopology(text, file))
  const flows: Flow[] = flowSpecs.map((f) => resolveFlow(model, f.from, f.to, f.protocol))
  const firsts = flows.map((flow) => time(() => traceFlow(model, flow)))

  if (mode === 'load') {
    print({
      mode, file, format, baselineRssMb, readMs, loadMs,
      flows: flowSpecs.map((f, i) => {
        const [result, ms] = firsts[i] as (typeof firsts)[number]
        return {label: f.label, verdict: result.verdict, paths: result.paths.length, firstMs: ms}
      }),
    })
    return
  }

  const [, doctorFirstMs] = time(() => evaluateDoctor(model, flows[0] as Flow, CHECKS))
  const cliPeakRssMb = process.resourceUsage().maxRSS / 1024

  // N traces, round-robin over the flows
  const perFlow = flows.map(() => [] as number[])
  const start = performance.now()
  for (let i = 0; i < traceCount; i++) {
    const k = i % flows.length
    const t0 = performance.now()
    traceFlow(model, flows[k] as Flow)
    ;(perFlow[k] as number[]).push(performance.now() - t0)
  }
  const tracesMs = performance.now() - start

  // doctor evaluations (trace + 20 checks + diagnosis), round-robin, within a time budget
  const doctorReports: Array<ReturnType<typeof evaluateDoctor>> = []
  let doctorDone = 0
  const doctorStart = performance.now()
  while (doctorDone < doctorCount && (doctorDone < flows.length || performance.now() - doctorStart < doctorBudgetMs)) {
    const report = evaluateDoctor(model, flows[doctorDone % flows.length] as Flow, CHECKS)
    if (doctorDone < flows.length) doctorReports.push(report)
    doctorDone++
  }
  const doctorMs = performance.now() - doctorStart

  print({
    mode, file, format, baselineRssMb, readMs, loadMs,
    flows: flowSpecs.map((f, i) => {
      const [result, ms] = firsts[i] as (typeof firsts)[number]
      const samples = perFlow[i] as number[]
      const report = doctorReports[i]
      return {
        label: f.label, verdict: result.verdict, paths: result.paths.length, firstMs: ms,
        meanUs: samples.length ? (samples.reduce((a, b) => a + b, 0) / samples.length) * 1000 : 0, medianUs: median(samples) * 1000,
        ...(report ? {doctorVerdict: report.verdict, diagnosis: report.diagnosis?.code ?? null} : {}),
      }
    }),
    traces: {count: traceCount, totalMs: tracesMs, meanUs: (tracesMs / traceCount) * 1000},
    doctor: {count: doctorDone, totalMs: doctorMs, meanMs: doctorMs / doctorDone, firstMs: doctorFirstMs},
    cliPeakRssMb,
  })
}

function print(m: Omit<Measurement, 'peakRssMb' | 'vmHwmMb' | 'retainedHeapMb'>): void {
  const peakRssMb = process.resourceUsage().maxRSS / 1024
  const hwm = vmHwmMb()
  // after the peak was read: a full collection shows what the process really keeps
  const gc = (globalThis as {gc?: () => void}).gc
  gc?.()
  const retainedHeapMb = gc ? process.memoryUsage().heapUsed / 2 ** 20 : undefined
  const out: Measurement = {...m, peakRssMb, ...(hwm === undefined ? {} : {vmHwmMb: hwm}), ...(retainedHeapMb === undefined ? {} : {retainedHeapMb})}
  process.stdout.write(`${JSON.stringify(out)}\n`)
}

main()
