/**
 * The one-sentence root cause and the fix, as commands to copy, for each diagnosis code.
 * Commands are built from the model (names, zones, ranges, priorities), never generic.
 */
import {type Cidr, cidrContainsIp, formatCidr, formatIp} from '../net/ipv4.js'
import type {InstanceFacts} from '../topology/model-types.js'
import type {Step} from '../trace/types.js'
import type {DoctorContext} from './check.js'
import type {DiagnosisCode, Failure} from './types.js'

export interface FixInput {
  readonly ctx: DoctorContext
  readonly code: DiagnosisCode
  readonly failure: Failure
  /** the step where the chosen fix applies (a counterfactual candidate) */
  readonly at?: Step
}

export interface Fix {
  readonly summary: string
  readonly commands: readonly string[]
}

const name = (at: string): string => at.slice(at.indexOf('/') + 1)

function where(f: Failure): string {
  const s = f.step
  return f.direction === 'return' ? `the reply to ${s.packet.dst} is dropped at ${s.at} (${s.cause})` : `${s.at} drops it (${s.cause})`
}

/** The ranges to masquerade for the destination: the subnet range that holds it, else the address itself. */
function destinationRanges(ctx: DoctorContext): Cidr[] {
  const dst = ctx.flow.packet.dst
  for (const n of ctx.model.networks.values()) {
    for (const s of n.subnets) {
      if (cidrContainsIp(s.primary, dst)) return [s.primary]
      const secondary = s.secondary.find((r) => cidrContainsIp(r.cidr, dst))
      if (secondary) return [secondary.cidr]
    }
  }
  return [{base: dst, prefix: 32}]
}

function ssh(instance: InstanceFacts, command: string): string {
  return `gcloud compute ssh ${instance.name} --zone ${instance.zone} --command '${command}'`
}

function instanceOf(ctx: DoctorContext, at: string): InstanceFacts | undefined {
  return ctx.model.instances.get(name(at))
}

function podSnat(input: FixInput): Fix {
  const {ctx, failure} = input
  const source = ctx.flow.source
  const ranges = destinationRanges(ctx)
  const rangeText = ranges.map(formatCidr).join(',')
  const podIp = formatIp(ctx.flow.packet.src)
  const cluster = source.kind === 'pod' ? source.cluster : undefined
  const nodeName = input.at ? name(input.at.at) : ''
  // issue 5: the fix is xcc's own command; it edits the ip-masq-agent ConfigMap where the agent
  // governs SNAT (SNAT-03) or runs the xcc-masquerade DaemonSet otherwise (SNAT-14)
  const masq = cluster?.spec.masquerade
  const how = masq && 'ipMasq' in masq && masq.ipMasq.nonMasqueradeCIDRs !== undefined
    ? 'takes them out of nonMasqueradeCIDRs of kube-system/ip-masq-agent'
    : masq && 'ipMasq' in masq
      ? 'edits kube-system/ip-masq-agent where the agent runs, else keeps an XCC-MASQ chain first in nat POSTROUTING on every node'
      : 'keeps an XCC-MASQ chain first in nat POSTROUTING on every node'
  const commands: string[] = cluster
    ? [`xcc masquerade add --context ${cluster.name} --cidr ${rangeText}   # --context: the kube context of cluster ${cluster.name}; ${how}`]
    : []
  const missing = failure.missing
  if (missing?.code === 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED') {
    commands.push(`or: gcloud compute networks peerings update ${missing.exporting.peering} --network ${missing.exporting.network} --export-custom-routes && gcloud compute networks peerings update ${missing.importing.peering} --network ${missing.importing.network} --import-custom-routes   # exchange the per-node pod routes (GKE-04, PEER-04)`)
  }
  if (cluster?.mode === 'ROUTES') commands.push(`or: move the workload to a VPC-native cluster (gcloud container clusters create … --enable-ip-alias): its pod range is then exchanged as a subnet route (GKE-03)`)
  return {
    summary: `Pod ${podIp}${cluster ? ` of cluster ${cluster.name}` : ''} reaches ${formatIp(ctx.flow.packet.dst)} with its own address because node ${nodeName} does not masquerade ${rangeText}, and ${where(failure)}; masquerading ${rangeText} on the nodes of ${cluster?.name ?? 'the cluster'} fixes it.`,
    commands,
  }
}

