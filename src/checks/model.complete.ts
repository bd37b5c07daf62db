import {type Check} from '../core/doctor/check.js'

/** habit 4: answer INSUFFICIENT_INFO rather than guess — e.g. an iptables rule the evaluator does not understand. */
export const check: Check = {
  id: 'model.complete',
  title: 'The topology holds everything needed to decide the flow',
  severity: 'error',
  rules: ['SNAT-14'],
  run: (ctx) => {
    const aborted = ctx.trace.paths.flatMap((p) => [p.forward, p.return]).map((steps) => steps[steps.length - 1]).find((s) => s?.step === 'ABORT')
    if (aborted) return [{status: 'fail', summary: aborted.detail, evidence: [`${aborted.at}: ${aborted.detail}`]}]
    return [{status: 'pass', summary: 'every step of every path was decided from the topology'}]
  },
}
