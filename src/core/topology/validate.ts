/**
 * Semantic validation of a schema-valid Topology: names, references and the "exactly one of"
 * rules. Address rules (containment, overlaps, PEER-08) live in validate-addresses.ts.
 */
import {type TopologyIssue, shorten} from '../errors.js'
import {IssueSink, isZone, parsePortRange, regionOfZone, subnetKey} from './issues.js'
import type {FirewallSpec, ProtocolRuleSpec, Topology} from './schema.js'
import {validateAddresses} from './validate-addresses.js'
import {validateCloudObjects} from './validate-cloud.js'

const FIREWALL_PROTOCOLS = new Set(['tcp', 'udp', 'icmp', 'esp', 'ah', 'sctp', 'ipip', 'all'])
const PORTED_PROTOCOLS = new Set(['tcp', 'udp', 'sctp', '6', '17', '132'])

export function validateTopology(t: Topology): TopologyIssue[] {
  const sink = new IssueSink()
  validateNames(t, sink)
  validateReferences(t, sink)
  validateFirewalls(t, sink)
  validateDumps(t, sink)
  validateCloudObjects(t, sink)
  // Address checks assume references resolve; skip them when those already failed to avoid noise.
  if (sink.issues.length === 0) validateAddresses(t, sink)
  return sink.issues
}

function validateNames(t: Topology, sink: IssueSink): void {
  sink.unique(t.networks, (n) => n.name, (i) => ['networks', i, 'name'], 'network name')
  t.networks.forEach((n, i) => {
    sink.unique(n.subnets, (s) => s.name, (j) => ['networks', i, 'subnets', j, 'name'], 'subnet name')
    sink.unique(n.peerings, (p) => p.name, (j) => ['networks', i, 'peerings', j, 'name'], 'peering name')
    sink.unique(n.peerings, (p) => p.network, (j) => ['networks', i, 'peerings', j, 'network'], 'peering to network')
    n.subnets.forEach((s, j) => sink.unique(s.secondaryIpRanges, (r) => r.rangeName, (k) => ['networks', i, 'subnets', j, 'secondaryIpRanges', k, 'rangeName'], 'secondary range name'))
  })
  sink.unique(t.routes, (r) => r.name, (i) => ['routes', i, 'name'], 'route name')
  sink.unique(t.firewalls, (f) => f.name, (i) => ['firewalls', i, 'name'], 'firewall name')
  // GKE nodes are instances too: one namespace for both.
  const machines = [
    ...t.instances.map((m, i) => ({name: m.name, path: ['instances', i, 'name']})),
    ...t.clusters.flatMap((c, i) => c.nodes.map((n, j) => ({name: n.name, path: ['clusters', i, 'nodes', j, 'name']}))),
  ]
  sink.unique(machines, (m) => m.name, (k) => machines[k]?.path ?? [], 'instance or node name')
  sink.unique(t.forwardingRules, (f) => f.name, (i) => ['forwardingRules', i, 'name'], 'forwarding rule name')
  sink.unique(t.backendServices, (b) => b.name, (i) => ['backendServices', i, 'name'], 'backend service name')
  sink.unique(t.clusters, (c) => c.name, (i) => ['clusters', i, 'name'], 'cluster name')
  t.clusters.forEach((c, i) => {
    sink.unique(c.pods, (p) => `${p.namespace}/${p.name}`, (j) => ['clusters', i, 'pods', j, 'name'], 'pod')
    sink.unique(c.services, (s) => `${s.namespace}/${s.name}`, (j) => ['clusters', i, 'services', j, 'name'], 'service')
    sink.unique(c.configMaps, (m) => `${m.namespace}/${m.name}`, (j) => ['clusters', i, 'configMaps', j, 'name'], 'ConfigMap')
  })
}

