/**
 * GKE pod masquerading on the client node (gcp-network-semantics.md §1, SNAT-03…SNAT-18, §9
 * steps 1–3): the NAT(GKE_POD_IP_MASQUERADING) or SKIP_GKE_POD_IP_MASQUERADING step, its reason
 * and range, and the source address every later step sees.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {XccError} from '../../../src/core/errors.js'
import type {Model} from '../../../src/core/topology/model-types.js'
import {resolveFlow} from '../../../src/core/trace/endpoints.js'
import type {Step} from '../../../src/core/trace/types.js'
import {
  type ClusterInput, type NodeInput, assertDelivered, indexOf, names, nic, onlyPath, stepOf, subnet, topology, trace,
} from '../../builders/topology.js'

const CLIENT = '10.4.0.10'
const NODE_IP = '10.0.0.2'

/**
 * vpc-a (us-west1): subnet 10.0.0.0/24 with secondary ranges pods 10.4.0.0/14 and services 10.8.0.0/20.
 * Cluster c1: node n1 10.0.0.2 (pods 10.4.0.0/24), node n2 10.0.0.3 (pods 10.4.1.0/24).
 * Pods: client 10.4.0.10 and peer 10.4.0.11 on n1, far 10.4.1.10 on n2, host (hostNetwork) on n1.
 */
function snatModel(options: {masquerade?: ClusterInput['masquerade']; mode?: ClusterInput['mode']; n1?: Partial<NodeInput>} = {}): Model {
  return topology('snat')
    // VPC-native pods and services are secondary ranges; a routes-based pod range must not be one.
    .network('vpc-a', subnet('a-main', 'us-west1', '10.0.0.0/24', options.mode === 'ROUTES' ? {} : {pods: '10.4.0.0/14', services: '10.8.0.0/20'}))
    .internetRoute('vpc-a')
    .allowIngress('vpc-a', ['10.0.0.0/8'])
    .vm('server', 'us-west1-a', nic('vpc-a', 'a-main', '10.0.0.50'))
    .cluster({
      name: 'c1', location: 'us-west1-a', network: 'vpc-a', subnetwork: 'a-main', mode: options.mode ?? 'VPC_NATIVE',
      clusterIpv4Cidr: '10.4.0.0/14', servicesIpv4Cidr: '10.8.0.0/20',
      ...(options.masquerade ? {masquerade: options.masquerade} : {}),
      nodes: [{name: 'n1', networkIP: NODE_IP, podCidr: '10.4.0.0/24', ...options.n1}, {name: 'n2', networkIP: '10.0.0.3', podCidr: '10.4.1.0/24'}],
      pods: [
        {name: 'client', node: 'n1', ip: CLIENT},
        {name: 'peer', node: 'n1', ip: '10.4.0.11', ports: [8080]},
        {name: 'far', node: 'n2', ip: '10.4.1.10', ports: [8080]},
        {name: 'host', node: 'n1', ip: NODE_IP, hostNetwork: true},
      ],
    })
    .load()
}

/** The masquerade decision of the client node: NAT(GKE_POD_IP_MASQUERADING) or SKIP_GKE_POD_IP_MASQUERADING. */
function masqueradeStep(model: Model, dst: string, from = 'c1/default/client'): Step {
  const steps = onlyPath(trace(model, from, `${dst}:80`, 'udp')).forward
  const found = steps.filter((s) => s.step === 'SKIP_GKE_POD_IP_MASQUERADING' || (s.step === 'NAT' && s.nat?.type === 'GKE_POD_IP_MASQUERADING'))
  assert.equal(found.length, 1, `expected exactly one masquerade decision, got ${found.length}: ${names(steps).join(' → ')}`)
  return found[0] as Step
}

function assertMasqueraded(step: Step, dst: string): void {
  assert.equal(step.step, 'NAT', `expected NAT for ${dst}, got ${step.step} (${step.reason ?? ''})`)
  assert.equal(step.nat?.type, 'GKE_POD_IP_MASQUERADING')
  assert.equal(step.at, 'node/n1')
  assert.equal(step.nat?.before.src, CLIENT)
  assert.equal(step.nat?.after.src, NODE_IP)
  assert.equal(step.nat?.before.dst, dst)
  assert.equal(step.nat?.after.dst, dst)
}

