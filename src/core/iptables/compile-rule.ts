/**
 * Compiles the arguments of one `-A CHAIN …` line into matches and a target.
 *
 * Two kinds of problem are kept apart on purpose:
 *  - a malformed line (unknown basic option, missing or bad value, stray token) is a syntax
 *    error: iptables-restore would refuse the whole dump;
 *  - a well-formed match or target the evaluator does not model is *unsupported*: the rule is
 *    kept and makes the evaluation `unknown` when it could decide the packet.
 */
import type {Match, Target} from './compiled.js'
import {PROTOCOL_NUMBERS} from './compiled.js'
import {compileMatchModule, moduleTakesOption} from './compile-matches.js'
import {compileTarget} from './compile-targets.js'
import type {OptionArg, ProtocolArg, RuleContext} from './compile-types.js'
import type {Tokens} from './tokenize.js'
import {parseAddressMask} from './values.js'

export type CompileResult =
  | {ok: true; matches: Match[]; target: Target; unsupported?: string}
  | {ok: false; message: string}

interface Group {
  readonly name: string
  readonly options: OptionArg[]
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

function compileOrThrow({texts, kinds}: Tokens, context: RuleContext): CompileResult {
  const matches: Match[] = []
  const modules: Group[] = []
  let protocol: ProtocolArg | undefined
  let targetGroup: {name: string; goto: boolean; options: OptionArg[]} | undefined
  let receiver: Group | undefined
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
    const name = texts[i] as string
    if (kind !== 'option') throw new SyntaxProblem(`unexpected argument "${name}"`)
    // the option's values are the value tokens that follow it
    const first = i + 1
    i = first
    while (i < texts.length && kinds[i] === 'value') i++
    const count = i - first
    const negated = negate
    negate = false
    switch (name) {
      case '-s': case '--source': case '--src':
      case '-d': case '--destination': case '--dst': {
        const text = valueOf(name, texts, first, count)
        const parsed = parseAddressMask(text)
        if (!parsed) throw new SyntaxProblem(`${name}: "${text}" is not an IPv4 address or CIDR`)
        const field = name === '-s' || name === '--source' || name === '--src' ? 'src' : 'dst'
        matches.push({kind: 'address', field, negated, base: parsed.base, mask: parsed.mask})
        break
      }
      case '-i': case '--in-interface':
      case '-o': case '--out-interface': {
        const text = valueOf(name, texts, first, count)
        if (!/^[^\s/]{1,15}$/.test(text)) throw new SyntaxProblem(`${name}: "${text}" is not an interface name`)
        const prefix = text.endsWith('+')
        matches.push({
          kind: 'interface',
          field: name === '-i' || name === '--in-interface' ? 'in' : 'out',
          negated,
          name: prefix ? text.slice(0, -1) : text,
          prefix,
        })
        break
      }
      case '-p': case '--protocol': {
        const text = valueOf(name, texts, first, count).toLowerCase()
        if (protocol) throw new SyntaxProblem('-p given twice')
        const value = /^\d{1,3}$/.test(text) ? Number(text) : PROTOCOL_NUMBERS[text]
        if (value !== undefined && value > 255) throw new SyntaxProblem(`-p: "${text}" is not a protocol`)
        if (value === undefined && !/^[a-z][a-z0-9-]*$/.test(text)) throw new SyntaxProblem(`-p: "${text}" is not a protocol`)
        // A protocol our packets never carry (gre, esp, …) simply never matches them.
        protocol = {value: value ?? -1, name: text, negated}
        matches.push({kind: 'protocol', negated, protocol: value ?? -1})
        break
      }
      case '-f': case '--fragment':
        expectNoValue(name, texts, first, count)
        matches.push({kind: 'fragment', negated})
        break
      case '-m': case '--match': {
        rejectNegation(name, negated)
        const module = {name: valueOf(name, texts, first, count), options: []}
        modules.push(module)
        receiver = module
        break
      }
      case '-j': case '--jump':
      case '-g': case '--goto': {
        rejectNegation(name, negated)
        if (targetGroup) throw new SyntaxProblem('more than one target (-j/-g)')
        targetGroup = {name: valueOf(name, texts, first, count), goto: name === '-g' || name === '--goto', options: []}
        receiver = targetGroup
        break
      }
      case '-c': case '--set-counters':
        rejectNegation(name, negated)
        if (count < 1 || count > 2 || !texts.slice(first, i).every((v) => /^\d+(,\d+)?$/.test(v))) {
          throw new SyntaxProblem(`${name} needs packet and byte counters`)
        }
        break
      default: {
        if (!name.startsWith('--')) throw new SyntaxProblem(`unknown option ${name}`)
        const option: OptionArg = {name, negated, values: texts.slice(first, i)}
        const owner = findOwner(name, receiver, modules, targetGroup)
        if (owner) {
          owner.options.push(option)
        } else if (protocol && !protocol.negated && moduleTakesOption(protocol.name, name) === true) {
          // `-p tcp --dport 80`: iptables loads the protocol's match implicitly.
          const implicit = {name: protocol.name, options: [option]}
          modules.push(implicit)
          receiver = implicit
        } else if (receiver) {
          // a known module with an option we do not know: compileMatchModule reports it as unsupported
          receiver.options.push(option)
        } else {
          throw new SyntaxProblem(`option ${name} does not belong to any -m match or -j target of the rule`)
        }
      }
    }
  }
  if (negate) throw new SyntaxProblem('"!" at the end of the rule')

  const unsupported: string[] = []
  for (const module of modules) {
    const compiled = compileMatchModule(module.name, module.options, protocol)
    if (!compiled.ok) throw new SyntaxProblem(compiled.message)
    for (const match of compiled.matches) matches.push(match)
    if (compiled.unsupported) unsupported.push(compiled.unsupported)
  }
  let target: Target = {kind: 'none'}
  if (targetGroup) {
    const compiled = compileTarget(targetGroup.name, targetGroup.goto, targetGroup.options, context)
    if (!compiled.ok) throw new SyntaxProblem(compiled.message)
    if (compiled.unsupported) unsupported.push(compiled.unsupported)
    else target = compiled.target
  }
  return unsupported.length > 0 ? {ok: true, matches, target, unsupported: unsupported.join('; ')} : {ok: true, matches, target}
}

// Plain functions rather than closures inside the loop: this runs for every option of a
// 100k-line dump, and per-iteration closures cost measurably (tsx wraps each one with __name).
function valueOf(name: string, texts: readonly string[], first: number, count: number): string {
  if (count !== 1) throw new SyntaxProblem(count < 1 ? `${name} needs a value` : `unexpected argument "${texts[first + 1]}" after ${name}`)
  return texts[first] as string
}

function expectNoValue(name: string, texts: readonly string[], first: number, count: number): void {
  if (count > 0) throw new SyntaxProblem(`unexpected argument "${texts[first]}" after ${name}`)
}

function rejectNegation(name: string, negated: boolean): void {
  if (negated) throw new SyntaxProblem(`${name} cannot be negated with "!"`)
}

/** The module or target an option belongs to: the current group, else the latest module that takes it. */
function findOwner(
  name: string,
  receiver: Group | undefined,
  modules: readonly Group[],
  target: Group | undefined,
): Group | undefined {
  if (!receiver) return undefined
  if (receiver === target || moduleTakesOption(receiver.name, name) !== false) return receiver
  for (let k = modules.length - 1; k >= 0; k--) {
    const module = modules[k] as Group
    if (moduleTakesOption(module.name, name) === true) return module
  }
  return undefined
}
