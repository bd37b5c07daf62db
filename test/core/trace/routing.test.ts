/**
 * VPC routing (gcp-network-semantics.md §2, ROUTE-03…ROUTE-12, §9 steps 5–6): which route wins,
 * for which sender, what its next hop does with the packet, and how guests pick their NIC.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {TopologyError} from '../../../src/core/errors.js'
import type {Model} from '../../../src/core/topology/model-types.js'
import type {Step} from '../../../src/core/trace/types.js'
import {
  type RouteInput, type TopologyBuilder, assertDelivered, assertDrop, doctor, indexOf, nic, onlyPath, stepOf, subnet, topology, trace,
} from '../../builders/topology.js'

/**
 * vpc-a (us-west1): 10.0.0.0/24 + secondary extra 10.0.64.0/20; client 10.0.0.2, peer 10.0.0.200 (alias 10.0.64.0/28).
 * vpc-b (us-west1): b-main 10.50.1.0/24 (server 10.50.1.5), b-other 10.50.2.0/24 (server2 10.50.2.5).
 * Gateways gw1 (10.0.0.11 | 10.50.1.11) and gw2 (10.0.0.12 | 10.50.1.12): nic0 vpc-a, nic1 vpc-b, 10.50.0.0/16 via nic1.
 * Every network admits 10.0.0.0/8. vpc-a has no route to vpc-b unless a test adds one.
 */
function base(options: {clientTags?: string[]; gw2Forwards?: boolean} = {}): TopologyBuilder {
  return topology('routing')
    .network('vpc-a', subnet('a-main', 'us-west1', '10.0.0.0/24', {extra: '10.0.64.0/20'}))
    .network('vpc-b', subnet('b-main', 'us-west1', '10.50.1.0/24'), subnet('b-other', 'us-west1', '10.50.2.0/24'))
    .allowIngress('vpc-a', ['10.0.0.0/8'])
    .allowIngress('vpc-b', ['10.0.0.0/8'])
    .vm('client', 'us-west1-a', nic('vpc-a', 'a-main', '10.0.0.2'), options.clientTags ? {tags: options.clientTags} : {})
    .vm('peer', 'us-west1-a', nic('vpc-a', 'a-main', '10.0.0.200', [{ipCidrRange: '10.0.64.0/28', subnetworkRangeName: 'extra'}]))
    .gateway('gw1', 'us-west1-a', [nic('vpc-a', 'a-main', '10.0.0.11'), nic('vpc-b', 'b-main', '10.50.1.11')], {routes: [{destRange: '10.50.0.0/16', nic: 1}]})
    .gateway('gw2', 'us-west1-a', [nic('vpc-a', 'a-main', '10.0.0.12'), nic('vpc-b', 'b-main', '10.50.1.12')], {routes: [{destRange: '10.50.0.0/16', nic: 1}], ipForward: options.gw2Forwards ?? true}, {tags: ['blue']})
    .vm('server', 'us-west1-a', nic('vpc-b', 'b-main', '10.50.1.5'))
    .vm('server2', 'us-west1-a', nic('vpc-b', 'b-other', '10.50.2.5'))
}

function withRoutes(routes: RouteInput[], options: Parameters<typeof base>[0] = {}): Model {
  const b = base(options)
  for (const r of routes) b.route(r)
  return b.load()
}

const via = (name: string, destRange: string, nextHopInstance: string, extra: Partial<RouteInput> = {}): RouteInput => ({name, network: 'vpc-a', destRange, nextHopInstance, ...extra})

/** The forward steps of the single path from the client to `dst` (UDP: no return path). */
function forward(model: Model, dst = '10.50.1.5:80', from = 'instance/client'): readonly Step[] {
  return onlyPath(trace(model, from, dst, 'udp')).forward
}

/** The route chosen in vpc-a and the gateway the packet reaches next. */
function chosen(steps: readonly Step[]): {route: string | undefined; next: string | undefined} {
  const route = steps.findIndex((s) => s.step === 'APPLY_ROUTE')
  return {route: steps[route]?.route?.name, next: steps.slice(route).find((s) => s.step === 'ARRIVE_AT_INSTANCE')?.at}
}