function validateReferences(t: Topology, sink: IssueSink): void {
  const networks = new Map(t.networks.map((n) => [n.name, n]))
  const subnetRegion = new Map(t.networks.flatMap((n) => n.subnets.map((s) => [subnetKey(n.name, s.name), s.region] as const)))
  const subnetNetworks = new Map<string, string[]>()
  for (const n of t.networks) for (const s of n.subnets) subnetNetworks.set(s.name, [...(subnetNetworks.get(s.name) ?? []), n.name])
  const machineZone = new Map<string, string>([
    ...t.instances.map((m) => [m.name, m.zone] as const),
    ...t.clusters.flatMap((c) => c.nodes.map((n) => [n.name, n.zone ?? c.location] as const)),
  ])
  const forwardingRules = new Set(t.forwardingRules.map((f) => f.name))
  const backendServices = new Map(t.backendServices.map((b) => [b.name, b]))

  const needNetwork = (path: PropertyKey[], name: string): boolean => {
    if (networks.has(name)) return true
    sink.add(path, `network "${name}" does not exist`, name)
    return false
  }
  const needSubnet = (path: PropertyKey[], subnet: string, network: string): void => {
    if (subnetRegion.has(subnetKey(network, subnet))) return
    const owners = subnetNetworks.get(subnet)
    if (owners === undefined) sink.add(path, `subnet "${subnet}" does not exist`, subnet)
    else sink.add(path, `subnet "${subnet}" belongs to network${owners.length > 1 ? 's' : ''} ${owners.map((o) => `"${o}"`).join(', ')}, not "${network}"`, subnet)
  }

  t.networks.forEach((n, i) =>
    n.peerings.forEach((p, j) => {
      if (p.network === n.name) sink.add(['networks', i, 'peerings', j, 'network'], 'a network cannot peer with itself', p.network)
      else needNetwork(['networks', i, 'peerings', j, 'network'], p.network)
    }),
  )

  t.routes.forEach((r, i) => {
    needNetwork(['routes', i, 'network'], r.network)
    const hops = (['nextHopInstance', 'nextHopIp', 'nextHopIlb', 'nextHopGateway'] as const).filter((k) => r[k] !== undefined)
    if (hops.length !== 1) {
      sink.add(['routes', i], `needs exactly one of nextHopInstance, nextHopIp, nextHopIlb, nextHopGateway (has ${hops.length ? hops.join(', ') : 'none'})`)
    }
    if (r.nextHopInstance !== undefined && !machineZone.has(r.nextHopInstance)) {
      sink.add(['routes', i, 'nextHopInstance'], `instance "${r.nextHopInstance}" does not exist`, r.nextHopInstance)
    }
    if (r.nextHopIp !== undefined) sink.ip(['routes', i, 'nextHopIp'], r.nextHopIp)
    // ROUTE-02: nextHopIlb is a forwarding rule name or its IP address. A name starts with a letter,
    // so anything starting with a digit is an address and must be well formed; whether a forwarding
    // rule has it is a trace-time question (ROUTE-09).
    if (r.nextHopIlb !== undefined) {
      if (/^\d/.test(r.nextHopIlb)) sink.ip(['routes', i, 'nextHopIlb'], r.nextHopIlb)
      else if (!forwardingRules.has(r.nextHopIlb)) sink.add(['routes', i, 'nextHopIlb'], `forwarding rule "${shorten(r.nextHopIlb)}" does not exist`, r.nextHopIlb)
    }
  })

  t.firewalls.forEach((f, i) => needNetwork(['firewalls', i, 'network'], f.network))

  t.instances.forEach((m, i) => {
    const seen = new Map<string, number>()
    m.networkInterfaces.forEach((nic, j) => {
      const path = ['instances', i, 'networkInterfaces', j]
      if (!needNetwork([...path, 'network'], nic.network)) return
      needSubnet([...path, 'subnetwork'], nic.subnetwork, nic.network)
      // ROUTE-11: each NIC of a VM is in a different VPC network.
      const first = seen.get(nic.network)
      if (first !== undefined) sink.add([...path, 'network'], `nic${j} is in the same network as nic${first}; each NIC must be in a different network`, nic.network)
      else seen.set(nic.network, j)
      const region = subnetRegion.get(subnetKey(nic.network, nic.subnetwork))
      if (region !== undefined && region !== regionOfZone(m.zone)) {
        sink.add([...path, 'subnetwork'], `subnet "${nic.subnetwork}" is in ${region} but the instance is in ${m.zone}`, nic.subnetwork)
      }
    })
    m.guest.routes.forEach((r, j) => {
      if (r.nic >= m.networkInterfaces.length) sink.add(['instances', i, 'guest', 'routes', j, 'nic'], `the instance has no nic${r.nic}`, r.nic)
    })
  })

  t.forwardingRules.forEach((f, i) => {
    if (needNetwork(['forwardingRules', i, 'network'], f.network)) needSubnet(['forwardingRules', i, 'subnetwork'], f.subnetwork, f.network)
    const region = subnetRegion.get(subnetKey(f.network, f.subnetwork))
    if (region !== undefined && region !== f.region) sink.add(['forwardingRules', i, 'region'], `subnet "${f.subnetwork}" is in ${region}`, f.region)
    const backend = backendServices.get(f.backendService)
    if (!backend) sink.add(['forwardingRules', i, 'backendService'], `backend service "${f.backendService}" does not exist`, f.backendService)
    else if (backend.region !== f.region) sink.add(['forwardingRules', i, 'backendService'], `backend service "${backend.name}" is in ${backend.region}, the forwarding rule in ${f.region}`, f.backendService)
    const hasPorts = f.ports !== undefined && f.ports.length > 0
    if (hasPorts === (f.allPorts === true)) sink.add(['forwardingRules', i], 'needs exactly one of ports or allPorts: true')
    if (f.IPProtocol === 'L3_DEFAULT' && f.allPorts !== true) sink.add(['forwardingRules', i, 'IPProtocol'], 'L3_DEFAULT requires allPorts: true', f.IPProtocol)
    f.ports?.forEach((p, j) => {
      const range = parsePortRange(p)
      if (!range || range[0] < 1) sink.add(['forwardingRules', i, 'ports', j], 'must be a port 1..65535 or a range like 8000-8080', p)
    })
  })

  t.backendServices.forEach((b, i) => {
    sink.unique(b.backends, (x) => x, (j) => ['backendServices', i, 'backends', j], 'backend')
    b.backends.forEach((name, j) => {
      const zone = machineZone.get(name)
      if (zone === undefined) sink.add(['backendServices', i, 'backends', j], `instance "${name}" does not exist`, name)
      else if (regionOfZone(zone) !== b.region) sink.add(['backendServices', i, 'backends', j], `instance "${name}" is in ${zone}, outside the backend service's region ${b.region}`, name)
    })
  })

  t.clusters.forEach((c, i) => {
    const path = ['clusters', i]
    if (needNetwork([...path, 'network'], c.network)) needSubnet([...path, 'subnetwork'], c.subnetwork, c.network)
    const clusterRegion = isZone(c.location) ? regionOfZone(c.location) : c.location
    const region = subnetRegion.get(subnetKey(c.network, c.subnetwork))
    if (region !== undefined && region !== clusterRegion) sink.add([...path, 'location'], `subnet "${c.subnetwork}" is in ${region}`, c.location)
    const nodes = new Set(c.nodes.map((n) => n.name))
    c.nodes.forEach((n, j) => {
      if (n.zone === undefined && !isZone(c.location)) sink.add([...path, 'nodes', j, 'zone'], `is required when the cluster location (${c.location}) is a region`)
      if (n.zone !== undefined && regionOfZone(n.zone) !== clusterRegion) sink.add([...path, 'nodes', j, 'zone'], `is outside the cluster's region ${clusterRegion}`, n.zone)
    })
    c.pods.forEach((p, j) => {
      if (!nodes.has(p.node)) sink.add([...path, 'pods', j, 'node'], `node "${p.node}" is not a node of cluster "${c.name}"`, p.node)
    })
    const pods = new Set(c.pods.map((p) => `${p.namespace}/${p.name}`))
    c.services.forEach((s, j) => {
      s.endpoints.forEach((e, k) => {
        if (!pods.has(`${s.namespace}/${e}`)) sink.add([...path, 'services', j, 'endpoints', k], `pod "${s.namespace}/${e}" does not exist in cluster "${c.name}"`, e)
      })
      if (s.loadBalancer && s.type !== 'LoadBalancer') sink.add([...path, 'services', j, 'loadBalancer'], `only a LoadBalancer service has a load balancer (type is ${s.type})`)
      if (s.loadBalancer && !forwardingRules.has(s.loadBalancer.forwardingRule)) {
        sink.add([...path, 'services', j, 'loadBalancer', 'forwardingRule'], `forwarding rule "${s.loadBalancer.forwardingRule}" does not exist`, s.loadBalancer.forwardingRule)
      }
      s.ports.forEach((p, k) => {
        if (p.nodePort !== undefined && s.type === 'ClusterIP') sink.add([...path, 'services', j, 'ports', k, 'nodePort'], 'a ClusterIP service has no node port', p.nodePort)
      })
    })
  })
}

