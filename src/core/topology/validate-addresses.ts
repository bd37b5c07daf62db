/**
 * Address rules: every CIDR and IP well formed, addresses inside the ranges that hold them,
 * no overlapping subnet ranges in a network or across an ACTIVE peering (PEER-08).
 */
import {type Cidr, cidrContains, cidrContainsIp, cidrsOverlap, formatCidr, formatIp, lastIp} from '../net/ipv4.js'
import {type IssueSink, subnetKey} from './issues.js'
import {activePeerPairs, computePeeringStates} from './peering-state.js'
import type {Topology} from './schema.js'
import {type AliasClaim, reportAliasConflicts} from './validate-aliases.js'

interface RangeOwner {
  cidr: Cidr
  path: PropertyKey[]
  label: string
}

export function validateAddresses(t: Topology, sink: IssueSink): void {
  const subnetRanges = new Map<string, {primary?: Cidr; secondary: Map<string, Cidr | undefined>; network: string}>()
  const networkRanges = new Map<string, RangeOwner[]>()

  t.networks.forEach((n, i) => {
    const owners: RangeOwner[] = []
    n.subnets.forEach((s, j) => {
      const path = ['networks', i, 'subnets', j]
      const primary = sink.cidr([...path, 'ipCidrRange'], s.ipCidrRange)
      if (primary) owners.push({cidr: primary, path: [...path, 'ipCidrRange'], label: `subnet ${s.name} (${s.ipCidrRange})`})
      const secondary = new Map<string, Cidr | undefined>()
      s.secondaryIpRanges.forEach((r, k) => {
        const c = sink.cidr([...path, 'secondaryIpRanges', k, 'ipCidrRange'], r.ipCidrRange)
        secondary.set(r.rangeName, c)
        if (c) owners.push({cidr: c, path: [...path, 'secondaryIpRanges', k, 'ipCidrRange'], label: `secondary range ${s.name}/${r.rangeName} (${r.ipCidrRange})`})
      })
      subnetRanges.set(subnetKey(n.name, s.name), {primary, secondary, network: n.name})
    })
    reportOverlaps(owners, owners, sink, `in network ${n.name}`)
    networkRanges.set(n.name, owners)
  })

  // PEER-08: ranges of two ACTIVE-peered networks must not overlap; such a snapshot is inconsistent.
  const pairs = activePeerPairs(t)
  for (const [a, b] of pairs) {
    reportOverlaps(networkRanges.get(b) ?? [], networkRanges.get(a) ?? [], sink, `across the active peering of ${a} and ${b} (PEER-08)`)
  }
  reportOverlappingPeers(t, networkRanges, new Set(pairs.map((pair) => pair.join('\u0000'))), sink)

  const usedIps = new Map<string, Map<number, string>>()
  const claimIp = (network: string, address: number, path: PropertyKey[], label: string): void => {
    const used = usedIps.get(network) ?? new Map<number, string>()
    usedIps.set(network, used)
    const other = used.get(address)
    if (other !== undefined) sink.add(path, `${formatIp(address)} is already used by ${other} in network ${network}`, formatIp(address))
    else used.set(address, label)
  }
  const inPrimary = (path: PropertyKey[], address: number, network: string, subnet: string, what: string): void => {
    const primary = subnetRanges.get(subnetKey(network, subnet))?.primary
    if (!primary) return
    if (!cidrContainsIp(primary, address)) sink.add(path, `${what} is outside subnet ${subnet} (${formatCidr(primary)})`, formatIp(address))
    else if (address === primary.base || address === primary.base + 1 || address === lastIp(primary)) {
      sink.add(path, `${what} is reserved in subnet ${subnet} (network, gateway or broadcast address)`, formatIp(address))
    }
  }

  t.routes.forEach((r, i) => sink.cidr(['routes', i, 'destRange'], r.destRange))
  t.firewalls.forEach((f, i) => {
    f.sourceRanges.forEach((c, j) => sink.cidr(['firewalls', i, 'sourceRanges', j], c, {allowBareIp: true}))
    f.destinationRanges.forEach((c, j) => sink.cidr(['firewalls', i, 'destinationRanges', j], c, {allowBareIp: true}))
  })

  const aliases: AliasClaim[] = []
  const multiNicRanges: Array<{instance: number; nics: Array<Cidr | undefined>}> = []
  t.instances.forEach((m, i) => {
    const nics: Array<Cidr | undefined> = []
    m.networkInterfaces.forEach((nic, j) => {
      const path = ['instances', i, 'networkInterfaces', j]
      const address = sink.ip([...path, 'networkIP'], nic.networkIP)
      nics.push(subnetRanges.get(subnetKey(nic.network, nic.subnetwork))?.primary)
      if (address !== undefined) {
        inPrimary([...path, 'networkIP'], address, nic.network, nic.subnetwork, `nic${j} address`)
        claimIp(nic.network, address, [...path, 'networkIP'], `instance ${m.name} nic${j}`)
      }
      nic.aliasIpRanges.forEach((alias, k) => {
        const aliasPath = [...path, 'aliasIpRanges', k]
        const c = sink.cidr([...aliasPath, 'ipCidrRange'], alias.ipCidrRange, {allowBareIp: true})
        if (c) aliases.push({network: nic.network, cidr: c, path: [...aliasPath, 'ipCidrRange'], label: `alias range ${formatCidr(c)} of instance ${m.name} nic${j}`})
        const ranges = subnetRanges.get(subnetKey(nic.network, nic.subnetwork))
        if (!c || !ranges) return
        if (alias.subnetworkRangeName !== undefined) {
          const holder = ranges.secondary.get(alias.subnetworkRangeName)
          if (!ranges.secondary.has(alias.subnetworkRangeName)) sink.add([...aliasPath, 'subnetworkRangeName'], `subnet ${nic.subnetwork} has no secondary range "${alias.subnetworkRangeName}"`, alias.subnetworkRangeName)
          else if (holder && !cidrContains(holder, c)) sink.add([...aliasPath, 'ipCidrRange'], `is outside secondary range ${alias.subnetworkRangeName} (${formatCidr(holder)})`, alias.ipCidrRange)
        } else if (!ranges.primary || !cidrContains(ranges.primary, c)) {
          sink.add([...aliasPath, 'ipCidrRange'], `is outside the primary range of subnet ${nic.subnetwork}; name a secondary range with subnetworkRangeName`, alias.ipCidrRange)
        }
      })
    })
    m.guest.routes.forEach((r, j) => sink.cidr(['instances', i, 'guest', 'routes', j, 'destRange'], r.destRange))
    if (nics.length > 1) multiNicRanges.push({instance: i, nics})
  })
  // ROUTE-11: the NICs of a multi-NIC VM sit in non-overlapping subnets.
  for (const {instance, nics} of multiNicRanges) {
    nics.forEach((a, j) =>
      nics.slice(j + 1).forEach((b, k) => {
        if (a && b && cidrsOverlap(a, b)) {
          sink.add(['instances', instance, 'networkInterfaces', j + k + 1, 'subnetwork'], `overlaps the subnet of nic${j} (${formatCidr(a)}); a VM's NICs need non-overlapping subnets`, formatCidr(b))
        }
      }),
    )
  }

  t.forwardingRules.forEach((f, i) => {
    const address = sink.ip(['forwardingRules', i, 'IPAddress'], f.IPAddress)
    if (address !== undefined) {
      inPrimary(['forwardingRules', i, 'IPAddress'], address, f.network, f.subnetwork, 'the load balancer address')
      claimIp(f.network, address, ['forwardingRules', i, 'IPAddress'], `forwarding rule ${f.name}`)
    }
    f.sourceIpRanges.forEach((c, j) => sink.cidr(['forwardingRules', i, 'sourceIpRanges', j], c, {allowBareIp: true}))
  })

  t.clusters.forEach((c, i) => validateClusterAddresses(c, i, sink, subnetRanges, networkRanges, claimIp, inPrimary, aliases))
  const addresses = [...usedIps].flatMap(([network, used]) => [...used].map(([address, label]) => ({network, address, label})))
  reportAliasConflicts(aliases, addresses, sink)
}

