/**
 * VPC firewall rules (gcp-network-semantics.md §4, FW-01…FW-08, PEER-09): which rule decides,
 * where it is evaluated, and connection tracking for replies.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {Model} from '../../../src/core/topology/model-types.js'
import type {FirewallView, Protocol, Step} from '../../../src/core/trace/types.js'
import {
  type ClusterInput, type FirewallInput, type TopologyBuilder, assertDelivered, assertDrop, indexOf, nic, onlyPath, stepOf, subnet, topology, trace,
} from '../../builders/topology.js'

/**
 * vpc-a (us-west1) 10.1.0.0/24 + secondary pods 10.4.0.0/14: client 10.1.0.2 [client], stranger 10.1.0.6,
 * server 10.1.0.3 [web], server2 10.1.0.4. No firewall rules unless a test adds them.
 */
function base(...rules: FirewallInput[]): TopologyBuilder {
  const b = topology('firewall')
    .network('vpc-a', subnet('a-main', 'us-west1', '10.1.0.0/24', {pods: '10.4.0.0/14'}))
    .vm('client', 'us-west1-a', nic('vpc-a', 'a-main', '10.1.0.2'), {tags: ['client']})
    .vm('stranger', 'us-west1-a', nic('vpc-a', 'a-main', '10.1.0.6'))
    .vm('server', 'us-west1-a', nic('vpc-a', 'a-main', '10.1.0.3'), {tags: ['web']})
    .vm('server2', 'us-west1-a', nic('vpc-a', 'a-main', '10.1.0.4'))
  for (const r of rules) b.firewall(r)
  return b
}

const allow = (name: string, extra: Partial<FirewallInput> = {}): FirewallInput => ({name, network: 'vpc-a', allowed: [{IPProtocol: 'all'}], ...extra})
const deny = (name: string, extra: Partial<FirewallInput> = {}): FirewallInput => ({name, network: 'vpc-a', denied: [{IPProtocol: 'all'}], ...extra})

function path(model: Model, from: string, to: string, protocol: Protocol = 'udp'): readonly Step[] {
  return onlyPath(trace(model, from, to, protocol)).forward
}

/** The firewall decision for `direction` at `at`: the APPLY_* step, followed by the DROP it causes when it denies (§9 steps 4 and 7). */
function decision(steps: readonly Step[], at: string, direction: 'INGRESS' | 'EGRESS'): FirewallView {
  const index = steps.findIndex((s) => s.at === at && s.firewall?.direction === direction)
  const step = steps[index]
  assert.ok(step?.firewall, `no ${direction} firewall decision at ${at}: ${steps.map((s) => `${s.step}@${s.at}`).join(' → ')}`)
  assert.equal(step.step, direction === 'INGRESS' ? 'APPLY_INGRESS_FIREWALL_RULE' : 'APPLY_EGRESS_FIREWALL_RULE')
  if (step.firewall.action === 'deny') {
    const dropped = steps[index + 1]
    assert.deepEqual([dropped?.step, dropped?.cause, dropped?.at, dropped?.firewall], ['DROP', 'FIREWALL_RULE', at, step.firewall])
    assert.equal(index + 2, steps.length, 'the drop ends the path')
  }
  return step.firewall
}

/** Who decided the ingress of client → server:port. */
function ingressAt(model: Model, to = '10.1.0.3:80', from = 'instance/client', protocol: Protocol = 'udp', at = 'instance/server'): string {
  const view = decision(path(model, from, to, protocol), at, 'INGRESS')
  return `${view.action}:${view.name}`
}

describe('FW-02: implied rules', () => {
  it('FW-02: without rules, ingress is denied by the implied rule at priority 65535', () => {
    const steps = path(base().load(), 'instance/client', '10.1.0.3:80')
    const end = assertDrop(steps, 'FIREWALL_RULE', 'instance/server')
    assert.deepEqual({...end.firewall, name: undefined}, {name: undefined, type: 'IMPLIED_VPC_FIREWALL_RULE', action: 'deny', priority: 65535, network: 'vpc-a', direction: 'INGRESS'})
  })

  it('FW-02: without rules, egress is allowed by the implied rule at priority 65535', () => {
    const egress = decision(path(base().load(), 'instance/client', '10.1.0.3:80'), 'instance/client', 'EGRESS')
    assert.deepEqual({type: egress.type, action: egress.action, priority: egress.priority}, {type: 'IMPLIED_VPC_FIREWALL_RULE', action: 'allow', priority: 65535})
  })
})

