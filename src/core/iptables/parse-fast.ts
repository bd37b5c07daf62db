/**
 * The fast loop over a dump: kube-proxy's commonest lines are read in place, without slicing,
 * tokenizing or regular expressions; any other line goes to the general reader unchanged.
 */
import type {RuleRef} from './types.js'
import {type FastContext, NO_MATCHES, compileCommonRule} from './fast-rule.js'
import {type OpenChain, type OpenTable, type State, NO_TARGET, addChain, addRule, common} from './parse-state.js'
import {hashRange} from './region-map.js'

const SPACE = 32
const DASH = 45
const COLON = 58
const UPPER_A = 65

/**
 * The fast loop: `-A CHAIN …` and `:CHAIN - [0:0]` lines are read without slicing the line, the
 * rule with compileCommonRule; any other line, and any line the fast path declines, goes to
 * readLine exactly as the general loop would pass it.
 */
export function readFast(state: State, text: string, readLine: (state: State, rawLine: string, lineNo: number) => void): void {
  const n = text.length
  // without a backslash anywhere, quoted comments need no scan for escapes
  const backslashes = text.includes('\\')
  let lineNo = 0
  // the chain of the previous rule line: consecutive rules mostly append to the same chain
  let last: OpenChain | undefined
  let lastTable: OpenTable | undefined
  let p = 0
  while (p < n) {
    let end = text.indexOf('\n', p)
    if (end < 0) end = n
    lineNo++
    const open = state.open
    const first = text.charCodeAt(p)
    let done = false
    if (open && !open.ignored && end - p > 3) {
      if (first === DASH && text.charCodeAt(p + 1) === UPPER_A && text.charCodeAt(p + 2) === SPACE) {
        const chain = ruleChain(open, text, p + 3, end, lastTable === open ? last : undefined)
        // the rule's text starts after the name and one space
        const args = chain ? p + 4 + chain.name.length : end
        if (chain && args < end) {
          done = readFastRule(open, chain, text, args, end, lineNo, backslashes)
          if (done) {
            last = chain
            lastTable = open
          }
        }
      } else if (first === COLON) {
        done = readFastChain(open, text, p, end)
      }
    }
    if (!done) {
      // exactly the line text.split('\n') gives
      readLine(state, text.slice(p, end), lineNo)
      if (state.open !== open) last = undefined
    }
    p = end + 1
  }
  // keep nothing of this dump alive through the shared object
  common.matches = NO_MATCHES
  common.target = NO_TARGET
}

/**
 * The chain of a rule line whose name starts at `from`: the declared chain whose name is there,
 * followed by a space (a declared name holds no blank, so the line splits there as RULE_LINE
 * would split it); undefined when there is none.
 */
function ruleChain(table: OpenTable, text: string, from: number, end: number, last: OpenChain | undefined): OpenChain | undefined {
  if (last) {
    // iptables-save prints the rules chain by chain in the order it declared the chains: try the
    // last rule's chain and the next few (chains without rules are skipped) before any lookup
    const chains = table.chains
    const stop = Math.min(chains.length, last.position + 4)
    for (let k = last.position; k < stop; k++) {
      const chain = chains[k] as OpenChain
      const after = from + chain.name.length
      if (after < end && text.charCodeAt(after) === SPACE && text.slice(from, after) === chain.name) return chain
    }
  }
  const space = text.indexOf(' ', from)
  if (space <= from || space >= end) return undefined
  return table.names.get(text, from, space)
}

function readFastRule(table: OpenTable, chain: OpenChain, text: string, from: number, to: number, lineNo: number, backslashes: boolean): boolean {
  if (!compileCommonRule(text, from, to, table.fast as FastContext, common, backslashes)) return false
  if (table.name === 'security') {
    table.hasRules = true
    return true
  }
  // compileCommonRule read the line up to its end: no blank at either end, as args.trim() would leave it
  const ref: RuleRef = {table: table.name, chain: chain.name, index: chain.count + 1, line: lineNo, text: text.slice(from, to)}
  addRule(table, chain, {ref, matches: common.matches, target: common.target})
  return true
}

/** `:NAME - [0:0]` for a new, valid user chain name of printable ASCII; anything else goes to parseChainLine. */
function readFastChain(table: OpenTable, text: string, from: number, to: number): boolean {
  const space = text.indexOf(' ', from + 1)
  if (space < 0 || space + 8 !== to || !text.startsWith('- [0:0]', space + 1)) return false
  const length = space - from - 1
  if (length < 1 || length > 28 || text.charCodeAt(from + 1) === DASH) return false
  // printable ASCII only: no blank of any kind
  for (let i = from + 1; i < space; i++) {
    const c = text.charCodeAt(i)
    if (c <= SPACE || c >= 127) return false
  }
  const hash = hashRange(text, from + 1, space)
  if (table.names.getHashed(hash, text, from + 1, space)) return false
  const name = text.slice(from + 1, space)
  if (table.builtins.includes(name) || name === '!') return false
  addChain(table, name, undefined, hash)
  return true
}
