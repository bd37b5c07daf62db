/**
 * The live doctor's verdict for `--to NAME:PORT` from what the pod's resolver said and what the
 * static doctor predicts for the same topology (test/fixtures/topologies/dns-*.yaml): agreement
 * keeps the prediction's diagnosis and adds the captured DNS packets; disagreement is a failed
 * probe.matches-prediction with both answers, and the pod's answer decides; a stale record
 * (the pod got the responder's old address, the path to it fails) is DNS_RECORD_STALE.
 * Every report must match the live --json schema.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {CHECKS, LIVE_CHECKS} from '../../../src/checks/index.js'
import {evaluateDoctorTo} from '../../../src/core/doctor/dns.js'
import {compareDns, liveDnsView} from '../../../src/core/probe/dns-answer.js'
import {assembleResolvedReport, assembleUnresolvedReport, dnsEvidence} from '../../../src/core/probe/dns-report.js'
import {liveReportSchema} from '../../../src/core/probe/report-schema.js'
import type {LiveReport} from '../../../src/core/probe/report.js'
import type {DnsObservation} from '../../../src/core/probe/types.js'
import type {KubeNode} from '../../../src/core/ports/kube.js'
import {loadFixture} from '../../support/fixtures.js'

const NAME = 'server.default.b.clusters.xcc.test'
const predicted = (fixture: string, name = NAME) => evaluateDoctorTo(loadFixture(fixture), 'a/default/client', `${name}:80`, undefined, CHECKS)
const live = (file: string): LiveReport => JSON.parse(readFileSync(new URL(`../../fixtures/live/${file}`, import.meta.url), 'utf8')) as LiveReport
const NODE: KubeNode = {metadata: {name: 'gke-a-node-2'}, spec: {podCIDR: '10.20.1.0/24'}, status: {addresses: [{type: 'InternalIP', address: '10.10.0.3'}]}}

const packet = (src: string, dst: string, srcPort: number, dstPort: number, role: 'request' | 'reply', text: string) => ({
  time: 1796643011.4, iface: 'eth0', direction: 'Out', role, src, srcPort, dst, dstPort, line: `1796643011.400000 eth0  Out IP ${src}.${srcPort} > ${dst}.${dstPort}: ${text}`,
})
const observation = (over: Partial<DnsObservation>): DnsObservation => ({
  name: NAME, at: 'a/default/client', mode: 'ephemeral', src: '10.20.1.10', resolver: {nameservers: ['10.30.0.10'], search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5},
  result: 'not-found', addresses: [], captures: [], ...over,
})

function unresolved(dns: DnsObservation, fixture?: string) {
  const expected = fixture ? predicted(fixture, dns.name) : undefined
  const check = compareDns(expected?.dns, dns)
  const view = check?.status === 'match' && expected?.dns ? expected.dns : liveDnsView(dns, 'a', 'default', [])
  const report = assembleUnresolvedReport({
    request: {runId: 'abcdef01', sourcePort: 45000}, port: 80, dns, view, notes: [], node: NODE, context: 'a', namespace: 'default', routes: ['default via 10.10.0.1 dev eth0'],
    cleanup: {deleted: ['a/default/xcc-dns-capture-abcdef01-0'], kept: [], failed: []}, totalMs: 900, checks: LIVE_CHECKS, ...(expected ? {expected} : {}), ...(check ? {check} : {}),
  })
  const parsed = liveReportSchema.safeParse(report)
  assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3)))
  return report
}

describe('a name that did not resolve in the pod', () => {
  it('agreeing with the prediction: its diagnosis and the DNS query\'s own path, with the pod\'s answer as evidence', () => {
    const r = unresolved(observation({name: `nosuch.default.b.clusters.xcc.test`}), 'dns-name-not-found')
    assert.equal(r.verdict, 'unreachable')
    assert.equal(r.diagnosis?.code, 'DNS_NAME_NOT_FOUND')
    assert.equal(r.flow.packet.dstPort, 53, 'the path shown is the query\'s')
    assert.ok(r.diagnosis?.evidence.some((e) => e.startsWith('observed: nosuch.default.b.clusters.xcc.test: not found')))
    assert.equal(r.observations.probe.result, 'not-run')
    assert.equal(r.findings.find((f) => f.check === 'probe.matches-prediction')?.status, 'pass')
    assert.equal(r.findings.find((f) => f.check === 'probe.connects')?.status, 'skip', 'the path probe did not run')
  })

  it('a missing stub domain and an unreachable stub server keep the prediction\'s codes', () => {
    assert.equal(unresolved(observation({}), 'dns-stub-domain-missing').diagnosis?.code, 'DNS_STUB_DOMAIN_MISSING')
    assert.equal(unresolved(observation({result: 'timeout'}), 'dns-server-unreachable').diagnosis?.code, 'DNS_SERVER_UNREACHABLE')
  })

  it('against the prediction: a contradiction, and the pod\'s answer decides', () => {
    const r = unresolved(observation({}), 'dns-linked')
    assert.equal(r.diagnosis?.code, 'DNS_NAME_NOT_FOUND')
    assert.equal(r.diagnosis?.evidence[0], `contradiction: predicted ${NAME} → 10.11.0.100; observed ${NAME}: not found (NXDOMAIN for every name of the search path)`)
    const finding = r.findings.find((f) => f.check === 'probe.matches-prediction')
    assert.equal(finding?.status, 'fail')
    assert.match(finding?.evidence?.[0] ?? '', /predicted server\.default\.b\.clusters\.xcc\.test → 10\.11\.0\.100; observed/)
    assert.deepEqual(r.forward.map((s) => s.step).slice(0, 1), ['START_FROM_GKE_POD'], 'the pod\'s query to its nameserver, from the node\'s rules')
    assert.equal(r.flow.packet.dst, '10.30.0.10')
  })

  it('without a prediction: no answer in time is DNS_SERVER_UNREACHABLE at the server the cluster DNS forwarded to', () => {
    const captures = [{
      at: 'node/gke-a-node-1', host: {kind: 'node' as const, name: 'gke-a-node-1'}, status: 'ok' as const,
      packets: [packet('10.20.1.10', '10.20.0.254', 41000, 53, 'request', `7+ A? ${NAME}. (52)`), packet('10.20.0.254', '10.21.0.2', 49035, 53, 'request', `8+ A? ${NAME}. (52)`)],
    }]
    const r = unresolved(observation({result: 'timeout', captures}))
    assert.equal(r.diagnosis?.code, 'DNS_SERVER_UNREACHABLE')
    assert.match(r.diagnosis?.summary ?? '', /went to 10\.21\.0\.2:53 and no answer came back in time/)
    assert.equal(r.dns?.outcome, 'DNS_SERVER_UNREACHABLE')
    const evidence = dnsEvidence(observation({result: 'timeout', captures}))
    assert.match(evidence[1] ?? '', /^observed at node\/gke-a-node-1: a forwarded DNS query 10\.20\.0\.254 → 10\.21\.0\.2:53 got no answer — tcpdump: /, 'the forwarded query first')
  })

  it('a DNS probe that failed is INSUFFICIENT_INFO (verdict unknown), not a DNS problem', () => {
    const r = unresolved(observation({result: 'error', message: 'xcc-probe result=error exit=127 error=getent-not-found'}))
    assert.equal(r.verdict, 'unknown')
    assert.equal(r.diagnosis?.code, 'INSUFFICIENT_INFO')
  })
})

describe('a name that resolved in the pod', () => {
  const pathReport = live('seed-001-live-topology.json')

  it('a stale record: the pod got the responder\'s old address and the path to it fails → DNS_RECORD_STALE', () => {
    const expected = predicted('dns-record-stale')
    const dns = observation({result: 'resolved', addresses: ['10.11.0.99']})
    const check = compareDns(expected.dns, dns)
    assert.equal(check?.status, 'match')
    const r = assembleResolvedReport({port: 80, dns, view: expected.dns!, notes: [], report: pathReport, checks: LIVE_CHECKS, expected, ...(check ? {check} : {})})
    assert.equal(r.diagnosis?.code, 'DNS_RECORD_STALE')
    assert.ok(r.diagnosis?.evidence.some((e) => e.startsWith('observed: the path to 10.11.0.99: POD_SNAT_MISSING')))
    assert.equal(r.flow.to, `${NAME} (10.11.0.99:80)`)
    assert.equal(r.observations.checks?.[0]?.at, 'dns a/default/client', 'the DNS comparison comes first')
    assert.ok(liveReportSchema.safeParse(r).success)
  })

  it('the path to it reachable: reachable, whatever the record', () => {
    const expected = predicted('dns-record-stale')
    const dns = observation({result: 'resolved', addresses: ['10.11.0.99']})
    const r = assembleResolvedReport({port: 80, dns, view: expected.dns!, notes: [], report: {...pathReport, verdict: 'reachable', diagnosis: null}, checks: LIVE_CHECKS, expected})
    assert.equal(r.verdict, 'reachable')
    assert.equal(r.diagnosis, null)
  })

  it('another address than predicted fails probe.matches-prediction, with both answers', () => {
    const expected = predicted('dns-linked')
    const dns = observation({result: 'resolved', addresses: ['10.11.0.7']})
    const check = compareDns(expected.dns, dns)
    const r = assembleResolvedReport({port: 80, dns, view: liveDnsView(dns, 'a', 'default', []), notes: [], report: {...pathReport, verdict: 'reachable', diagnosis: null}, checks: LIVE_CHECKS, expected, ...(check ? {check} : {})})
    const finding = r.findings.find((f) => f.check === 'probe.matches-prediction')
    assert.equal(finding?.status, 'fail')
    assert.ok(finding?.evidence?.some((e) => e.includes(`predicted ${NAME} → 10.11.0.100; observed ${NAME} → 10.11.0.7`)))
    assert.equal(r.findings.filter((f) => f.check === 'probe.matches-prediction').length, 1)
  })
})