describe('ROUTE-04/ROUTE-05: route selection', () => {
  it('ROUTE-04: the longest prefix wins even over a better priority', () => {
    const steps = forward(withRoutes([via('r16', '10.50.0.0/16', 'gw1', {priority: 100}), via('r24', '10.50.1.0/24', 'gw2')]))
    assert.deepEqual(chosen(steps), {route: 'r24', next: 'instance/gw2'})
    const route = stepOf(steps, 'APPLY_ROUTE').route
    assert.deepEqual(
      {type: route?.type, destRange: route?.destRange, priority: route?.priority, nextHopType: route?.nextHopType, network: route?.network},
      {type: 'STATIC', destRange: '10.50.1.0/24', priority: 1000, nextHopType: 'NEXT_HOP_INSTANCE', network: 'vpc-a'},
    )
    assert.equal(stepOf(steps, 'APPLY_ROUTE').at, 'network/vpc-a')
    assertDelivered(steps, 'instance/server')
  })

  it('ROUTE-04: at equal prefix length the lowest priority value wins', () => {
    assert.deepEqual(chosen(forward(withRoutes([via('slow', '10.50.0.0/16', 'gw1', {priority: 900}), via('fast', '10.50.0.0/16', 'gw2', {priority: 800})]))), {route: 'fast', next: 'instance/gw2'})
    assert.deepEqual(chosen(forward(withRoutes([via('fast', '10.50.0.0/16', 'gw1', {priority: 800}), via('slow', '10.50.0.0/16', 'gw2', {priority: 900})]))), {route: 'fast', next: 'instance/gw1'})
  })

  it('ROUTE-05: a route without priority has priority 1000', () => {
    assert.deepEqual(chosen(forward(withRoutes([via('default', '10.50.0.0/16', 'gw1'), via('worse', '10.50.0.0/16', 'gw2', {priority: 1001})]))), {route: 'default', next: 'instance/gw1'})
    assert.deepEqual(chosen(forward(withRoutes([via('default', '10.50.0.0/16', 'gw1'), via('better', '10.50.0.0/16', 'gw2', {priority: 999})]))), {route: 'better', next: 'instance/gw2'})
  })

  it('ROUTE-04: an ECMP tie returns every candidate; the verdict is reachable when they all deliver', () => {
    const result = trace(withRoutes([via('ecmp-1', '10.50.0.0/16', 'gw1'), via('ecmp-2', '10.50.0.0/16', 'gw2')]), 'instance/client', '10.50.1.5:80', 'udp')
    assert.equal(result.paths.length, 2)
    assert.deepEqual(result.paths.map((p) => chosen(p.forward)).sort((a, b) => String(a.route).localeCompare(String(b.route))), [
      {route: 'ecmp-1', next: 'instance/gw1'},
      {route: 'ecmp-2', next: 'instance/gw2'},
    ])
    assert.equal(result.verdict, 'reachable')
  })

  it('ROUTE-04: an ECMP tie whose candidates differ is ambiguous', () => {
    const result = trace(withRoutes([via('ecmp-1', '10.50.0.0/16', 'gw1'), via('ecmp-2', '10.50.0.0/16', 'gw2')], {gw2Forwards: false}), 'instance/client', '10.50.1.5:80', 'udp')
    assert.equal(result.paths.length, 2)
    assert.deepEqual(result.paths.map((p) => p.verdict).sort(), ['reachable', 'unreachable'])
    assert.equal(result.verdict, 'ambiguous')
  })

  it('ROUTE-04: a packet that matches no route is dropped with NO_ROUTE in the sender network', () => {
    const result = trace(withRoutes([]), 'instance/client', '10.50.1.5:80', 'udp')
    const steps = onlyPath(result).forward
    assertDrop(steps, 'NO_ROUTE', 'network/vpc-a')
    assert.equal(indexOf(steps, 'APPLY_ROUTE'), -1)
    assert.equal(result.verdict, 'unreachable')
  })
})

