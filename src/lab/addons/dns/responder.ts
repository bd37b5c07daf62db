/**
 * The lab's stand-in for a CoreDNS pod whose Corefile serves zones with the `file` plugin (the
 * `xcc dns link` responder): the image cannot run in the lab, so the pod runs dnsmasq configured
 * to answer what CoreDNS would from the same mounted ConfigMap — the zone files' A records, an
 * authoritative NXDOMAIN for other names of a served zone, REFUSED for names outside every zone
 * (dnsmasq has no upstream). The Corefile is read with the lab's own parser (./corefile.ts) and
 * the zone files with ./zone-file.ts, never with src/core/dns.
 *
 * Read: server blocks `ZONE[:53] { … file PATH [ZONES…] { reload … } … }`; PATH must be a key of
 * the ConfigMap mounted at the Corefile's directory (`-conf DIR/Corefile`), as in the pod. A zone
 * file that does not load (missing key, bad line) leaves that zone out, as CoreDNS logs the error
 * and serves nothing for it; a Corefile that does not parse is an error (CoreDNS does not start).
 * dnsmasq gives one TTL to all local answers: the smallest of the records' TTLs.
 */
import {type CorefileBlock, parseCorefile} from './corefile.js'
import {type ZoneRecord, parseZoneText} from './zone-file.js'

/** the image the stand-in takes the place of (any tag) */
export const COREDNS_IMAGE = /^registry\.k8s\.io\/coredns\/coredns(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$/

export interface ResponderZone {
  readonly zone: string
  readonly records: readonly ZoneRecord[]
  /** why the zone serves nothing, when its file did not load */
  readonly error?: string
}

export type ResponderConfig = {readonly ok: true; readonly zones: readonly ResponderZone[]} | {readonly ok: false; readonly error: string}

/** `dns://a.b.:53` → `a.b` ('' for the root zone); undefined for another port or transport */
function zoneOfKey(key: string): string | undefined {
  const m = /^(?:dns:\/\/)?([^:]*)(?::(\d+))?$/.exec(key)
  if (!m || (m[2] !== undefined && m[2] !== '53')) return undefined
  return (m[1] as string).replace(/\.$/, '').toLowerCase()
}

function fileZones(block: CorefileBlock, data: Readonly<Record<string, string>>, mountDir: string): ResponderZone[] {
  const out: ResponderZone[] = []
  const keyZones = block.keys.map(zoneOfKey).filter((z): z is string => z !== undefined)
  for (const directive of block.directives.filter((d) => d.name === 'file')) {
    const [path, ...named] = directive.args
    const zones = named.length > 0 ? named.map((z) => z.replace(/\.$/, '').toLowerCase()) : keyZones
    const prefix = `${mountDir.replace(/\/$/, '')}/`
    const key = path?.startsWith(prefix) ? path.slice(prefix.length) : undefined
    for (const zone of zones) {
      if (key === undefined || data[key] === undefined) {
        out.push({zone, records: [], error: `file ${path ?? ''}: not in the mounted ConfigMap`})
        continue
      }
      const parsed = parseZoneText(data[key] as string, zone)
      if (!parsed.ok) out.push({zone, records: [], error: `file ${path}: ${parsed.error}`})
      // names outside the zone are out of zone: CoreDNS does not serve them from it
      else out.push({zone, records: parsed.records.filter((r) => zone === '' || r.name === zone || r.name.endsWith(`.${zone}`))})
    }
  }
  return out
}

/** the zones a Corefile serves from files, given the ConfigMap `data` mounted at `mountDir` */
export function responderConfig(data: Readonly<Record<string, string>>, mountDir: string, corefileKey = 'Corefile'): ResponderConfig {
  const text = data[corefileKey]
  if (text === undefined) return {ok: false, error: `${mountDir}/${corefileKey}: no such file (the ConfigMap has no key ${corefileKey})`}
  const parsed = parseCorefile(text)
  if (!parsed.ok) return {ok: false, error: `${corefileKey}: ${parsed.error}`}
  const zones = parsed.blocks.flatMap((b) => fileZones(b, data, mountDir))
  return {ok: true, zones}
}

/** dnsmasq's hosts file: one `ip name` line per A record of the zones that loaded */
export function responderHosts(zones: readonly ResponderZone[]): string {
  const lines = zones.flatMap((z) => z.records.map((r) => `${r.address} ${r.name}`))
  return [...new Set(lines)].sort().map((l) => `${l}\n`).join('')
}

/**
 * dnsmasq's configuration: port 53 (or `port`), authoritative answers only from `dir/hosts`,
 * `local=` for every served zone (NXDOMAIN for the rest of it), no cache (a reload shows at once),
 * no upstream (REFUSED outside).
 */
export function responderDnsmasqConf(dir: string, zones: readonly ResponderZone[], options: {port?: number; listen?: string} = {}): string {
  const ttls = zones.flatMap((z) => z.records.map((r) => r.ttl))
  return [
    '# xcc lab: stand-in for the CoreDNS `file` responder',
    `port=${options.port ?? 53}`,
    ...(options.listen ? [`listen-address=${options.listen}`, 'bind-interfaces'] : []),
    'no-resolv',
    'no-hosts',
    ...[...new Set(zones.filter((z) => !z.error && z.zone !== '').map((z) => z.zone))].sort().map((z) => `local=/${z}/`),
    `addn-hosts=${dir}/hosts`,
    `local-ttl=${ttls.length > 0 ? Math.min(...ttls) : 0}`,
    'cache-size=0',
    'log-facility=-',
    'pid-file=',
    '',
  ].join('\n')
}
