/**
 * Evaluation branches on two kinds of rule, and this module folds the branches back together:
 *
 *  - chance: a `-m statistic` rule may match or not, and the kernel picks one at random; every
 *    outcome of both branches is a possible outcome (each one names the choices it assumed);
 *  - knowledge: a rule the evaluator cannot decide (an unmodelled match, TCP flags of a packet
 *    that is not a connection's first, …) matches or not for a reason xcc does not know. The
 *    answer depends on that rule only when its two branches end differently: then it is
 *    `unknown` at that rule; else the branch where the rule did not match stands for both.
 *
 * Each outcome carries the path of choices that led to it, in evaluation order. Outcomes whose
 * paths share a prefix came from one evaluation up to there, so the paths rebuild the tree.
 */
import type {Hook, IptPacket, RuleRef} from './types.js'
import {marksKey} from './marks.js'

export interface PathStep {
  readonly rule: RuleRef
  readonly matched: boolean
  /** set for a knowledge choice: why the rule could not be decided, and where evaluation stood */
  readonly knowledge?: {readonly reason: string; readonly packet: IptPacket; readonly hitCount: number; readonly hook: Hook}
}

export interface BranchView<T> {
  path(outcome: T): readonly PathStep[]
  /** what the outcome means for the packet (equal keys: the same result); undefined for an unknown outcome */
  resultKey(outcome: T): string | undefined
  /** the unknown outcome for a knowledge choice whose branches end differently; `sample` went through it */
  unknownAt(step: PathStep, sample: T): T
}

/** The outcomes that remain once every knowledge choice whose branches agree is folded away. */
export function foldBranches<T>(outcomes: readonly T[], view: BranchView<T>): T[] {
  if (outcomes.length === 1 && !view.path(outcomes[0] as T).some((step) => step.knowledge)) return [...outcomes]
  return fold(outcomes, 0, view)
}

function fold<T>(outcomes: readonly T[], depth: number, view: BranchView<T>): T[] {
  const first = outcomes[0] as T
  const step = view.path(first)[depth]
  if (outcomes.length === 1 || !step) return [...outcomes]
  const matched: T[] = []
  const unmatched: T[] = []
  for (const outcome of outcomes) (view.path(outcome)[depth]?.matched ? matched : unmatched).push(outcome)
  const yes = fold(matched, depth + 1, view)
  const no = fold(unmatched, depth + 1, view)
  if (!step.knowledge) return [...yes, ...no]
  // the rule does not matter when both branches give the same results
  const noUnknown = no.find((o) => view.resultKey(o) === undefined)
  if (noUnknown !== undefined) return [noUnknown]
  if (sameResults(yes, no, view)) return no
  return [view.unknownAt(step, first)]
}

function sameResults<T>(a: readonly T[], b: readonly T[], view: BranchView<T>): boolean {
  const keys = (list: readonly T[]): Set<string | undefined> => new Set(list.map((o) => view.resultKey(o)))
  const left = keys(a)
  const right = keys(b)
  if (left.has(undefined) || left.size !== right.size) return false
  for (const key of left) if (!right.has(key)) return false
  return true
}

/**
 * A packet that has left the host's netfilter as a key: its addresses and ports. Its marks no
 * longer matter there (routing, which may look at them, already chose the interface).
 */
export function tupleKey(p: IptPacket): string {
  return [p.src, p.dst, p.protocol, p.srcPort, p.dstPort].join('|')
}

/** A packet as a key: every field that can change what happens to it next. */
export function packetKey(p: IptPacket): string {
  return [p.src, p.dst, p.protocol, p.srcPort, p.dstPort, p.inIface ?? '', p.outIface ?? '', marksKey(p), p.ctstate].join('|')
}