function validateClusterAddresses(
  c: Topology['clusters'][number],
  i: number,
  sink: IssueSink,
  subnetRanges: Map<string, {primary?: Cidr; secondary: Map<string, Cidr | undefined>}>,
  networkRanges: Map<string, RangeOwner[]>,
  claimIp: (network: string, address: number, path: PropertyKey[], label: string) => void,
  inPrimary: (path: PropertyKey[], address: number, network: string, subnet: string, what: string) => void,
  aliases: AliasClaim[],
): void {
  const path = ['clusters', i]
  const pods = sink.cidr([...path, 'clusterIpv4Cidr'], c.clusterIpv4Cidr)
  const services = sink.cidr([...path, 'servicesIpv4Cidr'], c.servicesIpv4Cidr)
  if ('kubenet' in c.masquerade) sink.cidr([...path, 'masquerade', 'kubenet', 'nonMasqueradeCidr'], c.masquerade.kubenet.nonMasqueradeCidr)
  if ('ipMasq' in c.masquerade) {
    const list = c.masquerade.ipMasq.nonMasqueradeCIDRs ?? []
    list.forEach((x, j) => sink.cidr([...path, 'masquerade', 'ipMasq', 'nonMasqueradeCIDRs', j], x))
    // SNAT-04: the agent rejects a list longer than cidrLimit and keeps its previous config.
    if (list.length > c.masquerade.ipMasq.cidrLimit) {
      sink.add([...path, 'masquerade', 'ipMasq', 'nonMasqueradeCIDRs'], `has ${list.length} CIDRs, more than cidrLimit ${c.masquerade.ipMasq.cidrLimit}: the agent would reject it (SNAT-04)`)
    }
  }
  const subnet = subnetRanges.get(subnetKey(c.network, c.subnetwork))
  if (pods && c.mode === 'VPC_NATIVE' && subnet) {
    // contracts.md §1: a VPC-native pod range is routed by the subnet route of a secondary range.
    const holder = [...subnet.secondary.entries()].find(([, r]) => r && cidrContains(r, pods))
    if (!holder) sink.add([...path, 'clusterIpv4Cidr'], `a VPC_NATIVE pod range must lie in a secondary range of subnet ${c.subnetwork}`, c.clusterIpv4Cidr)
  }
  if (pods && c.mode === 'ROUTES') {
    for (const owner of networkRanges.get(c.network) ?? []) {
      if (cidrsOverlap(owner.cidr, pods)) sink.add([...path, 'clusterIpv4Cidr'], `overlaps ${owner.label} of network ${c.network}`, c.clusterIpv4Cidr)
    }
  }
  const podCidrs: RangeOwner[] = []
  const nodeCidr = new Map<string, Cidr | undefined>()
  const nodeIp = new Map<string, number | undefined>()
  c.nodes.forEach((n, j) => {
    const nodePath = [...path, 'nodes', j]
    const address = sink.ip([...nodePath, 'networkIP'], n.networkIP)
    nodeIp.set(n.name, address)
    if (address !== undefined) {
      inPrimary([...nodePath, 'networkIP'], address, c.network, c.subnetwork, `node ${n.name} address`)
      claimIp(c.network, address, [...nodePath, 'networkIP'], `node ${n.name}`)
    }
    const podCidr = sink.cidr([...nodePath, 'podCidr'], n.podCidr)
    nodeCidr.set(n.name, podCidr)
    if (podCidr && pods && !cidrContains(pods, podCidr)) sink.add([...nodePath, 'podCidr'], `is outside the cluster pod range ${c.clusterIpv4Cidr}`, n.podCidr)
    // Routes-based GKE carves the service range out of the pod range; node pod ranges stay clear of it.
    if (podCidr && services && cidrsOverlap(podCidr, services)) sink.add([...nodePath, 'podCidr'], `overlaps the service range ${c.servicesIpv4Cidr}`, n.podCidr)
    // GKE-02: a VPC-native node's podCidr is an alias range of its nic0.
    if (podCidr && c.mode === 'VPC_NATIVE') {
      aliases.push({network: c.network, cidr: podCidr, path: [...nodePath, 'podCidr'], label: `the podCidr ${n.podCidr} of node ${n.name} (an alias range of its nic0)`, group: c.name})
    }
    if (podCidr) podCidrs.push({cidr: podCidr, path: [...nodePath, 'podCidr'], label: `the podCidr of node ${n.name} (${n.podCidr})`})
  })
  reportOverlaps(podCidrs, podCidrs, sink, `in cluster ${c.name}`)
  const podIps = new Map<number, string>()
  c.pods.forEach((p, j) => {
    const podPath = [...path, 'pods', j, 'ip']
    const address = sink.ip(podPath, p.ip)
    if (address === undefined) return
    if (p.hostNetwork) {
      if (address !== nodeIp.get(p.node)) sink.add(podPath, `a hostNetwork pod has its node's address ${n2s(nodeIp.get(p.node))}`, p.ip)
      return
    }
    const range = nodeCidr.get(p.node)
    if (range && !cidrContainsIp(range, address)) sink.add(podPath, `is outside the podCidr ${formatCidr(range)} of node ${p.node}`, p.ip)
    const other = podIps.get(address)
    if (other) sink.add(podPath, `is already the address of pod ${other}`, p.ip)
    else podIps.set(address, `${p.namespace}/${p.name}`)
  })
  c.services.forEach((s, j) => {
    const address = sink.ip([...path, 'services', j, 'clusterIP'], s.clusterIP)
    if (address !== undefined && services && !cidrContainsIp(services, address)) {
      sink.add([...path, 'services', j, 'clusterIP'], `is outside the service range ${c.servicesIpv4Cidr}`, s.clusterIP)
    }
  })
}

