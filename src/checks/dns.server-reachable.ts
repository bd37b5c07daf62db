import type {Check} from '../core/doctor/check.js'
import {formatIp} from '../core/net/ipv4.js'

/** the cluster DNS pod reaches every stub server it forwards the name to (UDP 53 from its own pod) */
export const check: Check = {
  id: 'dns.server-reachable',
  title: 'The cluster DNS reaches the server of the name\'s stub domain',
  severity: 'error',
  rules: [],
  run: (ctx) => {
    const dns = ctx.dns
    if (!dns) return []
    const forwarded = dns.steps.filter((s) => / \(stub domain /.test(s.server))
    if (forwarded.length === 0) return [{status: 'skip', summary: 'no query was forwarded to a stub domain\'s server'}]
    if (dns.unreachable) {
      const u = dns.unreachable
      return [{status: 'fail', summary: `the cluster DNS pod cannot reach ${formatIp(u.server)}:${u.port}, the server of ${u.zone}`, evidence: forwarded.filter((s) => s.answer === 'unreachable').map((s) => s.detail)}]
    }
    return [{status: 'pass', summary: `the cluster DNS reaches ${[...new Set(forwarded.map((s) => s.server))].join(', ')}`}]
  },
}
