/**
 * The views of `xcc link list` and `xcc link verify`: the table (also empty), what an
 * incomplete link lacks, a link that cannot be verified, a failing flow's diagnosis, no colour
 * codes when colour is off, and the JSON (zod-validated: versioned, the §2 result per flow).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {z} from 'zod'

import {CHECKS} from '../../src/checks/index.js'
import {evaluateDoctor} from '../../src/core/doctor/report.js'
import type {LinkRequest} from '../../src/core/link/design.js'
import {findLinks} from '../../src/core/link/inventory.js'
import {planLink} from '../../src/core/link/plan.js'
import {type LinkVerifyResult, linkFlows} from '../../src/core/link/verify-flows.js'
import type {Model} from '../../src/core/topology/model-types.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import {resolveFlow} from '../../src/core/trace/endpoints.js'
import {linkListJson, linkVerifyJson, renderLinkList, renderLinkVerify} from '../../src/render/link-list.js'
import {loadFixture} from '../support/fixtures.js'
import {applyLinkPlan} from '../support/link-apply.js'

const REQUEST: LinkRequest = {link: 'fe-be', mode: 'peering', from: 'frontend', to: 'backend', service: {namespace: 'default', name: 'dummy-backend'}, gateways: 2, snat: true, project: 'p', contexts: {}}

function applied(drop: readonly string[]): Model {
  const model = loadFixture('two-vpcs-unwired')
  const plan = planLink(model, REQUEST)
  return parseTopology(JSON.stringify(applyLinkPlan(model.topology, plan.changes.filter((c) => !drop.includes(c.resource.name)), plan.kube)), 'x')
}

function verifyOf(model: Model): LinkVerifyResult {
  const link = findLinks(model)[0]!
  const flows = linkFlows(model, link).map((f) => {
    const result = evaluateDoctor(model, resolveFlow(model, f.from, f.to), CHECKS)
    return {...f, expect: 'reachable' as const, met: result.verdict === 'reachable', result}
  })
  return {project: 'p', link, live: false, flows, notes: [], skipped: []}
}

const VerifyJson = z.strictObject({
  schemaVersion: z.literal(1), project: z.string(), link: z.looseObject({name: z.string(), health: z.enum(['complete', 'incomplete'])}), live: z.boolean(), notes: z.array(z.string()), unverifiable: z.string().optional(),
  flows: z.array(z.strictObject({from: z.string(), to: z.string(), expect: z.literal('reachable'), met: z.boolean(), pool: z.string(), node: z.string(), chosen: z.string(),
    result: z.looseObject({schemaVersion: z.literal(1), verdict: z.string(), diagnosis: z.looseObject({code: z.string()}).nullable(), forward: z.array(z.unknown()), return: z.array(z.unknown())})})),
})

describe('xcc link list views', () => {
  it('no link: the header and a line saying so; JSON links []', () => {
    const result = {project: 'p', links: [], notes: [], skipped: []}
    assert.equal(renderLinkList(result, {color: false}), 'NAME  MODE  CLUSTERS  NETWORKS  ADDRESS  HEALTH  DOCTOR  RESOURCES\nNo link in project p (xcc link plan shows what one would take).\n')
    assert.deepEqual(linkListJson(result), {schemaVersion: 1, project: 'p', links: [], notes: []})
  })

  it('an incomplete link: its row, then what it lacks; no escape codes without colour', () => {
    const link = findLinks(applied(['xcc-fe-be-fr']))[0]!
    const text = renderLinkList({project: 'p', links: [{...link, doctor: 'unknown'}], notes: [], skipped: []}, {color: false})
    assert.match(text, /^fe-be +peering +frontend → backend +vpc-a,vpc-b +- +incomplete +unknown +1 backendService, 2 firewall, 1 healthCheck, 2 peering$/m)
    assert.match(text, /\nfe-be is incomplete: run xcc link create again to finish it\. Missing:\n {2}- forwardingRule xcc-fe-be-fr\n$/)
    assert.ok(!text.includes('\u001b['), 'no escape codes')
    assert.ok(renderLinkList({project: 'p', links: [{...link, doctor: 'unknown'}], notes: [], skipped: []}, {color: true}).includes('\u001b[31m'), 'red with colour')
  })
})

describe('xcc link verify views', () => {
  it('reachable: a ✓ line per flow with what was chosen, and the summary; JSON valid', () => {
    const result = verifyOf(applied([]))
    const text = renderLinkVerify(result, {color: false})
    assert.match(text, /^Link fe-be \(peering, frontend → backend\) at 10\.193\.0\.\d+:\d+: checked statically from the APIs, complete\.\n✓ frontend\/default\/curl → 10\.193\.0\.\d+:\d+: reachable\n {4}from pod default\/curl on node \S+ \(pool default-pool\)\n\nEvery flow \(1\) reaches /)
    VerifyJson.parse(JSON.parse(JSON.stringify(linkVerifyJson(result))))
  })

  it('a flow that fails: ✗, the diagnosis with its evidence and fix, what is missing', () => {
    const result = verifyOf(applied(['xcc-fe-be-allow']))
    const text = renderLinkVerify(result, {color: false})
    assert.match(text, /✗ frontend\/default\/curl → \S+: unreachable \(FIREWALL_RULE\)\n/)
    assert.match(text, /\n {4}FIREWALL_RULE: .*\n( {6}- .*\n)+ {4}Fix:\n {6}gcloud compute firewall-rules create /)
    assert.match(text, /Missing: firewall xcc-fe-be-allow: frontend's nodes cannot reach backend's nodes \(PEER-09\)\n\n1 of 1 flows do not reach /)
    const json = VerifyJson.parse(JSON.parse(JSON.stringify(linkVerifyJson(result))))
    assert.equal(json.flows[0]?.result.diagnosis?.code, 'FIREWALL_RULE')
  })

  it('a link that cannot be verified: why, and what is missing; JSON says unverifiable with no flows', () => {
    const link = findLinks(applied(['xcc-fe-be-fr']))[0]!
    const result: LinkVerifyResult = {project: 'p', link, live: false, flows: [], unverifiable: 'it has no address (no forwarding rule)', notes: [], skipped: []}
    assert.match(renderLinkVerify(result, {color: false}), /It cannot be verified: it has no address \(no forwarding rule\)\.\n {2}missing: forwardingRule xcc-fe-be-fr\nRun xcc link create again to finish it\.\n$/)
    const json = VerifyJson.parse(JSON.parse(JSON.stringify(linkVerifyJson(result))))
    assert.deepEqual([json.unverifiable, json.flows], ['it has no address (no forwarding rule)', []])
  })
})