/**
 * PEER-08: a network cannot be peered with two networks whose ranges overlap each other (it would
 * learn both as subnet routes). Reported at the network's later ACTIVE peering; a pair of peers
 * that are themselves peered is already reported as a direct overlap.
 */
function reportOverlappingPeers(t: Topology, networkRanges: Map<string, RangeOwner[]>, peered: Set<string>, sink: IssueSink): void {
  const states = computePeeringStates(t)
  t.networks.forEach((n, i) => {
    const active = states.filter((p) => p.network === n.name && p.state === 'ACTIVE').map((p) => ({spec: p.spec, index: n.peerings.indexOf(p.spec)}))
    active.forEach((later, k) => {
      for (const earlier of active.slice(0, k)) {
        const [x, y] = [earlier.spec.network, later.spec.network].sort()
        if (peered.has(`${x}\u0000${y}`)) continue
        for (const range of networkRanges.get(later.spec.network) ?? []) {
          const clash = (networkRanges.get(earlier.spec.network) ?? []).find((other) => cidrsOverlap(range.cidr, other.cidr))
          if (!clash) continue
          sink.add(
            ['networks', i, 'peerings', later.index],
            `peering ${later.spec.name} to ${later.spec.network}: ${range.label} of ${later.spec.network} overlaps ${clash.label} of ${earlier.spec.network}, ` +
              `which ${n.name} also peers with (peering ${earlier.spec.name}); a network cannot be peered with two networks whose ranges overlap (PEER-08)`,
            formatCidr(range.cidr),
          )
        }
      }
    })
  })
}

function n2s(address: number | undefined): string {
  return address === undefined ? '(unknown)' : formatIp(address)
}

/** Reports each range of `later` that overlaps a range of `earlier` (or an earlier one of itself). */
function reportOverlaps(later: readonly RangeOwner[], earlier: readonly RangeOwner[], sink: IssueSink, where: string): void {
  const same = later === earlier
  later.forEach((a, i) => {
    const candidates = same ? earlier.slice(0, i) : earlier
    const clash = candidates.find((b) => cidrsOverlap(a.cidr, b.cidr))
    if (clash) sink.add(a.path, `${a.label} overlaps ${clash.label} ${where}`, formatCidr(a.cidr))
  })
}
