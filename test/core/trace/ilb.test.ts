/**
 * Internal passthrough load balancers (gcp-network-semantics.md §5, ILB-03…ILB-14, §9 step 6a):
 * forwarding-rule matching, region and global access, backends and their health-check firewall,
 * passthrough delivery, hairpin, and ILBs as route next hops.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {Model} from '../../../src/core/topology/model-types.js'
import type {Protocol, TraceResult} from '../../../src/core/trace/types.js'
import {
  type FirewallInput, type LoadBalancerInput, type TopologyBuilder, assertDelivered, assertDrop, indexOf, names, nic, onlyPath, stepOf, subnet, topology, trace,
} from '../../builders/topology.js'

const VIP = '10.10.0.100'
const HEALTH_CHECK: FirewallInput = {name: 'allow-health-checks', network: 'vpc-s', sourceRanges: ['35.191.0.0/16', '130.211.0.0/22'], allowed: [{IPProtocol: 'tcp', ports: ['80']}]}
const CLIENTS: FirewallInput = {name: 'allow-clients', network: 'vpc-s', sourceRanges: ['10.0.0.0/8'], allowed: [{IPProtocol: 'all'}]}

/**
 * vpc-s: s-main us-west1 10.10.0.0/24 (client 10.10.0.2, backends be1 10.10.0.11 and be2 10.10.0.12, tags [backend]),
 * s-east us-east1 10.10.1.0/24 (east-client 10.10.1.2). ILB `ilb` 10.10.0.100 TCP 80 → be1, be2, health check TCP 80.
 * `firewalls` replaces the default rules (health checks + clients from 10/8).
 */
function base(options: {lb?: Partial<LoadBalancerInput>; firewalls?: FirewallInput[]} = {}): TopologyBuilder {
  const b = topology('ilb')
    .network('vpc-s', subnet('s-main', 'us-west1', '10.10.0.0/24'), subnet('s-east', 'us-east1', '10.10.1.0/24'))
    .vm('client', 'us-west1-a', nic('vpc-s', 's-main', '10.10.0.2'))
    .vm('east-client', 'us-east1-b', nic('vpc-s', 's-east', '10.10.1.2'))
    .vm('be1', 'us-west1-a', nic('vpc-s', 's-main', '10.10.0.11'), {tags: ['backend']})
    .vm('be2', 'us-west1-b', nic('vpc-s', 's-main', '10.10.0.12'), {tags: ['backend']})
    .loadBalancer({name: 'ilb', region: 'us-west1', network: 'vpc-s', subnetwork: 's-main', IPAddress: VIP, ports: ['80'], backends: ['be1', 'be2'], ...options.lb})
  for (const f of options.firewalls ?? [HEALTH_CHECK, CLIENTS]) b.firewall(f)
  return b
}

const load = (options: Parameters<typeof base>[0] = {}): Model => base(options).load()
const toVip = (model: Model, port = 80, protocol: Protocol = 'tcp', from = 'instance/client'): TraceResult => trace(model, from, `${VIP}:${port}`, protocol)

/** The backends the paths arrive at, sorted. */
const arrivals = (result: TraceResult): string[] => result.paths.map((p) => p.forward.find((s) => s.step === 'ARRIVE_AT_INSTANCE')?.at ?? '-').sort()

/** Every path ends with this drop at lb/ilb. */
function assertLbDrop(result: TraceResult, cause: string): void {
  for (const p of result.paths) assertDrop(p.forward, cause, 'lb/ilb')
  assert.equal(result.verdict, 'unreachable')
}

