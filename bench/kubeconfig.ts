/**
 * `npm run bench:kubeconfig` (no root): `xcc kubeconfig generate` end to end, verification
 * included, against the lab's emulated GKE and Kubernetes APIs (bench/kubeconfig-lab.ts), for
 * --auth service-account (role service-reader, a new ServiceAccount each run), --auth token and
 * --auth exec (no kube writes), interleaved with a bare `node -e 0`. Each process is the built
 * CLI (bin/run.js) with bench/kubeconfig-probe.mjs preloaded, which reports its CPU time, the
 * HTTP requests it made and the TCP connections it opened. Prints median and p90 wall time and
 * PASS or MISS against the target: generate under 1 s, verification included.
 *   npm run build && npm run bench:kubeconfig [-- --runs 10] [--compare DIR]
 * --compare DIR: the generate rows of another built checkout too (before/after a change), interleaved.
 * The exec file's verification runs gke-gcloud-auth-plugin, which runs gcloud (its own start-up,
 * not counted in CPU or requests); without the plugin on the PATH that row is left out.
 */
import {spawn} from 'node:child_process'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {cpus, loadavg} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {BENCH_CLUSTER, type KubeconfigBenchLab, startKubeconfigBenchLab} from './kubeconfig-lab.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PROBE = join(ROOT, 'bench', 'kubeconfig-probe.mjs')
export const TARGET_MS = 1000

interface Probe {
  cpuUs: {user: number; system: number}
  requests: Record<string, number>
  connections: number
}

export interface Sample {
  readonly wallMs: number
  readonly cpuMs: number
  readonly requests: number
  readonly connections: number
}

export interface Row {
  readonly label: string
  readonly samples: Sample[]
}

interface Command {
  readonly label: string
  /** node's arguments after the probe; {i} is the run's number */
  args(i: number, file: string): string[]
  /** generate's --json answer is checked: exit 0, verified */
  readonly generate: boolean
}

const generate = (root: string, extra: (i: number) => string[]) => (i: number, file: string): string[] =>
  [join(root, 'bin/run.js'), 'kubeconfig', 'generate', '--cluster', BENCH_CLUSTER, ...extra(i), '-o', file, '--json']

/** `compare`: another built checkout (e.g. the commit before a change), whose generate rows run interleaved with these */
export function commands(withExec: boolean, compare?: string): Command[] {
  const of = (root: string, label: string): Command[] => [
    {label: `generate --auth service-account --role service-reader${label}`, args: generate(root, (i) => ['--auth', 'service-account', '--role', 'service-reader', '--service-account', `bench-${i}`]), generate: true},
    {label: `generate --auth token${label}`, args: generate(root, () => ['--auth', 'token']), generate: true},
    ...(withExec ? [{label: `generate --auth exec${label}`, args: generate(root, () => ['--auth', 'exec']), generate: true}] : []),
  ]
  return [{label: 'node -e 0', args: () => ['-e', '0'], generate: false}, ...of(ROOT, ''), ...(compare ? of(compare, ` [${compare}]`) : [])]
}

function runOnce(lab: KubeconfigBenchLab, command: Command, i: number): Promise<Sample> {
  const file = join(lab.dir, `run-${i}.kubeconfig`)
  const probeOut = join(lab.dir, `probe-${i}.json`)
  rmSync(file, {force: true})
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, ['--import', pathToFileURL(PROBE).href, ...command.args(i, file)], {
      cwd: ROOT, env: {...lab.env, NO_COLOR: '1', NODE_OPTIONS: '', XCC_BENCH_PROBE_OUT: probeOut}, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.once('error', reject)
    child.once('close', (code, signal) => {
      const wallMs = performance.now() - started
      clearTimeout(timer)
      try {
        if (code !== 0) throw new Error(`${command.label} exited ${code ?? signal}\n${stdout.slice(0, 2000)}\n${stderr.slice(-2000)}`)
        if (command.generate) {
          const answer = JSON.parse(stdout) as {verified?: boolean; verification?: Array<{check: string; ok: boolean}>}
          if (answer.verified !== true) throw new Error(`${command.label}: not verified: ${JSON.stringify(answer.verification)}`)
          if (!existsSync(file)) throw new Error(`${command.label}: ${file} was not written`)
        }
        const probe = JSON.parse(readFileSync(probeOut, 'utf8')) as Probe
        rmSync(probeOut, {force: true})
        resolve({wallMs, cpuMs: (probe.cpuUs.user + probe.cpuUs.system) / 1000, requests: Object.values(probe.requests).reduce((a, b) => a + b, 0), connections: probe.connections})
      } catch (error) {
        reject(error as Error)
      }
    })
  })
}

