/**
 * The doctor's diagnosis (contracts.md §2): every diagnosis code from a small topology, the
 * precedence rule (the fix closest to the destination; forward before return), the report shape,
 * and the seed 001 evidence (ILB-07).
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {parseTopology} from '../../../src/core/topology/parse.js'
import type {Model} from '../../../src/core/topology/model-types.js'
import type {DoctorReport} from '../../../src/core/doctor/report.js'
import {
  type ClusterInput, type FirewallInput, type LoadBalancerInput, type TopologyBuilder, assertDrop, doctor, indexOf, nic, onlyPath, subnet, topology, trace,
} from '../../builders/topology.js'

/** vpc-a 10.1.0.0/24 (client 10.1.0.5) and vpc-b 10.2.0.0/24 (server 10.2.0.5), us-west1, each admitting 10/8, each with a default route. */
function base(): TopologyBuilder {
  return topology('diagnosis')
    .network('vpc-a', subnet('a-main', 'us-west1', '10.1.0.0/24'))
    .network('vpc-b', subnet('b-main', 'us-west1', '10.2.0.0/24'), subnet('b-east', 'us-east1', '10.2.1.0/24'))
    .internetRoute('vpc-a')
    .internetRoute('vpc-b')
    .allowIngress('vpc-a', ['10.0.0.0/8'], 'a-allow-internal')
    .allowIngress('vpc-b', ['10.0.0.0/8'], 'b-allow-internal')
    .vm('client', 'us-west1-a', nic('vpc-a', 'a-main', '10.1.0.5'))
    .vm('server', 'us-west1-a', nic('vpc-b', 'b-main', '10.2.0.5'))
}

/** A cluster c1 in vpc-a (node n1 10.1.0.10, pods 10.4.0.0/24, pod client 10.4.0.10); kubenet keeps 10/8 unmasqueraded. */
function clientCluster(b: TopologyBuilder, extra: Partial<ClusterInput> = {}): TopologyBuilder {
  return b.cluster({
    name: 'c1', location: 'us-west1-a', network: 'vpc-a', subnetwork: 'a-main', mode: 'ROUTES', clusterIpv4Cidr: '10.4.0.0/14', servicesIpv4Cidr: '10.8.0.0/20',
    masquerade: {kubenet: {nonMasqueradeCidr: '10.0.0.0/8'}},
    nodes: [{name: 'n1', networkIP: '10.1.0.10', podCidr: '10.4.0.0/24'}], pods: [{name: 'client', node: 'n1', ip: '10.4.0.10'}],
    ...extra,
  })
}

/** A gateway gw (nic0 vpc-a, nic1 vpc-b) that vpc-a uses for 10.2.0.0/24. */
function viaGateway(b: TopologyBuilder, options: {canIpForward?: boolean; ipForward?: boolean; iptables?: string} = {}): TopologyBuilder {
  return b
    .gateway('gw', 'us-west1-a', [nic('vpc-a', 'a-main', '10.1.0.20'), nic('vpc-b', 'b-main', '10.2.0.20')], {
      ipForward: options.ipForward ?? true, ...(options.iptables ? {iptables: options.iptables} : {}),
    }, {canIpForward: options.canIpForward ?? true})
    .route({name: 'a-to-b', network: 'vpc-a', destRange: '10.2.0.0/24', nextHopInstance: 'gw', priority: 100})
}

/** An ILB in vpc-b (VIP .100, TCP 80) with one backend `be` (.11) in the region's subnet; the health-check firewall is open unless `healthChecks` is false. */
function withLb(b: TopologyBuilder, lb: Partial<LoadBalancerInput> = {}, healthChecks = true, region: 'us-west1' | 'us-east1' = 'us-west1'): TopologyBuilder {
  const east = region === 'us-east1'
  const out = b
    .vm('be', east ? 'us-east1-b' : 'us-west1-a', nic('vpc-b', east ? 'b-east' : 'b-main', east ? '10.2.1.11' : '10.2.0.11'))
    .loadBalancer({name: 'ilb', region, network: 'vpc-b', subnetwork: east ? 'b-east' : 'b-main', IPAddress: east ? '10.2.1.100' : '10.2.0.100', ports: ['80'], backends: ['be'], ...lb})
  return healthChecks ? out.allowHealthChecks('vpc-b') : out
}

