/**
 * `npm run bench:masquerade` (root): wall time of `xcc masquerade add` (DaemonSet created and
 * rolled out on every node), a second `add` (nothing to do), `list` (one node-reading pod per
 * node, in parallel), and `remove --all` (every pod stopped, XCC-MASQ gone), on seed 001 with
 * the frontend cluster grown to N nodes; and, on the ip-masq-agent scenario, the time from
 * `add` until the node's nat table masquerades the range (the lab's agent reacts to the edit).
 * Times are around the spawned `xcc` process, Node start-up included.
 *   npm run build && npm run bench:masquerade           (XCC_BENCH_RUNS=3 runs per size)
 */
import {type SpawnSyncReturns, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'

import yaml from 'js-yaml'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const HOME = mkdtempSync(join(tmpdir(), 'xcc-bench-masq-'))
const RUNS = Math.max(1, Math.floor(Number(process.env.XCC_BENCH_RUNS ?? 3) || 3))
const SIZES = [1, 5, 10]
const LAB = `bm${process.pid}`
const RANGE = '10.193.0.0/16'

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)

function xcc(args: readonly string[], expect = 0): {ms: number; r: SpawnSyncReturns<string>} {
  const env = {...process.env, XCC_HOME: HOME, KUBECONFIG: join(HOME, 'labs', LAB, 'kubeconfig'), NO_COLOR: '1'}
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', env, timeout: 300_000, killSignal: 'SIGKILL'})
  const ms = performance.now() - t0
  if (r.status !== expect) throw new Error(`xcc ${args.join(' ')} exited ${r.status ?? r.signal} (expected ${expect})\n${r.stdout.slice(0, 1500)}\n${r.stderr.slice(-1500)}`)
  return {ms, r}
}

/** seed 001 with the frontend cluster grown to `nodes` nodes (each with its own pod range) */
function grownSeed(nodes: number): string {
  const topology = yaml.load(readFileSync(join(ROOT, 'templates/scenarios/peered-vpcs-missing-snat.yaml'), 'utf8')) as {clusters: Array<{name: string; nodes: Array<{name: string; networkIP: string; podCidr: string}>}>}
  const frontend = topology.clusters.find((c) => c.name === 'frontend')!
  for (let i = frontend.nodes.length; i < nodes; i++) frontend.nodes.push({name: `gke-frontend-extra-${i}`, networkIP: `10.209.0.${10 + i}`, podCidr: `10.132.${i}.0/24`})
  const file = join(HOME, `seed-${nodes}.yaml`)
  writeFileSync(file, yaml.dump(topology, {lineWidth: -1}))
  return file
}

function main(): void {
  console.log(`xcc masquerade on the lab, ${RUNS} runs per size (median wall time per command)`)
  console.log('nodes  add (create+rollout)  add again (no-op)  list (read every node)  remove --all')
  for (const n of SIZES) {
    xcc(['lab', 'down', '--name', LAB])
    xcc(['lab', 'up', '--topology', grownSeed(n), '--name', LAB])
    const t = {add: [] as number[], again: [] as number[], list: [] as number[], remove: [] as number[]}
    for (let i = 0; i < RUNS; i++) {
      t.add.push(xcc(['masquerade', 'add', '--context', 'frontend', '--cidr', RANGE]).ms)
      t.again.push(xcc(['masquerade', 'add', '--context', 'frontend', '--cidr', RANGE]).ms)
      const listed = xcc(['masquerade', 'list', '--context', 'frontend', '--json'])
      t.list.push(listed.ms)
      const nodes = (JSON.parse(listed.r.stdout) as {nodes: Array<{cidrs: Array<{decision: string}>}>}).nodes
      if (nodes.length !== n || nodes.some((x) => x.cidrs[0]?.decision !== 'masquerade')) throw new Error(`list on ${n} nodes: ${listed.r.stdout}`)
      t.remove.push(xcc(['masquerade', 'remove', '--context', 'frontend', '--all']).ms)
    }
    console.log(`${String(n).padStart(5)}  ${fmt(median(t.add)).padStart(20)}  ${fmt(median(t.again)).padStart(17)}  ${fmt(median(t.list)).padStart(22)}  ${fmt(median(t.remove)).padStart(12)}`)
  }
  xcc(['lab', 'down', '--name', LAB])
  xcc(['lab', 'up', '--scenario', 'peered-vpcs-ip-masq-agent', '--name', LAB])
  const applied: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    xcc(['masquerade', 'add', '--context', 'frontend', '--cidr', RANGE])
    for (let k = 0; ; k++) {
      const rules = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'exec', '--name', LAB, 'node/gke-frontend-cluster-default-pool-d65237bb-1c6s', '--', 'iptables-save', '-t', 'nat'], {encoding: 'utf8', env: {...process.env, XCC_HOME: HOME}})
      if (!/-d 10\.0\.0\.0\/8 .*RETURN/.test(rules.stdout)) break
      if (k > 100) throw new Error('the agent never applied the edit')
    }
    applied.push(performance.now() - t0)
    xcc(['masquerade', 'remove', '--context', 'frontend', '--all'])
  }
  console.log(`ip-masq-agent mode: add until the node's IP-MASQ no longer returns for 10.0.0.0/8: median ${fmt(median(applied))} (runs ${applied.map(fmt).join(', ')})`)
}

try {
  main()
} finally {
  spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'down', '--name', LAB], {env: {...process.env, XCC_HOME: HOME}, timeout: 60_000})
  rmSync(HOME, {recursive: true, force: true})
}
