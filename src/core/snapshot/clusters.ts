/**
 * `xcc snapshot`, the cluster half: each GKE cluster with its nodes (from the Compute Engine
 * instances of its node pools: address, pod range from the alias range or the per-node route) and,
 * when a kube context of it is at hand, its pods, Services, endpoints and ip-masq-agent config.
 */
import {RESPONDER_LINKS_ANNOTATION, RESPONDER_NAME} from '../dns/responder.js'
import {cidrContainsIp, parseCidr, parseIp} from '../net/ipv4.js'
import type {ComputeInventory, GceInstance, GceRoute, GkeCluster} from '../ports/gcp.js'
import type {KubeConfigMap, KubeEndpoints, KubeNode, KubePod, KubeService} from '../ports/kube.js'
import {MANAGED_BY, MANAGED_BY_LABEL, PORTS_ANNOTATION, parsePortsAnnotation} from '../kube/labels.js'
import {GKE_AGENT_FLAGS, parseAgentConfig, validateAgentConfig} from '../topology/ip-masq-agent.js'
import {type Doc, type Skipped, lastSegment} from './docs.js'

/** what a kube context of the cluster tells */
export interface KubeFacts {
  readonly context: string
  readonly nodes: readonly KubeNode[]
  readonly pods: readonly KubePod[]
  readonly services: readonly KubeService[]
  /** `<namespace>/<name>` → the Service's endpoints */
  readonly endpoints: ReadonlyMap<string, KubeEndpoints>
  readonly masqConfig?: KubeConfigMap
  /** kube-system/kube-dns, coredns, xcc-dns-responder: how the cluster's pods resolve names */
  readonly dnsConfigMaps?: readonly KubeConfigMap[]
  /** node name → `iptables-save -t nat` (--node-rules) */
  readonly nodeRules?: ReadonlyMap<string, string>
}

const inRange = (range: string | undefined, cidr: string): boolean => {
  const r = range ? parseCidr(range) : undefined
  const c = parseCidr(cidr)
  return Boolean(r?.ok && c.ok && cidrContainsIp(r.cidr, c.cidr.base))
}

/** the routes through each instance (by name), in the inventory's order: a node's pod route is looked up there, not in every route of the project */
function routesByNextHop(inventory: ComputeInventory): Map<string, GceRoute[]> {
  const out = new Map<string, GceRoute[]>()
  for (const r of inventory.routes) {
    if (!r.nextHopInstance) continue
    const name = lastSegment(r.nextHopInstance)
    const list = out.get(name)
    if (list) list.push(r)
    else out.set(name, [r])
  }
  return out
}

/** the first route through `node` into the cluster's pod range: GKE's per-node route of a routes-based cluster */
function podRouteOf(cluster: GkeCluster, node: string, byNextHop: ReadonlyMap<string, readonly GceRoute[]>): GceRoute | undefined {
  return byNextHop.get(node)?.find((r) => inRange(cluster.clusterIpv4Cidr, r.destRange))
}

/** a node's pod range: the alias range of nic0 in the pod range (VPC-native), else its per-node route (routes-based), else what Kubernetes says */
function podCidrOf(cluster: GkeCluster, node: GceInstance, byNextHop: ReadonlyMap<string, readonly GceRoute[]>, kube?: KubeFacts): string | undefined {
  const alias = node.networkInterfaces[0]?.aliasIpRanges?.find((a) => inRange(cluster.clusterIpv4Cidr, a.ipCidrRange))?.ipCidrRange
  if (alias) return alias
  const route = podRouteOf(cluster, node.name, byNextHop)
  if (route) return route.destRange
  return kube?.nodes.find((n) => n.metadata.name === node.name)?.spec?.podCIDR
}

