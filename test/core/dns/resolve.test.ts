/**
 * Name resolution as a pod of the source cluster does it (src/core/dns/resolve.ts): glibc's
 * search-path order under ndots:5, the cluster's own zone, stub domains (kube-dns, longest
 * suffix; CoreDNS forward zones), the xcc responder's zone files, and what xcc cannot know.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {candidates, resolveName, splitNameTarget} from '../../../src/core/dns/resolve.js'
import {ip} from '../../../src/core/net/ipv4.js'
import type {ClusterFacts, Model} from '../../../src/core/topology/model-types.js'
import {parseTopology} from '../../../src/core/topology/parse.js'
import {loadFixture, topologyPath} from '../../support/fixtures.js'

const clusterOf = (model: Model, name: string): ClusterFacts => model.clusters.get(name) as ClusterFacts

describe('the search path (glibc res_search, ndots:5)', () => {
  it('a name with fewer than 5 dots tries the search list first, then itself', () => {
    assert.deepEqual(candidates('api.prod', 'web'), ['api.prod.web.svc.cluster.local.', 'api.prod.svc.cluster.local.', 'api.prod.cluster.local.', 'api.prod.'])
  })
  it('a name with 5 dots or more is asked as it is first', () => {
    assert.deepEqual(candidates('server.default.b.clusters.xcc.test', 'default')[0], 'server.default.b.clusters.xcc.test.')
    assert.equal(candidates('server.default.b.clusters.xcc.test', 'default').length, 4)
  })
  it('a final dot makes a name absolute: one query', () => {
    assert.deepEqual(candidates('api.example.', 'default'), ['api.example.'])
  })
  it('NAME:PORT is a name only when NAME is not an address or an object reference', () => {
    assert.deepEqual(splitNameTarget('Server.Default.b.clusters.xcc.test:80'), {name: 'server.default.b.clusters.xcc.test', port: 80})
    assert.equal(splitNameTarget('10.0.0.1:80'), undefined)
    assert.equal(splitNameTarget('b/default/server'), undefined)
    assert.equal(splitNameTarget('lb/backend-ilb'), undefined)
    assert.equal(splitNameTarget('server:0'), undefined)
  })
})

describe('resolveName', () => {
  const linked = loadFixture('dns-linked')
  const a = clusterOf(linked, 'a')

  it('answers a Service of the cluster from cluster.local through the search path', () => {
    const r = resolveName(linked, {cluster: a, namespace: 'kube-system'}, 'xcc-dns-responder')
    assert.equal(r.outcome, 'resolved')
    assert.equal(r.address, '10.30.0.53')
    assert.deepEqual(r.steps.map((s) => s.query), ['xcc-dns-responder.kube-system.svc.cluster.local.'])
    assert.equal(r.dns?.serviceIP, ip('10.30.0.10'), "the services range's tenth address")
  })

  it('answers a pod name <a-b-c-d>.<ns>.pod.cluster.local', () => {
    assert.equal(resolveName(linked, {cluster: a, namespace: 'default'}, '10-20-0-10.default.pod.cluster.local.').address, '10.20.0.10')
  })

  it("sends a linked zone to the stub domain's server, and the responder's zone file answers", () => {
    const r = resolveName(linked, {cluster: a, namespace: 'default'}, 'server.default.b.clusters.xcc.test')
    assert.equal(r.address, '10.11.0.100')
    assert.equal(r.stale, undefined)
    assert.match(r.steps[0]?.server ?? '', /^10\.30\.0\.53 \(stub domain b\.clusters\.xcc\.test\)$/)
  })

  it('a server the query cannot reach is DNS_SERVER_UNREACHABLE, and the other candidates are still asked', () => {
    const r = resolveName(linked, {cluster: a, namespace: 'default'}, 'server.default.b.clusters.xcc.test', {reach: () => false})
    assert.equal(r.outcome, 'DNS_SERVER_UNREACHABLE')
    assert.deepEqual(r.unreachable, {zone: 'b.clusters.xcc.test', server: ip('10.30.0.53'), port: 53})
    assert.deepEqual(r.steps.map((s) => s.answer), ['unreachable', 'NXDOMAIN', 'NXDOMAIN', 'NXDOMAIN'])
  })

  it('an unknown name under no stub domain is unknown (the upstreams are not in the topology), not NXDOMAIN', () => {
    const r = resolveName(linked, {cluster: a, namespace: 'default'}, 'www.example.com')
    assert.equal(r.outcome, 'unknown')
    assert.equal(r.steps.at(-1)?.answer, 'unknown')
  })

  it('the stale record: the zone file holds an address the Service no longer has', () => {
    const stale = loadFixture('dns-record-stale')
    const r = resolveName(stale, {cluster: clusterOf(stale, 'a'), namespace: 'default'}, 'server.default.b.clusters.xcc.test')
    assert.deepEqual(r.stale, {name: 'server.default.b.clusters.xcc.test', served: '10.11.0.99', current: '10.11.0.100', service: 'default/server', cluster: 'b'})
  })

  it('DNS_STUB_DOMAIN_MISSING: <cluster>.clusters.xcc.test of a known cluster without a stub domain', () => {
    const unlinked = loadFixture('dns-stub-domain-missing')
    const r = resolveName(unlinked, {cluster: clusterOf(unlinked, 'a'), namespace: 'default'}, 'api.default.b.clusters.xcc.test')
    assert.equal(r.outcome, 'DNS_STUB_DOMAIN_MISSING')
    assert.equal(r.missingZone, 'b.clusters.xcc.test')
  })

  it('CoreDNS: the forward zone of the longest suffix is the stub domain', () => {
    const text = readFixtureText('dns-linked').replace("  nodes:\n  - {name: gke-a-node-1", `  dnsProvider: CoreDNS\n  nodes:\n  - {name: gke-a-node-1`)
      .replace(/ {4}name: kube-dns\n {4}data: \{stubDomains: .*\}\n/, `    name: coredns\n    data:\n      Corefile: |\n        .:53 {\n            forward . /etc/resolv.conf\n        }\n        clusters.xcc.test:53 {\n            forward . 10.99.0.1\n        }\n        b.clusters.xcc.test:53 {\n            forward . 10.30.0.53\n        }\n`)
    const model = parseTopology(text, 'coredns.yaml')
    const r = resolveName(model, {cluster: clusterOf(model, 'a'), namespace: 'default'}, 'server.default.b.clusters.xcc.test')
    assert.equal(r.address, '10.11.0.100')
    const other = resolveName(model, {cluster: clusterOf(model, 'a'), namespace: 'default'}, 'x.c.clusters.xcc.test.')
    assert.match(other.steps[0]?.server ?? '', /^10\.99\.0\.1 /)
  })
})

function readFixtureText(name: string): string {
  return readFileSync(topologyPath(name), 'utf8')
}
