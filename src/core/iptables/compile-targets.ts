/**
 * Compiles `-j TARGET [options]` / `-g CHAIN`. A jump must name a chain of the same table
 * declared before the rule (iptables-restore refuses anything else); a target the kernel has
 * but the evaluator does not model is `unsupported`.
 */
import type {PortRange, Target} from './compiled.js'
import type {OptionArg, RuleContext} from './compile-types.js'
import {parseMarkMask, parseNatSpec, parsePortRange, parseUint32} from './values.js'

export type TargetResult = {ok: true; target: Target; unsupported?: string} | {ok: false; message: string}

/** Targets that never terminate and change nothing the evaluator looks at (addresses, ports, mark, verdict). */
const PASS_THROUGH = new Set(['LOG', 'NFLOG', 'ULOG', 'TRACE', 'TCPMSS', 'CHECKSUM', 'CLASSIFY', 'DSCP', 'TOS', 'TTL', 'AUDIT'])

/** Kernel targets the evaluator does not model: a rule using one cannot be decided. */
const UNMODELLED = new Set(['CONNMARK', 'CT', 'NOTRACK', 'TPROXY', 'REDIRECT', 'NETMAP', 'HL', 'ECN', 'CONNSECMARK', 'SECMARK', 'NFQUEUE',
  'QUEUE', 'SET', 'HMARK', 'IDLETIMER', 'LED', 'TEE', 'SYNPROXY', 'CLUSTERIP', 'RATEEST', 'SAME', 'MIRROR', 'JOOL', 'FULLCONENAT'])

/** options each modelled target takes, and how many values each needs */
const TARGET_OPTIONS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  ACCEPT: {},
  DROP: {},
  RETURN: {},
  REJECT: {'--reject-with': 1},
  MASQUERADE: {'--to-ports': 1, '--random': 0, '--random-fully': 0},
  SNAT: {'--to-source': 1, '--random': 0, '--random-fully': 0, '--persistent': 0},
  DNAT: {'--to-destination': 1, '--random': 0, '--persistent': 0},
  MARK: {'--set-mark': 1, '--set-xmark': 1, '--or-mark': 1, '--and-mark': 1, '--xor-mark': 1},
}

/**
 * TARGET_OPTIONS by name. A Map rather than TARGET_OPTIONS[name]: a user chain may be called
 * "constructor", and a keyed load with a freshly sliced string is slow.
 */
const MODELLED: ReadonlyMap<string, Readonly<Record<string, number>>> = new Map(Object.entries(TARGET_OPTIONS))

const LONGEST_RESOLVED = Math.max(...[...MODELLED.keys(), ...PASS_THROUGH].map((name) => name.length))

/** true for a target name compileTarget resolves before it looks for a chain of that name */
export function isResolvedBeforeChains(name: string): boolean {
  // the length first: most chain names (KUBE-SEP-…) are longer than any target's, and a Set
  // lookup would have the engine hash the name
  return name.length <= LONGEST_RESOLVED && (MODELLED.has(name) || PASS_THROUGH.has(name))
}

export function compileTarget(name: string, goto: boolean, options: readonly OptionArg[], context: RuleContext): TargetResult {
  if (goto) {
    if (!context.isChain(name)) return {ok: false, message: `goto to undefined chain ${name}`}
    if (options.length > 0) return {ok: false, message: `unexpected option ${options[0]?.name} after -g ${name}`}
    return {ok: true, target: {kind: 'jump', chain: name, goto: true}}
  }
  const spec = MODELLED.get(name)
  if (spec) return compileModelled(name, spec, options)
  if (PASS_THROUGH.has(name)) return {ok: true, target: {kind: 'continue', name}}
  if (context.isChain(name)) {
    if (options.length > 0) return {ok: false, message: `unexpected option ${options[0]?.name} after -j ${name}`}
    return {ok: true, target: {kind: 'jump', chain: name, goto: false}}
  }
  if (UNMODELLED.has(name)) return {ok: true, target: {kind: 'none'}, unsupported: `target ${name} is not modelled`}
  return {ok: false, message: `jump to undefined chain or unknown target ${name}`}
}

