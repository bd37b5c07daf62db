/**
 * The return path (gcp-network-semantics.md §9 steps 9–12 and verdict synthesis): conntrack
 * reversal of node, kube-proxy and gateway NAT, replies routed by the server side (ILB-06,
 * SVC-06), asymmetric paths (ROUTE-11), and when there is no return path at all.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {Model} from '../../../src/core/topology/model-types.js'
import type {PathTrace, Step, TraceResult} from '../../../src/core/trace/types.js'
import {
  type ClusterInput, type GuestInput, type TopologyBuilder, assertDelivered, assertDrop, indexOf, nic, onlyPath, stepOf, subnet, topology, trace,
} from '../../builders/topology.js'

const tcp = (model: Model, from: string, to: string): TraceResult => trace(model, from, to, 'tcp')
const reply = (p: PathTrace): readonly Step[] => p.return

/** vpc-a 10.1.0.0/24 (client 10.1.0.5, server 10.1.0.50) with a cluster c1 (node n1 10.1.0.10, pods 10.4.0.0/24, client pod 10.4.0.10). */
function sameVpc(mode: ClusterInput['mode'], masquerade: ClusterInput['masquerade']): Model {
  return topology('same-vpc')
    .network('vpc-a', subnet('a-main', 'us-west1', '10.1.0.0/24', mode === 'VPC_NATIVE' ? {pods: '10.4.0.0/14'} : {}))
    .allowIngress('vpc-a', ['10.0.0.0/8'])
    .vm('server', 'us-west1-a', nic('vpc-a', 'a-main', '10.1.0.50'))
    .cluster({
      name: 'c1', location: 'us-west1-a', network: 'vpc-a', subnetwork: 'a-main', mode, clusterIpv4Cidr: '10.4.0.0/14', servicesIpv4Cidr: '10.8.0.0/20', masquerade,
      nodes: [{name: 'n1', networkIP: '10.1.0.10', podCidr: '10.4.0.0/24'}],
      pods: [{name: 'client', node: 'n1', ip: '10.4.0.10'}, {name: 'echo', node: 'n1', ip: '10.4.0.20', ports: [8080]}],
    })
    .load()
}

describe('§9 steps 9–12: the reply of a masqueraded pod', () => {
  const model = sameVpc('ROUTES', {kubenet: {nonMasqueradeCidr: '10.4.0.0/14'}})

  it('§9 9: the reply starts at the server with the addresses of the packet it received, reversed', () => {
    const p = onlyPath(tcp(model, 'c1/default/client', '10.1.0.50:80'))
    const received = stepOf(p.forward, 'DELIVER').packet
    const first = reply(p)[0]
    assert.equal(first?.step, 'START_FROM_INSTANCE')
    assert.equal(first?.at, 'instance/server')
    assert.deepEqual(first?.packet, {src: received.dst, dst: received.src, protocol: 'tcp', srcPort: received.dstPort, dstPort: received.srcPort})
    assert.equal(received.src, '10.1.0.10', 'the server saw the node address')
  })

  it('§9 12: conntrack on the client node reverses the masquerade and the reply reaches the pod', () => {
    const result = tcp(model, 'c1/default/client', '10.1.0.50:80')
    const back = reply(onlyPath(result))
    const reverse = back.find((s) => s.step === 'NAT' && s.at === 'node/n1')
    assert.ok(reverse?.nat, 'expected the node to reverse its NAT')
    assert.equal(reverse.nat.before.dst, '10.1.0.10')
    assert.equal(reverse.nat.after.dst, '10.4.0.10')
    const end = assertDelivered(back, 'c1/default/client')
    assert.deepEqual([end.packet.src, end.packet.dst, end.packet.srcPort, end.packet.dstPort], ['10.1.0.50', '10.4.0.10', 80, 40000])
    assert.equal(result.verdict, 'reachable')
  })

  it('FW-07: the reply is admitted at the client node by connection tracking on the masqueraded 5-tuple', () => {
    const back = reply(onlyPath(tcp(model, 'c1/default/client', '10.1.0.50:80')))
    const ingress = stepOf(back, 'APPLY_INGRESS_FIREWALL_RULE', 'node/n1')
    assert.equal(ingress.firewall?.type, 'TRACKING_STATE')
    assert.equal(ingress.packet.dst, '10.1.0.10')
  })
})