describe('ROUTE-03: route tags apply to the sending instance', () => {
  const routes = [via('untagged', '10.50.0.0/16', 'gw1'), via('blue-only', '10.50.1.0/24', 'gw2', {tags: ['blue']})]

  it('ROUTE-03: a tagged route is ignored for a sender without the tag, even though the next hop has it', () => {
    assert.deepEqual(chosen(forward(withRoutes(routes))), {route: 'untagged', next: 'instance/gw1'})
  })

  it('ROUTE-03: a tagged route applies to a sender holding at least one of its tags', () => {
    assert.deepEqual(chosen(forward(withRoutes(routes, {clientTags: ['red', 'blue']}))), {route: 'blue-only', next: 'instance/gw2'})
    const several = [via('untagged', '10.50.0.0/16', 'gw1'), via('blue-or-green', '10.50.1.0/24', 'gw2', {tags: ['green', 'blue']})]
    assert.deepEqual(chosen(forward(withRoutes(several, {clientTags: ['blue']}))), {route: 'blue-or-green', next: 'instance/gw2'})
  })

  it('ROUTE-03: when only tagged routes cover the destination, an untagged sender has no route', () => {
    assertDrop(forward(withRoutes([via('blue-only', '10.50.0.0/16', 'gw2', {tags: ['blue']})])), 'NO_ROUTE', 'network/vpc-a')
  })

  it('ROUTE-03: pod traffic is routed with the tags of its node (default tag gke-<cluster>-node)', () => {
    const model = base()
      .edit((t) => (t.networks[0]?.subnets?.[0]?.secondaryIpRanges?.push({rangeName: 'pods', ipCidrRange: '10.4.0.0/14'})))
      .route(via('untagged', '10.50.0.0/16', 'gw1'))
      .route(via('nodes-only', '10.50.1.0/24', 'gw2', {tags: ['gke-c1-node']}))
      .cluster({
        name: 'c1', location: 'us-west1-a', network: 'vpc-a', subnetwork: 'a-main', mode: 'VPC_NATIVE', clusterIpv4Cidr: '10.4.0.0/14', servicesIpv4Cidr: '10.8.0.0/20',
        nodes: [{name: 'n1', networkIP: '10.0.0.3', podCidr: '10.4.0.0/24'}], pods: [{name: 'client', node: 'n1', ip: '10.4.0.10'}],
      })
      .load()
    assert.deepEqual(chosen(forward(model, '10.50.1.5:80', 'c1/default/client')), {route: 'nodes-only', next: 'instance/gw2'})
  })
})

describe('ROUTE-06: subnet routes and custom routes', () => {
  it('ROUTE-06: a more specific static route inside a local subnet does not capture its traffic, and is reported', () => {
    const steps = forward(withRoutes([via('r25', '10.0.0.128/25', 'gw1')]), '10.0.0.200:80')
    const route = stepOf(steps, 'APPLY_ROUTE')
    assert.equal(route.route?.type, 'SUBNET')
    assert.equal(route.route?.destRange, '10.0.0.0/24')
    assert.match(route.warning ?? '', /CUSTOM_ROUTE_SHADOWED_BY_SUBNET_ROUTE/)
    assert.equal(indexOf(steps, 'ARRIVE_AT_INSTANCE', 'instance/gw1'), -1)
    assertDelivered(steps, 'instance/peer')
  })

  it('ROUTE-06(c): with allowSubnetCidrRoutesOverlap the more specific static route wins', () => {
    const model = base()
      .edit((t) => Object.assign(t.networks[0]?.subnets?.[0] ?? {}, {allowSubnetCidrRoutesOverlap: true}))
      .route(via('r25', '10.0.0.128/25', 'gw1'))
      .load()
    const steps = onlyPath(trace(model, 'instance/client', '10.0.0.200:80', 'udp')).forward
    assert.deepEqual(chosen(steps), {route: 'r25', next: 'instance/gw1'})
  })

  it('ROUTE-06: a secondary range is a subnet route too; alias IPs are delivered without canIpForward', () => {
    const steps = forward(withRoutes([via('r24', '10.0.64.0/24', 'gw1')]), '10.0.64.5:80')
    const route = stepOf(steps, 'APPLY_ROUTE')
    assert.equal(route.route?.type, 'SUBNET')
    assert.equal(route.route?.destRange, '10.0.64.0/20')
    assert.equal(indexOf(steps, 'SPOOFING_APPROVED'), -1)
    assertDelivered(steps, 'instance/peer')
  })

  it('ROUTE-06: broader routes (10.0.0.0/8, 0.0.0.0/0) never capture subnet traffic, whatever their priority', () => {
    const steps = forward(withRoutes([via('ten', '10.0.0.0/8', 'gw1', {priority: 0}), via('all', '0.0.0.0/0', 'gw2', {priority: 0})]), '10.0.0.200:80')
    assert.equal(stepOf(steps, 'APPLY_ROUTE').route?.type, 'SUBNET')
    assertDelivered(steps, 'instance/peer')
  })

  it('ROUTE-06: a peering subnet route is not overridden by a more specific static route either', () => {
    const model = base()
      .network('vpc-c', subnet('c-main', 'us-west1', '10.60.0.0/24'))
      .peer('vpc-a', 'vpc-c')
      .allowIngress('vpc-c', ['10.0.0.0/8'])
      .vm('server3', 'us-west1-a', nic('vpc-c', 'c-main', '10.60.0.5'))
      .route(via('r25', '10.60.0.0/25', 'gw1'))
      .load()
    const steps = forward(model, '10.60.0.5:80')
    const route = stepOf(steps, 'APPLY_ROUTE')
    assert.equal(route.route?.type, 'PEERING_SUBNET')
    assert.match(route.warning ?? '', /CUSTOM_ROUTE_SHADOWED_BY_SUBNET_ROUTE/)
    assertDelivered(steps, 'instance/server3')
  })
})

