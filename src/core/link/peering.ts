/**
 * `--mode peering` (seed 001): the two clusters' networks peered both ways, the server's firewall
 * opened to the client's node range (and pod range, where the pods keep their address) and to the
 * health checkers, an internal load balancer for the Service (GKE's own when the Service is an
 * internal LoadBalancer, else one over the server's node instance groups on the node port), and
 * masquerade on the client's nodes when its pods would otherwise send with an address the
 * server's network cannot route back to (the 10/8 trap, ILB-07).
 */
import {XccError} from '../errors.js'
import {type Ip, cidrContains, formatCidr, formatIp, parseCidr} from '../net/ipv4.js'
import {nodePoolGroups} from '../topology/node-pools.js'
import type {ClusterFacts, Model} from '../topology/model-types.js'
import {HEALTH_CHECK_RANGES, type KubeStep, type LinkDesign, type LinkRequest, Wants, labels, nameOf, nodeTags, podsKeepAddress, servicePort} from './design.js'
import {describeOverlap, networkRanges, overlaps, peeringOverlaps} from './ranges.js'

/** PEER-08 and PEER-07: what makes a peering impossible, as exit-2 errors naming the ranges */
export function preflightPeering(model: Model, request: LinkRequest, from: ClusterFacts, to: ClusterFacts): void {
  if (request.viaNetwork) {
    throw new XccError(`--via-network ${request.viaNetwork} with --mode peering: ${from.name} would reach ${to.name} through a third network, and peering is not transitive (PEER-07)`, {
      hint: 'leave --via-network out to peer the two networks directly, or use --mode gateway for a shared network',
    })
  }
  const clash = peeringOverlaps(model, from, to)
  if (clash.length > 0) {
    throw new XccError(`${from.network} and ${to.network} cannot be peered: ${describeOverlap(clash[0]!)} (PEER-08)`, {
      details: clash.slice(1, 6).map(describeOverlap), hint: '--mode gateway joins clusters whose ranges overlap',
    })
  }
  // PEER-08: a network cannot be peered with two networks whose ranges overlap each other
  for (const [side, other] of [[from, to], [to, from]] as const) {
    for (const p of model.networks.get(side.network)?.peerings ?? []) {
      if (p.spec.network === other.network) continue
      const third = overlaps(networkRanges(model, p.spec.network), networkRanges(model, other.network))
      if (third.length > 0) {
        throw new XccError(`${side.network} is already peered with ${p.spec.network} (peering ${p.spec.name}), whose ${describeOverlap(third[0]!)} of ${other.network}: a network cannot be peered with two networks that overlap (PEER-08)`, {hint: '--mode gateway joins clusters whose ranges overlap'})
      }
    }
  }
}

function existingPeering(model: Model, network: string, peer: string): string | undefined {
  return model.networks.get(network)?.peerings.find((p) => p.spec.network === peer)?.spec.name
}

