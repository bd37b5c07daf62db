/**
 * Runs a packet through one hook of one table the way ipt_do_table does (SNAT-14: the whole
 * chain is the unit of evaluation; a jump is a sub-evaluation and a RETURN continues with the
 * caller's next rule).
 *
 * Evaluation branches where a rule may or may not match: `-m statistic` (chance), and a rule
 * xcc cannot decide (knowledge: an unmodelled match, TCP flags past the first packet). Each
 * branch is a thread with its own packet (marks), hits, assumptions, path of choices and call
 * stack, and ends in one outcome; branches.ts folds the knowledge choices whose branches agree,
 * so such a rule makes the answer `unknown` only when the answer depends on it. A rule whose
 * target changes nothing the decision looks at (LOG, no target) needs no decision at all.
 */
import type {Chain, HookOutcome, HostContext, Hook, IptPacket, PolicyRef, Rule, RuleRef, Ruleset, TableName} from './types.js'
import type {CompiledRule, Match} from './compiled.js'
import {isCompiledRule} from './compiled.js'
import {type ChainIndex, firstAtOrAfter, indexChain, portKey} from './chain-index.js'
import {FAIL, type HookView, UNDECIDED, evaluateMatch, protocolNumber, undecidedReason, viewOf} from './match.js'
import {type BranchView, type PathStep, foldBranches, packetKey} from './branches.js'
import {applyConnmark, applyMark} from './marks.js'
import {applyNatTarget} from './targets.js'

/** Most outcomes one evaluation may produce before the branching rule is reported as unknown. */
export const MAX_OUTCOMES = 256
/** A safety net far above any real dump: rule visits per evaluation. */
const MAX_STEPS = 5_000_000

type Assumption = {readonly rule: RuleRef; readonly matched: boolean}

interface Frame {
  readonly chain: Chain
  readonly index: ChainIndex
  readonly dstBucket: readonly number[] | undefined
  readonly portBucket: readonly number[] | undefined
  /** next rule position to look at */
  pos: number
  /** chains this frame went through with -g (goto replaces the frame's chain) */
  readonly via: readonly string[]
}

interface Thread {
  packet: IptPacket
  readonly hits: RuleRef[]
  readonly assumptions: Assumption[]
  /** the choices this branch made, chance and knowledge (branches.ts) */
  readonly path: PathStep[]
  readonly frames: Frame[]
}

/** A hook outcome with the path of choices that led to it; foldBranches turns these into HookOutcomes. */
export type BranchOutcome = HookOutcome & {readonly path: readonly PathStep[]}

interface Run {
  readonly table: TableName
  readonly hook: Hook
  readonly tableChains: ReadonlyMap<string, Chain>
  readonly hookChain: Chain
  readonly host: HostContext
  readonly maxOutcomes: number
  /** rules hit in earlier hooks (the pipeline's count, for knowledge choices) */
  readonly hitsBefore: number
  readonly work: Thread[]
  readonly outcomes: BranchOutcome[]
  steps: number
}

export function evaluateHook(ruleset: Ruleset, table: TableName, hook: Hook, packet: IptPacket, host: HostContext): HookOutcome[] {
  return foldBranches(evaluateHookBranches(ruleset, table, hook, packet, host, MAX_OUTCOMES, NO_CHOICES), HOOK_BRANCHES).map(withoutPath)
}

/** Where a hook's evaluation starts in a longer one (the pipeline): the choices made and rules hit before it. */
export interface BranchStart {
  readonly path: readonly PathStep[]
  readonly hitsBefore: number
}

const NO_CHOICES: BranchStart = {path: [], hitsBefore: 0}

/** The outcomes of every branch, each with its path of choices (`start.path` first). */
export function evaluateHookBranches(
  ruleset: Ruleset,
  table: TableName,
  hook: Hook,
  packet: IptPacket,
  host: HostContext,
  maxOutcomes: number,
  start: BranchStart,
): BranchOutcome[] {
  const path = start.path
  const chains = ruleset.tables.get(table)?.chains
  const hookChain = chains?.get(hook)
  // A missing table or chain accepts. The nat table only sees a connection's first packet:
  // later packets follow the NAT binding conntrack recorded, without traversing the chains.
  if (!chains || !hookChain || (table === 'nat' && packet.ctstate !== 'NEW')) {
    return [{kind: 'verdict', verdict: 'ACCEPT', packet, hits: [], decidedBy: {table, chain: hook, policy: 'ACCEPT'}, assumptions: [], path}]
  }
  const run: Run = {table, hook, tableChains: chains, hookChain, host, maxOutcomes, hitsBefore: start.hitsBefore, work: [], outcomes: [], steps: 0}
  run.work.push({packet, hits: [], assumptions: [], path: [...path], frames: [enterChain(hookChain, packet, [])]})
  while (run.work.length > 0) {
    const thread = run.work.pop() as Thread
    run.outcomes.push(runThread(run, thread))
  }
  return run.outcomes
}

