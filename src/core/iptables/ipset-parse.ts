/**
 * Parses `ipset save` text (what `ipset restore` takes): `create NAME TYPE [options]` and
 * `add NAME ENTRY [options]` lines, `#` comments and blank lines. The sets of the types
 * kube-proxy's IPVS mode and Calico use are kept as data the evaluator can test a packet
 * against (ipset-match.ts): hash:ip, hash:net, hash:ip,port, hash:net,port, hash:ip,port,ip,
 * hash:ip,port,net, hash:net,net, hash:net,port,net, bitmap:port, bitmap:ip and list:set. The
 * other types are checked for their create options and kept, but a test against them is
 * undecided. Entry timeouts and counters are ignored: what `ipset save` lists is what the set
 * holds at that moment.
 */
import type {Ip} from '../net/ipv4.js'
import {maskOf} from '../net/ipv4.js'
import type {IpSets} from './types.js'
import {tokenizeRuleLine} from './tokenize.js'
import {SERVICE_PORTS} from './services.js'
import {parseNumber, parseXtIp} from './values.js'
import {PROTOCOL_NUMBERS} from './compiled.js'

/** what one dimension of a set holds */
export type Dimension = 'ip' | 'net' | 'port' | 'mark' | 'mac' | 'iface'

export type Part =
  /** an address, or a range added as one (`10.0.0.8/30`, `10.0.1.1-10.0.1.3` in a hash:ip) */
  | {readonly kind: 'ip'; readonly lo: Ip; readonly hi: Ip}
  | {readonly kind: 'net'; readonly base: Ip; readonly prefix: number}
  /** `proto:port[-port]`; protocol -1 in a bitmap:port (any); `icmp`: an ICMP type or code xcc cannot compare */
  | {readonly kind: 'port'; readonly protocol: number; readonly lo: number; readonly hi: number; readonly icmp?: boolean}
  /** a set name (list:set), a mark, a MAC address or an interface: kept as written */
  | {readonly kind: 'other'; readonly text: string}

export interface Entry {
  readonly parts: readonly Part[]
  readonly nomatch: boolean
  /** 1-based line in the text */
  readonly line: number
}

export interface IpSetData {
  readonly name: string
  readonly type: string
  readonly family: 'inet' | 'inet6'
  /** the dimensions of the type, in order; empty for list:set */
  readonly dimensions: readonly Dimension[]
  /** hash:ip and bitmap:ip `netmask`: addresses are stored and looked up with this mask */
  readonly netmask: number
  /** bitmap:port and bitmap:ip `range` */
  readonly range?: {readonly lo: number; readonly hi: number}
  readonly entries: Entry[]
  /** 1-based line of its create line */
  readonly line: number
}

/** The parsed sets; `sets` is what the evaluator reads. */
export interface ParsedIpSets extends IpSets {
  readonly sets: ReadonlyMap<string, IpSetData>
}

export function isParsedIpSets(ipsets: IpSets): ipsets is ParsedIpSets {
  return (ipsets as Partial<ParsedIpSets>).sets instanceof Map
}

export interface IpsetSyntaxError {
  readonly line: number
  readonly message: string
  readonly text: string
}

const TYPES: Readonly<Record<string, readonly Dimension[]>> = {
  'hash:ip': ['ip'], 'hash:net': ['net'], 'hash:ip,port': ['ip', 'port'], 'hash:net,port': ['net', 'port'],
  'hash:ip,port,ip': ['ip', 'port', 'ip'], 'hash:ip,port,net': ['ip', 'port', 'net'], 'hash:net,net': ['net', 'net'],
  'hash:net,port,net': ['net', 'port', 'net'], 'bitmap:port': ['port'], 'bitmap:ip': ['ip'], 'list:set': [],
  'hash:ip,mark': ['ip', 'mark'], 'hash:mac': ['mac'], 'hash:ip,mac': ['ip', 'mac'], 'bitmap:ip,mac': ['ip', 'mac'], 'hash:net,iface': ['net', 'iface'],
}

