/**
 * Compiles the options of one `-m <module>` into decidable matches. A module or option the
 * evaluator does not model yields `unsupported` (the rule becomes "cannot decide"); a bad
 * value, or a combination iptables refuses, yields a syntax error. The option names arrive
 * resolved (compile-rule.ts); option-specs.ts lists what each module takes.
 */
import type {CtState} from './types.js'
import type {AddrType, Match, PortRange} from './compiled.js'
import type {OptionArg, ProtocolArg} from './compile-types.js'
import {IPV6_ONLY_MODULES, MATCH_MODULES, type ModuleSpec} from './option-specs.js'
import {namesUnknownService, parseMarkMask, parsePortRange, parseXtIp} from './values.js'

export type ModuleResult = {ok: true; matches: readonly Match[]; unsupported?: string} | {ok: false; message: string}

const TCP_FLAGS: Readonly<Record<string, number>> = {FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128, ALL: 255, NONE: 0}
const CT_STATES: readonly string[] = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED']
const ADDR_TYPES: readonly string[] = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT',
  'THROW', 'NAT', 'XRESOLVE']
const PROTOCOL_NAMES: Readonly<Record<number, string>> = {1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp'}

class BadValue extends Error {}

const NOTHING: ModuleResult = {ok: true, matches: []}

export function compileMatchModule(module: string, options: readonly OptionArg[], protocol: ProtocolArg | undefined): ModuleResult {
  if (IPV6_ONLY_MODULES.has(module)) return {ok: false, message: `-m ${module} is a match of ip6tables, which iptables cannot load`}
  const spec = MATCH_MODULES.get(module)
  if (!spec) return {ok: true, matches: [], unsupported: `match -m ${module} is not modelled`}
  // fast path for the commonest module of a kube-proxy dump: one comment, nothing to compile
  const first = options[0]
  if (module === 'comment' && options.length === 1 && first?.name === '--comment' && !first.negated && first.values.length === 1) return NOTHING
  const unsupported: string[] = []
  const matches: Match[] = []
  try {
    checkOptions(module, spec, options, protocol)
    if (module === 'statistic') return {ok: true, matches: [compileStatistic(options)]}
    if (module === 'addrtype') return compileAddrtype(options)
    if (module === 'set') return compileSet(options, spec)
    for (const option of options) {
      if (spec.unmodelled.includes(option.name)) {
        unsupported.push(`-m ${module} ${option.name} is not modelled`)
        continue
      }
      const match = compileOption(module, option, protocol, unsupported)
      if (match) matches.push(match)
    }
  } catch (error) {
    if (error instanceof BadValue) return {ok: false, message: error.message}
    throw error
  }
  return unsupported.length > 0 ? {ok: true, matches, unsupported: unsupported.join('; ')} : {ok: true, matches}
}

/** What iptables checks of a module's options before their values: count, negation, repetition, required ones, -p. */
function checkOptions(module: string, spec: ModuleSpec, options: readonly OptionArg[], protocol: ProtocolArg | undefined): void {
  if (spec.protocol !== undefined && (!protocol || protocol.negated || protocol.value !== spec.protocol)) {
    throw new BadValue(`-m ${module} requires -p ${PROTOCOL_NAMES[spec.protocol] ?? spec.protocol}`)
  }
  const seen: string[] = []
  for (const option of options) {
    const known = spec.options[option.name]
    if (!known) throw new BadValue(`-m ${module}: unknown option ${option.name}`)
    const canonical = known.canonical ?? option.name
    if (seen.includes(canonical)) throw new BadValue(`-m ${module}: ${option.name} given twice`)
    seen.push(canonical)
    if (option.negated && !known.negatable) throw new BadValue(`-m ${module}: ${option.name} cannot be negated`)
    if (option.values.length !== known.values) {
      throw new BadValue(option.values.length < known.values ? `${option.name} needs ${known.values === 2 ? 'two values' : 'a value'}`
        : `unexpected argument "${option.values[known.values]}" after ${option.name}`)
    }
  }
  for (const required of spec.required ?? []) {
    if (!seen.includes(required)) throw new BadValue(`-m ${module} needs ${required}`)
  }
  if (module === 'physdev' && options.length === 0) throw new BadValue('-m physdev needs one of its options')
}

function canonical(module: string, name: string): string {
  return MATCH_MODULES.get(module)?.options[name]?.canonical ?? name
}

function compileOption(module: string, option: OptionArg, protocol: ProtocolArg | undefined, unsupported: string[]): Match | undefined {
  const value = option.values[0] ?? ''
  const negated = option.negated
  switch (canonical(module, option.name)) {
    case '--comment':
      return undefined
    case '--sport':
    case '--dport': {
      const range = parsePortRange(value)
      const field = canonical(module, option.name) === '--sport' ? 'src' : 'dst'
      if (range) return {kind: 'ports', negated, protocol: protocolOf(module), field, ranges: [range]}
      if (!namesUnknownService(value)) throw new BadValue(`${option.name}: "${value}" is not a port or port range`)
      unsupported.push(`${option.name} ${value}: a service name xcc does not know (iptables looks it up in /etc/services)`)
      return undefined
    }
    case '--syn':
      // SYN set, RST/ACK/FIN clear
      return {kind: 'tcpFlags', negated, mask: 0x17, comp: 0x02}
    case '--tcp-flags':
      return {kind: 'tcpFlags', negated, mask: parseFlags(option.values[0] ?? ''), comp: parseFlags(option.values[1] ?? '')}
    case '--dports':
    case '--sports':
    case '--ports':
      return compileMultiport(option, protocol, unsupported)
    case '--mark': {
      const parsed = parseMarkMask(value)
      if (!parsed) throw new BadValue(`--mark: "${value}" is not value[/mask]`)
      // xt_mark and xt_connmark compare (mark & mask) with the value as given: bits outside the mask never match
      return {kind: module === 'connmark' ? 'connmark' : 'mark', negated, value: parsed.value, mask: parsed.mask}
    }
    case '--ctstate':
    case '--state': {
      // libxt_conntrack and libxt_state read state names case-insensitively
      const states = value.split(',').map((state) => state.toUpperCase())
      for (const state of states) {
        const known = CT_STATES.includes(state) || (option.name === '--ctstate' && (state === 'SNAT' || state === 'DNAT'))
        if (!known) throw new BadValue(`${option.name}: unknown state "${state}"`)
      }
      if (states.includes('SNAT') || states.includes('DNAT')) {
        // the virtual SNAT/DNAT states depend on the whole connection's NAT, not on this hook
        unsupported.push(`-m conntrack --ctstate ${value}: the SNAT/DNAT states are not modelled`)
        return undefined
      }
      return {kind: 'ctState', negated, states: states as CtState[]}
    }
    case '--src-range':
    case '--dst-range': {
      const dash = value.indexOf('-')
      const lo = parseXtIp(dash < 0 ? value : value.slice(0, dash))
      const hi = dash < 0 ? lo : parseXtIp(value.slice(dash + 1))
      if (lo === undefined || hi === undefined) throw new BadValue(`${option.name}: "${value}" is not an address range`)
      // a reversed range matches nothing (xt_iprange compares against both ends)
      return {kind: 'addressRange', field: option.name === '--src-range' ? 'src' : 'dst', negated, lo, hi}
    }
    case '--physdev-in':
    case '--physdev-out': {
      if (!/^[^\s/]{1,15}$/.test(value)) throw new BadValue(`${option.name}: "${value}" is not an interface name`)
      const prefix = value.endsWith('+')
      return {kind: 'physdev', test: option.name === '--physdev-in' ? 'in' : 'out', negated, name: prefix ? value.slice(0, -1) : value, prefix}
    }
    case '--physdev-is-in':
    case '--physdev-is-out':
    case '--physdev-is-bridged':
      return {kind: 'physdev', test: option.name.slice('--physdev-'.length) as 'is-in' | 'is-out' | 'is-bridged', negated}
    default:
      throw new BadValue(`-m ${module}: ${option.name} is not compiled`)
  }
}

function protocolOf(module: string): number {
  return module === 'tcp' ? 6 : module === 'udp' ? 17 : 132
}

function parseFlags(text: string): number {
  let bits = 0
  for (const name of text.split(',')) {
    // libxt_tcp compares flag names case-insensitively
    const bit = TCP_FLAGS[name.toUpperCase()]
    if (bit === undefined) throw new BadValue(`--tcp-flags: unknown flag "${name}"`)
    bits |= bit
  }
  return bits
}

/** `-m multiport`: at most 15 ports, a range counting as two (libxt_multiport). */
function compileMultiport(option: OptionArg, protocol: ProtocolArg | undefined, unsupported: string[]): Match | undefined {
  if (!protocol || protocol.negated || ![6, 17, 132].includes(protocol.value)) throw new BadValue('-m multiport needs -p tcp, -p udp or -p sctp')
  const value = option.values[0] ?? ''
  const parts = value.split(',')
  const ranges: PortRange[] = []
  let slots = 0
  let unknownService: string | undefined
  for (const part of parts) {
    slots += part.includes(':') ? 2 : 1
    const range = parsePortRange(part)
    if (range) ranges.push(range)
    else if (namesUnknownService(part)) unknownService ??= part
    else throw new BadValue(`${option.name}: "${part}" is not a port or port range`)
  }
  if (slots > 15) throw new BadValue(`${option.name}: too many ports (at most 15, a range counts as two)`)
  if (unknownService !== undefined) {
    unsupported.push(`${option.name} ${value}: "${unknownService}" is a service name xcc does not know (iptables looks it up in /etc/services)`)
    return undefined
  }
  const field = option.name === '--ports' ? 'either' : canonical('multiport', option.name) === '--sports' ? 'src' : 'dst'
  return {kind: 'ports', negated: option.negated, protocol: protocol.value, field, ranges}
}

/**
 * `-m addrtype`: --src-type and --dst-type (names case-insensitive), each limited to the input or
 * output interface by a --limit-iface-in/out flag of the same module (libxt_addrtype, revision 1).
 */
function compileAddrtype(options: readonly OptionArg[]): ModuleResult {
  const has = (name: string): boolean => options.some((o) => o.name === name)
  if (has('--limit-iface-in') && has('--limit-iface-out')) throw new BadValue('-m addrtype: --limit-iface-in and --limit-iface-out exclude each other')
  if (!has('--src-type') && !has('--dst-type')) throw new BadValue('-m addrtype needs --src-type or --dst-type')
  const limit = has('--limit-iface-in') ? 'in' : has('--limit-iface-out') ? 'out' : undefined
  const matches: Match[] = []
  const unsupported: string[] = []
  for (const option of options) {
    if (option.name !== '--src-type' && option.name !== '--dst-type') continue
    const types = (option.values[0] ?? '').split(',').map((type) => type.toUpperCase())
    for (const type of types) if (!ADDR_TYPES.includes(type)) throw new BadValue(`${option.name}: unknown address type "${type}"`)
    const unmodelled = types.filter((type) => type !== 'LOCAL' && type !== 'MULTICAST')
    if (unmodelled.length > 0) {
      // UNICAST and BROADCAST depend on the subnets' broadcast addresses, which HostContext does not carry.
      unsupported.push(`-m addrtype ${option.name} ${unmodelled.join(',')} is not modelled`)
      continue
    }
    const field = option.name === '--src-type' ? 'src' : 'dst'
    matches.push(limit ? {kind: 'addrType', field, negated: option.negated, types: types as AddrType[], limit}
      : {kind: 'addrType', field, negated: option.negated, types: types as AddrType[]})
  }
  return unsupported.length > 0 ? {ok: true, matches, unsupported: unsupported.join('; ')} : {ok: true, matches}
}

/**
 * `-m set --match-set NAME src,dst… [--return-nomatch]`: libxt_set reads each flag by its first
 * three letters, at most six. `! --update-counters` and the like change no decision; the
 * counter comparisons (`--packets-gt`) are not modelled.
 */
function compileSet(options: readonly OptionArg[], spec: ModuleSpec): ModuleResult {
  const option = findOption(options, '--match-set') ?? (findOption(options, '--set') as OptionArg)
  const [name, dirs] = option.values as [string, string]
  if (name.length === 0 || name.length > 31) throw new BadValue(`--match-set: "${name}" is not a set name (1 to 31 characters)`)
  const flags = dirs.split(',').map((dir) => {
    if (dir.startsWith('src')) return 'src' as const
    if (dir.startsWith('dst')) return 'dst' as const
    throw new BadValue(`--match-set: "${dirs}" must be a comma-separated list of src and dst`)
  })
  if (flags.length > 6) throw new BadValue('--match-set: at most six src/dst flags')
  const match: Match = {kind: 'set', negated: option.negated, name, flags, returnNomatch: findOption(options, '--return-nomatch') !== undefined}
  const unmodelled = options.filter((o) => spec.unmodelled.includes(o.name)).map((o) => `-m set ${o.name} is not modelled`)
  return unmodelled.length > 0 ? {ok: true, matches: [match], unsupported: unmodelled.join('; ')} : {ok: true, matches: [match]}
}

function findOption(options: readonly OptionArg[], name: string): OptionArg | undefined {
  return options.find((o) => o.name === name)
}

function compileStatistic(options: readonly OptionArg[]): Match {
  const get = findOption.bind(undefined, options)
  const mode = get('--mode')?.values[0]
  if (mode === 'random') {
    const probability = get('--probability')
    const p = Number(probability?.values[0])
    if (!probability || !/^\d*\.?\d+$/.test(probability.values[0] ?? '') || p > 1) {
      throw new BadValue('-m statistic --mode random needs --probability between 0 and 1')
    }
    if (get('--every') || get('--packet')) throw new BadValue('-m statistic: --probability cannot be used together with --every or --packet')
    // The kernel matches when (random & 0x7fffffff) < p * 2^31: p = 1 always matches, p = 0 never.
    const certainty = p >= 1 ? 'always' : p <= 0 ? 'never' : 'maybe'
    return {
      kind: 'statistic',
      description: `${probability.negated ? 'not ' : ''}random with probability ${probability.values[0]}`,
      certainty: probability.negated ? invert(certainty) : certainty,
    }
  }
  if (mode === 'nth') {
    const every = get('--every')
    const packet = get('--packet')
    if (!every || !/^\d+$/.test(every.values[0] ?? '') || Number(every.values[0]) < 1) {
      throw new BadValue('-m statistic --mode nth needs --every n')
    }
    if (!packet || !/^\d+$/.test(packet.values[0] ?? '') || Number(packet.values[0]) >= Number(every.values[0])) {
      throw new BadValue('-m statistic --every n needs --packet p with 0 <= p <= n-1')
    }
    if (get('--probability')) throw new BadValue('-m statistic: --probability cannot be used together with --every')
    const certainty = Number(every.values[0]) === 1 ? 'always' : 'maybe'
    return {
      kind: 'statistic',
      description: `${every.negated ? 'not ' : ''}every ${every.values[0]} packets from ${packet.values[0]}`,
      certainty: every.negated ? invert(certainty) : certainty,
    }
  }
  throw new BadValue('-m statistic needs --mode random or --mode nth')
}

function invert(certainty: 'maybe' | 'always' | 'never'): 'maybe' | 'always' | 'never' {
  return certainty === 'always' ? 'never' : certainty === 'never' ? 'always' : 'maybe'
}
