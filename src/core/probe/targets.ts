/**
 * `--from <context>[/<namespace>/<pod>]` and `--to <ip:port | <context>/<namespace>/<service>>`
 * of the live doctor, and what the clusters say about them: the source node, the destination
 * address, every address:port the flow may carry after kube-proxy's DNAT (for the capture
 * filter) and the destination nodes to capture on.
 */
import {splitNameTarget} from '../dns/resolve.js'
import {XccError} from '../errors.js'
import {parseIp} from '../net/ipv4.js'
import type {KubeEndpoints, KubeNode, KubeService} from '../ports/kube.js'

export interface LiveFrom {
  readonly context: string
  readonly pod?: {readonly namespace: string; readonly name: string}
}

export type LiveTo =
  | {readonly kind: 'address'; readonly ip: string; readonly port: number}
  | {readonly kind: 'service'; readonly context: string; readonly namespace: string; readonly name: string}
  /** resolved first, in the source pod's own resolver (dns-run.ts), then probed at its address */
  | {readonly kind: 'name'; readonly name: string; readonly port: number}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const FROM_SYNTAX = '<context> or <context>/<namespace>/<pod>'
const TO_SYNTAX = '<ipv4>:<port>, <context>/<namespace>/<service> or <name>:<port>'

export function parseLiveFrom(text: string): LiveFrom {
  const parts = text.split('/')
  const bad = (why: string): XccError => new XccError(`--from ${text}: ${why}`, {hint: `expected ${FROM_SYNTAX} (a kube context from your kubeconfig)`})
  if (parts.some((p) => p === '')) throw bad('empty part')
  if (parts.length === 1) return {context: text}
  if (parts.length === 3) {
    const [context, namespace, name] = parts as [string, string, string]
    if (!DNS_LABEL.test(namespace)) throw bad(`"${namespace}" is not a valid namespace name`)
    if (!/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(name)) throw bad(`"${name}" is not a valid pod name`)
    return {context, pod: {namespace, name}}
  }
  throw bad(`has ${parts.length} parts`)
}

