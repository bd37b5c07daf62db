/**
 * The iptables-save text a GKE node runs when the topology does not give one: its SNAT rules
 * (from `masquerade`) and the kube-proxy service chains (from `services`). Rendering text and
 * evaluating it with the same evaluator as a real dump keeps one mechanism for both, and the
 * lab can load exactly this text into a node namespace.
 */
import {formatIp} from '../net/ipv4.js'
import type {MasqueradeSpec} from './schema.js'

/** SNAT-11/SNAT-12: GKE's default non-masquerade destinations, in the chain's order, with their comments. */
export const GKE_DEFAULT_NON_MASQUERADE: ReadonlyArray<readonly [string, string]> = [
  ['10.0.0.0/8', 'RFC 1918 reserved range'],
  ['172.16.0.0/12', 'RFC 1918 reserved range'],
  ['192.168.0.0/16', 'RFC 1918 reserved range'],
  ['240.0.0.0/4', 'RFC 5735 reserved range'],
  ['192.0.2.0/24', 'RFC 5737 reserved range'],
  ['198.51.100.0/24', 'RFC 5737 reserved range'],
  ['203.0.113.0/24', 'RFC 5737 reserved range'],
  ['100.64.0.0/10', 'RFC 6598 reserved range'],
  ['198.18.0.0/15', 'RFC 6815 reserved range'],
  ['192.0.0.0/24', 'RFC 6890 reserved range'],
  ['192.88.99.0/24', 'RFC 7526 reserved range'],
]

export const KUBENET_COMMENT = 'kubenet: SNAT for outbound traffic from cluster'
export const IP_MASQ_CHAIN = 'IP-MASQ'

export interface NatRulesText {
  chains: string[]
  postrouting: string[]
  rules: string[]
}

/** SNAT-05, SNAT-09, SNAT-11, SNAT-13: the POSTROUTING rules for a `masquerade` setting. */
export function renderMasqueradeRules(masquerade: MasqueradeSpec): NatRulesText {
  if ('kubenet' in masquerade) {
    return {
      chains: [],
      postrouting: [`-A POSTROUTING ! -d ${masquerade.kubenet.nonMasqueradeCidr} -m comment --comment "${KUBENET_COMMENT}" -m addrtype ! --dst-type LOCAL -j MASQUERADE`],
      rules: [],
    }
  }
  if ('disabled' in masquerade) return {chains: [], postrouting: [], rules: []}
  const config = masquerade.ipMasq
  const rules: string[] = []
  if (!config.masqLinkLocal) rules.push(`-A ${IP_MASQ_CHAIN} -d 169.254.0.0/16 -m comment --comment "ip-masq: local traffic is not subject to MASQUERADE" -j RETURN`)
  if (config.nonMasqueradeCIDRs === undefined) {
    // SNAT-03: no list in the config keeps the default list (SNAT-11 chain written by the node startup script).
    for (const [range, why] of GKE_DEFAULT_NON_MASQUERADE) {
      rules.push(`-A ${IP_MASQ_CHAIN} -d ${range} -m comment --comment "ip-masq: ${why} is not subject to MASQUERADE" -j RETURN`)
    }
    rules.push(`-A ${IP_MASQ_CHAIN} -m comment --comment "ip-masq: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE`)
  } else {
    // SNAT-05/SNAT-12: the agent rewrites the chain from its ConfigMap, in config order.
    for (const range of config.nonMasqueradeCIDRs) {
      rules.push(`-A ${IP_MASQ_CHAIN} -d ${range} -m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN`)
    }
    rules.push(`-A ${IP_MASQ_CHAIN} -m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE --random-fully`)
  }
  return {
    chains: [`:${IP_MASQ_CHAIN} - [0:0]`],
    postrouting: [
      `-A POSTROUTING -m comment --comment "ip-masq: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom ${IP_MASQ_CHAIN} chain" -m addrtype ! --dst-type LOCAL -j ${IP_MASQ_CHAIN}`,
    ],
    rules,
  }
}

export interface ServiceRulesInput {
  readonly namespace: string
  readonly name: string
  readonly clusterIP: number
  readonly ports: ReadonlyArray<{readonly name?: string; readonly port: number; readonly targetPort?: number; readonly nodePort?: number; readonly protocol: 'TCP' | 'UDP'}>
  readonly endpoints: ReadonlyArray<{readonly ip: number; readonly local: boolean}>
  readonly externalTrafficPolicy: 'Cluster' | 'Local'
  /** status.loadBalancer.ingress IP (the ILB VIP) */
  readonly loadBalancerIP?: number
}

