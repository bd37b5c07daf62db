/**
 * `xcc snapshot`, the cloud half: what Compute Engine and GKE return, as the xcc/v1 topology's
 * networks, routes, firewalls, instances (a VM's guest read from its startup script), load
 * balancers and clusters (nodes included). Pure and deterministic: every list sorted by name,
 * defaults left out. What the format cannot express is not dropped silently: it is listed in
 * `skipped` with the reason.
 */
import type {ComputeInventory, GceFirewall, GceInstance, GceRoute, GkeCluster} from '../ports/gcp.js'
import {type GuestNic, STARTUP_SCRIPT, parseGuestScript, renderGuestScript, scriptExcerpt} from '../topology/guest-script.js'
import {type Doc, type Skipped, lastSegment, put, putText, sorted} from './docs.js'
import {type LoadBalancerPart, buildLoadBalancerPart, putLabels} from './load-balancers.js'

export type {Doc, Skipped} from './docs.js'

/** the project of a resource URL (`…/projects/P/…`) */
const projectOf = (url: string): string | undefined => /\/projects\/([^/]+)\//.exec(`/${url.replace(/^https?:\/\/[^/]+/, '')}`)?.[1]

export interface ClusterNodes {
  /** instance names of the cluster's nodes (its node pools' instance groups) */
  readonly instances: ReadonlySet<string>
}

/** The instances that are GKE nodes, by cluster: the members of its node pools' instance groups. */
/** zone/name of every node pool group of the clusters (their instanceGroupUrls name the managers; the groups share the names) */
export function nodePoolGroupKeys(clusters: readonly GkeCluster[]): Set<string> {
  const out = new Set<string>()
  for (const c of clusters) {
    for (const pool of c.nodePools ?? []) {
      for (const url of pool.instanceGroupUrls ?? []) {
        const m = /\/zones\/([^/]+)\/instanceGroup(?:Manager)?s\/([^/]+)$/.exec(url)
        if (m) out.add(`${m[1]}/${m[2]}`)
      }
    }
  }
  return out
}

export function nodesOfClusters(clusters: readonly GkeCluster[], inventory: ComputeInventory): Map<string, Set<string>> {
  const groups = new Map(inventory.instanceGroups.map((g) => [`${lastSegment(g.zone)}/${g.name}`, g]))
  const out = new Map<string, Set<string>>()
  for (const c of clusters) {
    const names = new Set<string>()
    for (const pool of c.nodePools ?? []) {
      for (const url of pool.instanceGroupUrls ?? []) {
        const m = /\/zones\/([^/]+)\/instanceGroup(?:Manager)?s\/([^/]+)$/.exec(url)
        const group = m ? groups.get(`${m[1]}/${m[2]}`) : undefined
        for (const member of group?.instances ?? []) names.add(lastSegment(member))
      }
    }
    out.set(c.name, names)
  }
  return out
}

function networkDocs(inventory: ComputeInventory, project: string, skipped: Skipped[]): Doc[] {
  const networks = new Set(inventory.networks.map((n) => n.name))
  return sorted(inventory.networks).map((n) => {
    const doc: Doc = {name: n.name}
    putText(doc, 'description', n.description)
    const subnets = sorted(inventory.subnetworks.filter((s) => lastSegment(s.network) === n.name)).map((s) => {
      const sub: Doc = {name: s.name, region: lastSegment(s.region), ipCidrRange: s.ipCidrRange}
      put(sub, 'secondaryIpRanges', [...(s.secondaryIpRanges ?? [])].sort((a, b) => a.rangeName.localeCompare(b.rangeName)).map((r) => ({rangeName: r.rangeName, ipCidrRange: r.ipCidrRange})))
      put(sub, 'allowSubnetCidrRoutesOverlap', s.allowSubnetCidrRoutesOverlap, false)
      putText(sub, 'description', s.description)
      return sub
    })
    put(doc, 'subnets', subnets)
    const peerings: Doc[] = []
    for (const p of sorted(n.peerings ?? [])) {
      const peer = lastSegment(p.network)
      const peerProject = projectOf(p.network)
      if ((peerProject && peerProject !== project) || !networks.has(peer)) {
        skipped.push({kind: 'peering', name: `${n.name}/${p.name}`, reason: `its peer network ${peerProject && peerProject !== project ? `${peer} is in project ${peerProject}` : `${peer} is not in this project`}; a topology holds one project's networks`})
        continue
      }
      const doc: Doc = {name: p.name, network: peer}
      put(doc, 'exportCustomRoutes', p.exportCustomRoutes, false)
      put(doc, 'importCustomRoutes', p.importCustomRoutes, false)
      put(doc, 'exportSubnetRoutesWithPublicIp', p.exportSubnetRoutesWithPublicIp, true)
      put(doc, 'importSubnetRoutesWithPublicIp', p.importSubnetRoutesWithPublicIp, false)
      peerings.push(doc)
    }
    put(doc, 'peerings', peerings)
    return doc
  })
}

