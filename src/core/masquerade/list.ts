/**
 * `xcc masquerade list`: for every node, the effective SNAT decision for each range — read from
 * the node itself (a short-lived host-network pod prints `iptables-save -t nat`, evaluated with
 * the same evaluator as the doctor, SNAT-14), not only from the config — so a node that did not
 * get the rule (drift) is visible.
 *
 * A stalled API leaves no pod behind, or says how to remove it (issue 13): every wait is bounded
 * — a pod's start deadline, each API call (create, poll, log read), the cleanup — on the clock,
 * whatever the adapter does; on any failure, timeout or interrupt the run stops and removes the
 * pods it created (a bounded delete), and when that fails too the error names the command that
 * removes them (the run's label selector, quoted for the shell).
 */
import {decideNodeSnat} from '../iptables/node-snat.js'
import {type Cidr, addIp, cidr, cidrContains, formatCidr, formatIp, lastIp, parseCidr} from '../net/ipv4.js'
import {InterruptedError, XccError} from '../errors.js'
import type {KubeCluster, KubePod} from '../ports/kube.js'
import type {Clock} from '../ports/clock.js'
import {type NodeLog, parseNodeLog} from '../kube/node-log.js'
import {MANAGED_BY, MANAGED_BY_LABEL, ROLE_LABEL, RUN_ID_LABEL} from '../kube/labels.js'
import {POLL_MS, containerState, deletePodAndWait, podProblem, throwIfAborted} from '../kube/pods.js'
import {shellCommand} from '../shell.js'
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

export const nodeRulesPodName = (runId: string, index: number): string => `xcc-node-rules-${runId}-${index}`

export function buildNodeRulesPod(runId: string, index: number, node: string, image: string, script: string): KubePod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: nodeRulesPodName(runId, index),
      labels: {[MANAGED_BY_LABEL]: MANAGED_BY, [RUN_ID_LABEL]: runId, [ROLE_LABEL]: 'node-rules', 'app.kubernetes.io/name': 'xcc-masquerade-list'},
      annotations: {'xcc.dev/node': node},
    },
    spec: {
      nodeName: node,
      hostNetwork: true,
      restartPolicy: 'Never',
      activeDeadlineSeconds: 120,
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      tolerations: [{operator: 'Exists'}],
      containers: [{
        name: 'rules',
        image,
        command: ['sh', '-c', script, 'xcc-node-rules'],
        securityContext: {capabilities: {add: ['NET_ADMIN']}, allowPrivilegeEscalation: false},
        resources: {requests: {cpu: '5m', memory: '16Mi'}, limits: {memory: '64Mi'}},
      }],
    },
  }
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

const PARALLEL = 16
const CALL_TIMEOUT_MS = 20_000
const CLEANUP_TIMEOUT_MS = 15_000

/** the API did not answer a call in time */
function stalled(ms: number, what: string): XccError {
  return new XccError(`the API server did not answer within ${ms / 1000} s while ${what}`, {exitCode: 3})
}

/**
 * `run()`, bounded by `ms` on the clock and, when `signal` is given, by it too (InterruptedError).
 * A call given up on is left to finish or fail on its own: nothing waits for it any more.
 */
async function within<T>(clock: Clock, ms: number, what: string, run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const settled = new AbortController()
  let onAbort = (): void => {}
  const timeout = clock.sleep(ms, settled.signal).then((): never => {
    if (!settled.signal.aborted) throw stalled(ms, what)
    return undefined as never
  })
  const interrupted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new InterruptedError())
    if (signal?.aborted) onAbort()
    else signal?.addEventListener('abort', onAbort, {once: true})
  })
  try {
    return await Promise.race([run(), timeout, interrupted])
  } finally {
    settled.abort()
    signal?.removeEventListener('abort', onAbort)
  }
}

/** the command that removes every pod of the run, quoted for the shell */
export function cleanupCommand(context: string, runId: string, kubeconfig?: string): string {
  return shellCommand(['kubectl', ...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), '--context', context, '-n', XCC_NAMESPACE, 'delete', 'pod', '-l', `${MANAGED_BY_LABEL}=${MANAGED_BY},${RUN_ID_LABEL}=${runId}`])
}

