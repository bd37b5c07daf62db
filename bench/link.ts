/**
 * `npm run bench:link` (root; needs a build): wall time of `xcc link create` and `xcc link
 * delete` for both modes on labs of the unwired seeds — peering on seed 001 (two-vpcs-unwired),
 * gateway on seed 000 (overlapping-clusters-unwired) — and the number of Compute write requests
 * each made. Times are around the spawned `xcc` process, Node start-up, the project read, the
 * apply, the masquerade rollout and the verification (a second read with the nodes' nat tables)
 * included. Targets: create under 15 s (peering) and 30 s (gateway). Not part of `npm run bench`:
 * it needs root and labs. XCC_BENCH_RUNS=3 runs per mode (the median is printed).
 */
import {type SpawnSyncReturns, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const HOME = mkdtempSync(join(tmpdir(), 'xcc-bench-link-'))
const RUNS = Math.max(1, Math.floor(Number(process.env.XCC_BENCH_RUNS ?? 3) || 3))
const MODES = [
  {mode: 'peering', scenario: 'two-vpcs-unwired', lab: `bl1${process.pid}`, args: ['demo', '--mode', 'peering', '--from', 'frontend', '--to', 'backend', '--service', 'default/dummy-backend'], targetMs: 15_000},
  {mode: 'gateway', scenario: 'overlapping-clusters-unwired', lab: `bl0${process.pid}`, args: ['demo', '--mode', 'gateway', '--from', 'c1', '--to', 'c2', '--service', 'default/echoheaders'], targetMs: 30_000},
] as const

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`

function run(args: readonly string[], env: Record<string, string> = {}): {ms: number; r: SpawnSyncReturns<string>} {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', env: {...process.env, XCC_HOME: HOME, NO_COLOR: '1', ...env}, timeout: 300_000, killSignal: 'SIGKILL'})
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`xcc ${args.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout.slice(0, 1500)}\n${r.stderr.slice(-1500)}`)
  return {ms, r}
}

const rows: string[] = []
try {
  for (const m of MODES) {
    run(['lab', 'up', '--scenario', m.scenario, '--name', m.lab])
    const env = (JSON.parse(run(['lab', 'env', '--name', m.lab, '--json']).r.stdout) as {variables: Record<string, string>}).variables
    const creates: number[] = []
    const deletes: number[] = []
    let createRequests = 0
    let deleteRequests = 0
    let resources = 0
    for (let i = 0; i < RUNS; i++) {
      const c = run(['link', 'create', ...m.args, '--yes', '--json'], env)
      const out = JSON.parse(c.r.stdout) as {requests: number; applied: unknown[]; verify: {verdict: string} | null}
      if (out.verify?.verdict !== 'reachable') throw new Error(`${m.mode}: the doctor found the link ${out.verify?.verdict}`)
      creates.push(c.ms)
      createRequests = out.requests
      resources = out.applied.length
      const d = run(['link', 'delete', 'demo', '--yes', '--json'], env)
      deletes.push(d.ms)
      deleteRequests = (JSON.parse(d.r.stdout) as {applied: Array<{requests: number}>}).applied.reduce((s, a) => s + a.requests, 0)
    }
    run(['lab', 'down', '--name', m.lab])
    const createMs = median(creates)
    rows.push(`${m.mode.padEnd(8)} ${String(resources).padStart(9)}  create ${fmt(createMs).padStart(8)} (${createRequests} write requests)  delete ${fmt(median(deletes)).padStart(8)} (${deleteRequests} write requests)  target create < ${fmt(m.targetMs)}: ${createMs < m.targetMs ? 'PASS' : 'MISS'}`)
  }
} finally {
  for (const m of MODES) spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'down', '--name', m.lab], {env: {...process.env, XCC_HOME: HOME}, encoding: 'utf8'})
  rmSync(HOME, {recursive: true, force: true})
}
console.log(`xcc link create/delete, median of ${RUNS} run(s), wall time of the xcc process`)
console.log('mode     resources')
for (const row of rows) console.log(row)
