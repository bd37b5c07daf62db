/**
 * The commands of a startup script that guest-script.ts reads, one at a time, into what they
 * leave in a fresh GCE guest: `net.ipv4.ip_forward`, extra routes via a NIC's subnet gateway
 * (ROUTE-11), the iptables tables and the `# xcc-listen:` note. A command that is not one of
 * these shapes, or that would fail on a real guest (an `ip route add` of a route the guest has,
 * a rule for a chain that does not exist), is refused: the reader reports its line, never a guess.
 */
import {type Cidr, formatCidr, formatIp, parseCidr, parseIp} from '../net/ipv4.js'
import {parseIptablesSave} from '../iptables/parse.js'
import type {GuestSpec} from './schema.js'
import {type BodyLine, GuestTables, isTable} from './guest-script-iptables.js'
import {saveQuote} from './guest-script-shell.js'

/** A NIC of the VM as the script sees it: the primary range of its subnet (its gateway is the first host) */
export interface GuestNic {
  readonly ipCidrRange?: string | undefined
}

type Listen = NonNullable<GuestSpec['listen']>[number]

/** the gateway of a NIC's subnet: its first host, as GCE and the lab give it */
export function nicGateway(nic: GuestNic | undefined): string | undefined {
  const parsed = nic?.ipCidrRange === undefined ? undefined : parseCidr(nic.ipCidrRange)
  return parsed?.ok ? formatIp((parsed.cidr.base + 1) >>> 0) : undefined
}

const LISTEN_ITEM = /^(tcp|udp)\/([1-9]\d{0,4})$/
const FORWARD_KEYS = new Set(['net.ipv4.ip_forward', 'net/ipv4/ip_forward'])

/** `false`: the command's own line is refused; a number: that line is */
type Outcome = true | false | number

interface IptablesCommand {
  readonly table: string
  readonly command: string
  readonly chain: string
  readonly position?: number
  /** the rest: the rule's words, or -P's target */
  readonly rest: readonly string[]
}

/** `iptables [-w [N]] [-t TABLE] -A|-I|-C|-N|-P CHAIN [N] [-t TABLE] …`: the table and wait options before the command or right after its chain */
export function iptablesCommand(words: readonly string[]): IptablesCommand | undefined {
  if (words[0] !== 'iptables') return undefined
  let table = 'filter'
  let i = 1
  const options = (): boolean => {
    for (;;) {
      const w = words[i]
      if (w === '-w' || w === '--wait') {
        i += /^\d+$/.test(words[i + 1] ?? '') ? 2 : 1
      } else if (w === '-t' || w === '--table') {
        if (words[i + 1] === undefined) return false
        table = words[i + 1] as string
        i += 2
      } else if (w?.startsWith('--table=')) {
        table = w.slice('--table='.length)
        i++
      } else return true
    }
  }
  if (!options()) return undefined
  const commands: Record<string, string> = {'-A': '-A', '--append': '-A', '-I': '-I', '--insert': '-I', '-C': '-C', '--check': '-C', '-N': '-N', '--new-chain': '-N', '-P': '-P', '--policy': '-P'}
  const command = commands[words[i] ?? '']
  const chain = words[i + 1]
  if (!command || chain === undefined) return undefined
  i += 2
  let position: number | undefined
  if (command === '-I' && /^\d+$/.test(words[i] ?? '')) position = Number(words[i++])
  if (!options()) return undefined
  return {table, command, chain, ...(position !== undefined ? {position} : {}), rest: words.slice(i)}
}

export class GuestReader {
  private ipForward = false
  private readonly routes: Array<{destRange: string; nic: number}> = []
  private listen: Listen[] | undefined
  private iptablesCommands = 0
  /** the first iptables-restore, kept as written while it is the script's only iptables command */
  private firstRestore: {body: readonly BodyLine[]; noflush: boolean; line: number} | undefined
  private tables: GuestTables | undefined
  private lastIptablesLine = 0

  constructor(private readonly nics: readonly GuestNic[]) {}