function withoutPath(outcome: BranchOutcome): HookOutcome {
  const {path: _path, ...rest} = outcome
  return rest
}

/** What a hook outcome means for the packet: the verdict and, when it goes on, the packet and its NAT. */
export function hookResultKey(outcome: HookOutcome): string | undefined {
  if (outcome.kind === 'unknown') return undefined
  if (outcome.verdict !== 'ACCEPT') return outcome.verdict
  const nat = outcome.nat ? `${outcome.nat.kind} ${packetKey(outcome.nat.after)} ${outcome.nat.randomPort}` : ''
  return `ACCEPT ${packetKey(outcome.packet)} ${nat}`
}

const HOOK_BRANCHES: BranchView<BranchOutcome> = {
  path: (o: BranchOutcome) => o.path,
  resultKey: hookResultKey,
  unknownAt: (step: PathStep, sample: BranchOutcome): BranchOutcome => {
    const knowledge = step.knowledge as NonNullable<PathStep['knowledge']>
    return {kind: 'unknown', rule: step.rule, reason: knowledge.reason, packet: knowledge.packet, hits: sample.hits.slice(0, knowledge.hitCount), path: []}
  },
}

function enterChain(chain: Chain, packet: IptPacket, via: readonly string[]): Frame {
  const index = indexChain(chain)
  return {
    chain,
    index,
    dstBucket: index.byDst.size > 0 ? index.byDst.get(packet.dst) : undefined,
    portBucket: index.byPort.size > 0 ? index.byPort.get(portKey(protocolNumber(packet.protocol), packet.dstPort)) : undefined,
    pos: 0,
    via,
  }
}

/** Position of the next rule of the frame that can match, or -1 at the end of the chain. */
function nextCandidate(frame: Frame): number {
  let best = firstAtOrAfter(frame.index.general, frame.pos)
  if (frame.dstBucket) best = Math.min(best, firstAtOrAfter(frame.dstBucket, frame.pos))
  if (frame.portBucket) best = Math.min(best, firstAtOrAfter(frame.portBucket, frame.pos))
  return best === Infinity ? -1 : best
}

function fork(thread: Thread): Thread {
  return {
    packet: thread.packet,
    hits: [...thread.hits],
    assumptions: [...thread.assumptions],
    path: [...thread.path],
    frames: thread.frames.map((frame) => ({...frame})),
  }
}

function unknown(thread: Thread, rule: RuleRef, reason: string): BranchOutcome {
  return {kind: 'unknown', rule, reason, packet: thread.packet, hits: thread.hits, path: thread.path}
}

function policyOutcome(run: Run, thread: Thread): BranchOutcome {
  const policy = run.hookChain.policy ?? 'ACCEPT'
  const decidedBy: PolicyRef = {table: run.table, chain: run.hook, policy}
  return {kind: 'verdict', verdict: policy, packet: thread.packet, hits: thread.hits, decidedBy, assumptions: thread.assumptions, path: thread.path}
}

/** A rule with this target changes nothing the decision depends on: no need to know whether it matches. */
function isNoOp(rule: CompiledRule): boolean {
  return (rule.target.kind === 'none' || rule.target.kind === 'continue') && targetUnsupported(rule) === undefined
}

/** why the rule's target is not modelled (a rule parsed before the two reasons were kept apart counts as such) */
function targetUnsupported(rule: CompiledRule): string | undefined {
  return rule.unsupportedTarget ?? (rule.unsupportedMatch === undefined ? rule.unsupported : undefined)
}