function gatewaySnat(input: FixInput): Fix {
  const {ctx, failure} = input
  const at = input.at as Step
  const gateway = instanceOf(ctx, at.at) as InstanceFacts
  const src = at.packet.src
  // the NIC the gateway forwards out of: the network of its egress firewall step
  const out = gateway.nics.find((n) => n.network === at.firewall?.network) ?? (gateway.nics[0] as InstanceFacts['nics'][number])
  const podRange = ctx.flow.source.kind === 'pod' && formatIp(ctx.flow.packet.src) === src ? formatCidr(ctx.flow.source.cluster.podRange) : `${src}/32`
  const overlap = failure.code === 'OVERLAPPING_RANGES' || failure.step.cause === 'ROUTE_WRONG_NETWORK'
  return {
    summary: `Gateway ${gateway.name} forwards traffic from ${src} without SNAT, and ${where(failure)}${overlap ? ' — the far side routes that address somewhere else' : ''}; masquerading on ${gateway.name} (to its address ${formatIp(out.ip)}) fixes it.`,
    commands: [
      `${ssh(gateway, `sudo iptables -t nat -A POSTROUTING -s ${podRange} -o nic${out.index} -j MASQUERADE`)}   # nic${out.index} is the guest interface of NIC ${out.index} (ens${4 + out.index} on most images)`,
    ],
  }
}

function firewall(input: FixInput): Fix {
  const {ctx, failure} = input
  const step = failure.step
  const fw = step.firewall
  const target = instanceOf(ctx, step.at)
  if (!fw || !target) return {summary: `A firewall on ${step.at} blocks the flow: ${step.detail}.`, commands: [`inspect the rules of ${step.at}: ${step.detail}`]}
  const priority = fw.type === 'IMPLIED_VPC_FIREWALL_RULE' ? 1000 : Math.max(0, fw.priority - 1)
  const ingress = fw.direction === 'INGRESS'
  const tag = target.tags[0]
  const ruleName = `allow-${ingress ? 'from' : 'to'}-${(ingress ? step.packet.src : step.packet.dst).replace(/\./g, '-')}-${step.packet.protocol}-${step.packet.dstPort}`
  return {
    summary: `${ingress ? 'Ingress' : 'Egress'} firewall rule ${fw.name} (${fw.action}, priority ${fw.priority}) in ${fw.network} blocks ${step.packet.protocol} ${step.packet.src} → ${step.packet.dst}:${step.packet.dstPort} at ${target.name}.`,
    commands: [
      `gcloud compute firewall-rules create ${ruleName} --network ${fw.network} --direction ${fw.direction} --priority ${priority} --action ALLOW --rules ${step.packet.protocol}:${step.packet.dstPort} ${ingress ? `--source-ranges ${step.packet.src}/32` : `--destination-ranges ${step.packet.dst}/32`}${tag ? ` --target-tags ${tag}` : ''}`,
    ],
  }
}