/** the types whose membership the evaluator decides */
export const MODELLED_TYPES: ReadonlySet<string> = new Set(['hash:ip', 'hash:net', 'hash:ip,port', 'hash:net,port', 'hash:ip,port,ip', 'hash:ip,port,net',
  'hash:net,net', 'hash:net,port,net', 'bitmap:port', 'bitmap:ip', 'list:set'])

/** create options and how many values each takes */
const CREATE_OPTIONS: Readonly<Record<string, number>> = {
  family: 1, hashsize: 1, maxelem: 1, timeout: 1, counters: 0, comment: 0, skbinfo: 0, forceadd: 0, bucketsize: 1, initval: 1,
  netmask: 1, markmask: 1, range: 1, size: 1, bitmask: 1,
}

/** add options and how many values each takes (list:set: before/after NAME) */
const ADD_OPTIONS: Readonly<Record<string, number>> = {
  timeout: 1, packets: 1, bytes: 1, comment: 1, nomatch: 0, skbmark: 1, skbprio: 1, skbqueue: 1, before: 1, after: 1,
}

class Malformed extends Error {}

export function parseIpsetSave(text: string, source: string): {ipsets: ParsedIpSets; errors: IpsetSyntaxError[]} {
  const sets = new Map<string, IpSetData>()
  const errors: IpsetSyntaxError[] = []
  const seen = new Map<string, Set<string>>()
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    try {
      readLine(line, index + 1, sets, seen)
    } catch (error) {
      if (!(error instanceof Malformed)) throw error
      errors.push({line: index + 1, message: error.message, text: raw.replace(/\r$/, '')})
    }
  })
  for (const set of sets.values()) {
    if (set.type !== 'list:set') continue
    for (const entry of set.entries) {
      const member = entry.parts[0]
      if (member?.kind === 'other' && !sets.has(member.text)) {
        errors.push({line: entry.line, message: `list:set ${set.name} names set ${member.text}, which is not defined`, text: member.text})
      }
    }
  }
  return {ipsets: {source, names: [...sets.keys()], sets}, errors}
}

function readLine(line: string, lineNo: number, sets: Map<string, IpSetData>, seen: Map<string, Set<string>>): void {
  const tokens = tokenizeRuleLine(line)
  if (!tokens.ok) throw new Malformed(tokens.message)
  const [command, name, ...rest] = tokens.texts
  if (command !== 'create' && command !== 'add') throw new Malformed(`only create and add lines belong in ipset save output (got ${command})`)
  if (!name) throw new Malformed(`${command} needs a set name`)
  if (name.length > 31) throw new Malformed(`set name ${name} is longer than 31 characters`)
  if (command === 'create') {
    if (sets.has(name)) throw new Malformed(`set ${name} is created twice`)
    sets.set(name, readCreate(name, rest, lineNo))
    seen.set(name, new Set())
    return
  }
  const set = sets.get(name)
  if (!set) throw new Malformed(`add to set ${name}, which no create line before it defines`)
  const [entryText, ...options] = rest
  if (!entryText) throw new Malformed(`add ${name} needs an entry`)
  const given = readOptions(options, ADD_OPTIONS, 'add')
  const nomatch = given.has('nomatch')
  if (nomatch && !set.dimensions.includes('net')) throw new Malformed(`nomatch: sets of type ${set.type} have no nomatch entries`)
  if ((given.has('before') || given.has('after')) && set.type !== 'list:set') throw new Malformed('before/after: only a list:set takes them')
  // ipset restore refuses an entry that is there already
  const done = seen.get(name) as Set<string>
  if (done.has(entryText)) throw new Malformed(`${entryText} is added to ${name} twice`)
  done.add(entryText)
  set.entries.push({parts: readEntry(set, entryText), nomatch, line: lineNo})
}

