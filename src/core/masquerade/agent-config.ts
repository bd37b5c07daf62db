/**
 * The ip-masq-agent's configuration exactly as the agent reads it (gcp-network-semantics.md
 * §1.1): the file is YAML or JSON (SNAT-01), laid over the defaults field by field (SNAT-03),
 * validated (SNAT-04), and turned into the agent's chain (SNAT-05). Used by `xcc masquerade` so
 * that it never writes a config the agent would reject, and by the lab's emulated agent.
 */
import {JSON_SCHEMA, load as loadYaml} from 'js-yaml'

import {type Cidr, cidr, formatCidr, parseCidr} from '../net/ipv4.js'

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

/** SNAT-07: the flags of a running agent from its container args (`--flag=value` or `--flag value`) */
export function agentFlagsFromArgs(args: readonly string[]): AgentFlags {
  const value = (name: string): string | undefined => {
    for (let i = 0; i < args.length; i++) {
      const arg = args[i] as string
      if (arg === `--${name}` || arg === `-${name}`) return args[i + 1] !== undefined && !(args[i + 1] as string).startsWith('-') ? (args[i + 1] as string) : 'true'
      const m = new RegExp(`^--?${name}=(.*)$`).exec(arg)
      if (m) return m[1]
    }
    return undefined
  }
  const truthy = (v: string | undefined) => v !== undefined && v !== 'false' && v !== '0'
  return {masqChain: value('masq-chain') ?? 'IP-MASQ-AGENT', nomasqAllReservedRanges: truthy(value('nomasq-all-reserved-ranges')), enableIpv6: truthy(value('enable-ipv6'))}
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
    // JSON is YAML; the JSON schema keeps "10.0.0.0/8" and 60s as the strings they are
    doc = loadYaml(text, {schema: JSON_SCHEMA})
  } catch (error) {
    return {ok: false, error: `the config is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`}
  }
  if (doc === null || doc === undefined) return {ok: true, config: defaults, fields: {}}
  if (typeof doc !== 'object' || Array.isArray(doc)) return {ok: false, error: 'the config must be a mapping of fields (nonMasqueradeCIDRs, masqLinkLocal, resyncInterval, …)'}
  const fields = doc as Record<string, unknown>
  const config: {-readonly [K in keyof AgentConfig]: AgentConfig[K]} = {...defaults}
  // Go's encoding/json matches field names case-insensitively
  for (const [key, value] of Object.entries(fields)) {
    const field = (['nonMasqueradeCIDRs', 'cidrLimit', 'masqLinkLocal', 'masqLinkLocalIPv6', 'resyncInterval'] as const).find((f) => f.toLowerCase() === key.toLowerCase())
    if (!field || value === null) continue
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
      return
    }
    const parsed = parseCidr(text)
    if (!parsed.ok) errors.push(`nonMasqueradeCIDRs[${i}] ${text}: not a CIDR (${parsed.reason})`)
    else if (formatCidr(parsed.cidr) !== text.trim()) errors.push(`nonMasqueradeCIDRs[${i}] ${text}: the address is not the network address (${formatCidr(parsed.cidr)})`)
  })
  return errors
}

/** the IPv4 ranges the agent keeps unmasqueraded, in config order, link-local first (SNAT-05/06) */
export function nonMasqueradeRanges(config: AgentConfig): Cidr[] {
  const list = config.nonMasqueradeCIDRs.filter((c) => !c.includes(':')).map((c) => cidr(c))
  return config.masqLinkLocal ? list : [cidr('169.254.0.0/16'), ...list]
}

/**
 * SNAT-05: the agent's chain as `iptables-restore --noflush` input. Declaring the chain flushes
 * it, so the whole chain is replaced atomically; the POSTROUTING jump is ensured separately
 * (appended when missing, never reordered).
 */
export function renderAgentChain(config: AgentConfig, chain: string, randomFully = true): string {
  const local = '-m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE"'
  const lines = ['*nat', `:${chain} - [0:0]`]
  if (!config.masqLinkLocal) lines.push(`-A ${chain} ${local} -d 169.254.0.0/16 -j RETURN`)
  for (const c of config.nonMasqueradeCIDRs) if (!c.includes(':')) lines.push(`-A ${chain} ${local} -d ${c} -j RETURN`)
  lines.push(`-A ${chain} -m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE${randomFully ? ' --random-fully' : ''}`, 'COMMIT', '')
  return lines.join('\n')
}

/** SNAT-05: the POSTROUTING rule (without `-A POSTROUTING`) that sends non-local traffic to the chain */
export function agentJumpRule(chain: string): string[] {
  return ['-m', 'comment', '--comment', `ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom ${chain} chain`, '-m', 'addrtype', '!', '--dst-type', 'LOCAL', '-j', chain]
}
