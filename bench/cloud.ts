/**
 * `npm run bench:cloud` (and the end of `npm run bench`): issue 14's targets on the xl topology.
 *
 *  - `xcc snapshot` of the topology served by the lab's cloud emulator (in this process, no data
 *    plane): the whole child process, the API requests it made (HTTP requests the emulator served,
 *    per list), the most connections the client held open at once (its requests in flight), and
 *    the snapshot loaded back and compared with the input (bench/cloud-snapshot.ts);
 *  - `xcc doctor --topology FILE --flows FLOWS` with N distinct flows, every one meeting the
 *    expectation the tracer gives it (bench/cloud-doctor.ts);
 *  - `xcc --version` beside bare `node -e 0`, interleaved (bench/startup.ts).
 *
 *   npm run bench:cloud [-- --size xl] [--snapshot-runs 3] [--flows 1000] [--doctor-runs 3]
 *                       [--startup-runs 15] [--skip-startup] [--skip-snapshot] [--skip-doctor]
 *
 * Targets are checked here, never in timed tests; each is PASS or MISS. A run whose answer is
 * wrong (counts or fields that differ, a flow not met) is a MISS whatever its time.
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {cpus, loadavg} from 'node:os'
import {join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

import {parseTopology} from '../src/core/topology/parse.js'
import {benchFlows, flowsYaml, runDoctorFlows, type DoctorRun} from './cloud-doctor.js'
import {benchSnapshot, type SnapshotBench} from './cloud-snapshot.js'
import {generate, toJson, toYaml} from './generate.js'
import {sizeByLabel} from './sizes.js'
import {median, measureStartup, type StartupResult} from './startup.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const OUT = join(ROOT, 'bench', 'out')
const BIN = join(ROOT, 'bin', 'run.js')
export const CLOUD_TARGET = {snapshotMs: 5000, doctorMs: 2000, versionDeltaMs: 30}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`)

const size = sizeByLabel(option('size') ?? 'xl')
const snapshotRuns = Math.max(1, Number(option('snapshot-runs') ?? 3))
const flowCount = Math.max(1, Number(option('flows') ?? 1000))
const doctorRuns = Math.max(1, Number(option('doctor-runs') ?? 3))
const startupRuns = Math.max(15, Number(option('startup-runs') ?? 15))

const fixed = (n: number | undefined, digits = 0): string => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits))
const verdictOf = (ok: boolean): string => (ok ? 'PASS' : 'MISS')
const log = (line: string): void => void process.stderr.write(`${line}\n`)

function section(title: string): void {
  console.log(`\n${title}\n${'='.repeat(title.length)}`)
}

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

function ensureBuild(): void {
  const r = spawnSync('npm', ['run', 'build'], {cwd: ROOT, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`npm run build failed:\n${(r.stdout + r.stderr).slice(-4000)}`)
}

function printSnapshot(s: SnapshotBench): boolean {
  section(`xcc snapshot of size ${size.label}, served by the lab's cloud emulator (${snapshotRuns} runs, a fresh process each)`)
  const c = s.input
  console.log(`input: ${c.networks} networks, ${c.subnets} subnets, ${c.peerings} peerings, ${c.routes} routes (+${s.derivedRoutes} per-node routes GKE-04, listed by the API, derived again by the loader), ${c.firewalls} firewall rules, ${c.instances} VMs, ${c.clusters} clusters of ${c.nodes / Math.max(1, c.clusters)} nodes, ${c.forwardingRules} forwarding rules`)
  const lists = [...new Set(s.runs.flatMap((r) => [...r.pages.keys()]))].sort()
  console.log(table(
    ['run', 'wall ms', 'child CPU ms', 'API requests (HTTP)', 'list calls', 'retries', 'max in flight', 'bound', 'check'],
    s.runs.map((r, i) => [String(i + 1), fixed(r.ms), fixed(r.cpuMs), String(r.httpRequests), String(r.requests), String(r.retries), String(r.maxInFlight), String(r.bound), r.problems.length === 0 ? 'ok' : `${r.problems.length} problems`]),
  ))
  console.log(`requests per list (run 1): ${lists.map((l) => `${l} ${s.runs[0]?.pages.get(l) ?? 0}`).join(', ')}`)
  console.log('API requests = HTTP requests the emulator served (equal to those the client made); max in flight = the most the client had made and not yet had answered (Node\'s HTTP diagnostics channels in the child, bench/http-in-flight.mjs); list calls = the --json `requests` (one per list, whatever its pages)')
  for (const [i, r] of s.runs.entries()) for (const p of r.problems) console.log(`run ${i + 1}: ${p}`)
  const o = s.output
  console.log(`snapshot loaded back: ${o.networks} networks, ${o.subnets} subnets, ${o.peerings} peerings, ${o.routes} routes, ${o.firewalls} firewall rules, ${o.instances} VMs, ${o.clusters} clusters, ${o.nodes} nodes; every route, firewall rule, VM, cluster and node compared field by field with the input`)
  return s.runs.every((r) => r.problems.length === 0)
}

async function main(): Promise<void> {
  const started = Date.now()
  mkdirSync(OUT, {recursive: true})
  console.log(`xcc cloud benchmark (issue 14): node ${process.version}, ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  if (!flag('no-build')) ensureBuild()
  const generated = generate(size)
  const yaml = toYaml(generated.topology)
  const topologyFile = join(OUT, `bench-cloud-${size.label}.yaml`)
  writeFileSync(topologyFile, yaml)
  const rows: string[][] = []

  if (!flag('skip-snapshot')) {
    const s = await benchSnapshot(yaml, {root: ROOT, runs: snapshotRuns, log})
    const correct = printSnapshot(s)
    const mid = median(s.runs.map((r) => r.ms))
    const maxInFlight = Math.max(...s.runs.map((r) => r.maxInFlight))
    rows.push([`snapshot of ${size.label}, whole process (median of ${s.runs.length})`, `< ${CLOUD_TARGET.snapshotMs} ms`, `${fixed(mid)} ms`, verdictOf(mid < CLOUD_TARGET.snapshotMs)])
    rows.push([`snapshot: the answer (counts and fields = the input)`, 'every run', correct ? 'all equal' : 'differs', verdictOf(correct)])
    rows.push([`snapshot: requests in flight at most (pages concurrent, bounded)`, '> 1, bounded', String(maxInFlight), verdictOf(maxInFlight > 1 && s.runs.every((r) => r.maxInFlight <= r.bound))])
  }

  if (!flag('skip-doctor')) {
    log(`bench: tracing ${flowCount} flows in this process to write their expectations…`)
    const model = parseTopology(yaml, topologyFile)
    const flows = benchFlows(generated, model, flowCount)
    if (flows.length < flowCount) log(`bench: size ${size.label} has ${flows.length} distinct flows with a clear verdict (${flowCount} asked for)`)
    const flowsFile = join(OUT, `bench-cloud-${size.label}.flows.yaml`)
    writeFileSync(flowsFile, flowsYaml(flows))
    const oneFile = join(OUT, `bench-cloud-${size.label}.flow-1.yaml`)
    writeFileSync(oneFile, flowsYaml(flows.slice(0, 1)))
    const jsonFile = join(OUT, `bench-cloud-${size.label}.json`)
    writeFileSync(jsonFile, toJson(generated.topology))
    section(`xcc doctor --topology (size ${size.label}) --flows (${flows.length} distinct flows), a fresh process each`)
    const expected = new Map<string, number>()
    for (const f of flows) expected.set(f.expect, (expected.get(f.expect) ?? 0) + 1)
    console.log(`expectations (the tracer's verdicts in this process): ${[...expected].map(([k, v]) => `${v} ${k}`).join(', ')}; the file: ${relative(ROOT, flowsFile)}`)
    const rowsOut: string[][] = []
    for (const [format, file] of [['YAML', topologyFile], ['JSON', jsonFile]] as const) {
      const runs: DoctorRun[] = []
      for (let i = 0; i < doctorRuns; i++) {
        const r = await runDoctorFlows(BIN, file, flowsFile, flows)
        log(`bench: doctor (${format}) run ${i + 1}/${doctorRuns}: ${r.ms.toFixed(0)} ms${r.problems.length ? `, ${r.problems.length} problems` : ''}`)
        runs.push(r)
      }
      // the same process with the first flow only: what loading the topology (and start-up) costs
      const one = await runDoctorFlows(BIN, file, oneFile, flows.slice(0, 1))
      runs.forEach((r, i) => rowsOut.push([format, String(i + 1), String(flows.length), fixed(r.ms), fixed(r.cpuMs), String(r.met), r.problems.length === 0 ? 'ok' : r.problems.join('; ')]))
      rowsOut.push([format, '-', '1', fixed(one.ms), fixed(one.cpuMs), String(one.met), one.problems.length === 0 ? 'ok' : one.problems.join('; ')])
      const mid = median(runs.map((r) => r.ms))
      const correct = runs.every((r) => r.problems.length === 0)
      rows.push([`doctor --flows, ${flows.length} flows on ${size.label} ${format} (median of ${runs.length})`, `< ${CLOUD_TARGET.doctorMs} ms`, `${fixed(mid)} ms`, verdictOf(mid < CLOUD_TARGET.doctorMs)])
      rows.push([`doctor --flows on ${format}: every flow met, exit 0`, 'every run', correct ? 'yes' : 'no', verdictOf(correct)])
    }
    console.log(table(['topology', 'run', 'flows', 'wall ms', 'child CPU ms', 'met', 'check'], rowsOut))
    console.log('the text output (as a person or a CI job reads it): exit 0, one ✓ line per flow in the file\'s order, and "Every flow (N) behaves as expected."')
    console.log('the 1-flow run is the same command on the first flow alone: start-up and loading the topology')
  }

  if (!flag('skip-startup')) {
    const [bare, version] = measureStartup(ROOT, [{label: 'node -e 0', argv: ['-e', '0']}, {label: 'xcc --version', argv: ['bin/run.js', '--version']}], startupRuns) as [StartupResult, StartupResult]
    section(`Start-up (median of ${startupRuns} interleaved runs each, after 2 warm-up runs)`)
    console.log(table(['command', 'median ms', 'min ms', 'max ms'], [bare, version].map((s) => [s.label, fixed(s.medianMs, 1), fixed(s.minMs, 1), fixed(Math.max(...s.samples), 1)])))
    const delta = version.medianMs - bare.medianMs
    rows.push([`xcc --version beside node -e 0 (median of ${startupRuns})`, `< +${CLOUD_TARGET.versionDeltaMs} ms`, `+${fixed(delta, 1)} ms`, verdictOf(delta < CLOUD_TARGET.versionDeltaMs)])
  }

  section('Issue 14 targets')
  console.log(table(['target', 'goal', 'measured', 'result'], rows))
  console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} CPUs (other work on the machine slows every wall time; child CPU ms is less sensitive to it)`)
  console.log(`the cloud benchmark took ${fixed((Date.now() - started) / 1000)} s`)
}

await main()
