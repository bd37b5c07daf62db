/**
 * The topology of the live doctor's parallel-capture benchmark: seed 001 (as it failed) with a
 * backend cluster of `nodes` nodes. The structure is templates/scenarios/peered-vpcs-missing-snat.yaml:
 * a frontend pod in VPC B calls a hand-made internal load balancer (10.193.0.3:32191) in the
 * peered VPC A whose backend service lists every backend node; behind it a NodePort service with
 * one endpoint pod per node. Without masquerade the SYN leaves with the pod address and no
 * SYN-ACK comes back, so the doctor captures on the source node and on every backend node
 * (the service is a node port: any node may receive the SYN).
 */
export function parallelCaptureTopology(nodes: number): Record<string, unknown> {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 200) throw new Error(`nodes must be 1..200, got ${nodes}`)
  const backendNodes = Array.from({length: nodes}, (_, i) => ({
    name: `gke-backend-pool-n${i}`, networkIP: `10.193.1.${10 + i}`, podCidr: `10.56.${i}.0/24`,
  }))
  const backendPods = backendNodes.map((n, i) => ({namespace: 'default', name: `backend-${i}`, node: n.name, ip: `10.56.${i}.5`, ports: [80]}))
  return {
    apiVersion: 'xcc/v1',
    kind: 'Topology',
    metadata: {name: `live-bench-${nodes}-nodes`, description: `benchmark: seed 001 with ${nodes} backend node${nodes === 1 ? '' : 's'} behind the internal load balancer`},
    networks: [
      {name: 'vpc-a', subnets: [{name: 'a-main', region: 'europe-west1', ipCidrRange: '10.193.0.0/16'}], peerings: [{name: 'a-to-b', network: 'vpc-b'}]},
      {name: 'vpc-b', subnets: [{name: 'b-main', region: 'europe-west1', ipCidrRange: '10.209.0.0/16'}], peerings: [{name: 'b-to-a', network: 'vpc-a'}]},
    ],
    routes: [
      {name: 'a-default-internet', network: 'vpc-a', destRange: '0.0.0.0/0', nextHopGateway: 'default-internet-gateway'},
      {name: 'b-default-internet', network: 'vpc-b', destRange: '0.0.0.0/0', nextHopGateway: 'default-internet-gateway'},
    ],
    firewalls: [
      {name: 'b-allow-egress-to-a', network: 'vpc-b', direction: 'EGRESS', destinationRanges: ['10.193.0.0/16'], allowed: [{IPProtocol: 'tcp'}]},
      {name: 'a-allow-internal-tcp', network: 'vpc-a', sourceRanges: ['10.0.0.0/8'], allowed: [{IPProtocol: 'tcp'}]},
      {name: 'k8s-fw-l7-health-checks', network: 'vpc-a', sourceRanges: ['130.211.0.0/22', '35.191.0.0/16'], allowed: [{IPProtocol: 'tcp', ports: ['30000-32767']}]},
    ],
    forwardingRules: [
      {name: 'backend-ilb', region: 'europe-west1', network: 'vpc-a', subnetwork: 'a-main', IPAddress: '10.193.0.3', IPProtocol: 'TCP', ports: ['32191'], backendService: 'backend-ingress-backend'},
    ],
    backendServices: [
      {name: 'backend-ingress-backend', region: 'europe-west1', backends: backendNodes.map((n) => n.name), healthCheck: {protocol: 'HTTP', port: 32191, requestPath: '/'}},
    ],
    clusters: [
      {
        name: 'backend', location: 'europe-west1-c', network: 'vpc-a', subnetwork: 'a-main', mode: 'ROUTES',
        clusterIpv4Cidr: '10.56.0.0/14', servicesIpv4Cidr: '10.59.240.0/20', masquerade: {kubenet: {nonMasqueradeCidr: '10.0.0.0/8'}},
        nodes: backendNodes,
        pods: backendPods,
        services: [{
          namespace: 'default', name: 'dummy-backend', type: 'NodePort', clusterIP: '10.59.240.20',
          ports: [{port: 80, targetPort: 80, nodePort: 32191, protocol: 'TCP'}], endpoints: backendPods.map((p) => p.name),
        }],
      },
      {
        name: 'frontend', location: 'europe-west1-c', network: 'vpc-b', subnetwork: 'b-main', mode: 'ROUTES',
        clusterIpv4Cidr: '10.132.0.0/14', servicesIpv4Cidr: '10.135.240.0/20', masquerade: {kubenet: {nonMasqueradeCidr: '10.0.0.0/8'}},
        nodes: [{name: 'gke-frontend-cluster-default-pool-d65237bb-1c6s', networkIP: '10.209.0.2', podCidr: '10.132.0.0/24'}],
        pods: [{namespace: 'default', name: 'curl', node: 'gke-frontend-cluster-default-pool-d65237bb-1c6s', ip: '10.132.0.10'}],
      },
    ],
  }
}