describe('GKE-05/ROUTE-10: pod IPs as sources and destinations of the VPC', () => {
  it('GKE-05: a routes-based node sends and receives for its pods\' IPs under canIpForward (SPOOFING_APPROVED both ways)', () => {
    const result = tcp(sameVpc('ROUTES', {disabled: true}), 'c1/default/client', '10.1.0.50:80')
    const p = onlyPath(result)
    assert.equal(stepOf(p.forward, 'SPOOFING_APPROVED', 'node/n1').packet.src, '10.4.0.10')
    assert.equal(stepOf(reply(p), 'SPOOFING_APPROVED', 'node/n1').packet.dst, '10.4.0.10')
    assert.equal(stepOf(reply(p), 'APPLY_ROUTE').route?.destRange, '10.4.0.0/24')
    assertDelivered(reply(p), 'c1/default/client')
    assert.equal(result.verdict, 'reachable')
  })

  it('GKE-02: a VPC-native node owns its pods\' alias IPs and needs no spoofing approval', () => {
    const result = tcp(sameVpc('VPC_NATIVE', {disabled: true}), 'c1/default/client', '10.1.0.50:80')
    const p = onlyPath(result)
    assert.equal(indexOf(p.forward, 'SPOOFING_APPROVED'), -1)
    assert.equal(indexOf(reply(p), 'SPOOFING_APPROVED'), -1)
    assert.equal(result.verdict, 'reachable')
  })

  it('SNAT-18: a server pod\'s reply leaving its node is not masqueraded (NO_MASQUERADING_FOR_RETURN_PACKET)', () => {
    const back = reply(onlyPath(tcp(sameVpc('VPC_NATIVE', {ipMasq: {nonMasqueradeCIDRs: []}}), 'instance/server', '10.4.0.20:8080')))
    const skip = stepOf(back, 'SKIP_GKE_POD_IP_MASQUERADING', 'node/n1')
    assert.equal(skip.reason, 'NO_MASQUERADING_FOR_RETURN_PACKET')
  })

  it('SNAT-06/FW-07: a server pod\'s reply keeps the pod address even where new connections would be masqueraded', () => {
    const result = tcp(sameVpc('VPC_NATIVE', {ipMasq: {nonMasqueradeCIDRs: []}}), 'instance/server', '10.4.0.20:8080')
    const back = reply(onlyPath(result))
    assert.equal(back.filter((s) => s.nat?.type === 'GKE_POD_IP_MASQUERADING').length, 0)
    assert.equal(assertDelivered(back, 'instance/server').packet.src, '10.4.0.20')
    assert.equal(result.verdict, 'reachable')
  })
})