/** the per-node pod routes the loader derives for routes-based clusters (node → pod range), so the snapshot does not list them */
export function derivedPodRoutes(clusters: readonly GkeCluster[], inventory: ComputeInventory, nodesByCluster: ReadonlyMap<string, ReadonlySet<string>>): Map<string, string> {
  const out = new Map<string, string>()
  const byNextHop = routesByNextHop(inventory)
  for (const c of clusters) {
    if (c.ipAllocationPolicy?.useIpAliases) continue
    for (const name of nodesByCluster.get(c.name) ?? []) {
      const route = podRouteOf(c, name, byNextHop)
      if (route) out.set(name, route.destRange)
    }
  }
  return out
}

function masqueradeDoc(cluster: GkeCluster, kube: KubeFacts | undefined, skipped: Skipped[]): Doc | undefined {
  const text = kube?.masqConfig?.data?.config
  if (text !== undefined) {
    const parsed = parseAgentConfig(text, GKE_AGENT_FLAGS)
    const problems = parsed.ok ? validateAgentConfig(parsed.config, GKE_AGENT_FLAGS) : [parsed.error]
    if (!parsed.ok || problems.length > 0) {
      skipped.push({kind: 'ip-masq-agent', name: cluster.name, reason: `its config is invalid (${problems.join('; ')}); the agent keeps an earlier one xcc cannot see (SNAT-04)`})
      return undefined
    }
    const doc: Doc = {}
    if ('nonMasqueradeCIDRs' in parsed.fields) doc.nonMasqueradeCIDRs = [...parsed.config.nonMasqueradeCIDRs]
    if (parsed.config.masqLinkLocal) doc.masqLinkLocal = true
    if (parsed.config.cidrLimit !== 64) doc.cidrLimit = parsed.config.cidrLimit
    return {ipMasq: doc}
  }
  if (cluster.networkConfig?.defaultSnatStatus?.disabled) return {disabled: true}
  return undefined
}

function portsOf(service: KubeService, endpoints: KubeEndpoints | undefined, skipped: Skipped[]): Doc[] {
  return (service.spec?.ports ?? []).map((p) => {
    const doc: Doc = {port: p.port}
    if (p.name) doc.name = p.name
    // a named targetPort is the endpoints' port of that name
    const target = typeof p.targetPort === 'number' ? p.targetPort : typeof p.targetPort === 'string' ? endpoints?.subsets?.flatMap((s) => s.ports ?? []).find((e) => e.name === p.name)?.port : undefined
    if (typeof p.targetPort === 'string' && target === undefined) skipped.push({kind: 'servicePort', name: `${service.metadata.namespace}/${service.metadata.name}:${p.port}`, reason: `its named targetPort ${p.targetPort} has no endpoint to resolve it; the port itself is assumed`})
    if (target !== undefined && target !== p.port) doc.targetPort = target
    if (p.nodePort) doc.nodePort = p.nodePort
    if (p.protocol && p.protocol !== 'TCP') doc.protocol = p.protocol
    return doc
  })
}

function serviceDocs(kube: KubeFacts, podNames: ReadonlySet<string>, inventory: ComputeInventory, skipped: Skipped[]): Doc[] {
  const out: Doc[] = []
  const sortedServices = [...kube.services].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))
  for (const s of sortedServices) {
    const id = `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`
    const type = s.spec?.type ?? 'ClusterIP'
    if (type === 'ExternalName' || !s.spec?.clusterIP || s.spec.clusterIP === 'None' || parseIp(s.spec.clusterIP) === undefined) {
      skipped.push({kind: 'service', name: id, reason: type === 'ExternalName' ? 'an ExternalName Service has no address' : 'a headless Service has no cluster IP (its pods are listed)'})
      continue
    }
    if ((s.spec.ports ?? []).length === 0) continue
    const endpoints = kube.endpoints.get(id)
    const doc: Doc = {namespace: s.metadata.namespace ?? 'default', name: s.metadata.name}
    if (type !== 'ClusterIP') doc.type = type
    doc.clusterIP = s.spec.clusterIP
    doc.ports = portsOf(s, endpoints, skipped)
    const members = (endpoints?.subsets ?? []).flatMap((sub) => sub.addresses ?? []).map((a) => a.targetRef?.kind === 'Pod' ? a.targetRef.name : undefined)
      .filter((n): n is string => n !== undefined && podNames.has(`${s.metadata.namespace ?? 'default'}/${n}`))
    if (members.length) doc.endpoints = [...new Set(members)].sort()
    if (s.spec.externalTrafficPolicy === 'Local') doc.externalTrafficPolicy = 'Local'
    const lb = type === 'LoadBalancer' ? s.status?.loadBalancer?.ingress?.find((i) => i.ip)?.ip : undefined
    const rule = lb ? inventory.forwardingRules.find((f) => f.IPAddress === lb && f.loadBalancingScheme === 'INTERNAL') : undefined
    if (rule) doc.loadBalancer = {forwardingRule: rule.name}
    out.push(doc)
  }
  return out
}

