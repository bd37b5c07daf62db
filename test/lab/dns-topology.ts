/**
 * The cluster DNS tests' topology: two VPC-native clusters in peered VPCs, a (kube-dns, two
 * nodes: the client on the node without the DNS pod, a backend Service) and b (CoreDNS); b's
 * firewall admits DNS from a's pod range (b-allow-dns-from-a), which the lab test deletes.
 */
/** net-a (10.10.0.0/20, pods 10.20.0.0/16) and net-b (10.11.0.0/20, pods 10.21.0.0/16), peered; a-internal admits a's own ranges (the start of `firewalls`) */
export const PEERED_VPCS = `networks:
- name: net-a
  subnets:
  - {name: a-nodes, region: us-central1, ipCidrRange: 10.10.0.0/20, secondaryIpRanges: [{rangeName: a-pods, ipCidrRange: 10.20.0.0/16}, {rangeName: a-services, ipCidrRange: 10.30.0.0/20}]}
  peerings: [{name: a-to-b, network: net-b}]
- name: net-b
  subnets:
  - {name: b-nodes, region: us-central1, ipCidrRange: 10.11.0.0/20, secondaryIpRanges: [{rangeName: b-pods, ipCidrRange: 10.21.0.0/16}, {rangeName: b-services, ipCidrRange: 10.31.0.0/20}]}
  peerings: [{name: b-to-a, network: net-a}]
firewalls:
- {name: a-internal, network: net-a, sourceRanges: [10.10.0.0/20, 10.20.0.0/16], allowed: [{IPProtocol: tcp}, {IPProtocol: udp}]}
`

/** cluster a in net-a (kube-dns): two nodes, its client pod on the second (the DNS pod is on the first); a list item of `clusters`, open for more pods */
const CLUSTER_A = `- name: a
  location: us-central1-a
  network: net-a
  subnetwork: a-nodes
  mode: VPC_NATIVE
  clusterIpv4Cidr: 10.20.0.0/16
  servicesIpv4Cidr: 10.30.0.0/20
  nodes:
  - {name: gke-a-node-1, networkIP: 10.10.0.2, podCidr: 10.20.0.0/24}
  - {name: gke-a-node-2, networkIP: 10.10.0.3, podCidr: 10.20.1.0/24}
  pods:
  - {namespace: default, name: client, node: gke-a-node-2, ip: 10.20.1.10, ports: []}
`

export const DNS_TOPOLOGY = `apiVersion: xcc/v1
kind: Topology
metadata: {name: dns-lab}
${PEERED_VPCS}- {name: b-internal, network: net-b, sourceRanges: [10.11.0.0/20, 10.21.0.0/16], allowed: [{IPProtocol: tcp}, {IPProtocol: udp}]}
- {name: b-allow-dns-from-a, network: net-b, sourceRanges: [10.20.0.0/16], allowed: [{IPProtocol: udp, ports: ['53']}, {IPProtocol: tcp, ports: ['53']}]}
clusters:
${CLUSTER_A}  - {namespace: default, name: backend, node: gke-a-node-1, ip: 10.20.0.5, ports: [8080]}
  services:
  - {namespace: default, name: backend, type: ClusterIP, clusterIP: 10.30.0.20, ports: [{port: 80, targetPort: 8080, protocol: TCP}], endpoints: [backend]}
- name: b
  location: us-central1-b
  network: net-b
  subnetwork: b-nodes
  mode: VPC_NATIVE
  clusterIpv4Cidr: 10.21.0.0/16
  servicesIpv4Cidr: 10.31.0.0/20
  dnsProvider: CoreDNS
  nodes:
  - {name: gke-b-node-1, networkIP: 10.11.0.2, podCidr: 10.21.0.0/24}
  pods:
  - {namespace: default, name: client, node: gke-b-node-1, ip: 10.21.0.10, ports: []}
`

/** one cluster that lists kube-system/kube-dns and its pod itself, as a snapshot of a cluster does */
export const DECLARED_DNS_TOPOLOGY = `apiVersion: xcc/v1
kind: Topology
metadata: {name: dns-declared}
networks:
- name: net-c
  subnets:
  - {name: c-nodes, region: us-central1, ipCidrRange: 10.12.0.0/20, secondaryIpRanges: [{rangeName: c-pods, ipCidrRange: 10.22.0.0/16}]}
firewalls:
- {name: c-internal, network: net-c, sourceRanges: [10.12.0.0/20, 10.22.0.0/16], allowed: [{IPProtocol: tcp}, {IPProtocol: udp}]}
clusters:
- name: c
  location: us-central1-a
  network: net-c
  subnetwork: c-nodes
  mode: VPC_NATIVE
  clusterIpv4Cidr: 10.22.0.0/16
  servicesIpv4Cidr: 10.32.0.0/20
  nodes:
  - {name: gke-c-node-1, networkIP: 10.12.0.2, podCidr: 10.22.0.0/24}
  - {name: gke-c-node-2, networkIP: 10.12.0.3, podCidr: 10.22.1.0/24}
  pods:
  - {namespace: default, name: client, node: gke-c-node-2, ip: 10.22.1.10, ports: []}
  - {namespace: kube-system, name: kube-dns-5b8f7c9d4-x2x7q, node: gke-c-node-1, ip: 10.22.0.7, ports: [53]}
  services:
  - namespace: kube-system
    name: kube-dns
    type: ClusterIP
    clusterIP: 10.32.0.10
    ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}]
    endpoints: [kube-dns-5b8f7c9d4-x2x7q]
`

/** seed 004's shape: a and b in peered VPCs, b's kuard behind an internal load balancer a's pods may reach */
export const KUARD_TOPOLOGY = `apiVersion: xcc/v1
kind: Topology
metadata: {name: dns-link}
${PEERED_VPCS}- {name: b-allow-from-a, network: net-b, sourceRanges: [10.10.0.0/20, 10.20.0.0/16], allowed: [{IPProtocol: tcp}]}
- {name: b-allow-health-checks, network: net-b, sourceRanges: [35.191.0.0/16, 130.211.0.0/22], allowed: [{IPProtocol: tcp}]}
forwardingRules:
- {name: b-kuard-ilb, region: us-central1, network: net-b, subnetwork: b-nodes, IPAddress: 10.11.0.100, IPProtocol: TCP, ports: ['80'], backendService: b-kuard}
backendServices:
- {name: b-kuard, region: us-central1, backends: [gke-b-node-1], healthCheck: {protocol: HTTP, port: 10256, requestPath: /healthz}}
clusters:
${CLUSTER_A}- name: b
  location: us-central1-b
  network: net-b
  subnetwork: b-nodes
  mode: VPC_NATIVE
  clusterIpv4Cidr: 10.21.0.0/16
  servicesIpv4Cidr: 10.31.0.0/20
  nodes:
  - {name: gke-b-node-1, networkIP: 10.11.0.2, podCidr: 10.21.0.0/24}
  pods:
  - {namespace: default, name: kuard, node: gke-b-node-1, ip: 10.21.0.5, ports: [8080]}
  services:
  - namespace: default
    name: kuard
    type: LoadBalancer
    clusterIP: 10.31.0.20
    ports: [{port: 80, targetPort: 8080, nodePort: 30080, protocol: TCP}]
    endpoints: [kuard]
    loadBalancer: {internal: true, forwardingRule: b-kuard-ilb}
`