/** the options after the set type or the entry; returns the names given */
function readOptions(tokens: readonly string[], known: Readonly<Record<string, number>>, what: string): Map<string, string | undefined> {
  const found = new Map<string, string | undefined>()
  for (let i = 0; i < tokens.length; i++) {
    const option = tokens[i] as string
    const arity = known[option]
    if (arity === undefined) throw new Malformed(`unknown ${what} option ${option}`)
    if (arity === 1 && i + 1 >= tokens.length) throw new Malformed(`${what} option ${option} needs a value`)
    found.set(option, arity === 1 ? tokens[++i] : undefined)
  }
  return found
}

function readCreate(name: string, tokens: readonly string[], line: number): IpSetData {
  const [type, ...rest] = tokens
  if (!type) throw new Malformed(`create ${name} needs a set type`)
  const dimensions = TYPES[type]
  if (!dimensions) throw new Malformed(`unknown set type ${type}`)
  const options = readOptions(rest, CREATE_OPTIONS, 'create')
  const family = options.get('family') ?? 'inet'
  if (family !== 'inet' && family !== 'inet6') throw new Malformed(`family ${family}: expected inet or inet6`)
  for (const numeric of ['hashsize', 'maxelem', 'timeout', 'bucketsize', 'initval', 'size', 'markmask']) {
    const value = options.get(numeric)
    if (value !== undefined && parseNumber(value, 0xffffffff) === undefined) throw new Malformed(`${numeric} ${value}: not a number`)
  }
  let netmask = 0xffffffff
  const maskText = options.get('netmask')
  if (maskText !== undefined) {
    const prefix = parseNumber(maskText, 32)
    if (prefix === undefined || prefix === 0) throw new Malformed(`netmask ${maskText}: expected 1 to 32`)
    netmask = maskOf(prefix)
  }
  const bitmask = options.get('bitmask')
  if (bitmask !== undefined) {
    // ipset 7.16: any mask, applied as netmask is
    const mask = parseXtIp(bitmask)
    if (mask === undefined || !bitmask.includes('.')) throw new Malformed(`bitmask ${bitmask}: expected a dotted mask`)
    netmask = mask
  }
  const rangeText = options.get('range')
  let range: {lo: number; hi: number} | undefined
  if (type === 'bitmap:port' || type === 'bitmap:ip' || type === 'bitmap:ip,mac') {
    if (rangeText === undefined) throw new Malformed(`${type} needs range`)
    range = type === 'bitmap:port' ? portRange(rangeText) : ipRange(rangeText)
  } else if (rangeText !== undefined) {
    throw new Malformed(`range: sets of type ${type} take none`)
  }
  const base = {name, type, family: family as 'inet' | 'inet6', dimensions, netmask, entries: [], line}
  return range ? {...base, range} : base
}

function portRange(text: string): {lo: number; hi: number} {
  const [lo, hi] = text.split('-').map((part) => portNumber(part))
  if (lo === undefined || hi === undefined || lo > hi) throw new Malformed(`range ${text}: expected port-port`)
  return {lo, hi}
}

function ipRange(text: string): {lo: number; hi: number} {
  const parsed = ipPart(text)
  return {lo: parsed.lo, hi: parsed.hi}
}

function portNumber(text: string): number | undefined {
  return parseNumber(text, 65535) ?? SERVICE_PORTS.get(text)
}

/** The entry's parts, one per dimension, separated by commas. */
function readEntry(set: IpSetData, text: string): Part[] {
  if (set.type === 'list:set') return [{kind: 'other', text}]
  if (set.family === 'inet6') {
    // an IPv6 set never matches a packet iptables sees: its entries are kept as written
    return [{kind: 'other', text}]
  }
  const pieces = text.split(',')
  if (pieces.length !== set.dimensions.length) throw new Malformed(`${text}: a ${set.type} entry has ${set.dimensions.length} parts separated by commas`)
  return set.dimensions.map((dimension, i) => {
    const piece = pieces[i] as string
    switch (dimension) {
      case 'ip': {
        const part = ipPart(piece)
        if (set.range && (part.lo < set.range.lo || part.hi > set.range.hi)) throw new Malformed(`${piece} is outside the range of ${set.name}`)
        // with a netmask the set holds networks: the packet's address is masked the same way
        return {kind: 'ip', lo: (part.lo & set.netmask) >>> 0, hi: (part.hi & set.netmask) >>> 0}
      }
      case 'net':
        return netPart(piece, set.type)
      case 'port':
        return portPart(piece, set)
      default:
        if (piece === '') throw new Malformed(`${text}: empty ${dimension}`)
        return {kind: 'other', text: piece}
    }
  })
}

