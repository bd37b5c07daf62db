/**
 * What the project holds after a link plan is applied, as a topology: each planned change done to
 * the topology document the way the Compute API's writes do it to the lab (addresses allocated
 * from the subnet, a VM's guest read back from its startup script, a group's members flattened
 * into the backend service). A masquerade step becomes an ip-masq-agent config that masquerades
 * everything but the cluster's own pods, as `xcc masquerade add` makes the nodes do for the range.
 * For tests of the planner: a second plan on the result must be empty, and the doctor must find
 * the flow the link was for reachable.
 */
import {parseCidr, formatIp} from '../../src/core/net/ipv4.js'
import type {KubeStep} from '../../src/core/link/design.js'
import type {PlannedChange} from '../../src/core/link/changes.js'
import type {DesiredResource} from '../../src/core/ports/gcp-writes.js'
import {parseGuestScript} from '../../src/core/topology/guest-script.js'
import {nodePoolGroups} from '../../src/core/topology/node-pools.js'
import type {Topology} from '../../src/core/topology/schema.js'

type Doc = Record<string, unknown>
type Lists = Record<string, Doc[]>

const last = (url: unknown): string => String(url).split('/').pop() as string

function usedAddresses(t: Topology): Set<string> {
  const out = new Set<string>()
  for (const i of t.instances) for (const n of i.networkInterfaces) out.add(`${n.network}/${n.networkIP}`)
  for (const c of t.clusters) for (const n of c.nodes) out.add(`${c.network}/${n.networkIP}`)
  for (const f of t.forwardingRules) out.add(`${f.network}/${f.IPAddress}`)
  return out
}

function allocate(t: Topology, network: string, subnet: string): string {
  const range = t.networks.find((n) => n.name === network)?.subnets.find((s) => s.name === subnet)?.ipCidrRange
  const parsed = parseCidr(range ?? '')
  if (!parsed.ok) throw new Error(`no subnet ${network}/${subnet}`)
  const used = usedAddresses(t)
  for (let i = 2; i < 250; i++) {
    const ip = formatIp((parsed.cidr.base + i) >>> 0)
    if (!used.has(`${network}/${ip}`)) return ip
  }
  throw new Error(`subnet ${subnet} is full`)
}

function create(t: Topology, r: DesiredResource): void {
  const b = r.body as Doc & Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any -- a REST body, read field by field
  const lists = t as unknown as Lists
  const description = b.description as string | undefined
  switch (r.kind) {
    case 'network': lists.networks!.push({name: r.name, subnets: [], peerings: [], description}); return
    case 'subnetwork': (t.networks.find((n) => n.name === last(b.network))!.subnets as unknown as Doc[]).push({name: r.name, region: b.region, ipCidrRange: b.ipCidrRange, secondaryIpRanges: [], allowSubnetCidrRoutesOverlap: false, description}); return
    case 'peering': (t.networks.find((n) => n.name === r.parent)!.peerings as unknown as Doc[]).push({name: r.name, network: last(b.network), exportCustomRoutes: b.exportCustomRoutes, importCustomRoutes: b.importCustomRoutes, exportSubnetRoutesWithPublicIp: true, importSubnetRoutesWithPublicIp: false}); return
    case 'firewall': lists.firewalls!.push({name: r.name, network: last(b.network), direction: b.direction, priority: b.priority, sourceRanges: b.sourceRanges, destinationRanges: [], targetTags: b.targetTags, allowed: b.allowed.map((a: Doc) => ({...a, IPProtocol: String(a.IPProtocol)})), disabled: false, description}); return
    case 'route': lists.routes!.push({name: r.name, network: last(b.network), destRange: b.destRange, priority: b.priority, nextHopInstance: last(b.nextHopInstance), description}); return
    case 'instance': {
      const nics = (b.networkInterfaces as Doc[]).map((n) => ({network: last(n.network), subnetwork: last(n.subnetwork), networkIP: allocate(t, last(n.network), last(n.subnetwork)), aliasIpRanges: []}))
      const script = (b.metadata.items as Array<{key: string; value: string}>).find((m) => m.key === 'startup-script')!.value
      const read = parseGuestScript(script, nics.map((n) => ({ipCidrRange: t.networks.find((x) => x.name === n.network)?.subnets.find((s) => s.name === n.subnetwork)?.ipCidrRange})))
      if (!('guest' in read)) throw new Error(`the startup script of ${r.name} is unreadable at line ${read.unreadable.line}: ${read.unreadable.text}`)
      lists.instances!.push({name: r.name, zone: r.scope.kind === 'zone' ? r.scope.name : '', tags: b.tags.items, canIpForward: b.canIpForward, networkInterfaces: nics, guest: read.guest, labels: b.labels, description})
      return
    }
    case 'instanceGroup': lists.instanceGroups!.push({name: r.name, zone: b.zone, instances: (b.instances as string[]).map(last), namedPorts: [], description}); return
    case 'healthCheck': lists.healthChecks!.push({name: r.name, region: b.region, type: 'TCP', port: b.tcpHealthCheck.port, description}); return
    case 'backendService': {
      const groups = (b.backends as Doc[]).map((x) => last(x.group))
      const members = groups.flatMap((g) => t.instanceGroups.find((x) => x.name === g)?.instances ?? nodePoolGroups(t).find((x) => x.name === g)?.nodes ?? [])
      const check = t.healthChecks.find((h) => h.name === last(b.healthChecks[0]))!
      lists.backendServices!.push({name: r.name, region: b.region, backends: members, groups, healthCheck: {name: check.name, protocol: check.type, port: check.port}, description})
      return
    }
    case 'forwardingRule': lists.forwardingRules!.push({
      name: r.name, region: b.region, network: last(b.network), subnetwork: last(b.subnetwork), IPAddress: b.IPAddress ?? allocate(t, last(b.network), last(b.subnetwork)),
      IPProtocol: b.IPProtocol, ports: b.ports, allowGlobalAccess: b.allowGlobalAccess, sourceIpRanges: [], backendService: last(b.backendService), labels: b.labels, description,
    }); return
  }
}

function remove(t: Topology, change: PlannedChange): void {
  const r = change.resource
  const lists = t as unknown as Lists
  const drop = (list: Doc[] | undefined): void => {
    const at = (list ?? []).findIndex((x) => x.name === r.name)
    if (at >= 0) list!.splice(at, 1)
  }
  if (r.kind === 'subnetwork') for (const n of t.networks) drop(n.subnets as unknown as Doc[])
  else if (r.kind === 'peering') drop(t.networks.find((n) => n.name === r.parent)?.peerings as unknown as Doc[])
  else drop(lists[{network: 'networks', firewall: 'firewalls', route: 'routes', instance: 'instances', instanceGroup: 'instanceGroups', healthCheck: 'healthChecks', backendService: 'backendServices', forwardingRule: 'forwardingRules'}[r.kind]])
}

/** the topology after the changes (and the Kubernetes steps), in their order */
export function applyLinkPlan(topology: Topology, changes: readonly PlannedChange[], kube: readonly KubeStep[] = []): Topology {
  const t = structuredClone(topology)
  for (const c of changes) {
    if (c.action !== 'create') remove(t, c)
    if (c.action !== 'delete') create(t, c.resource as DesiredResource)
  }
  for (const k of kube) {
    const c = t.clusters.find((x) => x.name === k.cluster)!
    if (k.kind === 'masquerade') (c as {masquerade: unknown}).masquerade = {ipMasq: {nonMasqueradeCIDRs: [c.clusterIpv4Cidr], masqLinkLocal: false, cidrLimit: 64}}
  }
  return t
}
