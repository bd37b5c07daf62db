/**
 * A VM's `guest` as its startup script, both ways. On GCE what a VM's operating system does to
 * packets (forwarding, routes, iptables) is set up by its startup script, and the Compute API
 * shows the script but nothing inside the VM. So the script is the channel: the lab's Compute API
 * shows a VM's guest as the script renderGuestScript writes, `xcc snapshot` and the lab's writes
 * read a VM's script back with parseGuestScript.
 *
 * The canonical script (what renderGuestScript writes, byte for byte):
 *
 *     #!/bin/sh
 *     # xcc: this VM's guest (forwarding, routes, iptables); xcc snapshot reads it back
 *     set -e
 *     # xcc-listen: tcp/80 udp/53                                    (only with guest.listen; `none` for [])
 *     sysctl -w net.ipv4.ip_forward=0|1
 *     ip route replace DEST via GATEWAY dev nicN onlink              (one per guest.routes entry)
 *     iptables-restore <<'XCC_IPTABLES'                              (only with guest.iptables)
 *     …the iptables-save text, as it is…
 *     XCC_IPTABLES
 *
 * GATEWAY is the first host of nicN's subnet, as GCE and the lab give it (ROUTE-11). The
 * here-document's delimiter is quoted, so the shell takes the text literally, and it gets a
 * `_1`, `_2` … suffix when a line of the text is the delimiter itself.
 *
 * parseGuestScript is strict: it reads the canonical form and the common hand-written ones
 * (comments, blank lines, `set -e`, `sysctl`, `echo 1 > /proc/sys/net/ipv4/ip_forward`,
 * `ip route add|replace`, iptables-restore here-documents with or without `--noflush`,
 * `iptables -A|-I|-N|-P`, `iptables -C … || iptables -A …`, lines continued with `\`); any other
 * line makes the script unreadable at that line, and nothing is guessed. Pure.
 */
import {formatCidr, parseCidr} from '../net/ipv4.js'
import type {GuestSpec, InstanceSpec, Topology} from './schema.js'
import {type GuestNic, GuestReader, nicGateway} from './guest-script-read.js'
import type {BodyLine} from './guest-script-iptables.js'
import {type Token, controlCharacter, lexLine, splitOr, wordsOnly} from './guest-script-shell.js'

export type {GuestNic} from './guest-script-read.js'

/** the startup-script metadata key GCE's guest agent runs at boot */
export const STARTUP_SCRIPT = 'startup-script'

export interface Unreadable {
  /** 1-based line of the script */
  readonly line: number
  /** that line as written (callers show only scriptExcerpt of it: a script may hold secrets) */
  readonly text: string
}

export type GuestRead = {readonly guest: GuestSpec} | {readonly unreadable: Unreadable}

const HEADER = '# xcc: this VM\'s guest (forwarding, routes, iptables); xcc snapshot reads it back'
const LISTEN_PREFIX = '# xcc-listen:'
const DELIMITER = 'XCC_IPTABLES'
/** lines one command may be continued over with a trailing backslash */
const MAX_CONTINUED_LINES = 64

/** the guest a VM has when nothing says otherwise: no forwarding, no routes, no rules, serves unknown */
export const DEFAULT_GUEST: GuestSpec = {ipForward: false, routes: []}

export function isDefaultGuest(guest: GuestSpec): boolean {
  return !guest.ipForward && guest.routes.length === 0 && guest.iptables === undefined && guest.listen === undefined
}

/**
 * The guest as a script can carry it: routes in canonical CIDR form, each range once (the first
 * wins, as in the tracer and the lab), the iptables text ending with a newline, listen protocols
 * spelled out.
 */
