import {type Check, judge, unique} from '../core/doctor/check.js'

/** §9 step 6, GKE-06: something in the destination network owns the address, and it is not a ClusterIP of another cluster. */
export const check: Check = {
  id: 'destination.exists',
  title: 'The destination address belongs to a load balancer, instance or pod reachable from the client',
  severity: 'error',
  rules: ['GKE-06', 'ILB-15'],
  run: (ctx) => judge(ctx, {
    causes: ['UNKNOWN_INTERNAL_ADDRESS', 'XCC_CLUSTER_IP_FROM_OUTSIDE_CLUSTER'],
    where: 'forward',
    reached: (s) => s.step === 'APPLY_FORWARDING_RULE' || s.step === 'DELIVER',
    pass: (steps) => `the destination is ${unique(steps.map((s) => s.at)).join(', ')}`,
    skip: 'the packet did not get as far as the destination network',
  }),
}
