import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {ApplyReport} from '../../src/core/link/apply-report.js'
import type {LinkPlan} from '../../src/core/link/plan.js'
import {linkCreateJsonSchema, linkDeleteJsonSchema} from '../../src/core/link/result-schema.js'
import {linkCreateJson, linkDeleteJson, renderCreateOutcome, renderDeletePlanText, renderResourceBodies} from '../../src/render/link-result.js'

const fw = {kind: 'firewall' as const, scope: {kind: 'global' as const}, name: 'xcc-l-allow'}
const peer = {kind: 'peering' as const, scope: {kind: 'global' as const}, parent: 'vpc-b', name: 'xcc-l-peer-from'}
const plan: LinkPlan = {
  link: 'l', mode: 'peering', modeReason: '--mode peering', notes: [], address: {forwardingRule: 'xcc-l-fr', port: 32191},
  changes: [
    {key: 'firewall/global/xcc-l-allow', action: 'create', resource: {...fw, body: {description: '{"managed-by":"xcc","link":"l","role":"allow","v":1}', sourceRanges: ['10.0.0.0/16']}}, reason: 'r1', dependsOn: []},
    {key: 'peering/global/vpc-b/xcc-l-peer-from', action: 'create', resource: {...peer, body: {network: 'global/networks/vpc-a'}}, reason: 'r2', dependsOn: []},
  ],
  kube: [{action: 'create', kind: 'masquerade', cluster: 'fe', name: '10.193.0.0/16', cidrs: ['10.193.0.0/16'], reason: 'r', command: 'xcc masquerade add --context fe --cidr 10.193.0.0/16'}],
}
const report: ApplyReport = {
  applied: [{key: 'firewall/global/xcc-l-allow', action: 'create', kind: 'firewall', name: 'xcc-l-allow', result: 'created', ms: 12, requests: 2, retries: 0}],
  failed: [], notApplied: [], interrupted: false, ms: 20, requests: 2, retries: 0,
}

describe('link create and delete output', () => {
  it('--json of a dry run and of an applied create fit the contract', () => {
    const dry = linkCreateJsonSchema.parse(linkCreateJson({plan, project: 'p', dryRun: true, kube: []}))
    assert.deepEqual(dry.plan.map((p) => p.name), ['xcc-l-allow', 'vpc-b/xcc-l-peer-from'])
    assert.deepEqual(dry.kube, [{kind: 'masquerade', cluster: 'fe', name: '10.193.0.0/16', result: 'planned', detail: 'xcc masquerade add --context fe --cidr 10.193.0.0/16'}])
    assert.equal(dry.address, null)
    const done = linkCreateJsonSchema.parse(linkCreateJson({plan, project: 'p', dryRun: false, report, kube: [{kind: 'masquerade', cluster: 'fe', name: '10.193.0.0/16', result: 'applied'}], address: '10.193.0.3:32191'}))
    assert.equal(done.requests, 2)
    assert.equal(done.applied.length, 1)
    assert.equal(linkCreateJsonSchema.safeParse({...done, address: 'xcc-l-fr:32191'}).success, false, 'the address is IP:PORT')
  })

  it('-o yaml|json prints the bodies of what would be written', () => {
    const doc = JSON.parse(renderResourceBodies(plan, 'json')) as {resources: Array<{action: string; kind: string; name: string; body: unknown}>}
    assert.deepEqual(doc.resources.map((r) => [r.action, r.kind, r.name]), [['create', 'firewall', 'xcc-l-allow'], ['create', 'peering', 'xcc-l-peer-from']])
    assert.match(renderResourceBodies(plan, 'yaml'), /^ {4}body:\n {6}description: '\{"managed-by":"xcc","link":"l","role":"allow","v":1\}'$/m)
  })

  it('the delete plan lists the resources and the record; an empty one says there is nothing to delete', () => {
    const text = renderDeletePlanText({link: 'l', changes: plan.changes.map((c) => ({...c, action: 'delete' as const})), records: [{cluster: 'fe', context: 'fe', masquerade: ['10.193.0.0/16']}]}, {color: false})
    assert.match(text, /^ {2}- delete firewall xcc-l-allow$/m)
    assert.match(text, /^ {2}- delete peering vpc-b\/xcc-l-peer-from$/m)
    assert.match(text, /^ {2}- masquerade fe: 10\.193\.0\.0\/16$/m)
    assert.match(text, /^Plan: 0 to create, 0 to update, 4 to delete\.$/m)
    assert.match(renderDeletePlanText({link: 'l', changes: [], records: []}, {color: false}), /Nothing to delete/)
    const json = linkDeleteJsonSchema.parse(linkDeleteJson({plan: {link: 'l', project: 'p', changes: [], records: []}, dryRun: false, unmasqueraded: []}))
    assert.equal(json.nothingToDelete, true)
  })

  it('the outcome names the address and the verdict, escaping names', () => {
    const text = renderCreateOutcome({link: 'l', from: 'fe', address: '10.193.0.3:32191', kube: [{kind: 'masquerade', cluster: 'fe\u001b[2J', name: '10.193.0.0/16', result: 'applied'}]}, {color: false})
    assert.match(text, /^Link l: the Service is at 10\.193\.0\.3:32191$/m)
    assert.match(text, /^applied: masquerade fe\\x1b\[2J 10\.193\.0\.0\/16$/m)
    assert.ok(!text.includes('\u001b'))
  })
})
