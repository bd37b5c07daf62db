/**
 * The kernel's netfilter traversal for one host, first packet of a connection:
 *
 *  arriving:  raw/mangle/nat PREROUTING → routing → local:     mangle/filter/nat INPUT      → local
 *                                                  → not local: ip_forward? mangle/filter FORWARD
 *                                                               → mangle/nat POSTROUTING    → forwarded
 *  local:     routing → raw/mangle/nat OUTPUT (a changed mark or DNAT re-routes) → filter OUTPUT
 *             → mangle/nat POSTROUTING → sent (or, to a local address, back in through
 *             raw/mangle PREROUTING and mangle/filter INPUT → local)
 *
 * Marks set in one hook are seen by the next (KUBE-MARK-MASQ in nat PREROUTING, tested in
 * KUBE-POSTROUTING). Every `-m statistic` branch is carried to its own outcome; a rule xcc
 * cannot decide is followed both ways to the end of the pipeline, and makes the outcome
 * `unknown` only when the two ways end differently (branches.ts): a mark it may set that no
 * later rule or route looks at changes nothing.
 */
import type {Hook, IptPacket, NatRecord, PipelineInput, PipelineOutcome, RuleRef, TableName} from './types.js'
import {type BranchView, type PathStep, foldBranches, tupleKey} from './branches.js'
import {type BranchOutcome, MAX_OUTCOMES, evaluateHookBranches} from './evaluate.js'

type Assumption = {readonly rule: RuleRef; readonly matched: boolean}

interface Flow {
  readonly packet: IptPacket
  readonly nat: readonly NatRecord[]
  readonly hits: readonly RuleRef[]
  readonly assumptions: readonly Assumption[]
  /** the choices made so far (branches.ts) */
  readonly path: readonly PathStep[]
  /** routing delivers the packet to this host */
  readonly local: boolean
}

/** A pipeline outcome with its path of choices, before foldBranches. */
type Branch = PipelineOutcome & {readonly path: readonly PathStep[]}

const PIPELINE_BRANCHES: BranchView<Branch> = {
  path: (o) => o.path,
  resultKey: (o) => {
    const nat = 'nat' in o ? o.nat.map((n) => `${n.kind} ${tupleKey(n.after)} ${n.randomPort}`).join(',') : ''
    switch (o.kind) {
      case 'forwarded':
      case 'sent':
        return `${o.kind} ${o.outIface} ${tupleKey(o.packet)} ${nat}`
      case 'local':
        return `local ${tupleKey(o.packet)} ${nat}`
      case 'dropped':
        return `dropped ${o.verdict}`
      case 'no-route':
        return `no-route ${o.packet.dst}`
      case 'unknown':
        return undefined
    }
  },
  unknownAt: (step, sample) => {
    const knowledge = step.knowledge as NonNullable<PathStep['knowledge']>
    return {kind: 'unknown', hook: knowledge.hook, rule: step.rule, reason: knowledge.reason, packet: knowledge.packet, hits: sample.hits.slice(0, knowledge.hitCount), path: []}
  },
}

type Stage = readonly [TableName, Hook]

const PREROUTING: readonly Stage[] = [['raw', 'PREROUTING'], ['mangle', 'PREROUTING'], ['nat', 'PREROUTING']]
const PREROUTING_LOOPBACK: readonly Stage[] = [['raw', 'PREROUTING'], ['mangle', 'PREROUTING']]
const INPUT: readonly Stage[] = [['mangle', 'INPUT'], ['filter', 'INPUT'], ['nat', 'INPUT']]
const INPUT_LOOPBACK: readonly Stage[] = [['mangle', 'INPUT'], ['filter', 'INPUT']]
const FORWARD: readonly Stage[] = [['mangle', 'FORWARD'], ['filter', 'FORWARD']]
const POSTROUTING: readonly Stage[] = [['mangle', 'POSTROUTING'], ['nat', 'POSTROUTING']]

export function runPipeline(input: PipelineInput): PipelineOutcome[] {
  const done: Branch[] = []
  const start: Flow = {packet: input.packet, nat: [], hits: [], assumptions: [], path: [], local: false}
  const passed = input.origin === 'arriving' ? runArriving(input, start, done) : runLocalOrigin(input, start, done)
  return foldBranches([...passed, ...done], PIPELINE_BRANCHES).map(withoutPath)
}

function withoutPath(outcome: Branch): PipelineOutcome {
  const {path: _path, ...rest} = outcome
  return rest
}

function runArriving(input: PipelineInput, start: Flow, done: Branch[]): Branch[] {
  let flows = runStages(input, [start], PREROUTING, done).map((flow) => restoreDst(input, flow))
  flows = routeFlows(input, flows, done)
  const local = runStages(input, flows.filter((flow) => flow.local), INPUT, done)
  let forwarded: Flow[] = []
  for (const flow of flows.filter((f) => !f.local)) {
    if (input.ipForward) forwarded.push(flow)
    else done.push({...carried(flow), path: flow.path, kind: 'dropped', hook: 'FORWARD', by: {ipForwardDisabled: true}, verdict: 'DROP'})
  }
  forwarded = runStages(input, runStages(input, forwarded, FORWARD, done), POSTROUTING, done)
  return [
    ...local.map((flow) => ({...carried(restoreSrc(input, flow)), path: flow.path, kind: 'local' as const})),
    ...forwarded.map((flow) => finishSent(input, flow, 'forwarded')),
  ]
}