/** `a.b.c.d`, `a.b.c.d/n` or `a-b`: the addresses it stands for */
function ipPart(text: string): {kind: 'ip'; lo: number; hi: number} {
  const dash = text.indexOf('-')
  const slash = text.indexOf('/')
  if (dash >= 0) {
    const lo = parseXtIp(text.slice(0, dash))
    const hi = parseXtIp(text.slice(dash + 1))
    if (lo === undefined || hi === undefined || lo > hi) throw new Malformed(`${text}: not an address range`)
    return {kind: 'ip', lo, hi}
  }
  const address = parseXtIp(slash < 0 ? text : text.slice(0, slash))
  const prefix = slash < 0 ? 32 : parseNumber(text.slice(slash + 1), 32)
  if (address === undefined || prefix === undefined || !/^[\d.]+(\/\d+)?$/.test(text)) throw new Malformed(`${text}: not an IPv4 address`)
  const base = (address & maskOf(prefix)) >>> 0
  return {kind: 'ip', lo: base, hi: (base + 2 ** (32 - prefix) - 1) >>> 0}
}

function netPart(text: string, type: string): Part {
  const slash = text.indexOf('/')
  if (text.includes('-')) throw new Malformed(`${text}: write a ${type} range as networks (ipset save prints them so)`)
  const address = parseXtIp(slash < 0 ? text : text.slice(0, slash))
  const prefix = slash < 0 ? 32 : parseNumber(text.slice(slash + 1), 32)
  if (address === undefined || prefix === undefined || prefix === 0 || !/^[\d.]+(\/\d+)?$/.test(text)) throw new Malformed(`${text}: not an IPv4 network with a prefix of 1 to 32`)
  return {kind: 'net', base: (address & maskOf(prefix)) >>> 0, prefix}
}

/** `[proto:]port[-port]`, `icmp:TYPE`; a bare port is tcp; a bitmap:port ignores the protocol */
function portPart(text: string, set: IpSetData): Part {
  const colon = text.indexOf(':')
  const protoName = colon < 0 ? 'tcp' : text.slice(0, colon).toLowerCase()
  const portText = colon < 0 ? text : text.slice(colon + 1)
  const protocol = /^\d+$/.test(protoName) ? Number(protoName) : PROTOCOL_NUMBERS[protoName]
  if (protocol === undefined || protocol > 255) throw new Malformed(`${text}: unknown protocol ${protoName}`)
  if (protocol === 1 || protocol === 58) {
    if (portText === '') throw new Malformed(`${text}: an ICMP entry needs a type`)
    return {kind: 'port', protocol, lo: 0, hi: 0, icmp: true}
  }
  const withPorts = [6, 17, 132, 136].includes(protocol)
  const [lo, hi = lo] = portText.split('-').map((part) => portNumber(part))
  if (lo === undefined || hi === undefined || lo > hi) throw new Malformed(`${text}: not a port or port range`)
  if (!withPorts && (lo !== 0 || hi !== 0)) throw new Malformed(`${text}: protocol ${protoName} has no ports (write ${protoName}:0)`)
  if (set.range && (lo < set.range.lo || hi > set.range.hi)) throw new Malformed(`${text} is outside the range of ${set.name}`)
  return {kind: 'port', protocol: set.type === 'bitmap:port' ? -1 : protocol, lo, hi}
}
