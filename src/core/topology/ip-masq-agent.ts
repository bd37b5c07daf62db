/**
 * The ip-masq-agent's configuration exactly as the agent reads it (gcp-network-semantics.md
 * §1.1): the file is YAML or JSON (SNAT-01), laid over the defaults field by field (SNAT-03),
 * validated (SNAT-04), and turned into the agent's chain (SNAT-05). Used by `xcc masquerade` so
 * that it never writes a config the agent would reject, and by the lab's emulated agent.
 */
import {JSON_SCHEMA, Type, load as loadYaml} from 'js-yaml'

import {type Cidr, LINK_LOCAL, cidr, formatCidr, parseCidr} from '../net/ipv4.js'

/** SNAT-02: the upstream default list (no flag) */
export const UPSTREAM_DEFAULT_NON_MASQUERADE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] as const

/** SNAT-02: what `--nomasq-all-reserved-ranges` adds, in the agent's order */
export const RESERVED_RANGES = ['100.64.0.0/10', '192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4'] as const

/** SNAT-12: GKE runs the agent with `--masq-chain=IP-MASQ --nomasq-all-reserved-ranges` */
export const GKE_AGENT_FLAGS: AgentFlags = {masqChain: 'IP-MASQ', nomasqAllReservedRanges: true}

export const CONFIG_MAP_NAMESPACE = 'kube-system'
export const CONFIG_MAP_NAME = 'ip-masq-agent'
/** SNAT-01: the ConfigMap key the DaemonSet mounts as /etc/config/ip-masq-agent */
export const CONFIG_KEY = 'config'

export interface AgentFlags {
  /** `--masq-chain` (default IP-MASQ-AGENT) */
  readonly masqChain: string
  /** `--nomasq-all-reserved-ranges` */
  readonly nomasqAllReservedRanges: boolean
  /** `--enable-ipv6` */
  readonly enableIpv6?: boolean
}

export interface AgentConfig {
  readonly nonMasqueradeCIDRs: readonly string[]
  readonly cidrLimit: number
  readonly masqLinkLocal: boolean
  readonly masqLinkLocalIPv6: boolean
  readonly resyncInterval: string
}

export type ParsedAgentConfig =
  | {readonly ok: true; readonly config: AgentConfig; readonly fields: Readonly<Record<string, unknown>>}
  | {readonly ok: false; readonly error: string}

/** the agent's boolean flags (Go's flag package: a bool flag never takes a separate value) */
const BOOL_FLAGS = new Set(['nomasq-all-reserved-ranges', 'enable-ipv6', 'random-fully', 'masq-link-local', 'alsologtostderr', 'logtostderr'])

/** Go's strconv.ParseBool */
function goBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false
  return undefined
}

/**
 * SNAT-07: the flags of a running agent from its container args, parsed as Go's flag package
 * does: `-name`/`--name`, `=value`, a separate value only for non-bool flags, and parsing stops
 * at the first argument that is not a flag.
 */
export function agentFlagsFromArgs(args: readonly string[]): AgentFlags {
  const values = new Map<string, string>()
  // command + args: the first word is the program (os.Args[0])
  for (let i = args[0]?.startsWith('-') ? 0 : 1; i < args.length; i++) {
    const m = /^--?([^=-][^=]*)(?:=(.*))?$/.exec(args[i] as string)
    if (!m) break
    const name = m[1] as string
    if (m[2] !== undefined) values.set(name, m[2])
    else if (BOOL_FLAGS.has(name)) values.set(name, 'true')
    else if (i + 1 < args.length) values.set(name, args[++i] as string)
  }
  const bool = (name: string) => goBool(values.get(name) ?? 'false') ?? false
  return {masqChain: values.get('masq-chain') ?? 'IP-MASQ-AGENT', nomasqAllReservedRanges: bool('nomasq-all-reserved-ranges'), enableIpv6: bool('enable-ipv6')}
}

/** SNAT-02: the defaults the agent starts from */
export function defaultAgentConfig(flags: AgentFlags): AgentConfig {
  return {
    nonMasqueradeCIDRs: [...UPSTREAM_DEFAULT_NON_MASQUERADE, ...(flags.nomasqAllReservedRanges ? RESERVED_RANGES : [])],
    cidrLimit: 64,
    masqLinkLocal: false,
    masqLinkLocalIPv6: false,
    resyncInterval: '60s',
  }
}

