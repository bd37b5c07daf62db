/**
 * Compiles the arguments of one `-A CHAIN …` line into matches and a target.
 *
 * Two kinds of problem are kept apart on purpose:
 *  - a malformed line (unknown option, missing or bad value, stray token) is a syntax error:
 *    iptables-restore would refuse the whole dump;
 *  - a well-formed match or target the evaluator does not model is *unsupported*: the rule is
 *    kept and makes the evaluation `unknown` when the packet reaches it and the outcome depends
 *    on it.
 *
 * Option names are resolved as iptables' getopt_long resolves them: iptables' own options, then
 * those of the matches and the target loaded so far (the newest first), exactly or by a unique
 * prefix, `--name=value` as `--name value`; an option no loaded match takes loads the match of
 * `-p` implicitly (`-p tcp --dport 80`).
 */
import type {Match, Target} from './compiled.js'
import {PROTOCOL_NUMBERS} from './compiled.js'
import {compileMatchModule} from './compile-matches.js'
import {compileTarget} from './compile-targets.js'
import type {OptionArg, ProtocolArg, RuleContext} from './compile-types.js'
import {BASE_OPTIONS, MATCH_MODULES, type OptionSpec, TARGET_SPECS} from './option-specs.js'
import type {Tokens} from './tokenize.js'
import {parseAddressMask} from './values.js'

export type CompileResult =
  | {
      ok: true
      matches: Match[]
      target: Target
      /** why the rule cannot be decided: its unmodelled matches and target, joined */
      unsupported?: string
      /** the unmodelled matches alone: the rule may or may not match */
      unsupportedMatch?: string
      /** the unmodelled target alone: what the rule does when it matches is not known */
      unsupportedTarget?: string
      /**
       * `-s a,b -d c,d` makes one rule per address pair (iptables expands it, sources outer):
       * the match arrays of those rules, in order; absent for a single rule
       */
      expanded?: Match[][]
    }
  | {ok: false; message: string}

interface Group {
  readonly name: string
  readonly options: OptionArg[]
  /** the options xcc knows for it; undefined for a match or target xcc does not know */
  readonly spec: Readonly<Record<string, OptionSpec>> | undefined
}

class SyntaxProblem extends Error {}

export function compileRuleArgs(tokens: Tokens, context: RuleContext): CompileResult {
  try {
    return compileOrThrow(tokens, context)
  } catch (error) {
    if (error instanceof SyntaxProblem) return {ok: false, message: error.message}
    throw error
  }
}

/** `-s a,b`: the address matches of one field, and where the first of them sits in the match list */
interface AddressList {
  readonly at: number
  readonly matches: Match[]
}

