/**
 * VPC Network Peering (gcp-network-semantics.md §3, PEER-01…PEER-12) and what it means for GKE
 * pod ranges (GKE-03, GKE-04): which routes a peering exchanges, and when.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {TopologyError} from '../../../src/core/errors.js'
import type {Model} from '../../../src/core/topology/model-types.js'
import type {Step, TraceResult} from '../../../src/core/trace/types.js'
import {
  type PeeringOptions, type TopologyBuilder, assertDelivered, assertDrop, nic, onlyPath, stepOf, subnet, topology, trace,
} from '../../builders/topology.js'

/**
 * vpc-a 10.1.0.0/24 (client 10.1.0.5); vpc-b 10.2.0.0/24 + secondary extra 10.4.0.0/16 (server 10.2.0.5, alias 10.4.0.0/28)
 * + secondary pods 10.3.0.0/16; vpc-c 10.5.0.0/24 (server-c 10.5.0.5). All in us-west1; every network admits 10.0.0.0/8.
 * No peering unless a test adds one.
 */
function base(): TopologyBuilder {
  return topology('peering')
    .network('vpc-a', subnet('a-main', 'us-west1', '10.1.0.0/24'))
    .network('vpc-b', subnet('b-main', 'us-west1', '10.2.0.0/24', {extra: '10.4.0.0/16', pods: '10.3.0.0/16'}))
    .network('vpc-c', subnet('c-main', 'us-west1', '10.5.0.0/24'))
    .allowIngress('vpc-a', ['10.0.0.0/8'])
    .allowIngress('vpc-b', ['10.0.0.0/8'])
    .allowIngress('vpc-c', ['10.0.0.0/8'])
    .vm('client', 'us-west1-a', nic('vpc-a', 'a-main', '10.1.0.5'))
    .vm('server', 'us-west1-a', nic('vpc-b', 'b-main', '10.2.0.5', [{ipCidrRange: '10.4.0.0/28', subnetworkRangeName: 'extra'}]))
    .vm('server-c', 'us-west1-a', nic('vpc-c', 'c-main', '10.5.0.5'))
    .gateway('appliance', 'us-west1-a', [nic('vpc-b', 'b-main', '10.2.0.9')])
}

/** A routes-based cluster cb in vpc-b: node nb 10.2.0.10 (pods 10.8.0.0/24), pod web 10.8.0.10:8080. */
function withRoutesCluster(b: TopologyBuilder): TopologyBuilder {
  return b.cluster({
    name: 'cb', location: 'us-west1-a', network: 'vpc-b', subnetwork: 'b-main', mode: 'ROUTES', clusterIpv4Cidr: '10.8.0.0/14', servicesIpv4Cidr: '10.12.0.0/20',
    nodes: [{name: 'nb', networkIP: '10.2.0.10', podCidr: '10.8.0.0/24'}], pods: [{name: 'web', node: 'nb', ip: '10.8.0.10', ports: [8080]}],
  })
}

/** A VPC-native cluster cn in vpc-b: node nn 10.2.0.20 (pods 10.3.1.0/24 from the secondary range), pod api 10.3.1.10:8080. */
function withNativeCluster(b: TopologyBuilder): TopologyBuilder {
  return b.cluster({
    name: 'cn', location: 'us-west1-a', network: 'vpc-b', subnetwork: 'b-main', mode: 'VPC_NATIVE', clusterIpv4Cidr: '10.3.0.0/16', servicesIpv4Cidr: '10.13.0.0/20',
    nodes: [{name: 'nn', networkIP: '10.2.0.20', podCidr: '10.3.1.0/24'}], pods: [{name: 'api', node: 'nn', ip: '10.3.1.10', ports: [8080]}],
  })
}

/** Custom routes from b into a: export on b's side, import on a's side (PEER-04). */
const exchangeCustom = {a: {importCustomRoutes: true}, b: {exportCustomRoutes: true}}

const tcp = (model: Model, to: string, from = 'instance/client'): TraceResult => trace(model, from, to, 'tcp')
const udp = (model: Model, to: string, from = 'instance/client'): readonly Step[] => onlyPath(trace(model, from, to, 'udp')).forward

