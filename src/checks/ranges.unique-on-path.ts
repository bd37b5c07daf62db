import {type Check, allSteps, findDrop, unique, stepNetwork} from '../core/doctor/check.js'
import {type Cidr, cidrsOverlap, formatCidr} from '../core/net/ipv4.js'

interface Labelled {
  readonly range: Cidr
  readonly label: string
}

/**
 * PEER-08 and seed 000: the client's address must mean one thing on the destination side. When
 * its pod or node range also exists there (duplicate pod ranges, reused subnets), replies go astray.
 */
export const check: Check = {
  id: 'ranges.unique-on-path',
  title: "The client's address ranges are unique among the networks and clusters on the path",
  severity: 'error',
  rules: ['PEER-08', 'ILB-06'],
  run: (ctx) => {
    const source = ctx.flow.source
    const ownNetworks = source.kind === 'pod' ? [source.cluster.network] : source.instance.nics.map((n) => n.network)
    const mine: Labelled[] = source.kind === 'pod'
      ? [{range: source.cluster.podRange, label: `the pod range of ${source.cluster.name}`}, {range: source.cluster.subnet.primary, label: `subnet ${source.cluster.subnet.name}`}]
      : source.instance.nics.map((n) => ({range: n.subnet.primary, label: `subnet ${n.subnet.name}`}))
    const networks = unique(allSteps(ctx).flatMap((s) => [s.route?.network, s.firewall?.network, stepNetwork(s)]).filter((n): n is string => Boolean(n) && !ownNetworks.includes(n as string)))
    const theirs: Labelled[] = []
    for (const name of networks) {
      for (const s of ctx.model.networks.get(name)?.subnets ?? []) {
        theirs.push({range: s.primary, label: `subnet ${s.name} of ${name}`})
        for (const r of s.secondary) theirs.push({range: r.cidr, label: `range ${s.name}/${r.rangeName} of ${name}`})
      }
      for (const c of ctx.model.clusters.values()) if (c.network === name) theirs.push({range: c.podRange, label: `the pod range of cluster ${c.name} in ${name}`})
    }
    const clashes = unique(mine.flatMap((a) => theirs.filter((b) => cidrsOverlap(a.range, b.range)).map((b) => `${formatCidr(a.range)} (${a.label}) overlaps ${formatCidr(b.range)} (${b.label})`)))
    const astray = findDrop(ctx, ['ROUTE_WRONG_NETWORK'], 'return')
    if (astray) return [{status: 'fail', summary: `replies to ${astray.packet.dst} go astray: ${astray.detail}`, evidence: [...clashes, `${astray.at}: ${astray.detail}`]}]
    if (clashes.length > 0) return [{status: 'warn', summary: `the client's ranges also exist on the destination side: ${clashes.join('; ')}`, evidence: clashes}]
    return [{status: 'pass', summary: `${mine.map((m) => formatCidr(m.range)).join(', ')} ${mine.length === 1 ? 'is' : 'are'} unique on the path`}]
  },
}
