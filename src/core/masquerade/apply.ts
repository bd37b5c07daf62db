/**
 * Applying a masquerade plan through the Kubernetes port, and what each command needs to be
 * allowed to do (asked before anything is read or written, so a refusal changes nothing).
 *
 * Nothing is reported that was not read back (issue 13). A write whose answer was lost — a
 * timeout, a connection reset, a 5xx — may have been carried out all the same, and a 409 on a
 * create or replace may find the object already as xcc wants it: in each case the object is
 * read again, and "in place" is success with a warning, "not in place" a failure saying what
 * it holds. While xcc follows a rollout, and once every change is made, the objects are read
 * again: when another writer (a concurrent `xcc masquerade`, a person) changed one meanwhile,
 * the run fails (exit 3) naming it and what it holds now, instead of claiming what it wrote.
 */
import {ApiError, XccError, mayHaveApplied} from '../errors.js'
import type {KubeCluster, KubeConfigMap, KubeDaemonSet} from '../ports/kube.js'
import type {Clock} from '../ports/clock.js'
import type {AccessNeed} from '../kube/access.js'
import {throwIfAborted} from '../kube/pods.js'
import {shellCommand} from '../shell.js'
import {CONFIG_MAP_NAMESPACE} from '../topology/ip-masq-agent.js'
import {ORIGINAL_ANNOTATION, configMapCidrs} from './agent-edit.js'
import {CIDRS_ANNOTATION, daemonSetCidrs} from './daemonset.js'
import {type MasqueradePlan, type ObjectChange, SPEC_HASH_ANNOTATION, planChanges} from './plan.js'
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
  /** the write's answer was lost (or it was refused with a 409) and the object, read again, is as xcc wanted */
  readonly warning?: string
}

/** what `add` and `remove` did: the plan, and what was applied (undefined for a dry run) */
export interface WriteResult {
  readonly plan: MasqueradePlan
  readonly applied?: readonly AppliedChange[]
}

const POLL_MS = 200
/** reading an object again after a lost answer: attempts, and the pause between them */
const REREAD_ATTEMPTS = 3
const REREAD_PAUSE_MS = 1000

type Live = KubeConfigMap | KubeDaemonSet | undefined

const title = (c: ObjectChange): string => `${c.kind} ${c.namespace}/${c.name}`

function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (v: unknown): string => JSON.stringify(v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => x.localeCompare(y))) : v ?? null)
  return canonical(a) === canonical(b)
}

/** the object, as read, holds what the change wrote (or, a delete: it is gone) */
function holds(change: ObjectChange, live: Live): boolean {
  if (change.action === 'delete') return live === undefined || live.metadata.deletionTimestamp !== undefined
  if (!live || !change.after || live.metadata.deletionTimestamp) return false
  const mine = change.after.metadata.annotations ?? {}
  const theirs = live.metadata.annotations ?? {}
  if (change.kind === 'DaemonSet') return theirs[SPEC_HASH_ANNOTATION] === mine[SPEC_HASH_ANNOTATION] && theirs[CIDRS_ANNOTATION] === mine[CIDRS_ANNOTATION]
  return theirs[CIDRS_ANNOTATION] === mine[CIDRS_ANNOTATION] && theirs[ORIGINAL_ANNOTATION] === mine[ORIGINAL_ANNOTATION] && sameJson((live as KubeConfigMap).data, change.after.data)
}

function rangesOf(change: ObjectChange, object: Live): string[] {
  if (!object) return []
  return change.kind === 'DaemonSet' ? daemonSetCidrs(object as KubeDaemonSet) : configMapCidrs(object as KubeConfigMap)
}

/** what the object holds now, for messages: `it is gone`, `it masquerades … now (xcc wrote …)` */
function describeLive(change: ObjectChange, live: Live): string {
  if (!live) return 'it is gone'
  if (live.metadata.deletionTimestamp) return 'it is being deleted'
  const now = rangesOf(change, live)
  const wrote = change.action === 'delete' ? undefined : rangesOf(change, change.after)
  const differs = wrote !== undefined && now.join(',') !== wrote.join(',')
  const written = differs ? ` (xcc wrote ${wrote.length ? wrote.join(',') : 'no range'})` : ''
  if (change.kind === 'DaemonSet') {
    if (now.length === 0) return `it masquerades no range${written}`
    if (differs || change.action === 'delete') return `it masquerades ${now.join(',')} now${written}`
    return 'its pod template is not the one xcc wrote (another image or script)'
  }
  if (now.length === 0) return `xcc manages no range there${written}`
  if (differs || change.action === 'delete') return `xcc manages ${now.join(',')} there now${written}`
  return 'its config is not the one xcc wrote'
}