/** the per-node pod routes of routes-based GKE clusters are derived by the loader (GKE-04): not listed */
function isNodeRoute(r: GceRoute, podRoutes: ReadonlyMap<string, string>): boolean {
  return r.nextHopInstance !== undefined && podRoutes.get(lastSegment(r.nextHopInstance)) === r.destRange
}

function routeDocs(inventory: ComputeInventory, podRoutes: ReadonlyMap<string, string>, skipped: Skipped[]): Doc[] {
  const out: Doc[] = []
  for (const r of sorted(inventory.routes)) {
    // subnet and peering routes are implied by the networks and peerings
    if (r.nextHopNetwork || r.nextHopPeering || isNodeRoute(r, podRoutes)) continue
    const doc: Doc = {name: r.name, network: lastSegment(r.network), destRange: r.destRange}
    put(doc, 'priority', r.priority, 1000)
    put(doc, 'tags', [...(r.tags ?? [])].sort())
    if (r.nextHopInstance) doc.nextHopInstance = lastSegment(r.nextHopInstance)
    else if (r.nextHopIp) doc.nextHopIp = r.nextHopIp
    else if (r.nextHopIlb) doc.nextHopIlb = r.nextHopIlb.includes('/') ? lastSegment(r.nextHopIlb) : r.nextHopIlb
    else if (r.nextHopGateway) doc.nextHopGateway = 'default-internet-gateway'
    else {
      skipped.push({kind: 'route', name: r.name, reason: 'its next hop (a VPN tunnel, an interconnect or a hub) is not something a topology describes'})
      continue
    }
    putText(doc, 'description', r.description)
    out.push(doc)
  }
  return out
}

function rules(list: GceFirewall['allowed']): Doc[] {
  return (list ?? []).map((a) => {
    const doc: Doc = {IPProtocol: a.IPProtocol}
    put(doc, 'ports', a.ports ? [...a.ports] : undefined)
    return doc
  })
}

function firewallDocs(inventory: ComputeInventory, skipped: Skipped[]): Doc[] {
  const out: Doc[] = []
  for (const f of sorted(inventory.firewalls)) {
    const extra = f as GceFirewall & {sourceServiceAccounts?: unknown[]; targetServiceAccounts?: unknown[]}
    if (extra.sourceServiceAccounts?.length || extra.targetServiceAccounts?.length) {
      skipped.push({kind: 'firewall', name: f.name, reason: 'it selects instances by service account, which a topology does not describe'})
      continue
    }
    const doc: Doc = {name: f.name, network: lastSegment(f.network)}
    put(doc, 'direction', f.direction, 'INGRESS')
    put(doc, 'priority', f.priority, 1000)
    put(doc, 'sourceRanges', [...(f.sourceRanges ?? [])])
    put(doc, 'sourceTags', [...(f.sourceTags ?? [])].sort())
    put(doc, 'destinationRanges', [...(f.destinationRanges ?? [])])
    put(doc, 'targetTags', [...(f.targetTags ?? [])].sort())
    if (f.allowed?.length) doc.allowed = rules(f.allowed)
    if (f.denied?.length) doc.denied = rules(f.denied)
    put(doc, 'disabled', f.disabled, false)
    putText(doc, 'description', f.description)
    out.push(doc)
  }
  return out
}

function nicDocs(instance: GceInstance): Doc[] {
  return instance.networkInterfaces.map((n) => {
    const doc: Doc = {network: lastSegment(n.network), subnetwork: lastSegment(n.subnetwork), networkIP: n.networkIP}
    put(doc, 'aliasIpRanges', (n.aliasIpRanges ?? []).map((a) => (a.subnetworkRangeName ? {ipCidrRange: a.ipCidrRange, subnetworkRangeName: a.subnetworkRangeName} : a.ipCidrRange)))
    return doc
  })
}

