/** Topology model → lab plan (pure). See types.ts for what the runtime does with it. */
import {formatIp} from '../../core/net/ipv4.js'
import type {Model} from '../../core/topology/model-types.js'
import {buildContext, routerNs} from './context.js'
import {compileInstance, compilePod, instanceServer, interestingPorts, labPods} from './hosts.js'
import {compileRouter} from './router.js'
import {planNames, podKey} from './name-map.js'
import type {HostEntry, LabNames, LabPlan, NamespacePlan, PodPlan, ServerPlan, VethPlan} from './types.js'

/**
 * `previous`: the name map of the lab being changed (its state's plan.names), so that what stays
 * keeps its namespaces and interfaces (name-map.ts); without it, names follow topology order.
 */
export function compileLab(model: Model, lab: string, previous?: LabNames): LabPlan & {readonly names: LabNames} {
  const names = planNames(model, previous)
  const ctx = buildContext(model, lab, names)
  const namespaces: NamespacePlan[] = []
  const links: VethPlan[] = []
  const hosts: Record<string, HostEntry> = {}
  for (const network of model.networks.values()) {
    const r = compileRouter(ctx, network)
    namespaces.push(r.ns)
    links.push(...r.links)
    hosts[`network/${network.name}`] = {ns: routerNs(ctx, network.name), address: ''}
  }
  const instancePlans = new Map<string, NamespacePlan>()
  for (const host of ctx.hosts) {
    const r = compileInstance(ctx, host)
    instancePlans.set(host.name, r.ns)
    links.push(...r.links)
    hosts[`${host.kind === 'node' ? 'node' : 'instance'}/${host.name}`] = {ns: r.ns.name, address: formatIp(host.nics[0]?.ip ?? 0)}
  }
  const interesting = interestingPorts(model)
  const pods: PodPlan[] = []
  const podNamespaces: NamespacePlan[] = []
  const nodeExtra = new Map<string, string[]>()
  for (const pod of labPods(model)) {
    const r = compilePod(ctx, pod, ctx.podIndex.get(podKey(pod)) as number, pod.ports ?? (pod.hostNetwork ? [] : interesting))
    pods.push(r.plan)
    if (r.ns) podNamespaces.push(r.ns)
    links.push(...r.links)
    nodeExtra.set(pod.node, [...(nodeExtra.get(pod.node) ?? []), ...r.nodeLines])
    hosts[`pod/${pod.cluster}/${pod.namespace}/${pod.name}`] = {ns: r.plan.ns, address: r.plan.ip}
  }
  for (const host of ctx.hosts) {
    const plan = instancePlans.get(host.name) as NamespacePlan
    namespaces.push({...plan, ip: [...plan.ip, ...(nodeExtra.get(host.name) ?? [])]})
  }
  namespaces.push(...podNamespaces)
  const servers: ServerPlan[] = ctx.hosts.map((h) => instanceServer(ctx, h, interesting, pods)).filter((s) => s.tcpPorts.length > 0)
  return {lab, namespaces, links, hosts, servers, pods, names}
}
