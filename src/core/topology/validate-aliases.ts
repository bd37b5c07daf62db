/**
 * Alias IP ranges (ROUTE-10, GKE-02) are allocated addresses: in one network no two may overlap,
 * and none may hold an address something else already has (a NIC's primary IP, a load balancer's).
 */
import {type Cidr, type Ip, cidrContainsIp, formatCidr, formatIp, lastIp, maskOf} from '../net/ipv4.js'
import type {IssueSink} from './issues.js'

export interface AliasClaim {
  readonly network: string
  readonly cidr: Cidr
  readonly path: readonly PropertyKey[]
  /** "alias range 10.1.5.0/24 of instance vm nic0" */
  readonly label: string
  /** claims of one group (a cluster's pod ranges) are checked against each other elsewhere */
  readonly group?: string
}

export interface AddressClaim {
  readonly network: string
  readonly address: Ip
  /** "instance vm nic0", "forwarding rule fr" */
  readonly label: string
}

/** Reports overlapping alias ranges (at the later one) and alias ranges holding a claimed address. */
export function reportAliasConflicts(aliases: readonly AliasClaim[], addresses: readonly AddressClaim[], sink: IssueSink): void {
  const byNetwork = new Map<string, Array<{claim: AliasClaim; order: number}>>()
  aliases.forEach((claim, order) => {
    const list = byNetwork.get(claim.network) ?? []
    list.push({claim, order})
    byNetwork.set(claim.network, list)
  })
  for (const [network, list] of byNetwork) {
    // CIDRs nest or are disjoint: sorted by base (wider first), a range overlaps an earlier one
    // exactly when it starts inside the widest range still open.
    const sorted = [...list].sort((a, b) => a.claim.cidr.base - b.claim.cidr.base || a.claim.cidr.prefix - b.claim.cidr.prefix)
    let open: (typeof sorted)[number] | undefined
    for (const current of sorted) {
      if (open && current.claim.cidr.base <= lastIp(open.claim.cidr)) {
        const sameGroup = open.claim.group !== undefined && open.claim.group === current.claim.group
        if (!sameGroup) {
          const [earlier, later] = open.order < current.order ? [open.claim, current.claim] : [current.claim, open.claim]
          sink.add(later.path, `${later.label} overlaps ${earlier.label} in network ${network}; alias IP ranges cannot overlap`, formatCidr(later.cidr))
        }
        continue
      }
      open = current
    }
  }

  const index = new Map<string, Map<number, Map<number, AliasClaim>>>()
  for (const claim of aliases) {
    const byPrefix = index.get(claim.network) ?? new Map<number, Map<number, AliasClaim>>()
    index.set(claim.network, byPrefix)
    const level = byPrefix.get(claim.cidr.prefix) ?? new Map<number, AliasClaim>()
    byPrefix.set(claim.cidr.prefix, level)
    if (!level.has(claim.cidr.base)) level.set(claim.cidr.base, claim)
  }
  for (const {network, address, label} of addresses) {
    for (const [prefix, level] of index.get(network) ?? []) {
      const alias = level.get((address & maskOf(prefix)) >>> 0)
      if (alias && cidrContainsIp(alias.cidr, address)) {
        sink.add(alias.path, `${alias.label} holds ${formatIp(address)}, the address of ${label} in network ${network}; an alias IP range must not contain an address in use`, formatCidr(alias.cidr))
      }
    }
  }
}