describe('SVC-06/ILB-06: replies of a GKE LoadBalancer service', () => {
  const VIP = '10.10.0.150'
  const service = (externalTrafficPolicy: 'Cluster' | 'Local'): Model =>
    topology('svc')
      .network('vpc-s', subnet('s-main', 'us-west1', '10.10.0.0/24', {pods: '10.30.0.0/16'}))
      .allowIngress('vpc-s', ['10.0.0.0/8'])
      .allowHealthChecks('vpc-s')
      .vm('client', 'us-west1-a', nic('vpc-s', 's-main', '10.10.0.2'))
      .loadBalancer({name: 'svc-ilb', region: 'us-west1', network: 'vpc-s', subnetwork: 's-main', IPAddress: VIP, ports: ['80'], backends: ['gn1', 'gn2'], healthCheck: {protocol: 'HTTP', port: 10256}})
      .cluster({
        name: 'cs', location: 'us-west1-a', network: 'vpc-s', subnetwork: 's-main', mode: 'VPC_NATIVE', clusterIpv4Cidr: '10.30.0.0/16', servicesIpv4Cidr: '10.31.0.0/20',
        nodes: [{name: 'gn1', networkIP: '10.10.0.31', podCidr: '10.30.1.0/24'}, {name: 'gn2', networkIP: '10.10.0.32', podCidr: '10.30.2.0/24'}],
        pods: [{name: 'web', node: 'gn2', ip: '10.30.2.10', ports: [8080]}],
        services: [{
          name: 'web', type: 'LoadBalancer', clusterIP: '10.31.0.10', externalTrafficPolicy, endpoints: ['web'],
          ports: [{port: 80, targetPort: 8080, nodePort: 30080}], loadBalancer: {internal: true, forwardingRule: 'svc-ilb'},
        }],
      })
      .load()

  it('contracts §2: <cluster>/<ns>/<service> targets its internal load balancer', () => {
    const result = tcp(service('Cluster'), 'instance/client', 'cs/default/web')
    assert.deepEqual([result.flow.packet.dst, result.flow.packet.dstPort], [VIP, 80])
  })

  it('SVC-06: with eTP=Cluster kube-proxy DNATs the VIP to the pod and SNATs, so the pod sees a node address', () => {
    const result = tcp(service('Cluster'), 'instance/client', 'cs/default/web')
    assert.equal(result.verdict, 'reachable')
    for (const p of result.paths) {
      const dnat = p.forward.find((s) => s.step === 'NAT' && s.nat?.before.dst === VIP)
      assert.deepEqual([dnat?.nat?.after.dst, dnat?.nat?.after.dstPort], ['10.30.2.10', 8080])
      const seen = assertDelivered(p.forward, 'cs/default/web').packet.src
      assert.ok(['10.10.0.31', '10.10.0.32', '10.30.1.1', '10.30.2.1'].includes(seen), `the pod sees ${seen}`)
    }
  })

  it('SVC-06/ILB-06: in both policies the reply leaves for the client with src = VIP and reaches it', () => {
    for (const policy of ['Cluster', 'Local'] as const) {
      const reachable = tcp(service(policy), 'instance/client', 'cs/default/web').paths.filter((p) => p.verdict === 'reachable')
      assert.ok(reachable.length > 0, policy)
      for (const p of reachable) {
        const back = reply(p)
        const routed = back.filter((s) => s.step === 'APPLY_ROUTE' && s.packet.dst === '10.10.0.2')
        assert.ok(routed.length > 0, `${policy}: no reply routed to the client`)
        for (const s of routed) assert.equal(s.packet.src, VIP, policy)
        const end = assertDelivered(back, 'instance/client')
        assert.deepEqual([end.packet.src, end.packet.srcPort, end.packet.dstPort], [VIP, 80, 40000])
      }
    }
  })

  it('SVC-06: with eTP=Local the pod sees the client IP', () => {
    const delivered = tcp(service('Local'), 'instance/client', 'cs/default/web').paths.filter((p) => p.forwardEnd.kind === 'delivered')
    assert.ok(delivered.length > 0)
    for (const p of delivered) assert.equal(assertDelivered(p.forward, 'cs/default/web').packet.src, '10.10.0.2')
  })

  it('SVC-06: with eTP=Local nodes without a local endpoint fail their health check and get no traffic', () => {
    const result = tcp(service('Local'), 'instance/client', 'cs/default/web')
    assert.ok(result.paths.every((p) => !p.forward.some((s) => s.at === 'node/gn1')), 'gn1 has no local endpoint')
    assert.equal(result.verdict, 'reachable')
  })
})

