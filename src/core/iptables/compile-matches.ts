/**
 * Compiles the options of one `-m <module>` into decidable matches. A module or option the
 * evaluator does not model yields `unsupported` (the rule becomes "cannot decide"); a bad
 * value yields a syntax error.
 */
import type {CtState} from './types.js'
import type {AddrType, Match, PortRange} from './compiled.js'
import type {OptionArg, ProtocolArg} from './compile-types.js'
import {parseIp} from '../net/ipv4.js'
import {parseMarkMask, parsePortRange} from './values.js'

export type ModuleResult = {ok: true; matches: readonly Match[]; unsupported?: string} | {ok: false; message: string}

/** For every module we know: its options, and the ones among them we do not model. */
const MODULES: Readonly<Record<string, {known: readonly string[]; unmodelled: readonly string[]}>> = {
  comment: {known: ['--comment'], unmodelled: []},
  tcp: {
    known: ['--sport', '--source-port', '--dport', '--destination-port', '--syn', '--tcp-flags', '--tcp-option'],
    unmodelled: ['--tcp-option'],
  },
  udp: {known: ['--sport', '--source-port', '--dport', '--destination-port'], unmodelled: []},
  sctp: {known: ['--sport', '--source-port', '--dport', '--destination-port', '--chunk-types'], unmodelled: ['--chunk-types']},
  icmp: {known: ['--icmp-type'], unmodelled: ['--icmp-type']},
  multiport: {
    known: ['--dports', '--destination-ports', '--sports', '--source-ports', '--ports'],
    unmodelled: [],
  },
  addrtype: {known: ['--src-type', '--dst-type', '--limit-iface-in', '--limit-iface-out'], unmodelled: ['--limit-iface-in', '--limit-iface-out']},
  mark: {known: ['--mark'], unmodelled: []},
  conntrack: {
    known: ['--ctstate', '--ctproto', '--ctorigsrc', '--ctorigdst', '--ctreplsrc', '--ctrepldst', '--ctorigsrcport', '--ctorigdstport',
      '--ctreplsrcport', '--ctrepldstport', '--ctstatus', '--ctexpire', '--ctdir'],
    unmodelled: ['--ctproto', '--ctorigsrc', '--ctorigdst', '--ctreplsrc', '--ctrepldst', '--ctorigsrcport', '--ctorigdstport',
      '--ctreplsrcport', '--ctrepldstport', '--ctstatus', '--ctexpire', '--ctdir'],
  },
  state: {known: ['--state'], unmodelled: []},
  statistic: {known: ['--mode', '--probability', '--every', '--packet'], unmodelled: []},
  iprange: {known: ['--src-range', '--dst-range'], unmodelled: []},
}

const TCP_FLAGS: Readonly<Record<string, number>> = {FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128, ALL: 255, NONE: 0}
const CT_STATES: readonly string[] = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED']
const ADDR_TYPES: readonly string[] = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT',
  'THROW', 'NAT', 'XRESOLVE']
const NEGATABLE = new Set(['--sport', '--source-port', '--dport', '--destination-port', '--syn', '--tcp-flags', '--dports', '--destination-ports',
  '--sports', '--source-ports', '--ports', '--src-type', '--dst-type', '--mark', '--ctstate', '--state', '--probability', '--every',
  '--src-range', '--dst-range', '--icmp-type', '--tcp-option', '--chunk-types'])

/** true/false for a module we know; undefined for a module we do not (it may take anything). */
export function moduleTakesOption(module: string, option: string): boolean | undefined {
  const spec = MODULES[module]
  return spec ? spec.known.includes(option) : undefined
}

class BadValue extends Error {}

const NOTHING: ModuleResult = {ok: true, matches: []}

export function compileMatchModule(
  module: string,
  options: readonly OptionArg[],
  protocol: ProtocolArg | undefined,
): ModuleResult {
  const spec = MODULES[module]
  if (!spec) return {ok: true, matches: [], unsupported: `match -m ${module} is not modelled`}
  // fast path for the commonest module of a kube-proxy dump: one comment, nothing to compile
  const first = options[0]
  if (module === 'comment' && options.length === 1 && first?.name === '--comment' && !first.negated && first.values.length === 1) return NOTHING
  const unsupported: string[] = []
  const matches: Match[] = []
  const seen: string[] = []
  try {
    for (const option of options) {
      if (!spec.known.includes(option.name)) {
        unsupported.push(`-m ${module} ${option.name} is not modelled`)
        continue
      }
      if (seen.includes(canonical(option.name))) throw new BadValue(`-m ${module}: ${option.name} given twice`)
      seen.push(canonical(option.name))
      if (option.negated && !NEGATABLE.has(option.name)) throw new BadValue(`-m ${module}: ${option.name} cannot be negated`)
      const expected = option.name === '--syn' ? 0 : option.name === '--tcp-flags' ? 2 : 1
      if (option.values.length !== expected) {
        throw new BadValue(option.values.length < expected ? `${option.name} needs a value` : `unexpected argument "${option.values[expected]}" after ${option.name}`)
      }
      if (spec.unmodelled.includes(option.name)) {
        unsupported.push(`-m ${module} ${option.name} is not modelled`)
        continue
      }
      const match = compileOption(module, option, protocol, unsupported)
      if (match) matches.push(match)
    }
    if (module === 'statistic') matches.push(compileStatistic(options))
  } catch (error) {
    if (error instanceof BadValue) return {ok: false, message: error.message}
    throw error
  }
  return unsupported.length > 0 ? {ok: true, matches, unsupported: unsupported.join('; ')} : {ok: true, matches}
}

