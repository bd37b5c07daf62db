/**
 * The `xcc/v1` Topology file (contracts.md §1) as a strict zod schema.
 * Field names follow the Compute and GKE REST APIs. Unknown fields are errors.
 * Shapes only: references, ranges and the "exactly one of" rules are checked by validate.ts,
 * which can name both sides of a conflict.
 */
import {z} from 'zod'

import {hmsSeconds} from '../duration.js'
import {GCP_NAME, GKE_CLUSTER_NAME, NAMESPACE_NAME, NETWORK_TAG, type NameRule, POD_NAME, PORT_NAME, SERVICE_NAME, ruleMessage} from '../names.js'

/** a name held to `rule`: what GCP or Kubernetes would accept for the thing it names (core/names.ts) */
const named = (rule: NameRule) => z.string().regex(rule.pattern, ruleMessage(rule))

/** the topology's own name: free but for whitespace and "/" */
const topologyName = z
  .string()
  .min(1, 'must not be empty')
  .regex(/^[^\s/]*$/, 'must not contain spaces or "/"')
/** networks, subnets, peerings, routes, firewalls, instances (and nodes), forwarding rules, backend services, secondary ranges */
const name = named(GCP_NAME)
const tag = named(NETWORK_TAG)
const clusterName = named(GKE_CLUSTER_NAME)
const namespaceName = named(NAMESPACE_NAME)
const podName = named(POD_NAME)
const serviceName = named(SERVICE_NAME)

/**
 * CIDR and IP strings are checked by validate.ts so the message can say exactly what is wrong.
 * A custom message on a type says what was expected; parse.ts adds what was found.
 */
const cidrText = z.string({error: 'must be a CIDR string like 10.0.0.0/8'})
const ipText = z.string({error: 'must be an IPv4 address string like 10.1.0.5'})
const priority = z.number().int('must be an integer').min(0, 'must be 0..65535').max(65535, 'must be 0..65535')
/** ports are strings in the API ("80", "30000-32767"); a bare YAML number is accepted too */
const portText = z.union([z.string(), z.number().int()], {error: 'must be a port (80) or a port range ("30000-32767")'}).transform((v) => String(v))
const tags = z.array(tag).default([])
/** the API's free-text `description` (xcc marks what it creates with one: design.md, "Ownership without labels") */
const description = z.string({error: 'must be a string'}).max(2048, 'at most 2048 characters').optional()
/** GCE labels: keys and values of lowercase letters, digits, _ and - (keys start with a letter), at most 63 characters */
const labels = z.record(
  z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'a label key is 1-63 lowercase letters, digits, _ or -, starting with a letter'),
  z.string().regex(/^[a-z0-9_-]{0,63}$/, 'a label value is at most 63 lowercase letters, digits, _ or -'),
).optional()

export const zoneText = z.string({error: 'must be a zone like us-west1-a'}).regex(/^[a-z]+-[a-z]+\d+-[a-z]$/, 'must be a zone like us-west1-a')
export const regionText = z.string({error: 'must be a region like us-west1'}).regex(/^[a-z]+-[a-z]+\d+$/, 'must be a region like us-west1')

const secondaryRange = z.strictObject({rangeName: name, ipCidrRange: cidrText})

const subnet = z.strictObject({
  name,
  region: regionText,
  ipCidrRange: cidrText,
  secondaryIpRanges: z.array(secondaryRange).default([]),
  allowSubnetCidrRoutesOverlap: z.boolean().default(false),
  description,
})

const peering = z.strictObject({
  name,
  network: name,
  exportCustomRoutes: z.boolean().default(false),
  importCustomRoutes: z.boolean().default(false),
  // PEER-03: privately used public subnet ranges are exported by default, imported only on request.
  exportSubnetRoutesWithPublicIp: z.boolean().default(true),
  importSubnetRoutesWithPublicIp: z.boolean().default(false),
})

const network = z.strictObject({
  name,
  subnets: z.array(subnet).default([]),
  peerings: z.array(peering).default([]),
  description,
})

