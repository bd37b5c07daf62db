/**
 * Compiles `-j TARGET [options]` / `-g CHAIN`. A jump must name a chain of the same table
 * declared before the rule (iptables-restore refuses anything else); a target the kernel has
 * but the evaluator does not model is `unsupported`. Option names arrive resolved
 * (compile-rule.ts); option-specs.ts lists what each target takes.
 */
import type {PortRange, Target} from './compiled.js'
import type {OptionArg, ProtocolArg, RuleContext} from './compile-types.js'
import {type OptionSpec, TARGET_SPECS} from './option-specs.js'
import {parseMarkMask, parseNatPorts, parseNatSpec, parseNumber, parseUint32} from './values.js'

export type TargetResult = {ok: true; target: Target; unsupported?: string} | {ok: false; message: string}

/** Targets that never terminate and change nothing the evaluator looks at (addresses, ports, marks, verdict). */
const PASS_THROUGH = new Set(['LOG', 'NFLOG', 'ULOG', 'TRACE', 'TCPMSS', 'CHECKSUM', 'CLASSIFY', 'DSCP', 'TOS', 'TTL', 'AUDIT'])

/** Kernel targets the evaluator does not model: a rule using one cannot be decided. */
const UNMODELLED = new Set(['CT', 'NOTRACK', 'TPROXY', 'REDIRECT', 'NETMAP', 'HL', 'ECN', 'CONNSECMARK', 'SECMARK', 'NFQUEUE',
  'QUEUE', 'SET', 'HMARK', 'IDLETIMER', 'LED', 'TEE', 'SYNPROXY', 'CLUSTERIP', 'RATEEST', 'SAME', 'MIRROR', 'JOOL', 'FULLCONENAT'])

/** The targets compileModelled compiles. */
const MODELLED_NAMES = ['ACCEPT', 'DROP', 'RETURN', 'REJECT', 'MASQUERADE', 'SNAT', 'DNAT', 'MARK', 'CONNMARK']

/**
 * TARGET_SPECS of the modelled targets by name. A Map lookup rather than a keyed load: a user
 * chain may be called "constructor", and a keyed load with a freshly sliced string is slow.
 */
const MODELLED: ReadonlyMap<string, Readonly<Record<string, OptionSpec>>> = new Map(MODELLED_NAMES.map((name) => [name, TARGET_SPECS.get(name) ?? {}]))

const LONGEST_RESOLVED = Math.max(...[...MODELLED.keys(), ...PASS_THROUGH].map((name) => name.length))

/** libipt_REJECT's --reject-with types and their short forms (read case-insensitively) */
const REJECT_TYPES = new Set(['icmp-net-unreachable', 'net-unreach', 'icmp-host-unreachable', 'host-unreach', 'icmp-proto-unreachable',
  'proto-unreach', 'icmp-port-unreachable', 'port-unreach', 'icmp-net-prohibited', 'net-prohib', 'icmp-host-prohibited', 'host-prohib',
  'tcp-reset', 'tcp-rst', 'icmp-admin-prohibited', 'admin-prohib'])

export function isRejectType(text: string): boolean {
  return REJECT_TYPES.has(text.toLowerCase())
}

/** true for a target name compileTarget resolves before it looks for a chain of that name */
export function isResolvedBeforeChains(name: string): boolean {
  // the length first: most chain names (KUBE-SEP-…) are longer than any target's, and a Set
  // lookup would have the engine hash the name
  return name.length <= LONGEST_RESOLVED && (MODELLED.has(name) || PASS_THROUGH.has(name))
}

export function compileTarget(name: string, goto: boolean, options: readonly OptionArg[], context: RuleContext, protocol?: ProtocolArg): TargetResult {
  if (goto) {
    if (!context.isChain(name)) return {ok: false, message: `goto to undefined chain ${name}`}
    if (options.length > 0) return {ok: false, message: `unexpected option ${options[0]?.name} after -g ${name}`}
    return {ok: true, target: {kind: 'jump', chain: name, goto: true}}
  }
  const spec = MODELLED.get(name)
  if (spec) return compileModelled(name, spec, options, protocol)
  if (PASS_THROUGH.has(name)) return checkPassThrough(name, options)
  if (context.isChain(name)) {
    if (options.length > 0) return {ok: false, message: `unexpected option ${options[0]?.name} after -j ${name}`}
    return {ok: true, target: {kind: 'jump', chain: name, goto: false}}
  }
  if (UNMODELLED.has(name)) return {ok: true, target: {kind: 'none'}, unsupported: `target ${name} is not modelled`}
  // iptables-restore --test takes a jump to a builtin chain; loading it, the kernel refuses it
  if (context.isBuiltin?.(name)) return {ok: true, target: {kind: 'none'}, unsupported: `jump to the builtin chain ${name}, which the kernel refuses`}
  return {ok: false, message: `jump to undefined chain or unknown target ${name}`}
}