  /** `# xcc-listen: tcp/80 udp/53` or `# xcc-listen: none` */
  readListen(items: string): boolean {
    if (this.listen !== undefined) return false
    const words = items.trim().split(/\s+/).filter((w) => w !== '')
    if (words.length === 1 && words[0] === 'none') {
      this.listen = []
      return true
    }
    const out: Listen[] = []
    for (const w of words) {
      const m = LISTEN_ITEM.exec(w)
      if (!m || Number(m[2]) > 65535) return false
      out.push({protocol: m[1] as Listen['protocol'], port: Number(m[2])})
    }
    if (out.length === 0) return false
    this.listen = out
    return true
  }

  /** `set -e`, `set -eu`, `set -o errexit` …: how the shell runs the rest, not what it does */
  set(words: readonly string[]): boolean {
    for (let i = 1; i < words.length; i++) {
      const w = words[i] as string
      if (/^[-+][eux]+$/.test(w)) continue
      if ((w === '-o' || w === '+o') && ['errexit', 'nounset', 'xtrace'].includes(words[i + 1] ?? '')) {
        i++
        continue
      }
      return false
    }
    return words.length > 1
  }

  /** `sysctl [-w] [-q] net.ipv4.ip_forward=0|1` */
  sysctl(words: readonly string[]): boolean {
    const flags = words.slice(1, -1)
    const setting = words.at(-1) ?? ''
    if (words.length < 2 || !flags.every((f) => /^-[wq]+$/.test(f))) return false
    const [key, value, ...more] = setting.split('=')
    if (more.length > 0 || !FORWARD_KEYS.has(key ?? '') || (value !== '0' && value !== '1')) return false
    this.ipForward = value === '1'
    return true
  }

  /** `echo 0|1 > /proc/sys/net/ipv4/ip_forward` */
  echoForward(value: string): boolean {
    if (value !== '0' && value !== '1') return false
    this.ipForward = value === '1'
    return true
  }

  /**
   * `ip [-4] route add|replace DEST via GATEWAY [dev nicN] [onlink]`: DEST `default`, a CIDR or an
   * address; GATEWAY the subnet gateway of nicN (ROUTE-11: a guest route leaves by a NIC, to its
   * subnet's gateway, and the VPC routes of that NIC's network take it from there).
   */
  route(words: readonly string[]): boolean {
    let i = words[1] === '-4' ? 2 : 1
    if (words[i++] !== 'route') return false
    const verb = words[i++]
    if (verb !== 'add' && verb !== 'replace') return false
    const destWord = words[i++] ?? ''
    const parsed = destWord === 'default' ? {ok: true as const, cidr: {base: 0, prefix: 0}} : parseCidr(destWord, {allowBareIp: true})
    if (!parsed.ok) return false
    let via: string | undefined
    let dev: string | undefined
    let onlink = false
    while (i < words.length) {
      const w = words[i++] as string
      if (w === 'via' && via === undefined && parseIp(words[i] ?? '') !== undefined) via = words[i++]
      else if (w === 'dev' && dev === undefined && words[i] !== undefined) dev = words[i++]
      else if (w === 'onlink' && !onlink) onlink = true
      else return false
    }
    if (via === undefined || (onlink && dev === undefined)) return false
    const nic = dev === undefined ? this.nics.findIndex((n) => nicGateway(n) === via) : /^nic([0-9])$/.exec(dev) ? Number(dev.slice(3)) : -1
    if (nic < 0 || nic >= this.nics.length || nicGateway(this.nics[nic]) !== via) return false
    return this.putRoute(parsed.cidr, nic, verb === 'add')
  }

  private putRoute(dest: Cidr, nic: number, add: boolean): boolean {
    const destRange = formatCidr(dest)
    const existing = this.routes.find((r) => r.destRange === destRange)
    if (add) {
      // `add` fails on a route the guest has: its own earlier ones, the default route and its NICs' subnets (ROUTE-11)
      const implied = dest.prefix === 0 || this.nics.some((n) => n.ipCidrRange !== undefined && n.ipCidrRange === destRange)
      if (existing || implied) return false
      this.routes.push({destRange, nic})
    } else if (existing) existing.nic = nic
    else this.routes.push({destRange, nic})
    return true
  }

