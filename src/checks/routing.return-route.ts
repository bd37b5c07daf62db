import {type Check, judge, unique, stepNetwork} from '../core/doctor/check.js'
import {explainMissingRoute} from '../core/doctor/explain-route.js'
import {ip} from '../core/net/ipv4.js'

/** ILB-06: replies are routed by the server side's own routes back to the client address it saw. */
export const check: Check = {
  id: 'routing.return-route',
  title: 'The destination side routes replies back to the client address it sees',
  severity: 'error',
  rules: ['ILB-05', 'ILB-06', 'ROUTE-04', 'ROUTE-11', 'ROUTE-12', 'GKE-04'],
  run: (ctx) => judge(ctx, {
    causes: ['NO_ROUTE', 'PRIVATE_TRAFFIC_TO_INTERNET', 'NO_EXTERNAL_ADDRESS', 'XCC_GUEST_NO_ROUTE', 'ROUTE_WRONG_NETWORK', 'XCC_REPLY_NOT_FOR_CLIENT', 'ROUTING_LOOP', 'XCC_ASYMMETRIC_RETURN'],
    where: 'return',
    reached: (s) => s.step === 'APPLY_ROUTE',
    pass: (steps) => `replies are routed back by ${unique(steps.map((s) => `${s.route?.name} in ${s.route?.network}`)).join(', ')}`,
    fail: (drop) => {
      const network = stepNetwork(drop)
      const why = network ? explainMissingRoute(ctx.model, network, ip(drop.packet.dst)) : undefined
      return `the reply to ${drop.packet.dst} cannot get back: ${drop.detail}${why && why.code !== 'NO_ROUTE' ? `; ${why.detail}` : ''}`
    },
    skip: ctx.flow.packet.protocol === 'udp' ? 'UDP: no reply is traced' : 'the forward path did not deliver, so there is no reply',
  }),
}