/** LOG, TCPMSS, …: their options are checked when xcc knows them, and they change nothing. */
function checkPassThrough(name: string, options: readonly OptionArg[]): TargetResult {
  const spec = TARGET_SPECS.get(name)
  if (spec) {
    const checked = checkValues(spec, options)
    if (!checked.ok) return checked
  }
  return {ok: true, target: {kind: 'continue', name}}
}

function checkValues(spec: Readonly<Record<string, OptionSpec>>, options: readonly OptionArg[]): {ok: true; values: Map<string, string>} | {ok: false; message: string} {
  const values = new Map<string, string>()
  for (const option of options) {
    const known = spec[option.name]
    if (!known) return {ok: false, message: `unknown option ${option.name}`}
    if (option.negated) return {ok: false, message: `${option.name} cannot be negated`}
    if (option.values.length !== known.values) {
      return {ok: false, message: option.values.length < known.values ? `${option.name} needs a value` : `unexpected argument "${option.values[known.values]}" after ${option.name}`}
    }
    if (values.has(option.name)) return {ok: false, message: `${option.name} given twice`}
    values.set(option.name, option.values[0] ?? '')
  }
  return {ok: true, values}
}

function compileModelled(name: string, spec: Readonly<Record<string, OptionSpec>>, options: readonly OptionArg[], protocol: ProtocolArg | undefined): TargetResult {
  if (Object.keys(spec).length === 0 && options.length > 0) return {ok: false, message: `target ${name} takes no option (got ${options[0]?.name})`}
  const checked = checkValues(spec, options)
  if (!checked.ok) return checked
  return compileWithValues(name, checked.values, protocol)
}

/** libxt_NAT: a port needs a protocol that has ports */
function portsNeedProtocol(protocol: ProtocolArg | undefined): TargetResult | undefined {
  if (protocol && !protocol.negated && [6, 17, 132, 33, 136].includes(protocol.value)) return undefined
  return {ok: false, message: 'a port in a NAT target needs -p tcp, udp, sctp or dccp'}
}

function compileWithValues(name: string, values: ReadonlyMap<string, string>, protocol: ProtocolArg | undefined): TargetResult {
  const random = values.has('--random') || values.has('--random-fully')
  switch (name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return {ok: true, target: name === 'RETURN' ? {kind: 'return'} : {kind: 'verdict', verdict: name}}
    case 'REJECT': {
      const type = values.get('--reject-with')
      if (type !== undefined && !isRejectType(type)) return {ok: false, message: `--reject-with: unknown reject type "${type}"`}
      return {ok: true, target: {kind: 'verdict', verdict: 'REJECT'}}
    }
    case 'MASQUERADE': {
      const text = values.get('--to-ports')
      let ports: PortRange | undefined
      if (text !== undefined) {
        ports = parseNatPorts(text)
        if (!ports) return {ok: false, message: `--to-ports: "${text}" is not a port or port range`}
        const refused = portsNeedProtocol(protocol)
        if (refused) return refused
      }
      return {ok: true, target: ports ? {kind: 'masquerade', ports, random} : {kind: 'masquerade', random}}
    }
    case 'SNAT': {
      const text = values.get('--to-source')
      if (text === undefined) return {ok: false, message: 'SNAT needs --to-source'}
      const spec = parseNatSpec(text)
      if (!spec || (spec.address === undefined && !spec.addressRange)) return {ok: false, message: `--to-source: "${text}" is not ip[-ip][:port[-port]]`}
      if (spec.ports) {
        const refused = portsNeedProtocol(protocol)
        if (refused) return refused
      }
      if (spec.addressRange) return {ok: true, target: {kind: 'none'}, unsupported: 'SNAT to an address range: the kernel picks the address by hash'}
      const base = {kind: 'snat' as const, address: spec.address as number, random}
      return {ok: true, target: spec.ports ? {...base, ports: spec.ports} : base}
    }
    case 'DNAT': {
      const text = values.get('--to-destination')
      if (text === undefined) return {ok: false, message: 'DNAT needs --to-destination'}
      const spec = parseNatSpec(text)
      if (!spec) return {ok: false, message: `--to-destination: "${text}" is not [ip[-ip]][:port[-port]]`}
      if (spec.ports) {
        const refused = portsNeedProtocol(protocol)
        if (refused) return refused
      }
      if (spec.addressRange) return {ok: true, target: {kind: 'none'}, unsupported: 'DNAT to an address range: the kernel picks the address by hash'}
      if (values.has('--random')) return {ok: true, target: {kind: 'none'}, unsupported: 'DNAT --random picks the port at random'}
      const target: {kind: 'dnat'; address?: number; ports?: PortRange} = {kind: 'dnat'}
      if (spec.address !== undefined) target.address = spec.address
      if (spec.ports) target.ports = spec.ports
      return {ok: true, target}
    }
    case 'MARK':
      return compileMark(values)
    case 'CONNMARK':
      return compileConnmark(values)
    default:
      return {ok: false, message: `unknown target ${name}`}
  }
}

