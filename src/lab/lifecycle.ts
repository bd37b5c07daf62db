/**
 * `xcc lab up/down/status/exec` behind the commands: build a topology into the kernel, start the
 * background process that serves the emulated Kubernetes APIs (daemon.ts), write the kubeconfig,
 * and take everything down again — also after a crash or a half-built `up`.
 */
import {spawn} from 'node:child_process'
import {closeSync, existsSync, openSync, readFileSync, rmSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import yaml from 'js-yaml'

import {InterruptedError, XccError} from '../core/errors.js'
import {shellCommand, shellWord} from '../core/shell.js'
import type {Model} from '../core/topology/model-types.js'
import {compileLab} from './compile/compile.js'
import type {LabPlan} from './compile/types.js'
import {labNameProblem} from './compile/names.js'
import {RulesRefusedError, buildDataPlane, destroyDataPlane, labNamespaces} from './runtime/dataplane.js'
import {type Pki, clusterPki, createLabPki} from './runtime/pki.js'
import {PRIVATE_ENDPOINT_HOST, dnsEndpointName} from './container/clusters.js'
import {removeSandboxes} from './runtime/pod-runtime.js'
import {type LabCloudState, type LabClusterState, type LabState, LAB_STATE_VERSION, checkLabsDir, ensureLabDir, homeError, isAlive, labDir, paths, readState, readStateOrRefuse, writeAtomic, writeState} from './runtime/state.js'
import {LAB_TOKEN_ENV, type OwnerRecord, type ProcessRef, claimOwner, daemonRef, isOurs, isRunning, newToken, ownedElsewhere, ownerAlive, processRef, readOwner, recordDaemon, releaseOwner, xccHomeOf} from './runtime/owner.js'
import {stopProcessGroup} from './runtime/servers.js'
import {writeCloudFiles} from './cloud/lab-files.js'
import {DEFAULT_PROJECT} from './cloud/store.js'
import {bootInstance, bootScript} from './runtime/vm-boot.js'

export type Progress = (message: string) => void

export function checkLabName(name: string): void {
  const problem = labNameProblem(name)
  if (problem) throw new XccError(`--name ${JSON.stringify(name)}: ${problem}`, {exitCode: 2})
}

export interface UpInput {
  readonly name: string
  readonly model: Model
  /** the topology text, kept in the lab directory for the background process */
  readonly topologyText: string
  readonly source: string
}

const READY_TIMEOUT_MS = 30_000

/**
 * Builds the lab. `signal` is Ctrl-C/SIGTERM (cli/interrupt.ts): the build stops at the next step,
 * everything built so far is removed (namespaces, processes, state, owner record) and the result
 * is an InterruptedError (exit 130).
 */
export async function labUp(input: UpInput, progress: Progress, signal?: AbortSignal): Promise<LabState> {
  const interrupted = (): InterruptedError => new InterruptedError(`interrupted: lab ${input.name} was not built, and nothing of it is left`)
  const stop = (): void => {
    if (signal?.aborted) throw interrupted()
  }
  const dir = labDir(input.name)
  checkLabsDir({create: true})
  // a live lab of this name under another XCC_HOME owns the namespace names, and an `up` of this
  // home still building owns them too: refuse, touch nothing (an unhealthy lab of this home is rebuilt)
  const owner = readOwner(input.name)
  const building = owner !== undefined && owner.up.pid !== process.pid && isRunning(owner.up)
  if (owner && (owner.stateDir !== dir ? ownerAlive(owner) : building)) throw takenError(input.name, owner)
  const previous = readState(dir)
  if (previous && (await labHealth(input.name)).healthy) {
    throw new XccError(`lab ${input.name} is already running (${previous.source}, since ${previous.createdAt})`, {
      exitCode: 2, hint: `${shellCommand(['xcc', 'lab', 'down', '--name', input.name])}, or choose another --name`,
    })
  }
  if (owner || previous || existsSync(dir) || (await labNamespaces(input.name)).length > 0) {
    progress(`removing what is left of an earlier lab ${input.name}`)
    await labDown(input.name)
  }
  stop()
  const claim = claimOwner(input.name, dir)
  if (!claim.claimed) throw takenError(input.name, claim.record)
  const plan = compileLab(input.model, input.name)
  const p = paths(dir)
  const base = {schemaVersion: LAB_STATE_VERSION, name: input.name, createdAt: new Date().toISOString(), source: input.source, topologyName: input.model.topology.metadata.name, plan, clusters: [], kubeconfig: p.kubeconfig} as const
  try {
    try {
      ensureLabDir(dir)
      writeState(dir, {...base, phase: 'building'})
    } catch (error) {
      throw homeError(dir, error)
    }
    writeAtomic(p.topology, input.topologyText)
    stop()
    await buildDataPlane(plan, progress, signal)
    bootInstances(dir, plan, input.model)
    progress('creating certificates')
    // the lab's cloud: its tokens (also the Kubernetes API servers' Google tokens) and gcloud configuration
    const project = input.model.topology.metadata.project ?? DEFAULT_PROJECT
    const pki = await createLabPki([...input.model.clusters.keys()], dir, {
      ips: [PRIVATE_ENDPOINT_HOST],
      dnsNames: (name) => [dnsEndpointName(project, input.model.clusters.get(name)!.spec)],
    })
    writeAtomic(p.pki, JSON.stringify(pki))
    writeCloudFiles({adminTokenFile: p.cloudAdminToken, viewerTokenFile: p.cloudViewerToken, gcloudConfig: p.gcloudConfig}, project)
    stop()
    progress(`starting the emulated Kubernetes API ${input.model.clusters.size === 1 ? 'server' : 'servers'} and the lab's processes`)
    const daemonToken = newToken()
    const daemonPid = startDaemon(dir, daemonToken)
    // recorded at once, so that a failed or interrupted start still stops it
    const daemonStart = processRef(daemonPid)?.start
    writeState(dir, {...base, phase: 'starting', daemonPid, daemonStart, daemonToken})
    if (daemonStart) recordDaemon(input.name, dir, {pid: daemonPid, start: daemonStart, token: daemonToken})
    const ready = await waitForReady(dir, daemonPid, stop)
    const clusters: LabClusterState[] = ready.clusters.map((c) => ({name: c.name, context: c.name, port: c.port, server: `https://127.0.0.1:${c.port}`}))
    writeAtomic(p.kubeconfig, renderKubeconfig(clusters, pki))
    const cloud: LabCloudState | undefined = ready.cloud && {
      url: `http://127.0.0.1:${ready.cloud.port}`, port: ready.cloud.port, project: ready.cloud.project,
      adminTokenFile: p.cloudAdminToken, viewerTokenFile: p.cloudViewerToken, gcloudConfig: p.gcloudConfig, faultsFile: p.cloudFaults,
    }
    const state: LabState = {...base, phase: 'running', daemonPid, daemonStart, daemonToken, clusters, ...(cloud ? {cloud} : {})}
    stop()
    writeState(dir, state)
    return state
  } catch (error) {
    progress(signal?.aborted ? 'interrupted: removing what was built' : 'the lab did not come up: removing what was built')
    await labDown(input.name).catch(() => {})
    // a terminal's Ctrl-C also kills the `ip` or `sh` running at that moment, whose failure may
    // arrive before the signal does: it is known to be an interrupt only after the cleanup
    if (signal?.aborted || error instanceof InterruptedError) throw interrupted()
    if (error instanceof RulesRefusedError) throw new XccError(`${input.source}: ${error.message}`, {exitCode: 2, ...(error.hint ? {hint: error.hint} : {})})
    if (error instanceof XccError) throw error
    throw new XccError(`xcc lab up failed: ${(error as Error).message}`, {exitCode: 3})
  }
}

/** Every VM boots once its namespace is built: its serial console starts, its startup-script runs (vm-boot.ts). */
function bootInstances(dir: string, plan: LabPlan, model: Model): void {
  for (const n of plan.namespaces) {
    if (n.role !== 'vm') continue
    const name = n.ref.slice('instance/'.length)
    const boot = bootScript(model.topology, name)
    bootInstance(dir, n.name, name, boot.metadata, undefined, {applied: boot.applied})
  }
}

function takenError(name: string, owner: OwnerRecord): XccError {
  const other = xccHomeOf(owner)
  let state: LabState | undefined
  try {
    state = readState(owner.stateDir)
  } catch {
    // that home's state is not root's alone: say only what the record says
  }
  const what = state?.phase === 'running' ? `${state.source}, since ${state.createdAt}` : `being built since ${owner.createdAt}`
  return new XccError(`lab ${name} is already running under XCC_HOME ${other} (${what})`, {
    exitCode: 2, details: [`its namespaces xcc-${name}-* are machine-wide, so the name is taken for every XCC_HOME`],
    hint: `choose another --name, or remove that lab: XCC_HOME=${shellWord(other)} ${shellCommand(['xcc', 'lab', 'down', '--name', name])}`,
  })
}

/** starts the background process with `token` in its environment: the proof, later, that xcc started it */
function startDaemon(dir: string, token: string): number {
  // the daemon beside this module: daemon.js from dist/, daemon.ts when running from src/ under tsx
  const source = fileURLToPath(new URL(`./daemon${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url))
  const log = openSync(paths(dir).daemonLog, 'a', 0o600)
  try {
    const child = spawn(process.execPath, [...(source.endsWith('.ts') ? ['--import', 'tsx'] : []), source, dir], {
      detached: true, stdio: ['ignore', log, log], env: {...process.env, XCC_LAB_DAEMON: '1', [LAB_TOKEN_ENV]: token},
    })
    child.unref()
    if (!child.pid) throw new XccError('could not start the lab background process', {exitCode: 3})
    return child.pid
  } finally {
    closeSync(log)
  }
}

interface Ready {
  readonly pid: number
  readonly clusters: ReadonlyArray<{readonly name: string; readonly port: number}>
  readonly cloud?: {readonly port: number; readonly project: string}
}

async function waitForReady(dir: string, pid: number, stop: () => void): Promise<Ready> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    stop()
    if (existsSync(paths(dir).ready)) return JSON.parse(readFileSync(paths(dir).ready, 'utf8')) as Ready
    if (!isAlive(pid)) break
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  const log = existsSync(paths(dir).daemonLog) ? readFileSync(paths(dir).daemonLog, 'utf8').trim().split('\n').slice(-8) : []
  throw new XccError(isAlive(pid) ? `the lab background process did not get ready within ${READY_TIMEOUT_MS / 1000} s` : 'the lab background process ended while starting', {exitCode: 3, details: log})
}

/** kubectl-style kubeconfig: one cluster, user and context per topology cluster, named after it. */
export function renderKubeconfig(clusters: readonly LabClusterState[], pki: Pki): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64')
  return yaml.dump({
    apiVersion: 'v1', kind: 'Config', preferences: {},
    clusters: clusters.map((c) => ({name: c.name, cluster: {server: c.server, 'certificate-authority-data': b64(clusterPki(pki, c.name).ca.cert)}})),
    users: clusters.map((c) => ({name: `${c.name}-admin`, user: {'client-certificate-data': b64(clusterPki(pki, c.name).admin.cert), 'client-key-data': b64(clusterPki(pki, c.name).admin.key)}})),
    contexts: clusters.map((c) => ({name: c.context, context: {cluster: c.name, user: `${c.name}-admin`, namespace: 'default'}})),
    'current-context': clusters[0]?.context ?? '',
  }, {lineWidth: -1})
}

export interface DownResult {
  readonly existed: boolean
  readonly namespaces: number
  readonly processes: number
  /** the XCC_HOME of the live lab of this name whose namespaces were left alone */
  readonly runningElsewhere?: string
}

/**
 * A recorded background process, if it is provably that very process (pid, start time and
 * token: isOurs), stopped: TERM, then KILL after 3 s. Anything else is never signalled.
 */
async function stopDaemon(ref: ProcessRef | undefined): Promise<number> {
  if (!ref || !isOurs(ref)) return 0
  stopProcessGroup(ref.pid, 'SIGTERM')
  const deadline = Date.now() + 3000
  while (isRunning(ref) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25))
  if (isOurs(ref)) stopProcessGroup(ref.pid, 'SIGKILL')
  return 1
}

/**
 * Stops the background process, kills everything in the lab's namespaces, deletes them, the
 * lab's directory and its owner record. The namespaces of a live lab of this name under another
 * XCC_HOME are left alone: only this home's (stale) directory goes.
 */
export async function labDown(name: string): Promise<DownResult> {
  const dir = labDir(name)
  checkLabsDir({create: false})
  const owner = readOwner(name)
  const foreign = owner && owner.stateDir !== dir ? owner : undefined
  const state = readState(dir)
  const hadDir = existsSync(dir)
  const elsewhere = foreign && ownerAlive(foreign) ? xccHomeOf(foreign) : undefined
  // counted before the background process stops: it removes the namespaces of the pods it started itself
  const before = elsewhere ? [] : await labNamespaces(name)
  let processes = await stopDaemon(daemonRef(state))
  let removed = {namespaces: 0, processes: 0}
  if (!elsewhere) {
    // a dead lab of another home may have left its background process running without its state
    processes += await stopDaemon(foreign?.daemon)
    const destroyed = await destroyDataPlane(name, state?.plan.namespaces.map((n) => n.name) ?? [])
    removed = {namespaces: new Set([...before, ...destroyed.names]).size, processes: destroyed.processes}
    await removeSandboxes(name)
    releaseOwner(name, [dir, ...(foreign ? [foreign.stateDir] : [])])
  }
  try {
    rmSync(dir, {recursive: true, force: true})
  } catch (error) {
    throw homeError(dir, error)
  }
  return {existed: state !== undefined || hadDir || removed.namespaces > 0, namespaces: removed.namespaces, processes: processes + removed.processes, ...(elsewhere ? {runningElsewhere: elsewhere} : {})}
}

export interface Health {
  readonly exists: boolean
  readonly healthy: boolean
  readonly problems: readonly string[]
  readonly state?: LabState
  readonly namespaces: number
  /** the XCC_HOME of the live lab that owns this name's namespaces, when it is not this one */
  readonly runningElsewhere?: string
}

export async function labHealth(name: string): Promise<Health> {
  const dir = labDir(name)
  const state = readStateOrRefuse(dir)
  const present = await labNamespaces(name)
  // whose the namespaces are matters only when there is something to report
  const elsewhere = state || present.length > 0 ? ownedElsewhere(name, dir) : undefined
  if (elsewhere) {
    const problems = state ? [`the name ${name} is in use by the running lab of XCC_HOME ${elsewhere}: this lab's state is stale (${shellCommand(['xcc', 'lab', 'down', '--name', name])} removes it, and only it)`] : []
    return {exists: state !== undefined, healthy: false, problems, ...(state ? {state} : {}), namespaces: 0, runningElsewhere: elsewhere}
  }
  if (!state) return {exists: present.length > 0, healthy: false, problems: present.length ? [`${present.length} namespaces without lab state (a crashed or half-built lab): run ${shellCommand(['xcc', 'lab', 'down', '--name', name])}`] : [], namespaces: present.length}
  const problems: string[] = []
  if (state.phase !== 'running') problems.push(`the lab stopped while ${state.phase}`)
  if (!isOurs(daemonRef(state))) problems.push(`the lab's background process${state.daemonPid ? ` (pid ${state.daemonPid})` : ''} is not running`)
  const missing = state.plan.namespaces.filter((n) => !present.includes(n.name))
  if (missing.length) problems.push(`${missing.length} of ${state.plan.namespaces.length} namespaces are missing (${missing.slice(0, 3).map((n) => n.ref).join(', ')})`)
  for (const c of state.clusters) if (!(await apiAnswers(c.port))) problems.push(`the API server of ${c.name} does not answer on ${c.server}`)
  if (state.cloud && !(await apiAnswers(state.cloud.port))) problems.push(`the lab's cloud API does not answer on ${state.cloud.url}`)
  // the plan's namespaces that are there; pods started later (cluster DNS, kubectl run) have their own besides
  return {exists: true, healthy: problems.length === 0, problems, state, namespaces: state.plan.namespaces.length - missing.length}
}

async function apiAnswers(port: number): Promise<boolean> {
  const {connect} = await import('node:net')
  return new Promise((resolve) => {
    const socket = connect({host: '127.0.0.1', port, timeout: 1000})
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('timeout', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', () => resolve(false))
  })
}