const verb = (c: ObjectChange): string => (c.action === 'delete' ? 'deleted' : c.action === 'create' ? 'created' : 'updated')

/** what xcc did, for the details of a failure: `created DaemonSet kube-system/xcc-masquerade (10.193.0.0/16)` */
function describeDone(change: ObjectChange): string {
  const ranges = change.action === 'delete' ? [] : rangesOf(change, change.after)
  return `${verb(change)} ${title(change)}${ranges.length ? ` (${ranges.join(',')})` : ''}`
}

function listHint(context: string): string {
  return `see what holds now: ${shellCommand(['xcc', 'masquerade', 'list', '--context', context])}; then run the command again (it starts from what it finds)`
}

/** another writer changed the object after xcc's change: exit 3, naming it and what it holds now */
function changedByOther(change: ObjectChange, live: Live, done: readonly ObjectChange[], context: string): XccError {
  return new XccError(`another writer changed ${title(change)} after xcc's ${change.action}: ${describeLive(change, live)}`, {
    exitCode: 3, hint: listHint(context), details: done.map(describeDone),
  })
}

function read(change: ObjectChange, cluster: KubeCluster): Promise<Live> {
  return change.kind === 'DaemonSet' ? cluster.getDaemonSet(change.namespace, change.name) : cluster.getConfigMap(change.namespace, change.name)
}

/** reads the object again, retrying a read whose answer was lost too (bounded) */
async function readAgain(change: ObjectChange, deps: ApplyDeps): Promise<{live: Live} | {error: Error}> {
  let last: Error | undefined
  for (let attempt = 0; attempt < REREAD_ATTEMPTS; attempt++) {
    throwIfAborted(deps.signal)
    try {
      return {live: await read(change, deps.cluster)}
    } catch (error) {
      last = error as Error
      if (!mayHaveApplied(error)) break
      if (attempt + 1 < REREAD_ATTEMPTS) await deps.clock.sleep(REREAD_PAUSE_MS, deps.signal)
    }
  }
  return {error: last as Error}
}

/** a 409 (AlreadyExists on a create, Conflict on a replace) or a 404 on a replace: another writer was there first */
function concurrent(change: ObjectChange, error: unknown): boolean {
  if (!(error instanceof ApiError) || error.fate.kind !== 'answered') return false
  return error.fate.status === 409 || (error.fate.status === 404 && change.action === 'update')
}

async function send(change: ObjectChange, cluster: KubeCluster): Promise<void> {
  if (change.kind === 'ConfigMap') {
    if (change.action === 'delete') await cluster.deleteConfigMap(change.namespace, change.name)
    else if (change.action === 'create') await cluster.createConfigMap(change.namespace, change.after!)
    else await cluster.replaceConfigMap(change.namespace, change.after!)
  } else if (change.action === 'delete') await cluster.deleteDaemonSet(change.namespace, change.name)
  else if (change.action === 'create') await cluster.createDaemonSet(change.namespace, change.after!)
  else await cluster.replaceDaemonSet(change.namespace, change.after!)
}

/**
 * Makes one change. A failure that may have been carried out (no answer, 5xx) or that says
 * another writer was first (409, 404) is not reported as it is: the object is read again. As
 * xcc wanted → the warning to report; otherwise an error saying what the object holds, or
 * that the outcome is unknown when it cannot be read either.
 */
