/**
 * The VMs of a random topology (random-topology.ts): plain VMs (tags, listen ports, alias ranges,
 * sometimes canIpForward) and multi-NIC gateways (canIpForward, guest.ipForward, guest.routes,
 * MASQUERADE out of a NIC, a FORWARD chain that drops; ROUTE-10, ROUTE-11), and an internal load
 * balancer in front of VMs of one region (ILB-01…ILB-04, ILB-08).
 */
import type {InstanceInput} from '../builders/topology.js'
import {type Draft, HEALTH_CHECK_RANGES, LIMITS, type NetworkDraft, REGIONS, type SubnetDraft, TAGS, host, overlapping, zoneIn} from './random-topology-draft.js'

export function drawVm(d: Draft, k: number): void {
  const {dice} = d
  if (d.machines >= LIMITS.machines) return
  const name = `vm${k}`
  // a gateway: NICs in two or three networks whose subnets share a region and do not overlap (ROUTE-11)
  const regions = REGIONS.filter((r) => d.networks.filter((n) => n.subnets.some((s) => s.region === r)).length >= 2)
  const gateway = regions.length > 0 && dice.chance(0.5)
  let nics: SubnetDraft[]
  if (gateway) {
    const region = dice.one(regions)
    nics = []
    for (const n of d.networks) {
      const s = n.subnets.filter((x) => x.region === region)
      if (s.length && !nics.some((x) => overlapping(d.networks.find((m) => m.name === x.network) as NetworkDraft, n))) nics.push(dice.one(s))
    }
    if (nics.length > 2 && dice.chance(0.5)) nics = nics.slice(0, 2)
    if (dice.chance(0.5)) nics.reverse()
  } else {
    nics = [dice.one(dice.one(d.networks).subnets)]
  }
  const region = (nics[0] as SubnetDraft).region
  const aliases = !gateway && dice.chance(0.12) ? [`${(nics[0] as SubnetDraft).prefix}.240/28`] : []
  const otherNic = nics.length > 1 ? dice.int(1, nics.length - 1) : 0
  const routes = gateway ? dice.some(d.ranges.filter((r) => !nics.some((s) => s.cidr === r)), 0.35).slice(0, 2).map((destRange) => ({destRange, nic: dice.chance(0.8) ? otherNic : 0})) : []
  const masq = gateway && dice.chance(0.5) ? dice.int(0, nics.length - 1) : undefined
  const dropForward = gateway && dice.chance(0.12)
  const iptables = masq !== undefined || dropForward ? guestRules(masq, dropForward) : undefined
  const listen = dice.chance(0.3) ? dice.some([{protocol: 'tcp' as const, port: 80}, {protocol: 'tcp' as const, port: 8080}], 0.5) : undefined
  const instance: InstanceInput = {
    name, zone: zoneIn(dice, region),
    networkInterfaces: nics.map((s, j) => ({network: s.network, subnetwork: s.name, networkIP: host(s), ...(j === 0 && aliases.length ? {aliasIpRanges: aliases} : {})})),
    ...(dice.chance(0.4) ? {tags: dice.some(TAGS, 0.5)} : {}),
    ...((gateway ? dice.chance(0.85) : dice.chance(0.15)) ? {canIpForward: true} : {}),
    guest: {
      ...((gateway ? dice.chance(0.85) : dice.chance(0.1)) ? {ipForward: true} : {}),
      ...(routes.length ? {routes} : {}),
      ...(iptables ? {iptables} : {}),
      ...(listen ? {listen} : {}),
    },
  }
  d.t.instances.push(instance)
  d.machines++
}

/** A gateway's iptables-save: MASQUERADE out of one NIC, and/or a FORWARD chain that drops. */
function guestRules(masqNic: number | undefined, dropForward: boolean): string {
  const lines: string[] = []
  if (masqNic !== undefined) lines.push('*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', `-A POSTROUTING -o nic${masqNic} -j MASQUERADE`, 'COMMIT')
  if (dropForward) lines.push('*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT')
  return `${lines.join('\n')}\n`
}

/** An internal load balancer in front of VMs of one region (some perhaps without a NIC in its network). */
export function drawVmLoadBalancer(d: Draft): void {
  const {dice} = d
  const first = dice.one(d.t.instances)
  const nic = first.networkInterfaces[0] as NonNullable<InstanceInput['networkInterfaces']>[number]
  const network = d.networks.find((n) => n.name === nic.network) as NetworkDraft
  const subnet = network.subnets.find((s) => s.name === nic.subnetwork) as SubnetDraft
  const sameRegion = d.t.instances.filter((m) => m.zone.startsWith(`${subnet.region}-`)).map((m) => m.name)
  const name = 'ilb0'
  const allPorts = dice.chance(0.3)
  d.t.forwardingRules.push({
    name, region: subnet.region, network: network.name, subnetwork: subnet.name, IPAddress: host(subnet), backendService: `${name}-bs`,
    ...(allPorts ? {allPorts: true, IPProtocol: dice.one(['TCP', 'L3_DEFAULT'] as const)} : {ports: [String(dice.one([80, 8080]))]}),
    ...(dice.chance(0.4) ? {allowGlobalAccess: true} : {}),
  })
  d.t.backendServices.push({name: `${name}-bs`, region: subnet.region, backends: dice.some(sameRegion, 0.7), healthCheck: {protocol: 'TCP', port: 80}})
  if (dice.chance(0.6)) d.t.firewalls.push({name: `${network.name}-allow-hc`, network: network.name, sourceRanges: HEALTH_CHECK_RANGES, allowed: [{IPProtocol: 'tcp', ports: ['80']}]})
}
