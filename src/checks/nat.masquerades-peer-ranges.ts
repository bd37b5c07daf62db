import {type Check, allSteps} from '../core/doctor/check.js'

/**
 * SNAT-06, SNAT-09, ILB-06, ILB-07 (seed 001): a pod that keeps its address on the way out is
 * only reachable back if the destination side routes the pod range; otherwise the node must
 * masquerade that destination.
 */
export const check: Check = {
  id: 'nat.masquerades-peer-ranges',
  title: 'Pod traffic to the destination is masqueraded unless the destination side can route the pod address back',
  severity: 'error',
  rules: ['SNAT-06', 'SNAT-09', 'SNAT-11', 'SNAT-14', 'ILB-06', 'ILB-07'],
  run: (ctx) => {
    const source = ctx.flow.source
    if (source.kind !== 'pod' || source.pod.hostNetwork) return [{status: 'skip', summary: 'the source is not a pod with its own address'}]
    const nat = allSteps(ctx).find((s) => s.host.kind === 'node' && s.host.name === source.node.name && s.step === 'NAT' && s.nat?.type === 'GKE_POD_IP_MASQUERADING')
    if (nat) return [{status: 'pass', summary: `node ${source.node.name} masquerades the pod as ${nat.nat?.after.src}`}]
    const skip = allSteps(ctx).find((s) => s.host.kind === 'node' && s.host.name === source.node.name && s.step === 'SKIP_GKE_POD_IP_MASQUERADING')
    if (!skip) return [{status: 'skip', summary: 'the packet did not leave the node'}]
    if (skip.reason === 'DESTINATION_ON_SAME_NODE') return [{status: 'skip', summary: 'the destination is on the same node'}]
    if (ctx.trace.verdict !== 'reachable' && ctx.retrace([{kind: 'snat', instance: source.node.name}]).verdict === 'reachable') {
      return [{
        status: 'fail',
        summary: `pod ${skip.packet.src} leaves node ${source.node.name} unmasqueraded (${skip.reason}${skip.nonMasqueradeRange ? ` ${skip.nonMasqueradeRange}` : ''}), and the flow works only when the node masquerades it`,
        evidence: [`${skip.at}: ${skip.detail}`],
      }]
    }
    return [{status: 'pass', summary: `pod ${skip.packet.src} keeps its address (${skip.reason}); masquerading would not change the outcome`}]
  },
}
