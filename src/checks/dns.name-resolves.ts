import type {Check} from '../core/doctor/check.js'

/** `--to NAME:PORT`: the name resolves as a pod of the source cluster resolves it (search path, ndots:5, stub domains). */
export const check: Check = {
  id: 'dns.name-resolves',
  title: 'The destination name resolves in the source cluster',
  severity: 'error',
  rules: [],
  run: (ctx) => {
    const dns = ctx.dns
    if (!dns) return []
    const tried = dns.steps.map((s) => `${s.query} → ${s.answer === 'address' ? s.address : s.answer}`)
    if (dns.address !== undefined) return [{status: 'pass', summary: `${dns.name} resolves to ${dns.address} (${dns.steps.length} ${dns.steps.length === 1 ? 'query' : 'queries'})`}]
    if (dns.outcome === 'DNS_STUB_DOMAIN_MISSING') {
      return [{status: 'fail', summary: `${dns.name} is under ${dns.missingZone}, a zone xcc dns link serves, and the cluster DNS of ${dns.cluster} has no stub domain for it`, evidence: tried}]
    }
    if (dns.outcome === 'DNS_NAME_NOT_FOUND') return [{status: 'fail', summary: `every query for ${dns.name} got NXDOMAIN`, evidence: tried}]
    if (dns.outcome === 'unknown') return [{status: 'warn', summary: `how ${dns.name} resolves depends on servers the topology does not describe`, evidence: tried}]
    return [{status: 'skip', summary: 'the name could not be asked (dns.server-reachable)'}]
  },
}
