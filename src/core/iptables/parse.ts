/**
 * Parses `iptables-save` text into a Ruleset (SNAT-14: live probes and topology files feed the
 * node's dump to the evaluator). The accepted grammar is what iptables-restore accepts from
 * iptables-save: `*table`, `:CHAIN POLICY [p:b]`, `[p:b] -A CHAIN …`, `COMMIT`, `#` comments.
 * Builtin chains of a table exist without a declaration (hand-written dumps omit them); user
 * chains must be declared before a rule appends to them or jumps to them, as iptables-restore
 * requires.
 */
import type {Chain, IptablesSyntaxError, Rule, RuleRef, Ruleset, Table, TableName} from './types.js'
import type {CompiledRule} from './compiled.js'
import {indexChain} from './chain-index.js'
import {type RuleContext, compileRuleArgs} from './compile-rule.js'
import {type FastContext, NO_MATCHES, compileCommonRule, fastContext} from './fast-rule.js'
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
  policy?: 'ACCEPT' | 'DROP'
  readonly rules: CompiledRule[]
}

interface OpenTable {
  readonly name: TableName | 'security'
  readonly line: number
  readonly chains: Map<string, OpenChain>
  readonly builtins: readonly string[]
  /** an unknown table: its lines are skipped until COMMIT (the table itself was reported) */
  readonly ignored: boolean
  /** the security table had a rule (it is parsed for syntax, then reported as not evaluated) */
  hasRules: boolean
  /** what rule compilation may ask about this table (one object per table, not one per rule) */
  readonly context: RuleContext
  /** the fast path's context; undefined when it is switched off */
  readonly fast: FastContext | undefined
}

export interface ParseOptions {
  /**
   * Compile the commonest kube-proxy rule shapes with the fast path (fast-rule.ts) rather than
   * the general tokenizer and compiler. On by default; both give the same rules, and tests
   * switch it off to compare them.
   */
  readonly fastPath?: boolean
}

function openTable(name: TableName | 'security', line: number, builtins: readonly string[], ignored: boolean, fast: boolean): OpenTable {
  const chains = new Map<string, OpenChain>()
  const context: RuleContext = {isChain: (chain) => chains.has(chain) && !builtins.includes(chain)}
  return {
    name,
    line,
    chains,
    builtins,
    ignored,
    hasRules: false,
    context,
    fast: fast ? fastContext(context) : undefined,
  }
}

/** Where a problem is reported: the line number and the line as written. */
interface LineAt {
  readonly line: number
  readonly text: string
  readonly errors: IptablesSyntaxError[]
}

function fail(at: LineAt, message: string): void {
  at.errors.push({line: at.line, message, text: at.text})
}

const NO_RULES: readonly Rule[] = []

const CHAIN_LINE = /^:(\S+)\s+(\S+)(?:\s+\[\d+:\d+\])?$/
const RULE_LINE = /^(?:\[\d+:\d+\]\s+)?-A\s+(\S+)(?:\s+(.*))?$/
const COUNTERS_ONLY = /^\[\d+:\d+\]\s+/

export function parseIptablesSave(text: string, source: string, options: ParseOptions = {}): {ruleset: Ruleset; errors: IptablesSyntaxError[]} {
  const fast = options.fastPath ?? true
  const errors: IptablesSyntaxError[] = []
  const tables = new Map<TableName, Table>()
  const seenTables = new Set<string>()
  let open: OpenTable | undefined
  // every line is trimmed below, which also drops the \r of CRLF line ends
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const rawLine = lines[i] as string
    const raw = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const at: LineAt = {line: i + 1, text: raw, errors}
    if (line.startsWith('*')) {
      if (open) {
        errors.push({line: open.line, message: `table ${open.name} has no COMMIT before the next table`, text: lines[open.line - 1] ?? ''})
      }
      open = undefined
      const name = line.slice(1)
      if (!(name in BUILTIN_CHAINS)) {
        fail(at, `unknown table "${name}" (expected raw, mangle, nat, filter or security)`)
        open = openTable('security', at.line, [], true, fast)
        continue
      }
      if (seenTables.has(name)) fail(at, `table ${name} appears twice`)
      seenTables.add(name)
      open = openTable(name as TableName | 'security', at.line, BUILTIN_CHAINS[name as TableName | 'security'], false, fast)
      continue
    }
    if (line === 'COMMIT') {
      if (!open) {
        fail(at, 'COMMIT outside a table')
        continue
      }
      const committed = open.ignored ? undefined : closeTable(open, errors)
      if (committed) tables.set(committed.name, committed)
      open = undefined
      continue
    }
    if (!open) {
      fail(at, 'line outside a table (expected *raw, *mangle, *nat or *filter first)')
      continue
    }
    if (open.ignored) continue
    if (line.startsWith(':')) {
      parseChainLine(open, line, at)
      continue
    }
    const rule = RULE_LINE.exec(line)
    if (rule) {
      parseRuleLine(open, rule[1] as string, rule[2] ?? '', at)
      continue
    }
    const command = line.replace(COUNTERS_ONLY, '').split(/\s/)[0] ?? ''
    if (/^-[A-Za-z]$|^--[a-z]/.test(command)) fail(at, `only -A rules belong in iptables-save output (got ${command})`)
    else fail(at, 'unrecognised line')
  }
  if (open) errors.push({line: open.line, message: `table ${open.name} has no COMMIT`, text: lines[open.line - 1] ?? ''})
  return {ruleset: {source, tables}, errors}
}

