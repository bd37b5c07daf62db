/**
 * The pure part of the live doctor's name resolution: the DNS probe's termination message, the
 * DNS header tcpdump prints for UDP 53, which captured packets are the name's queries and
 * answers (the lines below are from the lab: a pod of cluster a, its kube-dns Service 10.30.0.10
 * DNATed to the DNS pod 10.20.0.254, which forwards b.clusters.xcc.test to 10.21.0.2), the DNS
 * steps as the pod took them, and the comparison with the static prediction.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {DnsView} from '../../../src/core/doctor/report.js'
import {askedNames, classifyDnsPackets, compareDns, liveDnsView, parseDnsHeader, parseDnsProbeMessage, refineResult} from '../../../src/core/probe/dns-answer.js'
import {parseCapture} from '../../../src/core/probe/tcpdump.js'
import type {DnsObservation} from '../../../src/core/probe/types.js'

const RESOLVER = 'nameserver=10.30.0.10 search=default.svc.cluster.local,svc.cluster.local,cluster.local ndots=5'

describe('the DNS probe\'s message', () => {
  it('a resolved name: its addresses, once each, and the pod\'s resolver', () => {
    const a = parseDnsProbeMessage(`xcc-probe result=resolved addresses=10.30.0.20,10.30.0.21 ${RESOLVER}`, 0)
    assert.equal(a.result, 'resolved')
    assert.deepEqual(a.addresses, ['10.30.0.20', '10.30.0.21'])
    assert.deepEqual(a.resolver, {nameservers: ['10.30.0.10'], search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5})
  })

  it('not found, timed out, failed; without a message the exit code says which', () => {
    assert.equal(parseDnsProbeMessage(`xcc-probe result=not-found getent=2 ${RESOLVER}`, 2).result, 'not-found')
    assert.equal(parseDnsProbeMessage(`xcc-probe result=timeout after=5s ${RESOLVER}`, 1).result, 'timeout')
    assert.equal(parseDnsProbeMessage('xcc-probe result=error exit=127 error=getent-not-found nameserver= search= ndots=', 127).result, 'error')
    assert.equal(parseDnsProbeMessage(undefined, 2).result, 'not-found')
    assert.equal(parseDnsProbeMessage(undefined, 1).result, 'timeout')
    assert.equal(parseDnsProbeMessage(undefined, 137).result, 'error')
    assert.deepEqual(parseDnsProbeMessage(undefined, 0), {result: 'error', addresses: [], resolver: {nameservers: [], search: []}}, 'success without addresses is no answer')
  })

  it('"resolved" without an IPv4 address is not believed', () => {
    assert.equal(parseDnsProbeMessage(`xcc-probe result=resolved addresses=fe80::1 ${RESOLVER}`, 0).result, 'error')
  })
})

describe('the DNS header tcpdump prints', () => {
  it('a query, an answer with its A records, NXDOMAIN and SERVFAIL', () => {
    assert.deepEqual(parseDnsHeader('33528+ A? backend.default.svc.cluster.local. (51)'), {id: 33528, kind: 'query', qname: 'backend.default.svc.cluster.local.', addresses: []})
    assert.deepEqual(parseDnsHeader('33528* 1/0/0 A 10.30.0.20 (67)'), {id: 33528, kind: 'reply', addresses: ['10.30.0.20']})
    assert.deepEqual(parseDnsHeader('62751 NXDomain 0/0/0 (83)'), {id: 62751, kind: 'reply', rcode: 'NXDomain', addresses: []})
    assert.deepEqual(parseDnsHeader('62751 NXDomain*- 0/1/0 (110)'), {id: 62751, kind: 'reply', rcode: 'NXDomain', addresses: []})
    assert.equal(parseDnsHeader('7 ServFail- 0/0/0 (51)')?.rcode, 'ServFail')
    assert.deepEqual(parseDnsHeader('5 2/0/0 CNAME web.example., A 10.0.0.7 (80)')?.addresses, ['10.0.0.7'])
  })

  it('anything else is not a DNS header', () => {
    assert.equal(parseDnsHeader('Flags [S], seq 1, win 64240, length 0'), undefined)
    assert.equal(parseDnsHeader('UDP, length 1'), undefined)
  })
})

// the pod 10.20.1.10 asks for nosuch.default.b.clusters.xcc.test and its search-path expansions
const SOURCE_NODE = `listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes
1796643011.452981 gke0a14010a In  IP 10.20.1.10.37179 > 10.30.0.10.53: 31923+ A? nosuch.default.b.clusters.xcc.test.default.svc.cluster.local. (83)
1796643011.453025 eth0  Out IP 10.20.1.10.37179 > 10.20.0.254.53: 31923+ A? nosuch.default.b.clusters.xcc.test.default.svc.cluster.local. (83)
1796643011.453160 eth0  In  IP 10.20.0.254.53 > 10.20.1.10.37179: 31923 NXDomain 0/0/0 (83)
1796643011.453164 gke0a14010a Out IP 10.30.0.10.53 > 10.20.1.10.37179: 31923 NXDomain 0/0/0 (83)
1796643011.453190 gke0a14010b In  IP 10.20.1.11.40001 > 10.30.0.10.53: 999+ A? other.default.svc.cluster.local. (49)
1796643011.453207 gke0a14010a In  IP 10.20.1.10.42157 > 10.30.0.10.53: 11149+ A? nosuch.default.b.clusters.xcc.test. (52)
1796643011.453212 eth0  Out IP 10.20.1.10.42157 > 10.20.0.254.53: 11149+ A? nosuch.default.b.clusters.xcc.test. (52)
`
const DNS_NODE = `1796643011.453300 gke0a1400fe In  IP 10.20.0.254.49035 > 10.21.0.2.53: 17972+ A? nosuch.default.b.clusters.xcc.test. (52)
1796643011.453310 eth0  Out IP 10.20.0.254.49035 > 10.21.0.2.53: 17972+ A? nosuch.default.b.clusters.xcc.test. (52)
`
const NAMES = askedNames('nosuch.default.b.clusters.xcc.test', 'default')

describe('the name\'s DNS packets in a capture', () => {
  it('the search path as the pod\'s resolver walks it (ndots:5)', () => {
    assert.deepEqual(NAMES, [
      'nosuch.default.b.clusters.xcc.test.', 'nosuch.default.b.clusters.xcc.test.default.svc.cluster.local.',
      'nosuch.default.b.clusters.xcc.test.svc.cluster.local.', 'nosuch.default.b.clusters.xcc.test.cluster.local.',
    ], '5 dots ≥ ndots:5: the name as it is first')
    assert.equal(askedNames('backend', 'shop')[0], 'backend.shop.svc.cluster.local.', 'a short name: the search path first')
  })

  it('the pod\'s queries and their answers, not another pod\'s query', () => {
    const {packets, exchanges} = classifyDnsPackets(parseCapture(SOURCE_NODE).packets, NAMES, '10.20.1.10')
    assert.deepEqual(packets.map((p) => p.role), ['request', 'request', 'reply', 'reply', 'request', 'request'])
    assert.ok(!packets.some((p) => p.src === '10.20.1.11'))
    assert.deepEqual(exchanges.map((e) => [e.qname, e.server, e.answer]), [
      ['nosuch.default.b.clusters.xcc.test.default.svc.cluster.local.', '10.30.0.10:53', 'NXDOMAIN'],
      ['nosuch.default.b.clusters.xcc.test.', '10.30.0.10:53', 'none'],
    ])
  })

  it('the cluster DNS pod\'s forwarded query: the same name, from the DNS pod', () => {
    const {packets, exchanges} = classifyDnsPackets(parseCapture(DNS_NODE).packets, NAMES, '10.20.1.10')
    assert.deepEqual(packets.map((p) => `${p.src} > ${p.dst}:${p.dstPort}`), ['10.20.0.254 > 10.21.0.2:53', '10.20.0.254 > 10.21.0.2:53'])
    assert.deepEqual(exchanges, [], 'not the pod\'s own query')
  })

  it('an answer to a query the capture did not see is not the name\'s', () => {
    const {packets} = classifyDnsPackets(parseCapture('1.0 eth0  In  IP 10.20.0.254.53 > 10.20.1.10.5555: 4242 1/0/0 A 10.9.9.9 (60)\n').packets, NAMES)
    assert.deepEqual(packets, [])
  })

  it('getent\'s "not found" is SERVFAIL when the answers say so, and NXDOMAIN wins over it', () => {
    const servfail = [{qname: 'x.', from: 'p', server: 's', answer: 'SERVFAIL' as const, addresses: [], line: ''}]
    assert.equal(refineResult('not-found', servfail), 'servfail')
    assert.equal(refineResult('not-found', [...servfail, {...servfail[0]!, answer: 'NXDOMAIN' as const}]), 'not-found')
    assert.equal(refineResult('timeout', servfail), 'timeout')
  })
})

const observation = (over: Partial<DnsObservation>): DnsObservation => ({
  name: 'server.default.b.clusters.xcc.test', at: 'a/default/client', mode: 'ephemeral', src: '10.20.1.10',
  resolver: {nameservers: ['10.30.0.10'], search: ['default.svc.cluster.local'], ndots: 5}, result: 'resolved', addresses: ['10.21.0.10'], captures: [], ...over,
})
const view = (over: Partial<DnsView>): DnsView => ({
  name: 'server.default.b.clusters.xcc.test', cluster: 'a', namespace: 'default', steps: [{query: 'server.default.b.clusters.xcc.test.', server: 'kube-dns', answer: 'address', address: '10.21.0.10', detail: 'd'}],
  outcome: 'resolved', address: '10.21.0.10', ...over,
})

describe('the pod\'s answer against the prediction', () => {
  it('agreeing answers match, for each outcome', () => {
    assert.equal(compareDns(view({}), observation({}))?.status, 'match')
    assert.equal(compareDns(view({outcome: 'DNS_NAME_NOT_FOUND'}), observation({result: 'not-found', addresses: []}))?.status, 'match')
    assert.equal(compareDns(view({outcome: 'DNS_STUB_DOMAIN_MISSING'}), observation({result: 'not-found', addresses: []}))?.status, 'match', 'a missing stub domain is NXDOMAIN from the upstreams')
    assert.equal(compareDns(view({outcome: 'DNS_SERVER_UNREACHABLE'}), observation({result: 'timeout', addresses: []}))?.status, 'match')
    assert.equal(compareDns(view({outcome: 'DNS_SERVER_UNREACHABLE'}), observation({result: 'servfail', addresses: []}))?.status, 'match')
  })

  it('another address, or an answer where none was predicted, is a mismatch naming both answers', () => {
    const other = compareDns(view({}), observation({addresses: ['10.21.0.99']}))
    assert.equal(other?.status, 'mismatch')
    assert.equal(other?.expected, 'server.default.b.clusters.xcc.test → 10.21.0.10')
    assert.equal(other?.observed, 'server.default.b.clusters.xcc.test → 10.21.0.99')
    assert.equal(compareDns(view({outcome: 'DNS_NAME_NOT_FOUND'}), observation({}))?.status, 'mismatch')
    assert.equal(compareDns(view({}), observation({result: 'timeout', addresses: []}))?.status, 'mismatch')
  })

  it('nothing to compare: no prediction, a prediction that cannot know, a probe that failed', () => {
    assert.equal(compareDns(undefined, observation({})), undefined)
    assert.equal(compareDns(view({outcome: 'unknown'}), observation({})), undefined)
    assert.equal(compareDns(view({}), observation({result: 'error', addresses: []})), undefined)
  })
})

describe('the DNS steps the pod took', () => {
  it('one step per query its node saw, with the answer; the query of a failure is the pod\'s own', () => {
    const {exchanges} = classifyDnsPackets(parseCapture(SOURCE_NODE).packets, NAMES, '10.20.1.10')
    const v = liveDnsView(observation({name: 'nosuch.default.b.clusters.xcc.test', result: 'timeout', addresses: []}), 'a', 'default', exchanges)
    assert.equal(v.outcome, 'DNS_SERVER_UNREACHABLE')
    assert.deepEqual(v.steps.map((s) => [s.query, s.answer]), [['nosuch.default.b.clusters.xcc.test.default.svc.cluster.local.', 'NXDOMAIN'], ['nosuch.default.b.clusters.xcc.test.', 'unreachable']])
    assert.equal(v.query, 'a/default/client (10.20.1.10) → 10.30.0.10:53/udp')
  })

  it('without captured queries, the probe\'s answer is the one step', () => {
    const v = liveDnsView(observation({}), 'a', 'default', [])
    assert.deepEqual(v.steps, [{query: 'server.default.b.clusters.xcc.test.', server: '10.30.0.10', answer: 'address', address: '10.21.0.10', detail: 'getent ahostsv4 in a/default/client (search default.svc.cluster.local, ndots:5)'}])
    assert.equal(v.address, '10.21.0.10')
    assert.equal(v.query, undefined)
  })
})