describe('ROUTE-09: next-hop checks', () => {
  it('contracts §1: a route naming an instance that does not exist is a load error at routes[i].nextHopInstance', () => {
    assert.throws(() => withRoutes([via('to-nowhere', '10.50.0.0/16', 'nowhere')]), (error: unknown) => {
      assert.ok(error instanceof TopologyError)
      assert.ok(error.issues.some((i) => i.path === 'routes[0].nextHopInstance'), JSON.stringify(error.issues))
      return true
    })
  })

  it('ROUTE-09: a next-hop instance without a NIC in the route network drops with ROUTE_NEXT_HOP_INSTANCE_WRONG_NETWORK', () => {
    assertDrop(forward(withRoutes([via('to-server', '10.50.0.0/16', 'server')])), 'ROUTE_NEXT_HOP_INSTANCE_WRONG_NETWORK')
  })

  it('ROUTE-09: a next-hop IP that is an alias IP drops with ROUTE_NEXT_HOP_INSTANCE_NON_PRIMARY_IP', () => {
    assertDrop(forward(withRoutes([{name: 'to-alias', network: 'vpc-a', destRange: '10.50.0.0/16', nextHopIp: '10.0.64.3'}])), 'ROUTE_NEXT_HOP_INSTANCE_NON_PRIMARY_IP')
  })

  it('ROUTE-09: a next-hop IP that nothing holds drops with ROUTE_NEXT_HOP_IP_ADDRESS_NOT_RESOLVED', () => {
    assertDrop(forward(withRoutes([{name: 'to-nothing', network: 'vpc-a', destRange: '10.50.0.0/16', nextHopIp: '10.0.0.99'}])), 'ROUTE_NEXT_HOP_IP_ADDRESS_NOT_RESOLVED')
  })

  it('ROUTE-09: a next-hop IP that is a primary IP leads to that instance', () => {
    const steps = forward(withRoutes([{name: 'to-gw2', network: 'vpc-a', destRange: '10.50.0.0/16', nextHopIp: '10.0.0.12'}]))
    assert.deepEqual(chosen(steps), {route: 'to-gw2', next: 'instance/gw2'})
    assert.equal(stepOf(steps, 'APPLY_ROUTE').route?.nextHopType, 'NEXT_HOP_IP')
    assertDelivered(steps, 'instance/server')
  })
})

