import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {ApiError} from '../../../src/lab/kube/errors.js'
import {
  fieldValue,
  formatLabelSelector,
  labelSelectorRequirements,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from '../../../src/lab/kube/selectors.js'
import type {KubeObject} from '../../../src/lab/kube/types.js'

const labels = {app: 'web', tier: 'frontend', 'example.com/team': 'net', version: '12'}
const matches = (selector: string, l: Record<string, string> = labels): boolean => matchesLabels(parseLabelSelector(selector), l)

describe('label selectors', () => {
  it('equality: =, == and !=', () => {
    assert.equal(matches('app=web'), true)
    assert.equal(matches('app==web'), true)
    assert.equal(matches('app=db'), false)
    assert.equal(matches('app!=db'), true)
    assert.equal(matches('missing!=x'), true, '!= matches objects without the label')
    assert.equal(matches('example.com/team=net'), true)
  })

  it('sets: in and notin', () => {
    assert.equal(matches('tier in (frontend, backend)'), true)
    assert.equal(matches('tier in (backend)'), false)
    assert.equal(matches('tier notin (backend,db)'), true)
    assert.equal(matches('missing notin (x)'), true)
    assert.equal(matches('missing in (x)'), false)
  })

  it('existence: key and !key', () => {
    assert.equal(matches('app'), true)
    assert.equal(matches('!app'), false)
    assert.equal(matches('!legacy'), true)
    assert.equal(matches('legacy'), false)
  })

  it('several requirements are ANDed, commas inside parentheses do not split', () => {
    assert.equal(matches('app=web,tier in (a,frontend),!legacy'), true)
    assert.equal(matches('app=web,tier in (a,b)'), false)
    assert.equal(parseLabelSelector('a in (x,y),b').length, 2)
  })

  it('gt and lt compare integers', () => {
    assert.equal(matches('version>10'), true)
    assert.equal(matches('version<10'), false)
  })

  it('empty selector matches everything; a malformed one is a 400', () => {
    assert.equal(matches(''), true)
    assert.throws(() => parseLabelSelector('app=we b'), (e: unknown) => e instanceof ApiError && e.code === 400)
    assert.throws(() => parseLabelSelector('in (a'), (e: unknown) => e instanceof ApiError && e.code === 400)
  })

  it('the object form: matchLabels and matchExpressions', () => {
    const r = labelSelectorRequirements({matchLabels: {app: 'web'}, matchExpressions: [{key: 'tier', operator: 'In', values: ['frontend']}, {key: 'x', operator: 'DoesNotExist'}]})!
    assert.equal(matchesLabels(r, labels), true)
    assert.equal(labelSelectorRequirements(null), null)
    assert.equal(formatLabelSelector({matchLabels: {app: 'web'}, matchExpressions: [{key: 'x', operator: 'Exists'}]}), 'app=web,x')
  })
})

describe('field selectors', () => {
  const pod: KubeObject = {metadata: {name: 'p', namespace: 'default'}, spec: {nodeName: 'n1', hostNetwork: true}, status: {phase: 'Running'}}

  it('the fields kubectl and controllers use', () => {
    const ok = (s: string): boolean => matchesFields(parseFieldSelector(s), pod)
    assert.equal(ok('metadata.name=p'), true)
    assert.equal(ok('metadata.name==p,metadata.namespace=default'), true)
    assert.equal(ok('spec.nodeName=n2'), false)
    assert.equal(ok('status.phase!=Succeeded'), true)
    assert.equal(ok('spec.hostNetwork=true'), true)
  })

  it('a missing field is the empty string (spec.nodeName= selects unscheduled pods)', () => {
    const pending: KubeObject = {metadata: {name: 'q'}, spec: {}}
    assert.equal(matchesFields(parseFieldSelector('spec.nodeName='), pending), true)
    assert.equal(matchesFields(parseFieldSelector('spec.nodeName='), pod), false)
    assert.equal(fieldValue(pending, 'status.phase'), '')
  })

  it('escaped commas and equals signs in values', () => {
    const r = parseFieldSelector(String.raw`metadata.name=a\,b\=c,status.phase=x`)
    assert.deepEqual(r[0], {path: 'metadata.name', equal: true, value: 'a,b=c'})
    assert.equal(r.length, 2)
  })

  it('garbage is a 400', () => {
    assert.throws(() => parseFieldSelector('nonsense'), (e: unknown) => e instanceof ApiError && e.code === 400)
  })
})
