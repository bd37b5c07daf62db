import {type Check, findDrop, judge, unique} from '../core/doctor/check.js'

/** FW-01, FW-02, FW-08: egress rules are evaluated at the sending VM (the node, for a pod). */
export const check: Check = {
  id: 'firewall.egress-allows',
  title: 'Egress firewall rules let the packet leave every instance that sends it',
  severity: 'error',
  rules: ['FW-01', 'FW-02', 'FW-03', 'FW-08'],
  run: (ctx) => {
    const drop = findDrop(ctx, ['FIREWALL_RULE'], 'forward')
    if (drop?.firewall?.direction === 'EGRESS') {
      return [{status: 'fail', summary: `egress rule ${drop.firewall.name} in ${drop.firewall.network} blocks ${drop.packet.src} → ${drop.packet.dst}:${drop.packet.dstPort} at ${drop.at}`, evidence: [`${drop.at}: ${drop.detail}`]}]
    }
    return judge(ctx, {
      causes: [],
      where: 'forward',
      reached: (s) => s.step === 'APPLY_EGRESS_FIREWALL_RULE' && s.firewall?.type !== 'TRACKING_STATE',
      pass: (steps) => `egress allowed by ${unique(steps.map((s) => `${s.firewall?.name} at ${s.at}`)).join(', ')}`,
      skip: 'the packet never left its source instance',
    })
  },
}