/** The nat and filter tables of a node: kube-proxy service chains (SVC-06) plus its SNAT rules. */
export function renderNodeIptables(options: {podRange: string; masquerade: MasqueradeSpec; services: readonly ServiceRulesInput[]}): string {
  const masq = renderMasqueradeRules(options.masquerade)
  const natChains = [':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-MARK-DROP - [0:0]', ...masq.chains]
  const nat: string[] = []
  const nodePorts: string[] = []
  const rejects: string[] = []
  const externalRejects: string[] = []
  for (const svc of options.services) {
    for (const port of svc.ports) {
      const proto = port.protocol.toLowerCase()
      const id = `${svc.namespace}/${svc.name}${port.name ? `:${port.name}` : ''}`
      const svcChain = `KUBE-SVC-${chainHash(`${id}${proto}`)}`
      const ready = svc.endpoints
      if (ready.length === 0) {
        // kube-proxy rejects new connections to a service without endpoints: its cluster IP, and from
        // outside (KUBE-EXTERNAL-SERVICES) its load-balancer IP and node port
        const reject = `-m comment --comment "${id} has no endpoints"`
        rejects.push(`-A KUBE-SERVICES -d ${formatIp(svc.clusterIP)}/32 -p ${proto} ${reject} -m ${proto} --dport ${port.port} -j REJECT --reject-with icmp-port-unreachable`)
        if (svc.loadBalancerIP !== undefined) {
          externalRejects.push(`-A KUBE-EXTERNAL-SERVICES -d ${formatIp(svc.loadBalancerIP)}/32 -p ${proto} ${reject} -m ${proto} --dport ${port.port} -j REJECT --reject-with icmp-port-unreachable`)
        }
        if (port.nodePort !== undefined) {
          externalRejects.push(`-A KUBE-EXTERNAL-SERVICES -p ${proto} ${reject} -m addrtype --dst-type LOCAL -m ${proto} --dport ${port.nodePort} -j REJECT --reject-with icmp-port-unreachable`)
        }
        continue
      }
      natChains.push(`:${svcChain} - [0:0]`)
      nat.push(`-A KUBE-SERVICES -d ${formatIp(svc.clusterIP)}/32 -p ${proto} -m comment --comment "${id} cluster IP" -m ${proto} --dport ${port.port} -j ${svcChain}`)
      nat.push(`-A ${svcChain} ! -s ${options.podRange} -d ${formatIp(svc.clusterIP)}/32 -p ${proto} -m comment --comment "${id} cluster IP" -m ${proto} --dport ${port.port} -j KUBE-MARK-MASQ`)
      nat.push(...endpointRules(svcChain, id, proto, ready, port.targetPort ?? port.port, natChains))
      const external = svc.loadBalancerIP !== undefined || port.nodePort !== undefined
      if (!external) continue
      const extChain = `KUBE-EXT-${chainHash(`${id}${proto}`)}`
      natChains.push(`:${extChain} - [0:0]`)
      if (svc.loadBalancerIP !== undefined) {
        nat.push(`-A KUBE-SERVICES -d ${formatIp(svc.loadBalancerIP)}/32 -p ${proto} -m comment --comment "${id} loadbalancer IP" -m ${proto} --dport ${port.port} -j ${extChain}`)
      }
      if (port.nodePort !== undefined) {
        nodePorts.push(`-A KUBE-NODEPORTS -p ${proto} -m comment --comment "${id}" -m ${proto} --dport ${port.nodePort} -j ${extChain}`)
      }
      if (svc.externalTrafficPolicy === 'Cluster') {
        // SVC-06: eTP=Cluster masquerades external traffic to the node's address.
        nat.push(`-A ${extChain} -m comment --comment "masquerade traffic for ${id} external destinations" -j KUBE-MARK-MASQ`, `-A ${extChain} -j ${svcChain}`)
      } else {
        const local = ready.filter((e) => e.local)
        if (local.length === 0) {
          nat.push(`-A ${extChain} -m comment --comment "${id} has no local endpoints" -j KUBE-MARK-DROP`)
        } else {
          const svlChain = `KUBE-SVL-${chainHash(`${id}${proto}`)}`
          natChains.push(`:${svlChain} - [0:0]`)
          nat.push(`-A ${extChain} -j ${svlChain}`, ...endpointRules(svlChain, id, proto, local, port.targetPort ?? port.port, natChains))
        }
      }
    }
  }
  const lines = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...unique(natChains),
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ...masq.postrouting,
    ...masq.rules,
    '-A KUBE-MARK-DROP -j MARK --or-mark 0x8000',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ...nat,
    ...nodePorts,
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-EXTERNAL-SERVICES - [0:0]',
    ':KUBE-FIREWALL - [0:0]',
    ':KUBE-SERVICES - [0:0]',
    '-A INPUT -j KUBE-FIREWALL',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A OUTPUT -j KUBE-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" -m mark --mark 0x8000/0x8000 -j DROP',
    ...rejects,
    ...externalRejects,
    'COMMIT',
  ]
  return `${lines.join('\n')}\n`
}

/** kube-proxy's random load balancing: endpoint i of n is taken with probability 1/(n-i). */
function endpointRules(chain: string, id: string, proto: string, endpoints: ServiceRulesInput['endpoints'], targetPort: number, chains: string[]): string[] {
  const out: string[] = []
  endpoints.forEach((e, i) => {
    const sep = `KUBE-SEP-${chainHash(`${id}${proto}${formatIp(e.ip)}:${targetPort}`)}`
    chains.push(`:${sep} - [0:0]`)
    const left = endpoints.length - i
    const pick = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : ''
    out.push(`-A ${chain} -m comment --comment "${id} -> ${formatIp(e.ip)}:${targetPort}"${pick} -j ${sep}`)
    out.push(`-A ${sep} -s ${formatIp(e.ip)}/32 -m comment --comment "${id}" -j KUBE-MARK-MASQ`)
    out.push(`-A ${sep} -p ${proto} -m comment --comment "${id}" -m ${proto} -j DNAT --to-destination ${formatIp(e.ip)}:${targetPort}`)
  })
  return out
}

function unique(lines: string[]): string[] {
  return [...new Set(lines)]
}

/** A stable 16-character chain suffix, like kube-proxy's (base32 of a hash). */
export function chainHash(text: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let h1 = 0x811c9dc5
  let h2 = 0x01000193
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0
  }
  let out = ''
  for (let i = 0; i < 16; i++) {
    const source = i < 8 ? h1 : h2
    out += alphabet[(source >>> ((i % 8) * 4)) & 31]
  }
  return out
}
