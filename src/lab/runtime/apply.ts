/**
 * A change of a running lab's topology, applied incrementally: the new topology is compiled with
 * the lab's name map (compile/name-map.ts), so what stays keeps its namespaces and interfaces; the
 * difference between the lab's plan and the new one (compile/diff.ts) goes into the kernel
 * (apply-kernel.ts); echo servers start and stop for the hosts and ports that come and go; new VMs
 * boot (vm-boot.ts); then the lab's state takes the new plan in one atomic write. Namespaces,
 * links, routes, tables and processes that the change does not concern are not touched, so
 * connections that it does not affect keep running, and so do the lab's pods.
 *
 * Changes of clusters' nodes, pods and ConfigMaps are refused before anything is touched: the
 * lab's Kubernetes emulator owns pods and ConfigMaps, and its view of nodes is fixed when the lab
 * starts.
 */
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'

import {XccError} from '../../core/errors.js'
import type {Model} from '../../core/topology/model-types.js'
import {compileLab} from '../compile/compile.js'
import {type PlanDiff, diffPlans, summarizeDiff} from '../compile/diff.js'
import {namesFromPlan} from '../compile/name-map.js'
import type {LabPlan} from '../compile/types.js'
import {applyPlanDiff} from './apply-kernel.js'
import {startEchoServer, stopEchoListeners, waitForListeners} from './servers.js'
import {type LabState, isAlive, paths, readState, writeAtomic, writeState} from './state.js'
import {STARTUP_SCRIPT_TIMEOUT_MS, bootInstance, bootScript, forgetInstance} from './vm-boot.js'

export interface ApplyOptions {
  readonly progress?: (message: string) => void
  /** the time a new VM's startup-script may run (default 120 s) */
  readonly startupScriptTimeoutMs?: number
  /** the text of `after` as a topology file: written to the lab directory with the state, for what reads the lab's topology later */
  readonly topologyText?: string
}

export interface ApplyResult {
  /** the lab's plan now (also in its state) */
  readonly plan: LabPlan
  readonly diff: PlanDiff
  /** one line: what changed */
  readonly summary: string
  /** deletions the kernel found done already, pods whose stand-in keeps its old ports */
  readonly warnings: readonly string[]
  /** the VMs that booted (their startup scripts run in the background) */
  readonly booted: readonly string[]
  readonly ms: number
}

const LOCK_WAIT_MS = 60_000
const queues = new Map<string, Promise<unknown>>()

/** One change at a time per lab: in this process (a queue) and across processes (a lock file naming its pid). */
async function withApplyLock<T>(dir: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(dir) ?? Promise.resolve()
  const mine = previous.catch(() => {}).then(() => withLockFile(dir, task))
  queues.set(dir, mine.catch(() => {}))
  return mine
}

