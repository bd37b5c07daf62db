/**
 * Who owns a destination address:port, looked for in every context of the kubeconfig when no
 * context was named (contracts: the live doctor finds the destination's owner and says where):
 * a Service's load-balancer or cluster IP, a node, a pod. The probe's own cluster is asked first —
 * its kube-proxy and pod routes decide for its own ranges — then the others, in parallel, each
 * bounded in time; a context that cannot be read is skipped with a note.
 */
import type {Clock} from '../ports/clock.js'
import type {KubeCluster, KubeContexts, KubeNode, KubeService} from '../ports/kube.js'
import {internalIps, serviceOwning} from './targets.js'

export interface OwnerMatch {
  readonly cluster: KubeCluster
  /** for messages: `service default/web`, `node n1`, `pod default/p` */
  readonly owner: string
  readonly service?: KubeService
  /** the address is the Service's ClusterIP (not a load-balancer address) */
  readonly clusterIp: boolean
  readonly nodes: readonly KubeNode[]
}

export interface OwnerSearch {
  readonly match?: OwnerMatch
  /** the contexts asked, in order */
  readonly searched: readonly string[]
  readonly notes: readonly string[]
}

/** what owns ip:port in one cluster, if anything (services by address only: a bare node port says nothing across clusters) */
async function ownerIn(cluster: KubeCluster, ip: string, port: number): Promise<Omit<OwnerMatch, 'cluster'> | undefined> {
  const [services, nodes] = await Promise.all([cluster.listServices(), cluster.listNodes()])
  const byService = serviceOwning(ip, port, services)
  if (byService && !byService.byNodePort) {
    const s = byService.service
    return {owner: `service ${s.metadata.namespace ?? 'default'}/${s.metadata.name}`, service: s, clusterIp: s.spec?.clusterIP === ip, nodes}
  }
  const node = nodes.find((n) => internalIps(n).includes(ip))
  if (node) {
    const nodePort = services.find((s) => (s.spec?.ports ?? []).some((p) => p.nodePort === port))
    return nodePort
      ? {owner: `service ${nodePort.metadata.namespace ?? 'default'}/${nodePort.metadata.name} (node port ${port} of node ${node.metadata.name})`, service: nodePort, clusterIp: false, nodes}
      : {owner: `node ${node.metadata.name}`, clusterIp: false, nodes}
  }
  const pod = (await cluster.listPods(undefined)).find((p) => p.status?.podIP === ip && !p.spec.hostNetwork)
  if (pod) return {owner: `pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`, clusterIp: false, nodes}
  return undefined
}

/** `work`, or 'timeout' after `ms`; the timer stops as soon as the work settles (it must not hold the process) */
async function bounded<T>(work: Promise<T>, clock: Clock, ms: number, signal?: AbortSignal): Promise<T | 'timeout'> {
  const timer = new AbortController()
  const stop = (): void => timer.abort()
  signal?.addEventListener('abort', stop, {once: true})
  try {
    return await Promise.race([work, clock.sleep(ms, timer.signal).then(() => 'timeout' as const)])
  } finally {
    stop()
    signal?.removeEventListener('abort', stop)
  }
}

export async function findDestinationOwner(kube: KubeContexts, source: KubeCluster, ip: string, port: number, options: {clock: Clock; signal?: AbortSignal; perContextMs: number}): Promise<OwnerSearch> {
  const notes: string[] = []
  // the probe's own cluster answers already (the run needs it anyway); the others are bounded in time
  const ask = async (cluster: KubeCluster, timed: boolean): Promise<OwnerMatch | undefined> => {
    try {
      const found = timed ? await bounded(ownerIn(cluster, ip, port), options.clock, options.perContextMs, options.signal) : await ownerIn(cluster, ip, port)
      if (found === 'timeout') {
        notes.push(`context ${cluster.context} did not answer within ${Math.round(options.perContextMs / 1000)} s; not searched for ${ip}:${port}`)
        return undefined
      }
      return found && {...found, cluster}
    } catch (error) {
      notes.push(`context ${cluster.context} could not be searched for ${ip}:${port}: ${(error as Error).message}`)
      return undefined
    }
  }
  const own = await ask(source, false)
  if (own) return {match: own, searched: [source.context], notes}
  const others: KubeCluster[] = []
  for (const name of kube.contexts) {
    if (name === source.context) continue
    try {
      const cluster = kube.open(name)
      // another context of the same API server is the same cluster, already asked
      if (cluster.server.replace(/\/+$/, '') !== source.server.replace(/\/+$/, '')) others.push(cluster)
    } catch (error) {
      notes.push(`context ${name} cannot be opened: ${(error as Error).message}`)
    }
  }
  const found = await Promise.all(others.map((c) => ask(c, true)))
  const matches = found.filter((m): m is OwnerMatch => m !== undefined)
  if (matches.length > 1) notes.push(`${ip}:${port} is owned in several contexts (${matches.map((m) => `${m.cluster.context}: ${m.owner}`).join('; ')}); xcc probes towards the first, ${matches[0]?.cluster.context}: name the right one with --to-context`)
  return {...(matches[0] ? {match: matches[0]} : {}), searched: [source.context, ...others.map((c) => c.context)], notes}
}