/** YAML 1.1 booleans of plain scalars (go-yaml v2, which the agent's util/yaml.ToJSON uses): yes/no/on/off/y/n */
const YAML11_BOOLS = new Map<string, boolean>([
  ...['true', 'True', 'TRUE', 'y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON'].map((t) => [t, true] as [string, boolean]),
  ...['false', 'False', 'FALSE', 'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'].map((t) => [t, false] as [string, boolean]),
])
/** the JSON schema with YAML 1.1's booleans (this type replaces the JSON schema's own bool type) */
export const AGENT_YAML = JSON_SCHEMA.extend({implicit: [new Type('tag:yaml.org,2002:bool', {kind: 'scalar', resolve: (d: string) => YAML11_BOOLS.has(d), construct: (d: string) => YAML11_BOOLS.get(d), predicate: (v: unknown) => typeof v === 'boolean', represent: (v: object) => String(v)})]})

/** Go's time.ParseDuration grammar (what the agent's Duration unmarshaller accepts) */
const GO_DURATION = /^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/

/** the duration in milliseconds, or undefined when Go would reject the text */
export function goDurationMs(text: string): number | undefined {
  if (!GO_DURATION.test(text)) return undefined
  const unit: Record<string, number> = {ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000}
  let total = 0
  for (const m of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(m[1]) * (unit[m[2] as string] as number)
  return text.startsWith('-') ? -total : total
}

/**
 * SNAT-01/SNAT-03: the file's text laid over the defaults. Only the fields the file gives
 * replace a default: an absent `nonMasqueradeCIDRs` keeps the default list, `[]` empties it.
 * Unknown fields are ignored, as Go's json.Unmarshal does; a field of the wrong type fails.
 */
export function parseAgentConfig(text: string | undefined, flags: AgentFlags): ParsedAgentConfig {
  const defaults = defaultAgentConfig(flags)
  if (text === undefined) return {ok: true, config: defaults, fields: {}}
  let doc: unknown
  try {
    // JSON is YAML; the JSON schema keeps "10.0.0.0/8" and 60s as the strings they are, plus YAML 1.1 booleans
    doc = loadYaml(text, {schema: AGENT_YAML})
  } catch (error) {
    return {ok: false, error: `the config is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`}
  }
  if (doc === null || doc === undefined) return {ok: true, config: defaults, fields: {}}
  if (typeof doc !== 'object' || Array.isArray(doc)) return {ok: false, error: 'the config must be a mapping of fields (nonMasqueradeCIDRs, masqLinkLocal, resyncInterval, …)'}
  const fields = doc as Record<string, unknown>
  const config: {-readonly [K in keyof AgentConfig]: AgentConfig[K]} = {...defaults}
  // Go's encoding/json matches field names case-insensitively
  for (const [key, raw] of Object.entries(fields)) {
    const field = (['nonMasqueradeCIDRs', 'cidrLimit', 'masqLinkLocal', 'masqLinkLocalIPv6', 'resyncInterval'] as const).find((f) => f.toLowerCase() === key.toLowerCase())
    if (!field) continue
    const value = raw
    if (value === null) {
      // encoding/json: null empties a slice (nil list, SNAT-03), leaves a bool or int as it was,
      // and the agent's Duration accepts only a string
      if (field === 'nonMasqueradeCIDRs') config.nonMasqueradeCIDRs = []
      else if (field === 'resyncInterval') return {ok: false, error: 'resyncInterval must be a Go duration such as "60s", not null'}
      continue
    }
    if (field === 'nonMasqueradeCIDRs') {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) return {ok: false, error: `nonMasqueradeCIDRs must be a list of strings, not ${JSON.stringify(value)}`}
      config.nonMasqueradeCIDRs = value as string[]
    } else if (field === 'cidrLimit') {
      if (typeof value !== 'number' || !Number.isInteger(value)) return {ok: false, error: `cidrLimit must be an integer, not ${JSON.stringify(value)}`}
      config.cidrLimit = value
    } else if (field === 'resyncInterval') {
      if (typeof value !== 'string' || goDurationMs(value) === undefined) return {ok: false, error: `resyncInterval must be a Go duration such as "60s", not ${JSON.stringify(value)}`}
      config.resyncInterval = value
    } else {
      if (typeof value !== 'boolean') return {ok: false, error: `${field} must be true or false, not ${JSON.stringify(value)}`}
      config[field] = value
    }
  }
  return {ok: true, config, fields}
}

