/**
 * Why a pod's packet left its node without masquerade (SNAT-18 reasons), read from the rules
 * the node ran: a RETURN in an ip-masq chain (SNAT-05/11), a kubenet-style `! -d X` rule that
 * did not apply (SNAT-09/10), default SNAT disabled (SNAT-13), or no masquerade rule at all.
 */
import type {RuleRef} from '../iptables/types.js'
import {type Cidr, LINK_LOCAL, cidrContainsIp, formatCidr, formatIp, parseCidr, sameCidr} from '../net/ipv4.js'
import type {InstanceFacts, Model, NodeFacts} from '../topology/model-types.js'
import type {MasqueradeSkipReason, Packet} from './types.js'

export interface NoMasqueradeExplanation {
  readonly reason: MasqueradeSkipReason
  readonly range?: Cidr
  readonly detail: string
  readonly rules: readonly RuleRef[]
}

const DEST = /(^|\s)(!\s+)?-d\s+(\S+)/

function destinationOf(rule: RuleRef): {negated: boolean; range: Cidr} | undefined {
  const m = DEST.exec(rule.text)
  if (!m) return undefined
  const parsed = parseCidr(m[3] as string, {allowBareIp: true})
  return parsed.ok ? {negated: Boolean(m[2]), range: parsed.cidr} : undefined
}

export function explainNoMasquerade(model: Model, instance: InstanceFacts, node: NodeFacts, packet: Packet, hits: readonly RuleRef[]): NoMasqueradeExplanation {
  const dst = formatIp(packet.dst)
  const keeps = `so the packet leaves with the pod address ${formatIp(packet.src)}`
  if (node.masqueradeOrigin === 'disabled') {
    return {reason: 'DEFAULT_SNAT_DISABLED', detail: `cluster ${node.cluster} disables default SNAT (masquerade: disabled) and runs no ip-masq-agent, ${keeps} (SNAT-13)`, rules: []}
  }
  const returned = hits.find((h) => h.table === 'nat' && /-j RETURN\b/.test(h.text) && destinationOf(h)?.negated === false)
  if (returned) {
    const range = (destinationOf(returned) as {range: Cidr}).range
    const cluster = model.clusters.get(node.cluster)
    const defaults = node.masqueradeOrigin === 'ipMasq' && cluster !== undefined && 'ipMasq' in cluster.spec.masquerade && cluster.spec.masquerade.ipMasq.nonMasqueradeCIDRs === undefined
    const linkLocal = sameCidr(range, LINK_LOCAL)
    const reason: MasqueradeSkipReason = defaults || linkLocal ? 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE' : 'DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE'
    return {
      reason, range,
      detail: `${dst} is in the ${reason === 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE' ? 'default' : 'configured'} non-masquerade range ${formatCidr(range)}: ${returned.chain} returns before its MASQUERADE rule (line ${returned.line}), ${keeps} (SNAT-06)`,
      rules: [returned],
    }
  }
  const postrouting = instance.guest.ruleset?.tables.get('nat')?.chains.get('POSTROUTING')?.rules ?? []
  for (const rule of postrouting) {
    const d = destinationOf(rule.ref)
    if (d?.negated && /-j MASQUERADE\b/.test(rule.ref.text) && cidrContainsIp(d.range, packet.dst)) {
      const kubenet = /kubenet/.test(rule.ref.text)
      return {
        reason: 'DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE', range: d.range,
        detail: `${dst} is inside ${formatCidr(d.range)}, and the ${kubenet ? 'kubenet ' : ''}rule "! -d ${formatCidr(d.range)} … -j MASQUERADE" (line ${rule.ref.line}) masquerades only destinations outside it, ${keeps} (${kubenet ? 'SNAT-09' : 'SNAT-10'})`,
        rules: [rule.ref],
      }
    }
  }
  return {reason: 'DEFAULT_SNAT_DISABLED', detail: `no rule in ${instance.guest.ruleset?.source ?? 'the node rules'} masquerades traffic to ${dst}, ${keeps}`, rules: []}
}