export function buildFix(input: FixInput): Fix {
  const {ctx, code, failure} = input
  const s = failure.step
  const p = s.packet
  const fr = s.at.startsWith('lb/') ? ctx.model.forwardingRules.get(name(s.at)) : undefined
  const host = instanceOf(ctx, s.at)
  switch (code) {
    case 'POD_SNAT_MISSING':
      return podSnat(input)
    case 'GATEWAY_SNAT_MISSING':
      return gatewaySnat(input)
    case 'FIREWALL_RULE':
      return firewall(input)
    case 'OVERLAPPING_RANGES':
      return {
        summary: `The destination side sees the client as ${p.dst}, an address it routes somewhere else, so replies go astray: ${s.detail}.`,
        commands: [`renumber one of the overlapping ranges so ${p.dst} is unique on the path, or masquerade the client where it leaves its own network (see evidence for the ranges)`],
      }
    case 'PEERING_INACTIVE': {
      const m = failure.missing?.code === 'PEERING_INACTIVE' ? failure.missing : undefined
      return {
        summary: `The path needs the peering ${m?.peering.name ?? ''} between ${m?.peering.network ?? ''} and ${m?.peering.missingOn ?? ''}, but only one side has configured it, so it is INACTIVE.`,
        commands: m ? [`gcloud compute networks peerings create ${m.peering.missingOn}-to-${m.peering.network} --network ${m.peering.missingOn} --peer-network ${m.peering.network}`] : [],
      }
    }
    case 'PEERING_NOT_TRANSITIVE': {
      const m = failure.missing?.code === 'PEERING_NOT_TRANSITIVE' ? failure.missing : undefined
      const [a, b] = m ? [m.chain[0] as string, m.chain[m.chain.length - 1] as string] : ['', '']
      return {
        summary: `${p.dst} is in ${b}, reachable from ${a} only through the peerings ${m?.chain.join(' ↔ ')}; VPC peering is not transitive.`,
        commands: [`gcloud compute networks peerings create ${a}-to-${b} --network ${a} --peer-network ${b} && gcloud compute networks peerings create ${b}-to-${a} --network ${b} --peer-network ${a}`, `or: route through a gateway VM or a VPN between ${a} and ${b}`],
      }
    }
    case 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED': {
      const m = failure.missing?.code === 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED' ? failure.missing : undefined
      return {
        summary: `${p.dst} is behind custom route ${m?.route.name ?? ''} of ${m?.exporting.network ?? ''}, which the peering does not exchange (export ${m?.exporting.exports}, import ${m?.importing.imports}).`,
        commands: m ? [`gcloud compute networks peerings update ${m.exporting.peering} --network ${m.exporting.network} --export-custom-routes && gcloud compute networks peerings update ${m.importing.peering} --network ${m.importing.network} --import-custom-routes`] : [],
      }
    }
    case 'NO_ROUTE':
      return {
        summary: `No route carries ${failure.direction === 'return' ? 'the reply' : 'the packet'} to ${p.dst}: ${s.detail}.`,
        commands: [`add a route in ${name(s.at)} for ${p.dst} towards the network or gateway that owns it (gcloud compute routes create … --network ${name(s.at)} --destination-range …), or connect the networks with a peering`],
      }
    case 'FORWARDING_RULE_REGION_MISMATCH':
      return {
        summary: `The client is in another region than load balancer ${fr?.name}, which has no global access: ${s.detail}.`,
        commands: fr ? [`gcloud compute forwarding-rules update ${fr.name} --region ${fr.region} --allow-global-access`] : [],
      }
    case 'FORWARDING_RULE_MISMATCH':
      return {
        summary: `Load balancer ${fr?.name} does not forward ${p.protocol.toUpperCase()} port ${p.dstPort}: ${s.detail}.`,
        commands: fr ? [`connect to a port it serves (${fr.ports ? fr.portsText.join(', ') : 'all'}), or create a forwarding rule for ${p.protocol}:${p.dstPort}: gcloud compute forwarding-rules create ${fr.name}-${p.dstPort} --region ${fr.region} --load-balancing-scheme internal --network ${fr.network} --subnet ${fr.subnet.name} --ip-protocol ${p.protocol.toUpperCase()} --ports ${p.dstPort} --backend-service ${fr.backendService.name}`] : [],
      }
    case 'FORWARDING_RULE_NO_INSTANCES': {
      const candidates = fr ? [...ctx.model.instances.values()].filter((i) => i.region === fr.region && i.nics.some((n) => n.network === fr.network)) : []
      const zone = candidates[0]?.zone
      const group = fr ? `${fr.backendService.name}-group` : ''
      return {
        summary: `Load balancer ${fr?.name} has no usable backends: ${s.detail}.`,
        commands: fr && zone
          ? [`gcloud compute instance-groups unmanaged create ${group} --zone ${zone} && gcloud compute instance-groups unmanaged add-instances ${group} --zone ${zone} --instances ${candidates.filter((i) => i.zone === zone).map((i) => i.name).join(',')} && gcloud compute backend-services add-backend ${fr.backendService.name} --region ${fr.region} --instance-group ${group} --instance-group-zone ${zone}`]
          : [`add instances with a NIC in ${fr?.network ?? 'the load balancer network'} to backend service ${fr?.backendService.name ?? ''}`],
      }
    }
    case 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK':
      return {
        summary: `No backend of ${fr?.name} can pass its health check because the firewall blocks the probe ranges: ${s.detail}.`,
        commands: fr ? [`gcloud compute firewall-rules create allow-health-checks-${fr.backendService.name} --network ${fr.network} --direction INGRESS --action ALLOW --rules tcp:${fr.backendService.healthCheck.port} --source-ranges 35.191.0.0/16,130.211.0.0/22`] : [],
      }
    case 'FOREIGN_IP_DISALLOWED':
      return {
        summary: `${host?.name ?? s.at} must ${/receives/.test(s.detail) ? 'receive' : 'send'} for an address that is not its own but has canIpForward false.`,
        commands: host ? [`gcloud compute instances export ${host.name} --zone ${host.zone} --destination ${host.name}.yaml && sed -i 's/^canIpForward: false/canIpForward: true/' ${host.name}.yaml && gcloud compute instances update-from-file ${host.name} --zone ${host.zone} --source ${host.name}.yaml --most-disruptive-allowed-action RESTART`] : [],
      }
    case 'GUEST_FORWARDING_DISABLED':
      return {
        summary: `The operating system of ${host?.name ?? s.at} does not forward the traffic: ${s.detail}.`,
        commands: host ? [/ip_forward/.test(s.detail) ? ssh(host, 'sudo sysctl -w net.ipv4.ip_forward=1') : ssh(host, `sudo iptables -I FORWARD -s ${p.src} -d ${p.dst} -j ACCEPT`)] : [],
      }
    case 'CLUSTER_IP_FROM_OUTSIDE_CLUSTER': {
      const svc = [...ctx.model.clusters.values()].flatMap((c) => c.services).find((x) => formatIp(x.clusterIP) === p.dst)
      return {
        summary: `${p.dst} is a ClusterIP, reachable only from inside its cluster.`,
        commands: svc ? [`kubectl --context ${svc.cluster} -n ${svc.namespace} patch service ${svc.name} -p '{"metadata":{"annotations":{"networking.gke.io/load-balancer-type":"Internal"}},"spec":{"type":"LoadBalancer"}}'   # expose it on an internal load balancer (SVC-01)`] : ['expose the service on an internal load balancer (type LoadBalancer, annotation networking.gke.io/load-balancer-type: Internal)'],
      }
    }
    case 'UNKNOWN_INTERNAL_ADDRESS':
      return {summary: `Nothing in the topology owns ${p.dst}.`, commands: [`check the address: gcloud compute addresses list --filter="address=${p.dst}" and gcloud compute instances list --filter="networkInterfaces.networkIP=${p.dst}"`]}
    case 'DESTINATION_NOT_LISTENING':
      return {summary: `The packet arrives, but nothing serves ${p.protocol} port ${p.dstPort} at ${s.at}.`, commands: [`check what ${s.at} serves on port ${p.dstPort} (kubectl get endpoints, or ss -ltnp on the VM), or target the port it serves`]}
    case 'INSUFFICIENT_INFO':
      return {summary: `xcc cannot decide this flow from the topology: ${s.detail}.`, commands: [`give xcc what it needs: ${s.rules?.length ? `the effect of rule ${s.rules[0]?.rule} (${s.rules[0]?.source}, line ${s.rules[0]?.line}) is unknown; remove or rewrite it in the topology, or` : ''} verify with a live probe`]}
  }
}
