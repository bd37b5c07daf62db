import type {LiveCheck} from '../core/probe/live-checks.js'

/** SNAT-06, SNAT-09, SNAT-14: without a topology, the source node's own NAT rules say whether the pod is masqueraded. */
export const check: LiveCheck = {
  id: 'probe.node-nat-rules',
  title: 'The source node\'s NAT rules were read and decide the pod\'s source address',
  severity: 'warning',
  rules: ['SNAT-06', 'SNAT-09', 'SNAT-14', 'SNAT-15'],
  run: ({natStep, natRules, sourceNode}) => {
    if (!natRules) return [{status: 'skip', summary: 'the --topology file describes the node\'s rules'}]
    if (natStep) return [{status: 'pass', summary: `read from node/${sourceNode}: ${natStep.detail}`, evidence: (natStep.rules ?? []).map((r) => `${r.source} line ${r.line}: ${r.rule}`)}]
    if (!natRules.read) return [{status: 'warn', summary: `the NAT rules of node/${sourceNode} could not be read${natRules.error ? `: ${natRules.error}` : ''}`}]
    return [{status: 'skip', summary: 'the probe\'s packet does not cross the node\'s masquerade decision'}]
  },
}