describe('ILB-05 and §9 6a: passthrough delivery to every healthy backend', () => {
  it('§9 6a: the forwarding rule, then the backend analysis, then the backend\'s ingress firewall and arrival', () => {
    const result = toVip(load())
    for (const p of result.paths) {
      const order = names(p.forward).filter((n) => ['APPLY_ROUTE', 'APPLY_FORWARDING_RULE', 'ANALYZE_LOAD_BALANCER_BACKEND', 'APPLY_INGRESS_FIREWALL_RULE', 'ARRIVE_AT_INSTANCE', 'DELIVER'].includes(n))
      assert.deepEqual(order, ['APPLY_ROUTE', 'APPLY_FORWARDING_RULE', 'ANALYZE_LOAD_BALANCER_BACKEND', 'APPLY_INGRESS_FIREWALL_RULE', 'ARRIVE_AT_INSTANCE', 'DELIVER'])
      assert.equal(stepOf(p.forward, 'APPLY_FORWARDING_RULE').at, 'lb/ilb')
      assert.equal(stepOf(p.forward, 'ANALYZE_LOAD_BALANCER_BACKEND').at, 'lb/ilb')
    }
  })

  it('ILB-05: the backend receives the packet with source and destination unchanged (client → VIP)', () => {
    for (const p of toVip(load()).paths) {
      const arrive = stepOf(p.forward, 'ARRIVE_AT_INSTANCE')
      assert.deepEqual(arrive.packet, {src: '10.10.0.2', dst: VIP, protocol: 'tcp', srcPort: 40000, dstPort: 80})
    }
  })

  it('ROUTE-10: a backend receives for the VIP it serves without canIpForward', () => {
    const result = toVip(load())
    for (const p of result.paths) assert.equal(indexOf(p.forward, 'SPOOFING_APPROVED'), -1)
    assert.equal(result.verdict, 'reachable')
  })

  it('§9 6a: every healthy backend is a candidate path', () => {
    assert.deepEqual(arrivals(toVip(load())), ['instance/be1', 'instance/be2'])
  })

  it('§9 6a: candidates that differ make the verdict ambiguous', () => {
    const model = base().edit((t) => Object.assign(t.instances.find((i) => i.name === 'be2') ?? {}, {guest: {listen: [{protocol: 'tcp', port: 8080}]}})).load()
    const result = toVip(model)
    assert.deepEqual(result.paths.map((p) => p.verdict).sort(), ['reachable', 'unreachable'])
    assert.equal(result.verdict, 'ambiguous')
  })

  it('contracts §2: lb/<forwarding-rule> targets the VIP on its first port', () => {
    const result = trace(load({lb: {ports: ['8080', '80']}}), 'instance/client', 'lb/ilb')
    assert.deepEqual([result.flow.packet.dst, result.flow.packet.dstPort, result.flow.packet.protocol], [VIP, 8080, 'tcp'])
  })

  it('ILB-06/FW-03: the backend ingress rule must admit the VIP as destination, not the backend\'s own address', () => {
    const toVipRule: FirewallInput = {name: 'k8s-fw-ilb', network: 'vpc-s', sourceRanges: ['10.10.0.0/24'], destinationRanges: [`${VIP}/32`], allowed: [{IPProtocol: 'tcp', ports: ['80']}]}
    const open = toVip(load({firewalls: [HEALTH_CHECK, toVipRule]}))
    assert.equal(open.verdict, 'reachable')
    for (const p of open.paths) assert.equal(stepOf(p.forward, 'APPLY_INGRESS_FIREWALL_RULE').firewall?.name, 'k8s-fw-ilb')
    const toBackends: FirewallInput = {...toVipRule, name: 'to-backend-ips', destinationRanges: ['10.10.0.11/32', '10.10.0.12/32']}
    const closed = toVip(load({firewalls: [HEALTH_CHECK, toBackends]}))
    for (const p of closed.paths) assertDrop(p.forward, 'FIREWALL_RULE')
  })
})

