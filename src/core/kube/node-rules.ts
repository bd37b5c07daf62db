/**
 * Each node's `iptables-save -t nat`, read the way `masquerade list`, the live doctor and
 * `snapshot --node-rules` need it: a short-lived host-network pod pinned to the node prints the
 * table, xcc reads its log and removes it. A stalled API leaves no pod behind, or says how to
 * remove it (issue 13): every wait is bounded — a pod's start deadline, each API call (create,
 * poll, log read), the cleanup — on the clock, whatever the adapter does; on any failure, timeout
 * or interrupt the run stops and removes the pods it created (a bounded delete), and when that
 * fails too the error names the command that removes them (the run's label selector, quoted for
 * the shell).
 */
import {InterruptedError, XccError} from '../errors.js'
import type {Clock} from '../ports/clock.js'
import type {KubeCluster, KubePod} from '../ports/kube.js'
import {shellCommand} from '../shell.js'
import {MANAGED_BY, MANAGED_BY_LABEL, ROLE_LABEL, RUN_ID_LABEL} from './labels.js'
import {type NodeLog, parseNodeLog} from './node-log.js'
import {POLL_MS, containerState, deletePodAndWait, podProblem, throwIfAborted} from './pods.js'

/** where the pods run (they need the host network and NET_ADMIN: kube-system's pod security allows it) */
export const NODE_RULES_NAMESPACE = 'kube-system'

export const nodeRulesPodName = (runId: string, index: number): string => `xcc-node-rules-${runId}-${index}`

/** `app`: the app.kubernetes.io/name label, naming the command that made the pod */
export function buildNodeRulesPod(runId: string, index: number, node: string, image: string, script: string, app = 'xcc-masquerade-list'): KubePod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: nodeRulesPodName(runId, index),
      labels: {[MANAGED_BY_LABEL]: MANAGED_BY, [RUN_ID_LABEL]: runId, [ROLE_LABEL]: 'node-rules', 'app.kubernetes.io/name': app},
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

export interface NodeRulesDeps {
  readonly cluster: KubeCluster
  readonly clock: Clock
  readonly signal: AbortSignal
  /** templates/masquerade/node-rules.sh */
  readonly script: string
  readonly progress: (text: string) => void
}

export interface NodeRulesRequest {
  /** the context, for the cleanup command */
  readonly context: string
  readonly runId: string
  readonly image: string
  /** the pods' app.kubernetes.io/name */
  readonly app?: string
  /** how long a node-reading pod may take to start and finish */
  readonly startDeadlineMs: number
  /** the longest one API call may take (a create, a poll, the log read); a stall is a failure, not a hang */
  readonly callTimeoutMs?: number
  /** how long removing a pod may take */
  readonly cleanupTimeoutMs?: number
  /** the kubeconfig given with --kubeconfig, for the cleanup command */
  readonly kubeconfig?: string
}

/** one node's table, or why it could not be read */
export interface NodeRead {
  readonly rules?: string
  readonly error?: string
}

export interface NodeRulesResult {
  /** in the order of the nodes asked for */
  readonly reads: readonly NodeRead[]
  /** pods of this run that could not be removed (`namespace/name`), and the command that removes them */
  readonly leftovers?: {readonly pods: readonly string[]; readonly why: string; readonly command: string}
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
export async function within<T>(clock: Clock, ms: number, what: string, run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
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
  return shellCommand(['kubectl', ...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), '--context', context, '-n', NODE_RULES_NAMESPACE, 'delete', 'pod', '-l', `${MANAGED_BY_LABEL}=${MANAGED_BY},${RUN_ID_LABEL}=${runId}`])
}