const ALIASES: ReadonlyMap<string, string> = new Map([
  ['--source-port', '--sport'], ['--destination-port', '--dport'], ['--destination-ports', '--dports'], ['--source-ports', '--sports'],
])

function canonical(name: string): string {
  return ALIASES.get(name) ?? name
}

function compileOption(
  module: string,
  option: OptionArg,
  protocol: ProtocolArg | undefined,
  unsupported: string[],
): Match | undefined {
  const value = option.values[0] ?? ''
  const negated = option.negated
  switch (canonical(option.name)) {
    case '--comment':
      return undefined
    case '--sport':
    case '--dport': {
      const range = parsePortRange(value, ':')
      if (!range) throw new BadValue(`${option.name}: "${value}" is not a port or port range`)
      const field = canonical(option.name) === '--sport' ? 'src' : 'dst'
      return {kind: 'ports', negated, protocol: protocolOf(module), field, ranges: [range]}
    }
    case '--syn':
      // SYN set, RST/ACK/FIN clear
      return {kind: 'tcpFlags', negated, mask: 0x17, comp: 0x02}
    case '--tcp-flags':
      return {kind: 'tcpFlags', negated, mask: parseFlags(option.values[0] ?? ''), comp: parseFlags(option.values[1] ?? '')}
    case '--dports':
    case '--sports':
    case '--ports': {
      if (!protocol || protocol.negated || ![6, 17, 132].includes(protocol.value)) {
        throw new BadValue('-m multiport needs -p tcp, -p udp or -p sctp')
      }
      const parts = value.split(',')
      if (parts.length > 15) throw new BadValue(`${option.name}: at most 15 ports`)
      const ranges: PortRange[] = parts.map((part) => {
        const range = parsePortRange(part, ':')
        if (!range) throw new BadValue(`${option.name}: "${part}" is not a port or port range`)
        return range
      })
      const field = option.name === '--ports' ? 'either' : canonical(option.name) === '--sports' ? 'src' : 'dst'
      return {kind: 'ports', negated, protocol: protocol.value, field, ranges}
    }
    case '--src-type':
    case '--dst-type': {
      const types = value.split(',')
      for (const type of types) if (!ADDR_TYPES.includes(type)) throw new BadValue(`${option.name}: unknown address type "${type}"`)
      const unmodelled = types.filter((type) => type !== 'LOCAL' && type !== 'MULTICAST')
      if (unmodelled.length > 0) {
        // UNICAST and BROADCAST depend on the subnets' broadcast addresses, which HostContext does not carry.
        unsupported.push(`-m addrtype ${option.name} ${unmodelled.join(',')} is not modelled`)
        return undefined
      }
      return {kind: 'addrType', field: option.name === '--src-type' ? 'src' : 'dst', negated, types: types as AddrType[]}
    }
    case '--mark': {
      const parsed = parseMarkMask(value)
      if (!parsed) throw new BadValue(`--mark: "${value}" is not value[/mask]`)
      // xt_mark compares (mark & mask) with the value as given: bits outside the mask never match
      return {kind: 'mark', negated, value: parsed.value, mask: parsed.mask}
    }
    case '--ctstate':
    case '--state': {
      const states = value.split(',')
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
      const lo = parseIp(dash < 0 ? value : value.slice(0, dash))
      const hi = dash < 0 ? lo : parseIp(value.slice(dash + 1))
      if (lo === undefined || hi === undefined || hi < lo) throw new BadValue(`${option.name}: "${value}" is not an address range`)
      return {kind: 'addressRange', field: option.name === '--src-range' ? 'src' : 'dst', negated, lo, hi}
    }
    default:
      // statistic options are compiled together in compileStatistic
      return undefined
  }
}

function protocolOf(module: string): number {
  return module === 'tcp' ? 6 : module === 'udp' ? 17 : 132
}

function parseFlags(text: string): number {
  let bits = 0
  for (const name of text.split(',')) {
    const bit = TCP_FLAGS[name]
    if (bit === undefined) throw new BadValue(`--tcp-flags: unknown flag "${name}"`)
    bits |= bit
  }
  return bits
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
    if (packet && !/^\d+$/.test(packet.values[0] ?? '')) throw new BadValue('-m statistic --packet needs a number')
    const certainty = Number(every.values[0]) === 1 ? 'always' : 'maybe'
    return {
      kind: 'statistic',
      description: `${every.negated ? 'not ' : ''}every ${every.values[0]} packets from ${packet?.values[0] ?? '0'}`,
      certainty: every.negated ? invert(certainty) : certainty,
    }
  }
  throw new BadValue('-m statistic needs --mode random or --mode nth')
}

function invert(certainty: 'maybe' | 'always' | 'never'): 'maybe' | 'always' | 'never' {
  return certainty === 'always' ? 'never' : certainty === 'never' ? 'always' : 'maybe'
}
