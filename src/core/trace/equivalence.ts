/**
 * Equivalence classes of GKE nodes and pods, so the tracer can follow one representative of
 * alternatives whose paths are identical but for names (ILB backends, kube-proxy endpoints).
 * A class key only exists when equivalence is certain; otherwise the alternative is traced on
 * its own. `traceFlow(…, {exhaustive: true})` skips all grouping, and the tests compare both.
 *
 * Two nodes are alike when they belong to one cluster, run the same parsed rules and ipsets, sit in the same
 * subnet (without allowSubnetCidrRoutesOverlap, so nothing overrides the subnet route to them),
 * carry the same tags and canIpForward, every ingress rule of their network treats their
 * addresses alike as a source, and they host alike pods. Two pods are alike when they serve the
 * same ports and every firewall rule and route of their network treats their addresses alike.
 */
import {type Cidr, cidrContainsIp} from '../net/ipv4.js'
import type {Model, PodFacts} from '../topology/model-types.js'

const nodeKeys = new WeakMap<Model, Map<string, string | undefined>>()
const podKeys = new WeakMap<Model, Map<PodFacts, string | undefined>>()
const tableIds = new WeakMap<object, number>()
let nextTableId = 1

function tablesId(tables: object): number {
  let id = tableIds.get(tables)
  if (id === undefined) {
    id = nextTableId++
    tableIds.set(tables, id)
  }
  return id
}

/** Long class descriptions become short ids, so keys stay cheap to build, hash and compare. */
const interned = new WeakMap<Model, Map<string, string>>()
function intern(model: Model, description: string): string {
  let table = interned.get(model)
  if (!table) interned.set(model, (table = new Map()))
  let id = table.get(description)
  if (id === undefined) table.set(description, (id = `#${table.size + 1}`))
  return id
}

type RangedRules = ReadonlyArray<{readonly sourceRanges: readonly Cidr[]; readonly destinationRanges: readonly Cidr[]}>

/** every range of a rule list's field, flat: base, mask and the rule's index (a network may have thousands of rules) */
interface FlatRanges {
  readonly base: Uint32Array
  readonly mask: Uint32Array
  readonly rule: Uint32Array
}
const flatRanges = {sourceRanges: new WeakMap<RangedRules, FlatRanges>(), destinationRanges: new WeakMap<RangedRules, FlatRanges>()}

function flatten(rules: RangedRules, field: 'sourceRanges' | 'destinationRanges'): FlatRanges {
  let flat = flatRanges[field].get(rules)
  if (!flat) {
    const count = rules.reduce((n, r) => n + r[field].length, 0)
    flat = {base: new Uint32Array(count), mask: new Uint32Array(count), rule: new Uint32Array(count)}
    let k = 0
    rules.forEach((r, i) => {
      for (const c of r[field]) {
        flat!.base[k] = c.base
        flat!.mask[k] = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0
        flat!.rule[k++] = i
      }
    })
    flatRanges[field].set(rules, flat)
  }
  return flat
}

/** indices of the rules that hold the address in the chosen ranges (as cidrContainsIp, over the flat ranges) */
function signature(rules: RangedRules, field: 'sourceRanges' | 'destinationRanges', address: number): string {
  const {base, mask, rule} = flatten(rules, field)
  const hits: number[] = []
  for (let k = 0; k < base.length; k++) {
    if (((address & (mask[k] as number)) >>> 0) === base[k] && hits[hits.length - 1] !== rule[k]) hits.push(rule[k] as number)
  }
  return hits.join(',')
}

function memo<K, V>(store: WeakMap<Model, Map<K, V>>, model: Model, key: K, compute: () => V): V {
  let map = store.get(model)
  if (!map) store.set(model, (map = new Map()))
  if (map.has(key)) return map.get(key) as V
  const value = compute()
  map.set(key, value)
  return value
}

/** The class of a GKE node, or undefined when it must be traced on its own. */
export function nodeClass(model: Model, name: string): string | undefined {
  return memo(nodeKeys, model, name, () => {
    const node = model.nodes.get(name)
    const instance = model.instances.get(name)
    const nic = instance?.nics[0]
    const network = nic ? model.networks.get(nic.network) : undefined
    const cluster = node ? model.clusters.get(node.cluster) : undefined
    const tables = instance?.guest.ruleset?.tables
    if (!node || !instance || !nic || !network || !cluster || !tables || nic.subnet.allowSubnetCidrRoutesOverlap) return undefined
    const pods: string[] = []
    for (const pod of cluster.pods) {
      if (pod.node !== name) continue
      const key = pod.hostNetwork ? 'host-network' : podClass(model, pod)
      if (key === undefined) return undefined
      pods.push(key)
    }
    const treatment = signature(network.ingress, 'sourceRanges', nic.ip)
    // the same parsed rules and the same ipsets (both are shared between nodes that give the same text)
    const sets = instance.guest.ipsets ? tablesId(instance.guest.ipsets) : 0
    return intern(model, ['node', cluster.name, nic.network, nic.subnet.name, instance.tags.join(','), instance.canIpForward, tablesId(tables), sets, treatment, pods.sort().join(';')].join('|'))
  })
}

/** The class of a declared pod, or undefined when it must be traced on its own. */
export function podClass(model: Model, pod: PodFacts): string | undefined {
  return memo(podKeys, model, pod, () => {
    if (!pod.declared || pod.hostNetwork) return undefined
    const cluster = model.clusters.get(pod.cluster)
    const network = cluster ? model.networks.get(cluster.network) : undefined
    if (!cluster || !network) return undefined
    const dest = (rules: typeof network.ingress) => signature(rules, 'destinationRanges', pod.ip)
    const source = signature(network.ingress, 'sourceRanges', pod.ip)
    // Every route that covers the address, except the pod route of its own node (each pod has one).
    const routes = network.routes.routes.filter((r) => cidrContainsIp(r.destRange, pod.ip) && !(r.impliedBy?.node === pod.node && r.kind === 'STATIC'))
    const routeKey = routes.map((r) => `${r.name}/${r.kind}`).sort().join(',')
    return intern(model, ['pod', cluster.name, pod.ports ? [...pod.ports].sort((a, b) => a - b).join(',') : '*', dest(network.ingress), dest(network.egress), source, routeKey].join('|'))
  })
}

const podIndex = new WeakMap<Model, Map<string, PodFacts>>()

/** The declared pod of a cluster with this address. */
export function declaredPod(model: Model, cluster: string, address: number): PodFacts | undefined {
  let index = podIndex.get(model)
  if (!index) {
    index = new Map()
    for (const c of model.clusters.values()) for (const p of c.pods) if (!p.hostNetwork) index.set(`${c.name}|${p.ip}`, p)
    podIndex.set(model, index)
  }
  return index.get(`${cluster}|${address}`)
}
