import {type Check, endStep} from '../core/doctor/check.js'
import {firstFailure} from '../core/doctor/diagnose.js'

/** PEER-02…PEER-07, GKE-03, GKE-04: what a peering exchanges, and that it is not transitive. */
export const check: Check = {
  id: 'peering.exchanges-needed-routes',
  title: 'The peerings exchange every route the flow needs, in both directions',
  severity: 'error',
  rules: ['PEER-02', 'PEER-03', 'PEER-04', 'PEER-05', 'PEER-06', 'PEER-07', 'GKE-03', 'GKE-04'],
  run: (ctx) => {
    const peeringRoutes = ctx.trace.paths.flatMap((p) => [...p.forward, ...p.return]).filter((s) => s.route?.peering)
    const failing = ctx.trace.paths.find((p) => endStep(p.forward) ?? endStep(p.return))
    if (failing) {
      const failure = firstFailure(ctx, failing)
      const m = failure.missing
      if (m && (m.code === 'PEERING_NOT_TRANSITIVE' || m.code === 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED')) {
        return [{status: 'fail', summary: `${failure.direction === 'return' ? 'the reply' : 'the packet'} to ${failure.step.packet.dst} needs a route the peerings do not exchange: ${m.detail}`, evidence: [m.detail]}]
      }
    }
    if (peeringRoutes.length === 0) return [{status: 'skip', summary: 'the flow uses no route learned over a peering'}]
    return [{status: 'pass', summary: `routes learned over peerings: ${[...new Set(peeringRoutes.map((s) => `${s.route?.name} via ${s.route?.peering}`))].join(', ')}`}]
  },
}
