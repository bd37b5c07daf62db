/**
 * kube-proxy on GKE nodes (SVC-06, GKE-06): the SNAT it adds for external traffic with
 * externalTrafficPolicy Cluster, a node without a local endpoint under Local, and addresses of the
 * service range that no service (or no service port) claims, seen from inside the cluster.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import type {Model} from '../../../src/core/topology/model-types.js'
import {assertDelivered, assertDrop, doctor, nic, onlyPath, stepsOf, subnet, topology, trace} from '../../builders/topology.js'

/**
 * vpc-a 10.1.0.0/16: VM client 10.1.0.5; cluster c1 (ROUTES, nodes n1 10.1.0.10 with pods 10.4.0.0/24
 * and n2 10.1.0.11 with 10.4.1.0/24); pod web on n2 serves 8080; service web (NodePort 30080,
 * externalTrafficPolicy `policy`), cluster IP 10.8.0.10.
 */
function model(policy: 'Cluster' | 'Local'): Model {
  return topology('services')
    .network('vpc-a', subnet('a-main', 'us-west1', '10.1.0.0/16'))
    .allowIngress('vpc-a', ['10.0.0.0/8'])
    .vm('client', 'us-west1-a', nic('vpc-a', 'a-main', '10.1.0.5'))
    .cluster({
      name: 'c1', location: 'us-west1-a', network: 'vpc-a', subnetwork: 'a-main', mode: 'ROUTES', clusterIpv4Cidr: '10.4.0.0/14', servicesIpv4Cidr: '10.8.0.0/20',
      masquerade: {ipMasq: {}},
      nodes: [{name: 'n1', networkIP: '10.1.0.10', podCidr: '10.4.0.0/24'}, {name: 'n2', networkIP: '10.1.0.11', podCidr: '10.4.1.0/24'}],
      pods: [{name: 'cli', node: 'n1', ip: '10.4.0.10'}, {name: 'web', node: 'n2', ip: '10.4.1.20', ports: [8080]}],
      services: [{namespace: 'default', name: 'web', type: 'NodePort', clusterIP: '10.8.0.10', externalTrafficPolicy: policy,
        ports: [{port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP'}], endpoints: ['web']}],
    })
    .load()
}

describe('SVC-06: externalTrafficPolicy Cluster', () => {
  const m = model('Cluster')

  it('a node port on a node without the endpoint: kube-proxy DNATs to the pod and SNATs to the node, both as NAT steps', () => {
    const result = trace(m, 'instance/client', '10.1.0.10:30080')
    const p = onlyPath(result)
    const nats = stepsOf(p.forward, 'NAT').filter((s) => s.at === 'node/n1')
    assert.deepEqual(nats.map((s) => s.nat?.type), ['XCC_KUBE_PROXY_DNAT', 'XCC_KUBE_PROXY_SNAT'])
    assert.deepEqual([nats[1]?.nat?.before.src, nats[1]?.nat?.after.src], ['10.1.0.5', '10.1.0.10'])
    assert.match(nats[1]?.detail ?? '', /^kube-proxy MASQUERADE: source 10\.1\.0\.5 → 10\.1\.0\.10/)
    assert.equal(assertDelivered(p.forward, 'c1/default/web').packet.src, '10.1.0.10', 'the pod sees the first node')
    assert.equal(result.verdict, 'reachable')
  })
})

describe('SVC-06: externalTrafficPolicy Local', () => {
  const m = model('Local')

  it('the node port of a node without a local endpoint drops the connection: DESTINATION_NOT_LISTENING, not a firewall', () => {
    const p = onlyPath(trace(m, 'instance/client', '10.1.0.10:30080'))
    const end = assertDrop(p.forward, 'XCC_DESTINATION_NOT_LISTENING', 'node/n1')
    assert.match(end.detail, /no endpoint on n1 \(externalTrafficPolicy: Local\)/)
    assert.ok(end.rules?.some((r) => /has no local endpoints/.test(r.rule)))
    assert.equal(doctor(m, 'instance/client', '10.1.0.10:30080').diagnosis?.code, 'DESTINATION_NOT_LISTENING')
  })

  it('the node with the endpoint serves it and the pod sees the client', () => {
    const result = trace(m, 'instance/client', '10.1.0.11:30080')
    assert.equal(assertDelivered(onlyPath(result).forward, 'c1/default/web').packet.src, '10.1.0.5')
    assert.equal(result.verdict, 'reachable')
  })
})

describe('GKE-06: the service range seen from inside the cluster', () => {
  const m = model('Cluster')

  it('a cluster IP and port of a service is translated by kube-proxy on the pod\'s node', () => {
    assert.equal(trace(m, 'c1/default/cli', '10.8.0.10:80').verdict, 'reachable')
  })

  it('an address of the own service range that no service has is UNKNOWN_INTERNAL_ADDRESS, not CLUSTER_IP_FROM_OUTSIDE_CLUSTER', () => {
    const p = onlyPath(trace(m, 'c1/default/cli', '10.8.0.99:80'))
    assert.match(assertDrop(p.forward, 'UNKNOWN_INTERNAL_ADDRESS').detail, /no service of cluster c1 has the cluster IP 10\.8\.0\.99/)
    assert.equal(doctor(m, 'c1/default/cli', '10.8.0.99:80').diagnosis?.code, 'UNKNOWN_INTERNAL_ADDRESS')
  })

  it('a port the service does not expose is DESTINATION_NOT_LISTENING', () => {
    const p = onlyPath(trace(m, 'c1/default/cli', '10.8.0.10:81'))
    assert.match(assertDrop(p.forward, 'XCC_DESTINATION_NOT_LISTENING').detail, /service default\/web \(10\.8\.0\.10\) serves TCP\/80, not tcp\/81/)
    assert.equal(doctor(m, 'c1/default/cli', '10.8.0.10:81').diagnosis?.code, 'DESTINATION_NOT_LISTENING')
  })

  it('from outside the cluster a cluster IP stays CLUSTER_IP_FROM_OUTSIDE_CLUSTER', () => {
    assertDrop(onlyPath(trace(m, 'instance/client', '10.8.0.10:80')).forward, 'XCC_CLUSTER_IP_FROM_OUTSIDE_CLUSTER')
    assert.equal(doctor(m, 'instance/client', '10.8.0.10:80').diagnosis?.code, 'CLUSTER_IP_FROM_OUTSIDE_CLUSTER')
  })
})
