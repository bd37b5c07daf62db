/**
 * The ranges `xcc masquerade` is asked to masquerade: what the user typed, checked before
 * anything is read or written, and checked again against the cluster's own ranges (SNAT-17:
 * masquerading the cluster's own pod, service or node addresses would SNAT traffic inside the
 * cluster and break NetworkPolicy and firewall expectations).
 */
import {XccError} from '../errors.js'
import {type Cidr, cidrContains, cidrsOverlap, formatCidr, parseCidr} from '../net/ipv4.js'

/** `--cidr a,b --cidr c` → the CIDRs in the order given; bad input is exit 2 naming the value */
export function parseMasqueradeCidrs(values: readonly string[], flag = '--cidr'): Cidr[] {
  const texts = values.flatMap((v) => v.split(',')).map((t) => t.trim())
  if (texts.length === 0 || texts.every((t) => t === '')) throw new XccError(`${flag}: give at least one CIDR, e.g. ${flag} 10.193.0.0/16`)
  const out: Cidr[] = []
  for (const text of texts) {
    if (text === '') throw new XccError(`${flag} ${values.join(',')}: empty entry in the list`, {hint: 'separate CIDRs with single commas: --cidr 10.193.0.0/16,10.194.0.0/16'})
    if (text.includes(':')) throw new XccError(`${flag} ${text}: IPv6 ranges are not supported (the ip-masq-agent masquerades IPv4 only without --enable-ipv6, SNAT-04)`)
    const parsed = parseCidr(text)
    if (!parsed.ok) throw new XccError(`${flag} ${text}: ${parsed.reason}`, {hint: 'write ranges as network/prefix, e.g. 10.193.0.0/16'})
    const c = parsed.cidr
    if (c.prefix === 0) {
      throw new XccError(`${flag} ${text}: refusing to masquerade every destination`, {hint: 'that would SNAT traffic inside the cluster too; name the peer ranges that cannot route back to the pods, e.g. the peer VPC subnet 10.193.0.0/16'})
    }
    const clash = out.find((o) => cidrsOverlap(o, c))
    if (clash) {
      throw new XccError(`${flag} ${text}: overlaps ${formatCidr(clash)}, given before`, {hint: cidrContains(clash, c) ? `${formatCidr(clash)} already covers it; drop ${text}` : `${text} already covers ${formatCidr(clash)}; give only one of them`})
    }
    out.push(c)
  }
  return out
}

/** The cluster's own addresses, as its API tells them. */
export interface OwnRanges {
  /** node.spec.podCIDR(s) */
  readonly podRanges: ReadonlyArray<{readonly cidr: Cidr; readonly node: string}>
  /** node InternalIPs as /32 */
  readonly nodeAddresses: ReadonlyArray<{readonly cidr: Cidr; readonly node: string}>
  /** Service clusterIPs as /32 */
  readonly serviceAddresses: ReadonlyArray<{readonly cidr: Cidr; readonly service: string}>
}

/** SNAT-17: refuses (exit 2) a CIDR that holds or overlaps the cluster's own pod, node or service addresses */
export function checkAgainstOwnRanges(cidrs: readonly Cidr[], own: OwnRanges, context: string): void {
  for (const c of cidrs) {
    const text = formatCidr(c)
    const pods = own.podRanges.filter((p) => cidrsOverlap(p.cidr, c))
    if (pods.length > 0) {
      const first = pods[0]!
      throw new XccError(`--cidr ${text} ${cidrContains(c, first.cidr) ? 'contains' : 'overlaps'} the pod range ${formatCidr(first.cidr)} of node ${first.node} in context "${context}"${pods.length > 1 ? ` (and ${pods.length - 1} more node pod ranges)` : ''}`, {
        hint: 'masquerading the cluster\'s own pods would SNAT pod-to-pod traffic (SNAT-17); give only the peer\'s ranges',
      })
    }
    const node = own.nodeAddresses.find((n) => cidrsOverlap(n.cidr, c))
    if (node) throw new XccError(`--cidr ${text} contains node ${node.node} (${formatCidr(node.cidr)}) of context "${context}"`, {hint: 'the cluster\'s own node range must stay unmasqueraded (SNAT-17); give only the peer\'s ranges'})
    const svc = own.serviceAddresses.find((s) => cidrsOverlap(s.cidr, c))
    if (svc) throw new XccError(`--cidr ${text} contains the ClusterIP ${formatCidr(svc.cidr)} of service ${svc.service} in context "${context}"`, {hint: 'the cluster\'s own service range must stay unmasqueraded (SNAT-17); give only the peer\'s ranges'})
  }
}
