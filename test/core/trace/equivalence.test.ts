/**
 * Following one representative of provably equivalent alternatives (equivalence.ts) must never
 * change an answer: for every fixture flow and every flow of the benchmark's generated topologies,
 * the grouped trace and the exhaustive one agree on the verdict, on the set of ways paths end,
 * and on the doctor's diagnosis.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {generate, toJson} from '../../../bench/generate.js'
import {sizeByLabel} from '../../../bench/sizes.js'
import {CHECKS} from '../../../src/checks/index.js'
import {buildDoctorContext} from '../../../src/core/doctor/check.js'
import {diagnose} from '../../../src/core/doctor/diagnose.js'
import {runChecks} from '../../../src/core/doctor/report.js'
import type {Model} from '../../../src/core/topology/model-types.js'
import {parseTopology} from '../../../src/core/topology/parse.js'
import {resolveFlow} from '../../../src/core/trace/endpoints.js'
import {traceFlow} from '../../../src/core/trace/trace.js'
import type {PathEnd, TraceResult} from '../../../src/core/trace/types.js'
import {splitNameTarget} from '../../../src/core/dns/resolve.js'
import {loadFixture} from '../../support/fixtures.js'
import {SCENARIOS} from '../../support/scenarios.js'

const end = (e?: PathEnd) => (e ? `${e.kind}:${'cause' in e ? e.cause : e.kind === 'delivered' ? e.host.kind : ''}` : '-')
const outcomes = (r: TraceResult) => [...new Set(r.paths.map((p) => `${end(p.forwardEnd)} / ${end(p.returnEnd)}`))].sort()

function compare(model: Model, from: string, to: string, protocol?: 'tcp' | 'udp'): {grouped: number; exhaustive: number} {
  const flow = resolveFlow(model, from, to, protocol)
  const grouped = traceFlow(model, flow)
  const exhaustive = traceFlow(model, flow, {exhaustive: true})
  const label = `${from} → ${to}`
  assert.equal(grouped.verdict, exhaustive.verdict, `${label}: verdict`)
  assert.deepEqual(outcomes(grouped), outcomes(exhaustive), `${label}: how the paths end`)
  const diagnosisOf = (exhaustiveMode: boolean) => {
    const ctx = buildDoctorContext(model, flow, {exhaustive: exhaustiveMode})
    return diagnose(ctx, runChecks(ctx, CHECKS))?.code ?? null
  }
  assert.equal(diagnosisOf(false), diagnosisOf(true), `${label}: diagnosis`)
  return {grouped: grouped.paths.length, exhaustive: exhaustive.paths.length}
}

describe('grouping equivalent alternatives never changes an answer', () => {
  it('on every scenario fixture', () => {
    // a DNS name (`--to NAME:PORT`) is resolved before any path: the path itself is one of these flows
    for (const s of SCENARIOS) if (!splitNameTarget(s.to)) compare(loadFixture(s.fixture), s.from, s.to)
  })

  for (const label of ['xs', 's']) {
    it(`on every flow of the generated ${label} topology, and it does reduce the fan-out`, () => {
      const generated = generate(sizeByLabel(label))
      const model = parseTopology(toJson(generated.topology), `bench-${label}.json`)
      let reduced = false
      for (const f of generated.flows) {
        const counts = compare(model, f.from, f.to, f.protocol)
        if (counts.grouped < counts.exhaustive) reduced = true
      }
      assert.ok(reduced, 'at least one flow of the generated topology has equivalent alternatives')
    })
  }
})