async function write(change: ObjectChange, deps: ApplyDeps, context: string): Promise<string | undefined> {
  try {
    await send(change, deps.cluster)
    return undefined
  } catch (error) {
    const lost = mayHaveApplied(error)
    if (!lost && !concurrent(change, error)) throw error
    const message = (error as Error).message
    deps.progress(`${lost ? `the API's answer to the ${change.action} was lost` : `the ${change.action} was refused`}: reading ${title(change)} again`)
    const again = await readAgain(change, deps)
    if ('error' in again) {
      throw new XccError(`the outcome of the ${change.action} of ${title(change)} is unknown: ${message}; reading it again failed too: ${again.error.message}`, {
        exitCode: 3, hint: `once the API server answers, ${listHint(context)}`,
      })
    }
    if (!holds(change, again.live)) {
      throw new XccError(`the ${change.action} of ${title(change)} did not take effect: ${message}; read again, ${describeLive(change, again.live)}`, {
        exitCode: 3, hint: listHint(context),
      })
    }
    const warning = `${lost ? `the API's answer to the ${change.action} was lost` : `the ${change.action} was refused`} (${message}); read again, ${title(change)} ${change.action === 'delete' ? 'is gone' : 'holds what xcc wrote'}`
    deps.progress(`warning: ${warning}`)
    return warning
  }
}

function rolloutState(ds: KubeDaemonSet): {done: boolean; desired: number; text: string} {
  const s = ds.status ?? {}
  const desired = s.desiredNumberScheduled ?? 0
  const observed = (s.observedGeneration ?? 0) >= (ds.metadata.generation ?? 1)
  const text = `${s.updatedNumberScheduled ?? 0} of ${desired} nodes updated, ${s.numberReady ?? 0} ready`
  return {done: observed && desired > 0 && s.updatedNumberScheduled === desired && s.numberReady === desired, desired, text}
}

/** follows the rollout of what xcc wrote; another writer's change to the DaemonSet ends it at once */
async function followRollout(change: ObjectChange, deps: ApplyDeps, done: readonly ObjectChange[], context: string): Promise<{rolledOut: boolean; detail: string}> {
  const deadline = deps.clock.now() + deps.timeoutMs
  let last = ''
  for (;;) {
    throwIfAborted(deps.signal)
    const ds = await deps.cluster.getDaemonSet(XCC_NAMESPACE, XCC_DAEMONSET)
    if (!holds(change, ds)) throw changedByOther(change, ds, done, context)
    const state = rolloutState(ds!)
    // pods of the old template still running (maxSurge: they stop once the new one is ready)
    const pods = state.done ? await deps.cluster.listPods(XCC_NAMESPACE, `app.kubernetes.io/name=${XCC_DAEMONSET}`) : []
    const settled = state.done && pods.length === state.desired && pods.every((p) => !p.metadata.deletionTimestamp)
    if (state.text !== last) deps.progress(`rollout: ${(last = state.text)}`)
    if (settled) return {rolledOut: true, detail: state.text}
    if (deps.clock.now() >= deadline) return {rolledOut: false, detail: `the rollout did not finish in ${Math.round(deps.timeoutMs / 1000)}s: ${state.text}`}
    await deps.clock.sleep(POLL_MS, deps.signal)
  }
}

/** waits for the deleted DaemonSet's pods to stop; a DaemonSet created again meanwhile ends it at once */
async function followRemoval(change: ObjectChange, deps: ApplyDeps, done: readonly ObjectChange[], context: string): Promise<{rolledOut: boolean; detail: string}> {
  const deadline = deps.clock.now() + deps.timeoutMs
  for (;;) {
    throwIfAborted(deps.signal)
    const ds = await deps.cluster.getDaemonSet(XCC_NAMESPACE, XCC_DAEMONSET)
    if (!holds(change, ds)) throw changedByOther(change, ds, done, context)
    const pods = await deps.cluster.listPods(XCC_NAMESPACE, `app.kubernetes.io/name=${XCC_DAEMONSET}`)
    if (pods.length === 0) return {rolledOut: true, detail: 'every pod stopped and removed XCC-MASQ from its node'}
    if (deps.clock.now() >= deadline) return {rolledOut: false, detail: `${pods.length} pods still stopping after ${Math.round(deps.timeoutMs / 1000)}s`}
    await deps.clock.sleep(POLL_MS, deps.signal)
  }
}

export async function applyPlan(plan: MasqueradePlan, deps: ApplyDeps): Promise<AppliedChange[]> {
  const out: AppliedChange[] = []
  const done: ObjectChange[] = []
  const changes = planChanges(plan)
  try {
    for (const change of changes) {
      const base = {kind: change.kind, namespace: change.namespace, name: change.name, action: change.action}
      deps.progress(`${change.action} ${title(change)}`)
      const warning = await write(change, deps, plan.context)
      done.push(change)
      const warned = warning ? {warning} : {}
      if (change.kind === 'ConfigMap') {
        out.push({...base, detail: 'the ip-masq-agent applies it at its next resync (resyncInterval, SNAT-02)', ...warned})
        continue
      }
      const followed = change.action === 'delete' ? await followRemoval(change, deps, done, plan.context) : await followRollout(change, deps, done, plan.context)
      out.push({...base, ...followed, ...warned})
    }
    // what is reported is what the cluster holds now: every object read once more
    for (const change of changes) {
      const again = await readAgain(change, deps)
      if ('error' in again) throw again.error
      if (!holds(change, again.live)) throw changedByOther(change, again.live, done, plan.context)
    }
  } catch (error) {
    // a failure after something was written says what was written
    if (!(error instanceof XccError) || done.length === 0 || error.details.includes(describeDone(done[0]!))) throw error
    throw new XccError(error.message, {exitCode: error.exitCode, ...(error.hint ? {hint: error.hint} : {}), details: [...error.details, ...done.map((c) => `before that, xcc ${describeDone(c)}`)]})
  }
  return out
}