function validateFirewalls(t: Topology, sink: IssueSink): void {
  t.firewalls.forEach((f: FirewallSpec, i) => {
    const path = ['firewalls', i]
    if ((f.allowed === undefined) === (f.denied === undefined)) sink.add(path, 'needs exactly one of allowed or denied')
    if (f.direction === 'EGRESS') {
      if (f.sourceRanges.length > 0) sink.add([...path, 'sourceRanges'], 'applies to INGRESS rules only (FW-03)')
      if (f.sourceTags.length > 0) sink.add([...path, 'sourceTags'], 'applies to INGRESS rules only (FW-03)')
    }
    const check = (rules: readonly ProtocolRuleSpec[], key: 'allowed' | 'denied'): void => {
      if (rules.length === 0) sink.add([...path, key], 'must list at least one protocol')
      rules.forEach((rule, j) => {
        const protocol = rule.IPProtocol
        const numeric = /^\d+$/.test(protocol) && Number(protocol) <= 255
        if (!FIREWALL_PROTOCOLS.has(protocol) && !numeric) {
          sink.add([...path, key, j, 'IPProtocol'], `unknown protocol (use ${[...FIREWALL_PROTOCOLS].join(', ')} or a number 0..255)`, protocol)
        }
        if (rule.ports && rule.ports.length > 0 && !PORTED_PROTOCOLS.has(protocol)) {
          sink.add([...path, key, j, 'ports'], `ports apply to tcp, udp and sctp only, not ${shorten(protocol)} (FW-03)`)
        }
        rule.ports?.forEach((p, k) => {
          if (!parsePortRange(p)) sink.add([...path, key, j, 'ports', k], 'must be a port 0..65535 or a range like 30000-32767', p)
        })
      })
    }
    if (f.allowed) check(f.allowed, 'allowed')
    if (f.denied) check(f.denied, 'denied')
  })
}