const MARK_OPTIONS = ['--set-mark', '--set-xmark', '--or-mark', '--and-mark', '--xor-mark']

/**
 * A mark option as libxt_MARK and libxt_CONNMARK translate it: the bits to keep of the old mark
 * (`and`) and the bits to flip after that (`xor`). --set-mark v/m zeroes m|v and sets v.
 */
function markChange(option: string, text: string): {and: number; xor: number} | string {
  if (option === '--set-mark' || option === '--set-xmark') {
    const parsed = parseMarkMask(text)
    if (!parsed) return `${option}: "${text}" is not value[/mask]`
    const mask = option === '--set-mark' ? (parsed.mask | parsed.value) >>> 0 : parsed.mask
    return {and: ~mask >>> 0, xor: parsed.value}
  }
  const bits = parseUint32(text)
  if (bits === undefined) return `${option}: "${text}" is not a 32-bit value`
  if (option === '--or-mark') return {and: ~bits >>> 0, xor: bits}
  if (option === '--and-mark') return {and: bits, xor: 0}
  return {and: 0xffffffff, xor: bits}
}

/** MARK options as the kernel's (mark & and) ^ xor (libxt_MARK's translation). */
function compileMark(values: ReadonlyMap<string, string>): TargetResult {
  if (values.size !== 1) return {ok: false, message: 'MARK needs exactly one of --set-mark, --set-xmark, --or-mark, --and-mark, --xor-mark'}
  const [option, text] = [...values][0] as [string, string]
  const change = markChange(option, text)
  if (typeof change === 'string') return {ok: false, message: change}
  return {ok: true, target: {kind: 'mark', and: change.and, xor: change.xor}}
}

/**
 * CONNMARK as libxt_CONNMARK hands it to the kernel (xt_connmark_tginfo2), its options applied
 * in the order written: one mode; the masks start as all ones, a --set-… option sets ctmask,
 * --mask sets both, --nfmask and --ctmask one each (a later one wins); then the shift.
 * iptables-save prints --set-mark and the like as --set-xmark ctmark/ctmask.
 */
function compileConnmark(values: ReadonlyMap<string, string>): TargetResult {
  const modes = [...MARK_OPTIONS, '--save-mark', '--restore-mark'].filter((option) => values.has(option))
  if (modes.length !== 1) return {ok: false, message: 'CONNMARK needs exactly one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark, --save-mark, --restore-mark'}
  if (values.has('--mask') && (values.has('--nfmask') || values.has('--ctmask'))) {
    return {ok: false, message: 'CONNMARK --mask cannot be used together with --nfmask or --ctmask'}
  }
  if (values.has('--left-shift-mark') && values.has('--right-shift-mark')) {
    return {ok: false, message: 'CONNMARK --left-shift-mark cannot be used together with --right-shift-mark'}
  }
  let mode: 'set' | 'save' | 'restore' = 'set'
  let mark = 0
  let nfmask = 0xffffffff
  let ctmask = 0xffffffff
  let shift = 0
  for (const [option, text] of values) {
    if (MARK_OPTIONS.includes(option)) {
      const change = markChange(option, text)
      if (typeof change === 'string') return {ok: false, message: `CONNMARK ${change}`}
      // the kernel's set form: ctmark = (ctmark & ~ctmask) ^ mark
      mark = change.xor
      ctmask = ~change.and >>> 0
    } else if (option === '--save-mark' || option === '--restore-mark') {
      mode = option === '--save-mark' ? 'save' : 'restore'
    } else if (option === '--mask' || option === '--nfmask' || option === '--ctmask') {
      const bits = parseUint32(text)
      if (bits === undefined) return {ok: false, message: `CONNMARK ${option}: "${text}" is not a 32-bit value`}
      if (option !== '--ctmask') nfmask = bits
      if (option !== '--nfmask') ctmask = bits
    } else {
      const bits = parseNumber(text, 31)
      if (bits === undefined) return {ok: false, message: `CONNMARK ${option}: "${text}" is not 0 to 31`}
      shift = option === '--right-shift-mark' ? -bits : bits
    }
  }
  return {ok: true, target: {kind: 'connmark', mode, mark, nfmask, ctmask, shift}}
}