/**
 * vpc-a 10.1.0.0/24 (client 10.1.0.5) and vpc-b 10.2.0.0/24 (server 10.2.0.5), joined only by gateways gw1 and gw2
 * (nic0 vpc-a, nic1 vpc-b). vpc-a sends 10.2.0.0/24 to gw1; the caller decides how vpc-b routes back.
 */
function gateways(guest: Partial<GuestInput> = {}): TopologyBuilder {
  return topology('gateways')
    .network('vpc-a', subnet('a-main', 'us-west1', '10.1.0.0/24'))
    .network('vpc-b', subnet('b-main', 'us-west1', '10.2.0.0/24'))
    .allowIngress('vpc-a', ['10.0.0.0/8'])
    .allowIngress('vpc-b', ['10.0.0.0/8'])
    .vm('client', 'us-west1-a', nic('vpc-a', 'a-main', '10.1.0.5'))
    .vm('server', 'us-west1-a', nic('vpc-b', 'b-main', '10.2.0.5'))
    .gateway('gw1', 'us-west1-a', [nic('vpc-a', 'a-main', '10.1.0.21'), nic('vpc-b', 'b-main', '10.2.0.21')], guest)
    .gateway('gw2', 'us-west1-a', [nic('vpc-a', 'a-main', '10.1.0.22'), nic('vpc-b', 'b-main', '10.2.0.22')], guest)
    .route({name: 'a-to-b', network: 'vpc-a', destRange: '10.2.0.0/24', nextHopInstance: 'gw1'})
}

const back = (via: string, tags?: string[]): {name: string; network: string; destRange: string; nextHopInstance: string; tags?: string[]} =>
  ({name: `b-to-a-via-${via}`, network: 'vpc-b', destRange: '10.1.0.0/24', nextHopInstance: via, ...(tags ? {tags} : {})})

const STATEFUL = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]',
  '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-A FORWARD -m conntrack --ctstate NEW -j ACCEPT', 'COMMIT', ''].join('\n')

