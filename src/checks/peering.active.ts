import {type Check, allSteps, unique, stepNetwork} from '../core/doctor/check.js'
import {firstFailure} from '../core/doctor/diagnose.js'

/** PEER-01: a peering exchanges routes only when both networks list each other. */
export const check: Check = {
  id: 'peering.active',
  title: 'Every peering of the networks on the path is configured on both sides (ACTIVE)',
  severity: 'error',
  rules: ['PEER-01'],
  run: (ctx) => {
    const networks = unique(allSteps(ctx).flatMap((s) => [s.route?.network, s.firewall?.network, stepNetwork(s)]).filter((n): n is string => Boolean(n)))
    const inactive = ctx.model.peerings.filter((p) => p.state === 'INACTIVE' && (networks.includes(p.network) || networks.includes(p.spec.network)))
    if (ctx.trace.verdict !== 'reachable') {
      const failure = firstFailure(ctx, ctx.primary)
      if (failure.missing?.code === 'PEERING_INACTIVE') return [{status: 'fail', summary: failure.missing.detail, evidence: [failure.missing.detail]}]
    }
    if (inactive.length > 0) {
      const lines = inactive.map((p) => `${p.network} lists ${p.spec.network} in peering ${p.spec.name}, but ${p.spec.network} has no peering back (INACTIVE)`)
      return [{status: 'warn', summary: `${inactive.length} peering(s) of networks on the path are INACTIVE`, evidence: lines}]
    }
    const active = ctx.model.peerings.filter((p) => networks.includes(p.network) && p.state === 'ACTIVE')
    if (active.length === 0) return [{status: 'skip', summary: 'no peering involves the networks on the path'}]
    return [{status: 'pass', summary: `active: ${active.map((p) => `${p.network}/${p.spec.name}`).join(', ')}`}]
  },
}
