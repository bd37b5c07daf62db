/**
 * The link planner's designs carry real packets: each unwired seed with its plan applied (as the
 * Compute API's writes would leave it: test/support/link-apply.ts) is built as a lab, and a real
 * TCP connection from the client pod to the link's address connects — through the peering and
 * the masquerade (seed 001), through both clusters' gateway VMs running their startup scripts'
 * forwarding, DNAT and masquerade rules (seed 000) — agreeing with the static doctor. Without the
 * masquerade step, seed 001's connection fails in the lab too. Needs root, iproute2, iptables,
 * socat and curl.
 */
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import type {LinkRequest} from '../../src/core/link/design.js'
import {planLink} from '../../src/core/link/plan.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import {destroyDataPlane} from '../../src/lab/runtime/dataplane.js'
import {loadFixture} from '../support/fixtures.js'
import {compare, describe as describeComparison, startLab} from '../support/lab-compare.js'
import {applyLinkPlan} from '../support/link-apply.js'
import {requireLabTools} from '../support/netns.js'

const LAB = `la${process.pid}`

const CASES: ReadonlyArray<{fixture: string; request: LinkRequest; from: string; to: string; kube: boolean; connects: boolean}> = [
  {fixture: 'two-vpcs-unwired', request: {link: 'fe-be', mode: 'auto', from: 'frontend', to: 'backend', service: {namespace: 'default', name: 'dummy-backend'}, gateways: 2, snat: true, project: 'p', contexts: {}}, from: 'frontend', to: 'lb/xcc-fe-be-fr', kube: true, connects: true},
  {fixture: 'two-vpcs-unwired', request: {link: 'fe-be', mode: 'auto', from: 'frontend', to: 'backend', service: {namespace: 'default', name: 'dummy-backend'}, gateways: 2, snat: true, project: 'p', contexts: {}}, from: 'frontend', to: 'lb/xcc-fe-be-fr', kube: false, connects: false},
  {fixture: 'overlapping-clusters-unwired', request: {link: 'c1-c2', mode: 'auto', from: 'c1', to: 'c2', service: {namespace: 'default', name: 'echoheaders'}, gateways: 2, snat: true, project: 'p', contexts: {}}, from: 'c1/default/ubuntu', to: 'lb/xcc-c1-c2-c2-fr', kube: true, connects: true},
]

describe('a planned link, applied, carries packets in the lab', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl']])
  after(async () => {
    await destroyDataPlane(LAB)
  })

  for (const c of CASES) {
    it(`${c.fixture} (${c.request.link}${c.kube ? '' : ', without its Kubernetes steps'}): ${c.from} → ${c.to} ${c.connects ? 'connects' : 'fails'}`, async (t) => {
      const model = loadFixture(c.fixture)
      const plan = planLink(model, c.request)
      const applied = applyLinkPlan(model.topology, plan.changes, c.kube ? plan.kube : [])
      const lab = await startLab(parseTopology(JSON.stringify(JSON.parse(JSON.stringify(applied))), `${c.fixture}+${c.request.link}`), LAB)
      try {
        const result = await compare(lab, c.from, c.to)
        t.diagnostic(describeComparison(result))
        assert.equal(result.lab.connected, c.connects, describeComparison(result))
        assert.ok(result.agree, `doctor and lab disagree: ${describeComparison(result)}`)
      } finally {
        await lab.destroy()
      }
    })
  }
})
