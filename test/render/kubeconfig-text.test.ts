/** src/render/kubeconfig-text.ts: the text of generate (with its verification table) and list (golden). */
import {describe, it} from 'node:test'

import {accessChecks, verifyRows} from '../../src/core/kubeconfig/verify.js'
import {presetRole} from '../../src/core/kubeconfig/roles.js'
import {renderGenerate, renderList} from '../../src/render/kubeconfig-text.js'
import {assertGoldenText} from '../support/golden.js'

describe('xcc kubeconfig text', () => {
  it('generate: where it went, who, until when, what was created, the verification (test/golden/kubeconfig/generate.txt)', () => {
    const checks = accessChecks(presetRole('service-reader'), [])
    const verification = verifyRows({
      version: {ok: true, gitVersion: 'v1.32.0-gke.1000'}, whoami: {ok: true, username: 'system:serviceaccount:gateways:nginx', groups: []}, expectUser: 'system:serviceaccount:gateways:nginx',
      access: checks.map((check) => ({check, answer: {allowed: check.expect}})),
    })
    assertGoldenText('kubeconfig/generate.txt', renderGenerate({
      context: 'gke_my-project_europe-west1_frontend', project: 'my-project', projectSource: 'CLOUDSDK_CORE_PROJECT', cluster: {name: 'frontend', location: 'europe-west1'}, auth: 'service-account',
      endpoint: {kind: 'internal', server: 'https://10.0.0.2', caSource: 'GKE masterAuth.clusterCaCertificate'}, written: {path: 'gateway.kubeconfig', merged: false, currentContext: 'gke_my-project_europe-west1_frontend'},
      serviceAccount: 'gateways/nginx', role: 'service-reader', expires: '2026-12-08T09:00:00Z',
      created: ['serviceaccount gateways/nginx', 'secret gateways/xcc-kc-nginx', 'clusterrole xcc-kc-gateways-nginx', 'clusterrolebinding xcc-kc-gateways-nginx'], verification,
    }))
  })
  it('list (test/golden/kubeconfig/list.txt)', () => {
    assertGoldenText('kubeconfig/list.txt', renderList({cluster: 'frontend', location: 'europe-west1', entries: [
      {serviceAccount: 'gateways/nginx', role: 'service-reader', scope: 'cluster', expires: '2026-12-08T09:00:00Z'},
      {serviceAccount: 'kube-system/xcc-view', role: 'view', scope: 'namespaces shop,cart', expires: 'never', lastUsed: '2026-12-07'},
    ]}) + renderList({cluster: 'backend', location: 'us-central1', entries: []}))
  })
})
