/**
 * A VPC network's routing table: every route that applies inside it (local subnet routes,
 * static routes, routes learned over peerings) indexed by prefix length for O(33) lookups.
 */
import {type Ip, maskOf} from '../net/ipv4.js'
import type {RouteFacts, RouteLookup, RoutingTable} from './model-types.js'

const isSubnetRoute = (r: RouteFacts): boolean => r.kind === 'SUBNET' || r.kind === 'PEERING_SUBNET'

export class RouteTable implements RoutingTable {
  private readonly byPrefix = new Map<number, Map<number, RouteFacts[]>>()
  private prefixes: number[] = []
  private readonly all: RouteFacts[] = []

  add(route: RouteFacts): void {
    this.all.push(route)
    let level = this.byPrefix.get(route.destRange.prefix)
    if (!level) {
      level = new Map()
      this.byPrefix.set(route.destRange.prefix, level)
      this.prefixes = [...this.byPrefix.keys()].sort((a, b) => b - a)
    }
    const bucket = level.get(route.destRange.base)
    if (bucket) bucket.push(route)
    else level.set(route.destRange.base, [route])
  }

  get routes(): readonly RouteFacts[] {
    return this.all
  }

  /**
   * Selects the route for a packet to `dst` sent by an instance with `senderTags`.
   * ROUTE-03 tags, ROUTE-04 longest prefix → lowest priority → ECMP, ROUTE-06 subnet routes
   * are not overridden by more specific custom routes unless the subnet allows it.
   */
  lookup(dst: Ip, senderTags: readonly string[]): RouteLookup {
    // All subnet routes of the most specific matching range: more than one (equal prefix, ROUTE-04)
    // is a tie the tracer cannot break (ROUTE-08, PEER-12), so every one of them wins.
    let subnets: RouteFacts[] | undefined
    let custom: RouteFacts[] | undefined
    for (const prefix of this.prefixes) {
      // Once a subnet route matched, anything shorter loses to it anyway.
      if (subnets) break
      const bucket = this.byPrefix.get(prefix)?.get((dst & maskOf(prefix)) >>> 0)
      if (!bucket) continue
      for (const route of bucket) {
        if (isSubnetRoute(route)) {
          if (subnets) subnets.push(route)
          else subnets = [route]
          continue
        }
        if (custom && custom[0] && custom[0].destRange.prefix !== prefix) continue
        if (!applies(route, senderTags)) continue
        if (!custom || (custom[0] as RouteFacts).priority > route.priority) custom = [route]
        else if ((custom[0] as RouteFacts).priority === route.priority) custom.push(route)
      }
    }
    if (!subnets) return {winners: custom ?? []}
    const subnetPrefix = (subnets[0] as RouteFacts).destRange.prefix
    if (!custom || (custom[0] as RouteFacts).destRange.prefix < subnetPrefix) return {winners: subnets}
    const best = custom[0] as RouteFacts
    if (subnets.every((r) => r.subnet?.allowSubnetCidrRoutesOverlap)) {
      // ROUTE-06(c): the subnet lets custom routes inside it win; an exact tie stays undecided (ROUTE-08).
      return best.destRange.prefix > subnetPrefix ? {winners: custom} : {winners: [...subnets, ...custom]}
    }
    // ROUTE-06(a): inside a subnet range the subnet route wins; report what it shadows.
    return {winners: subnets, shadowed: best}
  }
}

/** ROUTE-03: a route with tags applies only to instances holding one of them. */
export function applies(route: RouteFacts, senderTags: readonly string[]): boolean {
  return route.tags.length === 0 || route.tags.some((t) => senderTags.includes(t))
}
