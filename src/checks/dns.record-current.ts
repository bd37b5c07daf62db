import type {Check} from '../core/doctor/check.js'

/** the xcc responder's record for the name is the Service's current internal load balancer address */
export const check: Check = {
  id: 'dns.record-current',
  title: 'The record an xcc responder serves for the name is the Service\'s current address',
  severity: 'error',
  rules: [],
  run: (ctx) => {
    const dns = ctx.dns
    const answered = dns?.steps.find((s) => s.answer === 'address' && s.detail.startsWith('the xcc responder'))
    if (!dns) return []
    if (!answered) return [{status: 'skip', summary: 'no xcc responder answered the name'}]
    if (dns.stale) {
      const s = dns.stale
      return [{status: ctx.trace.verdict === 'reachable' ? 'warn' : 'fail', summary: `${s.name} is served as ${s.served}, but Service ${s.service} of cluster ${s.cluster} is at ${s.current} now`}]
    }
    return [{status: 'pass', summary: `${answered.query} → ${answered.address}, the current address`}]
  },
}