const route = z.strictObject({
  name,
  network: name,
  destRange: cidrText,
  priority: priority.default(1000),
  tags,
  nextHopInstance: name.optional(),
  nextHopIp: ipText.optional(),
  nextHopIlb: z.string({error: 'must be a forwarding rule name or its IPv4 address'}).optional(),
  nextHopGateway: z.literal('default-internet-gateway', {error: 'the only gateway is default-internet-gateway'}).optional(),
  description,
})

const protocolRule = z.strictObject({
  IPProtocol: z.union([z.string(), z.number().int()], {error: 'must be a protocol name (tcp, udp, icmp, …) or number'}).transform((v) => String(v).toLowerCase()),
  ports: z.array(portText).optional(),
})

const firewall = z.strictObject({
  name,
  network: name,
  direction: z.enum(['INGRESS', 'EGRESS']).default('INGRESS'),
  priority: priority.default(1000),
  sourceRanges: z.array(cidrText).default([]),
  sourceTags: tags,
  destinationRanges: z.array(cidrText).default([]),
  targetTags: tags,
  allowed: z.array(protocolRule).optional(),
  denied: z.array(protocolRule).optional(),
  disabled: z.boolean().default(false),
  description,
})

const aliasRange = z.union([
  cidrText.transform((ipCidrRange) => ({ipCidrRange, subnetworkRangeName: undefined as string | undefined})),
  z.strictObject({ipCidrRange: cidrText, subnetworkRangeName: name.optional()}),
], {error: 'must be a CIDR string like 10.1.5.0/24 or a mapping {ipCidrRange, subnetworkRangeName}'})

const networkInterface = z.strictObject({
  network: name,
  subnetwork: name,
  networkIP: ipText,
  aliasIpRanges: z.array(aliasRange).default([]),
})

const listenPort = z.strictObject({
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  port: z.number().int().min(1, 'must be 1..65535').max(65535, 'must be 1..65535'),
})

const guest = z.strictObject({
  ipForward: z.boolean().default(false),
  routes: z.array(z.strictObject({destRange: cidrText, nic: z.number().int().min(0, 'must be a NIC index')})).default([]),
  iptables: z.string().optional(),
  listen: z.array(listenPort).optional(),
})

const instance = z.strictObject({
  name,
  zone: zoneText,
  tags,
  canIpForward: z.boolean().default(false),
  networkInterfaces: z.array(networkInterface).min(1, 'an instance needs at least one network interface').max(8, 'at most 8 network interfaces'),
  guest: guest.default({ipForward: false, routes: []}),
  // GCE metadata (key → value); in a lab, `startup-script` runs inside the VM when it boots
  metadata: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'a metadata key is 1-128 letters, digits, - or _'), z.string()).optional(),
  description,
  labels,
})

const forwardingRule = z.strictObject({
  name,
  region: regionText,
  network: name,
  subnetwork: name,
  IPAddress: ipText,
  IPProtocol: z.enum(['TCP', 'UDP', 'L3_DEFAULT']).default('TCP'),
  ports: z.array(portText).max(5, 'an internal forwarding rule takes at most 5 ports').optional(),
  allPorts: z.boolean().optional(),
  allowGlobalAccess: z.boolean().default(false),
  // ILB-04: when set, only these sources are forwarded.
  sourceIpRanges: z.array(cidrText).default([]),
  backendService: name,
  description,
  labels,
})

const healthCheckProtocol = z.enum(['TCP', 'HTTP', 'HTTPS', 'HTTP2', 'SSL', 'GRPC'])
const healthCheckPort = z.number().int().min(1, 'must be 1..65535').max(65535, 'must be 1..65535')

const backendService = z.strictObject({
  name,
  region: regionText,
  backends: z.array(name).default([]),
  healthCheck: z.strictObject({
    // the entry of `healthChecks` this check is (the API names health checks; the lab reads protocol and port)
    name: name.optional(),
    protocol: healthCheckProtocol.default('TCP'),
    port: healthCheckPort,
    requestPath: z.string().optional(),
  }),
  // the instance groups (of `instanceGroups`, or a GKE node pool's) whose members `backends` lists
  groups: z.array(name).optional(),
  description,
})

