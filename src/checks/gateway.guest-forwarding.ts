import {type Check, judge, unique, atSource} from '../core/doctor/check.js'

/** ROUTE-11: a forwarding VM's operating system must forward (ip_forward on, FORWARD chain accepting). */
export const check: Check = {
  id: 'gateway.guest-forwarding',
  title: "Forwarding VMs' operating systems forward the traffic",
  severity: 'error',
  rules: ['ROUTE-10', 'ROUTE-11'],
  run: (ctx) => judge(ctx, {
    causes: ['XCC_GUEST_FORWARDING_DISABLED'],
    reached: (s) => s.step === 'APPLY_EGRESS_FIREWALL_RULE' && s.host.kind === 'instance' && !atSource(ctx, s),
    where: 'forward',
    pass: (steps) => `forwarded by ${unique(steps.map((s) => s.at)).join(', ')}`,
    skip: 'no VM forwards the traffic',
  }),
}