function assertSkipped(step: Step, reason: string, range?: string): void {
  assert.equal(step.step, 'SKIP_GKE_POD_IP_MASQUERADING', `expected SKIP (${reason}), got ${step.step}`)
  assert.equal(step.reason, reason)
  assert.equal(step.at, 'node/n1')
  assert.equal(step.packet.src, CLIENT)
  if (range !== undefined) assert.equal(step.nonMasqueradeRange, range)
}

/** SNAT-11/SNAT-12: GKE's default non-masquerade destinations, with an address inside each. */
const GKE_DEFAULTS: ReadonlyArray<readonly [string, string]> = [
  ['10.0.0.0/8', '10.200.0.5'], ['172.16.0.0/12', '172.20.1.1'], ['192.168.0.0/16', '192.168.7.7'], ['100.64.0.0/10', '100.100.0.1'],
  ['192.0.0.0/24', '192.0.0.9'], ['192.0.2.0/24', '192.0.2.9'], ['192.88.99.0/24', '192.88.99.9'], ['198.18.0.0/15', '198.19.0.9'],
  ['198.51.100.0/24', '198.51.100.9'], ['203.0.113.0/24', '203.0.113.9'], ['240.0.0.0/4', '250.0.0.9'],
]

describe('SNAT-09: the legacy kubenet rule', () => {
  const model = snatModel({mode: 'ROUTES', masquerade: {kubenet: {nonMasqueradeCidr: '10.0.0.0/8'}}})

  it('SNAT-09: keeps the pod IP for a destination inside nonMasqueradeCidr (the seed 001 case)', () => {
    assertSkipped(masqueradeStep(model, '10.200.0.5'), 'DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE', '10.0.0.0/8')
  })

  it('SNAT-09: masquerades a destination outside nonMasqueradeCidr to the node IP', () => {
    assertMasqueraded(masqueradeStep(model, '172.16.5.5'), '172.16.5.5')
    assertMasqueraded(masqueradeStep(model, '8.8.8.8'), '8.8.8.8')
  })

  it('SNAT-09: a narrower nonMasqueradeCidr masquerades the rest of 10.0.0.0/8', () => {
    const narrow = snatModel({mode: 'ROUTES', masquerade: {kubenet: {nonMasqueradeCidr: '10.4.0.0/14'}}})
    assertMasqueraded(masqueradeStep(narrow, '10.200.0.5'), '10.200.0.5')
    assertSkipped(masqueradeStep(narrow, '10.4.1.10'), 'DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE', '10.4.0.0/14')
  })
})

