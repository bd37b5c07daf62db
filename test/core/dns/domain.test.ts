/**
 * src/core/dns/domain.ts: the domain `xcc dns link` serves its names under, and the cluster label.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {DEFAULT_DOMAIN, checkDomain, clusterLabel, linkZone, publicShadow} from '../../../src/core/dns/domain.js'
import {PUBLIC_TLDS} from '../../../src/core/dns/public-tlds.js'
import {assertBadInput} from '../../support/xcc-error.js'

const check = (text: string, options: {clusterDomain?: string; allowPublicDomain?: boolean} = {}) => checkDomain(text, {allowPublicDomain: false, ...options})

describe('--domain', () => {
  it('takes the default and names under reserved TLDs', () => {
    assert.deepEqual(check(DEFAULT_DOMAIN), {domain: 'clusters.xcc.test'})
    assert.deepEqual(check('Mesh.Internal.'), {domain: 'mesh.internal'})
    assert.deepEqual(check('xcc.test'), {domain: 'xcc.test'})
    assert.deepEqual(check('clusters.example'), {domain: 'clusters.example'})
    assert.deepEqual(check('corp.lan'), {domain: 'corp.lan'})
  })

  it('refuses names that are not RFC 1035', () => {
    assertBadInput(() => check(''), /--domain : the domain is empty/)
    assertBadInput(() => check('under_score.test'), /label "under_score" is not an RFC 1035 label/)
    assertBadInput(() => check('1abc.test'), /label "1abc"/)
    assertBadInput(() => check('a..test'), /empty label/)
    assertBadInput(() => check('-a.test'), /label "-a"/)
    assertBadInput(() => check(`${'a'.repeat(64)}.test`), /longer than 63/)
    assertBadInput(() => check(`${'abcdefghi.'.repeat(26)}test`), /264 characters long; a DNS name has at most 253/)
  })

  it('refuses cluster.local and the cluster\'s own domain, under or over them', () => {
    assertBadInput(() => check('cluster.local'), /it is the Kubernetes cluster domain cluster\.local/)
    assertBadInput(() => check('remote.cluster.local'), /under the Kubernetes cluster domain/)
    assertBadInput(() => check('local'), /holds the Kubernetes cluster domain cluster\.local: a stub domain for it would take every cluster\.local name/)
    assertBadInput(() => check('corp.test', {clusterDomain: 'corp.test'}), /the cluster's own domain corp\.test/)
    assertBadInput(() => check('b.corp.test', {clusterDomain: 'corp.test'}), /under the cluster's own domain/)
    assertBadInput(() => check('test', {clusterDomain: 'corp.test'}), /holds the cluster's own domain/)
  })

  it('asks for --allow-public-domain under a public TLD, and says what it shadows', () => {
    assert.ok(PUBLIC_TLDS.has('global') && PUBLIC_TLDS.has('com') && PUBLIC_TLDS.has('dev') && PUBLIC_TLDS.has('uk'))
    for (const reserved of ['test', 'local', 'internal', 'example', 'invalid', 'localhost']) assert.ok(!PUBLIC_TLDS.has(reserved), reserved)
    const e = assertBadInput(() => check('global'), /"global" is a public top-level domain delegated in the root zone: the stub domain would hide every real name under \.global/)
    assert.match(e.hint ?? '', /--allow-public-domain/)
    assertBadInput(() => check('mesh.global'), /under the public top-level domain \.global: the stub domain would hide the real names under mesh\.global/)
    assertBadInput(() => check('clusters.acme.com'), /under the public top-level domain \.com: .* \(part of the public name acme\.com\)/)
    assertBadInput(() => check('co.uk'), /"co\.uk" is a public suffix/)
    assert.match(publicShadow('k8s.acme.co.uk') ?? '', /part of the public name acme\.co\.uk/)
    const taken = check('global', {allowPublicDomain: true})
    assert.equal(taken.domain, 'global')
    assert.match(taken.warning ?? '', /hide every real name under \.global/)
  })
})

describe('cluster label and zone', () => {
  it('takes GKE\'s cluster name from its context, and cleans any other', () => {
    assert.equal(clusterLabel('gke_my-project_europe-west1_backend'), 'backend')
    assert.equal(clusterLabel('gke_p_us-central1-a_Payments_EU'), 'payments-eu')
    assert.equal(clusterLabel('kind-cluster-b'), 'kind-cluster-b')
    assert.equal(clusterLabel('arn:aws:eks:eu-west-1:123:cluster/prod'), 'arn-aws-eks-eu-west-1-123-cluster-prod')
    assertBadInput(() => clusterLabel('123'), /cannot make a DNS label/)
  })

  it('leaves room for the service and namespace labels', () => {
    assert.equal(linkZone('backend', DEFAULT_DOMAIN), 'backend.clusters.xcc.test')
    assertBadInput(() => linkZone('b', `${'abcdefghi.'.repeat(24)}testtest`), /too long/)
  })
})
