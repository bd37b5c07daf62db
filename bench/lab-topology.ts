/**
 * The large lab of the benchmark: `clusters` GKE clusters of `nodesPerCluster` nodes with
 * `podsPerNode` pods each, alternating ROUTES and VPC_NATIVE, two per VPC network, the networks
 * peered in a chain, each cluster serving its pods through an internal load balancer.
 */
export function largeLabTopology(clusters = 10, nodesPerCluster = 5, podsPerNode = 4): Record<string, unknown> {
  const networks: unknown[] = []
  const firewalls: unknown[] = []
  const forwardingRules: unknown[] = []
  const backendServices: unknown[] = []
  const out: unknown[] = []
  const networkCount = Math.ceil(clusters / 2)
  for (let n = 0; n < networkCount; n++) {
    const peerings = [n - 1, n + 1].filter((p) => p >= 0 && p < networkCount).map((p) => ({name: `net${n}-to-net${p}`, network: `net${p}`}))
    const secondary = [0, 1].map((k) => ({rangeName: `pods-${2 * n + k}`, ipCidrRange: `10.${64 + 2 * n + k}.0.0/16`}))
    networks.push({name: `net${n}`, subnets: [{name: `nodes${n}`, region: 'europe-west1', ipCidrRange: `10.${n}.0.0/16`, secondaryIpRanges: secondary}], peerings})
    firewalls.push({name: `net${n}-allow-internal`, network: `net${n}`, sourceRanges: ['10.0.0.0/8', '35.191.0.0/16', '130.211.0.0/22'], allowed: [{IPProtocol: 'tcp'}]})
  }
  for (let c = 0; c < clusters; c++) {
    const n = Math.floor(c / 2)
    const vpcNative = c % 2 === 1
    const podRange = vpcNative ? `10.${64 + c}.0.0/16` : `10.${128 + c}.0.0/16`
    const nodes = Array.from({length: nodesPerCluster}, (_, i) => ({
      name: `c${c}-node-${i}`, networkIP: `10.${n}.${c}.${10 + i}`, podCidr: podRange.replace(/\.0\.0\/16$/, `.${i}.0/24`),
    }))
    const pods = nodes.flatMap((node, i) => Array.from({length: podsPerNode}, (_, k) => ({
      namespace: 'default', name: `app-${i}-${k}`, node: node.name, ip: podRange.replace(/\.0\.0\/16$/, `.${i}.${20 + k}`), ports: [8080],
    })))
    const vip = `10.${n}.${200 + c}.1`
    forwardingRules.push({name: `c${c}-ilb`, region: 'europe-west1', network: `net${n}`, subnetwork: `nodes${n}`, IPAddress: vip, IPProtocol: 'TCP', ports: ['80'], backendService: `c${c}-backend`})
    backendServices.push({name: `c${c}-backend`, region: 'europe-west1', backends: nodes.map((x) => x.name), healthCheck: {protocol: 'TCP', port: 10256}})
    out.push({
      name: `c${c}`, location: 'europe-west1-b', network: `net${n}`, subnetwork: `nodes${n}`, mode: vpcNative ? 'VPC_NATIVE' : 'ROUTES',
      clusterIpv4Cidr: podRange, servicesIpv4Cidr: `10.${200 + c}.0.0/20`,
      masquerade: vpcNative ? {ipMasq: {}} : {kubenet: {nonMasqueradeCidr: '10.0.0.0/8'}},
      nodes, pods,
      services: [{namespace: 'default', name: 'app', type: 'LoadBalancer', clusterIP: `10.${200 + c}.0.10`, ports: [{port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP'}], endpoints: pods.map((p) => p.name), loadBalancer: {internal: true, forwardingRule: `c${c}-ilb`}}],
    })
  }
  return {
    apiVersion: 'xcc/v1', kind: 'Topology', metadata: {name: `lab-${clusters}x${nodesPerCluster}x${podsPerNode}`, description: 'benchmark: a large lab'},
    networks, firewalls, forwardingRules, backendServices, clusters: out,
  }
}
