/** Indexes shared by the parts of the lab compiler: who gets which namespace and interface. */
import {formatIp} from '../../core/net/ipv4.js'
import type {InstanceFacts, Model} from '../../core/topology/model-types.js'
import {namespaceName, routerIface} from './names.js'

export interface PlanContext {
  readonly lab: string
  readonly model: Model
  readonly networks: readonly string[]
  readonly networkIndex: ReadonlyMap<string, number>
  readonly hosts: readonly InstanceFacts[]
  readonly hostIndex: ReadonlyMap<string, number>
  /** active peerings as point-to-point links: `${network}|${peer}` → this side's and the peer's address */
  readonly peerLinks: ReadonlyMap<string, {readonly local: string; readonly remote: string}>
}

export function buildContext(model: Model, lab: string): PlanContext {
  const networks = [...model.networks.keys()]
  const networkIndex = new Map(networks.map((n, i) => [n, i]))
  const hosts = [...model.instances.values()]
  const hostIndex = new Map(hosts.map((h, i) => [h.name, i]))
  const peerLinks = new Map<string, {local: string; remote: string}>()
  let k = 0
  for (const p of model.peerings) {
    if (p.state !== 'ACTIVE') continue
    const [a, b] = [p.network, p.spec.network]
    if (peerLinks.has(`${a}|${b}`)) continue
    // link-local point-to-point addresses, away from 169.254.1.1 (pod gateways) and .169.254 (metadata)
    const base = 100 + (k >> 7)
    const low = (k & 127) * 2
    peerLinks.set(`${a}|${b}`, {local: `169.254.${base}.${low}`, remote: `169.254.${base}.${low + 1}`})
    peerLinks.set(`${b}|${a}`, {local: `169.254.${base}.${low + 1}`, remote: `169.254.${base}.${low}`})
    k++
  }
  return {lab, model, networks, networkIndex, hosts, hostIndex, peerLinks}
}

export function routerNs(ctx: PlanContext, network: string): string {
  return namespaceName(ctx.lab, 'net', ctx.networkIndex.get(network) as number)
}

export function hostNs(ctx: PlanContext, instance: string): string {
  const i = ctx.hostIndex.get(instance) as number
  return namespaceName(ctx.lab, (ctx.hosts[i] as InstanceFacts).kind === 'node' ? 'node' : 'vm', i)
}

/** The router interface and address of an instance's NIC in `network`, if it has one there. */
export function nicHop(ctx: PlanContext, instance: InstanceFacts, network: string): {readonly via: string; readonly dev: string} | undefined {
  const nic = instance.nics.find((n) => n.network === network)
  if (!nic) return undefined
  return {via: formatIp(nic.ip), dev: routerIface(ctx.hostIndex.get(instance.name) as number, nic.index)}
}