describe('SNAT-11/SNAT-12/SNAT-13: GKE default SNAT (IP-MASQ chain)', () => {
  const model = snatModel()

  for (const [range, address] of GKE_DEFAULTS) {
    it(`SNAT-12: does not masquerade ${address}, in the default non-masquerade range ${range}`, () => {
      assertSkipped(masqueradeStep(model, address), 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE', range)
    })
  }

  it('SNAT-02/SNAT-06: does not masquerade link-local 169.254.0.0/16 while masqLinkLocal is false', () => {
    assertSkipped(masqueradeStep(model, '169.254.169.254'), 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE', '169.254.0.0/16')
  })

  it('SNAT-12: masquerades 35.199.192.0/19 and other Google ranges, which are not in the default list', () => {
    assertMasqueraded(masqueradeStep(model, '35.199.192.5'), '35.199.192.5')
    assertMasqueraded(masqueradeStep(model, '8.8.8.8'), '8.8.8.8')
  })

  it('SNAT-13: a cluster without a masquerade setting behaves like ipMasq with the default list', () => {
    const explicit = snatModel({masquerade: {ipMasq: {}}})
    for (const dst of ['10.200.0.5', '100.100.0.1', '169.254.169.254', '8.8.8.8']) {
      const a = masqueradeStep(model, dst)
      const b = masqueradeStep(explicit, dst)
      assert.deepEqual([a.step, a.reason, a.nonMasqueradeRange], [b.step, b.reason, b.nonMasqueradeRange], dst)
    }
  })

  it('SNAT-06: every later step sees the node IP as source once the node masquerades', () => {
    const steps = onlyPath(trace(model, 'c1/default/client', '8.8.8.8:80', 'udp')).forward
    const nat = indexOf(steps, 'NAT')
    assert.ok(nat > 0)
    for (const s of steps.slice(nat + 1)) assert.equal(s.packet.src, NODE_IP, `${s.step}@${s.at}`)
  })
})

describe('SNAT-03/SNAT-05: a configured ip-masq-agent', () => {
  it('SNAT-03: a configured list replaces the defaults: listed ranges keep the pod IP, the rest of 10/8 is masqueraded', () => {
    const model = snatModel({masquerade: {ipMasq: {nonMasqueradeCIDRs: ['10.200.0.0/16']}}})
    assertSkipped(masqueradeStep(model, '10.200.0.5'), 'DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE', '10.200.0.0/16')
    assertMasqueraded(masqueradeStep(model, '10.201.0.5'), '10.201.0.5')
    assertMasqueraded(masqueradeStep(model, '192.168.7.7'), '192.168.7.7')
  })

  it('SNAT-03: a configured list still leaves link-local alone while masqLinkLocal is false', () => {
    const model = snatModel({masquerade: {ipMasq: {nonMasqueradeCIDRs: ['10.200.0.0/16']}}})
    assertSkipped(masqueradeStep(model, '169.254.169.254'), 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE', '169.254.0.0/16')
  })

  it('SNAT-03: an empty list masquerades everything except link-local', () => {
    const model = snatModel({masquerade: {ipMasq: {nonMasqueradeCIDRs: []}}})
    for (const dst of ['10.200.0.5', '10.4.1.10', '172.20.1.1', '192.168.7.7', '100.100.0.1', '8.8.8.8']) assertMasqueraded(masqueradeStep(model, dst), dst)
    assertSkipped(masqueradeStep(model, '169.254.169.254'), 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE', '169.254.0.0/16')
  })

  it('SNAT-03: masqLinkLocal alone keeps the default list (only the fields provided are overwritten)', () => {
    const model = snatModel({masquerade: {ipMasq: {masqLinkLocal: true}}})
    assertMasqueraded(masqueradeStep(model, '169.254.169.254'), '169.254.169.254')
    assertSkipped(masqueradeStep(model, '10.200.0.5'), 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE', '10.0.0.0/8')
  })

  it('SNAT-03: a config that sets other fields (cidrLimit) but no list keeps the default list', () => {
    const model = snatModel({masquerade: {ipMasq: {cidrLimit: 10}}})
    assertSkipped(masqueradeStep(model, '172.20.1.1'), 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE', '172.16.0.0/12')
    assertMasqueraded(masqueradeStep(model, '8.8.8.8'), '8.8.8.8')
  })

  it('SNAT-02: masqLinkLocal with an empty list masquerades link-local too', () => {
    const model = snatModel({masquerade: {ipMasq: {nonMasqueradeCIDRs: [], masqLinkLocal: true}}})
    assertMasqueraded(masqueradeStep(model, '169.254.169.254'), '169.254.169.254')
  })

  it('SNAT-05: the first listed range that holds the destination is the one reported (config order)', () => {
    const model = snatModel({masquerade: {ipMasq: {nonMasqueradeCIDRs: ['10.0.0.0/8', '10.200.0.0/16']}}})
    assertSkipped(masqueradeStep(model, '10.200.0.5'), 'DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE', '10.0.0.0/8')
  })
})

describe('SNAT-13: --disable-default-snat', () => {
  const model = snatModel({masquerade: {disabled: true}})

  it('SNAT-13: never masquerades, for private or public destinations, with reason DEFAULT_SNAT_DISABLED', () => {
    for (const dst of ['10.200.0.5', '8.8.8.8', '35.199.192.5']) assertSkipped(masqueradeStep(model, dst), 'DEFAULT_SNAT_DISABLED')
  })
})

describe('SNAT-14: node iptables evaluated as one POSTROUTING chain', () => {
  const withRules = (...lines: string[]): Model =>
    snatModel({
      masquerade: {disabled: true},
      n1: {iptables: ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ...lines, 'COMMIT', ''].join('\n')},
    })

  it('contracts §1: a node iptables dump replaces the cluster masquerade setting for that node', () => {
    const model = withRules('-A POSTROUTING ! -d 10.4.0.0/14 -m addrtype ! --dst-type LOCAL -j MASQUERADE')
    assertMasqueraded(masqueradeStep(model, '10.200.0.5'), '10.200.0.5')
  })

  it('SNAT-14: a RETURN from IP-MASQ continues with the next POSTROUTING rule, which may still masquerade', () => {
    const model = withRules(
      ':IP-MASQ - [0:0]',
      '-A POSTROUTING -m addrtype ! --dst-type LOCAL -j IP-MASQ',
      '-A POSTROUTING -d 10.200.0.0/16 -j MASQUERADE',
      '-A IP-MASQ -d 169.254.0.0/16 -j RETURN',
      '-A IP-MASQ -d 10.0.0.0/8 -j RETURN',
      '-A IP-MASQ -j MASQUERADE',
    )
    assertMasqueraded(masqueradeStep(model, '10.200.0.5'), '10.200.0.5')
    const kept = masqueradeStep(model, '10.201.0.5')
    assert.equal(kept.step, 'SKIP_GKE_POD_IP_MASQUERADING')
    assert.equal(kept.packet.src, CLIENT)
  })

  it('SNAT-14: an IP-MASQ-AGENT chain before IP-MASQ masquerades what it does not return, even inside 10/8', () => {
    const model = withRules(
      ':IP-MASQ-AGENT - [0:0]',
      ':IP-MASQ - [0:0]',
      '-A POSTROUTING -m addrtype ! --dst-type LOCAL -j IP-MASQ-AGENT',
      '-A POSTROUTING -m addrtype ! --dst-type LOCAL -j IP-MASQ',
      '-A IP-MASQ-AGENT -d 10.200.0.0/16 -j RETURN',
      '-A IP-MASQ-AGENT -j MASQUERADE',
      '-A IP-MASQ -d 10.0.0.0/8 -j RETURN',
      '-A IP-MASQ -j MASQUERADE',
    )
    assertMasqueraded(masqueradeStep(model, '10.201.0.5'), '10.201.0.5')
    const kept = masqueradeStep(model, '10.200.0.5')
    assert.equal(kept.step, 'SKIP_GKE_POD_IP_MASQUERADING')
    assert.equal(kept.packet.src, CLIENT)
  })

  it('SNAT-10: a "! -d <clusterIpv4Cidr>" MASQUERADE rule before the kubenet rule masquerades the rest of 10/8', () => {
    const model = withRules(
      '-A POSTROUTING ! -d 10.4.0.0/14 -m comment --comment "ClusterIP: SNAT for outbound traffic" -m addrtype ! --dst-type LOCAL -j MASQUERADE',
      '-A POSTROUTING ! -d 10.0.0.0/8 -m comment --comment "kubenet: SNAT for outbound traffic from cluster" -m addrtype ! --dst-type LOCAL -j MASQUERADE',
    )
    assertMasqueraded(masqueradeStep(model, '10.200.0.5'), '10.200.0.5')
    assertSkipped(masqueradeStep(model, '10.4.1.10'), 'DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE', '10.4.0.0/14')
  })

  it('SNAT-14: a node whose POSTROUTING has no masquerade rule keeps the pod IP for every destination', () => {
    const model = withRules()
    const kept = masqueradeStep(model, '8.8.8.8')
    assert.equal(kept.step, 'SKIP_GKE_POD_IP_MASQUERADING')
    assert.equal(kept.packet.src, CLIENT)
  })
})

describe('node ipsets: -m set rules of a node decided with its ipset save', () => {
  // Calico's cali-nat-outgoing: masquerade what leaves the IP pools for outside them
  const calico = (ipsets?: string): Model => snatModel({
    masquerade: {disabled: true},
    n1: {
      iptables: ['*nat', '-A POSTROUTING -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE', 'COMMIT', ''].join('\n'),
      ...(ipsets === undefined ? {} : {ipsets}),
    },
  })
  const pools = 'create cali40masq-ipam-pools hash:net\nadd cali40masq-ipam-pools 10.4.0.0/14\ncreate cali40all-ipam-pools hash:net\nadd cali40all-ipam-pools 10.4.0.0/14\n'

  it('masquerades by the node\'s sets: out of the pools is masqueraded, inside them kept', () => {
    assertMasqueraded(masqueradeStep(calico(pools), '10.200.0.5'), '10.200.0.5')
    assert.equal(masqueradeStep(calico(pools), '10.4.1.10').step, 'SKIP_GKE_POD_IP_MASQUERADING')
  })

  it('without the node\'s ipsets the same rule cannot be decided', () => {
    const result = trace(calico(), 'c1/default/client', '10.200.0.5:80', 'udp')
    assert.equal(result.verdict, 'unknown')
  })
})

describe('SNAT-18 / §9 steps 1–3: the source and the skip reasons', () => {
  for (const mode of ['ROUTES', 'VPC_NATIVE'] as const) {
    it(`§9: a ${mode} pod's trace starts at the pod, decides SNAT on the node, then applies egress firewalls, then routes`, () => {
      const steps = onlyPath(trace(snatModel({mode}), 'c1/default/client', '8.8.8.8:80', 'udp')).forward
      assert.equal(steps[0]?.step, 'START_FROM_GKE_POD')
      assert.equal(steps[0]?.at, 'c1/default/client')
      assert.equal(steps[0]?.packet.src, CLIENT)
      assert.equal(steps[0]?.packet.srcPort, 40000)
      const nat = indexOf(steps, 'NAT')
      const egress = indexOf(steps, 'APPLY_EGRESS_FIREWALL_RULE')
      const route = indexOf(steps, 'APPLY_ROUTE')
      assert.ok(nat > 0 && nat < egress && egress < route, names(steps).join(' → '))
    })

    it(`SNAT-18: a ${mode} pod on the same node is reached without masquerade (DESTINATION_ON_SAME_NODE) and without the VPC`, () => {
      const steps = onlyPath(trace(snatModel({mode}), 'c1/default/client', '10.4.0.11:8080', 'udp')).forward
      const skip = stepOf(steps, 'SKIP_GKE_POD_IP_MASQUERADING')
      assert.equal(skip.reason, 'DESTINATION_ON_SAME_NODE')
      assert.equal(indexOf(steps, 'APPLY_ROUTE'), -1)
      assert.equal(indexOf(steps, 'APPLY_EGRESS_FIREWALL_RULE'), -1)
      assert.equal(stepOf(steps, 'ARRIVE_AT_GKE_POD').at, 'c1/default/peer')
      assert.equal(assertDelivered(steps, 'c1/default/peer').packet.src, CLIENT)
    })
  }

  it('SNAT-18: a pod on another node of a VPC-native cluster keeps its IP (default range) and crosses the VPC', () => {
    const steps = onlyPath(trace(snatModel(), 'c1/default/client', '10.4.1.10:8080', 'udp')).forward
    assertSkipped(stepOf(steps, 'SKIP_GKE_POD_IP_MASQUERADING'), 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE', '10.0.0.0/8')
    assert.ok(indexOf(steps, 'APPLY_ROUTE') > 0)
    assert.equal(stepOf(steps, 'ARRIVE_AT_INSTANCE').at, 'node/n2')
    assert.equal(assertDelivered(steps, 'c1/default/far').packet.src, CLIENT)
  })

  it('SNAT-18: a hostNetwork pod sends with the node IP and skips masquerading (POD_USES_NODE_NETWORK_NAMESPACE)', () => {
    const steps = onlyPath(trace(snatModel(), 'c1/default/host', '8.8.8.8:80', 'udp')).forward
    assert.equal(steps[0]?.step, 'START_FROM_GKE_POD')
    assert.equal(steps[0]?.packet.src, NODE_IP)
    assert.equal(stepOf(steps, 'SKIP_GKE_POD_IP_MASQUERADING').reason, 'POD_USES_NODE_NETWORK_NAMESPACE')
    assert.equal(steps.filter((s) => s.nat?.type === 'GKE_POD_IP_MASQUERADING').length, 0)
    for (const s of steps) assert.equal(s.packet.src, NODE_IP, `${s.step}@${s.at}`)
  })

  it('SNAT-18: a hostNetwork pod\'s trace reports no NAT step after skipping masquerading', () => {
    const steps = onlyPath(trace(snatModel(), 'c1/default/host', '8.8.8.8:80', 'udp')).forward
    assert.deepEqual(steps.filter((s) => s.step === 'NAT').map((s) => s.nat), [])
  })

  it('SNAT-06: node-originated traffic keeps the node IP as source', () => {
    const steps = onlyPath(trace(snatModel(), 'node/n1', '8.8.8.8:80', 'udp')).forward
    assert.equal(steps[0]?.step, 'START_FROM_INSTANCE')
    assert.equal(steps[0]?.at, 'node/n1')
    assert.equal(steps.filter((s) => s.nat?.type === 'GKE_POD_IP_MASQUERADING').length, 0)
    for (const s of steps) assert.equal(s.packet.src, NODE_IP, `${s.step}@${s.at}`)
  })

  it('SNAT-06: the masquerade rules change nothing for node-originated traffic, so no NAT step is reported', () => {
    const steps = onlyPath(trace(snatModel(), 'node/n1', '8.8.8.8:80', 'udp')).forward
    assert.deepEqual(steps.filter((s) => s.step === 'NAT').map((s) => s.nat), [])
  })

  it('SNAT-06: a pod calling its own node is delivered on the node, without masquerade and without the VPC', () => {
    const steps = onlyPath(trace(snatModel(), 'c1/default/client', `${NODE_IP}:10250`, 'udp')).forward
    assert.equal(steps.filter((s) => s.step === 'NAT').length, 0)
    assert.equal(indexOf(steps, 'APPLY_ROUTE'), -1)
    assert.equal(assertDelivered(steps, 'node/n1').packet.src, CLIENT)
  })

  it('§9 step 2: a pod calling its own node records SKIP_GKE_POD_IP_MASQUERADING/DESTINATION_ON_SAME_NODE', () => {
    const steps = onlyPath(trace(snatModel(), 'c1/default/client', `${NODE_IP}:10250`, 'udp')).forward
    assert.equal(stepOf(steps, 'SKIP_GKE_POD_IP_MASQUERADING').reason, 'DESTINATION_ON_SAME_NODE')
  })
})

describe('contracts §2: --from and --to', () => {
  const model = snatModel()

  it('--from <ipv4> resolves a pod IP to that pod and a node or VM address to that instance', () => {
    const start = (from: string): [string | undefined, string | undefined] => {
      const first = trace(model, from, '8.8.8.8:80', 'udp').paths[0]?.forward[0]
      return [first?.step, first?.at]
    }
    assert.deepEqual(start(CLIENT), ['START_FROM_GKE_POD', 'c1/default/client'])
    assert.deepEqual(start('10.0.0.3'), ['START_FROM_INSTANCE', 'node/n2'])
    assert.deepEqual(start('10.0.0.50'), ['START_FROM_INSTANCE', 'instance/server'])
  })

  it('bad endpoints are usage errors (exit 2): an address the topology does not own, a destination without port, unknown names', () => {
    for (const [from, to] of [['10.0.0.99', '8.8.8.8:80'], ['c1/default/client', '10.0.0.50'], ['nope', '8.8.8.8:80'], ['c1/default/nope', '8.8.8.8:80'], ['c1/default/client', 'lb/nope'], ['node/server', '8.8.8.8:80']]) {
      assert.throws(() => resolveFlow(model, from as string, to as string), (error: unknown) => error instanceof XccError && error.exitCode === 2, `${from} → ${to}`)
    }
  })
})

describe('contracts §2: --from <cluster>', () => {
  it('uses the first declared pod of the cluster', () => {
    const steps = onlyPath(trace(snatModel(), 'c1', '8.8.8.8:80', 'udp')).forward
    assert.equal(steps[0]?.at, 'c1/default/client')
    assert.equal(steps[0]?.packet.src, CLIENT)
  })

  it('without declared pods, uses podCidr network + 10 on the first node, labelled <cluster>/<node>', () => {
    const model = topology('implicit')
      .network('vpc-a', subnet('a-main', 'us-west1', '10.0.0.0/24', {pods: '10.4.0.0/14'}))
      .cluster({
        name: 'c1', location: 'us-west1-a', network: 'vpc-a', subnetwork: 'a-main', mode: 'VPC_NATIVE', clusterIpv4Cidr: '10.4.0.0/14', servicesIpv4Cidr: '10.8.0.0/20',
        nodes: [{name: 'n1', networkIP: NODE_IP, podCidr: '10.4.2.0/24'}],
      })
      .load()
    const steps = onlyPath(trace(model, 'c1', '8.8.8.8:80', 'udp')).forward
    assert.equal(steps[0]?.step, 'START_FROM_GKE_POD')
    assert.equal(steps[0]?.at, 'c1/n1')
    assert.equal(steps[0]?.packet.src, '10.4.2.10')
    const nat = masqueradeStep(model, '8.8.8.8', 'c1')
    assert.equal(nat.step, 'NAT')
    assert.equal(nat.nat?.before.src, '10.4.2.10')
    assert.equal(nat.nat?.after.src, NODE_IP)
  })
})
