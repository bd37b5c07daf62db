import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {changeKey} from '../../../src/core/link/changes.js'
import {orderChanges} from '../../../src/core/link/diff.js'
import {checkLinkName, checkNameLengths, gcpLabels, markOf, ownedBy, parseMark, resourceName} from '../../../src/core/link/names.js'
import {chooseSharedRange, sharedVip} from '../../../src/core/link/ranges.js'
import {formatCidr, formatIp} from '../../../src/core/net/ipv4.js'
import {loadFixture} from '../../support/fixtures.js'
import {assertBadInput} from '../../support/xcc-error.js'

describe('link names and marks', () => {
  it('names resources xcc-<link>-<role>[-<side>]', () => {
    assert.equal(resourceName('fe-be', 'fr'), 'xcc-fe-be-fr')
    assert.equal(resourceName('c1-c2', 'c1-gw', '2'), 'xcc-c1-c2-c1-gw-2')
  })

  it('accepts RFC 1035 link names only', () => {
    checkLinkName('fe-be')
    for (const bad of ['Fe', '1a', 'a-', 'a_b', '']) assertBadInput(() => checkLinkName(bad), /must be lowercase letters, digits and hyphens/)
  })

  it('refuses names over 63 characters, naming the link and the longest name', () => {
    checkNameLengths('x', ['xcc-x-fr', `xcc-${'a'.repeat(59)}`])
    const link = 'l'.repeat(56)
    const e = assertBadInput(() => checkNameLengths(link, [`xcc-${link}-fr`, `xcc-${link}-bs-c2`]), new RegExp(`link name "${link}" is too long: it makes the resource name xcc-${link}-bs-c2 \\(66 characters`))
    assert.match(e.hint ?? '', /shorten the link name by at least 3 characters/)
  })

  it('writes the description mark and reads it back; anything else is not owned', () => {
    const mark = markOf('fe-be', 'fr')
    assert.equal(mark, '{"managed-by":"xcc","link":"fe-be","role":"fr","v":1}')
    assert.deepEqual(parseMark(mark), {link: 'fe-be', role: 'fr', v: 1})
    assert.equal(ownedBy(mark, 'fe-be'), true)
    assert.equal(ownedBy(mark, 'fe'), false, 'another link')
    for (const other of [undefined, '', 'made by hand', '{"managed-by":"terraform","link":"fe-be","role":"fr","v":1}', '{"managed-by":"xcc","link":"fe-be"}', '[1]', 'null']) assert.equal(ownedBy(other, 'fe-be'), false, String(other))
  })

  it('labels with GCP label keys', () => {
    assert.deepEqual(gcpLabels('fe-be'), {'managed-by': 'xcc', 'xcc-link': 'fe-be'})
  })
})

describe('link ranges', () => {
  it('picks the first /24 from 10.210.200.0/24 that overlaps nothing, and its load balancer address below the reserved top two', () => {
    const range = chooseSharedRange(loadFixture('overlapping-clusters-unwired'))
    assert.equal(formatCidr(range), '10.210.200.0/24')
    assert.equal(formatIp(sharedVip(range)), '10.210.200.253')
    // seed 000 as it was wired: its shared subnet holds 10.210.200.0/24, so the next one
    assert.equal(formatCidr(chooseSharedRange(loadFixture('seed-000-gateways-missing-snat'))), '10.210.201.0/24')
  })
})

describe('plan order', () => {
  it('puts each change after what it depends on, keeping the listed order otherwise, and refuses a cycle', () => {
    const ref = (name: string) => ({kind: 'firewall' as const, scope: {kind: 'global' as const}, name})
    const c = (name: string, deps: string[]) => ({key: changeKey(ref(name)), action: 'create' as const, resource: ref(name), reason: '', dependsOn: deps.map((d) => changeKey(ref(d)))})
    assert.deepEqual(orderChanges([c('a', ['b']), c('b', []), c('c', [])]).map((x) => x.resource.name), ['b', 'a', 'c'])
    assert.throws(() => orderChanges([c('a', ['b']), c('b', ['a'])]), /cycle/)
  })
})
