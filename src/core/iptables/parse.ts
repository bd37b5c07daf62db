/**
 * Parses `iptables-save` text into a Ruleset (SNAT-14: live probes and topology files feed the
 * node's dump to the evaluator). The accepted grammar is what iptables-restore accepts from
 * iptables-save: `*table`, `:CHAIN POLICY [p:b]`, `[p:b] -A CHAIN …`, `COMMIT`, `#` comments.
 * Builtin chains of a table exist without a declaration (hand-written dumps omit them); user
 * chains must be declared before a rule appends to them or jumps to them, as iptables-restore
 * requires.
 */
import type {Chain, IptablesSyntaxError, Rule, RuleRef, Ruleset, Table, TableName} from './types.js'
import type {CompiledRule, Target} from './compiled.js'
import {indexChain} from './chain-index.js'
import {type RuleContext, compileRuleArgs} from './compile-rule.js'
import {type FastContext, type FastRule, NO_MATCHES, compileCommonRule} from './fast-rule.js'
import {isResolvedBeforeChains} from './compile-targets.js'
import {RegionMap, hashRange} from './region-map.js'
import {tokenizeRuleLine} from './tokenize.js'

const BUILTIN_CHAINS: Readonly<Record<TableName | 'security', readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
}

interface OpenChain {
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

interface OpenTable {
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

export interface ParseOptions {
  /**
   * Read the commonest lines of a kube-proxy dump (`:KUBE-SEP-… - [0:0]` and the rule shapes
   * fast-rule.ts lists) with the fast path rather than the general one (regular expressions,
   * tokenizer, compileRuleArgs). On by default; both give the same ruleset and errors, and
   * tests switch it off to compare them.
   */
  readonly fastPath?: boolean
}

function openTable(name: TableName | 'security', line: number, header: string, ignored: boolean, fast: boolean): OpenTable {
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
    context: {isChain: (chain) => names.get(chain, 0, chain.length) !== undefined && !builtins.includes(chain)},
    fast: undefined,
    recentJumps: [],
  }
  if (fast) table.fast = {jumpTo: (text, from, to) => jumpTarget(table, text, from, to), statistics: new RegionMap(), ports: new Map(), dnatPorts: new Map()}
  return table
}

function chainNamed(table: OpenTable, name: string): OpenChain | undefined {
  return table.names.get(name, 0, name.length)
}

function addChain(table: OpenTable, name: string, policy: 'ACCEPT' | 'DROP' | undefined, hash = hashRange(name, 0, name.length)): OpenChain {
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
function jumpTarget(table: OpenTable, text: string, from: number, to: number): Target | undefined {
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

function fail(errors: IptablesSyntaxError[], line: number, text: string, message: string): void {
  errors.push({line, message, text})
}

const NO_RULES: readonly Rule[] = []

const CHAIN_LINE = /^:(\S+)\s+(\S+)(?:\s+\[\d+:\d+\])?$/
const RULE_LINE = /^(?:\[\d+:\d+\]\s+)?-A\s+(\S+)(?:\s+(.*))?$/
const COUNTERS_ONLY = /^\[\d+:\d+\]\s+/

interface State {
  readonly errors: IptablesSyntaxError[]
  readonly tables: Map<TableName, Table>
  readonly seenTables: Set<string>
  open: OpenTable | undefined
  readonly fast: boolean
}

export function parseIptablesSave(text: string, source: string, options: ParseOptions = {}): {ruleset: Ruleset; errors: IptablesSyntaxError[]} {
  const state: State = {errors: [], tables: new Map(), seenTables: new Set(), open: undefined, fast: options.fastPath ?? true}
  // The fast loop reads lines in place. It needs a text without \r, \u2028 and \u2029 (the
  // general path's regular expressions treat them as line ends or blanks); a one-byte string
  // cannot hold the last two, so those searches return at once.
  if (state.fast && !text.includes('\r') && !text.includes('\u2028') && !text.includes('\u2029')) {
    readFast(state, text)
  } else {
    const lines = text.split('\n')
    for (let i = 0; i < lines.length; i++) readLine(state, lines[i] as string, i + 1)
  }
  const {errors, tables, open} = state
  if (open) errors.push({line: open.line, message: `table ${open.name} has no COMMIT`, text: open.header})
  return {ruleset: {source, tables}, errors}
}

const SPACE = 32
const DASH = 45
const COLON = 58
const UPPER_A = 65

/**
 * The fast loop: `-A CHAIN …` and `:CHAIN - [0:0]` lines are read without slicing the line, the
 * rule with compileCommonRule; any other line, and any line the fast path declines, goes to
 * readLine exactly as the general loop would pass it.
 */
function readFast(state: State, text: string): void {
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

/** what compileCommonRule compiled last (one object for the whole parse) */
const NO_TARGET: Target = {kind: 'none'}
const common: FastRule = {matches: NO_MATCHES, target: NO_TARGET}

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

/** One line of the dump, as text.split('\n') gives it, and its 1-based number. */
function readLine(state: State, rawLine: string, lineNo: number): void {
  const {errors} = state
  const raw = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine
  // trimming also drops the \r of CRLF line ends
  const line = raw.trim()
  if (line === '' || line.startsWith('#')) return
  let open = state.open
  if (line.startsWith('*')) {
    if (open) {
      errors.push({line: open.line, message: `table ${open.name} has no COMMIT before the next table`, text: open.header})
    }
    state.open = undefined
    const name = line.slice(1)
    if (!Object.hasOwn(BUILTIN_CHAINS, name)) {
      fail(errors, lineNo, raw, `unknown table "${name}" (expected raw, mangle, nat, filter or security)`)
      state.open = openTable('security', lineNo, rawLine, true, state.fast)
      return
    }
    if (state.seenTables.has(name)) fail(errors, lineNo, raw, `table ${name} appears twice`)
    state.seenTables.add(name)
    state.open = openTable(name as TableName | 'security', lineNo, rawLine, false, state.fast)
    return
  }
  if (line === 'COMMIT') {
    if (!open) {
      fail(errors, lineNo, raw, 'COMMIT outside a table')
      return
    }
    const committed = open.ignored ? undefined : closeTable(open, errors)
    if (committed) state.tables.set(committed.name, committed)
    state.open = open = undefined
    return
  }
  if (!open) {
    fail(errors, lineNo, raw, 'line outside a table (expected *raw, *mangle, *nat or *filter first)')
    return
  }
  if (open.ignored) return
  if (line.startsWith(':')) {
    parseChainLine(open, line, lineNo, raw, errors)
    return
  }
  const rule = RULE_LINE.exec(line)
  if (rule) {
    parseRuleLine(open, rule[1] as string, rule[2] ?? '', lineNo, raw, errors)
    return
  }
  const command = line.replace(COUNTERS_ONLY, '').split(/\s/)[0] ?? ''
  if (/^-[A-Za-z]$|^--[a-z]/.test(command)) fail(errors, lineNo, raw, `only -A rules belong in iptables-save output (got ${command})`)
  else fail(errors, lineNo, raw, 'unrecognised line')
}

function parseChainLine(table: OpenTable, line: string, lineNo: number, raw: string, errors: IptablesSyntaxError[]): void {
  const m = CHAIN_LINE.exec(line)
  if (!m) {
    fail(errors, lineNo, raw, 'malformed chain line (expected ":CHAIN POLICY [packets:bytes]")')
    return
  }
  const [, name, policy] = m as unknown as [string, string, string]
  if (chainNamed(table, name)) {
    fail(errors, lineNo, raw, `chain ${name} declared twice`)
    return
  }
  if (table.builtins.includes(name)) {
    if (policy !== 'ACCEPT' && policy !== 'DROP') {
      fail(errors, lineNo, raw, `builtin chain ${name} needs policy ACCEPT or DROP (got ${policy})`)
      return
    }
    addChain(table, name, policy)
    return
  }
  if (policy !== '-') {
    fail(errors, lineNo, raw, `user chain ${name} cannot have a policy (got ${policy}, expected -)`)
    return
  }
  if (name.length > 28 || name.startsWith('-') || name === '!') {
    fail(errors, lineNo, raw, `invalid chain name ${name}`)
    return
  }
  addChain(table, name, undefined)
}

function parseRuleLine(table: OpenTable, chainName: string, args: string, lineNo: number, raw: string, errors: IptablesSyntaxError[]): void {
  let chain = chainNamed(table, chainName)
  if (!chain && table.builtins.includes(chainName)) {
    // a builtin chain exists without a declaration; its policy defaults to ACCEPT
    chain = addChain(table, chainName, 'ACCEPT')
  }
  if (!chain) {
    fail(errors, lineNo, raw, `-A to undeclared chain ${chainName}`)
    return
  }
  let rule: CompiledRule
  if (table.fast && compileCommonRule(args, 0, args.length, table.fast, common)) {
    if (table.name === 'security') {
      table.hasRules = true
      return
    }
    rule = {ref: ruleRef(table.name, chain, lineNo, args), matches: common.matches, target: common.target}
  } else {
    const tokens = tokenizeRuleLine(args)
    if (!tokens.ok) {
      fail(errors, lineNo, raw, tokens.message)
      return
    }
    const compiled = compileRuleArgs(tokens, table.context)
    if (!compiled.ok) {
      fail(errors, lineNo, raw, compiled.message)
      return
    }
    if (table.name === 'security') {
      table.hasRules = true
      return
    }
    const ref = ruleRef(table.name, chain, lineNo, args)
    // an exact-length copy: the compiler's push() reserved room for 17 matches
    const matches = compiled.matches.length === 0 ? NO_MATCHES : compiled.matches.slice()
    rule = compiled.unsupported === undefined
      ? {ref, matches, target: compiled.target}
      : {ref, unsupported: compiled.unsupported, matches, target: compiled.target}
  }
  addRule(table, chain, rule)
}

function addRule(table: OpenTable, chain: OpenChain, rule: CompiledRule): void {
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

function ruleRef(table: TableName, chain: OpenChain, line: number, args: string): RuleRef {
  // the chain's own name rather than the line's copy of it: one string per chain, not per rule
  return {table, chain: chain.name, index: chain.count + 1, line, text: args.trim()}
}

function closeTable(table: OpenTable, errors: IptablesSyntaxError[]): Table | undefined {
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