function compileModelled(name: string, spec: Readonly<Record<string, number>>, options: readonly OptionArg[]): TargetResult {
  const values = new Map<string, string>()
  const unknown: string[] = []
  for (const option of options) {
    const arity = spec[option.name]
    if (arity === undefined) {
      if (Object.keys(spec).length === 0) return {ok: false, message: `target ${name} takes no option (got ${option.name})`}
      unknown.push(option.name)
      continue
    }
    if (option.negated) return {ok: false, message: `${option.name} cannot be negated`}
    if (option.values.length !== arity) {
      return {ok: false, message: option.values.length < arity ? `${option.name} needs a value` : `unexpected argument "${option.values[arity]}" after ${option.name}`}
    }
    if (values.has(option.name)) return {ok: false, message: `${option.name} given twice`}
    values.set(option.name, option.values[0] ?? '')
  }
  const compiled = compileWithValues(name, values)
  if (!compiled.ok) return compiled
  if (unknown.length > 0) return {ok: true, target: {kind: 'none'}, unsupported: `-j ${name} ${unknown.join(' ')} is not modelled`}
  return compiled
}

function compileWithValues(name: string, values: ReadonlyMap<string, string>): TargetResult {
  const random = values.has('--random') || values.has('--random-fully')
  switch (name) {
    case 'ACCEPT':
    case 'DROP':
    case 'REJECT':
      return {ok: true, target: {kind: 'verdict', verdict: name}}
    case 'RETURN':
      return {ok: true, target: {kind: 'return'}}
    case 'MASQUERADE': {
      const text = values.get('--to-ports')
      let ports: PortRange | undefined
      if (text !== undefined) {
        ports = parsePortRange(text, '-')
        if (!ports) return {ok: false, message: `--to-ports: "${text}" is not a port or port range`}
      }
      return {ok: true, target: ports ? {kind: 'masquerade', ports, random} : {kind: 'masquerade', random}}
    }
    case 'SNAT': {
      const text = values.get('--to-source')
      if (text === undefined) return {ok: false, message: 'SNAT needs --to-source'}
      const spec = parseNatSpec(text)
      if (!spec || (spec.address === undefined && !spec.addressRange)) return {ok: false, message: `--to-source: "${text}" is not ip[-ip][:port[-port]]`}
      if (spec.addressRange) return {ok: true, target: {kind: 'none'}, unsupported: 'SNAT to an address range: the kernel picks the address by hash'}
      const base = {kind: 'snat' as const, address: spec.address as number, random}
      return {ok: true, target: spec.ports ? {...base, ports: spec.ports} : base}
    }
    case 'DNAT': {
      const text = values.get('--to-destination')
      if (text === undefined) return {ok: false, message: 'DNAT needs --to-destination'}
      const spec = parseNatSpec(text)
      if (!spec) return {ok: false, message: `--to-destination: "${text}" is not [ip[-ip]][:port[-port]]`}
      if (spec.addressRange) return {ok: true, target: {kind: 'none'}, unsupported: 'DNAT to an address range: the kernel picks the address by hash'}
      if (values.has('--random')) return {ok: true, target: {kind: 'none'}, unsupported: 'DNAT --random picks the port at random'}
      const target: {kind: 'dnat'; address?: number; ports?: PortRange} = {kind: 'dnat'}
      if (spec.address !== undefined) target.address = spec.address
      if (spec.ports) target.ports = spec.ports
      return {ok: true, target}
    }
    case 'MARK':
      return compileMark(values)
    default:
      return {ok: false, message: `unknown target ${name}`}
  }
}

/** MARK options as the kernel's (mark & and) ^ xor (libxt_MARK's translation). */
function compileMark(values: ReadonlyMap<string, string>): TargetResult {
  if (values.size !== 1) return {ok: false, message: 'MARK needs exactly one of --set-mark, --set-xmark, --or-mark, --and-mark, --xor-mark'}
  const [option, text] = [...values][0] as [string, string]
  if (option === '--set-mark' || option === '--set-xmark') {
    const parsed = parseMarkMask(text)
    if (!parsed) return {ok: false, message: `${option}: "${text}" is not value[/mask]`}
    // --set-mark v/m zeroes m and ORs v, i.e. xmark with mask m|v
    const mask = option === '--set-mark' ? (parsed.mask | parsed.value) >>> 0 : parsed.mask
    return {ok: true, target: {kind: 'mark', and: ~mask >>> 0, xor: parsed.value}}
  }
  const bits = parseUint32(text)
  if (bits === undefined) return {ok: false, message: `${option}: "${text}" is not a 32-bit value`}
  if (option === '--or-mark') return {ok: true, target: {kind: 'mark', and: ~bits >>> 0, xor: bits}}
  if (option === '--and-mark') return {ok: true, target: {kind: 'mark', and: bits, xor: 0}}
  return {ok: true, target: {kind: 'mark', and: 0xffffffff, xor: bits}}
}
