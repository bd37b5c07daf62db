/**
 * A cluster of the topology as Kubernetes objects for the lab's emulated API server: its nodes
 * (addresses, podCIDR, providerID, zone labels, Ready), the pods the lab runs (with their echo
 * server as the container's command and their lab address pinned), Services and Endpoints, and
 * the `kube-system/ip-masq-agent` ConfigMap of every ipMasq cluster (the lab's emulated agent,
 * src/lab/addons/ip-masq-agent.ts, rewrites each node's IP-MASQ chain from it), and the cluster
 * DNS (dns.ts): the kube-dns Service, its Endpoints, its pod and its provider's ConfigMap.
 *
 * The cluster's own `configMaps` are loaded as the topology gives them (namespace, name, labels,
 * annotations, data), in place of a ConfigMap the lab would make with the same name (the empty
 * `kube-dns`, kubeadm's `coredns`, the ip-masq-agent's): the lab's DNS and agents follow them as
 * they follow an edit through the API. The pods behind a declared `xcc dns link` responder (the
 * Service `kube-system/xcc-dns-responder` with its ConfigMap, as a snapshot of a linked cluster
 * shows them) run the responder's CoreDNS container, which the lab's stand-in serves from that
 * ConfigMap's zone files (runtime/responder-standin.ts), instead of an echo server.
 */
import {DEFAULT_RESPONDER_IMAGE, RESPONDER_CONFIG_DIR, RESPONDER_NAME, RESPONDER_NAMESPACE} from '../../core/dns/responder.js'
import {PORTS_ANNOTATION} from '../../core/kube/labels.js'
import {formatCidr, formatIp} from '../../core/net/ipv4.js'
import {CONFIG_KEY, CONFIG_MAP_NAME, CONFIG_MAP_NAMESPACE} from '../../core/topology/ip-masq-agent.js'
import type {ClusterFacts, Model} from '../../core/topology/model-types.js'
import type {MasqueradeSpec} from '../../core/topology/schema.js'
import type {LabPlan} from './types.js'
import {COREDNS_CONFIG_MAP, COREFILE_KEY, type ClusterDnsPlan, DEFAULT_COREFILE, DNS_APP_LABEL, DNS_NAMESPACE, DNS_SERVICE, KUBE_DNS_CONFIG_MAP} from './dns.js'

/** annotations the lab's pod runtime reads */
export const POD_IP_ANNOTATION = 'lab.xcc.dev/pod-ip'
export const POD_NETNS_ANNOTATION = 'lab.xcc.dev/netns'
export const LAB_PROJECT = 'xcc-lab'
export const KUBELET_VERSION = 'v1.32.0-xcc-lab'

export interface LabObject {
  apiVersion: string
  kind: string
  metadata: {name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>}
  [field: string]: unknown
}