async function withLockFile<T>(dir: string, task: () => Promise<T>): Promise<T> {
  const lock = join(dir, 'apply.lock')
  const deadline = Date.now() + LOCK_WAIT_MS
  for (;;) {
    try {
      writeFileSync(lock, `${process.pid}\n`, {flag: 'wx', mode: 0o600})
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = Number.parseInt(readFileSync(lock, 'utf8'), 10)
      if (!isAlive(holder)) {
        rmSync(lock, {force: true})
        continue
      }
      if (Date.now() > deadline) throw new XccError(`another change of the lab in ${dir} is being applied (pid ${holder})`, {exitCode: 3})
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  try {
    return await task()
  } finally {
    rmSync(lock, {force: true})
  }
}

function runningState(dir: string): LabState {
  const state = readState(dir)
  if (!state) throw new XccError(`no lab state in ${dir}`, {exitCode: 2, hint: 'xcc lab up builds a lab'})
  if (state.phase !== 'running') throw new XccError(`lab ${state.name} is not running (it stopped while ${state.phase})`, {exitCode: 3})
  return state
}

/** The change must start from what the lab runs: the same networks and instances. */
function checkStartsFrom(state: LabState, before: Model): void {
  const running = Object.keys(state.plan.hosts).filter((r) => !r.startsWith('pod/')).sort()
  const expected = [...[...before.networks.keys()].map((n) => `network/${n}`), ...[...before.instances.values()].map((i) => `${i.kind === 'node' ? 'node' : 'instance'}/${i.name}`)].sort()
  if (JSON.stringify(running) !== JSON.stringify(expected)) {
    const missing = expected.filter((r) => !running.includes(r))
    const extra = running.filter((r) => !expected.includes(r))
    throw new XccError(`the change does not start from what lab ${state.name} runs`, {
      exitCode: 2, details: [...missing.slice(0, 3).map((r) => `not in the lab: ${r}`), ...extra.slice(0, 3).map((r) => `in the lab, not in the topology the change starts from: ${r}`)],
    })
  }
}

function refuseUnsupported(diff: PlanDiff): void {
  const nodes = [...diff.addedNamespaces, ...diff.removedNamespaces].filter((n) => n.role === 'node' || n.role === 'pod').map((n) => n.ref)
  const pods = [...diff.addedPods, ...diff.removedPods, ...diff.changedPods.filter((c) => !c.portsOnly).map((c) => c.after)].map((p) => `pod/${p.cluster}/${p.namespace}/${p.name}`)
  const what = [...new Set([...nodes, ...pods])]
  if (what.length === 0) return
  throw new XccError(`a change of GKE nodes or pods is not applied to a running lab (${what.slice(0, 3).join(', ')}${what.length > 3 ? ', …' : ''})`, {
    exitCode: 2, hint: 'create pods through the cluster\'s Kubernetes API, or rebuild the lab (xcc lab down, xcc lab up) with the new topology',
  })
}

/**
 * A cluster's ConfigMaps are loaded into its API when the lab starts; from then on they are the
 * API's (kubectl apply), as on a cluster, so a change of them here is refused rather than
 * written to the lab's topology while its API keeps the old ones.
 */
function refuseConfigMapChange(before: Model, after: Model): void {
  const changed = [...after.clusters.values()].filter((c) => {
    const old = before.clusters.get(c.name)
    return old !== undefined && JSON.stringify(old.spec.configMaps) !== JSON.stringify(c.spec.configMaps)
  }).map((c) => c.name)
  if (changed.length === 0) return
  throw new XccError(`a change of a cluster's configMaps is not applied to a running lab (cluster ${changed.join(', ')})`, {
    exitCode: 2, hint: 'change them through the cluster\'s Kubernetes API (kubectl apply), or rebuild the lab (xcc lab down, xcc lab up) with the new topology',
  })
}

async function applyServers(diff: PlanDiff): Promise<void> {
  for (const s of diff.removedServers) await stopEchoListeners(s.ns, s.ref, s.tcpPorts)
  const started: Array<{ns: string; ports: readonly number[]}> = []
  for (const c of diff.changedServers) {
    if (c.removePorts.length) await stopEchoListeners(c.ns, c.ref, c.removePorts)
    if (c.addPorts.length) {
      startEchoServer(c.ns, c.ref, c.addPorts)
      started.push({ns: c.ns, ports: c.addPorts})
    }
  }
  for (const s of diff.addedServers) {
    startEchoServer(s.ns, s.ref, s.tcpPorts)
    started.push({ns: s.ns, ports: s.tcpPorts})
  }
  // socat needs a moment to bind: the change is done when its servers answer
  await Promise.all(started.map((s) => waitForListeners(s.ns, s.ports)))
}

/**
 * Applies the change from `before` (what the lab in `dir` runs) to `after`. Needs root and the
 * lab's directory (`labDir(name)`: its state names the lab and holds the plan and name map). On
 * success the kernel and the state both hold `after`; on failure the error says so, the state
 * keeps `before`, and applying the same change again completes it.
 */
export async function applyModelChange(dir: string, before: Model, after: Model, options: ApplyOptions = {}): Promise<ApplyResult> {
  return withApplyLock(dir, async () => {
    const t0 = performance.now()
    const progress = options.progress ?? (() => {})
    const state = runningState(dir)
    checkStartsFrom(state, before)
    const plan = compileLab(after, state.name, namesFromPlan(state.plan))
    const diff = diffPlans(state.plan, plan)
    refuseUnsupported(diff)
    refuseConfigMapChange(before, after)
    const warnings: string[] = diff.changedPods.filter((c) => c.portsOnly).map((c) => `pod ${c.after.cluster}/${c.after.namespace}/${c.after.name} keeps serving ${c.before.tcpPorts.join(',') || 'no ports'} (its container is the Kubernetes emulator's)`)
    const summary = summarizeDiff(diff)
    progress(summary)
    const booted: string[] = []
    try {
      const iptablesPaths = new Map(plan.namespaces.flatMap((n) => (n.iptablesPath ? [[n.name, n.iptablesPath] as const] : [])))
      warnings.push(...(await applyPlanDiff(diff, iptablesPaths, progress)).warnings)
      await applyServers(diff)
      for (const n of diff.removedNamespaces) if (n.role === 'vm') forgetInstance(dir, n.ref.slice('instance/'.length))
      for (const n of diff.addedNamespaces) {
        if (n.role !== 'vm') continue
        const name = n.ref.slice('instance/'.length)
        if (before.instances.has(name)) continue
        const boot = bootScript(after.topology, name)
        bootInstance(dir, n.name, name, boot.metadata, options.startupScriptTimeoutMs ?? STARTUP_SCRIPT_TIMEOUT_MS, {applied: boot.applied})
        booted.push(name)
      }
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error)
      throw new XccError(`lab ${state.name} is partly changed: ${why}`, {
        exitCode: error instanceof XccError ? error.exitCode : 3,
        details: [`the lab's state still describes the topology before the change (${summary})`], hint: 'apply the same change again to complete it',
      })
    }
    if (options.topologyText !== undefined) writeAtomic(paths(dir).topology, options.topologyText)
    writeState(dir, {...state, plan})
    return {plan, diff, summary, warnings, booted, ms: performance.now() - t0}
  })
}
