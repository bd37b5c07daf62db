import {type Check, judge, unique} from '../core/doctor/check.js'

/** ILB-04: the forwarding rule forwards the packet's protocol and port (and source, with sourceIpRanges). */
export const check: Check = {
  id: 'lb.forwarding-rule-matches',
  title: 'The load balancer forwards the protocol and port of the flow',
  severity: 'error',
  rules: ['ILB-01', 'ILB-04'],
  run: (ctx) => judge(ctx, {
    causes: ['FORWARDING_RULE_MISMATCH'],
    reached: (s) => s.step === 'APPLY_FORWARDING_RULE',
    pass: (steps) => unique(steps.map((s) => s.detail)).join('; '),
    skip: 'the flow does not reach an internal load balancer',
  }),
}
