/**
 * The address ranges a link must keep apart: every subnet range (primary and secondary) of a
 * network and the pod and service ranges of the clusters in it. Peering refuses overlapping
 * ranges (PEER-08); a shared network of gateways must not overlap anything either.
 */
import {XccError} from '../errors.js'
import {type Cidr, cidrsOverlap, formatCidr, lastIp, parseCidr} from '../net/ipv4.js'
import type {ClusterFacts, Model} from '../topology/model-types.js'

export interface NamedRange {
  readonly cidr: Cidr
  /** e.g. `the pod range of c1`, `subnet a-main of vpc-a` */
  readonly what: string
}

/** every range in a network: its subnets (primary and secondary) and its clusters' pod and service ranges */
export function networkRanges(model: Model, network: string): NamedRange[] {
  const out: NamedRange[] = []
  for (const s of model.networks.get(network)?.subnets ?? []) {
    out.push({cidr: s.primary, what: `subnet ${s.name} of ${network}`})
    for (const r of s.secondary) out.push({cidr: r.cidr, what: `range ${r.rangeName} of subnet ${s.name} (${network})`})
  }
  for (const c of model.clusters.values()) {
    if (c.network !== network) continue
    out.push({cidr: c.podRange, what: `the pod range of ${c.name}`}, {cidr: c.serviceRange, what: `the service range of ${c.name}`})
  }
  // a range held twice (a VPC-native cluster's pod range is also a secondary range) is named once
  const seen = new Set<string>()
  return out.filter((r) => {
    const key = formatCidr(r.cidr)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

export interface Overlap {
  readonly a: NamedRange
  readonly b: NamedRange
}

export function overlaps(a: readonly NamedRange[], b: readonly NamedRange[]): Overlap[] {
  const out: Overlap[] = []
  for (const x of a) for (const y of b) if (cidrsOverlap(x.cidr, y.cidr)) out.push({a: x, b: y})
  return out
}

export const describeOverlap = (o: Overlap): string => `${formatCidr(o.a.cidr)} (${o.a.what}) overlaps ${formatCidr(o.b.cidr)} (${o.b.what})`

/** PEER-08: the two clusters' networks cannot be peered when any of their ranges overlap */
export function peeringOverlaps(model: Model, from: ClusterFacts, to: ClusterFacts): Overlap[] {
  if (from.network === to.network) return []
  return overlaps(networkRanges(model, from.network), networkRanges(model, to.network))
}

/**
 * A `/24` for the shared network that overlaps nothing in the project: the first free one of
 * 10.210.200.0/24 (seed 000's), 10.210.201.0/24 … 10.255.255.0/24, then 172.16.0.0/12 and
 * 192.168.0.0/16. The same project gives the same answer.
 */
export function chooseSharedRange(model: Model): Cidr {
  const taken = [...model.networks.keys()].flatMap((n) => networkRanges(model, n)).map((r) => r.cidr)
  const pools: Array<{from: number; to: number}> = [
    {from: 0x0ad2c800, to: 0x0affff00}, // 10.210.200.0 … 10.255.255.0
    {from: 0xac100000, to: 0xac1fff00}, // 172.16.0.0/12
    {from: 0xc0a80000, to: 0xc0a8ff00}, // 192.168.0.0/16
  ]
  for (const pool of pools) {
    for (let base = pool.from; base <= pool.to; base += 256) {
      const c: Cidr = {base: base >>> 0, prefix: 24}
      if (!taken.some((t) => cidrsOverlap(t, c))) return c
    }
  }
  throw new XccError('no free /24 for the shared network in 10.210.200.0-10.255.255.0, 172.16.0.0/12 or 192.168.0.0/16', {hint: 'give one with --via-range'})
}

/** --via-range: a CIDR of at least 8 addresses that overlaps none of the project's ranges */
export function checkViaRange(model: Model, text: string, ignore: (what: NamedRange) => boolean): Cidr {
  const parsed = parseCidr(text)
  if (!parsed.ok) throw new XccError(`--via-range ${text}: ${parsed.reason}`, {hint: 'a range like 10.210.200.0/24'})
  if (parsed.cidr.prefix > 29) throw new XccError(`--via-range ${text}: too small for gateways and a load balancer (at most /29)`)
  const all = [...model.networks.keys()].flatMap((n) => networkRanges(model, n)).filter((r) => !ignore(r))
  const clash = overlaps([{cidr: parsed.cidr, what: '--via-range'}], all)
  if (clash.length > 0) {
    throw new XccError(`--via-range ${text} overlaps ${clash.map((o) => `${formatCidr(o.b.cidr)} (${o.b.what})`).join(', ')}`, {hint: 'the shared network must not overlap any network or cluster range; leave --via-range out and xcc picks a free /24'})
  }
  return parsed.cidr
}

/** the address of the load balancer in the shared range: the last one GCP does not reserve (the top two and the first two are) */
export function sharedVip(range: Cidr): number {
  return (lastIp(range) - 2) >>> 0
}