/** a node's nat table without what changes from one read to the next: iptables-save's dated comments and its counters */
export function stableRules(text: string): string {
  return text.split('\n').filter((l) => !/^# (Generated by|Completed on) /.test(l)).map((l) => l.replace(/^(:\S+ \S+) \[\d+:\d+\]$/, '$1 [0:0]').replace(/^\[\d+:\d+\] /, '')).join('\n')
}

/**
 * Whether a pod is part of what the snapshot describes: not one xcc manages (its managed-by label:
 * the live doctor's probes, the --node-rules readers, the masquerade DaemonSet's pods). The `xcc
 * dns link` responder's pods carry it too but stay: the cluster's names are served by them, and
 * without them its Service would have no endpoint and the doctor would find the stub server
 * unreachable.
 */
function ofTheCluster(p: KubePod): boolean {
  return p.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY || p.metadata.labels?.['app.kubernetes.io/name'] === RESPONDER_NAME
}

/** a pod as the format holds it: a host-network pod has its node's address; `ports` only from xcc's annotation (containerPorts do not say what is served) */
function podDoc(p: KubePod, skipped: Skipped[]): Doc {
  const doc: Doc = {namespace: p.metadata.namespace ?? 'default', name: p.metadata.name, node: p.spec.nodeName as string, ip: p.status?.podIP as string}
  const ports = parsePortsAnnotation(p.metadata.annotations?.[PORTS_ANNOTATION])
  if (Array.isArray(ports)) doc.ports = ports
  else if (ports) skipped.push({kind: 'podPorts', name: `${doc.namespace as string}/${p.metadata.name}`, reason: `its ${PORTS_ANNOTATION} annotation is not a list of ports (${ports.error}); what it serves is left unknown`})
  if (p.spec.hostNetwork) doc.hostNetwork = true
  return doc
}

/** a pod the format can hold: its address in its node's pod range, no other pod's (a terminating pod can still hold it) */
function podFits(pod: Doc, nodes: readonly Doc[], seen: Map<string, string>, skipped: Skipped[]): boolean {
  if (pod.hostNetwork) return true
  const id = `${pod.namespace as string}/${pod.name as string}`
  const node = nodes.find((n) => n.name === pod.node)
  const reason = !inRange(node?.podCidr as string | undefined, `${pod.ip as string}/32`) ? `its address ${pod.ip as string} is outside the pod range of node ${pod.node as string}`
    : seen.has(pod.ip as string) ? `its address ${pod.ip as string} is pod ${seen.get(pod.ip as string) as string}'s too` : undefined
  if (reason) {
    skipped.push({kind: 'pod', name: id, reason})
    return false
  }
  seen.set(pod.ip as string, id)
  return true
}

/** the ConfigMaps the doctor reads to resolve names (src/core/dns/resolve.ts), with only the annotation it reads */
export const DNS_CONFIG_MAPS = ['kube-dns', 'coredns', RESPONDER_NAME] as const

function configMapDoc(cm: KubeConfigMap): Doc {
  const links = cm.metadata.annotations?.[RESPONDER_LINKS_ANNOTATION]
  return {
    namespace: cm.metadata.namespace ?? 'kube-system', name: cm.metadata.name,
    ...(links !== undefined ? {annotations: {[RESPONDER_LINKS_ANNOTATION]: links}} : {}),
    data: {...(cm.data ?? {})},
  }
}

export function buildClusterDocs(clusters: readonly GkeCluster[], inventory: ComputeInventory, nodesByCluster: ReadonlyMap<string, ReadonlySet<string>>, kubeOf: (cluster: GkeCluster) => KubeFacts | undefined, skipped: Skipped[]): Doc[] {
  const out: Doc[] = []
  const byNextHop = routesByNextHop(inventory)
  for (const c of [...clusters].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!c.network || !c.subnetwork || !c.clusterIpv4Cidr || !c.servicesIpv4Cidr) {
      skipped.push({kind: 'cluster', name: c.name, reason: 'the GKE API gives no network, subnetwork or ranges for it (still provisioning?)'})
      continue
    }
    const kube = kubeOf(c)
    const instances = inventory.instances.filter((i) => nodesByCluster.get(c.name)?.has(i.name)).sort((a, b) => a.name.localeCompare(b.name))
    const nodes: Doc[] = []
    for (const i of instances) {
      const podCidr = podCidrOf(c, i, byNextHop, kube)
      const nic = i.networkInterfaces[0]
      if (!podCidr || !nic) {
        skipped.push({kind: 'node', name: i.name, reason: 'neither an alias range, a per-node route nor Kubernetes gives its pod range'})
        continue
      }
      const node: Doc = {name: i.name, zone: lastSegment(i.zone), networkIP: nic.networkIP, podCidr}
      const tags = [...(i.tags?.items ?? [])].sort()
      if (JSON.stringify(tags) !== JSON.stringify([`gke-${c.name}-node`])) node.tags = tags
      const rules = kube?.nodeRules?.get(i.name)
      if (rules !== undefined) node.iptables = stableRules(rules)
      nodes.push(node)
    }
    if (nodes.length === 0) {
      skipped.push({kind: 'cluster', name: c.name, reason: 'no node of it could be described'})
      continue
    }
    const doc: Doc = {
      name: c.name, location: c.location, network: c.network, subnetwork: c.subnetwork,
      mode: c.ipAllocationPolicy?.useIpAliases ? 'VPC_NATIVE' : 'ROUTES', clusterIpv4Cidr: c.clusterIpv4Cidr, servicesIpv4Cidr: c.servicesIpv4Cidr,
    }
    const masquerade = masqueradeDoc(c, kube, skipped)
    if (masquerade) doc.masquerade = masquerade
    doc.nodes = nodes
    if (kube) {
      const nodeNames = new Set(nodes.map((n) => n.name as string))
      const seen = new Map<string, string>()
      const pods = kube.pods
        .filter((p) => p.status?.podIP && p.spec.nodeName && nodeNames.has(p.spec.nodeName) && (p.status.phase === 'Running' || p.status.phase === 'Pending'))
        .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))
        .filter(ofTheCluster)
        .map((p) => podDoc(p, skipped))
        .filter((p) => podFits(p, nodes, seen, skipped))
      if (pods.length) doc.pods = pods
      const services = serviceDocs(kube, new Set(pods.map((p) => `${p.namespace}/${p.name}`)), inventory, skipped)
      if (services.length) doc.services = services
      const configMaps = (kube.dnsConfigMaps ?? []).map(configMapDoc).sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))
      if (configMaps.length) doc.configMaps = configMaps
    } else {
      skipped.push({kind: 'cluster-workloads', name: c.name, reason: 'no kube context of this cluster is at hand: its pods and Services are not described'})
    }
    out.push(doc)
  }
  return out
}