function compileOrThrow({texts, kinds}: Tokens, context: RuleContext): CompileResult {
  const matches: Match[] = []
  const modules: Group[] = []
  const unsupportedMatch: string[] = []
  let protocol: ProtocolArg | undefined
  let target: (Group & {goto: boolean}) | undefined
  /** every match and the target, in the order the rule loads them */
  const loaded: Group[] = []
  const lists: Partial<Record<'src' | 'dst', AddressList>> = {}
  const seen = new Set<string>()
  let negate = false
  let i = 0
  while (i < texts.length) {
    const kind = kinds[i]
    if (kind === 'bang') {
      if (negate) throw new SyntaxProblem('"!" given twice')
      negate = true
      i++
      continue
    }
    let name = texts[i] as string
    let inline: string | undefined
    if (kind !== 'option') {
      // getopt takes `-ptcp` as `-p tcp`
      const attached = /^-([sdpiojgmc])(.+)$/.exec(name)
      if (!attached) throw new SyntaxProblem(`unexpected argument "${name}"`)
      name = `-${attached[1] as string}`
      inline = attached[2] as string
    } else if (name.startsWith('--') && name.indexOf('=') > 2) {
      inline = name.slice(name.indexOf('=') + 1)
      name = name.slice(0, name.indexOf('='))
    }
    // the option's values are the value tokens that follow it
    const first = i + 1
    i = first
    while (i < texts.length && kinds[i] === 'value') i++
    const values = inline === undefined ? texts.slice(first, i) : [inline, ...texts.slice(first, i)]
    const negated = negate
    negate = false
    let option = name
    let owner: Group | undefined
    if (name.startsWith('--')) {
      const resolved = resolveLong(name, loaded) ?? loadImplicitProtocol(name, protocol, modules, loaded)
      if (!resolved) throw new SyntaxProblem(`unknown option ${name}: no -m match or -j target of the rule takes it`)
      if ('short' in resolved) option = resolved.short
      else ({group: owner, option} = resolved)
    }
    if (owner) {
      owner.options.push({name: option, negated, values})
      continue
    }
    if (option.length === 2 && 'sdiopfjgm'.includes(option[1] as string) && option !== '-m') {
      const letter = option === '-g' ? '-j' : option
      if (seen.has(letter)) throw new SyntaxProblem(option === '-j' || option === '-g' ? 'more than one target (-j/-g)' : `multiple ${option} flags not allowed`)
      seen.add(letter)
    }
    switch (option) {
      case '-s': case '-d': {
        const field = option === '-s' ? 'src' : 'dst'
        const text = valueOf(name, values)
        const list: Match[] = []
        const hostNames: string[] = []
        for (const item of text.split(',')) {
          const parsed = parseAddressMask(item)
          if (!parsed) throw new SyntaxProblem(`${name}: "${item}" is not an IPv4 address or CIDR`)
          if ('hostName' in parsed) hostNames.push(parsed.hostName)
          else list.push({kind: 'address', field, negated, base: parsed.base, mask: parsed.mask})
        }
        if (hostNames.length > 0) {
          // which addresses the name stands for is not known, so neither is whether the field matches
          unsupportedMatch.push(`${name} ${hostNames.join(',')}: a host name, which iptables resolves when it loads the rule`)
          if (negated && text.includes(',')) throw new SyntaxProblem(`${name}: "!" not allowed with multiple source or destination addresses`)
          break
        }
        if (list.length > 1) {
          if (negated) throw new SyntaxProblem(`${name}: "!" not allowed with multiple source or destination addresses`)
          lists[field] = {at: matches.length, matches: list}
        }
        if (list[0]) matches.push(list[0])
        break
      }
      case '-i': case '-o': {
        const text = valueOf(name, values)
        if (!/^[^\s/]{1,15}$/.test(text)) throw new SyntaxProblem(`${name}: "${text}" is not an interface name`)
        const prefix = text.endsWith('+')
        matches.push({kind: 'interface', field: option === '-i' ? 'in' : 'out', negated, name: prefix ? text.slice(0, -1) : text, prefix})
        break
      }
      case '-p': {
        const text = valueOf(name, values).toLowerCase()
        const value = /^\d{1,3}$/.test(text) ? Number(text) : PROTOCOL_NUMBERS[text]
        if (value !== undefined && value > 255) throw new SyntaxProblem(`-p: "${text}" is not a protocol`)
        if (value === undefined && !/^[a-z][a-z0-9-]*$/.test(text)) throw new SyntaxProblem(`-p: "${text}" is not a protocol`)
        // A protocol our packets never carry (gre, esp, …) simply never matches them.
        protocol = {value: value ?? -1, name: text, negated}
        matches.push({kind: 'protocol', negated, protocol: value ?? -1})
        break
      }
      case '-f':
        if (values.length > 0) throw new SyntaxProblem(`unexpected argument "${values[0]}" after ${name}`)
        matches.push({kind: 'fragment', negated})
        break
      case '-m': {
        rejectNegation(name, negated)
        const moduleName = valueOf(name, values)
        const module: Group = {name: moduleName, options: [], spec: MATCH_MODULES.get(moduleName)?.options}
        modules.push(module)
        loaded.push(module)
        break
      }
      case '-j': case '-g': {
        rejectNegation(name, negated)
        const targetName = valueOf(name, values)
        // a chain takes no option; a target xcc does not know may take any
        const spec = option === '-g' || context.isChain(targetName) ? {} : TARGET_SPECS.get(targetName)
        target = {name: targetName, goto: option === '-g', options: [], spec}
        loaded.push(target)
        break
      }
      case '-c':
        rejectNegation(name, negated)
        if (values.length < 1 || values.length > 2 || !values.every((v) => /^\d+(,\d+)?$/.test(v))) {
          throw new SyntaxProblem(`${name} needs packet and byte counters`)
        }
        break
      default:
        throw new SyntaxProblem(BASE_OPTIONS.has(name) ? `option ${name} cannot be used in a rule` : `unknown option ${name}`)
    }
  }
  if (negate) throw new SyntaxProblem('"!" at the end of the rule')

  for (const module of modules) {
    const compiled = compileMatchModule(module.name, module.options, protocol)
    if (!compiled.ok) throw new SyntaxProblem(compiled.message)
    for (const match of compiled.matches) matches.push(match)
    if (compiled.unsupported) unsupportedMatch.push(compiled.unsupported)
  }
  let compiledTarget: Target = {kind: 'none'}
  let unsupportedTarget: string | undefined
  if (target) {
    const compiled = compileTarget(target.name, target.goto, target.options, context, protocol)
    if (!compiled.ok) throw new SyntaxProblem(compiled.message)
    if (compiled.unsupported) unsupportedTarget = compiled.unsupported
    else compiledTarget = compiled.target
  }
  const result: CompileResult = {ok: true, matches, target: compiledTarget}
  if (unsupportedMatch.length > 0) result.unsupportedMatch = unsupportedMatch.join('; ')
  if (unsupportedTarget !== undefined) result.unsupportedTarget = unsupportedTarget
  if (unsupportedMatch.length > 0 || unsupportedTarget !== undefined) {
    result.unsupported = [...unsupportedMatch, ...(unsupportedTarget === undefined ? [] : [unsupportedTarget])].join('; ')
  }
  if (lists.src || lists.dst) result.expanded = expand(matches, lists)
  return result
}

