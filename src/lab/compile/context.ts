/** Indexes shared by the parts of the lab compiler: who gets which namespace and interface. */
import {formatIp} from '../../core/net/ipv4.js'
import type {InstanceFacts, Model} from '../../core/topology/model-types.js'
import {namespaceName, routerIface} from './names.js'
import type {LabNames} from './types.js'

export interface PlanContext {
  readonly lab: string
  readonly model: Model
  readonly networks: readonly string[]
  /** stable indexes (name-map.ts): what stays keeps its names when the topology changes */
  readonly networkIndex: ReadonlyMap<string, number>
  readonly hosts: readonly InstanceFacts[]
  readonly hostIndex: ReadonlyMap<string, number>
  readonly podIndex: ReadonlyMap<string, number>
  /** active peerings as point-to-point links: `${network}|${peer}` → this side's and the peer's address */
  readonly peerLinks: ReadonlyMap<string, {readonly local: string; readonly remote: string}>
}

export function buildContext(model: Model, lab: string, names: LabNames): PlanContext {
  const peerLinks = new Map<string, {local: string; remote: string}>()
  for (const [a, b, k] of names.peerings) {
    // link-local point-to-point addresses, away from 169.254.1.1 (pod gateways) and .169.254 (metadata)
    const base = 100 + (k >> 7)
    const low = (k & 127) * 2
    peerLinks.set(`${a}|${b}`, {local: `169.254.${base}.${low}`, remote: `169.254.${base}.${low + 1}`})
    peerLinks.set(`${b}|${a}`, {local: `169.254.${base}.${low + 1}`, remote: `169.254.${base}.${low}`})
  }
  return {
    lab, model, networks: [...model.networks.keys()], networkIndex: new Map(names.networks),
    hosts: [...model.instances.values()], hostIndex: new Map(names.hosts), podIndex: new Map(names.pods), peerLinks,
  }
}

export function routerNs(ctx: PlanContext, network: string): string {
  return namespaceName(ctx.lab, 'net', ctx.networkIndex.get(network) as number)
}

export function hostNs(ctx: PlanContext, instance: string): string {
  return namespaceName(ctx.lab, (ctx.model.instances.get(instance) as InstanceFacts).kind === 'node' ? 'node' : 'vm', ctx.hostIndex.get(instance) as number)
}

/** The router interface and address of an instance's NIC in `network`, if it has one there. */
export function nicHop(ctx: PlanContext, instance: InstanceFacts, network: string): {readonly via: string; readonly dev: string} | undefined {
  const nic = instance.nics.find((n) => n.network === network)
  if (!nic) return undefined
  return {via: formatIp(nic.ip), dev: routerIface(ctx.hostIndex.get(instance.name) as number, nic.index)}
}
