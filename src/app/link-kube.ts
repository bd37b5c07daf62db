/**
 * The Kubernetes side of `xcc link create|delete`: the masquerade steps run through `xcc
 * masquerade`'s own use case, and what the link itself added is recorded in a ConfigMap of the
 * client cluster (`kube-system/xcc-link-<link>`, labelled app.kubernetes.io/managed-by=xcc and
 * xcc.dev/link=<link>). The record is written before the ranges are added, so an interrupted
 * create still knows them; delete removes exactly the recorded ranges that xcc still masquerades
 * (a range the user had before the link is never recorded, so it stays), then the record.
 *
 * A Service annotation the link sets (GKE's internal load balancer reused from another region:
 * `networking.gke.io/internal-load-balancer-allow-global-access`, ILB-03) is recorded the same way
 * in the Service's cluster, with the value it had before (none: null), before the Service is
 * patched; delete puts that value back, unless someone changed the annotation since.
 */
import {XccError} from '../core/errors.js'
import {formatCidr} from '../core/net/ipv4.js'
import {configMapCidrs} from '../core/masquerade/agent-edit.js'
import {parseMasqueradeCidrs} from '../core/masquerade/cidrs.js'
import {daemonSetCidrs} from '../core/masquerade/daemonset.js'
import {loadMasqueradeState} from '../core/masquerade/state.js'
import type {KubeCluster, KubeConfigMap} from '../core/ports/kube.js'
import {openKube} from './deps.js'
import {runMasqueradeAdd, runMasqueradeRemove} from './masquerade.js'

export const RECORD_NAMESPACE = 'kube-system'
export const recordName = (link: string): string => `xcc-link-${link}`
const MASQUERADE_KEY = 'masquerade-cidrs'
const ANNOTATIONS_KEY = 'service-annotations'

/** an annotation the link set on a Service: what it set, and what was there before (null: nothing) */
export interface AnnotationRecord {
  readonly namespace: string
  readonly service: string
  readonly key: string
  readonly value: string
  readonly previous: string | null
}

export interface LinkRecord {
  readonly context: string
  readonly cluster: KubeCluster
  readonly configMap: KubeConfigMap
  /** the ranges the link added to xcc masquerade there */
  readonly masquerade: readonly string[]
  /** the Service annotations the link set there */
  readonly annotations: readonly AnnotationRecord[]
}

const split = (text: string | undefined): string[] => (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)

export async function readRecord(kubeconfig: string | undefined, context: string, link: string): Promise<LinkRecord | undefined> {
  return readRecordIn((await openKube(kubeconfig)).open(context), context, link)
}

export async function readRecordIn(cluster: KubeCluster, context: string, link: string): Promise<LinkRecord | undefined> {
  const configMap = await cluster.getConfigMap(RECORD_NAMESPACE, recordName(link))
  if (!configMap || configMap.metadata.labels?.['xcc.dev/link'] !== link) return undefined
  return {context, cluster, configMap, masquerade: split(configMap.data?.[MASQUERADE_KEY]), annotations: parseAnnotations(configMap.data?.[ANNOTATIONS_KEY])}
}

function parseAnnotations(text: string | undefined): AnnotationRecord[] {
  if (!text) return []
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return []
  }
  const str = (v: unknown): v is string => typeof v === 'string'
  return (Array.isArray(parsed) ? parsed : []).filter((a): a is AnnotationRecord => {
    const r = a as Partial<AnnotationRecord> | null
    return !!r && str(r.namespace) && str(r.service) && str(r.key) && str(r.value) && (r.previous === null || str(r.previous))
  })
}

async function writeRecord(cluster: KubeCluster, link: string, before: KubeConfigMap | undefined, masquerade: readonly string[], annotations: readonly AnnotationRecord[] = []): Promise<void> {
  const body: KubeConfigMap = {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: {
      name: recordName(link), namespace: RECORD_NAMESPACE,
      labels: {'app.kubernetes.io/managed-by': 'xcc', 'xcc.dev/link': link},
      ...(before?.metadata.resourceVersion ? {resourceVersion: before.metadata.resourceVersion} : {}),
    },
    data: {[MASQUERADE_KEY]: masquerade.join(','), ...(annotations.length > 0 ? {[ANNOTATIONS_KEY]: JSON.stringify(annotations)} : {})},
  }
  if (before) await cluster.replaceConfigMap(RECORD_NAMESPACE, body)
  else await cluster.createConfigMap(RECORD_NAMESPACE, body)
}

/**
 * `xcc masquerade add --context <context> --cidr <cidrs>` for the link, the ranges xcc did not
 * masquerade there before recorded first. Returns the ranges the link added (and recorded).
 */
