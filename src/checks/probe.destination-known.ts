import type {LiveCheck} from '../core/probe/live-checks.js'

/** GKE-06, SVC-01: what owns the destination decides where xcc captures and what the failure means. */
export const check: LiveCheck = {
  id: 'probe.destination-known',
  title: 'The destination address belongs to a Service, node or pod of a known context',
  severity: 'warning',
  rules: ['GKE-06', 'SVC-01'],
  run: ({destination: d, probe}) => {
    const target = `${probe.dst}:${probe.dstPort}`
    if (d.how === 'given' && d.owner) return [{status: 'pass', summary: `${target} is ${d.owner} in context ${d.context}`}]
    if (d.how === 'found') return [{status: 'pass', summary: `${target} is ${d.owner} in context ${d.context} (found by looking in every context of the kubeconfig)`}]
    if (d.how === 'given') return [{status: 'warn', summary: `nothing in context ${d.context} owns ${target} (no Service, node or pod): xcc captured on no destination node`}]
    if (d.how === 'searched') return [{status: 'warn', summary: `no context of the kubeconfig owns ${target}: xcc captured on no destination node`}]
    return [{status: 'skip', summary: 'no context to look for the destination in'}]
  },
}
