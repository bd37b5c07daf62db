/**
 * `--mode gateway` (seed 000, and clusters whose ranges overlap): a shared network and subnet,
 * per cluster `--gateways` VMs with nic0 in the shared subnet and nic1 in the cluster's, and an
 * internal load balancer in the shared subnet in front of the server's gateways.
 *
 * How a packet is carried (what seed 000 lacked):
 * - a client pod sends to the load balancer's address in the shared range; its network routes
 *   that range to the client's gateways (one route per gateway, equal priority: ECMP, ROUTE-04;
 *   an internal load balancer in the shared network cannot be a next hop in the cluster's network,
 *   ILB-13), which may receive a foreign destination (canIpForward, ROUTE-10);
 * - the client gateway masquerades what it forwards out of nic0 (seed 000's missing SNAT): the
 *   server side sees a unique shared address, not a pod address both clusters use;
 * - the server gateway receives the load balancer's address (passthrough, ILB-05), DNATs it to
 *   the Service (its GKE load balancer, else a node's node port) and masquerades out of nic1, so
 *   the reply comes back to the same gateway (ROUTE-11: no asymmetric return).
 */
import {XccError} from '../errors.js'
import {type Cidr, cidr, formatCidr, formatIp} from '../net/ipv4.js'
import type {ClusterFacts, Model} from '../topology/model-types.js'
import type {GuestSpec} from '../topology/schema.js'
import {HEALTH_CHECK_RANGES, type LinkDesign, type LinkRequest, type ServicePort, Wants, labels, nameOf, nodeTags, servicePort} from './design.js'
import {ownedBy} from './names.js'
import {checkViaRange, chooseSharedRange, sharedVip} from './ranges.js'

interface Shared {
  readonly network: string
  readonly subnet: string
  readonly range: Cidr
  readonly createNetwork: boolean
}

function sharedOf(model: Model, request: LinkRequest, from: ClusterFacts, to: ClusterFacts): Shared {
  const network = request.viaNetwork ?? nameOf(request, 'shared')
  const subnet = nameOf(request, 'shared')
  const existing = model.topology.networks.find((n) => n.name === network)
  const ownSubnet = existing?.subnets.find((s) => s.name === subnet && ownedBy(s.description, request.link))
  if (network === from.network || network === to.network) throw new XccError(`--via-network ${network} is the network of cluster ${network === from.network ? from.name : to.name}`, {hint: 'the shared network must be a third network (xcc creates it when it does not exist)'})
  const ours = (what: {what: string}): boolean => ownSubnet !== undefined && what.what === `subnet ${subnet} of ${network}`
  const range = request.viaRange ? checkViaRange(model, request.viaRange, ours)
    : ownSubnet ? cidr(ownSubnet.ipCidrRange)
    : chooseSharedRange(model)
  // a network xcc did not make (--via-network) is used, not owned
  const createNetwork = existing === undefined || ownedBy(existing.description, request.link)
  return {network, subnet, range, createNetwork}
}

/** the startup script's guest of a gateway (rendered by core/topology/guest-script, which the lab and xcc snapshot read back) */
function gatewayGuest(c: ClusterFacts, serve?: {vip: string; port: number; target: {ip: string; port: number}}): GuestSpec {
  const lines = ['*nat']
  if (serve) lines.push(`-A PREROUTING -d ${serve.vip}/32 -p tcp -m tcp --dport ${serve.port} -j DNAT --to-destination ${serve.target.ip}:${serve.target.port}`)
  // seed 000's missing step: what leaves into the shared network carries the gateway's address, not a pod's (GW SNAT)
  lines.push(`-A POSTROUTING -s ${formatCidr(c.podRange)} -o nic0 -j MASQUERADE`, `-A POSTROUTING -s ${formatCidr(c.subnet.primary)} -o nic0 -j MASQUERADE`)
  if (serve) lines.push(`-A POSTROUTING -d ${serve.target.ip}/32 -o nic1 -j MASQUERADE`)
  lines.push('COMMIT')
  // ROUTE-11: the guest's default route is nic0's; the cluster's pods are behind nic1
  return {ipForward: true, routes: [{destRange: formatCidr(c.podRange), nic: 1}], iptables: `${lines.join('\n')}\n`}
}

