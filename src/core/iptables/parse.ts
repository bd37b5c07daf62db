/**
 * Parses `iptables-save` text into a Ruleset (SNAT-14: live probes and topology files feed the
 * node's dump to the evaluator). The accepted grammar is what iptables-restore accepts from
 * iptables-save: `*table`, `:CHAIN POLICY [p:b]`, `[p:b] -A CHAIN …`, `COMMIT`, `#` comments.
 * Builtin chains of a table exist without a declaration (hand-written dumps omit them); user
 * chains must be declared before a rule appends to them or jumps to them, as iptables-restore
 * requires.
 */
import type {IptablesSyntaxError, Ruleset, TableName} from './types.js'
import type {CompiledRule} from './compiled.js'
import {compileRuleArgs} from './compile-rule.js'
import {NO_MATCHES, compileCommonRule} from './fast-rule.js'
import {readFast} from './parse-fast.js'
import {BUILTIN_CHAINS, type OpenTable, type State, addChain, addRule, chainNamed, closeTable, common, fail, openTable, ruleRef} from './parse-state.js'
import {tokenizeRuleLine} from './tokenize.js'

export interface ParseOptions {
  /**
   * Read the commonest lines of a kube-proxy dump (`:KUBE-SEP-… - [0:0]` and the rule shapes
   * fast-rule.ts lists) with the fast path rather than the general one (regular expressions,
   * tokenizer, compileRuleArgs). On by default; both give the same ruleset and errors, and
   * tests switch it off to compare them.
   */
  readonly fastPath?: boolean
}

const CHAIN_LINE = /^:(\S+)\s+(\S+)(?:\s+\[\d+:\d+\])?$/
const RULE_LINE = /^(?:\[\d+:\d+\]\s+)?-A\s+(\S+)(?:\s+(.*))?$/
const COUNTERS_ONLY = /^\[\d+:\d+\]\s+/

export function parseIptablesSave(text: string, source: string, options: ParseOptions = {}): {ruleset: Ruleset; errors: IptablesSyntaxError[]} {
  const state: State = {errors: [], tables: new Map(), seenTables: new Set(), open: undefined, fast: options.fastPath ?? true}
  // The fast loop reads lines in place. It needs a text without \r, \u2028 and \u2029 (the
  // general path's regular expressions treat them as line ends or blanks); a one-byte string
  // cannot hold the last two, so those searches return at once.
  if (state.fast && !text.includes('\r') && !text.includes('\u2028') && !text.includes('\u2029')) {
    readFast(state, text, readLine)
  } else {
    const lines = text.split('\n')
    for (let i = 0; i < lines.length; i++) readLine(state, lines[i] as string, i + 1)
  }
  const {errors, tables, open} = state
  if (open) errors.push({line: open.line, message: `table ${open.name} has no COMMIT`, text: open.header})
  return {ruleset: {source, tables}, errors}
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
    // `-s a,b` is one rule per address (iptables-restore expands it), each with the line's text
    for (const each of compiled.expanded ?? [compiled.matches]) {
      const ref = ruleRef(table.name, chain, lineNo, args)
      // an exact-length copy: the compiler's push() reserved room for 17 matches
      const matches = each.length === 0 ? NO_MATCHES : each.slice()
      const base = {ref, matches, target: compiled.target}
      addRule(table, chain, compiled.unsupported === undefined ? base : {
        ...base,
        unsupported: compiled.unsupported,
        ...(compiled.unsupportedMatch === undefined ? {} : {unsupportedMatch: compiled.unsupportedMatch}),
        ...(compiled.unsupportedTarget === undefined ? {} : {unsupportedTarget: compiled.unsupportedTarget}),
      })
    }
    return
  }
  addRule(table, chain, rule)
}