describe('FW-01: priority, deny before allow, disabled rules', () => {
  it('FW-01: the rule with the lowest priority value decides', () => {
    assert.equal(ingressAt(base(allow('allow-1000'), deny('deny-900', {priority: 900})).load()), 'deny:deny-900')
    assert.equal(ingressAt(base(allow('allow-900', {priority: 900}), deny('deny-1000')).load()), 'allow:allow-900')
  })

  it('FW-01: at equal priority a deny rule beats an allow rule, in whatever order they are listed', () => {
    assert.equal(ingressAt(base(allow('allow'), deny('deny')).load()), 'deny:deny')
    assert.equal(ingressAt(base(deny('deny'), allow('allow')).load()), 'deny:deny')
  })

  it('FW-01: a disabled rule behaves as if it did not exist', () => {
    assert.equal(ingressAt(base(deny('off', {priority: 100, disabled: true}), allow('allow')).load()), 'allow:allow')
    assert.equal(ingressAt(base(allow('off', {disabled: true})).load()).startsWith('deny:'), true)
  })

  it('FW-01: the decision names the rule, its type, action, priority, network and direction', () => {
    const view = decision(path(base(allow('allow-web', {priority: 500})).load(), 'instance/client', '10.1.0.3:80'), 'instance/server', 'INGRESS')
    assert.deepEqual(view, {name: 'allow-web', type: 'VPC_FIREWALL_RULE', action: 'allow', priority: 500, network: 'vpc-a', direction: 'INGRESS'})
  })
})