export function clusterObjects(model: Model, plan: LabPlan, cluster: ClusterFacts, echoCommand: (name: string, ports: readonly number[]) => string[], dns?: {plan: ClusterDnsPlan; command: string[]}): LabObject[] {
  const out: LabObject[] = []
  const namespaces = new Set(['default', 'kube-system', 'kube-public'])
  const responders = responderPods(cluster)
  for (const node of cluster.nodes) {
    const instance = model.instances.get(node.name)
    const zone = instance?.zone ?? cluster.spec.location
    out.push({
      apiVersion: 'v1', kind: 'Node',
      metadata: {
        name: node.name,
        labels: {
          'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64',
          'topology.kubernetes.io/zone': zone, 'topology.kubernetes.io/region': cluster.region,
          'cloud.google.com/gke-nodepool': 'default-pool',
        },
      },
      spec: {podCIDR: formatCidr(node.podCidr), podCIDRs: [formatCidr(node.podCidr)], providerID: `gce://${model.topology.metadata.project ?? LAB_PROJECT}/${zone}/${node.name}`},
      status: {
        addresses: [{type: 'InternalIP', address: formatIp(node.ip)}, {type: 'Hostname', address: node.name}],
        conditions: [{type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'xcc lab node'}],
        nodeInfo: {kubeletVersion: KUBELET_VERSION, kubeProxyVersion: KUBELET_VERSION, osImage: 'xcc lab (Linux network namespace)', containerRuntimeVersion: 'xcc-lab://1', architecture: 'amd64', operatingSystem: 'linux'},
        capacity: {cpu: '2', memory: '4Gi', pods: '110'}, allocatable: {cpu: '2', memory: '4Gi', pods: '110'},
      },
    })
  }
  for (const pod of plan.pods.filter((p) => p.cluster === cluster.name)) {
    namespaces.add(pod.namespace)
    // what the topology says the pod serves, for `xcc snapshot` (absent there: unknown here too)
    const served = cluster.pods.find((p) => p.namespace === pod.namespace && p.name === pod.name)?.ports
    out.push({
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: pod.name, namespace: pod.namespace,
        labels: {'app.kubernetes.io/name': pod.name, 'xcc.dev/topology': pod.declared ? 'declared' : 'implicit'},
        annotations: {[POD_IP_ANNOTATION]: pod.ip, [POD_NETNS_ANNOTATION]: pod.ns, ...(served ? {[PORTS_ANNOTATION]: [...served].sort((a, b) => a - b).join(',')} : {})},
      },
      spec: {
        nodeName: pod.node, hostNetwork: pod.hostNetwork, restartPolicy: 'Always',
        containers: [{
          name: 'echo', image: 'xcc-lab/echoserver',
          ...(pod.tcpPorts.length ? {command: echoCommand(`${cluster.name}/${pod.namespace}/${pod.name}`, pod.tcpPorts)} : {}),
          ports: pod.tcpPorts.map((p) => ({containerPort: p, protocol: 'TCP'})),
        }],
        // the topology's own kube-dns pod runs the lab's DNS server instead of an echo server
        ...(dns?.plan.adopted && pod.namespace === DNS_NAMESPACE && pod.name === dns.plan.podName ? dnsPodSpec(dns.plan, dns.command) : {}),
        // and a declared xcc responder's pods its CoreDNS container (the lab's stand-in serves it)
        ...(responders.has(`${pod.namespace}/${pod.name}`) ? responderPodSpec() : {}),
      },
    })
  }
  for (const s of cluster.services) {
    namespaces.add(s.namespace)
    const vip = s.forwardingRule ? model.forwardingRules.get(s.forwardingRule)?.ip : undefined
    out.push({
      apiVersion: 'v1', kind: 'Service',
      metadata: {name: s.name, namespace: s.namespace, ...(s.forwardingRule ? {annotations: {'networking.gke.io/load-balancer-type': 'Internal'}} : {})},
      spec: {
        type: s.type, clusterIP: formatIp(s.clusterIP), clusterIPs: [formatIp(s.clusterIP)], externalTrafficPolicy: s.type === 'ClusterIP' ? undefined : s.externalTrafficPolicy,
        ports: s.ports.map((p, i) => ({name: p.name ?? `p${i}`, port: p.port, targetPort: p.targetPort ?? p.port, protocol: p.protocol, ...(p.nodePort ? {nodePort: p.nodePort} : {})})),
      },
      status: {loadBalancer: vip === undefined ? {} : {ingress: [{ip: formatIp(vip)}]}},
    })
    out.push({
      apiVersion: 'v1', kind: 'Endpoints',
      metadata: {name: s.name, namespace: s.namespace},
      subsets: s.endpoints.length === 0 ? [] : [{
        addresses: s.endpoints.map((e) => ({ip: formatIp(e.ip), nodeName: e.node, targetRef: {kind: 'Pod', namespace: e.namespace, name: e.name}})),
        ports: s.ports.map((p, i) => ({name: p.name ?? `p${i}`, port: p.targetPort ?? p.port, protocol: p.protocol})),
      }],
    })
  }
  const made: LabObject[] = []
  if (dns) made.push(...(dns.plan.adopted ? [dnsConfigMap(dns.plan)] : dnsObjects(dns.plan, dns.command)))
  const config = ipMasqAgentConfig(cluster.spec.masquerade)
  if (config !== undefined) made.push({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: CONFIG_MAP_NAME, namespace: CONFIG_MAP_NAMESPACE}, data: {[CONFIG_KEY]: config}})
  // the topology's ConfigMaps take the place of the lab's own of the same name
  const declared = new Set(cluster.spec.configMaps.map((c) => `${c.namespace}/${c.name}`))
  out.push(...made.filter((o) => o.kind !== 'ConfigMap' || !declared.has(`${o.metadata.namespace}/${o.metadata.name}`)))
  for (const c of cluster.spec.configMaps) {
    namespaces.add(c.namespace)
    out.push({
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: {name: c.name, namespace: c.namespace, ...(c.labels ? {labels: {...c.labels}} : {}), ...(c.annotations ? {annotations: {...c.annotations}} : {})},
      data: {...c.data},
    })
  }
  return [...[...namespaces].map((name): LabObject => ({apiVersion: 'v1', kind: 'Namespace', metadata: {name}})), ...out]
}