/** the primary range of each NIC's subnet, for the gateways a guest script routes through */
function nicRanges(instance: GceInstance, inventory: ComputeInventory): GuestNic[] {
  return instance.networkInterfaces.map((n) => {
    const m = /\/regions\/([^/]+)\/subnetworks\/([^/]+)$/.exec(n.subnetwork ?? '')
    const subnet = inventory.subnetworks.find((s) => (m ? lastSegment(s.region) === m[1] && s.name === m[2] : s.name === lastSegment(n.subnetwork) && lastSegment(s.network) === lastSegment(n.network)))
    return {ipCidrRange: subnet?.ipCidrRange}
  })
}

/**
 * The VM's guest, read from its startup script (the API cannot see inside a VM; the script is
 * what sets its forwarding, routes and iptables up: core/topology/guest-script.ts). `canonical`:
 * the script is exactly xcc's rendering of that guest, so `guest` alone says it all. A script
 * xcc does not read leaves the guest out, and says so in `skipped` (naming the line by its first
 * word only: a script may hold secrets).
 */
function guestDoc(instance: GceInstance, script: string, inventory: ComputeInventory, skipped: Skipped[]): {doc?: Doc; canonical: boolean} | undefined {
  const nics = nicRanges(instance, inventory)
  const read = parseGuestScript(script, nics)
  if ('unreadable' in read) {
    const {line, text} = read.unreadable
    skipped.push({kind: 'guest', name: instance.name, reason: `its startup script line ${line} (${scriptExcerpt(text)}) is not one xcc reads; the VM's forwarding, routes and iptables are left out`})
    return undefined
  }
  const guest = read.guest
  const doc: Doc = {}
  put(doc, 'ipForward', guest.ipForward, false)
  put(doc, 'routes', guest.routes.map((r) => ({destRange: r.destRange, nic: r.nic})))
  put(doc, 'iptables', guest.iptables)
  // an empty listen is "serves nothing", not "unknown": kept
  if (guest.listen !== undefined) doc.listen = guest.listen.map((l) => ({protocol: l.protocol, port: l.port}))
  return {...(Object.keys(doc).length > 0 ? {doc} : {}), canonical: script === renderGuestScript(guest, nics)}
}

function instanceDocs(inventory: ComputeInventory, nodes: ReadonlySet<string>, skipped: Skipped[]): Doc[] {
  return sorted(inventory.instances.filter((i) => !nodes.has(i.name))).map((i) => {
    const doc: Doc = {name: i.name, zone: lastSegment(i.zone)}
    put(doc, 'tags', [...(i.tags?.items ?? [])].sort())
    put(doc, 'canIpForward', i.canIpForward, false)
    doc.networkInterfaces = nicDocs(i)
    // metadata: only what the lab acts on (other keys, such as ssh-keys, are the VM's business)
    const startup = i.metadata?.items?.find((m) => m.key === STARTUP_SCRIPT)?.value
    const guest = startup === undefined ? undefined : guestDoc(i, startup, inventory, skipped)
    if (guest?.doc) doc.guest = guest.doc
    if (startup !== undefined && !guest?.canonical) doc.metadata = {[STARTUP_SCRIPT]: startup}
    putText(doc, 'description', i.description)
    putLabels(doc, i.labels, `instance/${i.name}`, skipped)
    return doc
  })
}

export interface CloudPart extends LoadBalancerPart {
  readonly networks: Doc[]
  readonly routes: Doc[]
  readonly firewalls: Doc[]
  readonly instances: Doc[]
}

export interface CloudInput {
  readonly inventory: ComputeInventory
  readonly project: string
  /** instance names of GKE nodes (described under their clusters) */
  readonly nodes: ReadonlySet<string>
  /** node → its pod range, for the per-node routes the loader derives */
  readonly podRoutes: ReadonlyMap<string, string>
  /** zone/name of every GKE node pool group */
  readonly nodePoolGroups: ReadonlySet<string>
  /** names of the node pool groups the loader derives from the described nodes */
  readonly derivedGroupNames: ReadonlySet<string>
  /** names of the nodes the snapshot describes */
  readonly describedNodes: ReadonlySet<string>
}

export function buildCloudPart(input: CloudInput, skipped: Skipped[]): CloudPart {
  const {inventory} = input
  const instances = instanceDocs(inventory, input.nodes, skipped)
  const machines = new Set([...instances.map((d) => d.name as string), ...input.describedNodes])
  return {
    networks: networkDocs(inventory, input.project, skipped),
    routes: routeDocs(inventory, input.podRoutes, skipped),
    firewalls: firewallDocs(inventory, skipped),
    instances,
    ...buildLoadBalancerPart({inventory, nodePoolGroups: input.nodePoolGroups, derivedGroupNames: input.derivedGroupNames, machines}, skipped),
  }
}
