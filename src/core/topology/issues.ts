import {type TopologyIssue, formatPath} from '../errors.js'
import {type Cidr, type Ip, parseCidr, parseIp} from '../net/ipv4.js'

/** Collects validation problems with their YAML paths; parses addresses on the way. */
export class IssueSink {
  readonly issues: TopologyIssue[] = []

  add(path: readonly PropertyKey[], message: string, value?: unknown): void {
    this.issues.push({path: formatPath(path), message, ...(value === undefined ? {} : {value})})
  }

  /** A CIDR field; reports and returns undefined when malformed. */
  cidr(path: readonly PropertyKey[], text: string, options: {allowBareIp?: boolean} = {}): Cidr | undefined {
    const parsed = parseCidr(text, options)
    if (parsed.ok) return parsed.cidr
    this.add(path, `invalid CIDR: ${parsed.reason}`, text)
    return undefined
  }

  ip(path: readonly PropertyKey[], text: string): Ip | undefined {
    const parsed = parseIp(text)
    if (parsed === undefined) this.add(path, 'invalid IPv4 address (expected a.b.c.d)', text)
    return parsed
  }

  /** Reports the second and later occurrences of each key. */
  unique<T>(items: readonly T[], key: (item: T) => string, path: (index: number) => readonly PropertyKey[], what: string): void {
    const seen = new Map<string, number>()
    items.forEach((item, index) => {
      const k = key(item)
      const first = seen.get(k)
      if (first === undefined) seen.set(k, index)
      else this.add(path(index), `duplicate ${what} "${k}" (first defined at ${formatPath(path(first))})`, k)
    })
  }
}

/** Subnet names are unique per network only (peered VPCs often live in different projects): look subnets up by both. */
export function subnetKey(network: string, subnet: string): string {
  return `${network}/${subnet}`
}

export function regionOfZone(zone: string): string {
  return zone.replace(/-[a-z]$/, '')
}

export function isZone(location: string): boolean {
  return /-[a-z]$/.test(location)
}

/** "10" or "30000-32767" → [lo, hi]; undefined when malformed or out of 0..65535 */
export function parsePortRange(text: string): [number, number] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text)
  if (!m) return undefined
  const lo = Number(m[1])
  const hi = m[2] === undefined ? lo : Number(m[2])
  if (lo > hi || hi > 65535) return undefined
  return [lo, hi]
}
