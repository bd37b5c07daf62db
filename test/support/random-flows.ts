/**
 * Random TCP flows through a topology, for the doctor-vs-lab property test: sources as
 * `xcc doctor --from` takes them (a cluster, a pod, node/<name>, instance/<name>) and
 * destinations as `--to` takes them (pod ip:port, <cluster>/<namespace>/<service>, lb/<rule>,
 * instance and node ip:port, ClusterIPs, alias addresses and addresses nobody owns).
 * Ports come from what the lab serves where the topology leaves it open ("absent: assume served").
 */
import {addIp, cidrContainsIp, formatIp} from '../../src/core/net/ipv4.js'
import type {Model} from '../../src/core/topology/model-types.js'
import {resolveDestination, resolveSource} from '../../src/core/trace/endpoints.js'
import {interestingPorts} from '../../src/lab/compile/hosts.js'
import type {Dice} from './random-topology-draft.js'

export interface RandomFlow {
  readonly from: string
  readonly to: string
  /** what kind of destination it is, for statistics */
  readonly kind: string
}

/** how often each kind of destination is drawn, relative to the others */
const WEIGHTS: Readonly<Record<string, number>> = {
  'pod': 8, 'host-network pod': 1, 'assumed pod': 3, 'unowned pod address': 1, 'service ClusterIP': 2, 'service NodePort': 2, 'service LoadBalancer': 5,
  'cluster IP': 1, 'node port': 2, 'load balancer': 4, 'load balancer address': 2, 'instance': 6, 'node': 3, 'alias address': 1,
  'unowned subnet address': 1, 'unowned address': 1, 'internet address': 1,
}

interface Candidate {
  readonly to: string
  readonly kind: string
}

export function randomFlows(model: Model, dice: Dice, count: number): RandomFlow[] {
  const sources = flowSources(model)
  const destinations = flowDestinations(model, dice)
  const byKind = new Map<string, Candidate[]>()
  for (const c of destinations) byKind.set(c.kind, [...(byKind.get(c.kind) ?? []), c])
  // kinds by weight, so that the many addresses nobody owns do not crowd out pods and services
  const kinds = [...byKind.keys()].flatMap((k) => Array<string>(WEIGHTS[k] ?? 1).fill(k))
  const routed = routedPairs(model, sources, destinations)
  const out = new Map<string, RandomFlow>()
  for (let tries = 0; out.size < count && tries < count * 10; tries++) {
    // a third of the flows from the network of a custom route to a destination it covers (gateways, ILB next hops)
    const pair = routed.length && dice.chance(0.35) ? dice.one(routed) : undefined
    const from = pair ? dice.one(pair.sources) : dice.one(sources)
    const to = pair ? dice.one(pair.destinations) : dice.one(byKind.get(dice.one(kinds)) ?? [])
    out.set(`${from} ${to.to}`, {from, to: to.to, kind: to.kind})
  }
  return [...out.values()]
}

/** Per custom route (not to the internet): the sources in its network it applies to and the destinations it covers. */
function routedPairs(model: Model, sources: readonly string[], destinations: readonly Candidate[]): Array<{sources: string[]; destinations: Candidate[]}> {
  const senders = sources.map((from) => {
    const s = resolveSource(model, from)
    const instance = s.kind === 'pod' ? model.instances.get(s.node.name) : s.instance
    return {from, network: instance?.nics[0]?.network, tags: instance?.tags ?? []}
  })
  const targets = destinations.map((c) => ({c, ip: resolveDestination(model, c.to).ip}))
  const out: Array<{sources: string[]; destinations: Candidate[]}> = []
  for (const network of model.networks.values()) {
    for (const r of network.routes.routes) {
      if ((r.kind !== 'STATIC' && r.kind !== 'PEERING_STATIC') || r.impliedBy || r.nextHop.type === 'INTERNET_GATEWAY') continue
      const from = senders.filter((x) => x.network === network.name && (r.tags.length === 0 || r.tags.some((t) => x.tags.includes(t)))).map((x) => x.from)
      const to = targets.filter((x) => cidrContainsIp(r.destRange, x.ip)).map((x) => x.c)
      if (from.length && to.length) out.push({sources: from, destinations: to})
    }
  }
  return out
}

function flowSources(model: Model): string[] {
  const out: string[] = []
  for (const c of model.clusters.values()) {
    out.push(c.name)
    for (const p of c.pods) out.push(`${c.name}/${p.namespace}/${p.name}`)
  }
  for (const i of model.instances.values()) out.push(`${i.kind === 'node' ? 'node' : 'instance'}/${i.name}`)
  return out
}

function flowDestinations(model: Model, dice: Dice): Candidate[] {
  const served = interestingPorts(model)
  const port = (own?: readonly number[]): number => (own && own.length && dice.chance(0.8) ? dice.one(own) : dice.one(served))
  const out: Candidate[] = []
  const add = (kind: string, address: number, p: number): void => void out.push({kind, to: `${formatIp(address)}:${p}`})
  for (const c of model.clusters.values()) {
    const ownPods = c.pods.filter((p) => !p.hostNetwork)
    for (const p of c.pods) add(p.hostNetwork ? 'host-network pod' : 'pod', p.ip, port(p.ports))
    for (const n of c.nodes) {
      if (ownPods.length === 0) add('assumed pod', addIp(n.podCidr.base, 10), port())
      // an address in a pod range where no declared pod lives (with declared pods, nothing is assumed there)
      else add('unowned pod address', addIp(n.podCidr.base, 77), port())
    }
    for (const s of c.services) {
      out.push({kind: `service ${s.type}`, to: `${c.name}/${s.namespace}/${s.name}`})
      const first = s.ports[0]
      if (first) add('cluster IP', s.clusterIP, first.port)
      const nodePort = first?.nodePort
      if (nodePort) add('node port', dice.one(c.nodes).ip, nodePort)
    }
  }
  for (const fr of model.forwardingRules.values()) {
    if (fr.ports?.[0]) out.push({kind: 'load balancer', to: `lb/${fr.name}`})
    add('load balancer address', fr.ip, fr.ports?.[0]?.lo ?? port())
  }
  for (const i of model.instances.values()) {
    for (const nic of i.nics) {
      add(i.kind === 'node' ? 'node' : 'instance', nic.ip, port(i.guest.listen?.map((l) => l.port)))
      if (i.kind === 'vm') for (const r of nic.aliasRanges) add('alias address', addIp(r.base, 1), port())
    }
  }
  for (const n of model.networks.values()) for (const s of n.subnets) add('unowned subnet address', addIp(s.primary.base, 150), port())
  add('unowned address', addIp(0x0afa0000, 261), 80) // 10.250.1.5
  add('internet address', 0x08080808, 80)
  return out
}
