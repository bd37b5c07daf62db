/**
 * The `xcc lab` use cases: read the topology (a file or a built-in scenario), check the machine,
 * build or remove the lab, report its health, run a command inside one of its hosts. The lab
 * itself lives in src/lab; this is where the CLI reaches it.
 */
import {spawn} from 'node:child_process'
import {constants} from 'node:os'

import {XccError} from '../core/errors.js'
import {shellCommand, shellWord} from '../core/shell.js'
import {DEFAULT_LAB_NAME} from '../lab/compile/names.js'
import {type DownResult, type Health, checkLabName, labDown, labHealth, labUp} from '../lab/lifecycle.js'
import {ownedElsewhere} from '../lab/runtime/owner.js'
import {LAB_BASE_TOOLS, LAB_UP_TOOLS, preflight} from '../lab/runtime/preflight.js'
import {type LabState, labDir, paths, readState, readStateOrRefuse, xccHome} from '../lab/runtime/state.js'
import {cloudEnvironment} from '../lab/cloud/lab-files.js'
import type {LabEnvView} from '../render/lab-env.js'
import type {LabHostsView, LabStatusView, LabUpView} from '../render/lab-text.js'
import {templates, topologyFiles} from './deps.js'
import {interruptible} from './interrupt.js'

export {DEFAULT_LAB_NAME, checkLabName}

export const listLabScenarios = (): ReadonlyArray<{readonly name: string; readonly description: string}> =>
  templates.listScenarios().map(({name, description}) => ({name, description}))

function hostsView(state: LabState): LabHostsView {
  return {
    name: state.name, defaultName: state.name === DEFAULT_LAB_NAME, source: state.source, kubeconfig: state.kubeconfig,
    clusters: state.clusters.map(({name, context, server}) => ({name, context, server})),
    hosts: Object.fromEntries(Object.entries(state.plan.hosts).map(([ref, h]) => [ref, {namespace: h.ns, ...(h.address ? {address: h.address} : {})}])),
    ...(state.cloud ? {cloud: {url: state.cloud.url, project: state.cloud.project}} : {}),
  }
}

export interface LabUpRequest {
  readonly name: string
  readonly topology?: string
  readonly scenario?: string
}

export async function runLabUp(request: LabUpRequest, progress: (message: string) => void): Promise<LabUpView> {
  checkLabName(request.name)
  const path = request.scenario ? templates.scenarioPath(request.scenario) : (request.topology as string)
  const {text, model} = await topologyFiles.read(path)
  preflight(LAB_UP_TOOLS)
  const started = Date.now()
  const input = {name: request.name, model, topologyText: text, source: request.scenario ? `scenario ${request.scenario}` : path}
  const state = await interruptible((signal) => labUp(input, progress, signal), 'removing what the lab built')
  const flow = templates.canonicalFlow(text)
  // the lab's own copy, by absolute path: runnable from any directory, and exactly what was built
  return {...hostsView(state), elapsedMs: Date.now() - started, doctor: {topology: paths(labDir(state.name)).topology, ...(flow ? {flow} : {})}}
}

export async function runLabStatus(name: string): Promise<LabStatusView> {
  checkLabName(name)
  const health: Health = await labHealth(name)
  const s = health.state
  return {
    name, exists: health.exists, healthy: health.healthy, problems: health.problems,
    ...(health.runningElsewhere ? {runningElsewhere: health.runningElsewhere} : {}),
    ...(s ? {lab: {...hostsView(s), createdAt: s.createdAt, daemonPid: s.daemonPid ?? null, namespaces: {present: health.namespaces, expected: s.plan.namespaces.length}}} : {}),
  }
}

export async function runLabDown(name: string): Promise<DownResult & {readonly elapsedMs: number; readonly xccHome: string}> {
  checkLabName(name)
  preflight(LAB_BASE_TOOLS)
  const started = Date.now()
  const result = await labDown(name)
  return {...result, elapsedMs: Date.now() - started, xccHome: xccHome()}
}

/** Runs `command` inside the namespace of `host` of lab `name`; resolves to its exit code (128 + signal, as a shell reports it). */
export async function runLabExec(name: string, host: string, command: readonly string[]): Promise<number> {
  checkLabName(name)
  // root first: without it the state is unreadable and `ip netns exec` impossible, whatever else is wrong
  preflight(LAB_BASE_TOOLS)
  const state = readState(labDir(name))
  // the namespaces of this name may belong to a live lab of another XCC_HOME: never enter them from here
  const elsewhere = ownedElsewhere(name, labDir(name))
  if (elsewhere) {
    throw new XccError(state ? `lab ${name} of this XCC_HOME is stale: its name is in use by the running lab of XCC_HOME ${elsewhere}` : `no lab named ${name} under XCC_HOME ${xccHome()}; a lab ${name} runs under XCC_HOME ${elsewhere}`, {
      exitCode: 2, hint: `XCC_HOME=${shellWord(elsewhere)} ${shellCommand(['xcc', 'lab', 'exec', '--name', name])} …`,
    })
  }
  if (!state) throw new XccError(`no lab named ${name}`, {exitCode: 2, hint: 'xcc lab up --scenario list'})
  const target = state.plan.hosts[host]
  if (!target) {
    const known = Object.keys(state.plan.hosts)
    throw new XccError(`lab ${name} has no host ${host}`, {exitCode: 2, details: [`hosts: ${known.slice(0, 12).join(', ')}${known.length > 12 ? `, … (${known.length})` : ''}`]})
  }
  return new Promise<number>((resolve) => {
    const child = spawn('ip', ['netns', 'exec', target.ns, ...command], {stdio: 'inherit'})
    child.once('error', () => resolve(127))
    child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 + constants.signals[signal] : 1)))
  })
}

/**
 * The environment that points kubectl, gcloud and xcc at lab `name` (contracts.md §5): names of
 * files, never the tokens they hold.
 */
export function runLabEnv(name: string): LabEnvView {
  checkLabName(name)
  const state = readStateOrRefuse(labDir(name))
  if (!state || state.phase !== 'running') throw new XccError(`no running lab named ${name} under XCC_HOME ${xccHome()}`, {exitCode: 2, hint: shellCommand(['xcc', 'lab', 'status', '--name', name])})
  const cloud = state.cloud
  if (!cloud) throw new XccError(`lab ${name} has no cloud API (an xcc without one started it)`, {exitCode: 3, hint: `rebuild it: ${shellCommand(['xcc', 'lab', 'up', '--name', name, '…'])}`})
  const variables = cloudEnvironment({kubeconfig: state.kubeconfig, url: cloud.url, project: cloud.project, gcloudConfig: cloud.gcloudConfig, adminTokenFile: cloud.adminTokenFile})
  return {name, project: cloud.project, url: cloud.url, viewerTokenFile: cloud.viewerTokenFile, faultsFile: cloud.faultsFile, variables}
}
