/** Plain-text views of `xcc lab up` and `xcc lab status` (their --json is the same view). */
import {shellCommand, shellWord} from '../core/shell.js'
import {safeText} from './terminal.js'

/** Where a lab's hosts, clusters and kubeconfig are. */
export interface LabHostsView {
  readonly name: string
  /** the lab has the default name (commands need no --name) */
  readonly defaultName: boolean
  readonly source: string
  readonly kubeconfig: string
  readonly clusters: ReadonlyArray<{readonly name: string; readonly context: string; readonly server: string}>
  /** `pod/<cluster>/<ns>/<pod>`, `node/<name>`, … → its network namespace and address */
  readonly hosts: Readonly<Record<string, {readonly namespace: string; readonly address?: string}>>
  /** the lab's Compute Engine and GKE APIs */
  readonly cloud?: {readonly url: string; readonly project: string}
}

export interface LabUpView extends LabHostsView {
  readonly elapsedMs: number
  readonly doctor: DoctorHint
}

export interface LabStatusView {
  readonly name: string
  readonly exists: boolean
  readonly healthy: boolean
  readonly problems: readonly string[]
  /** the XCC_HOME of the live lab that owns this name, when it is not this one */
  readonly runningElsewhere?: string
  readonly lab?: LabHostsView & {
    readonly createdAt: string
    readonly daemonPid: number | null
    readonly namespaces: {readonly present: number; readonly expected: number}
  }
}

function hostSummary(view: LabHostsView): string {
  const refs = Object.keys(view.hosts)
  const count = (kind: string): number => refs.filter((r) => r.startsWith(`${kind}/`)).length
  return `${count('network')} networks, ${count('node')} nodes, ${count('instance')} VMs, ${count('pod')} pods`
}

const nameFlag = (view: LabHostsView): string[] => (view.defaultName ? [] : ['--name', view.name])


export interface DoctorHint {
  /** absolute path of the topology the lab was built from */
  readonly topology: string
  /** the flow the topology is about, if it names one; otherwise placeholders */
  readonly flow?: {readonly from: string; readonly to: string}
}

export function renderLabUp(state: LabUpView): string {
  const flow = state.doctor.flow ? `--from ${shellWord(state.doctor.flow.from)} --to ${shellWord(state.doctor.flow.to)}` : '--from <source> --to <destination>'
  const pod = Object.keys(state.hosts).find((r) => r.startsWith('pod/'))
  const lines = [
    `Lab ${state.name} is up (${state.source}, ${hostSummary(state)}) in ${(state.elapsedMs / 1000).toFixed(1)} s.`,
    `  kubeconfig: ${state.kubeconfig}`,
    ...state.clusters.map((c) => `  cluster ${c.name}: context ${c.context}, API ${c.server}`),
    ...(state.cloud ? [`  cloud: Compute Engine and GKE APIs of project ${state.cloud.project} on ${state.cloud.url}`] : []),
    '',
    'Try:',
    ...(state.cloud ? [`  eval "$(${shellCommand(['xcc', 'lab', 'env', ...nameFlag(state)])})"    # kubectl, gcloud and xcc on this lab`] : [`  export KUBECONFIG=${shellWord(state.kubeconfig)}`]),
    ...(state.clusters[0] ? [`  ${shellCommand(['kubectl', '--context', state.clusters[0].context, 'get', 'pods', '-A', '-o', 'wide'])}`] : []),
    ...(pod ? [`  ${shellCommand(['xcc', 'lab', 'exec', ...nameFlag(state), pod, '--', 'ip', 'addr'])}`] : []),
    `  xcc doctor --topology ${shellWord(state.doctor.topology)} ${flow}`,
    `  ${shellCommand(['xcc', 'lab', 'down', ...nameFlag(state)])}`,
    '',
  ]
  return safeText(lines.join('\n'))
}

export function renderLabStatus(health: LabStatusView): string {
  const name = health.name
  if (!health.exists) return `${safeText(`No lab named ${name}${health.runningElsewhere ? ` here (a lab ${name} of XCC_HOME ${health.runningElsewhere} is running)` : ''}.`)}\n`
  const lines = [`Lab ${name}: ${health.healthy ? 'healthy' : 'NOT healthy'}`]
  const state = health.lab
  if (state) {
    lines.push(`  source: ${state.source} (${hostSummary(state)}), since ${state.createdAt}`)
    lines.push(`  namespaces: ${state.namespaces.present} of ${state.namespaces.expected}`)
    lines.push(`  background process: ${state.daemonPid ?? 'none'}`)
    lines.push(`  kubeconfig: ${state.kubeconfig}`)
    for (const c of state.clusters) lines.push(`  cluster ${c.name}: context ${c.context}, API ${c.server}`)
    if (state.cloud) lines.push(`  cloud: Compute Engine and GKE APIs of project ${state.cloud.project} on ${state.cloud.url}`)
  }
  for (const p of health.problems) lines.push(`  problem: ${p}`)
  return `${safeText(lines.join('\n'))}\n`
}