export function normalizeGuest(guest: GuestSpec): GuestSpec {
  const seen = new Set<string>()
  const routes: GuestSpec['routes'] = []
  for (const r of guest.routes) {
    const parsed = parseCidr(r.destRange, {allowBareIp: true})
    const destRange = parsed.ok ? formatCidr(parsed.cidr) : r.destRange
    if (seen.has(destRange)) continue
    seen.add(destRange)
    routes.push({destRange, nic: r.nic})
  }
  const text = guest.iptables
  return {
    ipForward: guest.ipForward, routes,
    ...(text !== undefined ? {iptables: text === '' || text.endsWith('\n') ? text : `${text}\n`} : {}),
    ...(guest.listen !== undefined ? {listen: guest.listen.map((l) => ({protocol: l.protocol ?? 'tcp', port: l.port}))} : {}),
  }
}

/** The NICs of an instance as a script sees them: each one's subnet range (undefined when the topology has no such subnet). */
export function guestNics(topology: Pick<Topology, 'networks'>, instance: Pick<InstanceSpec, 'networkInterfaces'>): GuestNic[] {
  return instance.networkInterfaces.map((nic) => ({ipCidrRange: topology.networks.find((n) => n.name === nic.network)?.subnets.find((s) => s.name === nic.subnetwork)?.ipCidrRange}))
}

/** The canonical startup script of `guest` (see the top of this file). Throws on a route through a NIC without a known subnet. */
export function renderGuestScript(guest: GuestSpec, nics: readonly GuestNic[]): string {
  const g = normalizeGuest(guest)
  const lines = ['#!/bin/sh', HEADER, 'set -e']
  if (g.listen) lines.push(`${LISTEN_PREFIX} ${g.listen.length ? g.listen.map((l) => `${l.protocol}/${l.port}`).join(' ') : 'none'}`)
  lines.push(`sysctl -w net.ipv4.ip_forward=${g.ipForward ? 1 : 0}`)
  for (const r of g.routes) {
    const gateway = nicGateway(nics[r.nic])
    if (!gateway || !parseCidr(r.destRange).ok) throw new Error(`guest route ${r.destRange} via nic${r.nic}: no such NIC subnet, or not a CIDR`)
    lines.push(`ip route replace ${r.destRange} via ${gateway} dev nic${r.nic} onlink`)
  }
  if (g.iptables !== undefined) {
    const body = g.iptables === '' ? [] : g.iptables.slice(0, -1).split('\n')
    let delimiter = DELIMITER
    for (let k = 1; body.includes(delimiter); k++) delimiter = `${DELIMITER}_${k}`
    lines.push(`iptables-restore <<'${delimiter}'`, ...body, delimiter)
  }
  return `${lines.join('\n')}\n`
}

interface HereDocument {
  readonly delimiter: string
  readonly literal: boolean
  readonly stripTabs: boolean
}

/** `… <<DELIM` or `… <<-'DELIM'` at the end of a command: the command's tokens and the here-document */
function hereDocument(tokens: readonly Token[]): {command: readonly Token[]; doc?: HereDocument} | undefined {
  const at = tokens.findIndex((t) => t.kind === 'op' && (t.value === '<<' || t.value === '<<-'))
  if (at < 0) return {command: tokens}
  const word = tokens[at + 1]
  if (at !== tokens.length - 2 || word?.kind !== 'word' || word.value === '') return undefined
  return {command: tokens.slice(0, at), doc: {delimiter: word.value, literal: word.quoted, stripTabs: (tokens[at] as Token).value === '<<-'}}
}

/**
 * Reads `script` into the guest it leaves on a fresh VM whose NICs are `nics`, or the first line
 * xcc does not read. Properties: parseGuestScript(renderGuestScript(g, nics), nics) is
 * {guest: normalizeGuest(g)} for every guest g whose iptables text the evaluator takes.
 */
