/**
 * `xcc masquerade list`: for every node, the effective SNAT decision for each range — read from
 * the node itself (a short-lived host-network pod prints `iptables-save -t nat`, evaluated with
 * the same evaluator as the doctor, SNAT-14), not only from the config — so a node that did not
 * get the rule (drift) is visible.
 * The pods are core/kube/node-rules.ts's: bounded, and never left behind without the command
 * that removes them.
 */
export {buildNodeRulesPod, cleanupCommand, nodeRulesPodName} from '../kube/node-rules.js'
import {decideNodeSnat} from '../iptables/node-snat.js'
import {type Cidr, addIp, cidr, cidrContains, formatCidr, formatIp, lastIp, parseCidr} from '../net/ipv4.js'
import type {KubeCluster} from '../ports/kube.js'
import type {Clock} from '../ports/clock.js'
import {readNodesRules, within} from '../kube/node-rules.js'
import {configMapCidrs} from './agent-edit.js'
import {daemonSetCidrs} from './daemonset.js'
import type {MasqueradeScripts} from './scripts.js'
import {type MasqueradeState, type NodeInfo, XCC_DAEMONSET, XCC_NAMESPACE} from './state.js'

export type Decision = 'masquerade' | 'pod-ip' | 'partial' | 'unknown'

export interface CidrDecision {
  readonly cidr: string
  readonly decision: Decision
  /** the rule that decided (chain, line, text) */
  readonly rule?: {readonly chain: string; readonly line: number; readonly text: string}
  readonly detail: string
}

export interface NodeReport {
  readonly node: string
  readonly ready: boolean
  /** the pod source address evaluated (podCIDR network + 10) */
  readonly podIp?: string
  /** the xcc-masquerade pod on the node (daemonset mode) */
  readonly daemonPod?: {readonly name: string; readonly phase: string}
  /** why the node's rules could not be read */
  readonly error?: string
  readonly cidrs: readonly CidrDecision[]
}

export interface MasqueradeListing {
  readonly context: string
  /** where xcc keeps ranges: its DaemonSet, the ip-masq-agent ConfigMap, or nowhere */
  readonly managedBy: ReadonlyArray<'daemonset' | 'ip-masq-agent'>
  readonly cidrs: readonly string[]
  readonly nodes: readonly NodeReport[]
  /** a range some node does not masquerade, or a node whose rules could not be read */
  readonly drift: boolean
  /** pods of this run that could not be removed (`namespace/name`), and the command that removes them */
  readonly leftovers?: {readonly pods: readonly string[]; readonly why: string; readonly command: string}
}

/** the ranges xcc manages in the cluster, where */
export function managedRanges(state: MasqueradeState): {cidrs: string[]; managedBy: Array<'daemonset' | 'ip-masq-agent'>} {
  const fromDaemonSet = state.xccDaemonSet ? daemonSetCidrs(state.xccDaemonSet) : []
  const fromConfigMap = configMapCidrs(state.agentConfigMap)
  return {
    cidrs: [...new Set([...fromDaemonSet, ...fromConfigMap])],
    managedBy: [...(state.xccDaemonSet ? ['daemonset' as const] : []), ...(fromConfigMap.length ? ['ip-masq-agent' as const] : [])],
  }
}

/**
 * The addresses a range is probed at: its first and last host, and the first address of every
 * block a `-d` match of the table cuts out of it (and the one after it), so a RETURN for a block
 * strictly inside the range shows as `partial`. Every decision boundary of the table inside
 * the range is one of these addresses.
 */
function probeAddresses(c: Cidr, natRules: string): number[] {
  if (c.prefix >= 31) return [c.base]
  const out = new Set<number>([addIp(c.base, 1), lastIp(c) - 1])
  for (const m of natRules.matchAll(/-d\s+(\d+\.\d+\.\d+\.\d+(?:\/\d+)?)/g)) {
    const parsed = parseCidr(m[1] as string, {allowBareIp: true})
    if (!parsed.ok || !cidrContains(c, parsed.cidr) || parsed.cidr.prefix === c.prefix) continue
    out.add(Math.max(parsed.cidr.base, addIp(c.base, 1)))
    if (lastIp(parsed.cidr) < lastIp(c)) out.add(lastIp(parsed.cidr) + 1)
    if (out.size >= 256) break
  }
  return [...out].sort((a, b) => a - b)
}