export function parseLiveTo(text: string): LiveTo {
  const bad = (why: string): XccError => new XccError(`--to ${text}: ${why}`, {hint: `expected ${TO_SYNTAX}`})
  const address = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text)
  if (address) {
    if (parseIp(address[1] as string) === undefined) throw bad(`"${address[1]}" is not an IPv4 address`)
    const port = Number(address[2])
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port ${address[2]} is outside 1-65535`)
    return {kind: 'address', ip: address[1] as string, port}
  }
  const parts = text.split('/')
  if (parts.length === 3 && parts.every((p) => p !== '')) {
    const [context, namespace, name] = parts as [string, string, string]
    if (!DNS_LABEL.test(namespace)) throw bad(`"${namespace}" is not a valid namespace name`)
    if (!DNS_LABEL.test(name)) throw bad(`"${name}" is not a valid service name`)
    return {kind: 'service', context, namespace, name}
  }
  if (/^\d+\.\d+\.\d+\.\d+$/.test(text)) throw bad('the port is missing')
  const named = splitNameTarget(text)
  if (named) {
    const labels = named.name.replace(/\.$/, '').split('.')
    const wrong = labels.find((l) => l === '' || l.length > 63 || l.startsWith('-') || l.endsWith('-'))
    if (wrong !== undefined) throw bad(wrong === '' ? `"${named.name}" has an empty label` : `"${wrong}" is not a valid DNS label (1-63 characters, no - at either end)`)
    if (named.name.replace(/\.$/, '').length > 253) throw bad(`"${named.name}" is longer than the 253 characters of a DNS name`)
    return {kind: 'name', ...named}
  }
  if (/:\d+$/.test(text)) throw bad('not an address:port, a service nor a DNS name')
  if (/^[^/:]+$/.test(text)) throw bad('the port is missing')
  throw bad('not an address:port nor a service')
}

export function internalIps(node: KubeNode): string[] {
  return (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' && parseIp(a.address) !== undefined).map((a) => a.address)
}

export function nodeZone(node: KubeNode): string | undefined {
  return node.metadata.labels?.['topology.kubernetes.io/zone'] ?? node.metadata.labels?.['failure-domain.beta.kubernetes.io/zone']
}

function ready(node: KubeNode): boolean {
  return !node.spec?.unschedulable && (node.status?.conditions ?? []).every((c) => c.type !== 'Ready' || c.status === 'True')
}

/** `--node`, else the first ready, schedulable node by name */
export function chooseNode(nodes: readonly KubeNode[], wanted: string | undefined, context: string): KubeNode {
  if (wanted) {
    const node = nodes.find((n) => n.metadata.name === wanted)
    if (!node) throw new XccError(`--node ${wanted}: context "${context}" has no such node`, {hint: `nodes: ${nodes.map((n) => n.metadata.name).slice(0, 10).join(', ') || 'none'}`})
    return node
  }
  const candidates = [...nodes].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
  const node = candidates.find(ready) ?? candidates[0]
  if (!node) throw new XccError(`context "${context}" has no nodes to run a probe on`, {exitCode: 3})
  return node
}

export interface Destination {
  readonly ip: string
  readonly port: number
  /** every address:port the packets may carry (service VIPs, node ports, endpoints) */
  readonly variants: ReadonlyArray<{readonly ip: string; readonly port: number}>
  /** destination nodes to capture on, most relevant first */
  readonly nodes: readonly string[]
  /** what owns the destination, for messages */
  readonly owner?: string
  readonly mode: 'tcp' | 'http'
  /** the destination is the address of a Service's internal load balancer (SVC-01) */
  readonly loadBalancer?: InternalLoadBalancer
}

export interface InternalLoadBalancer {
  /** `<namespace>/<name>` of the Service */
  readonly service: string
  /** SVC-02: networking.gke.io/internal-load-balancer-allow-global-access is exactly "true" */
  readonly globalAccess: boolean
  /** the region of the cluster's nodes, where GKE makes its forwarding rule */
  readonly region?: string
}

/** the region label of a node (topology.kubernetes.io/region, or its deprecated beta name) */
export function regionOf(node: KubeNode): string | undefined {
  const labels = node.metadata.labels ?? {}
  return labels['topology.kubernetes.io/region'] ?? labels['failure-domain.beta.kubernetes.io/region']
}

/** SVC-01: either annotation key, in that order, with "Internal" (or the deprecated "internal") */
function isInternal(service: KubeService): boolean {
  const a = service.metadata.annotations ?? {}
  const value = a['networking.gke.io/load-balancer-type'] ?? a['cloud.google.com/load-balancer-type']
  return value === 'Internal' || value === 'internal'
}

/** the cap on destination captures: a load balancer in front of every node reaches any of them */
export const MAX_DESTINATION_NODES = 8

function endpointTargets(endpoints: KubeEndpoints | undefined, servicePort: NonNullable<NonNullable<KubeService['spec']>['ports']>[number]) {
  const targets: Array<{ip: string; port: number; node?: string}> = []
  for (const subset of endpoints?.subsets ?? []) {
    const port = (subset.ports ?? []).find((p) => (servicePort.name ? p.name === servicePort.name : true))?.port
      ?? (typeof servicePort.targetPort === 'number' ? servicePort.targetPort : servicePort.port)
    for (const a of subset.addresses ?? []) targets.push({ip: a.ip, port, ...(a.nodeName ? {node: a.nodeName} : {})})
  }
  return targets
}

/** A service as destination: its load balancer address when it has one, else its ClusterIP (contracts.md §2). */
export function serviceDestination(service: KubeService, endpoints: KubeEndpoints | undefined, nodes: readonly KubeNode[], requestedPort?: number): Destination {
  const spec = service.spec ?? {}
  const ports = spec.ports ?? []
  const servicePort = (requestedPort === undefined ? ports[0] : ports.find((p) => p.port === requestedPort || p.nodePort === requestedPort)) ?? ports[0]
  const label = `service ${service.metadata.namespace}/${service.metadata.name}`
  if (!servicePort) throw new XccError(`${label} has no ports`, {hint: 'a service without ports cannot be probed'})
  const lb = spec.type === 'LoadBalancer' ? service.status?.loadBalancer?.ingress?.find((i) => i.ip)?.ip : undefined
  const ip = lb ?? spec.clusterIP
  if (!ip || ip === 'None') throw new XccError(`${label} has neither a load-balancer address nor a ClusterIP`, {hint: 'probe one of its pods by address instead'})
  const targets = endpointTargets(endpoints, servicePort)
  const variants = [{ip, port: servicePort.port}]
  if (spec.clusterIP && spec.clusterIP !== 'None') variants.push({ip: spec.clusterIP, port: servicePort.port})
  if (servicePort.nodePort) for (const n of nodes) for (const a of internalIps(n)) variants.push({ip: a, port: servicePort.nodePort})
  variants.push(...targets.map((t) => ({ip: t.ip, port: t.port})))
  const endpointNodes = [...new Set(targets.map((t) => t.node).filter((n): n is string => n !== undefined))]
  // through a load balancer or node port the SYN may arrive at any node (externalTrafficPolicy Cluster)
  const entry = lb || servicePort.nodePort ? nodes.map((n) => n.metadata.name).filter((n) => !endpointNodes.includes(n)) : []
  const named = /^https?|^web/.test(servicePort.name ?? '') || servicePort.port === 80 || servicePort.port === 8080
  const region = nodes.map(regionOf).find((r) => r !== undefined)
  const internal = lb && isInternal(service) ? {
    service: `${service.metadata.namespace}/${service.metadata.name}`,
    globalAccess: service.metadata.annotations?.['networking.gke.io/internal-load-balancer-allow-global-access'] === 'true',
    ...(region ? {region} : {}),
  } : undefined
  return {
    ip, port: servicePort.port,
    variants, nodes: [...endpointNodes, ...entry].slice(0, MAX_DESTINATION_NODES),
    owner: label, mode: named ? 'http' : 'tcp',
    ...(internal ? {loadBalancer: internal} : {}),
  }
}

/** The service an address:port of a context belongs to: by its VIP, else by a node port (seed 001: a hand-made ILB in front of a NodePort). */
export function serviceOwning(ip: string, port: number, services: readonly KubeService[]): {service: KubeService; byNodePort: boolean} | undefined {
  const byAddress = services.find((s) => (s.spec?.clusterIP === ip || s.status?.loadBalancer?.ingress?.some((i) => i.ip === ip)) && (s.spec?.ports ?? []).some((p) => p.port === port))
  if (byAddress) return {service: byAddress, byNodePort: false}
  const byNodePort = services.find((s) => (s.spec?.ports ?? []).some((p) => p.nodePort === port))
  return byNodePort && {service: byNodePort, byNodePort: true}
}

/** An address:port in a context: the service that owns it (with its endpoints), else the node that has it. */
export function addressDestination(ip: string, port: number, owner: {service: KubeService; byNodePort: boolean; endpoints?: KubeEndpoints} | undefined, nodes: readonly KubeNode[]): Destination {
  if (owner) {
    const {loadBalancer, ...d} = serviceDestination(owner.service, owner.endpoints, nodes, port)
    return {
      ...d, ip, port, variants: [{ip, port}, ...d.variants], owner: owner.byNodePort ? `${d.owner} (node port ${port}, behind a load balancer at ${ip})` : d.owner,
      // only the Service's own load-balancer address is its internal load balancer
      ...(loadBalancer && d.ip === ip && !owner.byNodePort ? {loadBalancer} : {}),
    }
  }
  const node = nodes.find((n) => internalIps(n).includes(ip))
  if (node) return {ip, port, variants: [{ip, port}], nodes: [node.metadata.name], owner: `node ${node.metadata.name}`, mode: 'tcp'}
  return {ip, port, variants: [{ip, port}], nodes: [], mode: 'tcp'}
}