/** a Compute health check, global (no region) or regional; a backend service names it in healthCheck.name */
const healthCheck = z.strictObject({
  name,
  region: regionText.optional(),
  type: healthCheckProtocol.default('TCP'),
  port: healthCheckPort,
  requestPath: z.string().optional(),
  description,
})

/** an unmanaged instance group: a named set of instances of one zone, a backend service's unit */
const instanceGroup = z.strictObject({
  name,
  zone: zoneText,
  instances: z.array(name).default([]),
  namedPorts: z.array(z.strictObject({name, port: healthCheckPort})).default([]),
  description,
})

const masquerade = z.union([
  z.strictObject({kubenet: z.strictObject({nonMasqueradeCidr: cidrText})}),
  z.strictObject({
    ipMasq: z.strictObject({
      nonMasqueradeCIDRs: z.array(cidrText).optional(),
      masqLinkLocal: z.boolean().default(false),
      cidrLimit: z.number().int('must be an integer').min(1, 'must be at least 1').default(64),
    }),
  }),
  z.strictObject({disabled: z.literal(true)}),
], {error: (issue) => `must have exactly one key: kubenet, ipMasq or disabled${hasKeys(issue.input)}`})

/** " (has none)", " (has kubenet, disabled)": the keys a mapping holds; "" for anything else */
function hasKeys(input: unknown): string {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return ''
  const keys = Object.keys(input)
  return ` (has ${keys.length > 0 ? keys.join(', ') : 'none'})`
}

const node = z.strictObject({
  name,
  zone: zoneText.optional(),
  networkIP: ipText,
  podCidr: cidrText,
  tags: z.array(tag).optional(),
  iptables: z.string().optional(),
  // `ipset save` of the node: the sets its iptables' -m set matches test (kube-proxy IPVS, Calico)
  ipsets: z.string().optional(),
})

const pod = z.strictObject({
  namespace: namespaceName.default('default'),
  name: podName,
  node: name,
  ip: ipText,
  ports: z.array(z.number().int('must be an integer').min(1, 'must be 1..65535').max(65535, 'must be 1..65535')).optional(),
  hostNetwork: z.boolean().default(false),
})

const servicePort = z.strictObject({
  name: named(PORT_NAME).optional(),
  port: z.number().int().min(1, 'must be 1..65535').max(65535, 'must be 1..65535'),
  targetPort: z.number().int().min(1, 'must be 1..65535').max(65535, 'must be 1..65535').optional(),
  nodePort: z.number().int().min(1, 'must be 1..65535').max(65535, 'must be 1..65535').optional(),
  protocol: z.enum(['TCP', 'UDP']).default('TCP'),
})

const service = z.strictObject({
  namespace: namespaceName.default('default'),
  name: serviceName,
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP'),
  clusterIP: ipText,
  ports: z.array(servicePort).min(1, 'a service needs at least one port'),
  endpoints: z.array(podName).default([]),
  externalTrafficPolicy: z.enum(['Cluster', 'Local']).default('Cluster'),
  loadBalancer: z.strictObject({internal: z.boolean().default(true), forwardingRule: name}).optional(),
})

