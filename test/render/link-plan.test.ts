import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {LinkPlan} from '../../src/core/link/plan.js'
import {countPlan, hasChanges, renderLinkPlanText} from '../../src/render/link-plan.js'

const ref = {kind: 'firewall' as const, scope: {kind: 'global' as const}, name: 'xcc-l-allow'}
const plan: LinkPlan = {
  link: 'l', mode: 'peering', modeReason: '--mode peering', notes: [],
  changes: [
    {key: 'firewall/global/xcc-l-allow', action: 'update', resource: {...ref, body: {}}, reason: 'sourceRanges [a] → [b]', dependsOn: []},
    {key: 'firewall/global/xcc-l-old', action: 'delete', resource: {...ref, name: 'xcc-l-old'}, reason: 'owned by link l and no longer wanted', dependsOn: []},
  ],
  kube: [{action: 'create', kind: 'masquerade', cluster: 'fe\u001b[2J', name: '10.0.0.0/16', reason: 'r', command: 'c'}],
}

describe('link plan text', () => {
  it('colours only when asked (a TTY without NO_COLOR), and escapes control characters from names', () => {
    const plain = renderLinkPlanText(plan, {color: false})
    assert.ok(!plain.includes('\u001b'), 'no escape sequence')
    assert.match(plain, /^ {2}~ update firewall xcc-l-allow$/m)
    assert.match(plain, /^ {2}- delete firewall xcc-l-old$/m)
    assert.match(plain, /^ {2}\+ masquerade fe\\x1b\[2J: 10\.0\.0\.0\/16$/m)
    assert.match(plain, /^Plan: 1 to create, 1 to update, 1 to delete\.$/m)
    const coloured = renderLinkPlanText(plan, {color: true})
    assert.ok(coloured.includes('\u001b[31m  - delete firewall xcc-l-old'), 'deletes in red')
    assert.ok(!coloured.includes('\u001b[2J'), 'the name\'s escape sequence is shown, not sent')
  })

  it('counts the Kubernetes steps as creates, and an empty plan says so', () => {
    assert.deepEqual(countPlan(plan), {create: 1, update: 1, delete: 1})
    const empty: LinkPlan = {...plan, changes: [], kube: []}
    assert.equal(hasChanges(empty), false)
    assert.match(renderLinkPlanText(empty, {color: false}), /No changes: the project already holds what the link wants\.\n\nPlan: 0 to create, 0 to update, 0 to delete\.\n$/)
  })
})
