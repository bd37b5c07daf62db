/**
 * `xcc masquerade` on a cluster whose SNAT the ip-masq-agent governs: edit the
 * `kube-system/ip-masq-agent` ConfigMap so the given ranges leave `nonMasqueradeCIDRs`.
 *
 * - SNAT-03: a config without the list uses the default list, and writing a list replaces it,
 *   so the first edit writes the defaults explicitly, minus the ranges.
 * - A range inside a listed block (10.193.0.0/16 in 10.0.0.0/8) splits the block, so every
 *   other destination keeps its pod source address.
 * - SNAT-04: a config the agent would reject is never written (it would keep the old one).
 * - Reversible: the config as it was before xcc's first edit is kept in an annotation, and the
 *   list is always computed from it, so `remove` restores it exactly. Other fields are taken
 *   from the ConfigMap as it is now, so later edits to them survive.
 */
import {dump} from 'js-yaml'

import {XccError} from '../errors.js'
import {type Cidr, LINK_LOCAL, cidr, cidrContains, cidrsOverlap, formatCidr, subtractCidrs} from '../net/ipv4.js'
import type {KubeConfigMap} from '../ports/kube.js'
import {MANAGED_BY, MANAGED_BY_LABEL} from '../kube/labels.js'
import {AGENT_YAML, type AgentFlags, CONFIG_KEY, CONFIG_MAP_NAME, CONFIG_MAP_NAMESPACE, nonMasqueradeRanges, parseAgentConfig, validateAgentConfig} from '../topology/ip-masq-agent.js'
import {CIDRS_ANNOTATION, annotatedCidrs} from './daemonset.js'

/** the ConfigMap's `config` before xcc's first edit: {"existed":false} or {"existed":true,"config":"…"} */
export const ORIGINAL_ANNOTATION = 'xcc.dev/ip-masq-agent-original'

interface Original {
  readonly existed: boolean
  /** data.config; undefined when the ConfigMap had no such key */
  readonly config?: string
}

export interface AgentEdit {
  /** the ConfigMap to write; undefined = delete it */
  readonly after?: KubeConfigMap
  readonly before?: KubeConfigMap
  /** false: the cluster is already in the wanted state */
  readonly changed: boolean
  /** the ranges xcc manages in the ConfigMap afterwards */
  readonly cidrs: readonly string[]
  /** ranges that needed no change (the agent masquerades them already) */
  readonly alreadyMasqueraded: readonly string[]
}

const where = `${CONFIG_MAP_NAMESPACE}/${CONFIG_MAP_NAME}`

/** the ranges xcc manages in the ip-masq-agent ConfigMap */
export function configMapCidrs(cm: KubeConfigMap | undefined): string[] {
  return cm ? annotatedCidrs({...cm, kind: 'ConfigMap'}) : []
}

function originalOf(cm: KubeConfigMap | undefined, force: boolean): Original {
  const text = force ? undefined : cm?.metadata.annotations?.[ORIGINAL_ANNOTATION]
  if (text !== undefined) {
    try {
      const parsed = JSON.parse(text) as Original
      if (typeof parsed.existed === 'boolean' && (parsed.config === undefined || typeof parsed.config === 'string')) return parsed
    } catch {
      // fall through to the error below
    }
    throw new XccError(`ConfigMap ${where}: annotation ${ORIGINAL_ANNOTATION} is not what xcc wrote`, {hint: 'run again with --force to take the ConfigMap as it is now as the state to restore'})
  }
  return cm ? {existed: true, ...(cm.data?.[CONFIG_KEY] !== undefined ? {config: cm.data[CONFIG_KEY]} : {})} : {existed: false}
}

function parsed(text: string | undefined, flags: AgentFlags, what: string) {
  const result = parseAgentConfig(text, flags)
  const errors = result.ok ? validateAgentConfig(result.config, flags) : [result.error]
  if (!result.ok || errors.length > 0) {
    throw new XccError(`ConfigMap ${where} key "${CONFIG_KEY}" (${what}) is invalid: ${errors.join('; ')}`, {hint: 'the agent ignores it and keeps its previous config (SNAT-04); fix it first: kubectl -n kube-system edit configmap ip-masq-agent'})
  }
  return result
}

/** the original list with every managed range cut out of it, block by block in list order */
function listWithout(originalList: readonly string[], managed: readonly Cidr[]): string[] {
  return originalList.flatMap((entry) => (entry.includes(':') ? [entry] : subtractCidrs(cidr(entry), managed).map(formatCidr)))
}

const LIST_KEY = 'nonMasqueradeCIDRs'

