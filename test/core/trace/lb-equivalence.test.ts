/**
 * Load-balancer backends that are provably equivalent are traced once (a performance measure
 * that must never change a verdict): same cluster, shared rules, subnet, tags, no local pods, and
 * the same treatment of their addresses by every ingress rule.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {parseTopology} from '../../../src/core/topology/parse.js'
import {resolveFlow} from '../../../src/core/trace/endpoints.js'
import {traceFlow} from '../../../src/core/trace/trace.js'
import {topologyPath} from '../../support/fixtures.js'

const base = readFileSync(topologyPath('vpc-native-pair-works'), 'utf8')
  .replace('backends: [gke-b-node-1]', 'backends: [gke-b-node-1, gke-b-node-2, gke-b-node-3, gke-b-node-4]')
  .replace('  - {name: gke-b-node-1, networkIP: 10.11.0.2, podCidr: 10.21.0.0/24}', [
    '  - {name: gke-b-node-1, networkIP: 10.11.0.2, podCidr: 10.21.0.0/24}',
    '  - {name: gke-b-node-2, networkIP: 10.11.0.3, podCidr: 10.21.1.0/24}',
    '  - {name: gke-b-node-3, networkIP: 10.11.0.4, podCidr: 10.21.2.0/24}',
    '  - {name: gke-b-node-4, networkIP: 10.11.0.5, podCidr: 10.21.3.0/24}',
  ].join('\n'))
  .replace('firewalls:\n', 'firewalls:\n- {name: b-allow-nodes, network: net-b, sourceRanges: [10.11.0.0/20], allowed: [{IPProtocol: tcp}]}\n')

function run(text: string) {
  const model = parseTopology(text, 'equivalence.yaml')
  return traceFlow(model, resolveFlow(model, 'a', 'b/default/server'))
}

describe('equivalent load-balancer backends', () => {
  it('are traced once, with a note naming them', () => {
    const result = run(base)
    assert.equal(result.verdict, 'reachable')
    assert.equal(result.paths.length, 2, 'node-1 (hosts the pod) and one path for nodes 2–4')
    const analysis = result.paths[0]?.forward.find((s) => s.step === 'ANALYZE_LOAD_BALANCER_BACKEND')
    assert.match(analysis?.detail ?? '', /gke-b-node-3, gke-b-node-4 behave exactly like gke-b-node-2/)
  })

  it('are not merged when a firewall rule treats one of their addresses differently — and the verdict shows it', () => {
    const denyNode4 = base.replace('firewalls:\n', 'firewalls:\n- {name: b-deny-node-4, network: net-b, priority: 100, sourceRanges: [10.11.0.5/32], denied: [{IPProtocol: tcp}]}\n')
    const result = run(denyNode4)
    assert.equal(result.paths.length, 3, 'node-1, nodes 2–3, node-4 apart')
    assert.equal(result.verdict, 'ambiguous', 'through node-4 the hop to the pod is denied')
  })

  it('are not merged when their tags differ', () => {
    const tagged = base.replace('{name: gke-b-node-4, networkIP: 10.11.0.5, podCidr: 10.21.3.0/24}', '{name: gke-b-node-4, networkIP: 10.11.0.5, podCidr: 10.21.3.0/24, tags: [special]}')
    assert.equal(run(tagged).paths.length, 3)
  })
})
