/**
 * Where a flow starts (contracts.md §2 --from, §9 step 1): the source address the kernel gives an
 * unbound socket (the address of the way out, ROUTE-11), host-network pods (SNAT-18
 * POD_USES_NODE_NETWORK_NAMESPACE) whose replies come back to their node, a pod that connects to
 * itself, and kube-proxy's answer for a service without endpoints (SVC-06).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {Model} from '../../../src/core/topology/model-types.js'
import {assertDelivered, assertDrop, doctor, names, nic, onlyPath, stepOf, subnet, topology, trace} from '../../builders/topology.js'

/**
 * vpc-a 10.1.0.0/24 with pods 10.4.0.0/14: VM server 10.1.0.50 (alias range 10.1.1.0/28 is not used),
 * a two-NIC VM gw (nic0 10.1.0.60, nic1 10.2.0.60 in vpc-b, alias 10.1.2.0/28 on nic0), and cluster c1
 * (node n1 10.1.0.10, pods 10.4.0.0/24: client 10.4.0.10, echo 10.4.0.20 serving 8080, host-network agent;
 * services: web → echo with ILB 10.1.0.100, empty without endpoints and its own ILB 10.1.0.101).
 */
function model(mode: 'ROUTES' | 'VPC_NATIVE'): Model {
  return topology('sources')
    .network('vpc-a', subnet('a-main', 'us-west1', '10.1.0.0/16', mode === 'VPC_NATIVE' ? {pods: '10.4.0.0/14'} : {}))
    .network('vpc-b', subnet('b-main', 'us-west1', '10.2.0.0/24'))
    .allowIngress('vpc-a', ['0.0.0.0/0'])
    .allowIngress('vpc-b', ['0.0.0.0/0'])
    .vm('server', 'us-west1-a', nic('vpc-a', 'a-main', '10.1.0.50'))
    .vm('gw', 'us-west1-a', [nic('vpc-a', 'a-main', '10.1.0.60', [{ipCidrRange: '10.1.2.0/28'}]), nic('vpc-b', 'b-main', '10.2.0.60')])
    .loadBalancer({name: 'web-ilb', region: 'us-west1', network: 'vpc-a', subnetwork: 'a-main', IPAddress: '10.1.0.100', backends: ['n1']})
    .loadBalancer({name: 'empty-ilb', region: 'us-west1', network: 'vpc-a', subnetwork: 'a-main', IPAddress: '10.1.0.101', backends: ['n1']})
    .cluster({
      name: 'c1', location: 'us-west1-a', network: 'vpc-a', subnetwork: 'a-main', mode, clusterIpv4Cidr: '10.4.0.0/14', servicesIpv4Cidr: '10.8.0.0/20',
      masquerade: {ipMasq: {}},
      nodes: [{name: 'n1', networkIP: '10.1.0.10', podCidr: '10.4.0.0/24'}],
      pods: [
        {name: 'client', node: 'n1', ip: '10.4.0.10'},
        {name: 'echo', node: 'n1', ip: '10.4.0.20', ports: [8080]},
        {namespace: 'kube-system', name: 'agent', node: 'n1', ip: '10.1.0.10', hostNetwork: true},
      ],
      services: [
        {namespace: 'default', name: 'web', type: 'LoadBalancer', clusterIP: '10.8.0.10', ports: [{port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP'}],
          endpoints: ['echo'], loadBalancer: {internal: true, forwardingRule: 'web-ilb'}},
        {namespace: 'default', name: 'empty', type: 'LoadBalancer', clusterIP: '10.8.0.11', ports: [{port: 80, targetPort: 8080, nodePort: 30081, protocol: 'TCP'}],
          endpoints: [], loadBalancer: {internal: true, forwardingRule: 'empty-ilb'}},
      ],
    })
    .load()
}

for (const mode of ['ROUTES', 'VPC_NATIVE'] as const) {
  describe(`host-network pods (${mode})`, () => {
    const m = model(mode)

    it('SNAT-18: a host-network pod sends with its node\'s address and is never masqueraded', () => {
      const p = onlyPath(trace(m, 'c1/kube-system/agent', '10.1.0.50:80'))
      assert.equal(stepOf(p.forward, 'START_FROM_GKE_POD').packet.src, '10.1.0.10')
      assert.equal(stepOf(p.forward, 'SKIP_GKE_POD_IP_MASQUERADING').reason, 'POD_USES_NODE_NETWORK_NAMESPACE')
      assert.equal(assertDelivered(p.forward, 'instance/server').packet.src, '10.1.0.10')
    })

    it('§9 12: the reply to a host-network pod comes back to its node, which is the pod: the TCP flow completes', () => {
      const result = trace(m, 'c1/kube-system/agent', '10.1.0.50:80')
      const end = assertDelivered(onlyPath(result).return, 'node/n1')
      assert.match(end.detail, /c1\/kube-system\/agent/)
      assert.equal(result.verdict, 'reachable')
      const report = doctor(m, 'c1/kube-system/agent', '10.1.0.50:80')
      assert.deepEqual([report.verdict, report.diagnosis], ['reachable', null])
    })

    it('ROUTE-11: a host-network pod reaching a pod on its own node takes the node\'s pod-side address (podCidr + 1)', () => {
      const result = trace(m, 'c1/kube-system/agent', '10.4.0.20:8080')
      const p = onlyPath(result)
      assert.equal(assertDelivered(p.forward, 'c1/default/echo').packet.src, '10.4.0.1')
      assert.equal(result.verdict, 'reachable')
    })
  })

  describe(`the source address of an unbound socket (${mode})`, () => {
    const m = model(mode)

    it('ROUTE-11: a node reaching one of its own pods sends from its pod-side address, not from nic0', () => {
      const result = trace(m, 'node/n1', '10.4.0.20:8080')
      const p = onlyPath(result)
      assert.equal(stepOf(p.forward, 'START_FROM_INSTANCE').packet.src, '10.4.0.1')
      assert.equal(assertDelivered(p.forward, 'c1/default/echo').packet.src, '10.4.0.1')
      assertDelivered(p.return, 'node/n1')
      assert.equal(result.verdict, 'reachable')
    })

    it('ROUTE-11: a node reaching another address still sends from nic0', () => {
      assert.equal(stepOf(onlyPath(trace(m, 'node/n1', '10.1.0.50:80')).forward, 'START_FROM_INSTANCE').packet.src, '10.1.0.10')
    })

    it('ROUTE-11: a VM reaching its own second NIC or alias address sends from that address and never leaves the guest', () => {
      for (const own of ['10.2.0.60', '10.1.2.5']) {
        const result = trace(m, 'instance/gw', `${own}:80`)
        const p = onlyPath(result)
        assert.deepEqual(names(p.forward), ['START_FROM_INSTANCE', 'DELIVER'], own)
        assert.equal(stepOf(p.forward, 'START_FROM_INSTANCE').packet.src, own)
        assert.equal(result.verdict, 'reachable', own)
      }
    })

    it('an address given with --from is kept (a bound socket)', () => {
      assert.equal(stepOf(onlyPath(trace(m, '10.1.0.60', '10.2.0.60:80')).forward, 'START_FROM_INSTANCE').packet.src, '10.1.0.60')
    })

    it('contracts §2: --from an alias IP of a VM starts at that VM, bound to the alias address (ROUTE-10: its own)', () => {
      const result = trace(m, '10.1.2.7', '10.1.0.50:80')
      const p = onlyPath(result)
      const start = stepOf(p.forward, 'START_FROM_INSTANCE')
      assert.deepEqual([start.at, start.packet.src], ['instance/gw', '10.1.2.7'])
      assert.ok(!p.forward.some((s) => s.step === 'DROP' || s.step === 'SPOOFING_APPROVED'))
      assert.equal(assertDelivered(p.forward, 'instance/server').packet.src, '10.1.2.7')
      assert.equal(result.verdict, 'reachable')
    })
  })

  describe(`a pod connecting to its own address (${mode})`, () => {
    const m = model(mode)

    it('the packet stays inside the pod: no node, masquerade or VPC step, and the reply comes straight back', () => {
      const result = trace(m, 'c1/default/echo', '10.4.0.20:8080')
      const p = onlyPath(result)
      assert.deepEqual(names(p.forward), ['START_FROM_GKE_POD', 'ARRIVE_AT_GKE_POD', 'DELIVER'])
      assert.deepEqual(names(p.return), ['START_FROM_GKE_POD', 'DELIVER'])
      assert.equal(result.verdict, 'reachable')
    })

    it('a port the pod does not serve is DESTINATION_NOT_LISTENING', () => {
      const p = onlyPath(trace(m, 'c1/default/echo', '10.4.0.20:9999'))
      assertDrop(p.forward, 'XCC_DESTINATION_NOT_LISTENING', 'c1/default/echo')
      assert.equal(doctor(m, 'c1/default/echo', '10.4.0.20:9999').diagnosis?.code, 'DESTINATION_NOT_LISTENING')
    })
  })

  describe(`SVC-06: a service without endpoints (${mode})`, () => {
    const m = model(mode)

    it('kube-proxy rejects its node port, its load-balancer address and its cluster IP (has no endpoints)', () => {
      for (const [from, to] of [['instance/server', '10.1.0.10:30081'], ['instance/server', '10.1.0.101:80'], ['c1/default/client', '10.8.0.11:80']] as const) {
        const result = trace(m, from, to)
        const end = assertDrop(result.paths[0]?.forward ?? [], 'XCC_DESTINATION_NOT_LISTENING')
        assert.match(end.rules?.[0]?.rule ?? '', /has no endpoints/, to)
        assert.equal(result.verdict, 'unreachable', to)
        assert.equal(doctor(m, from, to).diagnosis?.code, 'DESTINATION_NOT_LISTENING', to)
      }
    })

    it('the node port of a service with endpoints is served', () => {
      assert.equal(trace(m, 'instance/server', '10.1.0.10:30080').verdict, 'reachable')
    })
  })
}