interface Run {
  readonly deps: NodeRulesDeps
  readonly req: NodeRulesRequest
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
    const pod = await within(clock, run.callMs, `reading pod ${NODE_RULES_NAMESPACE}/${name}`, () => cluster.getPod(NODE_RULES_NAMESPACE, name), run.signal)
    if (pod?.status?.phase === 'Succeeded' || pod?.status?.phase === 'Failed') {
      const log = await within(clock, run.callMs, `reading the log of pod ${NODE_RULES_NAMESPACE}/${name}`, () => cluster.readPodLog(NODE_RULES_NAMESPACE, name, 'rules'), run.signal)
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

async function readOne(run: Run, node: string, index: number): Promise<NodeRead> {
  const {deps, req} = run
  const pod = buildNodeRulesPod(req.runId, index, node, req.image, deps.script, req.app)
  const name = pod.metadata.name
  const deadline = deps.clock.now() + req.startDeadlineMs
  run.created.push(name)
  // not given up on at an interrupt: the cleanup must know whether it was created
  await within(deps.clock, run.callMs, `creating pod ${NODE_RULES_NAMESPACE}/${name}`, () => deps.cluster.createPod(NODE_RULES_NAMESPACE, pod))
  const result = await waitForLog(run, name, deadline)
  if ('problem' in result) return {error: `pod ${NODE_RULES_NAMESPACE}/${name}: ${result.problem}`}
  if (result.log.natRules) return {rules: result.log.natRules}
  return {error: result.log.natError ?? 'the node printed no nat table'}
}

/** removes the pods (bounded, all at once); returns those that could not be removed, and why */
async function removePods(deps: NodeRulesDeps, names: readonly string[], ms: number): Promise<{left: string[]; why: string[]}> {
  const results = await Promise.all(names.map(async (name) => {
    try {
      const gone = await within(deps.clock, ms, `deleting pod ${NODE_RULES_NAMESPACE}/${name}`, () => deletePodAndWait(deps.cluster, NODE_RULES_NAMESPACE, name, deps.clock, ms))
      return gone ? undefined : `${name} is still terminating after ${ms / 1000} s`
    } catch (error) {
      return (error as Error).message
    }
  }))
  const left = names.filter((_, i) => results[i] !== undefined)
  return {left, why: [...new Set(results.filter((r): r is string => r !== undefined))]}
}

/**
 * Reads the nat table of every node (at most 16 at a time), each pod removed as soon as it is
 * read. A node whose pod fails is an `error` in its read; an API failure or an interrupt stops the
 * run, removes its pods, and is thrown with what was left behind and the command that removes it.
 */
export async function readNodesRules(nodes: readonly string[], deps: NodeRulesDeps, req: NodeRulesRequest): Promise<NodeRulesResult> {
  const callMs = req.callTimeoutMs ?? CALL_TIMEOUT_MS
  const cleanupMs = req.cleanupTimeoutMs ?? CLEANUP_TIMEOUT_MS
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
  const reads: NodeRead[] = new Array(nodes.length)
  let next = 0
  const worker = async (): Promise<void> => {
    for (;;) {
      if (stop.signal.aborted) return
      const i = next++
      if (i >= nodes.length) return
      const node = nodes[i]!
      deps.progress(`reading the nat rules of node ${node}`)
      try {
        reads[i] = await readOne(run, node, i)
      } catch (error) {
        // the first failure is the one to report (an interrupt caused by it is not)
        if (failure === undefined && !(error instanceof InterruptedError && !deps.signal.aborted)) failure = error
        stop.abort()
        return
      }
      const podName = nodeRulesPodName(req.runId, i)
      const removal = await removePods(deps, [podName], cleanupMs)
      if (removal.left.length === 0) removed.add(podName)
      left.push(...removal.left)
      why.push(...removal.why)
    }
  }
  try {
    await Promise.all(Array.from({length: Math.min(PARALLEL, nodes.length)}, worker))
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
  const command = cleanupCommand(req.context, req.runId, req.kubeconfig)
  const leftText = left.length > 0 ? `could not remove the pods of this run: ${left.map((n) => `${NODE_RULES_NAMESPACE}/${n}`).join(', ')} (${[...new Set(why)].join('; ')})` : undefined
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
  return {
    reads,
    ...(left.length > 0 ? {leftovers: {pods: left.map((n) => `${NODE_RULES_NAMESPACE}/${n}`), why: [...new Set(why)].join('; '), command}} : {}),
  }
}
