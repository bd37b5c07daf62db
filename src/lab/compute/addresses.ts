/**
 * Addresses GCE allocates when a request leaves them out: a NIC's `networkIP` and an internal
 * forwarding rule's `IPAddress` (the first free address of the subnet's primary range; the
 * network and gateway addresses, the second-to-last and the broadcast address are reserved), and
 * an alias range given as a netmask (`/24`: the first free block of that size in the named
 * secondary range, or in the primary range without a name).
 */
import {type Cidr, type Ip, cidr, cidrsOverlap, formatCidr, formatIp, lastIp, maskOf, parseIp} from '../../core/net/ipv4.js'
import type {SubnetSpec, Topology} from '../../core/topology/schema.js'
import {CloudError} from '../cloud/errors.js'

function usedAddresses(t: Topology, network: string): Set<Ip> {
  const used = new Set<Ip>()
  const add = (text: string): void => {
    const parsed = parseIp(text)
    if (parsed !== undefined) used.add(parsed)
  }
  for (const m of t.instances) for (const nic of m.networkInterfaces) if (nic.network === network) add(nic.networkIP)
  for (const c of t.clusters) if (c.network === network) for (const n of c.nodes) add(n.networkIP)
  for (const f of t.forwardingRules) if (f.network === network) add(f.IPAddress)
  return used
}

function usedRanges(t: Topology, network: string): Cidr[] {
  const out: Cidr[] = []
  for (const m of t.instances) for (const nic of m.networkInterfaces) if (nic.network === network) for (const a of nic.aliasIpRanges) out.push(cidr(a.ipCidrRange))
  for (const c of t.clusters) if (c.network === network && c.mode === 'VPC_NATIVE') for (const n of c.nodes) out.push(cidr(n.podCidr))
  return out
}

function exhausted(what: string): CloudError {
  return new CloudError(400, `IP_SPACE_EXHAUSTED: ${what} has no free address left.`, 'ipSpaceExhausted')
}

/** the first free address of the subnet's primary range */
export function allocateAddress(t: Topology, network: string, subnet: SubnetSpec, also: ReadonlySet<string> = new Set()): string {
  const range = cidr(subnet.ipCidrRange)
  const used = usedAddresses(t, network)
  const ranges = usedRanges(t, network)
  for (let a = range.base + 2; a <= lastIp(range) - 2; a++) {
    if (used.has(a) || also.has(formatIp(a))) continue
    if (ranges.some((r) => cidrsOverlap(r, {base: a, prefix: 32}))) continue
    return formatIp(a)
  }
  throw exhausted(`subnetwork ${subnet.name}`)
}

/** an alias range: a CIDR as given, or a netmask (`/24`, `24`) allocated in the named range */
export function allocateAliasRange(t: Topology, network: string, subnet: SubnetSpec, text: string, rangeName: string | undefined): string {
  const m = /^\/?(\d{1,2})$/.exec(text.trim())
  if (!m) return text
  const prefix = Number(m[1])
  const within = rangeName === undefined ? subnet.ipCidrRange : subnet.secondaryIpRanges.find((r) => r.rangeName === rangeName)?.ipCidrRange
  if (within === undefined) throw new CloudError(400, `Invalid value for field 'aliasIpRanges.subnetworkRangeName': '${rangeName ?? ''}'. The subnetwork has no secondary range of that name.`, 'invalid')
  const outer = cidr(within)
  if (prefix < outer.prefix || prefix > 32) throw new CloudError(400, `Invalid value for field 'aliasIpRanges.ipCidrRange': '${text}'. The netmask does not fit in ${within}.`, 'invalid')
  const used = [...usedRanges(t, network), ...[...usedAddresses(t, network)].map((a) => ({base: a, prefix: 32}))]
  const step = 2 ** (32 - prefix)
  for (let base = outer.base; base + step - 1 <= lastIp(outer); base += step) {
    const block = {base: (base & maskOf(prefix)) >>> 0, prefix}
    if (!used.some((u) => cidrsOverlap(u, block))) return formatCidr(block)
  }
  throw exhausted(`range ${rangeName ?? subnet.name}`)
}