const cluster = z.strictObject({
  name: clusterName,
  location: z.union([zoneText, regionText], {error: 'must be a zone (us-west1-a) or a region (us-west1)'}),
  network: name,
  subnetwork: name,
  mode: z.enum(['ROUTES', 'VPC_NATIVE']),
  clusterIpv4Cidr: cidrText,
  servicesIpv4Cidr: cidrText,
  // SNAT-13 row 3: without a ConfigMap or DaemonSet, GKE's default IP-MASQ chain applies.
  masquerade: masquerade.default({ipMasq: {masqLinkLocal: false, cidrLimit: 64}}),
  nodes: z.array(node).min(1, 'a cluster needs at least one node'),
  pods: z.array(pod).default([]),
  services: z.array(service).default([]),
  // the lab only (GKE has no such setting): its API server's --service-account-max-token-expiration,
  // the longest lifetime a TokenRequest is granted (default 48h, what GKE grants at most)
  serviceAccountMaxTokenExpiration: z.string({error: 'must be a duration like 48h or 90m'}).refine((text) => {
    const seconds = hmsSeconds(text)
    return seconds !== undefined && seconds >= 3600 && seconds <= 2 ** 32
  }, 'must be a duration like 48h or 90m, between 1h and 2^32 seconds').optional(),
  // the cluster's DNS server (absent: kube-dns, GKE's default); CoreDNS as kubeadm and most other distributions run it
  dnsProvider: z.enum(['kube-dns', 'CoreDNS']).optional(),
  // ConfigMaps as the cluster holds them: the doctor reads kube-system/kube-dns, kube-system/coredns and
  // kube-system/xcc-dns-responder (how a pod of the cluster resolves names); `xcc lab up` loads them all
  configMaps: z.array(z.strictObject({
    namespace: namespaceName.default('default'),
    name: serviceName,
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    data: z.record(z.string(), z.string()).default({}),
  })).default([]),
})

export const topologySchema = z.strictObject({
  apiVersion: z.literal('xcc/v1', {error: 'must be xcc/v1'}),
  kind: z.literal('Topology', {error: 'must be Topology'}),
  metadata: z.strictObject({
    name: topologyName,
    description: z.string().optional(),
    // the GCP project the topology is (or was snapshotted from); a lab serves its APIs under it
    project: z.string().regex(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/, 'must be a GCP project id: 6-30 lowercase letters, digits or -, starting with a letter').optional(),
  }),
  networks: z.array(network).default([]),
  routes: z.array(route).default([]),
  firewalls: z.array(firewall).default([]),
  instances: z.array(instance).default([]),
  forwardingRules: z.array(forwardingRule).default([]),
  backendServices: z.array(backendService).default([]),
  healthChecks: z.array(healthCheck).default([]),
  instanceGroups: z.array(instanceGroup).default([]),
  clusters: z.array(cluster).default([]),
})

export type Topology = z.output<typeof topologySchema>
export type NetworkSpec = Topology['networks'][number]
export type SubnetSpec = NetworkSpec['subnets'][number]
export type PeeringSpec = NetworkSpec['peerings'][number]
export type RouteSpec = Topology['routes'][number]
export type FirewallSpec = Topology['firewalls'][number]
export type ProtocolRuleSpec = NonNullable<FirewallSpec['allowed']>[number]
export type InstanceSpec = Topology['instances'][number]
export type NicSpec = InstanceSpec['networkInterfaces'][number]
export type GuestSpec = InstanceSpec['guest']
export type ForwardingRuleSpec = Topology['forwardingRules'][number]
export type BackendServiceSpec = Topology['backendServices'][number]
export type HealthCheckSpec = Topology['healthChecks'][number]
export type InstanceGroupSpec = Topology['instanceGroups'][number]
export type ClusterSpec = Topology['clusters'][number]
export type MasqueradeSpec = ClusterSpec['masquerade']
export type NodeSpec = ClusterSpec['nodes'][number]
export type PodSpec = ClusterSpec['pods'][number]
export type ServiceSpec = ClusterSpec['services'][number]

/** Every field name the schema knows per object kind, for "did you mean" hints on unknown fields. */
export function knownFieldsAt(schemaPath: readonly (string | number)[]): readonly string[] {
  let current: z.ZodType = topologySchema
  for (const key of schemaPath) {
    current = unwrap(current)
    if (current instanceof z.ZodArray) current = unwrap(current.element as z.ZodType)
    if (typeof key === 'number') continue
    if (current instanceof z.ZodObject) {
      const next = (current.shape as Record<string, z.ZodType>)[key]
      if (!next) return []
      current = next
    } else return []
  }
  current = unwrap(current)
  if (current instanceof z.ZodArray) current = unwrap(current.element as z.ZodType)
  return current instanceof z.ZodObject ? Object.keys(current.shape) : []
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType
    else return current
  }
}
