/** Node fitness as the scheduler and the DaemonSet controller judge it. */
import {matchesLabels, type LabelRequirement} from '../selectors.js'
import type {NodeObject, PodSpec, Taint, Toleration} from '../types.js'

export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false
  if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '')
}

/** The first taint (NoSchedule or NoExecute) that no toleration tolerates. */
export function untoleratedTaint(node: NodeObject, tolerations: readonly Toleration[]): Taint | undefined {
  return (node.spec?.taints ?? []).find((taint) => taint.effect !== 'PreferNoSchedule' && !tolerations.some((t) => tolerates(t, taint)))
}

export function isNodeReady(node: NodeObject): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
}

interface NodeSelectorRequirement {
  key: string
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt'
  values?: string[]
}

interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[]
  matchFields?: NodeSelectorRequirement[]
}

function requirement(r: NodeSelectorRequirement): LabelRequirement {
  const operators = {In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists', Gt: 'gt', Lt: 'lt'} as const
  return {key: r.key, operator: operators[r.operator] ?? 'in', values: r.values ?? []}
}

/** `requiredDuringSchedulingIgnoredDuringExecution` node affinity: any term, all of its requirements. */
function matchesRequiredAffinity(node: NodeObject, spec: PodSpec): boolean {
  const affinity = spec.affinity as {nodeAffinity?: {requiredDuringSchedulingIgnoredDuringExecution?: {nodeSelectorTerms?: NodeSelectorTerm[]}}} | undefined
  const terms = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
  if (!terms || terms.length === 0) return true
  return terms.some((term) => {
    const labelsOk = matchesLabels((term.matchExpressions ?? []).map(requirement), node.metadata.labels)
    const fieldsOk = matchesLabels((term.matchFields ?? []).map(requirement), {'metadata.name': node.metadata.name ?? ''})
    return labelsOk && fieldsOk
  })
}

export type MisfitReason = 'not-ready' | 'unschedulable' | 'selector' | 'taint'

/** Why a pod with this spec cannot run on the node, or undefined when it fits. */
export function misfit(node: NodeObject, spec: PodSpec, options: {ignoreReadiness?: boolean} = {}): {reason: MisfitReason; taint?: Taint} | undefined {
  const tolerations = spec.tolerations ?? []
  if (!options.ignoreReadiness && !isNodeReady(node)) return {reason: 'not-ready'}
  if (node.spec?.unschedulable && !tolerations.some((t) => tolerates(t, {key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule'}))) return {reason: 'unschedulable'}
  // the scheduler's filter order: taints before node affinity
  const taint = untoleratedTaint(node, tolerations)
  if (taint) return {reason: 'taint', taint}
  const selector = Object.entries(spec.nodeSelector ?? {}).map(([key, value]): LabelRequirement => ({key, operator: '=', values: [value]}))
  if (!matchesLabels(selector, node.metadata.labels) || !matchesRequiredAffinity(node, spec)) return {reason: 'selector'}
  return undefined
}

/** The scheduler's message for a pod that fits no node: `0/3 nodes are available: …`. */
export function unschedulableMessage(total: number, misfits: ReadonlyArray<{reason: MisfitReason; taint?: Taint}>): string {
  const counts = new Map<string, number>()
  for (const m of misfits) {
    const text =
      m.reason === 'not-ready'
        ? "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
        : m.reason === 'unschedulable'
          ? 'node(s) were unschedulable'
          : m.reason === 'selector'
            ? "node(s) didn't match Pod's node affinity/selector"
            : `node(s) had untolerated taint {${m.taint!.key}: ${m.taint!.value ?? ''}}`
    counts.set(text, (counts.get(text) ?? 0) + 1)
  }
  if (total === 0) return 'no nodes available to schedule pods'
  // as the scheduler does: "<count> <reason>" strings, sorted as strings
  const parts = [...counts.entries()].map(([text, n]) => `${n} ${text}`).sort()
  return `0/${total} nodes are available: ${parts.join(', ')}.`
}