describe('ROUTE-10: canIpForward', () => {
  it('ROUTE-10(i): a next-hop VM without canIpForward may not receive a packet for a foreign destination', () => {
    const model = base().vm('plain', 'us-west1-a', [nic('vpc-a', 'a-main', '10.0.0.13'), nic('vpc-b', 'b-main', '10.50.1.13')], {guest: {ipForward: true}})
      .route(via('to-plain', '10.50.0.0/16', 'plain')).load()
    assertDrop(forward(model), 'FOREIGN_IP_DISALLOWED', 'instance/plain')
  })

  it('ROUTE-10(i): with canIpForward the gateway receives it (SPOOFING_APPROVED)', () => {
    const steps = forward(withRoutes([via('to-gw1', '10.50.0.0/16', 'gw1')]))
    const approved = stepOf(steps, 'SPOOFING_APPROVED', 'instance/gw1')
    assert.equal(approved.packet.dst, '10.50.1.5')
    assertDelivered(steps, 'instance/server')
  })

  it('ROUTE-10(ii): a VM may not send with a source that is not its own address on that NIC without canIpForward', () => {
    // Bound to nic0's address, the guest routes 10.50.1.5 out of nic1 (connected subnet): a foreign source in vpc-b.
    const model = base().vm('dual', 'us-west1-a', [nic('vpc-a', 'a-main', '10.0.0.14'), nic('vpc-b', 'b-main', '10.50.1.14')]).load()
    assertDrop(forward(model, '10.50.1.5:80', '10.0.0.14'), 'FOREIGN_IP_DISALLOWED', 'instance/dual')
  })

  it('ROUTE-10(ii): with canIpForward the same VM sends it (SPOOFING_APPROVED) and it is delivered', () => {
    const model = base().vm('dual', 'us-west1-a', [nic('vpc-a', 'a-main', '10.0.0.14'), nic('vpc-b', 'b-main', '10.50.1.14')], {canIpForward: true}).load()
    const steps = forward(model, '10.50.1.5:80', '10.0.0.14')
    assert.equal(stepOf(steps, 'SPOOFING_APPROVED', 'instance/dual').packet.src, '10.0.0.14')
    assert.equal(assertDelivered(steps, 'instance/server').packet.src, '10.0.0.14')
  })
})

describe('ROUTE-11: guest routing on multi-NIC VMs', () => {
  const gw3 = (routes: Array<{destRange: string; nic: number}>): Model =>
    base().gateway('gw3', 'us-west1-a', [nic('vpc-a', 'a-main', '10.0.0.15'), nic('vpc-b', 'b-main', '10.50.1.15')], {routes})
      .route(via('to-gw3', '10.50.0.0/16', 'gw3')).load()

  it('ROUTE-11: a destination in a NIC\'s connected subnet leaves through that NIC, into that NIC\'s network', () => {
    const steps = forward(gw3([]))
    const after = steps.slice(indexOf(steps, 'ARRIVE_AT_INSTANCE', 'instance/gw3'))
    assert.equal(stepOf(after, 'APPLY_ROUTE').at, 'network/vpc-b')
    assertDelivered(steps, 'instance/server')
  })

  it('ROUTE-11: any other destination follows the default route on nic0, back into nic0\'s network', () => {
    const steps = forward(gw3([]), '10.50.2.5:80')
    const after = steps.slice(indexOf(steps, 'ARRIVE_AT_INSTANCE', 'instance/gw3') + 1)
    assert.equal(stepOf(after, 'APPLY_ROUTE').at, 'network/vpc-a')
    assert.notEqual(steps[steps.length - 1]?.step, 'DELIVER')
  })

  it('ROUTE-11: a guest route sends it out of nic1, and vpc-b\'s routes decide the next hop', () => {
    const steps = forward(gw3([{destRange: '10.50.2.0/24', nic: 1}]), '10.50.2.5:80')
    const after = steps.slice(indexOf(steps, 'ARRIVE_AT_INSTANCE', 'instance/gw3') + 1)
    assert.equal(stepOf(after, 'APPLY_ROUTE').at, 'network/vpc-b')
    assert.equal(stepOf(after, 'APPLY_ROUTE').route?.destRange, '10.50.2.0/24')
    assertDelivered(steps, 'instance/server2')
  })
})

