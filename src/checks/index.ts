/**
 * The doctor's checks, in the order they run and are reported: along the path from the
 * source to the destination, then the reply, then the model itself. Listed once, here.
 */
import type {Check} from '../core/doctor/check.js'
import {check as destinationExists} from './destination.exists.js'
import {check as destinationListening} from './destination.listening.js'
import {check as firewallEgress} from './firewall.egress-allows.js'
import {check as firewallIngress} from './firewall.ingress-allows-client.js'
import {check as gatewayForwarding} from './gateway.guest-forwarding.js'
import {check as canIpForward} from './instances.can-ip-forward.js'
import {check as lbBackends} from './lb.has-backends.js'
import {check as lbMatches} from './lb.forwarding-rule-matches.js'
import {check as lbHealthCheck} from './lb.health-check-firewall.js'
import {check as lbRegion} from './lb.region-access.js'
import {check as modelComplete} from './model.complete.js'
import {check as gatewaySnat} from './nat.gateway-snat.js'
import {check as masqueradesPeerRanges} from './nat.masquerades-peer-ranges.js'
import {check as podRange} from './nat.pod-range-not-masqueraded.js'
import {check as peeringActive} from './peering.active.js'
import {check as peeringRoutes} from './peering.exchanges-needed-routes.js'
import {check as rangesUnique} from './ranges.unique-on-path.js'
import {check as shadowedRoutes} from './routing.no-shadowed-routes.js'
import {check as returnRoute} from './routing.return-route.js'
import {check as routeToDestination} from './routing.route-to-destination.js'

export const CHECKS: readonly Check[] = [
  masqueradesPeerRanges,
  podRange,
  firewallEgress,
  routeToDestination,
  shadowedRoutes,
  peeringActive,
  peeringRoutes,
  canIpForward,
  gatewayForwarding,
  gatewaySnat,
  lbMatches,
  lbRegion,
  lbBackends,
  lbHealthCheck,
  destinationExists,
  firewallIngress,
  destinationListening,
  returnRoute,
  rangesUnique,
  modelComplete,
]