/** the decision of one node for one range, from its nat table */
export function evaluateRange(node: NodeInfo, natRules: string, range: Cidr): CidrDecision {
  const text = formatCidr(range)
  if (!node.podCidr) return {cidr: text, decision: 'unknown', detail: 'the node has no podCIDR, so there is no pod address to evaluate'}
  const src = addIp(node.podCidr.base, 10)
  const results = probeAddresses(range, natRules).map((dst) => ({dst, d: decideNodeSnat({
    natRules, source: `node/${node.name} iptables-save -t nat`, addresses: node.internalIp !== undefined ? [node.internalIp] : [], podCidr: node.podCidr!, uplink: 'eth0',
    packet: {src, dst, protocol: 'tcp', srcPort: 40000, dstPort: 80},
  })}))
  const view = (r: {chain: string; line: number; text: string}) => ({chain: r.chain, line: r.line, text: r.text})
  const kinds = new Set(results.map((r) => r.d.kind))
  const first = results[0]!.d
  if (kinds.size === 1 && first.kind === 'masquerade') return {cidr: text, decision: 'masquerade', rule: view(first.rule), detail: `masqueraded to the node address by ${first.rule.chain} rule ${first.rule.index}`}
  if (kinds.size === 1 && first.kind === 'kept') {
    const why = first.decisive ? `${first.decisive.rule.chain} rule ${first.decisive.rule.index} ${first.decisive.how === 'return' ? `returns for ${first.decisive.range}` : `masquerades only outside ${first.decisive.range}`}` : 'no rule masquerades it'
    return {cidr: text, decision: 'pod-ip', ...(first.decisive ? {rule: view(first.decisive.rule)} : {}), detail: `leaves with the pod address: ${why}`}
  }
  if (kinds.has('masquerade') && kinds.has('kept')) {
    const masq = results.filter((r) => r.d.kind === 'masquerade').map((r) => formatIp(r.dst))
    const kept = results.filter((r) => r.d.kind === 'kept').map((r) => formatIp(r.dst))
    return {cidr: text, decision: 'partial', detail: `only part of the range is masqueraded (${masq.join(', ')} ${masq.length > 1 ? 'are' : 'is'}; ${kept.join(', ')} ${kept.length > 1 ? 'keep' : 'keeps'} the pod address)`}
  }
  const odd = results.find((r) => r.d.kind !== 'masquerade' && r.d.kind !== 'kept')!.d
  const detail = odd.kind === 'unknown' ? `rule ${odd.rule.chain} line ${odd.rule.line} is not understood (${odd.reason})`
    : odd.kind === 'unparsable' ? `the nat table does not parse (line ${odd.line}: ${odd.message})`
      : odd.kind === 'dropped' ? `the node drops the packet in ${odd.hook}` : 'the range holds an address of the node itself'
  return {cidr: text, decision: 'unknown', detail}
}

export interface ListDeps {
  readonly cluster: KubeCluster
  readonly clock: Clock
  readonly signal: AbortSignal
  readonly scripts: MasqueradeScripts
  readonly progress: (text: string) => void
}

export interface ListRequest {
  readonly runId: string
  readonly image: string
  /** extra ranges to evaluate besides the managed ones */
  readonly extra: readonly Cidr[]
  /** how long a node-reading pod may take to start and finish */
  readonly startDeadlineMs: number
  /** the longest one API call may take (a create, a poll, the log read); a stall is a failure, not a hang */
  readonly callTimeoutMs?: number
  /** how long removing a pod may take */
  readonly cleanupTimeoutMs?: number
  /** the kubeconfig given with --kubeconfig, for the cleanup command */
  readonly kubeconfig?: string
}

const CALL_TIMEOUT_MS = 20_000

export async function listMasquerade(state: MasqueradeState, deps: ListDeps, req: ListRequest): Promise<MasqueradeListing> {
  const {cidrs: managed, managedBy} = managedRanges(state)
  const ranges = managed.map((m) => cidr(m))
  for (const e of req.extra) if (!ranges.some((r) => r.base === e.base && r.prefix === e.prefix)) ranges.push(e)
  const callMs = req.callTimeoutMs ?? CALL_TIMEOUT_MS
  const daemonPods = state.xccDaemonSet ? await within(deps.clock, callMs, `listing the ${XCC_DAEMONSET} pods`, () => deps.cluster.listPods(XCC_NAMESPACE, `app.kubernetes.io/name=${XCC_DAEMONSET}`), deps.signal) : []
  // without a range there is nothing to evaluate, so no node is read
  const {reads, leftovers} = await readNodesRules(ranges.length > 0 ? state.nodes.map((n) => n.name) : [], {...deps, script: deps.scripts.nodeRules}, {
    context: state.context, runId: req.runId, image: req.image, startDeadlineMs: req.startDeadlineMs,
    ...(req.callTimeoutMs !== undefined ? {callTimeoutMs: req.callTimeoutMs} : {}), ...(req.cleanupTimeoutMs !== undefined ? {cleanupTimeoutMs: req.cleanupTimeoutMs} : {}),
    ...(req.kubeconfig !== undefined ? {kubeconfig: req.kubeconfig} : {}),
  })
  const reports: NodeReport[] = state.nodes.map((node, i) => {
    const read = reads[i] ?? {}
    const pod = daemonPods.find((p) => p.spec.nodeName === node.name && !p.metadata.deletionTimestamp)
    return {
      node: node.name,
      ready: node.ready,
      ...(node.podCidr ? {podIp: formatIp(addIp(node.podCidr.base, 10))} : {}),
      ...(pod ? {daemonPod: {name: pod.metadata.name, phase: pod.status?.phase ?? 'Pending'}} : {}),
      ...(read.error ? {error: read.error} : {}),
      cidrs: read.rules ? ranges.map((r) => evaluateRange(node, read.rules!, r)) : ranges.map((r) => ({cidr: formatCidr(r), decision: 'unknown' as const, detail: read.error ?? 'not read'})),
    }
  })
  const drift = reports.some((n) => n.error !== undefined || n.cidrs.some((c) => managed.includes(c.cidr) && c.decision !== 'masquerade'))
  return {context: state.context, managedBy, cidrs: ranges.map(formatCidr), nodes: reports, drift, ...(leftovers ? {leftovers} : {})}
}
