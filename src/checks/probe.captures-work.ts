import type {LiveCheck} from '../core/probe/live-checks.js'

/** PROBE-01: a capture proves it sees packets (its sanity packet) before its silence means anything. */
export const check: LiveCheck = {
  id: 'probe.captures-work',
  title: 'Every capture saw its own sanity packet before the probe started',
  severity: 'warning',
  rules: ['PROBE-01'],
  run: ({captures}) => {
    const broken = captures.filter((c) => c.status !== 'ok')
    if (broken.length === 0) return [{status: 'pass', summary: `every capture (${captures.length}) saw its sanity packet`}]
    return [{
      status: 'warn',
      summary: `${broken.length} of ${captures.length} captures did not work; what they would have seen is unknown (not a drop)`,
      evidence: broken.map((c) => `${c.at}: ${c.status}${c.reason ? `: ${c.reason}` : ''}`),
    }]
  },
}
