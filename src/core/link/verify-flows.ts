/**
 * `xcc link verify`: the flows that say a link works — from the client cluster's pods to the
 * link's address and port. One representative per node pool of the client: a pod the cluster
 * runs on a node of the pool (hostNetwork pods send with the node's address, so they do not
 * count), else the address a pod would get on the pool's first node (contracts §2 `--from
 * <cluster>`). The live doctor runs its probe pod on that node. Pure.
 */
import {addIp, formatIp} from '../net/ipv4.js'
import {nodePoolGroups} from '../topology/node-pools.js'
import type {Model} from '../topology/model-types.js'
import type {FlowOutcome} from '../doctor/flows.js'
import type {Skipped} from '../snapshot/docs.js'
import type {FoundLink} from './inventory.js'

export interface LinkFlow {
  /** the node pool this flow stands for */
  readonly pool: string
  readonly node: string
  /** the static doctor's source: <cluster>/<namespace>/<pod>, or a pod address on the node */
  readonly from: string
  /** <ip>:<port> */
  readonly to: string
  /** what was chosen, in words */
  readonly chosen: string
}

/** why a link cannot be verified (verify then fails, exit 1): no client cluster, no address, no node to send from */
export function unverifiable(model: Model, link: FoundLink): string | undefined {
  if (!link.from) return 'its client cluster cannot be told from its resources'
  if (!link.address) return 'it has no address (no forwarding rule)'
  if ((model.clusters.get(link.from)?.nodes.length ?? 0) === 0) return `cluster ${link.from} has no nodes to send from`
  return undefined
}

/** the flows of a link (none when it cannot be verified: see unverifiable) */
export function linkFlows(model: Model, link: FoundLink): LinkFlow[] {
  const cluster = link.from ? model.clusters.get(link.from) : undefined
  if (!cluster || !link.address || unverifiable(model, link)) return []
  const to = `${link.address.ip}:${link.address.port}`
  const pools = new Map<string, string[]>()
  for (const g of nodePoolGroups(model.topology)) if (g.cluster === cluster.name) pools.set(g.pool, [...(pools.get(g.pool) ?? []), ...g.nodes])
  const flows: LinkFlow[] = []
  for (const [pool, nodes] of pools) {
    const pod = nodes.flatMap((n) => cluster.pods.filter((p) => p.node === n && !p.hostNetwork && p.declared)).sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))[0]
    const nodeName = pod?.node ?? (nodes[0] as string)
    const node = cluster.nodes.find((n) => n.name === nodeName)
    if (pod) {
      flows.push({pool, node: nodeName, from: `${cluster.name}/${pod.namespace}/${pod.name}`, to, chosen: `pod ${pod.namespace}/${pod.name} on node ${nodeName} (pool ${pool})`})
    } else if (node) {
      const ip = formatIp(addIp(node.podCidr.base, 10))
      flows.push({pool, node: nodeName, from: ip, to, chosen: `a pod address ${ip} on node ${nodeName} (pool ${pool}: no pod of ${cluster.name} runs there)`})
    }
  }
  return flows
}

/** a link of `xcc link list`: what the marks say, and the static doctor's verdict on its flows */
export interface ListedLink extends FoundLink {
  /** `reachable`, else the first flow's verdict that is not (with its code), or `unknown` when the link cannot be verified */
  readonly doctor: string
}

export interface LinkListResult {
  readonly project: string
  readonly links: readonly ListedLink[]
  /** what the checks count on beyond the APIs' facts (xcc masquerade's DaemonSet rules) */
  readonly notes: readonly string[]
  readonly skipped: readonly Skipped[]
}

export interface LinkVerifyFlow extends FlowOutcome {
  /** the node pool, node and pod (or pod address) the flow was sent from, in words */
  readonly chosen: string
  readonly pool: string
  readonly node: string
}

export interface LinkVerifyResult {
  readonly project: string
  readonly link: FoundLink
  readonly live: boolean
  readonly flows: readonly LinkVerifyFlow[]
  /** why the link could not be verified (no address, no client cluster): it then fails */
  readonly unverifiable?: string
  /** what the checks count on beyond the APIs' facts (xcc masquerade's DaemonSet rules) */
  readonly notes: readonly string[]
  readonly skipped: readonly Skipped[]
}