const deny = (name: string, extra: Partial<FirewallInput>): FirewallInput => ({name, network: 'vpc-b', priority: 900, denied: [{IPProtocol: 'all'}], ...extra})

/** Every report made in this file, for the invariant tests at the end. */
const reports: DoctorReport[] = []
function run(model: Model, from: string, to: string): DoctorReport {
  const report = doctor(model, from, to)
  reports.push(report)
  return report
}
function code(model: Model, from: string, to: string): string | undefined {
  return run(model, from, to).diagnosis?.code
}

describe('contracts §2: every diagnosis code', () => {
  it('POD_SNAT_MISSING: the node keeps the pod IP and the peer cannot route the reply to it', () => {
    const report = run(clientCluster(base().peer('vpc-a', 'vpc-b')).load(), 'c1/default/client', '10.2.0.5:80')
    assert.equal(report.verdict, 'unreachable')
    assert.equal(report.diagnosis?.code, 'POD_SNAT_MISSING')
    assert.ok(report.diagnosis.evidence.some((e) => e.includes('10.4.0.10')), 'the evidence names the pod IP')
  })

  it('GATEWAY_SNAT_MISSING: a gateway forwards without SNAT and the far side cannot route the reply', () => {
    assert.equal(code(viaGateway(base()).load(), 'instance/client', '10.2.0.5:80'), 'GATEWAY_SNAT_MISSING')
  })

  it('OVERLAPPING_RANGES: the far side routes the client pod range to its own pods', () => {
    const model = clientCluster(base().peer('vpc-a', 'vpc-b'))
      .cluster({
        name: 'c2', location: 'us-west1-a', network: 'vpc-b', subnetwork: 'b-main', mode: 'ROUTES', clusterIpv4Cidr: '10.4.0.0/14', servicesIpv4Cidr: '10.9.0.0/20',
        nodes: [{name: 'n2', networkIP: '10.2.0.10', podCidr: '10.4.0.0/24'}], pods: [{name: 'other', node: 'n2', ip: '10.4.0.10'}],
      })
      .load()
    assert.equal(code(model, 'c1/default/client', '10.2.0.5:80'), 'OVERLAPPING_RANGES')
  })

  it('NO_ROUTE: the destination network is connected to nothing', () => {
    const model = base().network('vpc-c', subnet('c-main', 'us-west1', '10.5.0.0/24')).vm('server-c', 'us-west1-a', nic('vpc-c', 'c-main', '10.5.0.5')).edit((t) => (t.routes = [])).load()
    assert.equal(code(model, 'instance/client', '10.5.0.5:80'), 'NO_ROUTE')
  })

  it('PEERING_INACTIVE: only one side configured the peering', () => {
    assert.equal(code(base().peering('vpc-a', 'vpc-b').load(), 'instance/client', '10.2.0.5:80'), 'PEERING_INACTIVE')
  })

  it('PEERING_NOT_TRANSITIVE: the destination is two peerings away', () => {
    const model = base().network('vpc-c', subnet('c-main', 'us-west1', '10.5.0.0/24')).allowIngress('vpc-c', ['10.0.0.0/8'])
      .vm('server-c', 'us-west1-a', nic('vpc-c', 'c-main', '10.5.0.5')).peer('vpc-a', 'vpc-b').peer('vpc-b', 'vpc-c').load()
    assert.equal(code(model, 'instance/client', '10.5.0.5:80'), 'PEERING_NOT_TRANSITIVE')
  })

  it('PEERING_CUSTOM_ROUTES_NOT_EXCHANGED: a routes-based pod behind the peer\'s per-node custom route', () => {
    const model = base().peer('vpc-a', 'vpc-b').cluster({
      name: 'cb', location: 'us-west1-a', network: 'vpc-b', subnetwork: 'b-main', mode: 'ROUTES', clusterIpv4Cidr: '10.56.0.0/14', servicesIpv4Cidr: '10.60.0.0/20',
      nodes: [{name: 'nb', networkIP: '10.2.0.10', podCidr: '10.56.0.0/24'}], pods: [{name: 'web', node: 'nb', ip: '10.56.0.5', ports: [8080]}],
    }).load()
    assert.equal(code(model, 'instance/client', '10.56.0.5:8080'), 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED')
  })

  it('FIREWALL_RULE (ingress): the evidence names the rule and the direction', () => {
    const report = run(base().peer('vpc-a', 'vpc-b').firewall(deny('b-deny-a', {sourceRanges: ['10.1.0.0/24']})).load(), 'instance/client', '10.2.0.5:80')
    assert.equal(report.diagnosis?.code, 'FIREWALL_RULE')
    const evidence = report.diagnosis.evidence.join('\n')
    assert.match(evidence, /b-deny-a/)
    assert.match(evidence, /ingress/i)
  })

  it('FIREWALL_RULE (egress): the evidence names the rule and the direction', () => {
    const report = run(base().peer('vpc-a', 'vpc-b').firewall(deny('a-deny-out', {network: 'vpc-a', direction: 'EGRESS', destinationRanges: ['10.2.0.0/24']})).load(), 'instance/client', '10.2.0.5:80')
    assert.equal(report.diagnosis?.code, 'FIREWALL_RULE')
    const evidence = report.diagnosis.evidence.join('\n')
    assert.match(evidence, /a-deny-out/)
    assert.match(evidence, /egress/i)
  })

  it('FIREWALL_RULE: the implied ingress deny counts as a firewall rule', () => {
    assert.equal(code(base().peer('vpc-a', 'vpc-b').edit((t) => (t.firewalls = [])).load(), 'instance/client', '10.2.0.5:80'), 'FIREWALL_RULE')
  })

  it('FORWARDING_RULE_REGION_MISMATCH: the client is in another region and the ILB has no global access', () => {
    assert.equal(code(withLb(base().peer('vpc-a', 'vpc-b'), {}, true, 'us-east1').load(), 'instance/client', '10.2.1.100:80'), 'FORWARDING_RULE_REGION_MISMATCH')
  })

  it('FORWARDING_RULE_MISMATCH: the ILB does not forward this port', () => {
    assert.equal(code(withLb(base().peer('vpc-a', 'vpc-b')).load(), 'instance/client', '10.2.0.100:81'), 'FORWARDING_RULE_MISMATCH')
  })

  it('FORWARDING_RULE_NO_INSTANCES: the ILB has no backends', () => {
    assert.equal(code(withLb(base().peer('vpc-a', 'vpc-b'), {backends: []}).load(), 'instance/client', '10.2.0.100:80'), 'FORWARDING_RULE_NO_INSTANCES')
  })

  it('FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK: nothing admits the probe ranges', () => {
    assert.equal(code(withLb(base().peer('vpc-a', 'vpc-b'), {}, false).load(), 'instance/client', '10.2.0.100:80'), 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK')
  })

  it('FOREIGN_IP_DISALLOWED: the next-hop VM has no canIpForward', () => {
    assert.equal(code(viaGateway(base(), {canIpForward: false}).load(), 'instance/client', '10.2.0.5:80'), 'FOREIGN_IP_DISALLOWED')
  })

  it('FOREIGN_IP_DISALLOWED: §9 step 5 checks canIpForward before the gateway\'s ingress firewall', () => {
    const model = viaGateway(base(), {canIpForward: false}).edit((t) => (t.firewalls = [])).load()
    const p = onlyPath(trace(model, 'instance/client', '10.2.0.5:80'))
    assertDrop(p.forward, 'FOREIGN_IP_DISALLOWED', 'instance/gw')
    assert.ok(!p.forward.some((s) => s.step === 'APPLY_INGRESS_FIREWALL_RULE' && s.at === 'instance/gw'))
    assert.equal(code(model, 'instance/client', '10.2.0.5:80'), 'FOREIGN_IP_DISALLOWED')
    const allowed = onlyPath(trace(viaGateway(base()).load(), 'instance/client', '10.2.0.5:80')).forward
    assert.ok(indexOf(allowed, 'SPOOFING_APPROVED', 'instance/gw') < indexOf(allowed, 'APPLY_INGRESS_FIREWALL_RULE', 'instance/gw'))
  })

  it('GUEST_FORWARDING_DISABLED: ip_forward is off in the gateway', () => {
    assert.equal(code(viaGateway(base(), {ipForward: false}).load(), 'instance/client', '10.2.0.5:80'), 'GUEST_FORWARDING_DISABLED')
  })

  it('GUEST_FORWARDING_DISABLED: the gateway\'s FORWARD chain drops the packet', () => {
    const iptables = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT', ''].join('\n')
    assert.equal(code(viaGateway(base(), {iptables}).load(), 'instance/client', '10.2.0.5:80'), 'GUEST_FORWARDING_DISABLED')
  })

  it('CLUSTER_IP_FROM_OUTSIDE_CLUSTER: a pod calls the ClusterIP of another cluster', () => {
    const model = clientCluster(base().peer('vpc-a', 'vpc-b')).cluster({
      name: 'c2', location: 'us-west1-a', network: 'vpc-b', subnetwork: 'b-main', mode: 'ROUTES', clusterIpv4Cidr: '10.56.0.0/14', servicesIpv4Cidr: '10.60.0.0/20',
      nodes: [{name: 'n2', networkIP: '10.2.0.10', podCidr: '10.56.0.0/24'}], pods: [{name: 'web', node: 'n2', ip: '10.56.0.5', ports: [8080]}],
      services: [{name: 'web', clusterIP: '10.60.0.10', ports: [{port: 80, targetPort: 8080}], endpoints: ['web']}],
    }).load()
    assert.equal(code(model, 'c1/default/client', 'c2/default/web'), 'CLUSTER_IP_FROM_OUTSIDE_CLUSTER')
  })

  it('UNKNOWN_INTERNAL_ADDRESS: nothing owns the address, inside a known subnet or outside every range', () => {
    assert.equal(code(base().peer('vpc-a', 'vpc-b').load(), 'instance/client', '10.2.0.77:80'), 'UNKNOWN_INTERNAL_ADDRESS')
    assert.equal(code(base().edit((t) => (t.routes = [])).load(), 'instance/client', '10.200.0.5:80'), 'UNKNOWN_INTERNAL_ADDRESS')
  })

  it('DESTINATION_NOT_LISTENING: the VM listens elsewhere, or the pod serves other ports', () => {
    const vm = base().peer('vpc-a', 'vpc-b').edit((t) => Object.assign(t.instances.find((i) => i.name === 'server') ?? {}, {guest: {listen: [{protocol: 'tcp', port: 443}]}})).load()
    assert.equal(code(vm, 'instance/client', '10.2.0.5:80'), 'DESTINATION_NOT_LISTENING')
    const pod = clientCluster(base(), {pods: [{name: 'client', node: 'n1', ip: '10.4.0.10'}, {name: 'web', node: 'n1', ip: '10.4.0.11', ports: [8080]}]}).load()
    assert.equal(code(pod, 'instance/client', '10.4.0.11:80'), 'DESTINATION_NOT_LISTENING')
  })

  it('INSUFFICIENT_INFO: a node rule xcc cannot evaluate makes the verdict unknown', () => {
    const iptables = ['*nat', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -m set --match-set egress-masq dst -j MASQUERADE', 'COMMIT', ''].join('\n')
    const model = clientCluster(base().peer('vpc-a', 'vpc-b'), {nodes: [{name: 'n1', networkIP: '10.1.0.10', podCidr: '10.4.0.0/24', iptables}]}).load()
    const report = run(model, 'c1/default/client', '10.2.0.5:80')
    assert.equal(report.verdict, 'unknown')
    assert.equal(report.diagnosis?.code, 'INSUFFICIENT_INFO')
  })
})

describe('contracts §2: precedence', () => {
  /** The pod is not masqueraded and the gateway does not SNAT; vpc-b routes vpc-a's node subnet (not the pods) back through gw. */
  const bothSkip = (): Model => viaGateway(clientCluster(base())).route({name: 'b-to-a-nodes', network: 'vpc-b', destRange: '10.1.0.0/24', nextHopInstance: 'gw'}).load()

  it('GATEWAY_SNAT_MISSING beats POD_SNAT_MISSING when the node and the gateway both skip SNAT', () => {
    const model = bothSkip()
    // Both fixes work on their own, so both codes fit.
    assert.equal(trace(model, 'c1/default/client', '10.2.0.5:80', 'tcp', [{kind: 'snat', instance: 'n1'}]).verdict, 'reachable')
    assert.equal(trace(model, 'c1/default/client', '10.2.0.5:80', 'tcp', [{kind: 'snat', instance: 'gw'}]).verdict, 'reachable')
    assert.equal(code(model, 'c1/default/client', '10.2.0.5:80'), 'GATEWAY_SNAT_MISSING')
  })

  it('POD_SNAT_MISSING is for paths without a forwarding VM', () => {
    const report = run(clientCluster(base().peer('vpc-a', 'vpc-b')).load(), 'c1/default/client', '10.2.0.5:80')
    assert.equal(report.diagnosis?.code, 'POD_SNAT_MISSING')
  })

  it('a forward-path drop is reported before a return-path problem', () => {
    // The pod is not masqueraded (its reply could not come back), and the server's firewall denies the pod and
    // node ranges alike: no single fix works, and the forward drop is what the diagnosis names.
    const denyA = deny('b-deny-a', {sourceRanges: ['10.1.0.0/24', '10.4.0.0/14']})
    const report = run(clientCluster(base().peer('vpc-a', 'vpc-b')).firewall(denyA).load(), 'c1/default/client', '10.2.0.5:80')
    assert.deepEqual(report.return, [])
    assert.equal(report.diagnosis?.code, 'FIREWALL_RULE')
    assert.match(report.diagnosis.evidence.join('\n'), /b-deny-a/)
  })

  it('a firewall drop that masquerading would avoid is POD_SNAT_MISSING when that alone makes the flow work', () => {
    // Only the pod range is denied: with the node's address the packet passes and the reply comes back.
    const report = run(clientCluster(base().peer('vpc-a', 'vpc-b')).firewall(deny('b-deny-pods', {sourceRanges: ['10.4.0.0/14']})).load(), 'c1/default/client', '10.2.0.5:80')
    assert.equal(report.diagnosis?.code, 'POD_SNAT_MISSING')
  })

  it('seed 000: gateways forwarding without SNAT into a cluster with the same pod range are GATEWAY_SNAT_MISSING', () => {
    const text = readFileSync(new URL('../../fixtures/topologies/seed-000-gateways-missing-snat.yaml', import.meta.url), 'utf8')
    assert.equal(code(parseTopology(text, 'seed-000.yaml'), 'c1/default/ubuntu', '10.210.200.7:80'), 'GATEWAY_SNAT_MISSING')
  })
})

describe('ILB-07: the seed 001 diagnosis', () => {
  const text = readFileSync(new URL('../../fixtures/topologies/seed-001-peered-vpcs-missing-snat.yaml', import.meta.url), 'utf8')
  const report = (): DoctorReport => run(parseTopology(text, 'seed-001.yaml'), 'frontend', 'lb/backend-ilb')

  it('ILB-07: POD_SNAT_MISSING; the SYN leaves with the pod IP and the reply has no route back', () => {
    const r = report()
    assert.equal(r.verdict, 'unreachable')
    assert.equal(r.diagnosis?.code, 'POD_SNAT_MISSING')
    const evidence = r.diagnosis.evidence.join('\n')
    assert.match(evidence, /10\.132\.0\.10/)
    assert.match(evidence, /SYN/)
    assert.equal(r.forward[r.forward.length - 1]?.step, 'DELIVER')
    assert.equal(r.return[r.return.length - 1]?.step, 'DROP')
  })

  it('ILB-07: the fixes are masquerading the destination range, VPC-native, or exchanging custom routes', () => {
    const fix = report().diagnosis?.fix ?? []
    assert.ok(fix.some((f) => /10\.193\.0\.0\/16/.test(f) && /masquerade/i.test(f)), fix.join('\n'))
    assert.ok(fix.some((f) => /custom.routes/i.test(f)), fix.join('\n'))
    assert.ok(fix.some((f) => /VPC-native|ip-alias/i.test(f)), fix.join('\n'))
  })
})

describe('contracts §2: the report', () => {
  it('a reachable flow: schemaVersion 1, no diagnosis, forward and (TCP) return steps, findings', () => {
    const r = run(base().peer('vpc-a', 'vpc-b').load(), 'instance/client', '10.2.0.5:80')
    assert.deepEqual([r.schemaVersion, r.verdict, r.diagnosis], [1, 'reachable', null])
    assert.equal(r.forward[0]?.step, 'START_FROM_INSTANCE')
    assert.equal(r.forward[r.forward.length - 1]?.step, 'DELIVER')
    assert.equal(r.return[r.return.length - 1]?.step, 'DELIVER')
    for (const f of r.findings) assert.deepEqual([typeof f.check, typeof f.status, typeof f.summary], ['string', 'string', 'string'])
  })

  it('an ambiguous flow has a diagnosis', () => {
    const model = viaGateway(base(), {})
      .gateway('gw2', 'us-west1-a', [nic('vpc-a', 'a-main', '10.1.0.21'), nic('vpc-b', 'b-main', '10.2.0.21')], {ipForward: false})
      .route({name: 'a-to-b-2', network: 'vpc-a', destRange: '10.2.0.0/24', nextHopInstance: 'gw2', priority: 100})
      .route({name: 'b-to-a', network: 'vpc-b', destRange: '10.1.0.0/24', nextHopInstance: 'gw'})
      .load()
    const r = run(model, 'instance/client', '10.2.0.5:80')
    assert.equal(r.verdict, 'ambiguous')
    assert.notEqual(r.diagnosis, null)
  })

  it('diagnosis is null exactly when the verdict is reachable (every report made in this file)', () => {
    assert.ok(reports.length > 20)
    for (const r of reports) assert.equal(r.diagnosis === null, r.verdict === 'reachable', `${r.flow.from} → ${r.flow.to}: ${r.verdict}, ${r.diagnosis?.code}`)
  })

  it('every DROP step carries a cause and every diagnosis a summary, evidence and a fix', () => {
    for (const r of reports) {
      for (const s of [...r.forward, ...r.return]) if (s.step === 'DROP') assert.ok(s.cause, `${s.at}`)
      if (r.diagnosis) {
        assert.ok(r.diagnosis.summary.length > 0)
        assert.ok(r.diagnosis.evidence.length > 0, r.diagnosis.code)
        assert.ok(Array.isArray(r.diagnosis.fix))
      }
    }
  })
})