describe('ROUTE-12 and §9 step 6: where the route leads', () => {
  const internet = (): Model => base().internetRoute('vpc-a').load()

  for (const dst of ['10.50.1.5', '172.16.0.5', '192.168.1.5', '100.64.0.5', '169.254.10.5']) {
    it(`ROUTE-12: private or link-local ${dst} whose best route is the internet gateway drops with PRIVATE_TRAFFIC_TO_INTERNET`, () => {
      const steps = forward(internet(), `${dst}:80`)
      assert.equal(stepOf(steps, 'APPLY_ROUTE').route?.nextHopType, 'NEXT_HOP_INTERNET_GATEWAY')
      assertDrop(steps, 'PRIVATE_TRAFFIC_TO_INTERNET', 'network/vpc-a')
    })
  }

  it('ROUTE-12: a public destination from a VM without an external address drops with NO_EXTERNAL_ADDRESS', () => {
    assertDrop(forward(internet(), '8.8.8.8:53'), 'NO_EXTERNAL_ADDRESS')
  })

  it('contracts §2: a public destination the VM cannot reach is NO_ROUTE, never UNKNOWN_INTERNAL_ADDRESS', () => {
    assert.equal(doctor(internet(), 'instance/client', '8.8.8.8:53', 'udp').diagnosis?.code, 'NO_ROUTE')
    assert.equal(doctor(withRoutes([]), 'instance/client', '8.8.8.8:53', 'udp').diagnosis?.code, 'NO_ROUTE')
    assert.equal(doctor(withRoutes([]), 'instance/client', '10.99.0.7:53', 'udp').diagnosis?.code, 'UNKNOWN_INTERNAL_ADDRESS')
  })

  it('ROUTE-04: without a default route a public destination has no route at all', () => {
    assertDrop(forward(withRoutes([]), '8.8.8.8:53'), 'NO_ROUTE', 'network/vpc-a')
  })

  it('§9 6c: an address inside a subnet that nothing owns drops with UNKNOWN_INTERNAL_ADDRESS', () => {
    assertDrop(forward(withRoutes([]), '10.0.0.77:80'), 'UNKNOWN_INTERNAL_ADDRESS')
  })
})

describe('GKE-06: Service ClusterIPs', () => {
  const clusters = (): Model =>
    base()
      .edit((t) => (t.networks[0]?.subnets?.[0]?.secondaryIpRanges?.push({rangeName: 'pods', ipCidrRange: '10.4.0.0/14'}, {rangeName: 'services', ipCidrRange: '10.8.0.0/20'})))
      .cluster({
        name: 'c1', location: 'us-west1-a', network: 'vpc-a', subnetwork: 'a-main', mode: 'VPC_NATIVE', clusterIpv4Cidr: '10.4.0.0/14', servicesIpv4Cidr: '10.8.0.0/20',
        nodes: [{name: 'n1', networkIP: '10.0.0.3', podCidr: '10.4.0.0/24'}, {name: 'n2', networkIP: '10.0.0.4', podCidr: '10.4.1.0/24'}],
        pods: [{name: 'client', node: 'n1', ip: '10.4.0.10'}, {name: 'web', node: 'n2', ip: '10.4.1.10', ports: [8080]}],
        services: [{name: 'web', clusterIP: '10.8.0.10', ports: [{port: 80, targetPort: 8080}], endpoints: ['web']}],
      })
      .load()

  it('GKE-06: a ClusterIP reached from outside its cluster drops with XCC_CLUSTER_IP_FROM_OUTSIDE_CLUSTER', () => {
    const result = trace(clusters(), 'instance/client', '10.8.0.10:80', 'udp')
    assertDrop(onlyPath(result).forward, 'XCC_CLUSTER_IP_FROM_OUTSIDE_CLUSTER')
    assert.equal(result.verdict, 'unreachable')
  })

  it('SVC-06: a pod of the same cluster reaches the ClusterIP: kube-proxy DNATs it to the endpoint pod', () => {
    const result = trace(clusters(), 'c1/default/client', '10.8.0.10:80', 'tcp')
    const steps = onlyPath(result).forward
    const dnat = steps.find((s) => s.step === 'NAT' && s.nat?.before.dst === '10.8.0.10')
    assert.ok(dnat, 'expected a DNAT of the ClusterIP')
    assert.equal(dnat.nat?.after.dst, '10.4.1.10')
    assert.equal(dnat.nat?.after.dstPort, 8080)
    assertDelivered(steps, 'c1/default/web')
    assert.equal(result.verdict, 'reachable')
  })
})
