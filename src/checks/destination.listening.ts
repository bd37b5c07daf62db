import {type Check, judge, unique} from '../core/doctor/check.js'

/** Delivery: something serves the port (pod ports, guest.listen, kube-proxy service rules). */
export const check: Check = {
  id: 'destination.listening',
  title: 'Something serves the destination port',
  severity: 'error',
  rules: ['SVC-06'],
  run: (ctx) => judge(ctx, {
    causes: ['XCC_DESTINATION_NOT_LISTENING'],
    where: 'forward',
    reached: (s) => s.step === 'DELIVER',
    pass: (steps) => `served by ${unique(steps.map((s) => s.at)).join(', ')}`,
    skip: 'the packet was not delivered',
  }),
}