export function designPeering(model: Model, request: LinkRequest, from: ClusterFacts, to: ClusterFacts): LinkDesign {
  preflightPeering(model, request, from, to)
  const wants = new Wants(request, model)
  const notes: string[] = []
  const kube: KubeStep[] = []
  const sp = servicePort(to, request)
  const gkeRule = sp?.service.forwardingRule ? model.forwardingRules.get(sp.service.forwardingRule) : undefined
  const ruleName = nameOf(request, 'fr')
  const ownRule = model.forwardingRules.get(ruleName)
  // where the client sends: the load balancer's address, or (before it exists) an address of the server's subnet, where it will be
  const dst: Ip = gkeRule?.ip ?? ownRule?.ip ?? ((to.subnet.primary.base + 2) >>> 0)
  const dstPort = gkeRule ? (sp?.port ?? 80) : (sp?.nodePort ?? request.port ?? 80)
  const keeps = podsKeepAddress(model, from, dst, dstPort)
  // PEER-02/06: a VPC-native cluster's pod range is a subnet range, exchanged always; a routes-based one's only as custom routes (PEER-04)
  const customRoutes = keeps && from.mode === 'ROUTES' && !request.snat
  const podsRoutable = keeps && (from.mode === 'VPC_NATIVE' || customRoutes)

  const peeringNames = [nameOf(request, 'peer', 'from'), nameOf(request, 'peer', 'to')]
  if (from.network === to.network) {
    notes.push(`${from.name} and ${to.name} share network ${from.network}: no peering is needed`)
  } else {
    // a network holds one peering per peer network: a side peered already (not by xcc) is used as it is, the other side still gets xcc's (PEER-01)
    const sides = [
      {network: from.network, peer: to.network, name: peeringNames[0]!, exportCustomRoutes: customRoutes, importCustomRoutes: false,
        reason: `peers ${from.network} (${from.name}) with ${to.network} (${to.name}) (PEER-01)${customRoutes ? `; exports the per-node pod routes of routes-based ${from.name} (PEER-04, PEER-06)` : ''}`},
      {network: to.network, peer: from.network, name: peeringNames[1]!, exportCustomRoutes: false, importCustomRoutes: customRoutes,
        reason: `the other side of the peering: it is active only when both networks hold one (PEER-01)${customRoutes ? `; imports ${from.name}'s pod routes (PEER-04)` : ''}`},
    ]
    for (const side of sides) {
      const held = existingPeering(model, side.network, side.peer)
      if (held !== undefined && held !== side.name) {
        if (customRoutes) throw new XccError(`${side.network} already has peering ${held} to ${side.peer} (not xcc's), and --no-snat needs custom routes exchanged over it (PEER-04)`, {hint: 'set --export-custom-routes/--import-custom-routes on it yourself, or drop --no-snat'})
        notes.push(`${side.network} already has peering ${held} to ${side.peer}; the link uses it and does not own it`)
        continue
      }
      // one peering operation at a time per network: the second waits for the first
      wants.add({kind: 'peering', name: side.name, parent: side.network, network: side.peer, exportCustomRoutes: side.exportCustomRoutes, importCustomRoutes: side.importCustomRoutes}, 'peer', side.reason)
    }
  }

  const tags = nodeTags(model, to)
  const sources = [formatCidr(from.subnet.primary), ...(podsRoutable ? [formatCidr(from.podRange)] : [])]
  const allowPort = gkeRule ? sp?.port : (sp?.nodePort ?? request.port)
  wants.add({kind: 'firewall', name: nameOf(request, 'allow'), network: to.network, sourceRanges: sources, targetTags: tags, allowed: [{IPProtocol: 'tcp', ...(allowPort ? {ports: [String(allowPort)]} : {})}]}, 'allow',
    `lets ${from.name}'s ${podsRoutable ? 'nodes and pods' : 'nodes'} (${sources.join(', ')}) reach ${to.name}'s nodes${allowPort ? ` on ${allowPort}` : ''}: firewalls are not shared over peering and source tags never match a peer (PEER-09)`)

  let address: LinkDesign['address']
  if (sp && gkeRule) {
    address = {forwardingRule: gkeRule.name, ip: formatIp(gkeRule.ip), port: sp.port}
    notes.push(`Service ${sp.service.namespace}/${sp.service.name} already has GKE's internal load balancer ${gkeRule.name} (${formatIp(gkeRule.ip)}); the link reuses it`)
    if (gkeRule.region !== from.region && !gkeRule.allowGlobalAccess) {
      const key = 'networking.gke.io/internal-load-balancer-allow-global-access'
      kube.push({action: 'create', kind: 'annotation', cluster: to.name, name: `${sp.service.namespace}/${sp.service.name} ${key}=true`, reason: `${from.name} is in ${from.region}, the load balancer in ${gkeRule.region}: clients of another region need global access (ILB-03); GKE owns the rule, so the Service says it`,
        command: `kubectl --context ${request.contexts[to.name] ?? to.name} -n ${sp.service.namespace} annotate service ${sp.service.name} ${key}=true`,
        annotation: {namespace: sp.service.namespace, service: sp.service.name, key, value: 'true'}})
    }
  } else if (sp) {
    if (!sp.nodePort) {
      throw new XccError(`--service ${sp.service.namespace}/${sp.service.name}: it is a ${sp.service.type} Service without a node port, so no load balancer can reach it`, {hint: 'make it type: NodePort, or an internal LoadBalancer (networking.gke.io/load-balancer-type: Internal), and plan again'})
    }
    const groups = nodePoolGroups(model.topology).filter((g) => g.cluster === to.name).map((g) => ({zone: g.zone, name: g.name}))
    const hc = nameOf(request, 'hc')
    const bs = nameOf(request, 'bs')
    wants.add({kind: 'firewall', name: nameOf(request, 'allow-hc'), network: to.network, sourceRanges: [...HEALTH_CHECK_RANGES], targetTags: tags, allowed: [{IPProtocol: 'tcp', ports: [String(sp.nodePort)]}]}, 'allow-hc',
      `lets the health checkers (${HEALTH_CHECK_RANGES.join(', ')}) reach ${to.name}'s nodes on ${sp.nodePort}, or the backends stay unhealthy (ILB-08)`)
    wants.add({kind: 'healthCheck', name: hc, region: to.region, port: sp.nodePort}, 'hc', `checks node port ${sp.nodePort} of ${to.name}'s nodes (ILB-08)`)
    wants.add({kind: 'backendService', name: bs, region: to.region, network: to.network, groups, healthCheck: hc}, 'bs',
      `balances over ${to.name}'s node instance groups (${groups.map((g) => g.name).join(', ')}), as seed 001 did by hand (ILB-01)`)
    const global = from.region !== to.region
    wants.add({kind: 'forwardingRule', name: ruleName, region: to.region, network: to.network, subnetwork: to.subnet.name, ports: [String(sp.nodePort)], allowGlobalAccess: global, backendService: bs, labels: labels(request), ...(ownRule ? {IPAddress: formatIp(ownRule.ip)} : {})}, 'fr',
      `the internal address of ${sp.service.namespace}/${sp.service.name} (node port ${sp.nodePort})${global ? `; global access, since ${from.name} is in ${from.region} and the rule in ${to.region} (ILB-03)` : ''}`, `${sp.service.namespace}/${sp.service.name}`)
    address = {forwardingRule: ruleName, ...(ownRule ? {ip: formatIp(ownRule.ip)} : {}), port: sp.nodePort}
  }

  // xcc masquerade's DaemonSet rules are not in a snapshot: what it keeps is passed in, and covers the range when one of its CIDRs holds it
  const kept = (request.masqueraded?.[from.name] ?? []).map((t) => parseCidr(t)).flatMap((p) => (p.ok ? [p.cidr] : []))
  const covered = kept.some((k) => cidrContains(k, to.subnet.primary))
  if (keeps && !podsRoutable && covered) notes.push(`${from.name}'s xcc-masquerade DaemonSet already masquerades ${formatCidr(to.subnet.primary)}`)
  if (keeps && !podsRoutable && !covered) {
    const cidrs = [formatCidr(to.subnet.primary)]
    const context = request.contexts[from.name] ?? from.name
    kube.push({action: 'create', kind: 'masquerade', cluster: from.name, name: cidrs.join(','), cidrs,
      reason: `${from.name}'s pods would send to ${formatIp(dst)} with their own address (its nodes do not masquerade that range: SNAT-06/09), and routes-based pod ranges are not exchanged over peering (PEER-06), so the reply would be lost (ILB-07)`,
      command: `xcc masquerade add --context ${context} --cidr ${cidrs.join(',')}`})
  }
  return {mode: 'peering', wanted: wants.items, kube, ...(address ? {address} : {}), peeringNames, notes}
}