  /** `iptables-restore [-w [N]] [-n|--noflush] <<DELIM` with its here-document */
  restore(words: readonly string[], body: readonly BodyLine[], line: number): Outcome {
    let noflush = false
    for (let i = 1; i < words.length; i++) {
      const w = words[i] as string
      if (w === '-n' || w === '--noflush') noflush = true
      else if (w === '-w' || w === '--wait') {
        if (/^\d+$/.test(words[i + 1] ?? '')) i++
      } else return false
    }
    this.lastIptablesLine = line
    if (++this.iptablesCommands === 1) {
      this.firstRestore = {body, noflush, line}
      return true
    }
    const tables = this.combined()
    if (typeof tables === 'number') return tables
    const problem = tables.restore(body, noflush)
    return problem ? problem.line : true
  }

  /** `iptables -A|-I|-N|-P …` */
  iptables(words: readonly string[], line: number): Outcome {
    const c = iptablesCommand(words)
    if (!c || !isTable(c.table) || c.command === '-C') return false
    this.lastIptablesLine = line
    this.iptablesCommands++
    const tables = this.combined()
    if (typeof tables === 'number') return tables
    const args = c.rest.map(saveQuote).join(' ')
    switch (c.command) {
      case '-N': return c.rest.length === 0 && tables.newChain(c.table, c.chain, line)
      case '-P': return c.rest.length === 1 && tables.policy(c.table, c.chain, c.rest[0] as string)
      default: return tables.add(c.table, c.chain, args, line, c.command === '-I' ? (c.position ?? 1) : undefined)
    }
  }

  /** `iptables … -C CHAIN RULE || iptables … -A|-I CHAIN RULE`: the rule, unless the chain has it */
  ensureRule(check: readonly string[], action: readonly string[], line: number): Outcome {
    const c = iptablesCommand(check)
    const a = iptablesCommand(action)
    if (!c || !a || c.command !== '-C' || (a.command !== '-A' && a.command !== '-I') || !isTable(a.table)) return false
    if (c.table !== a.table || c.chain !== a.chain || JSON.stringify(c.rest) !== JSON.stringify(a.rest)) return false
    this.lastIptablesLine = line
    this.iptablesCommands++
    const tables = this.combined()
    if (typeof tables === 'number') return tables
    const args = a.rest.map(saveQuote).join(' ')
    const has = tables.has(a.table, a.chain, args)
    if (has === undefined) return false
    return has || tables.add(a.table, a.chain, args, line, a.command === '-I' ? (a.position ?? 1) : undefined)
  }

  /** the tables, once the script has more than one iptables command (the first restore replayed into them) */
  private combined(): GuestTables | number {
    if (this.tables) return this.tables
    this.tables = new GuestTables()
    const first = this.firstRestore
    this.firstRestore = undefined
    const problem = first ? this.tables.restore(first.body, first.noflush) : undefined
    return problem ? problem.line : this.tables
  }

  /** The guest the script leaves, or the line of a rule the evaluator does not take. */
  finish(): {guest: GuestSpec} | {line: number} {
    let iptables: string | undefined
    let origins: (index: number) => number
    if (this.tables) {
      const saved = this.tables.save()
      iptables = saved.text
      origins = (k) => saved.origins[k - 1] || this.lastIptablesLine
    } else if (this.firstRestore) {
      const body = this.firstRestore.body
      iptables = body.length ? `${body.map((l) => l.text).join('\n')}\n` : ''
      const fallback = this.firstRestore.line
      origins = (k) => body[k - 1]?.line ?? fallback
    } else origins = () => 0
    if (iptables !== undefined) {
      const {errors} = parseIptablesSave(iptables, 'startup-script')
      const first = errors[0]
      if (first) return {line: origins(first.line)}
    }
    return {guest: {ipForward: this.ipForward, routes: this.routes.map((r) => ({...r})), ...(iptables !== undefined ? {iptables} : {}), ...(this.listen ? {listen: this.listen} : {})}}
  }
}
