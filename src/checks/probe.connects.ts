import type {LiveCheck} from '../core/probe/live-checks.js'

/** PROBE-01: the live verdict is what the probe's own connection did. */
export const check: LiveCheck = {
  id: 'probe.connects',
  title: 'The probe\'s TCP connection to the destination completes',
  severity: 'error',
  rules: ['PROBE-01'],
  run: ({probe}) => {
    const line = `${probe.at} (${probe.mode}) → ${probe.dst}:${probe.dstPort}: ${probe.result}${probe.message ? ` — ${probe.message}` : ''}`
    if (probe.result === 'connected') return [{status: 'pass', summary: `the probe connected to ${probe.dst}:${probe.dstPort}`, evidence: [line]}]
    return [{status: probe.result === 'error' || probe.result === 'not-run' ? 'error' : 'fail', summary: `the probe could not connect to ${probe.dst}:${probe.dstPort} (${probe.result})`, evidence: [line]}]
  },
}