/**
 * The `config` key of `kube-system/ip-masq-agent` for a cluster whose masquerade is ipMasq (also
 * the default when the topology says nothing, SNAT-13 row 3), else undefined. Without a list the
 * key leaves `nonMasqueradeCIDRs` out, so the agent keeps its default list (SNAT-03, SNAT-12);
 * `cidrLimit` is written only when it is not the default 64 (SNAT-02).
 */
export function ipMasqAgentConfig(masquerade: MasqueradeSpec): string | undefined {
  if (!('ipMasq' in masquerade)) return undefined
  const {nonMasqueradeCIDRs, masqLinkLocal, cidrLimit} = masquerade.ipMasq
  const lines: string[] = []
  if (nonMasqueradeCIDRs !== undefined) lines.push(nonMasqueradeCIDRs.length === 0 ? 'nonMasqueradeCIDRs: []' : 'nonMasqueradeCIDRs:', ...nonMasqueradeCIDRs.map((c) => `  - ${c}`))
  lines.push(`masqLinkLocal: ${masqLinkLocal}`)
  if (cidrLimit !== 64) lines.push(`cidrLimit: ${cidrLimit}`)
  lines.push('resyncInterval: 60s', '')
  return lines.join('\n')
}

/**
 * The cluster DNS as the API shows it: the kube-dns Service (UDP and TCP 53) with its Endpoints,
 * the DNS pod pinned to its address and running `command` as nobody, and the provider's
 * ConfigMap: an empty `kube-dns` (GKE creates it without data) or kubeadm's `coredns` Corefile.
 */
export function dnsObjects(dns: ClusterDnsPlan, command: string[]): LabObject[] {
  const labels = {[DNS_APP_LABEL]: DNS_SERVICE}
  const ports = [{name: 'dns', port: 53, protocol: 'UDP'}, {name: 'dns-tcp', port: 53, protocol: 'TCP'}]
  const meta = (name: string, more: Partial<LabObject['metadata']> = {}): LabObject['metadata'] => ({name, namespace: DNS_NAMESPACE, ...more})
  return [
    {
      apiVersion: 'v1', kind: 'Service',
      metadata: meta(DNS_SERVICE, {labels: {...labels, 'kubernetes.io/name': dns.provider === 'CoreDNS' ? 'CoreDNS' : 'KubeDNS'}}),
      spec: {type: 'ClusterIP', clusterIP: dns.serviceIP, clusterIPs: [dns.serviceIP], selector: labels, ports: ports.map((p) => ({...p, targetPort: 53}))},
    },
    {
      apiVersion: 'v1', kind: 'Endpoints', metadata: meta(DNS_SERVICE, {labels}),
      subsets: [{addresses: [{ip: dns.podIP, nodeName: dns.node, targetRef: {kind: 'Pod', namespace: DNS_NAMESPACE, name: dns.podName}}], ports}],
    },
    {
      apiVersion: 'v1', kind: 'Pod',
      metadata: meta(dns.podName, {labels, annotations: {[POD_IP_ANNOTATION]: dns.podIP, [PORTS_ANNOTATION]: '53'}}),
      spec: {nodeName: dns.node, restartPolicy: 'Always', dnsPolicy: 'Default', priorityClassName: 'system-cluster-critical', ...dnsPodSpec(dns, command)},
    },
    dnsConfigMap(dns),
  ]
}