describe('FW-03: matching fields', () => {
  it('FW-03: targetTags limit a rule to instances holding one of the tags', () => {
    const model = base(allow('web-only', {targetTags: ['db', 'web']})).load()
    assert.equal(ingressAt(model), 'allow:web-only')
    assert.equal(ingressAt(model, '10.1.0.4:80', 'instance/client', 'udp', 'instance/server2').startsWith('deny:'), true)
  })

  it('FW-03: a rule without targets applies to every instance of the network', () => {
    assert.equal(ingressAt(base(allow('all')).load(), '10.1.0.4:80', 'instance/client', 'udp', 'instance/server2'), 'allow:all')
  })

  it('FW-03: sourceRanges OR sourceTags: either one admits the packet', () => {
    const byTag = base(allow('either', {sourceRanges: ['192.168.0.0/16'], sourceTags: ['client']})).load()
    assert.equal(ingressAt(byTag), 'allow:either')
    assert.equal(ingressAt(byTag, '10.1.0.3:80', 'instance/stranger').startsWith('deny:'), true)
    const byRange = base(allow('either', {sourceRanges: ['10.1.0.6/32'], sourceTags: ['client']})).load()
    assert.equal(ingressAt(byRange, '10.1.0.3:80', 'instance/stranger'), 'allow:either')
  })

  it('FW-03: sourceTags alone match only instances holding the tag', () => {
    const model = base(allow('from-clients', {sourceTags: ['client']})).load()
    assert.equal(ingressAt(model), 'allow:from-clients')
    assert.equal(ingressAt(model, '10.1.0.3:80', 'instance/stranger').startsWith('deny:'), true)
  })

  it('FW-03: destinationRanges restrict an ingress rule to those destination addresses', () => {
    const model = base(allow('to-server', {destinationRanges: ['10.1.0.3/32']})).load()
    assert.equal(ingressAt(model), 'allow:to-server')
    assert.equal(ingressAt(model, '10.1.0.4:80', 'instance/client', 'udp', 'instance/server2').startsWith('deny:'), true)
  })

  it('FW-03: an egress deny with destinationRanges drops at the sender, other destinations keep the implied allow', () => {
    const model = base(allow('in'), deny('no-server', {direction: 'EGRESS', destinationRanges: ['10.1.0.3/32']})).load()
    const steps = path(model, 'instance/client', '10.1.0.3:80')
    assertDrop(steps, 'FIREWALL_RULE', 'instance/client')
    assert.deepEqual([decision(steps, 'instance/client', 'EGRESS').name, decision(steps, 'instance/client', 'EGRESS').direction], ['no-server', 'EGRESS'])
    assertDelivered(path(model, 'instance/client', '10.1.0.4:80'), 'instance/server2')
  })

  it('FW-03: an egress rule with targetTags applies only to senders holding the tag', () => {
    const model = base(allow('in'), deny('clients-out', {direction: 'EGRESS', targetTags: ['client']})).load()
    assertDrop(path(model, 'instance/client', '10.1.0.3:80'), 'FIREWALL_RULE', 'instance/client')
    assertDelivered(path(model, 'instance/stranger', '10.1.0.3:80'), 'instance/server')
  })

  it('FW-03: protocols and ports: the packet must match one listed protocol and, for TCP/UDP, one port or range', () => {
    const model = base(allow('web', {allowed: [{IPProtocol: 'tcp', ports: ['80', '8000-8100']}, {IPProtocol: 'udp', ports: ['53']}]})).load()
    const verdict = (port: number, protocol: Protocol): string => ingressAt(model, `10.1.0.3:${port}`, 'instance/client', protocol)
    assert.equal(verdict(80, 'tcp'), 'allow:web')
    assert.equal(verdict(8000, 'tcp'), 'allow:web')
    assert.equal(verdict(8100, 'tcp'), 'allow:web')
    assert.equal(verdict(53, 'udp'), 'allow:web')
    assert.ok(verdict(81, 'tcp').startsWith('deny:'))
    assert.ok(verdict(8101, 'tcp').startsWith('deny:'))
    assert.ok(verdict(80, 'udp').startsWith('deny:'))
    assert.ok(verdict(53, 'tcp').startsWith('deny:'))
  })

  it('FW-03: a protocol without ports matches every port; "all" matches every protocol; numbers name protocols', () => {
    assert.equal(ingressAt(base(allow('tcp', {allowed: [{IPProtocol: 'tcp'}]})).load(), '10.1.0.3:31337', 'instance/client', 'tcp'), 'allow:tcp')
    assert.equal(ingressAt(base(allow('all')).load(), '10.1.0.3:53', 'instance/client', 'udp'), 'allow:all')
    assert.equal(ingressAt(base(allow('seventeen', {allowed: [{IPProtocol: '17', ports: ['53']}]})).load(), '10.1.0.3:53', 'instance/client', 'udp'), 'allow:seventeen')
  })

  it('FW-03: a deny for one port leaves the other ports to a broader allow', () => {
    const model = base(deny('no-ssh', {priority: 900, denied: [{IPProtocol: 'tcp', ports: ['22']}]}), allow('all')).load()
    assert.equal(ingressAt(model, '10.1.0.3:22', 'instance/client', 'tcp'), 'deny:no-ssh')
    assert.equal(ingressAt(model, '10.1.0.3:80', 'instance/client', 'tcp'), 'allow:all')
  })
})