export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  // nearest rank
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}

/** `runs` interleaved rounds of every command, after one warm-up round (not counted) */
export async function benchKubeconfig(options: {runs: number; warmup?: boolean; compare?: string; progress?: (text: string) => void}): Promise<{rows: Row[]; pluginBin?: string}> {
  const lab = await startKubeconfigBenchLab()
  try {
    const list = commands(lab.pluginBin !== undefined, options.compare)
    const rows: Row[] = list.map((c) => ({label: c.label, samples: []}))
    let n = 0
    if (options.warmup ?? true) for (const c of list) await runOnce(lab, c, n++)
    for (let round = 0; round < options.runs; round++) {
      for (const [k, c] of list.entries()) (rows[k] as Row).samples.push(await runOnce(lab, c, n++))
      options.progress?.(`round ${round + 1}/${options.runs}`)
    }
    return {rows, ...(lab.pluginBin ? {pluginBin: lab.pluginBin} : {})}
  } finally {
    await lab.close()
  }
}

export function report(rows: readonly Row[]): string[] {
  const f = (ms: number): string => ms.toFixed(0)
  const header = ['command', 'wall median ms', 'wall p90 ms', 'min', 'max', 'CPU median ms', 'requests', 'connections', 'median - node -e 0', `< ${TARGET_MS} ms`]
  const bare = quantile((rows[0] as Row).samples.map((s) => s.wallMs), 0.5)
  const cells = rows.map((r, i) => {
    const walls = r.samples.map((s) => s.wallMs)
    const med = quantile(walls, 0.5)
    const p90 = quantile(walls, 0.9)
    return [
      r.label, f(med), f(p90), f(Math.min(...walls)), f(Math.max(...walls)), f(quantile(r.samples.map((s) => s.cpuMs), 0.5)),
      String(quantile(r.samples.map((s) => s.requests), 0.5)), String(quantile(r.samples.map((s) => s.connections), 0.5)),
      i === 0 ? '' : `+${f(med - bare)}`, i === 0 ? '' : `${med < TARGET_MS ? 'PASS' : 'MISS'} (p90 ${p90 < TARGET_MS ? 'PASS' : 'MISS'})`,
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)))
  const line = (c: readonly string[]): string => c.map((x, i) => (i === 0 ? x.padEnd(widths[i] as number) : x.padStart(widths[i] as number))).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)]
}

async function main(): Promise<void> {
  const option = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)
  const runs = Math.max(10, Math.floor(Number(option('--runs') ?? 10) || 10))
  const compare = option('--compare')
  for (const root of [ROOT, ...(compare ? [compare] : [])]) {
    if (!existsSync(join(root, 'dist/commands/kubeconfig/generate.js'))) throw new Error(`run npm run build first in ${root} (the benchmark times the built CLI, bin/run.js)`)
  }
  const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ')
  console.log(`xcc kubeconfig generate, end to end with verification — node ${process.version}, ${cpus().length} CPUs, load average ${load()}`)
  console.log(`${runs} interleaved rounds after one warm-up round; the emulated GKE and Kubernetes APIs answer from this process (bench/kubeconfig-lab.ts)`)
  const {rows, pluginBin} = await benchKubeconfig({runs, ...(compare ? {compare} : {}), progress: (t) => process.stderr.write(`bench: ${t}\n`)})
  for (const l of report(rows)) console.log(l)
  console.log('wall: from spawn to exit, Node start-up included; CPU: the xcc process alone (user + system); requests: made by it (node:http or fetch); connections: node:http requests on a new socket')
  console.log(pluginBin ? `--auth exec: the verification runs ${pluginBin}/gke-gcloud-auth-plugin, which runs gcloud (its time is in wall, not in CPU or requests)` : '--auth exec: left out, gke-gcloud-auth-plugin is not beside gcloud on the PATH')
  console.log(`load average at the end: ${load()} (on ${cpus().length} CPUs; other work on the machine slows every figure)`)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: Error) => {
    console.error(`bench:kubeconfig failed: ${error.message}`)
    process.exitCode = 1
  })
}
