import {type Check, allSteps, findDrop, unique} from '../core/doctor/check.js'

/** ILB-08: backends must admit the health-check ranges 35.191.0.0/16 and 130.211.0.0/22 on the health-check port. */
export const check: Check = {
  id: 'lb.health-check-firewall',
  title: 'Firewalls admit the load balancer health checks, so backends can be healthy',
  severity: 'error',
  rules: ['ILB-08', 'FW-03'],
  run: (ctx) => {
    const drop = findDrop(ctx, ['FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK'])
    if (drop) return [{status: 'fail', summary: drop.detail, evidence: [`${drop.at}: ${drop.detail}`]}]
    const analyses = allSteps(ctx).filter((s) => s.step === 'ANALYZE_LOAD_BALANCER_BACKEND')
    if (analyses.length === 0) return [{status: 'skip', summary: 'the flow does not reach load-balancer backends'}]
    const partial = analyses.find((s) => /unhealthy:/.test(s.detail))
    if (partial) return [{status: 'warn', summary: `some backends cannot pass their health check: ${partial.detail}`, evidence: [`${partial.at}: ${partial.detail}`]}]
    return [{status: 'pass', summary: `every backend admits the health-check ranges (${unique(analyses.map((s) => s.at)).join(', ')})`}]
  },
}