/** where a server gateway sends what arrives for the Service: GKE's load balancer of it, else the first node's node port */
function targetOf(model: Model, c: ClusterFacts, sp: ServicePort): {ip: string; port: number} {
  const rule = sp.service.forwardingRule ? model.forwardingRules.get(sp.service.forwardingRule) : undefined
  if (rule) return {ip: formatIp(rule.ip), port: sp.port}
  const node = [...c.nodes].sort((a, b) => a.name.localeCompare(b.name))[0]
  if (!sp.nodePort || !node) throw new XccError(`--service ${sp.service.namespace}/${sp.service.name}: it is a ${sp.service.type} Service without a node port, so the gateways cannot reach it`, {hint: 'make it type: NodePort, or an internal LoadBalancer, and plan again'})
  return {ip: formatIp(node.ip), port: sp.nodePort}
}

const zoneOf = (model: Model, c: ClusterFacts): string => model.instances.get([...c.nodes].sort((a, b) => a.name.localeCompare(b.name))[0]?.name ?? '')?.zone ?? `${c.region}-a`

export function designGateway(model: Model, request: LinkRequest, from: ClusterFacts, to: ClusterFacts): LinkDesign {
  if (from.region !== to.region) {
    throw new XccError(`--mode gateway: ${from.name} is in ${from.region} and ${to.name} in ${to.region}; the gateways' shared subnet is regional and a VM's NICs share its region (ROUTE-11)`, {hint: 'use --mode peering, or clusters of one region'})
  }
  const sp = servicePort(to, request)
  if (!sp) throw new XccError('--mode gateway needs --service NS/NAME: the gateways of --to forward to that Service', {hint: 'e.g. --service default/echoheaders'})
  if (request.gateways < 1 || request.gateways > 8) throw new XccError(`--gateways ${request.gateways}: must be 1 to 8`)
  const shared = sharedOf(model, request, from, to)
  const wants = new Wants(request, model)
  const region = to.region
  const vip = formatIp(sharedVip(shared.range))
  const gwTag = nameOf(request, 'gw')
  const notes = [`shared network ${shared.network}, subnet ${shared.subnet} ${formatCidr(shared.range)} (${request.viaRange ? '--via-range' : 'a /24 no range of the project overlaps'}); the Service at ${vip}:${sp.port}`]
  if (shared.createNetwork) wants.add({kind: 'network', name: shared.network}, 'shared', 'the shared network the gateways join with nic0 (seed 000\'s "shared")')
  else notes.push(`network ${shared.network} exists and is not xcc's: the link adds its subnet to it and leaves the network alone`)
  wants.add({kind: 'subnetwork', name: shared.subnet, network: shared.network, region, ipCidrRange: formatCidr(shared.range)}, 'shared',
    `the shared subnet (${formatCidr(shared.range)}): it overlaps no range of the project, so the gateways' nic0 addresses are unique where the clusters' are not (PEER-08)`)
  wants.add({kind: 'firewall', name: nameOf(request, 'shared-allow'), network: shared.network, sourceRanges: [formatCidr(shared.range)], targetTags: [gwTag], allowed: [{IPProtocol: 'tcp', ports: [String(sp.port)]}]}, 'shared-allow',
    `lets the client gateways (masqueraded to their shared addresses) reach the server gateways on ${sp.port}`)
  wants.add({kind: 'firewall', name: nameOf(request, 'shared-allow-hc'), network: shared.network, sourceRanges: [...HEALTH_CHECK_RANGES], targetTags: [gwTag], allowed: [{IPProtocol: 'tcp', ports: [String(sp.port)]}]}, 'shared-allow-hc',
    `lets the health checkers reach the gateways on ${sp.port} (ILB-08)`)

  const target = targetOf(model, to, sp)
  for (const c of [from, to]) {
    const serve = c === to ? {vip, port: sp.port, target} : undefined
    const zone = zoneOf(model, c)
    const guest = gatewayGuest(c, serve)
    const names = Array.from({length: request.gateways}, (_, i) => nameOf(request, `${c.name}-gw`, String(i + 1)))
    for (const name of names) {
      wants.add({kind: 'instance', name, zone, tags: [gwTag], labels: labels(request), guest,
        nics: [{network: shared.network, subnetwork: shared.subnet, region}, {network: c.network, subnetwork: c.subnet.name, region}]}, `${c.name}-gw`,
      `a gateway of ${c.name}: nic0 in ${shared.subnet}, nic1 in ${c.subnet.name}, canIpForward (ROUTE-10), forwarding${serve ? `, DNAT of ${vip}:${sp.port} to ${target.ip}:${target.port}` : ''} and masquerade into the shared network (seed 000's missing SNAT)`)
    }
    names.forEach((name, i) => {
      wants.add({kind: 'route', name: nameOf(request, `${c.name}-to-shared`, String(i + 1)), network: c.network, destRange: formatCidr(shared.range), priority: 1000, nextHopInstance: {zone, name}}, `${c.name}-to-shared`,
        `sends ${c.name}'s traffic for the shared range to gateway ${name}${request.gateways > 1 ? ' (equal routes: ECMP over the gateways, ROUTE-04)' : ''}`)
    })
    if (c === from) {
      const sources = [formatCidr(c.podRange), formatCidr(c.subnet.primary)]
      wants.add({kind: 'firewall', name: nameOf(request, 'allow-gw', c.name), network: c.network, sourceRanges: sources, targetTags: [gwTag], allowed: [{IPProtocol: 'tcp', ports: [String(sp.port)]}]}, 'allow-gw',
        `lets ${c.name}'s pods and nodes (${sources.join(', ')}) reach its gateways' nic1 on ${sp.port}`)
    } else {
      wants.add({kind: 'firewall', name: nameOf(request, 'allow-from-gw', c.name), network: c.network, sourceRanges: [formatCidr(c.subnet.primary)], targetTags: nodeTags(model, c), allowed: [{IPProtocol: 'tcp', ports: [String(target.port)]}]}, 'allow-from-gw',
        `lets ${c.name}'s gateways (masqueraded to their nic1 addresses in ${formatCidr(c.subnet.primary)}) reach ${target.ip}:${target.port}`)
      const ig = nameOf(request, `${c.name}-ig`)
      const hc = nameOf(request, `${c.name}-hc`)
      const bs = nameOf(request, `${c.name}-bs`)
      const fr = nameOf(request, `${c.name}-fr`)
      wants.add({kind: 'instanceGroup', name: ig, zone, network: shared.network, instances: names}, `${c.name}-ig`, `the unmanaged instance group of ${c.name}'s gateways, the load balancer's backend`)
      wants.add({kind: 'healthCheck', name: hc, region, port: sp.port}, `${c.name}-hc`, `checks ${sp.port} through the gateways (ILB-08)`)
      wants.add({kind: 'backendService', name: bs, region, network: shared.network, groups: [{zone, name: ig}], healthCheck: hc}, `${c.name}-bs`, `balances over ${c.name}'s gateways (ILB-01)`)
      wants.add({kind: 'forwardingRule', name: fr, region, network: shared.network, subnetwork: shared.subnet, IPAddress: vip, ports: [String(sp.port)], allowGlobalAccess: false, backendService: bs, labels: labels(request)}, `${c.name}-fr`,
        `the address of ${sp.service.namespace}/${sp.service.name} in the shared subnet: ${vip}:${sp.port}`, `${sp.service.namespace}/${sp.service.name}`)
    }
  }
  return {mode: 'gateway', wanted: wants.items, kube: [], address: {forwardingRule: nameOf(request, `${to.name}-fr`), ip: vip, port: sp.port}, peeringNames: [], notes}
}