/** SNAT-04: why the agent would reject the config (it then keeps the previous one), or [] */
export function validateAgentConfig(config: AgentConfig, flags: AgentFlags): string[] {
  const errors: string[] = []
  if (config.nonMasqueradeCIDRs.length > config.cidrLimit) {
    errors.push(`nonMasqueradeCIDRs has ${config.nonMasqueradeCIDRs.length} CIDRs, more than cidrLimit ${config.cidrLimit}`)
  }
  config.nonMasqueradeCIDRs.forEach((text, i) => {
    if (text.includes(':')) {
      if (!flags.enableIpv6) errors.push(`nonMasqueradeCIDRs[${i}] ${text}: an IPv6 CIDR needs the agent's --enable-ipv6`)
      else {
        const problem = ipv6CidrProblem(text)
        if (problem) errors.push(`nonMasqueradeCIDRs[${i}] ${text}: ${problem}`)
      }
      return
    }
    const parsed = parseCidr(text)
    if (!parsed.ok) errors.push(`nonMasqueradeCIDRs[${i}] ${text}: not a CIDR (${parsed.reason})`)
    else if (formatCidr(parsed.cidr) !== text.trim()) errors.push(`nonMasqueradeCIDRs[${i}] ${text}: the address is not the network address (${formatCidr(parsed.cidr)})`)
  })
  return errors
}

/** why Go's net.ParseCIDR plus the agent's network-address check rejects an IPv6 CIDR, or undefined */
function ipv6CidrProblem(text: string): string | undefined {
  const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(text)
  if (!m || Number(m[2]) > 128) return 'not an IPv6 CIDR'
  const halves = (m[1] as string).split('::')
  if (halves.length > 2) return 'not an IPv6 CIDR'
  const groups = halves.map((h) => (h === '' ? [] : h.split(':')))
  if (groups.flat().some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return 'not an IPv6 CIDR'
  const count = groups.flat().length
  if ((halves.length === 1 && count !== 8) || (halves.length === 2 && count > 7)) return 'not an IPv6 CIDR'
  const words = halves.length === 1 ? groups[0]! : [...groups[0]!, ...new Array<string>(8 - count).fill('0'), ...groups[1]!]
  const bits = words.map((w) => parseInt(w, 16).toString(2).padStart(16, '0')).join('')
  return bits.slice(Number(m[2])).includes('1') ? 'the address is not the network address' : undefined
}

/** the IPv4 ranges the agent keeps unmasqueraded, in config order, link-local first (SNAT-05/06) */
export function nonMasqueradeRanges(config: AgentConfig): Cidr[] {
  const list = config.nonMasqueradeCIDRs.filter((c) => !c.includes(':')).map((c) => cidr(c))
  return config.masqLinkLocal ? list : [LINK_LOCAL, ...list]
}

/**
 * SNAT-05: the agent's chain as `iptables-restore --noflush` input. Declaring the chain flushes
 * it, so the whole chain is replaced atomically; the POSTROUTING jump is ensured separately
 * (appended when missing, never reordered).
 */
export function renderAgentChain(config: AgentConfig, chain: string, randomFully = true): string {
  const local = '-m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE"'
  const lines = ['*nat', `:${chain} - [0:0]`]
  if (!config.masqLinkLocal) lines.push(`-A ${chain} ${local} -d ${formatCidr(LINK_LOCAL)} -j RETURN`)
  for (const c of config.nonMasqueradeCIDRs) if (!c.includes(':')) lines.push(`-A ${chain} ${local} -d ${c} -j RETURN`)
  lines.push(`-A ${chain} -m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE${randomFully ? ' --random-fully' : ''}`, 'COMMIT', '')
  return lines.join('\n')
}

/** SNAT-05: the POSTROUTING rule (without `-A POSTROUTING`) that sends non-local traffic to the chain */
export function agentJumpRule(chain: string): string[] {
  return ['-m', 'comment', '--comment', `ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom ${chain} chain`, '-m', 'addrtype', '!', '--dst-type', 'LOCAL', '-j', chain]
}
