import {type Check, judge, unique} from '../core/doctor/check.js'

/** ILB-04: a backend service with no backends (or none in the load balancer's network) forwards nothing. */
export const check: Check = {
  id: 'lb.has-backends',
  title: "The load balancer has backends in its network",
  severity: 'error',
  rules: ['ILB-01', 'ILB-04'],
  run: (ctx) => judge(ctx, {
    causes: ['FORWARDING_RULE_NO_INSTANCES', 'LOAD_BALANCER_BACKEND_INVALID_NETWORK'],
    reached: (s) => s.step === 'ANALYZE_LOAD_BALANCER_BACKEND' || s.step === 'APPLY_FORWARDING_RULE',
    pass: (steps) => unique(steps.filter((s) => s.step === 'ANALYZE_LOAD_BALANCER_BACKEND').map((s) => `${s.at}: ${s.detail}`)).join('; ') || 'the load balancer has backends',
    skip: 'the flow does not reach an internal load balancer',
  }),
}
