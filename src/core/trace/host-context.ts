/**
 * A node's or VM's view for the iptables evaluator (HostContext): its local addresses and where
 * each sits, its interfaces' addresses, its bridges and its ipsets, as the lab builds them.
 */
import type {HostContext} from '../iptables/types.js'
import {cidrContainsIp} from '../net/ipv4.js'
import type {InstanceFacts, Model} from '../topology/model-types.js'

const contexts = new WeakMap<InstanceFacts, HostContext>()

/** The host's view for the iptables evaluator; built once per instance. */
export function hostContext(model: Model, instance: InstanceFacts): HostContext {
  let context = contexts.get(instance)
  if (!context) contexts.set(instance, (context = buildHostContext(model, instance)))
  return context
}

function buildHostContext(model: Model, instance: InstanceFacts): HostContext {
  const node = model.nodes.get(instance.name)
  const vips = model.vipsBackedBy(instance.name).map((f) => f.ip)
  const routesBased = node !== undefined && model.clusters.get(node.cluster)?.mode === 'ROUTES'
  return {
    isLocal: (a) =>
      a >>> 24 === 127 ||
      instance.nics.some((n) => n.ip === a || (instance.kind === 'vm' && n.aliasRanges.some((r) => cidrContainsIp(r, a)))) ||
      vips.includes(a) || // the guest agent makes every VIP the instance backs a local address
      node?.podGateway === a,
    interfaceAddress: (iface) => {
      if (iface === 'eth0') return instance.nics[0]?.ip
      const nic = /^nic(\d)$/.exec(iface)
      if (nic) return instance.nics[Number(nic[1])]?.ip
      if (iface === 'lo') return 0x7f000001
      return node?.podGateway
    },
    // addrtype --limit-iface-*: where each local address sits, as the lab places them (VIPs on lo,
    // a routes-based node's pod gateway on cbr0, a VPC-native one's on lo, a VM's alias ranges on their NIC)
    isLocalOn: (a, iface) => {
      if (iface === 'lo') return a >>> 24 === 127 || vips.includes(a) || (!routesBased && node?.podGateway === a)
      if (iface === 'cbr0') return routesBased && node?.podGateway === a
      const nic = iface === 'eth0' && instance.kind === 'node' ? instance.nics[0] : instance.nics[Number(/^nic(\d)$/.exec(iface)?.[1] ?? -1)]
      return nic !== undefined && (nic.ip === a || (instance.kind === 'vm' && nic.aliasRanges.some((r) => cidrContainsIp(r, a))))
    },
    // kubenet's cbr0 is a bridge whose traffic br_netfilter hands to iptables (-m physdev)
    isBridge: (iface) => routesBased && iface === 'cbr0',
    // the node's ipset save, for -m set (absent: set matches stay undecided)
    ...(instance.guest.ipsets ? {ipsets: instance.guest.ipsets} : {}),
  }
}