function parseChainLine(table: OpenTable, line: string, at: LineAt): void {
  const m = CHAIN_LINE.exec(line)
  if (!m) {
    fail(at, 'malformed chain line (expected ":CHAIN POLICY [packets:bytes]")')
    return
  }
  const [, name, policy] = m as unknown as [string, string, string]
  if (table.chains.has(name)) {
    fail(at, `chain ${name} declared twice`)
    return
  }
  if (table.builtins.includes(name)) {
    if (policy !== 'ACCEPT' && policy !== 'DROP') {
      fail(at, `builtin chain ${name} needs policy ACCEPT or DROP (got ${policy})`)
      return
    }
    table.chains.set(name, {name, policy, rules: []})
    return
  }
  if (policy !== '-') {
    fail(at, `user chain ${name} cannot have a policy (got ${policy}, expected -)`)
    return
  }
  if (name.length > 28 || name.startsWith('-') || name === '!') {
    fail(at, `invalid chain name ${name}`)
    return
  }
  table.chains.set(name, {name, rules: []})
}

function parseRuleLine(table: OpenTable, chainName: string, args: string, at: LineAt): void {
  let chain = table.chains.get(chainName)
  if (!chain && table.builtins.includes(chainName)) {
    // a builtin chain exists without a declaration; its policy defaults to ACCEPT
    chain = {name: chainName, policy: 'ACCEPT', rules: []}
    table.chains.set(chainName, chain)
  }
  if (!chain) {
    fail(at, `-A to undeclared chain ${chainName}`)
    return
  }
  const common = table.fast ? compileCommonRule(args, table.fast) : undefined
  let rule: CompiledRule
  if (common) {
    if (table.name === 'security') {
      table.hasRules = true
      return
    }
    rule = {ref: ruleRef(table.name, chain, at.line, args), matches: common.matches, target: common.target}
  } else {
    const tokens = tokenizeRuleLine(args)
    if (!tokens.ok) {
      fail(at, tokens.message)
      return
    }
    const compiled = compileRuleArgs(tokens, table.context)
    if (!compiled.ok) {
      fail(at, compiled.message)
      return
    }
    if (table.name === 'security') {
      table.hasRules = true
      return
    }
    const ref = ruleRef(table.name, chain, at.line, args)
    // an exact-length copy: the compiler's push() reserved room for 17 matches
    const matches = compiled.matches.length === 0 ? NO_MATCHES : compiled.matches.slice()
    rule = compiled.unsupported === undefined
      ? {ref, matches, target: compiled.target}
      : {ref, unsupported: compiled.unsupported, matches, target: compiled.target}
  }
  chain.rules.push(rule)
}

function ruleRef(table: TableName, chain: OpenChain, line: number, args: string): RuleRef {
  // the chain's own name rather than the line's copy of it: one string per chain, not per rule
  return {table, chain: chain.name, index: chain.rules.length + 1, line, text: args.trim()}
}

function closeTable(table: OpenTable, errors: IptablesSyntaxError[]): Table | undefined {
  if (table.name === 'security') {
    // The evaluator does not model the security table (SELinux labels); an empty one is harmless.
    const active = table.hasRules || [...table.chains.values()].some((chain) => chain.policy === 'DROP')
    if (active) {
      errors.push({line: table.line, message: 'the security table has rules or DROP policies, which xcc does not evaluate', text: '*security'})
    }
    return undefined
  }
  const chains = new Map<string, Chain>()
  for (const open of table.chains.values()) {
    // exact-length copies: most chains of a kube-proxy dump hold one to three rules, and push()
    // reserved room for 17
    const rules: readonly Rule[] = open.rules.length === 0 ? NO_RULES : open.rules.slice()
    const chain: Chain = open.policy ? {name: open.name, policy: open.policy, rules} : {name: open.name, rules}
    indexChain(chain)
    chains.set(open.name, chain)
  }
  return {name: table.name, chains}
}
