/**
 * Where a cluster's DNS server is (pure): the `kube-system/kube-dns` Service every pod's
 * resolv.conf names, and the pod behind it. A topology that declares the Service (a snapshot of
 * a cluster does) gives both; otherwise the Service's ClusterIP is the services range's tenth
 * address (as GKE and kubeadm give it; the next free one when the topology took it) and the pod
 * sits on the cluster's first node at the highest free address of that node's pod range — where
 * the lab puts it too (src/lab/compile/dns.ts reads it from here).
 */
import {type Ip, addIp, sizeOf} from '../net/ipv4.js'
import type {ClusterFacts, NodeFacts} from '../topology/model-types.js'

export const CLUSTER_DNS_NAMESPACE = 'kube-system'
export const CLUSTER_DNS_SERVICE = 'kube-dns'

export interface ClusterDnsServer {
  readonly serviceIP: Ip
  readonly podIP: Ip
  readonly node: NodeFacts
  /** the topology declares the Service and its pod */
  readonly declared: boolean
}

export function clusterDnsServer(cluster: ClusterFacts): ClusterDnsServer | undefined {
  const declared = cluster.services.find((s) => s.namespace === CLUSTER_DNS_NAMESPACE && s.name === CLUSTER_DNS_SERVICE)
  if (declared) {
    const pod = declared.endpoints.find((p) => !p.hostNetwork)
    const node = pod && cluster.nodes.find((n) => n.name === pod.node)
    return pod && node ? {serviceIP: declared.clusterIP, podIP: pod.ip, node, declared: true} : undefined
  }
  const node = cluster.nodes[0]
  if (!node) return undefined
  const takenVips = new Set(cluster.services.map((s) => s.clusterIP))
  let serviceIP: Ip | undefined
  for (let i = 10; i < sizeOf(cluster.serviceRange) - 1 && serviceIP === undefined; i++) {
    const candidate = addIp(cluster.serviceRange.base, i)
    if (!takenVips.has(candidate)) serviceIP = candidate
  }
  const takenPods = new Set(cluster.pods.map((p) => p.ip))
  let podIP: Ip | undefined
  // from the top of the node's range down: the lab's kubelet hands addresses out from the bottom
  for (let i = sizeOf(node.podCidr) - 2; i > 10 && podIP === undefined; i--) {
    const candidate = addIp(node.podCidr.base, i)
    if (!takenPods.has(candidate)) podIP = candidate
  }
  if (serviceIP === undefined || podIP === undefined) return undefined
  return {serviceIP, podIP, node, declared: false}
}
