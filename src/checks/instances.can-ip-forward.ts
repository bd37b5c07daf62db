import {type Check, judge, unique} from '../core/doctor/check.js'

/** ROUTE-10, GKE-05: sending or receiving for an address that is not the VM's own needs canIpForward. */
export const check: Check = {
  id: 'instances.can-ip-forward',
  title: 'Instances that send or receive for foreign addresses have canIpForward',
  severity: 'error',
  rules: ['ROUTE-10', 'GKE-05', 'ILB-13'],
  run: (ctx) => judge(ctx, {
    causes: ['FOREIGN_IP_DISALLOWED'],
    reached: (s) => s.step === 'SPOOFING_APPROVED',
    pass: (steps) => `canIpForward lets ${unique(steps.map((s) => s.at)).join(', ')} carry foreign addresses`,
    skip: 'no instance on the path handles an address that is not its own',
  }),
}