/** One match array per address pair, sources outer (iptables' generate_entry loop). */
function expand(matches: readonly Match[], lists: Partial<Record<'src' | 'dst', AddressList>>): Match[][] {
  const sources = lists.src?.matches ?? [undefined]
  const destinations = lists.dst?.matches ?? [undefined]
  const rules: Match[][] = []
  for (const src of sources) {
    for (const dst of destinations) {
      const copy = matches.slice()
      if (src && lists.src) copy[lists.src.at] = src
      if (dst && lists.dst) copy[lists.dst.at] = dst
      rules.push(copy)
    }
  }
  return rules
}

type Resolved = {readonly short: string} | {readonly group: Group; readonly option: string}

/**
 * getopt_long over iptables' options and those of `loaded` (the newest first): an exact name,
 * else a match or target xcc does not know takes it (its options are unknown), else a unique
 * prefix. Undefined when nothing takes it.
 */
function resolveLong(name: string, loaded: readonly Group[]): Resolved | undefined {
  if (BASE_OPTIONS.has(name)) return baseOption(name)
  for (let k = loaded.length - 1; k >= 0; k--) {
    const group = loaded[k] as Group
    if (group.spec && Object.hasOwn(group.spec, name)) return {group, option: name}
  }
  for (let k = loaded.length - 1; k >= 0; k--) {
    const group = loaded[k] as Group
    if (!group.spec) return {group, option: name}
  }
  const found = new Map<string, Resolved>()
  for (const [long, short] of BASE_OPTIONS) if (long.startsWith(name)) found.set(`base ${short ?? long}`, baseOption(long))
  loaded.forEach((group, k) => {
    for (const [long, spec] of Object.entries(group.spec ?? {})) {
      if (long.startsWith(name)) found.set(`${k} ${spec.canonical ?? long}`, {group, option: long})
    }
  })
  if (found.size > 1) {
    const names = [...found.values()].map((r) => ('short' in r ? r.short : r.option))
    throw new SyntaxProblem(`option ${name} is ambiguous (${names.join(', ')})`)
  }
  return found.values().next().value
}

function baseOption(long: string): Resolved {
  const short = BASE_OPTIONS.get(long)
  if (short === undefined) throw new SyntaxProblem(`option ${long} cannot be used in a rule`)
  return {short}
}

/** An option nothing loaded takes: iptables then loads the match of `-p` (once) and tries again. */
function loadImplicitProtocol(name: string, protocol: ProtocolArg | undefined, modules: Group[], loaded: Group[]): Resolved | undefined {
  if (!protocol || protocol.negated) return undefined
  const spec = MATCH_MODULES.get(protocol.name)
  if (!spec || modules.some((m) => m.name === protocol.name)) return undefined
  const implicit: Group = {name: protocol.name, options: [], spec: spec.options}
  const resolved = resolveLong(name, [...loaded, implicit])
  if (!resolved || !('group' in resolved) || resolved.group !== implicit) return undefined
  modules.push(implicit)
  loaded.push(implicit)
  return resolved
}

// Plain functions rather than closures inside the loop: this runs for every option of a
// 100k-line dump, and per-iteration closures cost measurably (tsx wraps each one with __name).
function valueOf(name: string, values: readonly string[]): string {
  if (values.length !== 1) throw new SyntaxProblem(values.length < 1 ? `${name} needs a value` : `unexpected argument "${values[1]}" after ${name}`)
  return values[0] as string
}

function rejectNegation(name: string, negated: boolean): void {
  if (negated) throw new SyntaxProblem(`${name} cannot be negated with "!"`)
}
