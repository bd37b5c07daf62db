/**
 * Stable names for a lab whose topology changes (types.ts LabNames). A first compile numbers
 * networks, instances, pods and active peerings in topology order, as `lab up` always did; a
 * later compile keeps every index it finds in the previous map and gives what is new the next
 * index of its kind, so the namespaces, interfaces and link addresses of what stays are untouched
 * by a change elsewhere (a VM added in the middle of the file renames nothing).
 */
import type {Model, PodFacts} from '../../core/topology/model-types.js'
import {labPods} from './hosts.js'
import type {LabNames, LabPlan} from './types.js'

export function podKey(pod: Pick<PodFacts, 'cluster' | 'namespace' | 'name'>): string {
  return `${pod.cluster}/${pod.namespace}/${pod.name}`
}

/** The distinct active peerings of a model as [network, peer], in topology order (PEER-01: only ACTIVE ones are connected). */
function activePairs(model: Model): Array<readonly [string, string]> {
  const seen = new Set<string>()
  const out: Array<readonly [string, string]> = []
  for (const p of model.peerings) {
    if (p.state !== 'ACTIVE') continue
    const [a, b] = [p.network, p.spec.network]
    const key = JSON.stringify([a, b].sort())
    if (seen.has(key)) continue
    seen.add(key)
    out.push([a, b])
  }
  return out
}

function keep(keys: readonly string[], previous: ReadonlyArray<readonly [string, number]>, next: number): {pairs: Array<[string, number]>; next: number} {
  const old = new Map(previous)
  const pairs: Array<[string, number]> = []
  for (const key of new Set(keys)) {
    const index = old.get(key)
    pairs.push([key, index ?? next++])
  }
  return {pairs, next}
}

/** The name map for `model`: `previous` indexes kept, new things numbered from its counters. */
export function planNames(model: Model, previous?: LabNames): LabNames {
  const networks = keep([...model.networks.keys()], previous?.networks ?? [], previous?.next.networks ?? 0)
  const hosts = keep([...model.instances.keys()], previous?.hosts ?? [], previous?.next.hosts ?? 0)
  const pods = keep(labPods(model).map(podKey), previous?.pods ?? [], previous?.next.pods ?? 0)
  const networkIndex = new Map(networks.pairs)
  const oldPeerings = new Map((previous?.peerings ?? []).map(([a, b, k]) => [JSON.stringify([a, b].sort()), [a, b, k] as const]))
  let nextPeering = previous?.next.peerings ?? 0
  const peerings: Array<readonly [string, string, number]> = []
  for (const [a, b] of activePairs(model)) {
    const old = oldPeerings.get(JSON.stringify([a, b].sort()))
    if (old) {
      peerings.push(old)
      continue
    }
    // the lower-indexed network takes the pair's even address (and creates the link, router.ts)
    const [low, high] = (networkIndex.get(a) as number) < (networkIndex.get(b) as number) ? [a, b] : [b, a]
    peerings.push([low, high, nextPeering++])
  }
  return {
    networks: networks.pairs, hosts: hosts.pairs, pods: pods.pairs, peerings,
    next: {networks: networks.next, hosts: hosts.next, pods: pods.next, peerings: nextPeering},
  }
}

const INDEX = /(?:net|vm|node|pod)(\d+)$/

/**
 * The name map of a plan compiled before maps were kept (a lab built by an older xcc), read back
 * from its namespace names; peerings get fresh link addresses on the next change.
 */
export function namesFromPlan(plan: LabPlan): LabNames {
  if (plan.names) return plan.names
  const networks: Array<[string, number]> = []
  const hosts: Array<[string, number]> = []
  const pods: Array<[string, number]> = []
  for (const [ref, entry] of Object.entries(plan.hosts)) {
    const index = Number(INDEX.exec(entry.ns)?.[1] ?? -1)
    if (index < 0) continue
    const [kind, ...rest] = ref.split('/')
    const name = rest.join('/')
    if (kind === 'network') networks.push([name, index])
    else if (kind === 'instance' || kind === 'node') hosts.push([name, index])
    else if (kind === 'pod' && plan.namespaces.some((n) => n.name === entry.ns && n.role === 'pod')) pods.push([name, index])
  }
  const next = (pairs: ReadonlyArray<readonly [string, number]>): number => pairs.reduce((m, [, i]) => Math.max(m, i + 1), 0)
  // pods that share their node's namespace (hostNetwork) had an index too: start after every pod the plan lists
  return {networks, hosts, pods, peerings: [], next: {networks: next(networks), hosts: next(hosts), pods: Math.max(next(pods), plan.pods.length), peerings: 0}}
}