interface Run {
  readonly deps: ListDeps
  readonly req: ListRequest
  /** the user's Ctrl-C, or another node's failure: stop waiting */
  readonly signal: AbortSignal
  readonly callMs: number
  /** pods whose create was sent (it may have been carried out even when its answer was lost) */
  readonly created: string[]
}

/** polls the pod until it ends (then its log), has a problem, or the start deadline passes */
async function waitForLog(run: Run, name: string, deadline: number): Promise<{log: NodeLog} | {problem: string}> {
  const {cluster, clock} = run.deps
  for (;;) {
    throwIfAborted(run.signal)
    const pod = await within(clock, run.callMs, `reading pod ${XCC_NAMESPACE}/${name}`, () => cluster.getPod(XCC_NAMESPACE, name), run.signal)
    if (pod?.status?.phase === 'Succeeded' || pod?.status?.phase === 'Failed') {
      const log = await within(clock, run.callMs, `reading the log of pod ${XCC_NAMESPACE}/${name}`, () => cluster.readPodLog(XCC_NAMESPACE, name, 'rules'), run.signal)
      return {log: parseNodeLog(log)}
    }
    const problem = podProblem(pod, 'rules')
    if (problem) return {problem}
    if (clock.now() >= deadline) {
      const waiting = containerState(pod, 'rules')?.waiting
      return {problem: `not ready in time (phase ${pod?.status?.phase ?? 'unknown'}${waiting?.reason ? `, ${waiting.reason}` : ''})`}
    }
    await clock.sleep(POLL_MS, run.signal)
  }
}

async function readNodeRules(run: Run, node: NodeInfo, index: number): Promise<{rules?: string; error?: string}> {
  const {deps, req} = run
  const pod = buildNodeRulesPod(req.runId, index, node.name, req.image, deps.scripts.nodeRules)
  const name = pod.metadata.name
  const deadline = deps.clock.now() + req.startDeadlineMs
  run.created.push(name)
  // not given up on at an interrupt: the cleanup must know whether it was created
  await within(deps.clock, run.callMs, `creating pod ${XCC_NAMESPACE}/${name}`, () => deps.cluster.createPod(XCC_NAMESPACE, pod))
  const result = await waitForLog(run, name, deadline)
  if ('problem' in result) return {error: `pod ${XCC_NAMESPACE}/${name}: ${result.problem}`}
  if (result.log.natRules) return {rules: result.log.natRules}
  return {error: result.log.natError ?? 'the node printed no nat table'}
}

/** removes the pods (bounded, all at once); returns those that could not be removed, and why */
async function removePods(deps: ListDeps, names: readonly string[], ms: number): Promise<{left: string[]; why: string[]}> {
  const results = await Promise.all(names.map(async (name) => {
    try {
      const gone = await within(deps.clock, ms, `deleting pod ${XCC_NAMESPACE}/${name}`, () => deletePodAndWait(deps.cluster, XCC_NAMESPACE, name, deps.clock, ms))
      return gone ? undefined : `${name} is still terminating after ${ms / 1000} s`
    } catch (error) {
      return (error as Error).message
    }
  }))
  const left = names.filter((_, i) => results[i] !== undefined)
  return {left, why: [...new Set(results.filter((r): r is string => r !== undefined))]}
}