describe('PEER-01: a peering is active only when both sides configure it', () => {
  it('PEER-01: with both sides, the peer subnet is routed over the peering and the round trip works', () => {
    const result = tcp(base().peer('vpc-a', 'vpc-b').load(), '10.2.0.5:80')
    assert.equal(result.verdict, 'reachable')
    const route = stepOf(onlyPath(result).forward, 'APPLY_ROUTE', 'network/vpc-a').route
    assert.equal(route?.type, 'PEERING_SUBNET')
    assert.equal(route?.destRange, '10.2.0.0/24')
    assert.equal(route?.peering, 'vpc-a-to-vpc-b')
    assert.equal(stepOf(onlyPath(result).return, 'APPLY_ROUTE', 'network/vpc-b').route?.type, 'PEERING_SUBNET')
  })

  it('PEER-01: configured on the client side only, nothing is exchanged: NO_ROUTE', () => {
    assertDrop(udp(base().peering('vpc-a', 'vpc-b').load(), '10.2.0.5:80'), 'NO_ROUTE', 'network/vpc-a')
  })

  it('PEER-01: configured on the server side only, nothing is exchanged: NO_ROUTE', () => {
    assertDrop(udp(base().peering('vpc-b', 'vpc-a').load(), '10.2.0.5:80'), 'NO_ROUTE', 'network/vpc-a')
  })

  it('PEER-01/ROUTE-12: an inactive peering leaves the default route, which drops private traffic', () => {
    assertDrop(udp(base().peering('vpc-a', 'vpc-b').internetRoute('vpc-a').load(), '10.2.0.5:80'), 'PRIVATE_TRAFFIC_TO_INTERNET', 'network/vpc-a')
  })
})

describe('PEER-02/PEER-03: subnet routes', () => {
  it('PEER-02: secondary ranges are exchanged as subnet routes without any custom-route setting', () => {
    const result = tcp(base().peer('vpc-a', 'vpc-b').load(), '10.4.0.7:80')
    const route = stepOf(onlyPath(result).forward, 'APPLY_ROUTE', 'network/vpc-a').route
    assert.equal(route?.type, 'PEERING_SUBNET')
    assert.equal(route?.destRange, '10.4.0.0/16')
    assertDelivered(onlyPath(result).forward, 'instance/server')
    assert.equal(result.verdict, 'reachable')
  })

  const pupi = (a: PeeringOptions, b: PeeringOptions): Model =>
    base()
      .edit((t) => t.networks[1]?.subnets?.push(subnet('b-pupi', 'us-west1', '45.1.0.0/24')))
      .vm('server-pupi', 'us-west1-a', nic('vpc-b', 'b-pupi', '45.1.0.5'))
      .peer('vpc-a', 'vpc-b', {a, b})
      .load()

  it('PEER-03: a privately used public subnet is exported by default but not imported by default', () => {
    assertDrop(udp(pupi({}, {}), '45.1.0.5:80'), 'NO_ROUTE', 'network/vpc-a')
  })

  it('PEER-02: special-use ranges such as 100.64.0.0/10 are not privately used public ranges: always exchanged', () => {
    const model = base()
      .edit((t) => t.networks[1]?.subnets?.push(subnet('b-cgnat', 'us-west1', '100.64.1.0/24')))
      .vm('server-cgnat', 'us-west1-a', nic('vpc-b', 'b-cgnat', '100.64.1.5'))
      .peer('vpc-a', 'vpc-b')
      .load()
    assertDelivered(udp(model, '100.64.1.5:80'), 'instance/server-cgnat')
  })

  it('PEER-03: it is routed once the importing side sets importSubnetRoutesWithPublicIp', () => {
    const steps = udp(pupi({importSubnetRoutesWithPublicIp: true}, {}), '45.1.0.5:80')
    assert.equal(stepOf(steps, 'APPLY_ROUTE').route?.type, 'PEERING_SUBNET')
    assertDelivered(steps, 'instance/server-pupi')
  })

  it('PEER-03: the import is not enough when the exporting side turns exportSubnetRoutesWithPublicIp off', () => {
    assertDrop(udp(pupi({importSubnetRoutesWithPublicIp: true}, {exportSubnetRoutesWithPublicIp: false}), '45.1.0.5:80'), 'NO_ROUTE', 'network/vpc-a')
  })
})