describe('FW-04/FW-05/FW-08: pods and nodes', () => {
  const withCluster = (rules: FirewallInput[], masquerade?: ClusterInput['masquerade'], podPorts?: number[]): Model =>
    base(...rules)
      .cluster({
        name: 'c1', location: 'us-west1-a', network: 'vpc-a', subnetwork: 'a-main', mode: 'VPC_NATIVE', clusterIpv4Cidr: '10.4.0.0/14', servicesIpv4Cidr: '10.8.0.0/20',
        ...(masquerade ? {masquerade} : {}),
        nodes: [{name: 'n1', networkIP: '10.1.0.10', podCidr: '10.4.0.0/24'}],
        pods: [{name: 'pod', node: 'n1', ip: '10.4.0.10', ...(podPorts ? {ports: podPorts} : {})}],
      })
      .load()

  it('FW-04: sourceTags of the node do not match its pods\' alias IPs', () => {
    const model = withCluster([allow('from-nodes', {sourceTags: ['gke-c1-node']})])
    assert.ok(ingressAt(model, '10.1.0.3:80', 'c1/default/pod').startsWith('deny:'))
    assert.equal(ingressAt(model, '10.1.0.3:80', 'node/n1'), 'allow:from-nodes')
  })

  it('FW-04: a sourceRanges rule covering the pod range admits pod traffic', () => {
    assert.equal(ingressAt(withCluster([allow('from-pods', {sourceRanges: ['10.4.0.0/14']})]), '10.1.0.3:80', 'c1/default/pod'), 'allow:from-pods')
  })

  it('FW-04/FW-07: a masqueraded pod is seen with the node IP, which sourceTags do match', () => {
    assert.equal(ingressAt(withCluster([allow('from-nodes', {sourceTags: ['gke-c1-node']})], {ipMasq: {nonMasqueradeCIDRs: []}}), '10.1.0.3:80', 'c1/default/pod'), 'allow:from-nodes')
  })

  it('FW-05: ingress to a pod is evaluated at its node, against the node\'s tags, with the pod IP as destination', () => {
    const open = withCluster([allow('to-nodes', {targetTags: ['gke-c1-node'], sourceRanges: ['10.1.0.0/24']})], undefined, [8080])
    const steps = path(open, 'instance/server', '10.4.0.10:8080')
    const view = decision(steps, 'node/n1', 'INGRESS')
    assert.equal(view.name, 'to-nodes')
    assert.equal(stepOf(steps, 'APPLY_INGRESS_FIREWALL_RULE', 'node/n1').packet.dst, '10.4.0.10')
    assertDelivered(steps, 'c1/default/pod')
    const closed = withCluster([allow('to-web', {targetTags: ['web'], sourceRanges: ['10.1.0.0/24']})], undefined, [8080])
    assertDrop(path(closed, 'instance/server', '10.4.0.10:8080'), 'FIREWALL_RULE', 'node/n1')
  })

  it('FW-08: pod egress is evaluated at the sending node', () => {
    const model = withCluster([allow('in'), deny('nodes-out', {direction: 'EGRESS', targetTags: ['gke-c1-node']})])
    const steps = path(model, 'c1/default/pod', '10.1.0.3:80')
    assertDrop(steps, 'FIREWALL_RULE', 'node/n1')
    assert.equal(decision(steps, 'node/n1', 'EGRESS').name, 'nodes-out')
  })
})