export async function listMasquerade(state: MasqueradeState, deps: ListDeps, req: ListRequest): Promise<MasqueradeListing> {
  const {cidrs: managed, managedBy} = managedRanges(state)
  const ranges = managed.map((m) => cidr(m))
  for (const e of req.extra) if (!ranges.some((r) => r.base === e.base && r.prefix === e.prefix)) ranges.push(e)
  const callMs = req.callTimeoutMs ?? CALL_TIMEOUT_MS
  const cleanupMs = req.cleanupTimeoutMs ?? CLEANUP_TIMEOUT_MS
  const daemonPods = state.xccDaemonSet ? await within(deps.clock, callMs, `listing the ${XCC_DAEMONSET} pods`, () => deps.cluster.listPods(XCC_NAMESPACE, `app.kubernetes.io/name=${XCC_DAEMONSET}`), deps.signal) : []
  // one node's failure stops the others too
  const stop = new AbortController()
  const onInterrupt = (): void => stop.abort()
  deps.signal.addEventListener('abort', onInterrupt, {once: true})
  if (deps.signal.aborted) stop.abort()
  const run: Run = {deps, req, signal: stop.signal, callMs, created: []}
  const removed = new Set<string>()
  const left: string[] = []
  const why: string[] = []
  let failure: unknown
  const reports: NodeReport[] = new Array(state.nodes.length)
  let next = 0
  const worker = async (): Promise<void> => {
    for (;;) {
      if (stop.signal.aborted) return
      const i = next++
      if (i >= state.nodes.length) return
      const node = state.nodes[i]!
      deps.progress(`reading the nat rules of node ${node.name}`)
      let read: {rules?: string; error?: string}
      try {
        read = ranges.length > 0 ? await readNodeRules(run, node, i) : {}
      } catch (error) {
        // the first failure is the one to report (an interrupt caused by it is not)
        if (failure === undefined && !(error instanceof InterruptedError && !deps.signal.aborted)) failure = error
        stop.abort()
        return
      }
      const podName = nodeRulesPodName(req.runId, i)
      if (ranges.length > 0) {
        const removal = await removePods(deps, [podName], cleanupMs)
        if (removal.left.length === 0) removed.add(podName)
        left.push(...removal.left)
        why.push(...removal.why)
      }
      const pod = daemonPods.find((p) => p.spec.nodeName === node.name && !p.metadata.deletionTimestamp)
      reports[i] = {
        node: node.name,
        ready: node.ready,
        ...(node.podCidr ? {podIp: formatIp(addIp(node.podCidr.base, 10))} : {}),
        ...(pod ? {daemonPod: {name: pod.metadata.name, phase: pod.status?.phase ?? 'Pending'}} : {}),
        ...(read.error ? {error: read.error} : {}),
        cidrs: read.rules ? ranges.map((r) => evaluateRange(node, read.rules!, r)) : ranges.map((r) => ({cidr: formatCidr(r), decision: 'unknown' as const, detail: read.error ?? 'not read'})),
      }
    }
  }
  try {
    await Promise.all(Array.from({length: Math.min(PARALLEL, state.nodes.length)}, worker))
  } finally {
    deps.signal.removeEventListener('abort', onInterrupt)
  }
  // the pods of nodes that did not finish (failure, interrupt): removed now, all at once
  const pending = run.created.filter((n) => !removed.has(n) && !left.includes(n))
  if (pending.length > 0) {
    if (failure !== undefined) deps.progress(`removing the ${pending.length === 1 ? 'pod' : `${pending.length} pods`} of this run`)
    const removal = await removePods(deps, pending, cleanupMs)
    left.push(...removal.left)
    why.push(...removal.why)
  }
  left.sort((a, b) => a.localeCompare(b, 'en', {numeric: true}))
  const command = cleanupCommand(state.context, req.runId, req.kubeconfig)
  const leftText = left.length > 0 ? `could not remove the pods of this run: ${left.map((n) => `${XCC_NAMESPACE}/${n}`).join(', ')} (${[...new Set(why)].join('; ')})` : undefined
  const count = run.created.length
  const removedText = count === 0 ? undefined : count === 1 ? 'the pod of this run was removed' : `the ${count} pods of this run were removed`
  if (deps.signal.aborted || failure instanceof InterruptedError) {
    throw new InterruptedError(`interrupted: ${leftText ? `${leftText}; remove them with: ${command}` : removedText ?? 'no pod of this run had been created'}`)
  }
  if (failure !== undefined) {
    if (!(failure instanceof XccError)) throw failure
    const remove = `remove them with: ${command}`
    throw new XccError(failure.message, {
      exitCode: failure.exitCode,
      details: [...failure.details, ...(leftText ? [leftText] : removedText ? [removedText] : [])],
      ...(leftText ? {hint: failure.hint ? `${failure.hint}; then ${remove}` : remove} : failure.hint ? {hint: failure.hint} : {}),
    })
  }
  const drift = reports.some((n) => n.error !== undefined || n.cidrs.some((c) => managed.includes(c.cidr) && c.decision !== 'masquerade'))
  return {
    context: state.context, managedBy, cidrs: ranges.map(formatCidr), nodes: reports, drift,
    ...(left.length > 0 ? {leftovers: {pods: left.map((n) => `${XCC_NAMESPACE}/${n}`), why: [...new Set(why)].join('; '), command}} : {}),
  }
}