describe('PEER-04/PEER-05: custom routes', () => {
  const appliance = (options: {a?: PeeringOptions; b?: PeeringOptions}, tags?: string[]): Model =>
    base().route({name: 'to-appliance', network: 'vpc-b', destRange: '10.9.0.0/16', nextHopInstance: 'appliance', priority: 700, ...(tags ? {tags} : {})})
      .peer('vpc-a', 'vpc-b', options).load()

  it('PEER-04: a custom static route crosses only with export on its side and import on the other', () => {
    for (const options of [{}, {b: {exportCustomRoutes: true}}, {a: {importCustomRoutes: true}}, {a: {exportCustomRoutes: true}, b: {importCustomRoutes: true}}]) {
      assertDrop(udp(appliance(options), '10.9.0.5:80'), 'NO_ROUTE', 'network/vpc-a')
    }
  })

  it('PEER-04: an imported custom route keeps its priority and leads to its next hop in the peer network', () => {
    const steps = udp(appliance(exchangeCustom), '10.9.0.5:80')
    const route = stepOf(steps, 'APPLY_ROUTE', 'network/vpc-a').route
    assert.deepEqual({name: route?.name, type: route?.type, priority: route?.priority, destRange: route?.destRange}, {name: 'to-appliance', type: 'PEERING_STATIC', priority: 700, destRange: '10.9.0.0/16'})
    assert.ok(steps.some((s) => s.step === 'ARRIVE_AT_INSTANCE' && s.at === 'instance/appliance'), 'the packet reaches the next hop in vpc-b')
  })

  it('PEER-05: a static route with tags is never exchanged, even with export and import', () => {
    assertDrop(udp(appliance(exchangeCustom, ['router']), '10.9.0.5:80'), 'NO_ROUTE', 'network/vpc-a')
  })

  it('PEER-05: a default route to the internet gateway is not exchanged', () => {
    const model = base().internetRoute('vpc-b').peer('vpc-a', 'vpc-b', exchangeCustom).load()
    assertDrop(udp(model, '8.8.8.8:53'), 'NO_ROUTE', 'network/vpc-a')
    assertDrop(udp(model, '10.77.0.5:80'), 'NO_ROUTE', 'network/vpc-a')
  })

  it('PEER-12/ROUTE-08: a local and an imported static route of equal prefix and priority are both candidates', () => {
    const model = base()
      .route({name: 'to-appliance', network: 'vpc-b', destRange: '10.9.0.0/16', nextHopInstance: 'appliance'})
      .gateway('local-gw', 'us-west1-a', [nic('vpc-a', 'a-main', '10.1.0.9')], {ipForward: false})
      .route({name: 'local', network: 'vpc-a', destRange: '10.9.0.0/16', nextHopInstance: 'local-gw'})
      .peer('vpc-a', 'vpc-b', exchangeCustom)
      .load()
    const result = trace(model, 'instance/client', '10.9.0.5:80', 'udp')
    assert.deepEqual(result.paths.map((p) => stepOf(p.forward, 'APPLY_ROUTE').route?.type).sort(), ['PEERING_STATIC', 'STATIC'])
  })
})

describe('PEER-07: peering is not transitive', () => {
  const chain = (options: {a?: PeeringOptions; b?: PeeringOptions} = {}): TopologyBuilder =>
    base().peer('vpc-a', 'vpc-b', options).peer('vpc-b', 'vpc-c', {a: {exportCustomRoutes: true, importCustomRoutes: true}, b: {exportCustomRoutes: true, importCustomRoutes: true}})

  it('PEER-07: a and c, both peered with b, cannot reach each other', () => {
    assertDrop(udp(chain().load(), '10.5.0.5:80'), 'NO_ROUTE', 'network/vpc-a')
  })

  it('PEER-07: not even with every custom-route export and import turned on', () => {
    assertDrop(udp(chain({a: {exportCustomRoutes: true, importCustomRoutes: true}, b: {exportCustomRoutes: true, importCustomRoutes: true}}).load(), '10.5.0.5:80'), 'NO_ROUTE', 'network/vpc-a')
  })

  it('PEER-07: the middle network reaches both of its peers', () => {
    const model = chain().load()
    assertDelivered(udp(model, '10.5.0.5:80', 'instance/server'), 'instance/server-c')
    assertDelivered(udp(model, '10.1.0.5:80', 'instance/server'), 'instance/client')
  })

  it('PEER-07: a custom route b imported from c is not passed on to a', () => {
    const model = chain(exchangeCustom)
      .gateway('appliance-c', 'us-west1-a', [nic('vpc-c', 'c-main', '10.5.0.9')])
      .route({name: 'c-to-appliance', network: 'vpc-c', destRange: '10.9.0.0/16', nextHopInstance: 'appliance-c'})
      .load()
    assert.equal(stepOf(udp(model, '10.9.0.5:80', 'instance/server'), 'APPLY_ROUTE').route?.type, 'PEERING_STATIC')
    assertDrop(udp(model, '10.9.0.5:80'), 'NO_ROUTE', 'network/vpc-a')
  })
})