/** the config text: the current fields (their order and spelling), the list replaced or removed */
function renderConfig(fields: Readonly<Record<string, unknown>>, list: readonly string[] | undefined, json: boolean): string {
  const out: Record<string, unknown> = {}
  const listKey = Object.keys(fields).find((k) => k.toLowerCase() === LIST_KEY.toLowerCase())
  if (list !== undefined && listKey === undefined) out[LIST_KEY] = [...list]
  for (const [key, value] of Object.entries(fields)) {
    if (key === listKey) {
      if (list !== undefined) out[key] = [...list]
    } else out[key] = value
  }
  return json ? `${JSON.stringify(out, null, 2)}\n` : dump(out, {schema: AGENT_YAML, lineWidth: -1, noRefs: true})
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

interface EditInput {
  readonly configMap?: KubeConfigMap
  readonly flags: AgentFlags
  /** --force: take the ConfigMap as it is now as the state to restore */
  readonly force: boolean
}

/** the list and config text xcc wants for `managed`, checked against what the agent accepts */
function desired(input: EditInput, original: Original, managed: readonly string[]): {text: string | undefined; list: readonly string[]} {
  const cm = input.configMap
  const before = parsed(original.config, input.flags, 'before xcc changed it')
  const current = parsed(cm?.data?.[CONFIG_KEY], input.flags, 'now')
  const originalHasList = Object.keys(before.fields).some((k) => k.toLowerCase() === LIST_KEY.toLowerCase())
  const json = (cm?.data?.[CONFIG_KEY] ?? original.config ?? '').trimStart().startsWith('{')
  if (managed.length === 0) {
    // everything xcc did is undone: the original text when nothing else changed meanwhile
    const text = renderConfig(current.fields, originalHasList ? before.config.nonMasqueradeCIDRs : undefined, json)
    const restored = original.config !== undefined && JSON.stringify(parsed(text, input.flags, 'restored').fields) === JSON.stringify(before.fields) ? original.config : text
    return {text: original.config === undefined && Object.keys(current.fields).length === 0 ? undefined : restored, list: before.config.nonMasqueradeCIDRs}
  }
  const list = listWithout(before.config.nonMasqueradeCIDRs, managed.map((m) => cidr(m)))
  const text = renderConfig(current.fields, list, json)
  assertAgentAccepts(text, input.flags, `masquerading ${managed.join(',')} splits the listed blocks into ${list.length} ranges; raise cidrLimit in the config, or give wider ranges`)
  return {text, list}
}

/** SNAT-04: a config the agent would reject is never written (`cidrLimitHint` when it is too long) */
function assertAgentAccepts(text: string, flags: AgentFlags, cidrLimitHint?: string): void {
  const check = parseAgentConfig(text, flags)
  const errors = check.ok ? validateAgentConfig(check.config, flags) : [check.error]
  if (errors.length === 0) return
  throw new XccError(`the ip-masq-agent would reject the new config of ${where}, so xcc does not write it (SNAT-04): ${errors.join('; ')}`, {
    hint: /cidrLimit/.test(errors.join()) ? cidrLimitHint : undefined,
  })
}

function managedMeta(cm: KubeConfigMap | undefined, original: Original, managed: readonly string[]): KubeConfigMap['metadata'] {
  const annotations: Record<string, string> = {...(cm?.metadata.annotations ?? {})}
  delete annotations[CIDRS_ANNOTATION]
  delete annotations[ORIGINAL_ANNOTATION]
  if (managed.length > 0) {
    annotations[CIDRS_ANNOTATION] = managed.join(',')
    annotations[ORIGINAL_ANNOTATION] = JSON.stringify(original)
  }
  const labels = cm ? cm.metadata.labels : {[MANAGED_BY_LABEL]: MANAGED_BY}
  const {annotations: _old, ...rest} = cm?.metadata ?? {name: CONFIG_MAP_NAME}
  return {
    ...rest,
    name: CONFIG_MAP_NAME,
    namespace: CONFIG_MAP_NAMESPACE,
    ...(labels && Object.keys(labels).length > 0 ? {labels} : {}),
    ...(Object.keys(annotations).length > 0 ? {annotations} : {}),
  }
}

function edit(input: EditInput, original: Original, managed: readonly string[], alreadyMasqueraded: readonly string[]): AgentEdit {
  const cm = input.configMap
  const {text} = desired(input, original, managed)
  const before = cm ? {before: cm} : {}
  if (managed.length === 0 && !original.existed) {
    return {...before, changed: cm !== undefined, cidrs: [], alreadyMasqueraded}
  }
  const meta = managedMeta(cm, original, managed)
  const data: Record<string, string> = {...(cm?.data ?? {})}
  if (text === undefined) delete data[CONFIG_KEY]
  else data[CONFIG_KEY] = text
  if (managed.length === 0 && original.config === undefined) delete data[CONFIG_KEY]
  const after: KubeConfigMap = {apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, ...(Object.keys(data).length > 0 || cm?.data ? {data} : {})}
  const changed = !cm || cm.data?.[CONFIG_KEY] !== data[CONFIG_KEY] || JSON.stringify(cm.metadata.annotations ?? {}) !== JSON.stringify(meta.annotations ?? {})
  return {...before, after, changed, cidrs: managed, alreadyMasqueraded}
}

/** refuses to build on a list someone edited since xcc wrote it (unless --force) */
function checkNotEdited(input: EditInput, original: Original, managed: readonly string[]): void {
  if (input.force || managed.length === 0 || !input.configMap) return
  const {list} = desired({...input}, original, managed)
  const now = parsed(input.configMap.data?.[CONFIG_KEY], input.flags, 'now').config.nonMasqueradeCIDRs
  if (!sameList(list, now)) {
    throw new XccError(`ConfigMap ${where}: nonMasqueradeCIDRs was edited after xcc masqueraded ${managed.join(',')}, so xcc cannot tell which entries to restore`, {
      hint: 'run again with --force to take the list as it is now as the base (add: the ranges xcc masquerades are cut out of it; remove: the removed ranges are given back to it)',
    })
  }
}

export function planAgentAdd(input: EditInput, add: readonly Cidr[]): AgentEdit {
  const original = originalOf(input.configMap, input.force)
  const managed = input.force ? [] : configMapCidrs(input.configMap)
  checkNotEdited(input, original, managed)
  const base = parsed(original.config, input.flags, 'before xcc changed it').config
  // SNAT-06: what the agent keeps unmasqueraded (link-local first unless masqLinkLocal)
  const listed = nonMasqueradeRanges(base)
  const next = [...managed]
  const already: string[] = []
  for (const c of add) {
    const text = formatCidr(c)
    if (!base.masqLinkLocal && cidrsOverlap(c, LINK_LOCAL)) throw new XccError(`--cidr ${text}: link-local destinations are never masqueraded while the config has masqLinkLocal: false (SNAT-06)`, {hint: `set masqLinkLocal: true in ${where} if you really mean it`})
    if (next.includes(text)) continue
    // SNAT-06: a destination no listed block holds is masqueraded by the agent already
    if (!listed.some((l) => cidrsOverlap(l, c))) already.push(text)
    else next.push(text)
  }
  return edit(input, original, next, already)
}

export function planAgentRemove(input: EditInput, remove: readonly Cidr[] | 'all'): AgentEdit {
  const original = originalOf(input.configMap, false)
  const managed = configMapCidrs(input.configMap)
  if (remove !== 'all') {
    const unknown = remove.map(formatCidr).filter((t) => !managed.includes(t))
    if (unknown.length > 0) {
      throw new XccError(`--cidr ${unknown.join(',')}: not masqueraded by xcc in ${where}${managed.length ? ` (xcc manages ${managed.join(',')})` : ' (xcc manages no ranges there)'}`, {hint: 'see them with: xcc masquerade list --context <ctx>'})
    }
  }
  if (managed.length === 0) return {...(input.configMap ? {before: input.configMap, after: input.configMap} : {}), changed: false, cidrs: [], alreadyMasqueraded: []}
  const removeText = remove === 'all' ? managed : remove.map(formatCidr)
  if (input.force && input.configMap) return forcedRemove(input.configMap, input, managed, removeText)
  checkNotEdited(input, original, managed)
  return edit(input, original, managed.filter((m) => !removeText.includes(m)), [])
}

/**
 * `remove --force` on a list edited since xcc wrote it: the list as it is now is the base, the
 * removed ranges go back into it (unless a listed block holds them already), and xcc's record of
 * what to restore becomes that list with the ranges it still manages given back too.
 */
function forcedRemove(cm: KubeConfigMap, input: EditInput, managed: readonly string[], removeText: readonly string[]): AgentEdit {
  const now = parsed(cm.data?.[CONFIG_KEY], input.flags, 'now')
  const listed = nonMasqueradeRanges(now.config)
  const back = (texts: readonly string[]): string[] => texts.filter((t) => !listed.some((l) => cidrContains(l, cidr(t))))
  const left = managed.filter((m) => !removeText.includes(m))
  const json = (cm.data?.[CONFIG_KEY] ?? '').trimStart().startsWith('{')
  const text = renderConfig(now.fields, [...now.config.nonMasqueradeCIDRs, ...back(removeText)], json)
  assertAgentAccepts(text, input.flags, 'giving the ranges back makes the list longer than cidrLimit; raise cidrLimit in the config')
  const original: Original = {existed: true, config: left.length > 0 ? renderConfig(now.fields, [...now.config.nonMasqueradeCIDRs, ...back(removeText), ...back(left)], json) : text}
  const meta = managedMeta(cm, original, left)
  const after: KubeConfigMap = {apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, data: {...(cm.data ?? {}), [CONFIG_KEY]: text}}
  const changed = cm.data?.[CONFIG_KEY] !== text || JSON.stringify(cm.metadata.annotations ?? {}) !== JSON.stringify(meta.annotations ?? {})
  return {before: cm, after, changed, cidrs: left, alreadyMasqueraded: []}
}
