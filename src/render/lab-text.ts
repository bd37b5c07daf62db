/** Plain-text views of `xcc lab up` and `xcc lab status`. */
import type {Health} from '../lab/lifecycle.js'
import {DEFAULT_LAB_NAME} from '../lab/plan/names.js'
import type {LabState} from '../lab/runtime/state.js'

function hostSummary(state: LabState): string {
  const refs = Object.keys(state.plan.hosts)
  const count = (kind: string): number => refs.filter((r) => r.startsWith(`${kind}/`)).length
  return `${count('network')} networks, ${count('node')} nodes, ${count('instance')} VMs, ${count('pod')} pods`
}

const nameFlag = (name: string): string => (name === DEFAULT_LAB_NAME ? '' : ` --name ${name}`)

/** a word as a POSIX shell reads it back: quoted only when it has to be */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

export interface DoctorHint {
  /** absolute path of the topology the lab was built from */
  readonly topology: string
  /** the flow the topology is about, if it names one; otherwise placeholders */
  readonly flow?: {readonly from: string; readonly to: string}
}

export function renderLabUp(state: LabState, options: {elapsedMs: number; doctor: DoctorHint}): string {
  const flow = options.doctor.flow ? `--from ${shellWord(options.doctor.flow.from)} --to ${shellWord(options.doctor.flow.to)}` : '--from <source> --to <destination>'
  const pod = Object.keys(state.plan.hosts).find((r) => r.startsWith('pod/'))
  const lines = [
    `Lab ${state.name} is up (${state.source}, ${hostSummary(state)}) in ${(options.elapsedMs / 1000).toFixed(1)} s.`,
    `  kubeconfig: ${state.kubeconfig}`,
    ...state.clusters.map((c) => `  cluster ${c.name}: context ${c.context}, API ${c.server}`),
    '',
    'Try:',
    `  export KUBECONFIG=${state.kubeconfig}`,
    ...(state.clusters[0] ? [`  kubectl --context ${state.clusters[0].context} get pods -A -o wide`] : []),
    ...(pod ? [`  xcc lab exec${nameFlag(state.name)} ${pod} -- ip addr`] : []),
    `  xcc doctor --topology ${shellWord(options.doctor.topology)} ${flow}`,
    `  xcc lab down${nameFlag(state.name)}`,
    '',
  ]
  return lines.join('\n')
}

export function renderLabStatus(name: string, health: Health): string {
  if (!health.exists) return `No lab named ${name}${health.runningElsewhere ? ` here (a lab ${name} of XCC_HOME ${health.runningElsewhere} is running)` : ''}.\n`
  const lines = [`Lab ${name}: ${health.healthy ? 'healthy' : 'NOT healthy'}`]
  const state = health.state
  if (state) {
    lines.push(`  source: ${state.source} (${hostSummary(state)}), since ${state.createdAt}`)
    lines.push(`  namespaces: ${health.namespaces} of ${state.plan.namespaces.length}`)
    lines.push(`  background process: ${state.daemonPid ?? 'none'}`)
    lines.push(`  kubeconfig: ${state.kubeconfig}`)
    for (const c of state.clusters) lines.push(`  cluster ${c.name}: context ${c.context}, API ${c.server}`)
  }
  for (const p of health.problems) lines.push(`  problem: ${p}`)
  return `${lines.join('\n')}\n`
}
