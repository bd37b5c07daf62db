/**
 * VPC firewall evaluation (FW-01…FW-08): rules of the NIC's network, in priority order with
 * deny before allow, targets by tags, implied allow-egress / deny-ingress at 65535.
 */
import {IntervalSet} from '../net/interval-set.js'
import {type Cidr, cidr, cidrContainsIp} from '../net/ipv4.js'
import type {FirewallFacts, InstanceFacts, Model, NetworkFacts} from '../topology/model-types.js'
import type {FirewallView, Packet} from './types.js'

const PROTOCOL_NUMBERS: Readonly<Record<string, string>> = {tcp: '6', udp: '17', icmp: '1', sctp: '132'}

export interface FirewallDecision {
  readonly action: 'allow' | 'deny'
  readonly rule?: FirewallFacts
  readonly view: FirewallView
}

/** FW-03: targets are every instance of the network, or those holding one of targetTags. */
function targets(rule: FirewallFacts, instance: InstanceFacts): boolean {
  return rule.targetTags.length === 0 || rule.targetTags.some((t) => instance.tags.includes(t))
}

// plain loops: a network may hold thousands of rules, and a packet that no rule admits meets every one
function protocolMatches(rule: FirewallFacts, protocol: string, port: number): boolean {
  const number = PROTOCOL_NUMBERS[protocol]
  for (const p of rule.protocols) {
    if (p.protocol !== 'all' && p.protocol !== protocol && p.protocol !== number) continue
    if (!p.ports) return true
    for (const r of p.ports) if (port >= r.lo && port <= r.hi) return true
  }
  return false
}

function inAny(ranges: readonly Cidr[], address: number): boolean {
  for (const r of ranges) if (cidrContainsIp(r, address)) return true
  return false
}

/**
 * FW-03 sourceTags match the primary IP of a NIC, in this network, of an instance holding the tag;
 * never an alias IP (FW-04) and never a peer's VM (PEER-09).
 */
function sourceTagsMatch(model: Model, network: string, rule: FirewallFacts, src: number): boolean {
  if (rule.sourceTags.length === 0) return false
  const owner = model.ownerOf(network, src)
  if (!owner || owner.kind !== 'nic') return false
  const instance = model.instances.get(owner.instance)
  return instance !== undefined && rule.sourceTags.some((t) => instance.tags.includes(t))
}

/** rules target by tags only, so instances with the same tags share every firewall answer (a tag may hold a comma) */
function tagsKey(instance: InstanceFacts): string {
  return instance.tags.join('\u0000')
}

/** The rules of a list that target instances with these tags, in evaluation order; computed once per tag set. */
const targeted = new WeakMap<readonly FirewallFacts[], Map<string, readonly FirewallFacts[]>>()
function rulesFor(rules: readonly FirewallFacts[], instance: InstanceFacts): readonly FirewallFacts[] {
  let byTags = targeted.get(rules)
  if (!byTags) targeted.set(rules, (byTags = new Map()))
  const key = tagsKey(instance)
  let list = byTags.get(key)
  if (!list) byTags.set(key, (list = rules.filter((r) => targets(r, instance))))
  return list
}

/** Decisions are pure functions of the (immutable) model and the packet: remember them, bounded. */
const decisions = new WeakMap<Model, Map<string, FirewallDecision>>()
const MAX_REMEMBERED = 100_000

export function evaluateVpcFirewall(model: Model, network: NetworkFacts, instance: InstanceFacts, direction: 'INGRESS' | 'EGRESS', packet: Packet): FirewallDecision {
  let memo = decisions.get(model)
  if (!memo) decisions.set(model, (memo = new Map()))
  const key = `${network.name}|${direction}|${tagsKey(instance)}|${packet.protocol}|${packet.src}|${packet.dst}|${packet.dstPort}`
  let decision = memo.get(key)
  if (!decision) {
    if (memo.size >= MAX_REMEMBERED) memo.clear()
    memo.set(key, (decision = decideVpcFirewall(model, network, instance, direction, packet)))
  }
  return decision
}

