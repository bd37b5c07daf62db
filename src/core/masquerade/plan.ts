/**
 * Desired state → plan (design.md habit 7): which objects `xcc masquerade add|remove` creates,
 * updates or deletes, computed from the gathered cluster state without touching it, so that a
 * dry run prints exactly what a real run does and a second run plans nothing.
 */
import {XccError} from '../errors.js'
import {type Cidr, cidr, formatCidr} from '../net/ipv4.js'
import type {KubeConfigMap, KubeDaemonSet} from '../ports/kube.js'
import {chainHash} from '../topology/node-rules.js'
import {CONFIG_MAP_NAME, CONFIG_MAP_NAMESPACE} from '../topology/ip-masq-agent.js'
import {type AgentEdit, ORIGINAL_ANNOTATION, configMapCidrs, planAgentAdd, planAgentRemove} from './agent-edit.js'
import {checkAgainstOwnRanges} from './cidrs.js'
import {CIDRS_ANNOTATION, DEFAULT_MASQUERADE_IMAGE, buildXccDaemonSet, daemonSetCidrs} from './daemonset.js'
import {type MasqueradeState, XCC_DAEMONSET, XCC_NAMESPACE, agentFlagsOf} from './state.js'

export type MasqueradeMode = 'ip-masq-agent' | 'daemonset'
export type RequestedMode = 'auto' | MasqueradeMode
export const MODES: readonly RequestedMode[] = ['auto', 'ip-masq-agent', 'daemonset']

/** an unknown --mode is bad input */
export function parseMode(text: string): RequestedMode {
  const mode = MODES.find((m) => m === text)
  if (!mode) throw new XccError(`--mode ${text}: expected ${MODES.slice(0, -1).join(', ')} or ${MODES[MODES.length - 1]}`)
  return mode
}

/** a hash of what xcc built, so a second run can tell "already so" without comparing server defaults */
export const SPEC_HASH_ANNOTATION = 'xcc.dev/spec-hash'

export type ChangeAction = 'create' | 'update' | 'delete' | 'none'

export type ObjectChange =
  | {readonly kind: 'ConfigMap'; readonly namespace: string; readonly name: string; readonly action: ChangeAction; readonly before?: KubeConfigMap; readonly after?: KubeConfigMap}
  | {readonly kind: 'DaemonSet'; readonly namespace: string; readonly name: string; readonly action: ChangeAction; readonly before?: KubeDaemonSet; readonly after?: KubeDaemonSet}

export interface MasqueradePlan {
  readonly context: string
  readonly mode: MasqueradeMode
  /** why this mode (auto) */
  readonly why: string
  /** the ranges xcc keeps masqueraded after the change */
  readonly cidrs: readonly string[]
  /** ranges that needed nothing (already masqueraded by the agent's config) */
  readonly alreadyMasqueraded: readonly string[]
  readonly changes: readonly ObjectChange[]
}

export interface DaemonSetSettings {
  readonly image: string
  readonly script: string
}

export function chooseMode(state: MasqueradeState, requested: RequestedMode): {mode: MasqueradeMode; why: string} {
  if (requested !== 'auto') return {mode: requested, why: `--mode ${requested}`}
  if (state.xccDaemonSet) return {mode: 'daemonset', why: `xcc's DaemonSet ${XCC_NAMESPACE}/${XCC_DAEMONSET} already runs in this cluster`}
  if (state.agentConfigMap?.metadata.annotations?.[ORIGINAL_ANNOTATION]) return {mode: 'ip-masq-agent', why: `xcc already edits ${CONFIG_MAP_NAMESPACE}/${CONFIG_MAP_NAME}`}
  if (state.agentDaemonSet) return {mode: 'ip-masq-agent', why: `the ip-masq-agent DaemonSet governs SNAT (SNAT-12)`}
  if (state.anetd) return {mode: 'ip-masq-agent', why: 'GKE Dataplane V2 (anetd) masquerades from the ip-masq-agent ConfigMap (SNAT-15)'}
  if (state.agentConfigMap) return {mode: 'ip-masq-agent', why: `the ${CONFIG_MAP_NAMESPACE}/${CONFIG_MAP_NAME} ConfigMap governs SNAT (SNAT-01)`}
  return {mode: 'daemonset', why: 'no ip-masq-agent ConfigMap or DaemonSet: the nodes SNAT with their own rules (kubenet or GKE\'s IP-MASQ chain, SNAT-09/SNAT-11), so xcc adds its XCC-MASQ chain before them'}
}

function agentChange(state: MasqueradeState, edit: AgentEdit): ObjectChange {
  const action: ChangeAction = !edit.changed ? 'none' : !edit.after ? 'delete' : state.agentConfigMap ? 'update' : 'create'
  return {kind: 'ConfigMap', namespace: CONFIG_MAP_NAMESPACE, name: CONFIG_MAP_NAME, action, ...(edit.before ? {before: edit.before} : {}), ...(edit.after ? {after: edit.after} : {})}
}

function withHash(ds: KubeDaemonSet): KubeDaemonSet {
  const hash = chainHash(JSON.stringify(ds.spec))
  return {...ds, metadata: {...ds.metadata, annotations: {...ds.metadata.annotations, [SPEC_HASH_ANNOTATION]: hash}}}
}

