/**
 * The part of the path xcc can predict from the clusters alone: the pod's packet through its
 * node's real NAT rules (SNAT-14: the node's POSTROUTING as read by `iptables-save -t nat`).
 * The VPC part (routes, firewalls, peerings, load balancers) needs the cloud facts, so the
 * prediction stops there with ABORT until they are known (habit 4: answer rather than guess).
 */
import {decideNodeSnat} from '../iptables/node-snat.js'
import type {RuleRef} from '../iptables/types.js'
import {type Ip, LINK_LOCAL, cidrContainsIp, formatCidr, formatIp, parseCidr, sameCidr} from '../net/ipv4.js'
import {GKE_AGENT_FLAGS, nonMasqueradeRanges, parseAgentConfig, validateAgentConfig} from '../topology/ip-masq-agent.js'
import type {Packet, Step} from '../trace/types.js'
import {nodePlace, podPlace, step, viewPacket, viewRule} from '../trace/trail.js'

export interface LiveNode {
  readonly name: string
  readonly addresses: readonly Ip[]
  readonly podCidr?: string
  /** `ip -4 route` lines of the node */
  readonly routes: readonly string[]
  /** `iptables-save -t nat`, when it could be read */
  readonly natRules?: string
}

export interface LiveSourceInput {
  /** the probe's pod */
  readonly pod: {readonly context: string; readonly namespace: string; readonly name: string}
  readonly node: LiveNode
  readonly packet: Packet
  /** the probe ran in the node's network namespace: no masquerade applies (POD_USES_NODE_NETWORK_NAMESPACE) */
  readonly hostNetwork: boolean
  /**
   * GKE Dataplane V2 (kube-system/anetd runs): masquerading happens in eBPF from the ip-masq-agent
   * ConfigMap, whatever the node's iptables say (SNAT-15); `config` is its `config` key, if any
   */
  readonly dataplaneV2?: {readonly config?: string}
}

const VPC_UNKNOWN = 'the rest of the path (VPC routes, firewall rules, peerings, load balancers) depends on cloud facts xcc cannot read from the clusters: pass --topology FILE with them; the captures below show what really happened'

/** the interface the node routes a destination through (longest prefix of its routes), else eth0 */
export function uplinkFor(routes: readonly string[], dst: Ip): string {
  let best: {prefix: number; dev: string} | undefined
  for (const line of routes) {
    const m = /^(\S+)\s.*\bdev\s+(\S+)/.exec(line)
    if (!m) continue
    const dest = m[1] === 'default' ? '0.0.0.0/0' : (m[1] as string)
    const parsed = parseCidr(dest.includes('/') ? dest : `${dest}/32`, {allowBareIp: true})
    if (!parsed.ok || !cidrContainsIp(parsed.cidr, dst)) continue
    if (!best || parsed.cidr.prefix > best.prefix) best = {prefix: parsed.cidr.prefix, dev: m[2] as string}
  }
  return best?.dev ?? 'eth0'
}

