/**
 * Per-chain lookup structure so one trace through a 100k-line kube-proxy dump stays well under
 * a millisecond: KUBE-SERVICES holds thousands of `-d <clusterIP>/32 -p tcp --dport N` rules and
 * a packet can only match the few that name its destination. Rules are split into
 *  - `byDst`: rules with a non-negated `-d a.b.c.d/32` (keyed by that address),
 *  - `byPort`: otherwise, rules with a non-negated single `--dport N` (keyed by protocol and port),
 *  - `general`: everything else,
 * and the evaluator merges, in rule order, `general` with the one bucket of each map that fits
 * the packet. Skipping a keyed rule is exact: its own match would fail.
 */
import type {Chain} from './types.js'
import {isCompiledRule} from './compiled.js'

export interface ChainIndex {
  /** positions (0-based, ascending) of rules that must always be looked at */
  readonly general: readonly number[]
  readonly byDst: ReadonlyMap<number, readonly number[]>
  readonly byPort: ReadonlyMap<number, readonly number[]>
}

/** Below this many rules a plain scan is as fast as any lookup. */
const INDEX_THRESHOLD = 16

const indexes = new WeakMap<Chain, ChainIndex>()

const NO_BUCKETS: ReadonlyMap<number, readonly number[]> = new Map()

/**
 * The index of every chain below the threshold: all its positions are general. Shared, since a
 * kube-proxy dump has tens of thousands of one- to three-rule chains (KUBE-SEP-…, KUBE-SVC-…).
 */
const SMALL: readonly ChainIndex[] = Array.from({length: INDEX_THRESHOLD}, (_, size) => ({
  general: Array.from({length: size}, (_, i) => i),
  byDst: NO_BUCKETS,
  byPort: NO_BUCKETS,
}))

export function portKey(protocol: number, port: number): number {
  return protocol * 65536 + port
}

/** The chain's index, built on first use (the parser warms it so evaluation never pays). */
export function indexChain(chain: Chain): ChainIndex {
  // a small chain needs no entry of its own (rules never change after parsing)
  if (chain.rules.length < INDEX_THRESHOLD) return SMALL[chain.rules.length] as ChainIndex
  const cached = indexes.get(chain)
  if (cached) return cached
  const index = buildIndex(chain)
  indexes.set(chain, index)
  return index
}

function buildIndex(chain: Chain): ChainIndex {
  const general: number[] = []
  const byDst = new Map<number, number[]>()
  const byPort = new Map<number, number[]>()
  chain.rules.forEach((rule, position) => {
    if (!isCompiledRule(rule)) {
      general.push(position)
      return
    }
    let dst: number | undefined
    let port: number | undefined
    for (const match of rule.matches) {
      if (match.kind === 'address' && match.field === 'dst' && !match.negated && match.mask === 0xffffffff) dst = match.base
      if (match.kind === 'ports' && match.field === 'dst' && !match.negated && match.ranges.length === 1) {
        const range = match.ranges[0]
        if (range && range.lo === range.hi) port = portKey(match.protocol, range.lo)
      }
    }
    if (dst !== undefined) push(byDst, dst, position)
    else if (port !== undefined) push(byPort, port, position)
    else general.push(position)
  })
  return {general, byDst, byPort}
}

function push(map: Map<number, number[]>, key: number, position: number): void {
  const list = map.get(key)
  if (list) list.push(position)
  else map.set(key, [position])
}

/** The first element of the ascending `list` that is >= `from`, or Infinity. */
export function firstAtOrAfter(list: readonly number[], from: number): number {
  let lo = 0
  let hi = list.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((list[mid] as number) < from) lo = mid + 1
    else hi = mid
  }
  return lo < list.length ? (list[lo] as number) : Infinity
}
