/**
 * Does a node masquerade a pod's packet to a destination? SNAT-14: run the packet through the
 * node's whole nat table as read by `iptables-save -t nat` (every POSTROUTING rule in order,
 * jumps to IP-MASQ, IP-MASQ-AGENT, XCC-MASQ or KUBE-POSTROUTING evaluated as sub-chains).
 * Shared by the live doctor and `xcc masquerade list`.
 */
import {type Cidr, type Ip, cidrContainsIp, parseCidr} from '../net/ipv4.js'
import {parseIptablesSave} from './parse.js'
import {runPipeline} from './pipeline.js'
import type {HostContext, IptPacket, L4Protocol, NatRecord, RuleRef, Ruleset} from './types.js'

export interface NodeSnatInput {
  /** `iptables-save -t nat` of the node */
  readonly natRules: string
  /** for rule references in evidence */
  readonly source: string
  /** the node's own addresses (addrtype LOCAL), the first being its primary one */
  readonly addresses: readonly Ip[]
  readonly podCidr?: Cidr
  /** the interface the packet leaves by */
  readonly uplink: string
  readonly packet: {readonly src: Ip; readonly dst: Ip; readonly protocol: L4Protocol; readonly srcPort: number; readonly dstPort: number}
}

export type NodeSnatDecision =
  | {readonly kind: 'unparsable'; readonly line: number; readonly message: string}
  | {readonly kind: 'masquerade'; readonly rule: RuleRef; readonly nat: NatRecord; readonly after: IptPacket; readonly hits: readonly RuleRef[]; readonly ruleset: Ruleset}
  /** the packet leaves with the pod address; `decisive` is the rule that kept it so, when one did */
  | {readonly kind: 'kept'; readonly decisive?: {readonly rule: RuleRef; readonly range: string; readonly how: 'return' | 'negated-masquerade'}; readonly hits: readonly RuleRef[]; readonly ruleset: Ruleset}
  | {readonly kind: 'dropped'; readonly hook: string; readonly hits: readonly RuleRef[]}
  | {readonly kind: 'unknown'; readonly rule: RuleRef; readonly reason: string}
  | {readonly kind: 'local'}

export function decideNodeSnat(input: NodeSnatInput): NodeSnatDecision {
  const {ruleset, errors} = parseIptablesSave(input.natRules, input.source)
  if (errors.length > 0) return {kind: 'unparsable', line: errors[0]?.line ?? 0, message: errors[0]?.message ?? 'syntax error'}
  const {packet} = input
  const host: HostContext = {
    isLocal: (a) => a >>> 24 === 127 || input.addresses.includes(a),
    interfaceAddress: (iface) => (iface === input.uplink ? input.addresses[0] : iface === 'lo' ? 0x7f000001 : input.podCidr ? input.podCidr.base + 1 : undefined),
  }
  const ipt: IptPacket = {...packet, inIface: 'cbr0', mark: 0, ctstate: 'NEW'}
  const outcome = runPipeline({
    ruleset, host, origin: 'arriving', packet: ipt, ipForward: true,
    route: (dst) => (host.isLocal(dst) ? {local: true} : {local: false, outIface: input.uplink}),
  })[0]
  if (!outcome || outcome.kind === 'local') return {kind: 'local'}
  if (outcome.kind === 'dropped') return {kind: 'dropped', hook: outcome.hook, hits: outcome.hits}
  if (outcome.kind === 'unknown') return {kind: 'unknown', rule: outcome.rule, reason: outcome.reason}
  const snat = outcome.nat.find((n) => n.kind === 'MASQUERADE' || n.kind === 'SNAT')
  if (snat) return {kind: 'masquerade', rule: snat.rule, nat: snat, after: outcome.packet, hits: outcome.hits, ruleset}
  // SNAT-06/09/10: a RETURN for a range holding the destination, or a `! -d R … MASQUERADE` rule whose R holds it
  const holds = (text: string, negated: boolean): string | undefined => {
    const m = /(!\s+)?-d\s+(\S+)/.exec(text)
    if (!m || Boolean(m[1]) !== negated) return undefined
    const r = parseCidr(m[2] as string, {allowBareIp: true})
    return r.ok && cidrContainsIp(r.cidr, packet.dst) ? (m[2] as string) : undefined
  }
  const returned = outcome.hits.find((h) => h.table === 'nat' && /-j RETURN\b/.test(h.text) && holds(h.text, false))
  if (returned) return {kind: 'kept', decisive: {rule: returned, range: holds(returned.text, false) as string, how: 'return'}, hits: outcome.hits, ruleset}
  const skipped = [...(ruleset.tables.get('nat')?.chains.values() ?? [])].flatMap((c) => c.rules.map((r) => r.ref)).find((r) => /-j MASQUERADE\b/.test(r.text) && holds(r.text, true))
  if (skipped) return {kind: 'kept', decisive: {rule: skipped, range: holds(skipped.text, true) as string, how: 'negated-masquerade'}, hits: outcome.hits, ruleset}
  return {kind: 'kept', hits: outcome.hits, ruleset}
}
