import {type Check, findDrop, judge, unique} from '../core/doctor/check.js'

/** FW-03, FW-04, FW-08, ILB-06: the receiver's ingress rules must admit the client as the VPC sees it (after any SNAT). */
export const check: Check = {
  id: 'firewall.ingress-allows-client',
  title: 'Ingress firewall rules admit the client, as the destination sees it, at every receiving instance',
  severity: 'error',
  rules: ['FW-01', 'FW-02', 'FW-03', 'FW-04', 'FW-08', 'ILB-06'],
  run: (ctx) => {
    const drop = findDrop(ctx, ['FIREWALL_RULE'], 'forward')
    if (drop && drop.firewall?.direction === 'INGRESS') {
      return [{
        status: 'fail',
        summary: `${drop.firewall.type === 'IMPLIED_VPC_FIREWALL_RULE' ? 'no rule admits' : `rule ${drop.firewall.name} blocks`} ${drop.packet.src} → ${drop.packet.dst}:${drop.packet.dstPort} at ${drop.at} (network ${drop.firewall.network})`,
        evidence: [`${drop.at}: ${drop.detail}`],
      }]
    }
    return judge(ctx, {
      causes: [],
      where: 'forward',
      reached: (s) => s.step === 'APPLY_INGRESS_FIREWALL_RULE' && s.firewall?.type !== 'TRACKING_STATE',
      pass: (steps) => `ingress allowed by ${unique(steps.map((s) => `${s.firewall?.name} at ${s.at} (client seen as ${s.packet.src})`)).join(', ')}`,
      skip: 'the packet never reached a receiving instance',
    })
  },
}
