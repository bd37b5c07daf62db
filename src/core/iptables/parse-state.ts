/**
 * Parser bookkeeping: the tables and chains of a dump while it is read, and how a table is
 * committed (its chains get their rule arrays and indexes).
 */
import type {Chain, IptablesSyntaxError, Rule, RuleRef, Table, TableName} from './types.js'
import type {CompiledRule, Target} from './compiled.js'
import {indexChain} from './chain-index.js'
import type {RuleContext} from './compile-types.js'
import {type FastContext, type FastRule, NO_MATCHES} from './fast-rule.js'
import {isResolvedBeforeChains} from './compile-targets.js'
import {RegionMap, hashRange} from './region-map.js'

export const BUILTIN_CHAINS: Readonly<Record<TableName | 'security', readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
}

export interface OpenChain {
  readonly name: string
  /** its position in OpenTable.chains */
  readonly position: number
  readonly policy: 'ACCEPT' | 'DROP' | undefined
  /**
   * Its rules are OpenTable.rules[first, first + count) while they arrive one after the other
   * (iptables-save prints a chain's rules together), else `own` holds them all. One array per
   * table rather than one per chain: push() onto an empty array reserves room for 17, and most
   * chains of a kube-proxy dump hold one to three rules.
   */
  first: number
  count: number
  own: CompiledRule[] | undefined
  /** the fast path's `-j <this chain>` target, shared by every rule that jumps here */
  jump: Target | undefined
}

export interface OpenTable {
  readonly name: TableName | 'security'
  readonly line: number
  /** the `*table` line as written, for the "no COMMIT" errors */
  readonly header: string
  /** in declaration order */
  readonly chains: OpenChain[]
  /**
   * The chains by name. Looked up by a range of the text, so that the fast path need not slice
   * the name; the string-keyed Map of the Table is built once, when the table is committed.
   */
  readonly names: RegionMap<OpenChain>
  /** the rules of the chains, as they arrive (OpenChain.first) */
  readonly rules: CompiledRule[]
  readonly builtins: readonly string[]
  /** an unknown table: its lines are skipped until COMMIT (the table itself was reported) */
  readonly ignored: boolean
  /** the security table had a rule (it is parsed for syntax, then reported as not evaluated) */
  hasRules: boolean
  /** what rule compilation may ask about this table (one object per table, not one per rule) */
  readonly context: RuleContext
  /** the fast path's context; undefined when it is switched off */
  fast: FastContext | undefined
  /** by name length: the chain the fast path last found as a jump target of that length */
  readonly recentJumps: Array<OpenChain | undefined>
}

export function openTable(name: TableName | 'security', line: number, header: string, ignored: boolean, fast: boolean): OpenTable {
  const names = new RegionMap<OpenChain>()
  const builtins = ignored ? [] : BUILTIN_CHAINS[name]
  const table: OpenTable = {
    name,
    line,
    header,
    chains: [],
    names,
    rules: [],
    builtins,
    ignored,
    hasRules: false,
    context: {isChain: (chain) => names.get(chain, 0, chain.length) !== undefined && !builtins.includes(chain), isBuiltin: (chain) => builtins.includes(chain)},
    fast: undefined,
    recentJumps: [],
  }
  if (fast) table.fast = {jumpTo: (text, from, to) => jumpTarget(table, text, from, to), statistics: new RegionMap(), ports: new Map(), dnatPorts: new Map()}
  return table
}

export function chainNamed(table: OpenTable, name: string): OpenChain | undefined {
  return table.names.get(name, 0, name.length)
}

export function addChain(table: OpenTable, name: string, policy: 'ACCEPT' | 'DROP' | undefined, hash = hashRange(name, 0, name.length)): OpenChain {
  // every field set from the start: one object shape for all chains
  const chain: OpenChain = {name, position: table.chains.length, policy, first: 0, count: 0, own: undefined, jump: undefined}
  table.chains.push(chain)
  table.names.setHashed(hash, name, chain)
  return chain
}

/**
 * What compileTarget makes of `-j <text[from, to)>` when that names a user chain declared so
 * far (RuleContext.isChain, and not a target name compileTarget resolves first), one object per
 * chain; undefined otherwise, and when the general tokenizer would read the name differently
 * (a quote in it).
 */
export function jumpTarget(table: OpenTable, text: string, from: number, to: number): Target | undefined {
  // Most jumps of a kube-proxy dump go to KUBE-MARK-MASQ: try the last chain found with a name
  // of this length first (one compare, no hash).
  const length = to - from
  let chain = table.recentJumps[length]
  if (!chain || text.slice(from, to) !== chain.name) {
    chain = table.names.get(text, from, to)
    if (!chain) return undefined
    if (length < 64) table.recentJumps[length] = chain
  }
  if (chain.jump) return chain.jump
  const name = chain.name
  if (table.builtins.includes(name) || isResolvedBeforeChains(name) || name.includes('"')) return undefined
  chain.jump = {kind: 'jump', chain: name, goto: false}
  return chain.jump
}

export function fail(errors: IptablesSyntaxError[], line: number, text: string, message: string): void {
  errors.push({line, message, text})
}

const NO_RULES: readonly Rule[] = []

export interface State {
  readonly errors: IptablesSyntaxError[]
  readonly tables: Map<TableName, Table>
  readonly seenTables: Set<string>
  open: OpenTable | undefined
  readonly fast: boolean
}

/** what compileCommonRule compiled last (one object for the whole parse) */
export const NO_TARGET: Target = {kind: 'none'}
export const common: FastRule = {matches: NO_MATCHES, target: NO_TARGET}

export function addRule(table: OpenTable, chain: OpenChain, rule: CompiledRule): void {
  if (chain.own) {
    chain.own.push(rule)
  } else if (chain.count === 0 || chain.first + chain.count === table.rules.length) {
    if (chain.count === 0) chain.first = table.rules.length
    table.rules.push(rule)
  } else {
    // another chain's rules came in between
    chain.own = table.rules.slice(chain.first, chain.first + chain.count)
    chain.own.push(rule)
  }
  chain.count++
}

export function ruleRef(table: TableName, chain: OpenChain, line: number, args: string): RuleRef {
  // the chain's own name rather than the line's copy of it: one string per chain, not per rule
  return {table, chain: chain.name, index: chain.count + 1, line, text: args.trim()}
}

export function closeTable(table: OpenTable, errors: IptablesSyntaxError[]): Table | undefined {
  if (table.name === 'security') {
    // The evaluator does not model the security table (SELinux labels); an empty one is harmless.
    const active = table.hasRules || table.chains.some((chain) => chain.policy === 'DROP')
    if (active) {
      errors.push({line: table.line, message: 'the security table has rules or DROP policies, which xcc does not evaluate', text: '*security'})
    }
    return undefined
  }
  const chains = new Map<string, Chain>()
  for (const open of table.chains) {
    // exact-length arrays
    const rules: readonly Rule[] = open.count === 0 ? NO_RULES : open.own ? open.own.slice() : table.rules.slice(open.first, open.first + open.count)
    const chain: Chain = open.policy ? {name: open.name, policy: open.policy, rules} : {name: open.name, rules}
    indexChain(chain)
    chains.set(open.name, chain)
  }
  return {name: table.name, chains}
}
