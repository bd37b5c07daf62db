import {type Check, allSteps, unique} from '../core/doctor/check.js'

/** ROUTE-06: a custom route more specific than a subnet route never wins unless the subnet allows overlap. */
export const check: Check = {
  id: 'routing.no-shadowed-routes',
  title: 'No custom route on the path is silently overridden by a subnet route',
  severity: 'warning',
  rules: ['ROUTE-06'],
  run: (ctx) => {
    const warnings = unique(allSteps(ctx).flatMap((s) => (s.warning ? [`${s.at}: ${s.warning}`] : [])))
    if (warnings.length === 0) return [{status: 'pass', summary: 'every route chosen on the path is the one its prefix suggests'}]
    return [{status: 'warn', summary: `${warnings.length} custom route(s) on the path lose to subnet routes`, evidence: warnings}]
  },
}