export function parseGuestScript(script: string, nics: readonly GuestNic[]): GuestRead {
  const lines = script.split('\n')
  // the newline that ends the last line starts no line of its own
  if (lines.length > 1 && lines.at(-1) === '') lines.pop()
  const reader = new GuestReader(nics)
  const unreadable = (line: number): GuestRead => ({unreadable: {line, text: lines[line - 1] ?? ''}})
  let exited = false
  let i = 0
  while (i < lines.length) {
    const start = i + 1
    const first = lines[i] as string
    if (controlCharacter(first)) return unreadable(start)
    if (first.trimStart().startsWith(LISTEN_PREFIX)) {
      if (!reader.readListen(first.trimStart().slice(LISTEN_PREFIX.length))) return unreadable(start)
      i++
      continue
    }
    let logical = first
    let lexed = lexLine(logical)
    // each continuation lexes the command again: a bound keeps a hostile script linear
    for (let joined = 0; !lexed.ok && lexed.continues && i + 1 < lines.length; joined++) {
      if (joined >= MAX_CONTINUED_LINES) return unreadable(start)
      const next = lines[++i] as string
      if (controlCharacter(next)) return unreadable(i + 1)
      logical = logical.slice(0, -1) + next
      lexed = lexLine(logical)
    }
    i++
    if (!lexed.ok) return unreadable(start)
    if (lexed.tokens.length === 0) continue
    if (exited) return unreadable(start)
    const split = hereDocument(lexed.tokens)
    if (!split) return unreadable(start)
    let body: BodyLine[] | undefined
    if (split.doc) {
      const doc = split.doc
      body = []
      for (;;) {
        if (i >= lines.length) return unreadable(start)
        const raw = lines[i] as string
        const text = doc.stripTabs ? raw.replace(/^\t+/, '') : raw
        i++
        if (text === doc.delimiter) break
        // an unquoted delimiter lets the shell expand the body: refused where it would
        if (controlCharacter(raw) || (!doc.literal && /[$`\\]/.test(text))) return unreadable(i)
        body.push({text, line: i})
      }
    }
    const outcome = command(reader, split.command, body, start)
    if (outcome === 'exit') exited = true
    else if (outcome !== true) return unreadable(outcome === false ? start : outcome)
  }
  const done = reader.finish()
  return 'guest' in done ? {guest: done.guest} : unreadable(done.line)
}

/** One command: true when read, false when its line is refused, a number for another refused line, 'exit' for `exit [0]`. */
function command(reader: GuestReader, tokens: readonly Token[], body: readonly BodyLine[] | undefined, line: number): boolean | number | 'exit' {
  const words = wordsOnly(tokens)
  if (body) return words?.[0] === 'iptables-restore' ? reader.restore(words, body, line) : false
  if (!words) {
    const either = splitOr(tokens)
    if (either) return reader.ensureRule(either.check, either.action, line)
    // echo 0|1 > /proc/sys/net/ipv4/ip_forward
    const [echo, value, redirect, path] = tokens
    const isWord = (t: Token | undefined, v?: string): boolean => t?.kind === 'word' && (v === undefined || t.value === v)
    if (tokens.length === 4 && isWord(echo, 'echo') && isWord(value) && redirect?.kind === 'op' && redirect.value === '>' && isWord(path, '/proc/sys/net/ipv4/ip_forward')) {
      return reader.echoForward((value as Token).value)
    }
    return false
  }
  switch (words[0]) {
    case 'set': return reader.set(words)
    case 'sysctl': return reader.sysctl(words)
    case 'ip': return reader.route(words)
    case 'iptables': return reader.iptables(words, line)
    case 'exit': return words.length === 1 || (words.length === 2 && words[1] === '0') ? 'exit' : false
    default: return false
  }
}

/**
 * What may be shown of a script's line in a message: its first word, cut at `=`, when it looks
 * like a command name (a script can hold tokens and passwords; its lines are never quoted
 * whole), then `…` when something was left out.
 */
export function scriptExcerpt(text: string): string {
  const trimmed = text.trim()
  const word = trimmed.split(/\s/)[0] ?? ''
  const name = word.split('=')[0] ?? ''
  const safe = /^[A-Za-z0-9._/:+-]{1,40}$/.test(name) ? name : ''
  if (safe === '') return trimmed === '' ? 'an empty line' : '…'
  return safe === trimmed ? safe : `${safe} …`
}