/** the DNS pod's containers: the server, as nobody, with nothing more */
function dnsPodSpec(dns: ClusterDnsPlan, command: string[]): Record<string, unknown> {
  return {
    securityContext: {runAsUser: 65534, runAsGroup: 65534, runAsNonRoot: true},
    containers: [{
      name: dns.provider === 'CoreDNS' ? 'coredns' : 'dnsmasq', image: 'xcc-lab/dnsmasq', command,
      ports: [{name: 'dns', containerPort: 53, protocol: 'UDP'}, {name: 'dns-tcp', containerPort: 53, protocol: 'TCP'}],
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: ['ALL']}},
    }],
  }
}

/**
 * `<namespace>/<name>` of the pods behind a declared xcc responder: the endpoints of the Service
 * `kube-system/xcc-dns-responder` of a cluster that also declares its ConfigMap (without the
 * ConfigMap the pods could not start on a cluster either; they keep their echo server).
 */
function responderPods(cluster: ClusterFacts): Set<string> {
  const service = cluster.services.find((s) => s.namespace === RESPONDER_NAMESPACE && s.name === RESPONDER_NAME)
  const configMap = cluster.spec.configMaps.some((c) => c.namespace === RESPONDER_NAMESPACE && c.name === RESPONDER_NAME)
  return new Set(service && configMap ? service.endpoints.filter((p) => !p.hostNetwork).map((p) => `${p.namespace}/${p.name}`) : [])
}

/**
 * A responder pod's container as templates/dns/responder.yaml makes it: the CoreDNS image with
 * `-conf <dir>/Corefile`, the ConfigMap mounted at that directory. The lab cannot run the image;
 * its stand-in recognises this container and runs dnsmasq on the ConfigMap's zones instead.
 */
function responderPodSpec(): Record<string, unknown> {
  return {
    containers: [{
      name: 'coredns', image: DEFAULT_RESPONDER_IMAGE, args: ['-conf', `${RESPONDER_CONFIG_DIR}/Corefile`],
      ports: [{name: 'dns', containerPort: 53, protocol: 'UDP'}, {name: 'dns-tcp', containerPort: 53, protocol: 'TCP'}],
      volumeMounts: [{name: 'config', mountPath: RESPONDER_CONFIG_DIR, readOnly: true}],
    }],
    volumes: [{name: 'config', configMap: {name: RESPONDER_NAME}}],
  }
}

/** the provider's ConfigMap: an empty `kube-dns` (GKE creates it without data) or kubeadm's `coredns` Corefile */
function dnsConfigMap(dns: ClusterDnsPlan): LabObject {
  return dns.provider === 'CoreDNS'
    ? {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: COREDNS_CONFIG_MAP, namespace: DNS_NAMESPACE}, data: {[COREFILE_KEY]: DEFAULT_COREFILE}}
    : {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: KUBE_DNS_CONFIG_MAP, namespace: DNS_NAMESPACE, labels: {'addonmanager.kubernetes.io/mode': 'EnsureExists'}}}
}
