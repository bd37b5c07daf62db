/**
 * What `xcc masquerade` needs to know about a cluster before it plans anything (design.md
 * habit 2: gather, then evaluate): its nodes and own ranges, how it does SNAT today (the
 * ip-masq-agent ConfigMap and DaemonSet, GKE Dataplane V2's anetd, xcc's own DaemonSet).
 */
import {type Cidr, parseCidr, parseIp} from '../net/ipv4.js'
import type {KubeCluster, KubeConfigMap, KubeDaemonSet, KubeNode} from '../ports/kube.js'
import {type AgentFlags, CONFIG_MAP_NAME, CONFIG_MAP_NAMESPACE, GKE_AGENT_FLAGS, agentFlagsFromArgs} from '../topology/ip-masq-agent.js'
import type {OwnRanges} from './cidrs.js'

export const XCC_DAEMONSET = 'xcc-masquerade'
/** where xcc's DaemonSet lives (beside the ip-masq-agent) */
export const XCC_NAMESPACE = 'kube-system'

export interface NodeInfo {
  readonly name: string
  readonly podCidr?: Cidr
  readonly internalIp?: number
  readonly ready: boolean
}

export interface MasqueradeState {
  readonly context: string
  readonly nodes: readonly NodeInfo[]
  readonly own: OwnRanges
  /** kube-system/ip-masq-agent ConfigMap */
  readonly agentConfigMap?: KubeConfigMap
  /** the ip-masq-agent DaemonSet in kube-system, when the cluster runs one */
  readonly agentDaemonSet?: KubeDaemonSet
  /** GKE Dataplane V2: anetd masquerades in eBPF from the same ConfigMap (SNAT-15) */
  readonly anetd: boolean
  /** xcc's own DaemonSet */
  readonly xccDaemonSet?: KubeDaemonSet
}

function nodeInfo(node: KubeNode): NodeInfo {
  const podCidrText = node.spec?.podCIDR ?? node.spec?.podCIDRs?.[0]
  const parsed = podCidrText ? parseCidr(podCidrText) : undefined
  const internal = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address
  const internalIp = internal ? parseIp(internal) : undefined
  return {
    name: node.metadata.name,
    ...(parsed?.ok ? {podCidr: parsed.cidr} : {}),
    ...(internalIp !== undefined ? {internalIp} : {}),
    ready: (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
  }
}

/** SNAT-07/SNAT-12: the flags the cluster's agent runs with (GKE's when xcc cannot see its DaemonSet) */
export function agentFlagsOf(state: MasqueradeState): AgentFlags {
  const container = state.agentDaemonSet?.spec.template.spec.containers[0]
  if (!container) return GKE_AGENT_FLAGS
  return agentFlagsFromArgs([...(container.command ?? []), ...(container.args ?? [])])
}

export async function loadMasqueradeState(cluster: KubeCluster): Promise<MasqueradeState> {
  const [nodes, services, configMap, daemonSets] = await Promise.all([
    cluster.listNodes(),
    cluster.listServices(),
    cluster.getConfigMap(CONFIG_MAP_NAMESPACE, CONFIG_MAP_NAME),
    cluster.listDaemonSets(CONFIG_MAP_NAMESPACE),
  ])
  const infos = nodes.map(nodeInfo).sort((a, b) => a.name.localeCompare(b.name))
  const serviceAddresses = services.flatMap((s) => {
    const address = s.spec?.clusterIP ? parseIp(s.spec.clusterIP) : undefined
    return address === undefined ? [] : [{cidr: {base: address, prefix: 32}, service: `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`}]
  })
  const agent = daemonSets.find((d) => d.metadata.name === 'ip-masq-agent')
  const xcc = daemonSets.find((d) => d.metadata.name === XCC_DAEMONSET)
  return {
    context: cluster.context,
    nodes: infos,
    own: {
      podRanges: infos.flatMap((n) => (n.podCidr ? [{cidr: n.podCidr, node: n.name}] : [])),
      nodeAddresses: infos.flatMap((n) => (n.internalIp !== undefined ? [{cidr: {base: n.internalIp, prefix: 32}, node: n.name}] : [])),
      serviceAddresses,
    },
    ...(configMap ? {agentConfigMap: configMap} : {}),
    ...(agent ? {agentDaemonSet: agent} : {}),
    anetd: daemonSets.some((d) => d.metadata.name === 'anetd'),
    ...(xcc ? {xccDaemonSet: xcc} : {}),
  }
}