describe('gateway SNAT and asymmetric paths', () => {
  it('§9 9–12: a gateway\'s masquerade is reversed by its conntrack and the reply reaches the client', () => {
    const model = gateways({iptables: ['*nat', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -o nic1 -j MASQUERADE', 'COMMIT', ''].join('\n')}).load()
    const result = tcp(model, 'instance/client', '10.2.0.5:80')
    const p = onlyPath(result)
    const snat = p.forward.find((s) => s.step === 'NAT' && s.at === 'instance/gw1')
    assert.deepEqual([snat?.nat?.before.src, snat?.nat?.after.src], ['10.1.0.5', '10.2.0.21'])
    assert.equal(assertDelivered(p.forward, 'instance/server').packet.src, '10.2.0.21')
    const reverse = reply(p).find((s) => s.step === 'NAT' && s.at === 'instance/gw1')
    assert.deepEqual([reverse?.nat?.before.dst, reverse?.nat?.after.dst], ['10.2.0.21', '10.1.0.5'])
    assertDelivered(reply(p), 'instance/client')
    assert.equal(result.verdict, 'reachable')
  })

  it('ILB-06/§9 11: without SNAT and without a route back, the reply is dropped in the server network', () => {
    const result = tcp(gateways().load(), 'instance/client', '10.2.0.5:80')
    const p = onlyPath(result)
    assertDelivered(p.forward, 'instance/server')
    assertDrop(reply(p), 'NO_ROUTE', 'network/vpc-b')
    assert.equal(result.verdict, 'unreachable')
  })

  it('ILB-06: the reply uses the routes that apply to the server (route tags)', () => {
    const tagged = (tags: string[]): Model => gateways().route(back('gw1', ['can-return'])).edit((t) => Object.assign(t.instances.find((i) => i.name === 'server') ?? {}, {tags})).load()
    assert.equal(tcp(tagged(['can-return']), 'instance/client', '10.2.0.5:80').verdict, 'reachable')
    const result = tcp(tagged([]), 'instance/client', '10.2.0.5:80')
    assertDrop(reply(onlyPath(result)), 'NO_ROUTE', 'network/vpc-b')
    assert.equal(result.verdict, 'unreachable')
  })

  it('ROUTE-11/§9 11: through stateless gateways an asymmetric return (in via gw1, back via gw2) still works', () => {
    const result = tcp(gateways().route(back('gw2')).load(), 'instance/client', '10.2.0.5:80')
    const p = onlyPath(result)
    assert.ok(reply(p).some((s) => s.at === 'instance/gw2'))
    assert.ok(!reply(p).some((s) => s.at === 'instance/gw1'))
    assert.equal(result.verdict, 'reachable')
  })

  it('ROUTE-11: an asymmetric return path is flagged', () => {
    const p = onlyPath(tcp(gateways().route(back('gw2')).load(), 'instance/client', '10.2.0.5:80'))
    assert.ok(reply(p).some((s) => /asymmetric/i.test(s.warning ?? '')))
  })

  it('§9 11: a stateful gateway that never saw the request drops the asymmetric reply', () => {
    const result = tcp(gateways({iptables: STATEFUL}).route(back('gw2')).load(), 'instance/client', '10.2.0.5:80')
    const p = onlyPath(result)
    assertDelivered(p.forward, 'instance/server')
    const end = reply(p)[reply(p).length - 1]
    assert.deepEqual([end?.step, end?.at], ['DROP', 'instance/gw2'])
    assert.equal(result.verdict, 'unreachable')
  })

  it('CT-03/§9 11: that drop is reported as XCC_ASYMMETRIC_RETURN', () => {
    const p = onlyPath(tcp(gateways({iptables: STATEFUL}).route(back('gw2')).load(), 'instance/client', '10.2.0.5:80'))
    assertDrop(reply(p), 'XCC_ASYMMETRIC_RETURN', 'instance/gw2')
  })

  it('FW-07/§9 11: a gateway that never saw the request gets no connection tracking for the reply from the VPC firewall', () => {
    // vpc-b admits only vpc-a's range: the reply (from 10.2.0.5) passes only where it is tracked.
    const onlyFromA = (via: string): Model => gateways().route(back(via)).edit((t) => (t.firewalls = t.firewalls.filter((f) => f.network !== 'vpc-b'))).allowIngress('vpc-b', ['10.1.0.0/24']).load()
    const symmetric = onlyPath(tcp(onlyFromA('gw1'), 'instance/client', '10.2.0.5:80'))
    assert.equal(stepOf(reply(symmetric), 'APPLY_INGRESS_FIREWALL_RULE', 'instance/gw1').firewall?.type, 'TRACKING_STATE')
    assert.equal(symmetric.verdict, 'reachable')
    const asymmetric = onlyPath(tcp(onlyFromA('gw2'), 'instance/client', '10.2.0.5:80'))
    assertDrop(reply(asymmetric), 'FIREWALL_RULE', 'instance/gw2')
    assert.equal(asymmetric.verdict, 'unreachable')
  })

  it('§9 11/ROUTE-11: a NATing gateway that never saw the request breaks the connection (loose conntrack pickup masquerades the data)', () => {
    // gw1 forwards the request unchanged; the reply comes back through gw2, whose nat rule masquerades what leaves nic0
    const masq = ['*nat', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -o nic0 -j MASQUERADE', 'COMMIT', ''].join('\n')
    const model = gateways().edit((t) => {
      const gw2 = t.instances.find((i) => i.name === 'gw2')
      if (gw2?.guest) gw2.guest = {...gw2.guest, iptables: masq}
    }).route(back('gw2')).load()
    const result = tcp(model, 'instance/client', '10.2.0.5:80')
    const p = onlyPath(result)
    assertDelivered(p.forward, 'instance/server')
    const end = assertDrop(reply(p), 'XCC_ASYMMETRIC_RETURN', 'instance/gw2')
    assert.match(end.detail, /picked up mid-stream/)
    assert.match(end.rules?.[0]?.rule ?? '', /-o nic0 -j MASQUERADE/)
    assert.equal(result.verdict, 'unreachable')
    // the same rule on the gateway that forwarded the request is harmless: conntrack knows the connection
    const symmetric = gateways().edit((t) => {
      const gw1 = t.instances.find((i) => i.name === 'gw1')
      if (gw1?.guest) gw1.guest = {...gw1.guest, iptables: masq}
    }).route(back('gw1')).load()
    assert.equal(tcp(symmetric, 'instance/client', '10.2.0.5:80').verdict, 'reachable')
  })

  it('§9 11: the same stateful gateway passes the reply of a connection it forwarded (symmetric path)', () => {
    assert.equal(tcp(gateways({iptables: STATEFUL}).route(back('gw1')).load(), 'instance/client', '10.2.0.5:80').verdict, 'reachable')
  })

  it('ROUTE-11: a multi-NIC server answers through nic0 unless its guest routes the client via the NIC the request came in on', () => {
    const server = (routes: GuestInput['routes']): Model =>
      topology('multi-nic')
        .network('vpc-s', subnet('s-main', 'us-west1', '10.10.0.0/24'))
        .network('vpc-c', subnet('c-main', 'us-west1', '10.5.0.0/24'))
        .network('vpc-x', subnet('x-main', 'us-west1', '10.7.0.0/24'))
        .peer('vpc-c', 'vpc-x')
        .allowIngress('vpc-c', ['10.0.0.0/8'])
        .allowIngress('vpc-x', ['10.0.0.0/8'])
        .vm('client', 'us-west1-a', nic('vpc-x', 'x-main', '10.7.0.5'))
        .vm('mn', 'us-west1-a', [nic('vpc-s', 's-main', '10.10.0.5'), nic('vpc-c', 'c-main', '10.5.0.5')], {guest: {routes}})
        .load()
    const broken = tcp(server(undefined), 'instance/client', '10.5.0.5:80')
    assertDelivered(onlyPath(broken).forward, 'instance/mn')
    assert.equal(onlyPath(broken).returnEnd?.kind, 'dropped')
    assert.ok(!reply(onlyPath(broken)).some((s) => s.at === 'network/vpc-c'), 'the reply must not leave through nic1')
    assert.equal(broken.verdict, 'unreachable')
    assert.equal(tcp(server([{destRange: '10.7.0.0/24', nic: 1}]), 'instance/client', '10.5.0.5:80').verdict, 'reachable')
  })
})

describe('contracts §2 / §9: when there is a return path', () => {
  it('UDP has no return path: the verdict is the forward verdict', () => {
    const result = trace(gateways().load(), 'instance/client', '10.2.0.5:80', 'udp')
    const p = onlyPath(result)
    assertDelivered(p.forward, 'instance/server')
    assert.deepEqual(p.return, [])
    assert.equal(p.returnEnd, undefined)
    assert.equal(result.verdict, 'reachable')
  })

  it('TCP whose forward path drops has no return path', () => {
    const result = tcp(gateways().load(), 'instance/client', '10.2.0.77:80')
    const p = onlyPath(result)
    assert.equal(p.forwardEnd.kind, 'dropped')
    assert.deepEqual(p.return, [])
    assert.equal(result.verdict, 'unreachable')
  })

  it('§9 verdict: reachable only when both directions deliver; forward delivered + return dropped is unreachable', () => {
    const result = tcp(gateways().load(), 'instance/client', '10.2.0.5:80')
    const p = onlyPath(result)
    assert.deepEqual([p.forwardEnd.kind, p.returnEnd?.kind, p.verdict, result.verdict], ['delivered', 'dropped', 'unreachable', 'unreachable'])
  })
})
