import type {LiveCheck} from '../core/probe/live-checks.js'
import {isContradiction} from '../core/probe/expect.js'

/** PROBE-01, PROBE-04: with --topology, every captured packet is where the prediction puts it. */
export const check: LiveCheck = {
  id: 'probe.matches-prediction',
  title: 'Every packet the captures saw is where the --topology prediction puts it',
  severity: 'error',
  rules: ['PROBE-01', 'PROBE-04'],
  run: ({comparison}) => {
    if (!comparison) return [{status: 'skip', summary: 'no --topology prediction to compare with'}]
    const contradictions = comparison.filter(isContradiction)
    if (contradictions.length === 0) return [{status: 'pass', summary: `the captures agree with the --topology prediction (${comparison.length} observation${comparison.length === 1 ? '' : 's'} checked)`}]
    return [{
      status: 'fail',
      summary: `live observation contradicts the --topology prediction at ${contradictions.map((c) => `${c.step} (${c.at})`).join(', ')}`,
      evidence: contradictions.map((c) => `${c.step} at ${c.at}: predicted ${c.expected}; observed ${c.observed}`),
    }]
  },
}