describe('FW-08/PEER-09: gateways and peered networks', () => {
  /** vpc-b (10.2.0.0/24, server-b 10.2.0.5); gateway gw joins vpc-a (nic0) and vpc-b (nic1); vpc-a routes 10.2.0.0/24 to it. */
  const twoNetworks = (...rules: FirewallInput[]): TopologyBuilder =>
    base(allow('a-in', {sourceRanges: ['10.0.0.0/8']}), ...rules)
      .network('vpc-b', subnet('b-main', 'us-west1', '10.2.0.0/24'))
      .vm('server-b', 'us-west1-a', nic('vpc-b', 'b-main', '10.2.0.5'))

  const viaGateway = (...rules: FirewallInput[]): Model =>
    twoNetworks(...rules)
      .gateway('gw', 'us-west1-a', [nic('vpc-a', 'a-main', '10.1.0.20'), nic('vpc-b', 'b-main', '10.2.0.20')], {}, {tags: ['gateway']})
      .route({name: 'to-b', network: 'vpc-a', destRange: '10.2.0.0/24', nextHopInstance: 'gw'})
      .load()

  it('FW-08: a gateway is checked for ingress on its inbound network and for egress on its outbound network', () => {
    const steps = path(viaGateway({name: 'b-in', network: 'vpc-b', sourceRanges: ['10.1.0.0/24'], allowed: [{IPProtocol: 'all'}]}), 'instance/client', '10.2.0.5:80')
    const ingress = decision(steps, 'instance/gw', 'INGRESS')
    const egress = decision(steps, 'instance/gw', 'EGRESS')
    assert.equal(ingress.network, 'vpc-a')
    assert.equal(egress.network, 'vpc-b')
    assert.ok(indexOf(steps, 'APPLY_INGRESS_FIREWALL_RULE', 'instance/gw') < indexOf(steps, 'APPLY_EGRESS_FIREWALL_RULE', 'instance/gw'))
    assert.equal(decision(steps, 'instance/server-b', 'INGRESS').name, 'b-in')
    assertDelivered(steps, 'instance/server-b')
  })

  it('FW-08: an egress rule of the outbound network drops the packet at the gateway', () => {
    const steps = path(viaGateway(
      {name: 'b-in', network: 'vpc-b', sourceRanges: ['10.1.0.0/24'], allowed: [{IPProtocol: 'all'}]},
      {name: 'gw-out', network: 'vpc-b', direction: 'EGRESS', targetTags: ['gateway'], denied: [{IPProtocol: 'all'}]},
    ), 'instance/client', '10.2.0.5:80')
    assertDrop(steps, 'FIREWALL_RULE', 'instance/gw')
    assert.deepEqual([decision(steps, 'instance/gw', 'EGRESS').name, decision(steps, 'instance/gw', 'EGRESS').network], ['gw-out', 'vpc-b'])
  })

  it('PEER-09: firewall rules are not shared over a peering: the peer\'s rules do not admit traffic to its VMs', () => {
    const steps = path(twoNetworks().peer('vpc-a', 'vpc-b').load(), 'instance/client', '10.2.0.5:80')
    const end = assertDrop(steps, 'FIREWALL_RULE', 'instance/server-b')
    assert.equal(end.firewall?.network, 'vpc-b')
    assert.equal(end.firewall?.type, 'IMPLIED_VPC_FIREWALL_RULE')
  })

  it('PEER-09: sourceTags never match VMs of a peer network; sourceRanges do', () => {
    const byTag = twoNetworks({name: 'b-from-clients', network: 'vpc-b', sourceTags: ['client'], allowed: [{IPProtocol: 'all'}]}).peer('vpc-a', 'vpc-b').load()
    assert.ok(ingressAt(byTag, '10.2.0.5:80', 'instance/client', 'udp', 'instance/server-b').startsWith('deny:'))
    const byRange = twoNetworks({name: 'b-from-a', network: 'vpc-b', sourceRanges: ['10.1.0.0/24'], allowed: [{IPProtocol: 'all'}]}).peer('vpc-a', 'vpc-b').load()
    assert.equal(ingressAt(byRange, '10.2.0.5:80', 'instance/client', 'udp', 'instance/server-b'), 'allow:b-from-a')
  })
})

describe('FW-07: connection tracking', () => {
  const stateful = (): Model => base(allow('web-in', {allowed: [{IPProtocol: 'tcp', ports: ['80']}], sourceTags: ['client']}), deny('server-out', {direction: 'EGRESS', priority: 100, targetTags: ['web']})).load()

  it('FW-07: the reply of an allowed connection passes the server\'s egress and the client\'s ingress as TRACKING_STATE', () => {
    const result = trace(stateful(), 'instance/client', '10.1.0.3:80', 'tcp')
    const back = onlyPath(result).return
    assert.equal(decision(back, 'instance/server', 'EGRESS').type, 'TRACKING_STATE')
    assert.equal(decision(back, 'instance/client', 'INGRESS').type, 'TRACKING_STATE')
    assertDelivered(back, 'instance/client')
    assert.equal(result.verdict, 'reachable')
  })

  it('FW-07: tracking covers only that connection: a new connection from the server is still denied', () => {
    const steps = path(stateful(), 'instance/server', '10.1.0.2:80', 'tcp')
    assertDrop(steps, 'FIREWALL_RULE', 'instance/server')
    assert.equal(decision(steps, 'instance/server', 'EGRESS').name, 'server-out')
  })
})
