/**
 * `npm run bench:lab` (root): wall time of `xcc lab up` and `xcc lab down` for every built-in
 * scenario and for a 10-cluster, 50-node, 200-pod topology; time from `kubectl apply` of a pod to
 * its phase Running; memory (RSS) of the lab's background process. Prints figures and the targets
 * (seed scenario up < 5 s, pod Running < 1 s, 50-node lab up < 60 s) as PASS or MISS, and the time
 * of incremental changes of the large lab (a firewall rule, a VM) beside its `lab up`.
 *   npm run build && npm run bench:lab [-- --runs 3] [--skip-large]
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'

import yaml from 'js-yaml'

import type {Model} from '../src/core/topology/model-types.js'
import {parseTopology} from '../src/core/topology/parse.js'
import {applyModelChange} from '../src/lab/runtime/apply.js'
import {largeLabTopology} from './lab-topology.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const HOME = mkdtempSync(join(tmpdir(), 'xcc-bench-lab-'))
const NAME = 'benchlab'
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] ?? 3) || 3
const TARGET = {seedUpMs: 5000, podRunningMs: 1000, largeUpMs: 60_000}

function xcc(args: readonly string[]): {ms: number; stdout: string} {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {encoding: 'utf8', env: {...process.env, XCC_HOME: HOME}, timeout: 300_000})
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`xcc ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return {ms, stdout: r.stdout}
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`)
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS')

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

function kubectlBinary(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v gcloud'], {encoding: 'utf8'}).stdout.trim()
  const candidate = which ? join(dirname(realpathSync(which)), 'kubectl.1.32') : ''
  return candidate && existsSync(candidate) ? candidate : undefined
}

function podRunning(kubeconfig: string, context: string, kubectl: string, i: number): number {
  const file = join(HOME, `pod-${i}.yaml`)
  writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata: {name: bench-${i}}\nspec:\n  containers: [{name: c, image: busybox, command: [sleep, '30']}]\n`)
  const base = ['--kubeconfig', kubeconfig, '--context', context]
  const t0 = performance.now()
  const applied = spawnSync(kubectl, [...base, 'apply', '-f', file], {encoding: 'utf8'})
  if (applied.status !== 0) throw new Error(applied.stderr)
  const waited = spawnSync(kubectl, [...base, 'wait', '--for=jsonpath={.status.phase}=Running', `pod/bench-${i}`, '--timeout=30s'], {encoding: 'utf8'})
  const ms = performance.now() - t0
  if (waited.status !== 0) throw new Error(waited.stderr)
  spawnSync(kubectl, [...base, 'delete', 'pod', `bench-${i}`, '--wait=false'], {encoding: 'utf8'})
  return ms
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the lab benchmark needs root')
  if (!existsSync(join(ROOT, 'dist/commands/lab/up.js'))) throw new Error('run npm run build first')
  console.log(`xcc lab benchmark — node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${runs} runs each (median)`)
  const scenarios = (JSON.parse(xcc(['lab', 'up', '--scenario', 'list', '--json']).stdout) as {scenarios: Array<{name: string}>}).scenarios.map((s) => s.name)
  const rows: string[] = []
  let seedUp = 0
  for (const scenario of scenarios) {
    const ups: number[] = []
    const downs: number[] = []
    for (let r = 0; r < runs; r++) {
      ups.push(xcc(['lab', 'up', '--scenario', scenario, '--name', NAME]).ms)
      downs.push(xcc(['lab', 'down', '--name', NAME]).ms)
    }
    if (scenario === 'peered-vpcs-missing-snat') seedUp = median(ups)
    rows.push(`  ${scenario.padEnd(36)} up ${fmt(median(ups)).padStart(8)}   down ${fmt(median(downs)).padStart(8)}`)
  }
  console.log('scenarios:')
  for (const r of rows) console.log(r)

  const kubectl = kubectlBinary()
  const up = JSON.parse(xcc(['lab', 'up', '--scenario', 'peered-vpcs-missing-snat', '--name', NAME, '--json']).stdout) as {kubeconfig: string}
  const podTimes = kubectl ? Array.from({length: 5}, (_, i) => podRunning(up.kubeconfig, 'frontend', kubectl, i)) : []
  const state = JSON.parse(readFileSync(join(HOME, 'labs', NAME, 'state.json'), 'utf8')) as {daemonPid: number}
  const seedRss = rssMb(state.daemonPid)
  xcc(['lab', 'down', '--name', NAME])
  console.log(kubectl ? `kubectl apply → Running: median ${fmt(median(podTimes))} (runs: ${podTimes.map(fmt).join(', ')})` : 'kubectl apply → Running: kubectl.1.32 not installed, not measured')
  console.log(`lab background process RSS (seed 001 scenario): ${seedRss.toFixed(0)} MB`)

  let largeUp = 0
  if (!process.argv.includes('--skip-large')) {
    const dir = join(ROOT, 'bench', 'out')
    mkdirSync(dir, {recursive: true})
    const file = join(dir, 'lab-10x5x4.yaml')
    writeFileSync(file, yaml.dump(largeLabTopology(10, 5, 4), {lineWidth: -1}))
    const upRun = xcc(['lab', 'up', '--topology', file, '--name', NAME, '--json'])
    largeUp = upRun.ms
    const large = JSON.parse(upRun.stdout) as {hosts: Record<string, unknown>}
    const daemon = JSON.parse(readFileSync(join(HOME, 'labs', NAME, 'state.json'), 'utf8')) as {daemonPid: number}
    const largeRss = rssMb(daemon.daemonPid)
    const changes = await incrementalChanges(file)
    const down = xcc(['lab', 'down', '--name', NAME]).ms
    console.log(`large lab (10 clusters, 50 nodes, 200 pods, ${Object.keys(large.hosts).length} hosts): up ${fmt(largeUp)}, down ${fmt(down)}, background process RSS ${largeRss.toFixed(0)} MB`)
    console.log(`  incremental changes of it (applyModelChange): ${changes.map(([what, ms]) => `${what} ${fmt(ms)}`).join(', ')}`)
  }
  console.log('targets:')
  console.log(`  seed scenario up < 5 s: ${fmt(seedUp)} ${verdict(seedUp < TARGET.seedUpMs)}`)
  if (podTimes.length) console.log(`  pod Running < 1 s: ${fmt(median(podTimes))} ${verdict(median(podTimes) < TARGET.podRunningMs)}`)
  if (largeUp) console.log(`  50-node lab up < 60 s: ${fmt(largeUp)} ${verdict(largeUp < TARGET.largeUpMs)}`)
}

/** Changes of the running large lab, each applied incrementally: a deny rule added and deleted, a VM added and deleted. */
async function incrementalChanges(file: string): Promise<Array<[string, number]>> {
  const text = readFileSync(file, 'utf8')
  const base = yaml.load(text) as {firewalls: unknown[]; instances?: unknown[]}
  const deny = {...base, firewalls: [...base.firewalls, {name: 'bench-deny', network: 'net0', priority: 900, sourceRanges: ['10.0.0.0/8'], denied: [{IPProtocol: 'tcp', ports: ['9']}]}]}
  const vm = {...base, instances: [{name: 'bench-vm', zone: 'europe-west1-b', networkInterfaces: [{network: 'net0', subnetwork: 'nodes0', networkIP: '10.0.250.2'}], metadata: {'startup-script': 'echo hello'}}]}
  const model = (doc: unknown): Model => parseTopology(yaml.dump(doc, {lineWidth: -1}), file)
  const dir = join(HOME, 'labs', NAME)
  const steps: Array<[string, unknown, unknown]> = [['deny rule added', base, deny], ['deleted', deny, base], ['VM added', base, vm], ['VM deleted', vm, base]]
  const out: Array<[string, number]> = []
  for (const [what, from, to] of steps) out.push([what, (await applyModelChange(dir, model(from), model(to))).ms])
  return out
}

try {
  await main()
} finally {
  spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'down', '--name', NAME], {env: {...process.env, XCC_HOME: HOME}})
  rmSync(HOME, {recursive: true, force: true})
}