/**
 * The iptables and ipsets texts are `iptables-save` and `ipset save` output, which holds no control
 * character but tabs and line ends. iptables-restore reads a line up to a NUL byte and refuses a
 * carriage return, so the lab would run other rules than the doctor analyses: refuse them here,
 * naming the line. A text shared by many nodes (a YAML alias) is scanned once.
 */
function validateDumps(t: Topology, sink: IssueSink): void {
  const scanned = new Map<string, ControlCharacter | undefined>()
  const check = (path: readonly PropertyKey[], text: string | undefined, kind: 'iptables' | 'ipset'): void => {
    if (text === undefined) return
    let found = scanned.get(text)
    if (!scanned.has(text)) scanned.set(text, (found = findControlCharacter(text)))
    if (!found) return
    const code = `U+${found.code.toString(16).toUpperCase().padStart(4, '0')}`
    const more = found.otherLines > 0 ? ` (and ${found.otherLines} more line${found.otherLines > 1 ? 's' : ''})` : ''
    sink.add(path, `${kind} line ${found.line}: holds the control character ${code} at column ${found.column}${more}; a dump holds none but tabs, and ${kind === 'ipset' ? 'ipset restore' : 'iptables-restore'} would not read the line as written`, found.text)
  }
  t.instances.forEach((m, i) => check(['instances', i, 'guest', 'iptables'], m.guest.iptables, 'iptables'))
  t.clusters.forEach((c, i) => c.nodes.forEach((n, j) => {
    check(['clusters', i, 'nodes', j, 'iptables'], n.iptables, 'iptables')
    check(['clusters', i, 'nodes', j, 'ipsets'], n.ipsets, 'ipset')
  }))
}

interface ControlCharacter {
  readonly code: number
  /** 1-based */
  readonly line: number
  readonly column: number
  /** the line, without its line end */
  readonly text: string
  /** how many later lines hold one too */
  readonly otherLines: number
}

// C0 controls but tab and line feed, DEL and C1 controls
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/
// eslint-disable-next-line no-control-regex
const CONTROL_LINES = /^.*[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/gm

function findControlCharacter(text: string): ControlCharacter | undefined {
  const match = CONTROL.exec(text)
  if (!match) return undefined
  const offset = match.index
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1
  const lineEnd = text.indexOf('\n', offset)
  let line = 1
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++
  const rest = lineEnd < 0 ? '' : text.slice(lineEnd + 1)
  let otherLines = 0
  for (CONTROL_LINES.lastIndex = 0; CONTROL_LINES.exec(rest); ) otherLines++
  return {code: text.charCodeAt(offset), line, column: offset - lineStart + 1, text: text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd), otherLines}
}
