/**
 * The shapes the rule compiler hands to the compilers of matches and targets. They live apart
 * from compile-rule.ts so that compile-matches.ts and compile-targets.ts need not import the
 * module that imports them.
 */

/** One option of a rule line with its values, e.g. `! --dport 80`. */
export interface OptionArg {
  readonly name: string
  readonly negated: boolean
  readonly values: readonly string[]
}

/** What compiling a rule may ask about the table it belongs to. */
export interface RuleContext {
  /** true when `name` is a chain of the rule's table (declared so far) */
  isChain(name: string): boolean
  /** true when `name` is a builtin chain of the rule's table (a jump to it loads nowhere) */
  isBuiltin?(name: string): boolean
}

/** The rule's `-p`, as the match modules need it (`value` -1: a protocol our packets never carry). */
export interface ProtocolArg {
  readonly value: number
  readonly name: string
  readonly negated: boolean
}
