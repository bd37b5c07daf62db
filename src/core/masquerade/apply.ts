/**
 * Applying a masquerade plan through the Kubernetes port, and what each command needs to be
 * allowed to do (asked before anything is read or written, so a refusal changes nothing).
 */
import type {KubeCluster, KubeDaemonSet} from '../ports/kube.js'
import type {Clock} from '../ports/clock.js'
import type {AccessNeed} from '../kube/access.js'
import {throwIfAborted} from '../kube/pods.js'
import {CONFIG_MAP_NAMESPACE} from '../topology/ip-masq-agent.js'
import {type MasqueradePlan, type ObjectChange, planChanges} from './plan.js'
import {XCC_DAEMONSET, XCC_NAMESPACE} from './state.js'

export const MASQUERADE_ROLE = {command: 'xcc masquerade', role: 'xcc-masquerade-admin'}

/** what gathering the state needs */
export function readAccess(): AccessNeed[] {
  const why = 'see how the cluster masquerades'
  return [
    {verb: 'list', resource: 'nodes', why: 'learn the nodes and their pod ranges', required: true},
    {verb: 'list', resource: 'services', why: 'learn the cluster\'s own service addresses', required: true},
    {verb: 'get', resource: 'configmaps', namespace: CONFIG_MAP_NAMESPACE, why, required: true},
    {verb: 'list', resource: 'daemonsets', group: 'apps', namespace: CONFIG_MAP_NAMESPACE, why, required: true},
  ]
}

/** what writing needs, per mode */
export function writeAccess(mode: 'ip-masq-agent' | 'daemonset'): AccessNeed[] {
  if (mode === 'ip-masq-agent') {
    return (['create', 'update', 'delete'] as const).map((verb) => ({verb, resource: 'configmaps', namespace: CONFIG_MAP_NAMESPACE, why: 'edit the ip-masq-agent ConfigMap', required: true}))
  }
  return [
    ...(['create', 'update', 'delete', 'get'] as const).map((verb) => ({verb, resource: 'daemonsets', group: 'apps', namespace: XCC_NAMESPACE, why: 'run the xcc-masquerade DaemonSet', required: true})),
    {verb: 'list', resource: 'pods', namespace: XCC_NAMESPACE, why: 'follow the DaemonSet rollout', required: true},
  ]
}

/** what `list` needs: short-lived pods that read each node's nat table */
export function listAccess(): AccessNeed[] {
  const why = 'read each node\'s nat rules with a short-lived host-network pod'
  return [
    ...(['create', 'get', 'delete', 'list'] as const).map((verb) => ({verb, resource: 'pods', namespace: XCC_NAMESPACE, why, required: true})),
    {verb: 'get', resource: 'pods', subresource: 'log', namespace: XCC_NAMESPACE, why, required: true},
  ]
}

export interface ApplyDeps {
  readonly cluster: KubeCluster
  readonly clock: Clock
  readonly signal: AbortSignal
  readonly progress: (text: string) => void
  /** how long to follow a rollout */
  readonly timeoutMs: number
}

export interface AppliedChange {
  readonly kind: ObjectChange['kind']
  readonly namespace: string
  readonly name: string
  readonly action: ObjectChange['action']
  /** DaemonSet: every node runs the new pod (or, deleted: no pod is left) */
  readonly rolledOut?: boolean
  readonly detail?: string
}

/** what `add` and `remove` did: the plan, and what was applied (undefined for a dry run) */
export interface WriteResult {
  readonly plan: MasqueradePlan
  readonly applied?: readonly AppliedChange[]
}

const POLL_MS = 200

function rolloutState(ds: KubeDaemonSet | undefined): {done: boolean; desired: number; text: string} {
  if (!ds) return {done: false, desired: 0, text: 'the DaemonSet is gone'}
  const s = ds.status ?? {}
  const desired = s.desiredNumberScheduled ?? 0
  const observed = (s.observedGeneration ?? 0) >= (ds.metadata.generation ?? 1)
  const text = `${s.updatedNumberScheduled ?? 0} of ${desired} nodes updated, ${s.numberReady ?? 0} ready`
  return {done: observed && desired > 0 && s.updatedNumberScheduled === desired && s.numberReady === desired, desired, text}
}

async function followRollout(deps: ApplyDeps): Promise<{rolledOut: boolean; detail: string}> {
  const deadline = deps.clock.now() + deps.timeoutMs
  let last = ''
  for (;;) {
    throwIfAborted(deps.signal)
    const state = rolloutState(await deps.cluster.getDaemonSet(XCC_NAMESPACE, XCC_DAEMONSET))
    // pods of the old template still running (maxSurge: they stop once the new one is ready)
    const pods = state.done ? await deps.cluster.listPods(XCC_NAMESPACE, `app.kubernetes.io/name=${XCC_DAEMONSET}`) : []
    const settled = state.done && pods.length === state.desired && pods.every((p) => !p.metadata.deletionTimestamp)
    if (state.text !== last) deps.progress(`rollout: ${(last = state.text)}`)
    if (settled) return {rolledOut: true, detail: state.text}
    if (deps.clock.now() >= deadline) return {rolledOut: false, detail: `the rollout did not finish in ${Math.round(deps.timeoutMs / 1000)}s: ${state.text}`}
    await deps.clock.sleep(POLL_MS, deps.signal)
  }
}

async function followRemoval(deps: ApplyDeps): Promise<{rolledOut: boolean; detail: string}> {
  const deadline = deps.clock.now() + deps.timeoutMs
  for (;;) {
    throwIfAborted(deps.signal)
    const pods = await deps.cluster.listPods(XCC_NAMESPACE, `app.kubernetes.io/name=${XCC_DAEMONSET}`)
    if (pods.length === 0) return {rolledOut: true, detail: 'every pod stopped and removed XCC-MASQ from its node'}
    if (deps.clock.now() >= deadline) return {rolledOut: false, detail: `${pods.length} pods still stopping after ${Math.round(deps.timeoutMs / 1000)}s`}
    await deps.clock.sleep(POLL_MS, deps.signal)
  }
}

export async function applyPlan(plan: MasqueradePlan, deps: ApplyDeps): Promise<AppliedChange[]> {
  const out: AppliedChange[] = []
  for (const change of planChanges(plan)) {
    const base = {kind: change.kind, namespace: change.namespace, name: change.name, action: change.action}
    deps.progress(`${change.action} ${change.kind} ${change.namespace}/${change.name}`)
    if (change.kind === 'ConfigMap') {
      if (change.action === 'delete') await deps.cluster.deleteConfigMap(change.namespace, change.name)
      else if (change.action === 'create') await deps.cluster.createConfigMap(change.namespace, change.after!)
      else await deps.cluster.replaceConfigMap(change.namespace, change.after!)
      out.push({...base, detail: 'the ip-masq-agent applies it at its next resync (resyncInterval, SNAT-02)'})
      continue
    }
    if (change.action === 'delete') {
      await deps.cluster.deleteDaemonSet(change.namespace, change.name)
      out.push({...base, ...(await followRemoval(deps))})
    } else {
      if (change.action === 'create') await deps.cluster.createDaemonSet(change.namespace, change.after!)
      else await deps.cluster.replaceDaemonSet(change.namespace, change.after!)
      out.push({...base, ...(await followRollout(deps))})
    }
  }
  return out
}
