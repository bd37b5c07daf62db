/**
 * Cluster DNS in the lab (pure): where each cluster's kube-dns stand-in lives and what points at
 * it. Every cluster gets a `kube-system/kube-dns` Service whose ClusterIP is the services range's
 * tenth address (as GKE and kubeadm give it; the next free one when the topology took it), backed
 * by one DNS pod on the cluster's first node at the highest free address of that node's pod range,
 * pinned so that the kube-proxy rules (written on every node of the cluster, as kube-proxy does)
 * and the pod agree before the pod runs. The server is Debian's dnsmasq for both providers:
 * kube-dns is dnsmasq underneath; a CoreDNS cluster (`dnsProvider: CoreDNS`) gets its Corefile's
 * `forward` zones and `hosts` entries compiled to the same server (src/lab/addons/dns).
 *
 * A topology that declares `kube-system/kube-dns` itself (a snapshot of a cluster does) keeps its
 * own Service, pod and kube-proxy rules: the lab runs its server in the Service's first endpoint
 * pod instead of that pod's echo server (`adopted`), and adds no second one.
 */
import {clusterDnsServer} from '../../core/dns/cluster-server.js'
import {formatIp} from '../../core/net/ipv4.js'
import {chainHash} from '../../core/topology/node-rules.js'
import type {ClusterFacts} from '../../core/topology/model-types.js'

export const DNS_NAMESPACE = 'kube-system'
export const DNS_SERVICE = 'kube-dns'
export const DNS_APP_LABEL = 'k8s-app'
export const DNS_DOMAIN = 'cluster.local'
/** ConfigMaps each provider reads (kube-dns: stubDomains, upstreamNameservers; CoreDNS: Corefile) */
export const KUBE_DNS_CONFIG_MAP = 'kube-dns'
export const COREDNS_CONFIG_MAP = 'coredns'
export const COREFILE_KEY = 'Corefile'

export type DnsProvider = 'kube-dns' | 'CoreDNS'

export interface ClusterDnsPlan {
  readonly cluster: string
  readonly provider: DnsProvider
  /** the kube-dns Service's ClusterIP: every pod's nameserver */
  readonly serviceIP: string
  /** the DNS pod: its name in kube-system, its node, its pinned address */
  readonly podName: string
  readonly node: string
  readonly podIP: string
  /** the Service and pod are the topology's (their rules come with the node's), not the lab's */
  readonly adopted?: boolean
}

/**
 * The DNS of a cluster, or undefined when the topology declares kube-system/kube-dns itself or
 * no address is free for it.
 */
export function clusterDnsPlan(cluster: ClusterFacts): ClusterDnsPlan | undefined {
  const provider: DnsProvider = cluster.spec.dnsProvider ?? 'kube-dns'
  const server = clusterDnsServer(cluster)
  if (!server) return undefined
  if (server.declared) {
    const pod = cluster.pods.find((p) => p.ip === server.podIP) as ClusterFacts['pods'][number]
    return {cluster: cluster.name, provider, serviceIP: formatIp(server.serviceIP), podName: pod.name, node: pod.node, podIP: formatIp(server.podIP), adopted: true}
  }
  return {
    cluster: cluster.name, provider, serviceIP: formatIp(server.serviceIP), node: server.node.name, podIP: formatIp(server.podIP),
    podName: provider === 'CoreDNS' ? 'coredns-lab' : 'kube-dns-lab',
  }
}

export interface PodDnsInput {
  readonly namespace: string
  readonly hostNetwork: boolean
  /** ClusterFirst (default) | ClusterFirstWithHostNet | Default | None */
  readonly dnsPolicy?: string
  readonly dnsConfig?: {readonly nameservers?: readonly string[]; readonly searches?: readonly string[]; readonly options?: ReadonlyArray<{readonly name: string; readonly value?: string}>}
}

/**
 * A pod's /etc/resolv.conf as the kubelet writes it (ClusterFirst: the cluster DNS, the search
 * path `<ns>.svc.cluster.local svc.cluster.local cluster.local`, `ndots:5`; dnsConfig merged in),
 * or undefined when the pod keeps its node's resolver (Default, or a host-network pod without
 * ClusterFirstWithHostNet). The lab's nodes have no resolver that leaves the lab.
 */
export function podResolvConf(pod: PodDnsInput, dnsIP: string): string | undefined {
  const policy = pod.dnsPolicy ?? 'ClusterFirst'
  const cluster = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !pod.hostNetwork)
  if (!cluster && policy !== 'None') return undefined
  const config = pod.dnsConfig ?? {}
  const nameservers = [...(cluster ? [dnsIP] : []), ...(config.nameservers ?? [])].slice(0, 3)
  const searches = [...(cluster ? [`${pod.namespace}.svc.${DNS_DOMAIN}`, `svc.${DNS_DOMAIN}`, DNS_DOMAIN] : []), ...(config.searches ?? [])]
  const options = new Map<string, string | undefined>(cluster ? [['ndots', '5']] : [])
  for (const o of config.options ?? []) options.set(o.name, o.value)
  const lines = [
    ...(searches.length ? [`search ${[...new Set(searches)].slice(0, 32).join(' ')}`] : []),
    ...nameservers.map((n) => `nameserver ${n}`),
    ...(options.size ? [`options ${[...options].map(([k, v]) => (v === undefined ? k : `${k}:${v}`)).join(' ')}`] : []),
  ]
  return `${lines.join('\n')}\n`
}

/**
 * kube-proxy's nat rules for the kube-dns Service on a node (SVC-06's chain layout: the
 * KUBE-SERVICES match per port, one KUBE-SVC chain, one KUBE-SEP chain DNATing to the pod), in
 * iptables-save form: the chains to declare, their rules, and the KUBE-SERVICES matches (as
 * words) that jump to them.
 */
export function dnsServiceRules(plan: ClusterDnsPlan): {chains: string[]; rules: string[]; services: string[][]} {
  const chains: string[] = []
  const rules: string[] = []
  const services: string[][] = []
  for (const proto of ['udp', 'tcp'] as const) {
    const id = `${DNS_NAMESPACE}/${DNS_SERVICE}:${proto === 'udp' ? 'dns' : 'dns-tcp'}`
    const svc = `KUBE-SVC-${chainHash(`${id}${proto}`)}`
    const sep = `KUBE-SEP-${chainHash(`${id}${proto}${plan.podIP}:53`)}`
    chains.push(`:${svc} - [0:0]`, `:${sep} - [0:0]`)
    rules.push(
      `-A ${svc} -m comment --comment "${id} -> ${plan.podIP}:53" -j ${sep}`,
      `-A ${sep} -p ${proto} -m comment --comment "${id}" -m ${proto} -j DNAT --to-destination ${plan.podIP}:53`,
    )
    services.push(['-d', `${plan.serviceIP}/32`, '-p', proto, '-m', 'comment', '--comment', `${id} cluster IP`, '-m', proto, '--dport', '53', '-j', svc])
  }
  return {chains, rules, services}
}

/** kubeadm's default Corefile, which a CoreDNS cluster of the lab starts with */
export const DEFAULT_COREFILE = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`
