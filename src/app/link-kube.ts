/**
 * The Kubernetes side of `xcc link create|delete`: the masquerade steps run through `xcc
 * masquerade`'s own use case, and what the link itself added is recorded in a ConfigMap of the
 * client cluster (`kube-system/xcc-link-<link>`, labelled app.kubernetes.io/managed-by=xcc and
 * xcc.dev/link=<link>). The record is written before the ranges are added, so an interrupted
 * create still knows them; delete removes exactly the recorded ranges that xcc still masquerades
 * (a range the user had before the link is never recorded, so it stays), then the record.
 */
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

export interface LinkRecord {
  readonly context: string
  readonly cluster: KubeCluster
  readonly configMap: KubeConfigMap
  /** the ranges the link added to xcc masquerade there */
  readonly masquerade: readonly string[]
}

const split = (text: string | undefined): string[] => (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)

export async function readRecord(kubeconfig: string | undefined, context: string, link: string): Promise<LinkRecord | undefined> {
  const cluster = (await openKube(kubeconfig)).open(context)
  const configMap = await cluster.getConfigMap(RECORD_NAMESPACE, recordName(link))
  if (!configMap || configMap.metadata.labels?.['xcc.dev/link'] !== link) return undefined
  return {context, cluster, configMap, masquerade: split(configMap.data?.[MASQUERADE_KEY])}
}

async function writeRecord(cluster: KubeCluster, link: string, before: KubeConfigMap | undefined, masquerade: readonly string[]): Promise<void> {
  const body: KubeConfigMap = {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: {
      name: recordName(link), namespace: RECORD_NAMESPACE,
      labels: {'app.kubernetes.io/managed-by': 'xcc', 'xcc.dev/link': link},
      ...(before?.metadata.resourceVersion ? {resourceVersion: before.metadata.resourceVersion} : {}),
    },
    data: {[MASQUERADE_KEY]: masquerade.join(',')},
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
  if (!record || mine.length !== record.masquerade.length) await writeRecord(cluster, options.link, record?.configMap, mine)
  await runMasqueradeAdd({context: options.context, ...(options.kubeconfig ? {kubeconfig: options.kubeconfig} : {}), dryRun: false, timeout: options.timeout, cidr: wanted, mode: 'auto', force: false})
  return mine
}

/** undoes what the record says the link added (only ranges xcc still masquerades), then removes the record */
export async function removeLinkKube(record: LinkRecord, options: {kubeconfig?: string; timeout: string}): Promise<string[]> {
  const state = await loadMasqueradeState(record.cluster)
  const managed = [...(state.xccDaemonSet ? daemonSetCidrs(state.xccDaemonSet) : []), ...configMapCidrs(state.agentConfigMap)]
  const remove = record.masquerade.filter((c) => managed.includes(c))
  if (remove.length > 0) {
    await runMasqueradeRemove({context: record.context, ...(options.kubeconfig ? {kubeconfig: options.kubeconfig} : {}), dryRun: false, timeout: options.timeout, cidr: remove, all: false, force: false})
  }
  await record.cluster.deleteConfigMap(RECORD_NAMESPACE, recordName(record.configMap.metadata.labels?.['xcc.dev/link'] ?? ''))
  return remove
}
