/**
 * src/core/kubeconfig/document.ts: the cluster a name and location pick (unknown, ambiguous), the
 * server and CA of each endpoint (public, internal, DNS without a CA; loopback refused unless the
 * GKE API is local), and the files of --auth exec and --auth token (golden).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {buildKubeconfig, chooseEndpoint, defaultContextName, findCluster, redactTokens, toYaml} from '../../../src/core/kubeconfig/document.js'
import type {GkeCluster} from '../../../src/core/ports/gcp.js'
import {assertGoldenText} from '../../support/golden.js'
import {assertBadInput} from '../../support/xcc-error.js'

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n').toString('base64')
const c1: GkeCluster = {
  name: 'frontend', location: 'europe-west1', endpoint: '34.76.1.2', masterAuth: {clusterCaCertificate: CA},
  privateClusterConfig: {privateEndpoint: '10.0.0.2'},
  controlPlaneEndpointsConfig: {dnsEndpointConfig: {endpoint: 'gke-0123abcd.europe-west1.gke.goog', allowExternalTraffic: true}},
}
const twin: GkeCluster = {...c1, location: 'us-central1'}

describe('findCluster', () => {
  it('finds by name, and by name and location', () => {
    assert.equal(findCluster([c1, {...c1, name: 'other'}], 'frontend', undefined, 'p').location, 'europe-west1')
    assert.equal(findCluster([c1, twin], 'frontend', 'us-central1', 'p').location, 'us-central1')
  })
  it('an unknown name is exit 2 naming it and the project\'s clusters', () => {
    const e = assertBadInput(() => findCluster([c1], 'backend', undefined, 'my-project'), /no GKE cluster "backend" in project my-project/)
    assert.match(e.hint ?? '', /frontend/)
  })
  it('an unknown location is exit 2 naming it and where the cluster is', () => {
    const e = assertBadInput(() => findCluster([c1], 'frontend', 'asia-east1', 'p'), /location asia-east1/)
    assert.match(e.hint ?? '', /europe-west1/)
  })
  it('an ambiguous name lists the locations', () => {
    const e = assertBadInput(() => findCluster([c1, twin], 'frontend', undefined, 'p'), /ambiguous/, /europe-west1, us-central1/)
    assert.match(e.hint ?? '', /--location/)
  })
})

describe('chooseEndpoint', () => {
  const opts = {auth: 'exec' as const, allowLoopback: false}
  it('public: https://<endpoint> with the cluster CA', () => {
    assert.deepEqual(chooseEndpoint(c1, 'public', opts), {kind: 'public', server: 'https://34.76.1.2', caData: CA, caSource: 'GKE masterAuth.clusterCaCertificate', warnings: []})
  })
  it('internal: privateEndpoint (or ipEndpointsConfig.privateEndpoint)', () => {
    assert.equal(chooseEndpoint(c1, 'internal', opts).server, 'https://10.0.0.2')
    assert.equal(chooseEndpoint({...c1, privateClusterConfig: {}, controlPlaneEndpointsConfig: {ipEndpointsConfig: {privateEndpoint: '10.0.0.9'}}}, 'internal', opts).server, 'https://10.0.0.9')
    assertBadInput(() => chooseEndpoint({...c1, privateClusterConfig: {}}, 'internal', opts), /no private endpoint/)
  })
  it('dns: no CA data (its certificate is publicly trusted); tokens need enableK8sTokensViaDns', () => {
    const dns = chooseEndpoint(c1, 'dns', opts)
    assert.equal(dns.server, 'https://gke-0123abcd.europe-west1.gke.goog')
    assert.equal(dns.caData, undefined)
    assertBadInput(() => chooseEndpoint(c1, 'dns', {...opts, auth: 'service-account'}), /refuses Kubernetes service account tokens/)
    const allowed = {...c1, controlPlaneEndpointsConfig: {dnsEndpointConfig: {endpoint: 'x.gke.goog', enableK8sTokensViaDns: true, allowExternalTraffic: false}}}
    assert.match(chooseEndpoint(allowed, 'dns', {...opts, auth: 'service-account'}).warnings.join(), /does not allow external traffic/)
    assertBadInput(() => chooseEndpoint({...c1, controlPlaneEndpointsConfig: {}}, 'dns', opts), /no DNS endpoint/)
  })
  it('a loopback server is refused unless the GKE API is local (a lab)', () => {
    const lab = {...c1, endpoint: '127.0.0.1:6443'}
    assertBadInput(() => chooseEndpoint(lab, 'public', opts), /loopback address/)
    assert.equal(chooseEndpoint(lab, 'public', {...opts, allowLoopback: true}).server, 'https://127.0.0.1:6443')
    assertBadInput(() => chooseEndpoint({...c1, endpoint: 'localhost'}, 'public', opts), /loopback/)
  })
  it('a private-only cluster has no public endpoint', () => {
    assertBadInput(() => chooseEndpoint({...c1, privateClusterConfig: {enablePrivateEndpoint: true, privateEndpoint: '10.0.0.2'}}, 'public', opts), /no public endpoint/)
  })
})

describe('the kubeconfig files (golden)', () => {
  const endpoint = chooseEndpoint(c1, 'public', {auth: 'exec', allowLoopback: false})
  const context = defaultContextName('my-project', 'europe-west1', 'frontend')
  it('gcloud\'s context name', () => assert.equal(context, 'gke_my-project_europe-west1_frontend'))
  it('--auth exec: gcloud\'s gke-gcloud-auth-plugin user (test/golden/kubeconfig/exec.yaml)', () => {
    assertGoldenText('kubeconfig/exec.yaml', toYaml(buildKubeconfig({context, endpoint, user: {kind: 'exec'}})))
  })
  it('--auth token: the token and its expiry (test/golden/kubeconfig/token.yaml)', () => {
    const doc = buildKubeconfig({context, endpoint, user: {kind: 'token', token: 'ya29.not-a-real-token', expires: '2026-12-07T09:30:00Z', source: 'application default credentials'}})
    assertGoldenText('kubeconfig/token.yaml', toYaml(doc))
    assert.doesNotMatch(toYaml(redactTokens(doc)), /ya29/)
  })
  it('--auth token through the DNS endpoint: no certificate-authority-data', () => {
    const dns = chooseEndpoint(c1, 'dns', {auth: 'token', allowLoopback: false})
    const text = toYaml(buildKubeconfig({context, endpoint: dns, user: {kind: 'token', token: 't', source: 's'}}))
    assert.doesNotMatch(text, /certificate-authority/)
    assert.match(text, /server: https:\/\/gke-0123abcd\.europe-west1\.gke\.goog\n/)
  })
})
