/**
 * The doctor's checks, in the order they run and are reported: the name (when --to is one), then along the path from the
 * source to the destination, then the reply, then the model itself; then the live doctor's.
 * Listed once, here.
 */
import type {Check} from '../core/doctor/check.js'
import type {LiveCheck} from '../core/probe/live-checks.js'
import {check as destinationExists} from './destination.exists.js'
import {check as dnsNameResolves} from './dns.name-resolves.js'
import {check as dnsRecordCurrent} from './dns.record-current.js'
import {check as dnsServerReachable} from './dns.server-reachable.js'
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
import {check as probeCapturesWork} from './probe.captures-work.js'
import {check as probeConnects} from './probe.connects.js'
import {check as probeDestinationKnown} from './probe.destination-known.js'
import {check as probeMatchesPrediction} from './probe.matches-prediction.js'
import {check as probeNodeNatRules} from './probe.node-nat-rules.js'
import {check as masqueradesPeerRanges} from './nat.masquerades-peer-ranges.js'
import {check as podRange} from './nat.pod-range-not-masqueraded.js'
import {check as peeringActive} from './peering.active.js'
import {check as peeringRoutes} from './peering.exchanges-needed-routes.js'
import {check as rangesUnique} from './ranges.unique-on-path.js'
import {check as shadowedRoutes} from './routing.no-shadowed-routes.js'
import {check as returnRoute} from './routing.return-route.js'
import {check as routeToDestination} from './routing.route-to-destination.js'

export const CHECKS: readonly Check[] = [
  dnsNameResolves,
  dnsServerReachable,
  dnsRecordCurrent,
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

/**
 * The live doctor's checks, in the order they are reported: what the probe did, whether the
 * captures could see, what the source node's rules decide, where the destination is, and (with
 * --topology) whether the packets agree with the prediction.
 */
export const LIVE_CHECKS: readonly LiveCheck[] = [
  probeConnects,
  probeCapturesWork,
  probeNodeNatRules,
  probeDestinationKnown,
  probeMatchesPrediction,
]