/** the DaemonSet change that leaves `cidrs` masqueraded (none left: delete it) */
function daemonSetChange(state: MasqueradeState, cidrs: readonly string[], settings: DaemonSetSettings): ObjectChange {
  const before = state.xccDaemonSet
  const base = {kind: 'DaemonSet' as const, namespace: XCC_NAMESPACE, name: XCC_DAEMONSET, ...(before ? {before} : {})}
  if (cidrs.length === 0) return {...base, action: before ? 'delete' : 'none'}
  const built = withHash(buildXccDaemonSet({namespace: XCC_NAMESPACE, cidrs: cidrs.map((c) => cidr(c)), image: settings.image, script: settings.script}))
  const same = before && before.metadata.annotations?.[SPEC_HASH_ANNOTATION] === built.metadata.annotations?.[SPEC_HASH_ANNOTATION] && before.metadata.annotations?.[CIDRS_ANNOTATION] === built.metadata.annotations?.[CIDRS_ANNOTATION]
  if (same) return {...base, action: 'none', after: before}
  const after: KubeDaemonSet = before ? {...built, metadata: {...built.metadata, ...(before.metadata.resourceVersion ? {resourceVersion: before.metadata.resourceVersion} : {})}} : built
  return {...base, action: before ? 'update' : 'create', after}
}

export interface AddOptions {
  readonly mode: RequestedMode
  readonly daemonSet: DaemonSetSettings
  readonly force: boolean
}

export function planAdd(state: MasqueradeState, add: readonly Cidr[], options: AddOptions): MasqueradePlan {
  checkAgainstOwnRanges(add, state.own, state.context)
  const {mode, why} = chooseMode(state, options.mode)
  if (mode === 'ip-masq-agent') {
    const edit = planAgentAdd({...(state.agentConfigMap ? {configMap: state.agentConfigMap} : {}), flags: agentFlagsOf(state), force: options.force}, add)
    return {context: state.context, mode, why, cidrs: edit.cidrs, alreadyMasqueraded: edit.alreadyMasqueraded, changes: [agentChange(state, edit)]}
  }
  const managed = state.xccDaemonSet ? daemonSetCidrs(state.xccDaemonSet) : []
  const cidrs = [...managed, ...add.map(formatCidr).filter((c) => !managed.includes(c))]
  // an image given before is kept unless --image says otherwise (the caller passes the default only when none runs)
  return {context: state.context, mode, why, cidrs, alreadyMasqueraded: [], changes: [daemonSetChange(state, cidrs, options.daemonSet)]}
}

/** `script`: the DaemonSet's script, for a DaemonSet that keeps some ranges (its image stays as it runs) */
export function planRemove(state: MasqueradeState, remove: readonly Cidr[] | 'all', script: string, options: {force?: boolean} = {}): MasqueradePlan {
  const inDaemonSet = state.xccDaemonSet ? daemonSetCidrs(state.xccDaemonSet) : []
  const inConfigMap = configMapCidrs(state.agentConfigMap)
  const texts = remove === 'all' ? [...inDaemonSet, ...inConfigMap] : remove.map(formatCidr)
  const unknown = texts.filter((t) => !inDaemonSet.includes(t) && !inConfigMap.includes(t))
  if (unknown.length > 0) {
    const managed = [...inDaemonSet, ...inConfigMap]
    throw new XccError(`--cidr ${unknown.join(',')}: xcc does not masquerade ${unknown.length > 1 ? 'these ranges' : 'this range'} in context "${state.context}"${managed.length ? ` (it masquerades ${managed.join(',')})` : ' (it masquerades no ranges there)'}`, {hint: `see what xcc manages: xcc masquerade list --context ${state.context}`})
  }
  const changes: ObjectChange[] = []
  let mode: MasqueradeMode = state.xccDaemonSet ? 'daemonset' : 'ip-masq-agent'
  const left: string[] = []
  if (state.xccDaemonSet) {
    const keep = inDaemonSet.filter((c) => !texts.includes(c))
    left.push(...keep)
    const image = state.xccDaemonSet.spec.template.spec.containers[0]?.image ?? DEFAULT_MASQUERADE_IMAGE
    changes.push(daemonSetChange(state, keep, {image, script}))
  }
  if (inConfigMap.length > 0 && state.agentConfigMap) {
    const mine = texts.filter((t) => inConfigMap.includes(t))
    const edit = planAgentRemove({configMap: state.agentConfigMap, flags: agentFlagsOf(state), force: options.force ?? false}, mine.length === inConfigMap.length ? 'all' : mine.map((m) => cidr(m)))
    left.push(...edit.cidrs)
    if (!state.xccDaemonSet || mine.length > 0) mode = 'ip-masq-agent'
    changes.push(agentChange(state, edit))
  }
  return {context: state.context, mode, why: 'where xcc keeps the ranges', cidrs: left, alreadyMasqueraded: [], changes}
}

export function planChanges(plan: MasqueradePlan): ObjectChange[] {
  return plan.changes.filter((c) => c.action !== 'none')
}