function runThread(run: Run, thread: Thread): BranchOutcome {
  const view = viewOf(run.hook, thread.packet)
  for (;;) {
    const frame = thread.frames[thread.frames.length - 1] as Frame
    const position = nextCandidate(frame)
    if (position < 0) {
      // falling off a user chain returns to the caller; off the hook's chain, the policy decides
      if (thread.frames.length === 1) return policyOutcome(run, thread)
      thread.frames.pop()
      continue
    }
    frame.pos = position + 1
    const rule = frame.chain.rules[position] as Rule
    if (++run.steps > MAX_STEPS) return unknown(thread, rule.ref, `evaluation gave up after ${MAX_STEPS} rule visits`)
    if (!isCompiledRule(rule)) return unknown(thread, rule.ref, 'rule was not compiled by parseIptablesSave')
    const decision = decideMatches(rule, thread.packet, view, run.host)
    if (decision.fail) continue
    const undecided = rule.unsupportedMatch ?? (decision.undecided ? undecidedReason(decision.undecided, run.host, thread.packet) : undefined)
    if (isNoOp(rule)) {
      // LOG, NFLOG, a counting rule: whatever it matches, evaluation goes on unchanged
      if (!decision.maybe && undecided === undefined) thread.hits.push(rule.ref)
      continue
    }
    if (decision.maybe) {
      // -m statistic: follow "matched" here, queue "not matched" from the next rule
      if (run.outcomes.length + run.work.length + 2 > run.maxOutcomes) {
        return unknown(thread, rule.ref, `more than ${run.maxOutcomes} possible outcomes (-m statistic branches)`)
      }
      const notMatched = fork(thread)
      notMatched.assumptions.push({rule: rule.ref, matched: false})
      notMatched.path.push({rule: rule.ref, matched: false})
      run.work.push(notMatched)
      thread.assumptions.push({rule: rule.ref, matched: true})
      thread.path.push({rule: rule.ref, matched: true})
    }
    if (undecided !== undefined) {
      // xcc cannot tell whether the rule matches: follow both, and let foldBranches see whether it matters
      if (run.outcomes.length + run.work.length + 2 > run.maxOutcomes) {
        return unknown(thread, rule.ref, `${undecided} (and more than ${run.maxOutcomes} possible outcomes to follow both ways)`)
      }
      const knowledge = {reason: undecided, packet: thread.packet, hitCount: run.hitsBefore + thread.hits.length, hook: run.hook}
      const notMatched = fork(thread)
      notMatched.path.push({rule: rule.ref, matched: false, knowledge})
      run.work.push(notMatched)
      thread.path.push({rule: rule.ref, matched: true, knowledge})
    }
    const unmodelledTarget = targetUnsupported(rule)
    if (unmodelledTarget !== undefined) return unknown(thread, rule.ref, unmodelledTarget)
    thread.hits.push(rule.ref)
    const target = rule.target
    switch (target.kind) {
      case 'none':
      case 'continue':
        break

      case 'mark':
        thread.packet = applyMark(thread.packet, target)
        break
      case 'connmark':
        thread.packet = applyConnmark(thread.packet, target)
        break
      case 'verdict':
        return {
          kind: 'verdict',
          verdict: target.verdict,
          packet: thread.packet,
          hits: thread.hits,
          decidedBy: rule.ref,
          assumptions: thread.assumptions,
          path: thread.path,
        }
      case 'return':
        if (thread.frames.length === 1) return policyOutcome(run, thread)
        thread.frames.pop()
        break
      case 'jump': {
        const next = run.tableChains.get(target.chain)
        if (!next) return unknown(thread, rule.ref, `jump to missing chain ${target.chain}`)
        if (isOnPath(thread.frames, target.chain)) {
          const path = thread.frames.flatMap((f) => [...f.via, f.chain.name])
          return unknown(thread, rule.ref, `jump loop: ${[...path, target.chain].join(' → ')} (the kernel refuses looping rulesets)`)
        }
        if (target.goto) {
          thread.frames[thread.frames.length - 1] = enterChain(next, thread.packet, [...frame.via, frame.chain.name])
        } else {
          thread.frames.push(enterChain(next, thread.packet, []))
        }
        break
      }
      case 'masquerade':
      case 'snat':
      case 'dnat': {
        const result = applyNatTarget(target, rule.ref, run.table, run.hook, thread.packet, run.host)
        if (result.kind === 'unknown') return unknown(thread, rule.ref, result.reason)
        if (result.kind === 'drop') {
          return {kind: 'verdict', verdict: 'DROP', packet: thread.packet, hits: thread.hits, decidedBy: rule.ref, assumptions: thread.assumptions, path: thread.path}
        }
        // the first NAT target decides the nat table for this connection
        return {
          kind: 'verdict',
          verdict: 'ACCEPT',
          packet: result.packet,
          nat: result.nat,
          hits: thread.hits,
          decidedBy: rule.ref,
          assumptions: thread.assumptions,
          path: thread.path,
        }
      }
    }
  }
}

/** true when the chain is being evaluated already (a jump to it would loop) */
function isOnPath(frames: readonly Frame[], chain: string): boolean {
  for (const frame of frames) if (frame.chain.name === chain || frame.via.includes(chain)) return true
  return false
}

type Decision = {readonly fail: true} | {readonly fail: false; readonly maybe: boolean; readonly undecided: Match | undefined}

const FAILED: Decision = {fail: true}
const PASSED: Decision = {fail: false, maybe: false, undecided: undefined}

/**
 * A rule matches when all its matches do, so the order inside the rule does not matter: any
 * failing match makes the rule not match even when another part is undecidable or unsupported.
 */
function decideMatches(rule: CompiledRule, packet: IptPacket, view: HookView, host: HostContext): Decision {
  let undecided: Match | undefined
  let maybe = false
  for (const match of rule.matches) {
    if (match.kind === 'statistic') {
      if (match.certainty === 'never') return FAILED
      if (match.certainty === 'maybe') maybe = true
      continue
    }
    const result = evaluateMatch(match, packet, view, host)
    if (result === FAIL) return FAILED
    if (result === UNDECIDED && !undecided) undecided = match
  }
  return maybe || undecided ? {fail: false, maybe, undecided} : PASSED
}
