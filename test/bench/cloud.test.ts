/**
 * The cloud benchmark's code paths (bench/cloud-snapshot.ts, bench/cloud-doctor.ts) at the
 * smallest size, so that they cannot rot: a snapshot served by the emulator is counted and checked
 * equal to its input, a wrong one is caught, and `doctor --flows` meets every expectation the
 * tracer wrote, a wrong one caught too. No timing here: the targets live in `npm run bench:cloud`.
 * Needs the build (bin/run.js), as `npm test` makes it.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {benchFlows, flowsYaml, runDoctorFlows} from '../../bench/cloud-doctor.js'
import {benchSnapshot, checkSnapshot, writtenImpliedRoutes} from '../../bench/cloud-snapshot.js'
import {generate, toYaml} from '../../bench/generate.js'
import {sizeByLabel} from '../../bench/sizes.js'
import {GCP_REQUESTS_AT_ONCE} from '../../src/adapters/gcp/compute.js'
import {parseTopology} from '../../src/core/topology/parse.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const generated = generate(sizeByLabel('xs'))
const yaml = toYaml(generated.topology)
const model = parseTopology(yaml, 'bench-xs.yaml')

describe('the cloud benchmark at size xs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xcc-bench-test-'))
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('snapshots the served topology in a child process: the answer equals the input, the requests are counted and bounded', async () => {
    const result = await benchSnapshot(yaml, {root: ROOT, runs: 1})
    const run = result.runs[0]
    assert.ok(run)
    assert.deepEqual(run.problems, [])
    assert.deepEqual(result.output, result.input)
    assert.equal(result.input.routes, sizeByLabel('xs').routes)
    assert.ok(result.derivedRoutes > 0, 'the routes-based clusters imply per-node routes (GKE-04)')
    assert.equal(run.clientRequests, run.httpRequests, 'every request the client made was served')
    assert.ok((run.pages.get('routes') ?? 0) >= 1 && (run.pages.get('instanceGroups/listInstances') ?? 0) >= 1, JSON.stringify([...run.pages]))
    assert.ok(run.maxInFlight > 1, `lists are read concurrently: ${run.maxInFlight}`)
    assert.ok(run.maxInFlight <= GCP_REQUESTS_AT_ONCE, `bounded: ${run.maxInFlight}`)
  })

  it('catches a snapshot that differs from the input, and one that writes the routes the loader derives', () => {
    assert.deepEqual(checkSnapshot(model, model), [])
    const t = structuredClone(model.topology)
    const route = t.routes.find((r) => r.nextHopIp !== undefined || r.nextHopInstance !== undefined)
    assert.ok(route)
    route.priority += 1
    t.firewalls.pop()
    const wrong = parseTopology(JSON.stringify(t), 'wrong.json')
    const problems = checkSnapshot(model, wrong)
    assert.ok(problems.some((p) => p.startsWith('firewalls: ')), problems.join('\n'))
    assert.ok(problems.some((p) => p.startsWith(`route ${route.name}: differs (priority)`)), problems.join('\n'))

    // a per-node route of a routes-based cluster written out as a declared route: found by impliedBy, whatever its name
    const t2 = structuredClone(model.topology)
    const routesBased = t2.clusters.find((c) => c.mode === 'ROUTES')
    const node = routesBased?.nodes[0]
    assert.ok(routesBased && node)
    t2.routes.push({name: 'any-name-at-all', network: routesBased.network, destRange: node.podCidr, priority: 1000, tags: [], nextHopInstance: node.name})
    const doubled = parseTopology(JSON.stringify(t2), 'doubled.json')
    assert.deepEqual(writtenImpliedRoutes(doubled), ['any-name-at-all'])
    assert.deepEqual(writtenImpliedRoutes(model), [])
    assert.ok(checkSnapshot(model, doubled).some((p) => p.includes('routes the loader derives')))
  })

  it('doctor --flows meets the expectation the tracer wrote for every distinct flow; a wrong expectation is caught', async () => {
    const flows = benchFlows(generated, model, 24)
    assert.equal(flows.length, 24)
    assert.equal(new Set(flows.map((f) => `${f.from} ${f.to}`)).size, 24, 'distinct')
    assert.ok(flows.some((f) => f.expect === 'reachable'), 'some flows get through')
    const topology = join(dir, 'xs.yaml')
    writeFileSync(topology, yaml)
    const file = join(dir, 'flows.yaml')
    writeFileSync(file, flowsYaml(flows))
    const bin = join(ROOT, 'bin', 'run.js')
    const run = await runDoctorFlows(bin, topology, file, flows)
    assert.deepEqual(run.problems, [])
    assert.equal(run.code, 0)
    assert.equal(run.met, 24)

    const flipped = flows.map((f, i) => (i === 3 ? {...f, expect: f.expect === 'reachable' ? 'unreachable' as const : 'reachable' as const} : f))
    writeFileSync(file, flowsYaml(flipped))
    const wrong = await runDoctorFlows(bin, topology, file, flipped, {json: true})
    assert.equal(wrong.code, 1)
    assert.equal(wrong.met, 23)
    assert.ok(wrong.problems.some((p) => p.includes(`${flipped[3]?.from} → ${flipped[3]?.to}`)), wrong.problems.join('\n'))
    const wrongText = await runDoctorFlows(bin, topology, file, flipped)
    assert.equal(wrongText.met, 23)
    assert.ok(wrongText.problems.some((p) => p.startsWith('no "Every flow (24) behaves as expected."')), wrongText.problems.join('\n'))
  })
})
