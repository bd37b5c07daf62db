/**
 * What a link is asked for and what it wants, before it is compared with the project: the
 * request, the Kubernetes steps beside the Compute resources (xcc masquerade, a Service
 * annotation), and the helpers both modes share. Pure.
 */
import {XccError} from '../errors.js'
import {decideNodeSnat} from '../iptables/node-snat.js'
import type {Ip} from '../net/ipv4.js'
import type {ClusterFacts, Model, ServiceFacts} from '../topology/model-types.js'
import type {Wanted} from './diff.js'
import {gcpLabels, markOf, resourceName} from './names.js'
import {type WantedSpec, toDesired, wantedResource} from './resources.js'

export type LinkMode = 'peering' | 'gateway'

export interface LinkRequest {
  readonly link: string
  readonly mode: LinkMode | 'auto'
  /** cluster names (the app resolves LOCATION/NAME) */
  readonly from: string
  readonly to: string
  readonly service?: {readonly namespace: string; readonly name: string}
  /** which port of the Service (default: its first) */
  readonly port?: number
  readonly viaNetwork?: string
  readonly viaRange?: string
  readonly gateways: number
  /** false (--no-snat): keep the client's pod addresses and exchange custom routes instead of masquerading (peering) */
  readonly snat: boolean
  readonly project: string
  /** the kube context of each cluster, for the commands the plan prints */
  readonly contexts: Readonly<Record<string, string>>
  /** per cluster, the ranges xcc's own masquerade DaemonSet keeps (invisible in a snapshot, which does not read nodes' rules) */
  readonly masqueraded?: Readonly<Record<string, readonly string[]>>
}

/** a change made through Kubernetes rather than Compute Engine */
export interface KubeStep {
  readonly action: 'create'
  readonly kind: 'masquerade' | 'annotation'
  /** the cluster it is made in */
  readonly cluster: string
  /** what it is: the CIDRs added, or `namespace/service key=value` */
  readonly name: string
  readonly cidrs?: readonly string[]
  readonly reason: string
  /** the command that makes it */
  readonly command: string
  /** `annotation`: the Service and the annotation xcc sets on it (a merge patch; delete puts back what was there) */
  readonly annotation?: {readonly namespace: string; readonly service: string; readonly key: string; readonly value: string}
}

export interface LinkDesign {
  readonly mode: LinkMode
  readonly wanted: readonly Wanted[]
  readonly kube: readonly KubeStep[]
  /** where --from's pods reach the Service, once the plan is applied (the IP is the API's to pick when absent) */
  readonly address?: {readonly forwardingRule: string; readonly ip?: string; readonly port: number}
  /** names of the peerings the link owns (they carry no description) */
  readonly peeringNames: readonly string[]
  readonly notes: readonly string[]
}

/** HC ranges of internal passthrough load balancers (ILB-08) */
export const HEALTH_CHECK_RANGES = ['130.211.0.0/22', '35.191.0.0/16'] as const

export class Wants {
  readonly items: Wanted[] = []
  constructor(private readonly request: LinkRequest, private readonly model: Model) {}
  /** `service`: the Service a forwarding rule serves (`NS/NAME`), named in its mark */
  add(spec: WantedSpec, role: string, reason: string, service?: string): void {
    const mark = markOf(this.request.link, role, service)
    const description = spec.kind === 'peering' ? undefined : mark
    this.items.push({resource: wantedResource(spec, description), desired: toDesired(spec, mark, this.model.topology, this.request.project), reason})
  }
}

export function clusterOf(model: Model, name: string, flag: string): ClusterFacts {
  const c = model.clusters.get(name)
  if (!c) throw new XccError(`${flag} ${name}: no such cluster in the project`, {hint: `clusters: ${[...model.clusters.keys()].sort().join(', ') || '(none)'}`})
  return c
}

export interface ServicePort {
  readonly service: ServiceFacts
  readonly port: number
  readonly nodePort?: number
}

/** the Service of --service in the --to cluster, and the port of it the link serves */
export function servicePort(c: ClusterFacts, request: LinkRequest): ServicePort | undefined {
  const wanted = request.service
  if (!wanted) return undefined
  const id = `${wanted.namespace}/${wanted.name}`
  const service = c.services.find((s) => s.namespace === wanted.namespace && s.name === wanted.name)
  if (!service) {
    throw new XccError(`--service ${id}: no such Service in cluster ${c.name} (or it has no ports, or no kube context of ${c.name} was read)`, {
      hint: c.services.length ? `its Services: ${c.services.map((s) => `${s.namespace}/${s.name}`).join(', ')}` : `add a kube context whose API server is ${c.name}'s endpoint to your kubeconfig`,
    })
  }
  const ports = service.ports.filter((p) => p.protocol === 'TCP')
  const port = request.port === undefined ? ports[0] : ports.find((p) => p.port === request.port || p.nodePort === request.port)
  if (!port) throw new XccError(`--service ${id}: ${request.port === undefined ? 'it has no TCP port' : `it has no TCP port ${request.port}`}`, {hint: `its ports: ${service.ports.map((p) => `${p.port}/${p.protocol}`).join(', ') || '(none)'}`})
  return {service, port: port.port, ...(port.nodePort ? {nodePort: port.nodePort} : {})}
}

/** the tags of a cluster's nodes (their firewall targets) */
export function nodeTags(model: Model, c: ClusterFacts): string[] {
  return [...new Set(c.nodes.flatMap((n) => model.instances.get(n.name)?.tags ?? []))].sort()
}

/**
 * SNAT-06/09/14: does any node of `c` send a pod's packet to `dst` with the pod's own address?
 * Each node's whole nat table decides (its rules as read, or derived from its masquerade setting).
 * A table xcc cannot evaluate counts as keeping the address: the plan then adds the masquerade.
 */
export function podsKeepAddress(model: Model, c: ClusterFacts, dst: Ip, dstPort: number): boolean {
  return c.nodes.some((node) => {
    const text = model.instances.get(node.name)?.guest.rulesText
    if (text === undefined) return true
    const decision = decideNodeSnat({
      natRules: text, source: `node ${node.name}`, addresses: [node.ip], podCidr: node.podCidr, uplink: 'eth0',
      packet: {src: (node.podCidr.base + 10) >>> 0, dst, protocol: 'tcp', srcPort: 40000, dstPort},
    })
    return decision.kind !== 'masquerade' && decision.kind !== 'dropped'
  })
}

export const labels = (request: LinkRequest): Record<string, string> => gcpLabels(request.link)
export const nameOf = (request: LinkRequest, role: string, side?: string): string => resourceName(request.link, role, side)