describe('GKE-03/GKE-04: pod ranges across a peering', () => {
  it('GKE-03: pods of a VPC-native cluster are reachable from the peer without custom routes (secondary subnet route)', () => {
    const result = tcp(withNativeCluster(base()).peer('vpc-a', 'vpc-b').load(), '10.3.1.10:8080')
    const steps = onlyPath(result).forward
    assert.equal(stepOf(steps, 'APPLY_ROUTE', 'network/vpc-a').route?.type, 'PEERING_SUBNET')
    assert.equal(stepOf(steps, 'ARRIVE_AT_INSTANCE').at, 'node/nn')
    assertDelivered(steps, 'cn/default/api')
    assert.equal(result.verdict, 'reachable')
  })

  it('GKE-04: pods of a routes-based cluster are not reachable from the peer without custom-route exchange', () => {
    for (const options of [{}, {a: {importCustomRoutes: true}}, {b: {exportCustomRoutes: true}}]) {
      const result = trace(withRoutesCluster(base()).peer('vpc-a', 'vpc-b', options).load(), 'instance/client', '10.8.0.10:8080', 'udp')
      assert.equal(result.verdict, 'unreachable', JSON.stringify(options))
      assertDrop(onlyPath(result).forward, 'NO_ROUTE', 'network/vpc-a')
    }
  })

  it('GKE-04: with export on the cluster side and import on the peer, the per-node pod route leads to the node', () => {
    const result = tcp(withRoutesCluster(base()).peer('vpc-a', 'vpc-b', exchangeCustom).load(), '10.8.0.10:8080')
    const steps = onlyPath(result).forward
    const route = stepOf(steps, 'APPLY_ROUTE', 'network/vpc-a').route
    assert.equal(route?.type, 'PEERING_STATIC')
    assert.equal(route?.destRange, '10.8.0.0/24')
    assert.equal(stepOf(steps, 'ARRIVE_AT_INSTANCE').at, 'node/nb')
    assertDelivered(steps, 'cb/default/web')
    assert.equal(result.verdict, 'reachable')
  })

  it('GKE-04/contracts §1: inside its own VPC a routes-based pod is reached through the implied per-node route', () => {
    const model = withRoutesCluster(base()).load()
    const route = stepOf(udp(model, '10.8.0.10:8080', 'instance/server'), 'APPLY_ROUTE', 'network/vpc-b').route
    assert.deepEqual({type: route?.type, destRange: route?.destRange, priority: route?.priority, nextHopType: route?.nextHopType}, {type: 'STATIC', destRange: '10.8.0.0/24', priority: 1000, nextHopType: 'NEXT_HOP_INSTANCE'})
  })
})

describe('PEER-08: overlapping ranges', () => {
  const overlapping = (bothSides: boolean): Model => {
    const b = topology('overlap')
      .network('vpc-a', subnet('a-main', 'us-west1', '10.1.0.0/24'))
      .network('vpc-b', subnet('b-main', 'us-west1', '10.1.0.0/25'))
    return (bothSides ? b.peer('vpc-a', 'vpc-b') : b.peering('vpc-a', 'vpc-b')).load()
  }

  it('PEER-08: two actively peered networks with overlapping subnet ranges are an inconsistent topology', () => {
    assert.throws(() => overlapping(true), TopologyError)
  })

  it('PEER-08: the same ranges are fine while the peering is not active', () => {
    assert.doesNotThrow(() => overlapping(false))
  })
})
