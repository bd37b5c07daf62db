/**
 * The benchmark's topology generator (bench/generate.ts): its output loads through the real
 * loader, YAML and JSON alike, and is deterministic, and so are traces over it.
 * No timing here: performance targets live in `npm run bench`.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {type Generated, generate, toJson, toYaml} from '../../bench/generate.js'
import {sizeByLabel} from '../../bench/sizes.js'
import type {Model} from '../../src/core/topology/model-types.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import {resolveFlow} from '../../src/core/trace/endpoints.js'
import {traceFlow} from '../../src/core/trace/trace.js'
import type {TraceResult} from '../../src/core/trace/types.js'

function traces(model: Model, generated: Generated): TraceResult[] {
  return generated.flows.map((f) => traceFlow(model, resolveFlow(model, f.from, f.to, f.protocol)))
}

function assertUnderstood(results: readonly TraceResult[]): void {
  for (const result of results) {
    for (const path of result.paths) {
      const ends = [path.forwardEnd, path.returnEnd].filter((e) => e !== undefined)
      for (const end of ends) {
        assert.ok(!(end.kind === 'aborted' && end.cause === 'XCC_IPTABLES_RULE_NOT_UNDERSTOOD'), `${result.flow.from} → ${result.flow.to}: a generated iptables rule is not understood`)
      }
    }
  }
}

describe('bench topology generator', () => {
  it('is deterministic: the same size gives the same YAML and JSON text', () => {
    const size = sizeByLabel('xs')
    const a = generate(size)
    const b = generate(size)
    assert.equal(toYaml(a.topology), toYaml(b.topology))
    assert.equal(toJson(a.topology), toJson(b.topology))
    assert.deepEqual(a.flows, b.flows)
  })

  it('a small size loads from YAML and JSON into the same model, with the sizes asked for', () => {
    const size = sizeByLabel('xs')
    const generated = generate(size)
    const fromYaml = parseTopology(toYaml(generated.topology), 'bench-xs.yaml')
    const fromJson = parseTopology(toJson(generated.topology), 'bench-xs.json')
    assert.equal(fromYaml.networks.size, size.networks)
    assert.equal(fromYaml.topology.routes.length, size.routes)
    assert.equal(fromYaml.topology.firewalls.length, size.firewalls)
    assert.equal(fromYaml.clusters.size, size.clusters)
    assert.equal(fromYaml.nodes.size, size.clusters * size.nodesPerCluster)
    assert.ok(Math.abs(generated.counts.iptablesLines - size.iptablesLines) < size.iptablesLines * 0.05, `${generated.counts.iptablesLines} iptables lines`)
    // the big dump is on node 0 of cluster 0, as given (not derived)
    const bigNode = fromYaml.clusters.get('c000')?.nodes[0]?.name as string
    assert.equal(fromYaml.instances.get(bigNode)?.guest.rulesOrigin, 'node.iptables')
    assert.deepEqual(fromYaml.topology, fromJson.topology)

    const yamlTraces = traces(fromYaml, generated)
    assert.deepEqual(traces(fromJson, generated), yamlTraces)
    assertUnderstood(yamlTraces)
  })

  it('a medium size loads, and its traces are deterministic', () => {
    const generated = generate(sizeByLabel('m'))
    const model = parseTopology(toYaml(generated.topology), 'bench-m.yaml')
    const first = traces(model, generated)
    assert.deepEqual(traces(model, generated), first)
    assertUnderstood(first)
    // the flows reach past the first hop (they are meant to cross the large structures)
    for (const result of first) assert.ok((result.paths[0]?.forward.length ?? 0) >= 5, `${result.flow.from} → ${result.flow.to}`)
  })
})