describe('ILB-03: region and global access', () => {
  it('ILB-03: a client in another region is dropped with FORWARDING_RULE_REGION_MISMATCH', () => {
    assertLbDrop(toVip(load(), 80, 'tcp', 'instance/east-client'), 'FORWARDING_RULE_REGION_MISMATCH')
  })

  it('ILB-03: allowGlobalAccess admits clients from every region', () => {
    assert.equal(toVip(load({lb: {allowGlobalAccess: true}}), 80, 'tcp', 'instance/east-client').verdict, 'reachable')
  })

  const peered = (allowGlobalAccess: boolean): Model =>
    base({lb: {allowGlobalAccess}})
      .network('vpc-p', subnet('p-west', 'us-west1', '10.20.0.0/24'), subnet('p-east', 'us-east1', '10.20.1.0/24'))
      .peer('vpc-s', 'vpc-p')
      .allowIngress('vpc-p', ['10.0.0.0/8'])
      .vm('peer-west', 'us-west1-a', nic('vpc-p', 'p-west', '10.20.0.2'))
      .vm('peer-east', 'us-east1-b', nic('vpc-p', 'p-east', '10.20.1.2'))
      .load()

  it('ILB-10/PEER-10: a client in a peered VPC of the same region reaches the ILB over the peering subnet route', () => {
    const result = toVip(peered(false), 80, 'tcp', 'instance/peer-west')
    for (const p of result.paths) assert.equal(stepOf(p.forward, 'APPLY_ROUTE').route?.type, 'PEERING_SUBNET')
    assert.equal(result.verdict, 'reachable')
  })

  it('ILB-03: the region rule holds for peered clients too', () => {
    assertLbDrop(toVip(peered(false), 80, 'tcp', 'instance/peer-east'), 'FORWARDING_RULE_REGION_MISMATCH')
    assert.equal(toVip(peered(true), 80, 'tcp', 'instance/peer-east').verdict, 'reachable')
  })

  it('ILB-03: behind a gateway VM, the client region is the region of the gateway that sends into the network', () => {
    const model = base()
      .network('vpc-e', subnet('e-main', 'us-east1', '10.50.0.0/24'), subnet('e-west', 'us-west1', '10.50.1.0/24'))
      .allowIngress('vpc-e', ['10.0.0.0/8'])
      .vm('far', 'us-east1-b', nic('vpc-e', 'e-main', '10.50.0.5'))
      .gateway('gw', 'us-west1-a', [nic('vpc-e', 'e-west', '10.50.1.20'), nic('vpc-s', 's-main', '10.10.0.20')], {iptables: ['*nat', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -o nic1 -j MASQUERADE', 'COMMIT', ''].join('\n')})
      .route({name: 'to-s', network: 'vpc-e', destRange: '10.10.0.0/24', nextHopInstance: 'gw'})
      .load()
    const result = toVip(model, 80, 'tcp', 'instance/far')
    for (const p of result.paths) assert.equal(indexOf(p.forward, 'APPLY_FORWARDING_RULE') >= 0, true, 'the forwarding rule accepts the gateway\'s packet')
    assert.equal(result.verdict, 'reachable')
  })

  it('ILB-03: for a pod, the client region is the region of its node', () => {
    const model = base()
      .edit((t) => (t.networks[0]?.subnets?.[1] ? (t.networks[0].subnets[1].secondaryIpRanges = [{rangeName: 'pods', ipCidrRange: '10.40.0.0/16'}]) : undefined))
      .cluster({
        name: 'east', location: 'us-east1-b', network: 'vpc-s', subnetwork: 's-east', mode: 'VPC_NATIVE', clusterIpv4Cidr: '10.40.0.0/16', servicesIpv4Cidr: '10.41.0.0/20',
        nodes: [{name: 'en1', networkIP: '10.10.1.10', podCidr: '10.40.0.0/24'}],
      })
      .load()
    assertLbDrop(toVip(model, 80, 'tcp', 'east'), 'FORWARDING_RULE_REGION_MISMATCH')
  })
})

describe('ILB-04: protocol, ports and backends', () => {
  it('ILB-04: a port the forwarding rule does not list is dropped with FORWARDING_RULE_MISMATCH', () => {
    assertLbDrop(toVip(load(), 81), 'FORWARDING_RULE_MISMATCH')
  })

  it('ILB-04: a protocol other than IPProtocol is dropped with FORWARDING_RULE_MISMATCH', () => {
    assertLbDrop(toVip(load(), 80, 'udp'), 'FORWARDING_RULE_MISMATCH')
  })

  it('ILB-04: allPorts forwards every port', () => {
    assert.equal(toVip(load({lb: {allPorts: true}}), 8443).verdict, 'reachable')
  })

  it('ILB-04: L3_DEFAULT matches every protocol', () => {
    const result = toVip(load({lb: {IPProtocol: 'L3_DEFAULT', allPorts: true}}), 53, 'udp')
    for (const p of result.paths) assert.equal(indexOf(p.forward, 'APPLY_FORWARDING_RULE') >= 0, true)
    assert.equal(result.verdict, 'reachable')
  })

  it('ILB-04: a port range matches every port inside it', () => {
    const model = load({lb: {ports: ['8000-8080']}, firewalls: [{...HEALTH_CHECK, allowed: [{IPProtocol: 'tcp'}]}, CLIENTS]})
    assert.equal(toVip(model, 8080).verdict, 'reachable')
    assertLbDrop(toVip(model, 8081), 'FORWARDING_RULE_MISMATCH')
  })

  it('ILB-04: a backend service without backends is dropped with FORWARDING_RULE_NO_INSTANCES', () => {
    assertLbDrop(toVip(load({lb: {backends: []}})), 'FORWARDING_RULE_NO_INSTANCES')
  })

  it('ILB-04: backends without a NIC in the load balancer network give LOAD_BALANCER_BACKEND_INVALID_NETWORK', () => {
    const model = base({lb: {backends: ['other']}})
      .network('vpc-o', subnet('o-main', 'us-west1', '10.60.0.0/24'))
      .vm('other', 'us-west1-a', nic('vpc-o', 'o-main', '10.60.0.5'))
      .load()
    assertLbDrop(toVip(model), 'LOAD_BALANCER_BACKEND_INVALID_NETWORK')
  })

  it('ILB-04: a backend without a NIC in the load balancer network is skipped; the others still serve', () => {
    const model = base({lb: {backends: ['be1', 'other']}})
      .network('vpc-o', subnet('o-main', 'us-west1', '10.60.0.0/24'))
      .vm('other', 'us-west1-a', nic('vpc-o', 'o-main', '10.60.0.5'))
      .load()
    const result = toVip(model)
    assert.deepEqual(arrivals(result), ['instance/be1'])
    assert.equal(result.verdict, 'reachable')
  })

  it('§9 6a: the client region is checked before sourceIpRanges (a far client outside them is a region mismatch)', () => {
    assertLbDrop(toVip(load({lb: {sourceIpRanges: ['10.99.0.0/16']}}), 80, 'tcp', 'instance/east-client'), 'FORWARDING_RULE_REGION_MISMATCH')
    assertLbDrop(toVip(load({lb: {sourceIpRanges: ['10.99.0.0/16'], allowGlobalAccess: true}}), 80, 'tcp', 'instance/east-client'), 'FORWARDING_RULE_MISMATCH')
  })

  it('ILB-04: with sourceIpRanges, only matching clients are forwarded', () => {
    assert.equal(toVip(load({lb: {sourceIpRanges: ['10.10.0.0/30']}})).verdict, 'reachable')
    const refused = toVip(load({lb: {sourceIpRanges: ['10.99.0.0/16']}}))
    assert.equal(refused.verdict, 'unreachable')
    for (const p of refused.paths) assert.equal(indexOf(p.forward, 'ARRIVE_AT_INSTANCE'), -1)
  })
})

describe('ILB-08: health-check firewall', () => {
  const withHealth = (...rules: FirewallInput[]): TraceResult => toVip(load({firewalls: [CLIENTS, ...rules]}))

  it('ILB-08: no rule admitting the probe ranges: FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK', () => {
    assertLbDrop(withHealth(), 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK')
  })

  it('ILB-08: a rule that admits only part of the probe ranges still makes the backends unhealthy', () => {
    assertLbDrop(withHealth({...HEALTH_CHECK, sourceRanges: ['35.191.0.0/16']}), 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK')
    assertLbDrop(withHealth({...HEALTH_CHECK, sourceRanges: ['35.191.0.0/17', '130.211.0.0/22']}), 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK')
  })

  it('ILB-08: a higher-priority deny of one probe range makes the backends unhealthy', () => {
    assertLbDrop(withHealth(HEALTH_CHECK, {name: 'deny-legacy', network: 'vpc-s', priority: 900, sourceRanges: ['130.211.0.0/22'], denied: [{IPProtocol: 'tcp'}]}), 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK')
  })

  it('ILB-08: the probes go to the health-check port, not the traffic port', () => {
    assertLbDrop(withHealth({...HEALTH_CHECK, allowed: [{IPProtocol: 'tcp', ports: ['8080']}]}), 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK')
    const model = load({lb: {healthCheck: {protocol: 'HTTP', port: 10256, requestPath: '/healthz'}}, firewalls: [CLIENTS, {...HEALTH_CHECK, allowed: [{IPProtocol: 'tcp', ports: ['10256']}]}]})
    assert.equal(toVip(model).verdict, 'reachable')
  })

  it('ILB-08: a rule admitting every source covers the probe ranges fully', () => {
    assert.equal(withHealth({...HEALTH_CHECK, sourceRanges: ['0.0.0.0/0']}).verdict, 'reachable')
  })

  it('ILB-08: only backends whose firewall admits the probes are candidates', () => {
    const model = base({firewalls: [CLIENTS, {...HEALTH_CHECK, targetTags: ['healthy']}]})
      .edit((t) => Object.assign(t.instances.find((i) => i.name === 'be1') ?? {}, {tags: ['backend', 'healthy']}))
      .load()
    const result = toVip(model)
    assert.deepEqual(arrivals(result), ['instance/be1'])
    assert.equal(result.verdict, 'reachable')
  })
})

describe('ILB-14: hairpin', () => {
  it('ILB-14: a backend calling its own load balancer is answered by itself', () => {
    const result = toVip(load(), 80, 'tcp', 'instance/be1')
    const steps = onlyPath(result).forward
    assertDelivered(steps, 'instance/be1')
    assert.equal(steps.filter((s) => s.at === 'instance/be2').length, 0)
    assert.equal(result.verdict, 'reachable')
  })
})

describe('ILB-13: an internal load balancer as a route next hop', () => {
  /** vpc-d 10.99.0.0/24 (server-d 10.99.0.5); appliances app1/app2 join vpc-s and vpc-d behind ILB nh (10.10.0.200, L3_DEFAULT, health check TCP 22). */
  const nextHop = (nextHopIlb: string, canIpForward = true): Model => nextHopBuilder(nextHopIlb, canIpForward).load()
  const nextHopBuilder = (nextHopIlb: string, canIpForward = true): TopologyBuilder =>
    base()
      .network('vpc-d', subnet('d-main', 'us-west1', '10.99.0.0/24'))
      .allowIngress('vpc-d', ['10.0.0.0/8'])
      .firewall({...HEALTH_CHECK, name: 'allow-health-checks-22', allowed: [{IPProtocol: 'tcp', ports: ['22']}]})
      .vm('server-d', 'us-west1-a', nic('vpc-d', 'd-main', '10.99.0.5'))
      .gateway('app1', 'us-west1-a', [nic('vpc-s', 's-main', '10.10.0.21'), nic('vpc-d', 'd-main', '10.99.0.21')], {}, {canIpForward})
      .gateway('app2', 'us-west1-b', [nic('vpc-s', 's-main', '10.10.0.22'), nic('vpc-d', 'd-main', '10.99.0.22')], {}, {canIpForward})
      .loadBalancer({name: 'nh', region: 'us-west1', network: 'vpc-s', subnetwork: 's-main', IPAddress: '10.10.0.200', IPProtocol: 'L3_DEFAULT', allPorts: true, backends: ['app1', 'app2'], healthCheck: {protocol: 'TCP', port: 22}})
      .route({name: 'via-nh', network: 'vpc-s', destRange: '10.99.0.0/24', nextHopIlb})

  const check = (result: TraceResult): void => {
    assert.equal(result.paths.length, 2)
    for (const p of result.paths) {
      const route = stepOf(p.forward, 'APPLY_ROUTE').route
      assert.deepEqual([route?.name, route?.nextHopType], ['via-nh', 'NEXT_HOP_ILB'])
      assert.equal(stepOf(p.forward, 'APPLY_FORWARDING_RULE').at, 'lb/nh')
      const arrive = stepOf(p.forward, 'ARRIVE_AT_INSTANCE')
      assert.match(arrive.at, /^instance\/app[12]$/)
      assert.equal(arrive.packet.dst, '10.99.0.5', 'the packet keeps its destination')
      assert.equal(stepOf(p.forward, 'SPOOFING_APPROVED', arrive.at).packet.dst, '10.99.0.5')
      assertDelivered(p.forward, 'instance/server-d')
    }
    assert.equal(result.verdict, 'reachable')
  }

  it('ILB-13: a route with nextHopIlb (forwarding rule name) delivers through a backend, destination unchanged', () => {
    check(trace(nextHop('nh'), 'instance/client', '10.99.0.5:80', 'udp'))
  })

  it('ILB-13: nextHopIlb may name the forwarding rule by its IP address', () => {
    check(trace(nextHop('10.10.0.200'), 'instance/client', '10.99.0.5:80', 'udp'))
  })

  it('ILB-13/ROUTE-09: a next-hop load balancer of another network does not resolve, by name or by address', () => {
    // the route lives in vpc-d and names vpc-s's load balancer: it cannot deliver to backends in vpc-d
    const model = (nextHopIlb: string): Model => nextHopBuilder('nh').route({name: 'd-via-nh', network: 'vpc-d', destRange: '10.50.0.0/24', nextHopIlb}).load()
    const byName = onlyPath(trace(model('nh'), 'instance/server-d', '10.50.0.5:80', 'udp'))
    const dropped = assertDrop(byName.forward, 'ROUTE_NEXT_HOP_RESOURCE_NOT_FOUND', 'network/vpc-d')
    assert.match(dropped.detail, /forwarding rule nh, is in network vpc-s, not vpc-d/)
    assert.ok(!byName.forward.some((s) => s.step === 'APPLY_FORWARDING_RULE'))
    assertDrop(onlyPath(trace(model('10.10.0.200'), 'instance/server-d', '10.50.0.5:80', 'udp')).forward, 'ROUTE_NEXT_HOP_FORWARDING_RULE_IP_MISMATCH', 'network/vpc-d')
  })

  it('ILB-13/ROUTE-10: next-hop backends must accept foreign destinations (canIpForward)', () => {
    const result = trace(nextHop('nh', false), 'instance/client', '10.99.0.5:80', 'udp')
    for (const p of result.paths) {
      const end = assertDrop(p.forward, 'FOREIGN_IP_DISALLOWED')
      assert.match(end.at, /^instance\/app[12]$/)
    }
    assert.equal(result.verdict, 'unreachable')
  })
})
