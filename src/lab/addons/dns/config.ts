/**
 * What the lab's cluster DNS server (dnsmasq) is told to forward, from the provider's ConfigMap
 * (pure). kube-dns: `stubDomains` ({"zone": ["IP[:port]", …]}) and `upstreamNameservers`
 * (["IP[:port]", …], at most 3) of `kube-system/kube-dns`, turned into `server=/zone/IP#port`
 * and `server=IP#port` lines as dnsmasq-nanny turns them into flags (kubernetes/dns
 * pkg/dns/config, pkg/dnsmasq/nanny.go). An invalid map is refused whole and the previous
 * configuration stays, as kube-dns keeps its last valid one.
 *
 * CoreDNS: the `forward` zones and inline `hosts` entries of the `kube-system/coredns` Corefile
 * (corefile.ts parses it). `forward . /etc/resolv.conf` would leave the lab: it is dropped with a
 * note. Nothing here ever names the host's resolver, so an unknown name gets REFUSED.
 */
import {parseIp} from '../../../core/net/ipv4.js'
import {DNS_DOMAIN} from '../../compile/dns.js'
import {type CorefileDirective, parseCorefile} from './corefile.js'

export interface ForwardConfig {
  /** servers-file lines (`server=/zone/IP#port`, `server=IP#port`), sorted */
  readonly servers: readonly string[]
  /** hosts entries (`IP name…`) from CoreDNS `hosts` blocks */
  readonly hosts: readonly string[]
  /** what the lab leaves out (unsupported plugins, targets that would leave the lab) */
  readonly notes: readonly string[]
}

export type ConfigDecision = {readonly ok: true; readonly config: ForwardConfig} | {readonly ok: false; readonly error: string}

export const EMPTY_CONFIG: ForwardConfig = {servers: [], hosts: [], notes: []}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const MAX_UPSTREAMS = 3

/** `IP`, `IP:port` → `IP#port` for dnsmasq, or undefined when it is not one */
export function dnsmasqTarget(text: string): string | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d{1,5}))?$/.exec(text.trim())
  if (!m || parseIp(m[1] as string) === undefined) return undefined
  const port = m[2] === undefined ? 53 : Number(m[2])
  if (port < 1 || port > 65535) return undefined
  return port === 53 ? (m[1] as string) : `${m[1] as string}#${port}`
}

function parseJson(data: Readonly<Record<string, unknown>>, key: string): {value?: unknown; error?: string} {
  const text = data[key]
  if (text === undefined || text === '') return {}
  if (typeof text !== 'string') return {error: `${key}: not a string`}
  try {
    return {value: JSON.parse(text) as unknown}
  } catch (error) {
    return {error: `${key}: invalid JSON (${(error as Error).message})`}
  }
}

/** kube-dns: the `data` of `kube-system/kube-dns` (absent: no stub domains, no upstreams). */
export function kubeDnsConfig(data: Readonly<Record<string, unknown>> | undefined): ConfigDecision {
  const servers: string[] = []
  const stub = parseJson(data ?? {}, 'stubDomains')
  if (stub.error) return {ok: false, error: stub.error}
  if (stub.value !== undefined) {
    if (typeof stub.value !== 'object' || stub.value === null || Array.isArray(stub.value)) return {ok: false, error: 'stubDomains: must be a JSON object of zone → list of nameservers'}
    for (const [zone, targets] of Object.entries(stub.value as Record<string, unknown>)) {
      const name = zone.replace(/\.$/, '')
      if (!DNS1123_SUBDOMAIN.test(name)) return {ok: false, error: `stubDomains: "${zone}" is not a valid domain name`}
      if (name === DNS_DOMAIN || name.endsWith(`.${DNS_DOMAIN}`)) return {ok: false, error: `stubDomains: "${zone}" is the cluster domain, which kube-dns serves itself`}
      if (!Array.isArray(targets) || targets.length === 0) return {ok: false, error: `stubDomains: "${zone}" needs a list of nameservers`}
      for (const t of targets) {
        const target = typeof t === 'string' ? dnsmasqTarget(t) : undefined
        if (!target) return {ok: false, error: `stubDomains: "${zone}": nameserver ${JSON.stringify(t)} is not an IP address or IP:port`}
        servers.push(`server=/${name}/${target}`)
      }
    }
  }
  const up = parseJson(data ?? {}, 'upstreamNameservers')
  if (up.error) return {ok: false, error: up.error}
  if (up.value !== undefined) {
    if (!Array.isArray(up.value)) return {ok: false, error: 'upstreamNameservers: must be a JSON list of nameservers'}
    if (up.value.length > MAX_UPSTREAMS) return {ok: false, error: `upstreamNameservers: at most ${MAX_UPSTREAMS} nameservers, got ${up.value.length}`}
    for (const t of up.value) {
      const target = typeof t === 'string' ? dnsmasqTarget(t) : undefined
      if (!target) return {ok: false, error: `upstreamNameservers: ${JSON.stringify(t)} is not an IP address or IP:port`}
      servers.push(`server=${target}`)
    }
  }
  return {ok: true, config: {servers: [...new Set(servers)].sort(), hosts: [], notes: []}}
}

