import {type Check, judge, unique, stepNetwork} from '../core/doctor/check.js'
import {explainMissingRoute} from '../core/doctor/explain-route.js'
import {ip} from '../core/net/ipv4.js'

const CAUSES = [
  'NO_ROUTE', 'PRIVATE_TRAFFIC_TO_INTERNET', 'NO_EXTERNAL_ADDRESS', 'XCC_GUEST_NO_ROUTE', 'ROUTING_LOOP', 'ROUTE_NEXT_HOP_IP_ADDRESS_NOT_RESOLVED',
  'ROUTE_NEXT_HOP_RESOURCE_NOT_FOUND', 'ROUTE_NEXT_HOP_INSTANCE_WRONG_NETWORK', 'ROUTE_NEXT_HOP_INSTANCE_NON_PRIMARY_IP', 'ROUTE_NEXT_HOP_FORWARDING_RULE_IP_MISMATCH',
]

/** ROUTE-03…ROUTE-12: a route that applies to the sender carries the packet to the destination's network. */
export const check: Check = {
  id: 'routing.route-to-destination',
  title: 'A route carries the packet from the source network to the destination',
  severity: 'error',
  rules: ['ROUTE-03', 'ROUTE-04', 'ROUTE-06', 'ROUTE-09', 'ROUTE-12', 'PEER-02', 'PEER-04'],
  run: (ctx) => judge(ctx, {
    causes: CAUSES,
    where: 'forward',
    reached: (s) => s.step === 'APPLY_ROUTE',
    pass: (steps) => `routed by ${unique(steps.map((s) => `${s.route?.name} (${s.route?.type}) in ${s.route?.network}`)).join(', ')}`,
    fail: (drop) => {
      const network = stepNetwork(drop)
      const why = network ? explainMissingRoute(ctx.model, network, ip(drop.packet.dst)) : undefined
      return `${drop.detail}${why && why.code !== 'NO_ROUTE' ? `; ${why.detail}` : ''}`
    },
    skip: 'the packet never reached VPC routing',
  }),
}