function runLocalOrigin(input: PipelineInput, start: Flow, done: Branch[]): Branch[] {
  let flows = routeFlows(input, [restoreDst(input, start)], done)
  flows = rerouteIfChanged(input, flows, [['raw', 'OUTPUT'], ['mangle', 'OUTPUT']], done)
  // a DNAT in nat OUTPUT changes the destination: the kernel routes the packet again
  flows = rerouteIfChanged(input, flows, [['nat', 'OUTPUT']], done)
  flows = runStages(input, flows, [['filter', 'OUTPUT'], ...POSTROUTING], done)
  const outcomes: Branch[] = []
  const loopback: Flow[] = []
  for (const flow of flows) {
    if (!flow.local) {
      outcomes.push(finishSent(input, flow, 'sent'))
      continue
    }
    // to a local address the packet loops back: in through PREROUTING on the loopback interface,
    // without the nat table (conntrack already holds both NAT bindings)
    const restored = restoreSrc(input, flow)
    loopback.push({...restored, packet: routedPacket({...restored.packet, inIface: restored.packet.outIface ?? 'lo'}, undefined)})
  }
  const delivered = runStages(input, runStages(input, loopback, PREROUTING_LOOPBACK, done), INPUT_LOOPBACK, done)
  return [...outcomes, ...delivered.map((flow) => ({...carried(flow), path: flow.path, kind: 'local' as const}))]
}

function carried(flow: Flow): {packet: IptPacket; nat: readonly NatRecord[]; hits: readonly RuleRef[]; assumptions: readonly Assumption[]} {
  return {packet: flow.packet, nat: flow.nat, hits: flow.hits, assumptions: flow.assumptions}
}

function finishSent(input: PipelineInput, flow: Flow, kind: 'forwarded' | 'sent'): Branch {
  return {...carried(restoreSrc(input, flow)), path: flow.path, kind, outIface: flow.packet.outIface ?? ''}
}

/** conntrack undoes the connection's SNAT on a reply before routing */
function restoreDst(input: PipelineInput, flow: Flow): Flow {
  const restore = input.reply?.restoreDst
  if (!restore) return flow
  return {...flow, packet: {...flow.packet, dst: restore.ip, dstPort: restore.port}}
}

/** and its DNAT after POSTROUTING (or INPUT) */
function restoreSrc(input: PipelineInput, flow: Flow): Flow {
  const restore = input.reply?.restoreSrc
  if (!restore) return flow
  return {...flow, packet: {...flow.packet, src: restore.ip, srcPort: restore.port}}
}

function routeFlows(input: PipelineInput, flows: readonly Flow[], done: Branch[]): Flow[] {
  const routed: Flow[] = []
  for (const flow of flows) {
    const decision = input.route(flow.packet.dst, flow.packet)
    const outIface = decision?.local ? (input.origin === 'local' ? (decision.outIface ?? 'lo') : undefined) : decision?.outIface
    if (!decision || (!decision.local && outIface === undefined)) {
      done.push({kind: 'no-route', packet: flow.packet, nat: flow.nat, hits: flow.hits, path: flow.path})
      continue
    }
    routed.push({...flow, local: decision.local, packet: routedPacket(flow.packet, outIface)})
  }
  return routed
}

/** the packet with the interface routing chose (none for local delivery) */
function routedPacket(packet: IptPacket, outIface: string | undefined): IptPacket {
  const routed: {-readonly [K in keyof IptPacket]: IptPacket[K]} = {...packet}
  if (outIface === undefined) delete routed.outIface
  else routed.outIface = outIface
  return routed
}

function rerouteIfChanged(input: PipelineInput, flows: readonly Flow[], stages: readonly Stage[], done: Branch[]): Flow[] {
  const result: Flow[] = []
  for (const flow of flows) {
    for (const after of runStages(input, [flow], stages, done)) {
      const changed = after.packet.dst !== flow.packet.dst || after.packet.mark !== flow.packet.mark || after.packet.markUnknown !== flow.packet.markUnknown
      result.push(...(changed ? routeFlows(input, [after], done) : [after]))
    }
  }
  return result
}

function runStages(input: PipelineInput, flows: readonly Flow[], stages: readonly Stage[], done: Branch[]): Flow[] {
  let current = [...flows]
  for (const [table, hook] of stages) {
    const next: Flow[] = []
    current.forEach((flow, i) => {
      // keep the total number of branches bounded across hooks, as evaluateHook does inside one
      const others = done.length + next.length + (current.length - i - 1)
      const limit = Math.max(1, MAX_OUTCOMES - others)
      const start = {path: flow.path, hitsBefore: flow.hits.length}
      for (const outcome of evaluateHookBranches(input.ruleset, table, hook, flow.packet, input.host, limit, start)) {
        const step = applyOutcome(flow, hook, outcome)
        if ('kind' in step) done.push(step)
        else next.push(step)
      }
    })
    current = next
  }
  return current
}

function applyOutcome(flow: Flow, hook: Hook, outcome: BranchOutcome): Flow | Branch {
  const hits = flow.hits.concat(outcome.hits)
  const path = outcome.path
  if (outcome.kind === 'unknown') {
    return {kind: 'unknown', hook, rule: outcome.rule, reason: outcome.reason, packet: outcome.packet, hits, path}
  }
  const nat = outcome.nat ? flow.nat.concat(outcome.nat) : flow.nat
  const assumptions = flow.assumptions.concat(outcome.assumptions)
  if (outcome.verdict === 'ACCEPT') return {packet: outcome.packet, nat, hits, assumptions, path, local: flow.local}
  return {kind: 'dropped', packet: outcome.packet, hook, by: outcome.decidedBy, verdict: outcome.verdict, nat, hits, assumptions, path}
}
