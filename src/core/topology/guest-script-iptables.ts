/**
 * What a startup script's iptables commands leave in the guest's tables, as iptables-save text:
 * `iptables-restore` here-documents (each table it names is flushed and replaced; with
 * `--noflush` rules are added and a declared user chain is flushed) and `iptables -A|-I|-N|-P`,
 * `iptables -C … || iptables -A …`. Starts from a fresh guest: every table empty, every policy
 * ACCEPT. Each rule remembers the script line it came from, so that a rule the evaluator refuses
 * names that line.
 */
import {BUILTIN_CHAINS} from '../iptables/parse-state.js'
import {tokenizeRuleLine} from '../iptables/tokenize.js'

type TableName = keyof typeof BUILTIN_CHAINS

interface Rule {
  /** the rule's arguments after `-A CHAIN`, as iptables-save writes them */
  readonly args: string
  readonly line: number
  /** its words as iptables reads them, once `-C` has needed them */
  words?: string | undefined
}

interface Chain {
  policy: string
  rules: Rule[]
  readonly line: number
}

/** A line the tables cannot take: its script line and, for the caller's message, nothing more. */
export interface TableProblem {
  readonly line: number
}

export interface BodyLine {
  readonly text: string
  /** its line in the script */
  readonly line: number
}

const CHAIN_LINE = /^:(\S+)\s+(\S+)(?:\s+\[\d+:\d+\])?$/
const RULE_LINE = /^(?:\[\d+:\d+\]\s+)?-A\s+(\S+)(?:\s+(.*))?$/
const CHAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,28}$/
const POLICIES = new Set(['ACCEPT', 'DROP'])

export const isTable = (name: string): name is TableName => Object.hasOwn(BUILTIN_CHAINS, name)

/** the words of a rule's arguments as iptables reads them, for `-C` */
function argWords(args: string): string[] | undefined {
  const t = tokenizeRuleLine(args)
  return t.ok ? [...t.texts] : undefined
}

export class GuestTables {
  private readonly tables = new Map<TableName, Map<string, Chain>>()

  private table(name: TableName): Map<string, Chain> {
    let t = this.tables.get(name)
    if (!t) {
      t = new Map(BUILTIN_CHAINS[name].map((c) => [c, {policy: 'ACCEPT', rules: [], line: 0}]))
      this.tables.set(name, t)
    }
    return t
  }

  private builtin(table: TableName, chain: string): boolean {
    return BUILTIN_CHAINS[table].includes(chain)
  }

  /** One `iptables-restore` input: tables replaced (or, with noflush, added to) at each COMMIT. */
  restore(body: readonly BodyLine[], noflush: boolean): TableProblem | undefined {
    let open: {name: TableName; chains: Map<string, Chain>; line: number} | undefined
    for (const {text, line} of body) {
      const trimmed = text.trim()
      if (trimmed === '' || trimmed.startsWith('#')) continue
      if (trimmed.startsWith('*')) {
        const name = trimmed.slice(1)
        if (open || !isTable(name)) return {line}
        // the table as this input leaves it: a copy, committed at COMMIT as iptables-restore does
        const current = this.table(name)
        const chains = new Map<string, Chain>()
        for (const [chain, c] of current) {
          if (!noflush && !this.builtin(name, chain)) continue
          chains.set(chain, {policy: c.policy, rules: noflush ? [...c.rules] : [], line: c.line})
        }
        open = {name, chains, line}
        continue
      }
      if (!open) return {line}
      if (trimmed === 'COMMIT') {
        this.tables.set(open.name, open.chains)
        open = undefined
        continue
      }
      const declared = CHAIN_LINE.exec(trimmed)
      if (declared) {
        const [, chain, policy] = declared as unknown as [string, string, string]
        if (this.builtin(open.name, chain)) {
          if (!POLICIES.has(policy)) return {line}
          ;(open.chains.get(chain) as Chain).policy = policy
        } else {
          if (policy !== '-' || !CHAIN_NAME.test(chain)) return {line}
          // declaring a user chain creates it, or (noflush) flushes the one there is
          open.chains.set(chain, {policy: '-', rules: [], line: open.chains.get(chain)?.line ?? line})
        }
        continue
      }
      const rule = RULE_LINE.exec(trimmed)
      if (!rule) return {line}
      const chain = open.chains.get(rule[1] as string)
      if (!chain) return {line}
      chain.rules.push({args: rule[2] ?? '', line})
    }
    return open ? {line: open.line} : undefined
  }

  /** `iptables -A` (position undefined) or `-I CHAIN [position]`; false when the chain does not exist or the position is past its end */
  add(table: TableName, chain: string, args: string, line: number, position?: number): boolean {
    const c = this.table(table).get(chain)
    if (!c) return false
    if (position === undefined) {
      c.rules.push({args, line})
      return true
    }
    if (position < 1 || position > c.rules.length + 1) return false
    c.rules.splice(position - 1, 0, {args, line})
    return true
  }

  /** `iptables -C`: whether the chain holds a rule of these arguments (compared word by word) */
  has(table: TableName, chain: string, args: string): boolean | undefined {
    const c = this.table(table).get(chain)
    const want = argWords(args)
    if (!c || !want) return undefined
    const key = JSON.stringify(want)
    return c.rules.some((r) => (r.words ??= JSON.stringify(argWords(r.args))) === key)
  }

  exists(table: TableName, chain: string): boolean {
    return this.table(table).has(chain)
  }

  /** `iptables -N`: false when the chain exists or its name is not one iptables takes */
  newChain(table: TableName, chain: string, line: number): boolean {
    const t = this.table(table)
    if (t.has(chain) || !CHAIN_NAME.test(chain)) return false
    t.set(chain, {policy: '-', rules: [], line})
    return true
  }

  /** `iptables -P`: builtin chains only, ACCEPT or DROP */
  policy(table: TableName, chain: string, target: string): boolean {
    if (!this.builtin(table, chain) || !POLICIES.has(target)) return false
    ;(this.table(table).get(chain) as Chain).policy = target
    return true
  }

  /**
   * The tables as iptables-save writes them, in the order the script first named them: builtin
   * chains, then user chains, then the rules chain by chain. `origins[i]` is the script line of
   * the text's line i + 1 (0 for lines the script did not write).
   */
  save(): {text: string; origins: number[]} {
    const lines: string[] = []
    const origins: number[] = []
    const push = (text: string, line: number): void => {
      lines.push(text)
      origins.push(line)
    }
    for (const [name, chains] of this.tables) {
      push(`*${name}`, 0)
      for (const [chain, c] of chains) push(`:${chain} ${c.policy} [0:0]`, c.line)
      for (const [chain, c] of chains) for (const r of c.rules) push(r.args ? `-A ${chain} ${r.args}` : `-A ${chain}`, r.line)
      push('COMMIT', 0)
    }
    return {text: lines.length ? `${lines.join('\n')}\n` : '', origins}
  }
}