/** Of those, the rules whose protocols and ports take this protocol and port, in order; computed once per pair. */
const byPort = new WeakMap<readonly FirewallFacts[], Map<string, readonly FirewallFacts[]>>()
function rulesForPort(rules: readonly FirewallFacts[], protocol: string, port: number): readonly FirewallFacts[] {
  let lists = byPort.get(rules)
  if (!lists) byPort.set(rules, (lists = new Map()))
  const key = `${protocol}|${port}`
  let list = lists.get(key)
  if (!list) lists.set(key, (list = rules.filter((r) => protocolMatches(r, protocol, port))))
  return list
}

function decideVpcFirewall(model: Model, network: NetworkFacts, instance: InstanceFacts, direction: 'INGRESS' | 'EGRESS', packet: Packet): FirewallDecision {
  for (const rule of rulesForPort(rulesFor(direction === 'INGRESS' ? network.ingress : network.egress, instance), packet.protocol, packet.dstPort)) {
    if (rule.destinationRanges.length > 0 && !inAny(rule.destinationRanges, packet.dst)) continue
    if (direction === 'INGRESS' && !inAny(rule.sourceRanges, packet.src) && !sourceTagsMatch(model, network.name, rule, packet.src)) continue
    return {action: rule.action, rule, view: {name: rule.name, type: 'VPC_FIREWALL_RULE', action: rule.action, priority: rule.priority, network: network.name, direction}}
  }
  // FW-02: implied rules at priority 65535.
  return direction === 'INGRESS'
    ? {action: 'deny', view: {name: 'implied-deny-ingress', type: 'IMPLIED_VPC_FIREWALL_RULE', action: 'deny', priority: 65535, network: network.name, direction}}
    : {action: 'allow', view: {name: 'implied-allow-egress', type: 'IMPLIED_VPC_FIREWALL_RULE', action: 'allow', priority: 65535, network: network.name, direction}}
}

/** ILB-08: where Google's health checkers probe from. */
export const HEALTH_CHECK_RANGES: readonly Cidr[] = [cidr('35.191.0.0/16'), cidr('130.211.0.0/22')]

export interface HealthCheckAdmission {
  /** the part of the health-check ranges that the firewall admits */
  readonly allowed: IntervalSet
  /** the part it blocks (empty when healthy) */
  readonly blocked: IntervalSet
  /** rules that decided some of the range */
  readonly deciding: readonly FirewallFacts[]
}

/**
 * ILB-08: evaluates the ingress rules for every probe source at once (interval arithmetic), so
 * "allows only part of the ranges" is detected exactly, as Connectivity Tests' MISCONFIGURED state.
 */
const admissions = new WeakMap<NetworkFacts, Map<string, HealthCheckAdmission>>()

export function evaluateHealthCheckAdmission(network: NetworkFacts, instance: InstanceFacts, vip: number, port: number): HealthCheckAdmission {
  let memo = admissions.get(network)
  if (!memo) admissions.set(network, (memo = new Map()))
  const key = `${tagsKey(instance)}|${vip}|${port}`
  let admission = memo.get(key)
  if (!admission) memo.set(key, (admission = admitHealthChecks(network, instance, vip, port)))
  return admission
}

function admitHealthChecks(network: NetworkFacts, instance: InstanceFacts, vip: number, port: number): HealthCheckAdmission {
  let remaining = IntervalSet.of(HEALTH_CHECK_RANGES)
  let allowed = IntervalSet.empty()
  const deciding: FirewallFacts[] = []
  for (const rule of rulesFor(network.ingress, instance)) {
    if (remaining.isEmpty()) break
    if (!protocolMatches(rule, 'tcp', port)) continue
    if (rule.destinationRanges.length > 0 && !inAny(rule.destinationRanges, vip)) continue
    const decided = remaining.intersect(IntervalSet.of(rule.sourceRanges))
    if (decided.isEmpty()) continue
    deciding.push(rule)
    if (rule.action === 'allow') allowed = allowed.union(decided)
    remaining = remaining.subtract(decided)
  }
  return {allowed, blocked: IntervalSet.of(HEALTH_CHECK_RANGES).subtract(allowed), deciding}
}