export function traceLiveSource(input: LiveSourceInput): Step[] {
  const {node, packet} = input
  const at = nodePlace(node.name)
  const start = step('START_FROM_GKE_POD', podPlace({cluster: input.pod.context, namespace: input.pod.namespace, name: input.pod.name, node: node.name, declared: true}), packet, `the probe connects from ${formatIp(packet.src)} on node ${node.name}`)
  const abort = (p: Packet, detail: string): Step => step('ABORT', at, p, detail, {cause: 'UNSUPPORTED'})
  if (input.hostNetwork) {
    return [start, step('SKIP_GKE_POD_IP_MASQUERADING', at, packet, 'the probe runs in the node network namespace: it sends with the node address, nothing to masquerade', {reason: 'POD_USES_NODE_NETWORK_NAMESPACE'}), abort(packet, VPC_UNKNOWN)]
  }
  if (input.dataplaneV2) return [start, ...dataplaneV2Masquerade(input, input.dataplaneV2.config, abort)]
  if (node.natRules === undefined) return [start, abort(packet, `the NAT rules of node ${node.name} could not be read, so whether it masquerades ${formatIp(packet.dst)} is unknown`)]
  const source = `node/${node.name} iptables-save -t nat`
  const uplink = uplinkFor(node.routes, packet.dst)
  const podCidr = node.podCidr ? parseCidr(node.podCidr) : undefined
  const decision = decideNodeSnat({
    natRules: node.natRules, source, addresses: node.addresses, uplink, ...(podCidr?.ok ? {podCidr: podCidr.cidr} : {}),
    packet: {src: packet.src, dst: packet.dst, protocol: packet.protocol, srcPort: packet.srcPort ?? 0, dstPort: packet.dstPort ?? 0},
  })
  const rules = (hits: readonly RuleRef[]) => hits.filter((h) => h.table === 'nat').map((h) => viewRule(source, h))
  if (decision.kind === 'unparsable') return [start, abort(packet, `the NAT rules of node ${node.name} do not parse (line ${decision.line}: ${decision.message})`)]
  if (decision.kind === 'dropped') return [start, step('DROP', at, packet, `the node's rules drop the packet in ${decision.hook}`, {cause: 'XCC_GUEST_FIREWALL', rules: rules(decision.hits)})]
  if (decision.kind === 'unknown') return [start, step('ABORT', at, packet, `xcc does not understand rule ${decision.rule.chain} line ${decision.rule.line} of node ${node.name} (${decision.reason}), so its NAT decision is unknown`, {cause: 'XCC_IPTABLES_RULE_NOT_UNDERSTOOD', rules: [viewRule(source, decision.rule)]})]
  if (decision.kind === 'local') return [start, abort(packet, `${formatIp(packet.dst)} is an address of node ${node.name} itself`)]
  if (decision.kind === 'masquerade') {
    const after: Packet = {...packet, src: decision.after.src, srcPort: decision.after.srcPort, dst: decision.after.dst, dstPort: decision.after.dstPort}
    return [
      start,
      step('NAT', at, packet, `the node masquerades the pod address ${formatIp(packet.src)} to ${formatIp(after.src)} (${decision.rule.chain}, line ${decision.rule.line})`, {
        nat: {type: 'GKE_POD_IP_MASQUERADING', before: viewPacket(packet), after: viewPacket(after), ...(decision.nat.randomPort ? {randomPort: true} : {})},
        rules: rules(decision.hits),
      }),
      abort(after, VPC_UNKNOWN),
    ]
  }
  const after = packet
  const decisive = decision.decisive
  const range = decisive?.range
  const detail = decisive?.how === 'return'
    ? `${formatIp(packet.dst)} is in the non-masquerade range ${range}: ${decisive.rule.chain} returns before its MASQUERADE (line ${decisive.rule.line}), so the packet leaves ${uplink} with the pod address ${formatIp(packet.src)} (SNAT-06)`
    : decisive
      ? `${formatIp(packet.dst)} is inside ${range}, and the rule "${decisive.rule.text}" (line ${decisive.rule.line}) masquerades only destinations outside it, so the packet leaves ${uplink} with the pod address ${formatIp(packet.src)} (${/kubenet/.test(decisive.rule.text) ? 'SNAT-09' : 'SNAT-10'})`
      : `no rule of the node masquerades traffic to ${formatIp(packet.dst)}, so the packet leaves ${uplink} with the pod address ${formatIp(packet.src)}`
  return [
    start,
    step('SKIP_GKE_POD_IP_MASQUERADING', at, packet, detail, {
      reason: decisive ? 'DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE' : 'DEFAULT_SNAT_DISABLED',
      ...(range ? {nonMasqueradeRange: range} : {}),
      rules: decisive ? [viewRule(source, decisive.rule)] : rules(decision.hits),
    }),
    abort(after, VPC_UNKNOWN),
  ]
}

const DPV2 = 'GKE Dataplane V2 (anetd) masquerades in eBPF from kube-system/ip-masq-agent, not with the node\'s iptables (SNAT-15)'

/** SNAT-15: the ConfigMap (SNAT-02/03 overlay on GKE's defaults, SNAT-12) decides, as the agent's chain would (SNAT-06). */
function dataplaneV2Masquerade(input: LiveSourceInput, config: string | undefined, abort: (p: Packet, detail: string) => Step): Step[] {
  const {node, packet} = input
  const at = nodePlace(node.name)
  const parsed = parseAgentConfig(config, GKE_AGENT_FLAGS)
  const problems = parsed.ok ? validateAgentConfig(parsed.config, GKE_AGENT_FLAGS) : [parsed.error]
  if (!parsed.ok || problems.length) {
    return [abort(packet, `${DPV2}; its config is invalid (${problems.join('; ')}), so the agent keeps an earlier one xcc cannot see (SNAT-04)`)]
  }
  const configured = 'nonMasqueradeCIDRs' in parsed.fields
  const range = nonMasqueradeRanges(parsed.config).find((r) => cidrContainsIp(r, packet.dst))
  if (range) {
    const linkLocal = sameCidr(range, LINK_LOCAL) && !parsed.config.nonMasqueradeCIDRs.includes(formatCidr(LINK_LOCAL))
    const listed = configured && !linkLocal
    return [
      step('SKIP_GKE_POD_IP_MASQUERADING', at, packet, `${DPV2}: ${formatIp(packet.dst)} is in the non-masquerade range ${formatCidr(range)} (${listed ? 'listed in its nonMasqueradeCIDRs' : config === undefined ? 'no ConfigMap: the default list' : linkLocal ? 'link-local, masqLinkLocal is false' : 'its nonMasqueradeCIDRs is not set: the default list'}), so the packet leaves with the pod address ${formatIp(packet.src)}`, {
        reason: listed ? 'DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE' : 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE', nonMasqueradeRange: formatCidr(range),
      }),
      abort(packet, VPC_UNKNOWN),
    ]
  }
  const nodeIp = node.addresses[0]
  if (nodeIp === undefined) return [abort(packet, `${DPV2}: ${formatIp(packet.dst)} is masqueraded, but node ${node.name} reports no InternalIP`)]
  const after: Packet = {...packet, src: nodeIp}
  return [
    step('NAT', at, packet, `${DPV2}: ${formatIp(packet.dst)} is outside every non-masquerade range, so the pod address ${formatIp(packet.src)} becomes the node address ${formatIp(nodeIp)}`, {
      nat: {type: 'GKE_POD_IP_MASQUERADING', before: viewPacket(packet), after: viewPacket(after), randomPort: true},
    }),
    abort(after, VPC_UNKNOWN),
  ]
}
