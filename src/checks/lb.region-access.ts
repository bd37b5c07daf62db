import {type Check, judge, unique} from '../core/doctor/check.js'

/** ILB-03: a client in another region needs allowGlobalAccess. */
export const check: Check = {
  id: 'lb.region-access',
  title: 'The client is in the load balancer region, or the load balancer has global access',
  severity: 'error',
  rules: ['ILB-02', 'ILB-03', 'ILB-10'],
  run: (ctx) => judge(ctx, {
    causes: ['FORWARDING_RULE_REGION_MISMATCH'],
    reached: (s) => s.step === 'APPLY_FORWARDING_RULE',
    pass: (steps) => `the load balancer accepts the client: ${unique(steps.map((s) => s.at)).join(', ')} (${/global access/.test(steps[0]?.detail ?? '') ? 'global access' : 'same region'})`,
    skip: 'the flow does not reach an internal load balancer',
  }),
}