/** plugins that change nothing the lab emulates (health, metrics, caching, logging) */
const INERT = new Set(['errors', 'health', 'ready', 'prometheus', 'cache', 'loop', 'reload', 'loadbalance', 'log', 'debug', 'kubernetes', 'whoami', 'bind'])

/** `dns://10.0.0.1:53.`, `example.org:53` → the zone without scheme, port or trailing dot (`.` for the root) */
function zoneOf(key: string): string {
  const bare = key.replace(/^dns:\/\//, '').replace(/:\d+$/, '')
  if (bare === '.' || bare === '') return '.'
  return bare.replace(/\.$/, '').toLowerCase()
}

function forwardLines(zone: string, args: readonly string[], notes: string[]): string[] {
  const out: string[] = []
  for (const raw of args) {
    const target = raw.replace(/^dns:\/\//, '')
    const server = dnsmasqTarget(target)
    if (!server) {
      notes.push(raw.startsWith('/') ? `forward ${zone} ${raw}: a resolv.conf would lead out of the lab; not forwarded` : `forward ${zone} ${raw}: only IP[:port] targets are emulated; ignored`)
      continue
    }
    out.push(zone === '.' ? `server=${server}` : `server=/${zone}/${server}`)
  }
  return out
}

function hostsEntries(d: CorefileDirective, notes: string[]): string[] {
  const out: string[] = []
  if (d.args.length > 0) notes.push(`hosts ${d.args[0] as string}: the lab reads no host files; only inline entries are served`)
  for (const line of d.body ?? []) {
    if (['fallthrough', 'ttl', 'reload', 'no_reverse'].includes(line.name)) continue
    if (parseIp(line.name) === undefined || line.args.length === 0) {
      notes.push(`hosts: "${[line.name, ...line.args].join(' ')}" is not an entry; ignored`)
      continue
    }
    out.push(`${line.name} ${line.args.join(' ')}`)
  }
  return out
}

/** CoreDNS: the Corefile of `kube-system/coredns` (absent: nothing forwarded). */
export function corednsConfig(corefile: string | undefined): ConfigDecision {
  if (corefile === undefined) return {ok: true, config: EMPTY_CONFIG}
  const parsed = parseCorefile(corefile)
  if (!parsed.ok) return {ok: false, error: `Corefile: ${parsed.error}`}
  const servers: string[] = []
  const hosts: string[] = []
  const notes: string[] = []
  const seen = new Set<string>()
  for (const block of parsed.blocks) {
    for (const key of block.keys) {
      const port = /:(\d+)$/.exec(key)?.[1] ?? '53'
      const id = `${zoneOf(key)}:${port}`
      // a repeated ZONE:PORT is a startup error: the previous configuration keeps running
      if (seen.has(id)) return {ok: false, error: `Corefile: zone ${id} is defined more than once`}
      seen.add(id)
    }
    const zones = block.keys.filter((k) => (/:(\d+)$/.exec(k)?.[1] ?? '53') === '53').map(zoneOf)
    if (zones.length === 0) {
      notes.push(`server block ${block.keys.join(' ')}: not on port 53, which pods query; ignored`)
      continue
    }
    for (const d of block.directives) {
      if (d.name === 'forward') {
        const from = zoneOf(d.args[0] ?? '.')
        for (const zone of from === '.' ? zones : [from]) servers.push(...forwardLines(zone, d.args.slice(1), notes))
      } else if (d.name === 'hosts') {
        hosts.push(...hostsEntries(d, notes))
      } else if (!INERT.has(d.name)) {
        notes.push(`plugin ${d.name} (server block ${block.keys.join(' ')}) is not emulated by the lab; ignored`)
      }
    }
  }
  return {ok: true, config: {servers: [...new Set(servers)].sort(), hosts, notes}}
}