export async function addLinkMasquerade(options: {kubeconfig?: string; context: string; link: string; cidrs: readonly string[]; timeout: string}): Promise<string[]> {
  const wanted = parseMasqueradeCidrs([...options.cidrs]).map(formatCidr)
  const cluster = (await openKube(options.kubeconfig)).open(options.context)
  const state = await loadMasqueradeState(cluster)
  const managed = [...(state.xccDaemonSet ? daemonSetCidrs(state.xccDaemonSet) : []), ...configMapCidrs(state.agentConfigMap)]
  const record = await readRecord(options.kubeconfig, options.context, options.link)
  const mine = [...(record?.masquerade ?? [])]
  for (const c of wanted) if (!managed.includes(c) && !mine.includes(c)) mine.push(c)
  if (!record || mine.length !== record.masquerade.length) await writeRecord(cluster, options.link, record?.configMap, mine, record?.annotations)
  await runMasqueradeAdd({context: options.context, ...(options.kubeconfig ? {kubeconfig: options.kubeconfig} : {}), dryRun: false, timeout: options.timeout, cidr: wanted, mode: 'auto', force: false})
  return mine
}

/**
 * Sets the annotation on the Service (a merge patch of metadata.annotations), the value it had
 * before recorded first; a re-run keeps the first record's previous value. Returns what was there.
 */
export async function annotateLinkService(options: {kubeconfig?: string; context: string; link: string; namespace: string; service: string; key: string; value: string}): Promise<{previous: string | null; changed: boolean}> {
  return annotateServiceIn((await openKube(options.kubeconfig)).open(options.context), options)
}

export async function annotateServiceIn(cluster: KubeCluster, options: {context: string; link: string; namespace: string; service: string; key: string; value: string}): Promise<{previous: string | null; changed: boolean}> {
  const service = await cluster.getService(options.namespace, options.service)
  if (!service) throw new XccError(`Service ${options.namespace}/${options.service} is not in ${options.context} any more: cannot annotate it`, {exitCode: 3, hint: 'plan the link again'})
  const current = service.metadata.annotations?.[options.key] ?? null
  const record = await readRecordIn(cluster, options.context, options.link)
  const known = record?.annotations.find((a) => a.namespace === options.namespace && a.service === options.service && a.key === options.key)
  if (current === options.value) return {previous: known ? known.previous : current, changed: false}
  const entry: AnnotationRecord = {namespace: options.namespace, service: options.service, key: options.key, value: options.value, previous: known ? known.previous : current}
  if (!known) await writeRecord(cluster, options.link, record?.configMap, record?.masquerade ?? [], [...(record?.annotations ?? []), entry])
  await cluster.annotateService(options.namespace, options.service, {[options.key]: options.value})
  return {previous: entry.previous, changed: true}
}

/** what delete did to a recorded annotation */
export interface AnnotationUndo extends AnnotationRecord {
  /** restored: put back as it was; kept: someone changed it since (or the Service is gone), left alone */
  readonly result: 'restored' | 'kept'
}

export async function undoAnnotations(record: LinkRecord): Promise<AnnotationUndo[]> {
  const out: AnnotationUndo[] = []
  for (const a of record.annotations) {
    const service = await record.cluster.getService(a.namespace, a.service)
    const now = service?.metadata.annotations?.[a.key] ?? null
    if (!service || now !== a.value) {
      out.push({...a, result: 'kept'})
      continue
    }
    await record.cluster.annotateService(a.namespace, a.service, {[a.key]: a.previous})
    out.push({...a, result: 'restored'})
  }
  return out
}

/** undoes what the record says the link added (only ranges xcc still masquerades), then removes the record */
export async function removeLinkKube(record: LinkRecord, options: {kubeconfig?: string; timeout: string}): Promise<{cidrs: string[]; annotations: AnnotationUndo[]}> {
  const annotations = await undoAnnotations(record)
  if (record.masquerade.length === 0) {
    await record.cluster.deleteConfigMap(RECORD_NAMESPACE, record.configMap.metadata.name)
    return {cidrs: [], annotations}
  }
  const state = await loadMasqueradeState(record.cluster)
  const managed = [...(state.xccDaemonSet ? daemonSetCidrs(state.xccDaemonSet) : []), ...configMapCidrs(state.agentConfigMap)]
  const remove = record.masquerade.filter((c) => managed.includes(c))
  if (remove.length > 0) {
    await runMasqueradeRemove({context: record.context, ...(options.kubeconfig ? {kubeconfig: options.kubeconfig} : {}), dryRun: false, timeout: options.timeout, cidr: remove, all: false, force: false})
  }
  await record.cluster.deleteConfigMap(RECORD_NAMESPACE, recordName(record.configMap.metadata.labels?.['xcc.dev/link'] ?? ''))
  return {cidrs: remove, annotations}
}
