/** An iptables-save dump shaped like a large kube-proxy node, for the benchmark. */
import {GKE_DEFAULT_NON_MASQUERADE} from '../src/core/topology/node-rules.js'
import {chainSuffix, intBelow, ipText, pad, pick, prng} from './generate-support.js'

export interface DumpService {
  readonly namespace: string
  readonly name: string
  readonly clusterIP: string
  readonly ports: ReadonlyArray<{readonly name?: string; readonly port: number; readonly targetPort: number; readonly nodePort?: number; readonly protocol: 'TCP' | 'UDP'}>
  readonly endpoints: readonly string[]
  readonly loadBalancerIP?: string
}

export interface KubeProxyDumpOptions {
  /** about this many lines (the dump stops adding services once it reaches it) */
  readonly lines: number
  /** the cluster pod range (KUBE-SVC's `! -s <podRange> … -j KUBE-MARK-MASQ`) */
  readonly podRange: string
  /** cluster IPs are serviceBase + 16 + n */
  readonly serviceBase: number
  /** usable cluster IPs in the service range */
  readonly serviceCount: number
  /** pod IPs that endpoints are drawn from */
  readonly endpointPool: readonly string[]
  /** services that must appear first, as declared in the topology */
  readonly declared: readonly DumpService[]
  readonly seed: number
}


/**
 * An iptables-save dump shaped like a large kube-proxy (iptables mode) node on GKE, with about
 * `lines` lines. Returns the text, its line count, how many services it holds, and a cluster IP
 * near the end of KUBE-SERVICES whose service has several endpoints (a trace target).
 */
export function kubeProxyDump(o: KubeProxyDumpOptions): {text: string; lines: number; services: number; target: {ip: string; port: number}} {
  const rng = prng(o.seed * 7919 + 17)
  const natChains: string[] = []
  const natRules = new Map<string, string[]>()
  const filterRules = new Map<string, string[]>()
  const add = (map: Map<string, string[]>, chain: string, line: string): void => {
    const list = map.get(chain)
    if (list) list.push(`-A ${chain} ${line}`)
    else map.set(chain, [`-A ${chain} ${line}`])
  }
  // the fixed part of the dump (headers, builtin chains, masquerade, filter scaffolding): about 90 lines
  const fixedLines = 90
  let count = fixedLines
  let target: {ip: string; port: number} | undefined

  const emit = (svc: DumpService): void => {
    for (const port of svc.ports) {
      const proto = port.protocol.toLowerCase()
      const id = `${svc.namespace}/${svc.name}${port.name ? `:${port.name}` : ''}`
      const suffix = chainSuffix(`${id}${proto}`)
      const svcChain = `KUBE-SVC-${suffix}`
      if (svc.endpoints.length === 0) {
        add(filterRules, 'KUBE-SERVICES', `-d ${svc.clusterIP}/32 -p ${proto} -m comment --comment "${id} has no endpoints" -m ${proto} --dport ${port.port} -j REJECT --reject-with icmp-port-unreachable`)
        count++
        if (port.nodePort !== undefined) {
          add(filterRules, 'KUBE-EXTERNAL-SERVICES', `-p ${proto} -m comment --comment "${id} has no endpoints" -m addrtype --dst-type LOCAL -m ${proto} --dport ${port.nodePort} -j REJECT --reject-with icmp-port-unreachable`)
          count++
        }
        continue
      }
      natChains.push(`:${svcChain} - [0:0]`)
      add(natRules, 'KUBE-SERVICES', `-d ${svc.clusterIP}/32 -p ${proto} -m comment --comment "${id} cluster IP" -m ${proto} --dport ${port.port} -j ${svcChain}`)
      add(natRules, svcChain, `! -s ${o.podRange} -d ${svc.clusterIP}/32 -p ${proto} -m comment --comment "${id} cluster IP" -m ${proto} --dport ${port.port} -j KUBE-MARK-MASQ`)
      count += 3
      svc.endpoints.forEach((ep, i) => {
        const sep = `KUBE-SEP-${chainSuffix(`${id}${proto}${ep}:${port.targetPort}`)}`
        natChains.push(`:${sep} - [0:0]`)
        const left = svc.endpoints.length - i
        const statistic = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : ''
        add(natRules, svcChain, `-m comment --comment "${id} -> ${ep}:${port.targetPort}"${statistic} -j ${sep}`)
        add(natRules, sep, `-s ${ep}/32 -m comment --comment "${id}" -j KUBE-MARK-MASQ`)
        add(natRules, sep, `-p ${proto} -m comment --comment "${id}" -m ${proto} -j DNAT --to-destination ${ep}:${port.targetPort}`)
        count += 4
      })
      if (port.nodePort !== undefined || svc.loadBalancerIP !== undefined) {
        const ext = `KUBE-EXT-${suffix}`
        natChains.push(`:${ext} - [0:0]`)
        add(natRules, ext, `-m comment --comment "masquerade traffic for ${id} external destinations" -j KUBE-MARK-MASQ`)
        add(natRules, ext, `-j ${svcChain}`)
        count += 3
        if (svc.loadBalancerIP !== undefined) {
          add(natRules, 'KUBE-SERVICES', `-d ${svc.loadBalancerIP}/32 -p ${proto} -m comment --comment "${id} loadbalancer IP" -m ${proto} --dport ${port.port} -j ${ext}`)
          count++
        }
        if (port.nodePort !== undefined) {
          add(natRules, 'KUBE-NODEPORTS', `-p ${proto} -m comment --comment "${id}" -m ${proto} --dport ${port.nodePort} -j ${ext}`)
          count++
        }
      }
      if (proto === 'tcp' && svc.endpoints.length >= 3) target = {ip: svc.clusterIP, port: port.port}
    }
  }

  for (const svc of o.declared) emit(svc)
  let n = 0
  const namespaces = 40
  while (count < o.lines) {
    if (n >= o.serviceCount - 16) throw new Error(`kubeProxyDump: the service range holds only ${o.serviceCount} cluster IPs`)
    const ns = `team-${pad(n % namespaces, 2)}`
    const dns = rng() < 0.05
    const endpointCount = rng() < 0.04 ? 0 : 1 + intBelow(rng, 10)
    const start = intBelow(rng, o.endpointPool.length)
    const endpoints = Array.from({length: Math.min(endpointCount, o.endpointPool.length)}, (_, k) => o.endpointPool[(start + k * 7) % o.endpointPool.length] as string)
    const ports: DumpService['ports'] = dns
      ? [{name: 'dns', port: 53, targetPort: 53, protocol: 'UDP'}, {name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP'}]
      : rng() < 0.3
        ? [{name: 'http', port: 80, targetPort: 8080, protocol: 'TCP'}, {name: 'grpc', port: 9090, targetPort: 9090, protocol: 'TCP'}]
        : [{name: 'http', port: pick(rng, [80, 443, 8080, 8443]), targetPort: 8080, ...(rng() < 0.2 ? {nodePort: 31000 + (n % 1700)} : {}), protocol: 'TCP'}]
    emit({namespace: ns, name: `svc-${pad(n, 5)}`, clusterIP: ipText(o.serviceBase + 16 + n), ports, endpoints})
    n++
  }
  if (!target) throw new Error('kubeProxyDump: no service with 3 or more endpoints (raise lines)')

  // iptables-save orders the user chains it prints by name; the rules follow chain by chain
  const userNat = [...new Set(natChains)].sort()
  const natBuiltin = [':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]']
  const natFixed = [':IP-MASQ - [0:0]', ':KUBE-KUBELET-CANARY - [0:0]', ':KUBE-MARK-DROP - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-POSTROUTING - [0:0]', ':KUBE-PROXY-CANARY - [0:0]', ':KUBE-SERVICES - [0:0]']
  const ruleChains = (map: Map<string, string[]>, chain: string): string[] => map.get(chain) ?? []
  const userRules = userNat.map((decl) => decl.slice(1, decl.indexOf(' '))).flatMap((chain) => ruleChains(natRules, chain))
  const lines = [
    '# Generated by iptables-save v1.8.7 on Mon Jan  1 00:00:00 2024',
    '*mangle',
    ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-IPTABLES-HINT - [0:0]', ':KUBE-KUBELET-CANARY - [0:0]', ':KUBE-PROXY-CANARY - [0:0]',
    'COMMIT',
    '# Completed on Mon Jan  1 00:00:00 2024',
    '# Generated by iptables-save v1.8.7 on Mon Jan  1 00:00:00 2024',
    '*filter',
    ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]',
    ':KUBE-EXTERNAL-SERVICES - [0:0]', ':KUBE-FIREWALL - [0:0]', ':KUBE-FORWARD - [0:0]', ':KUBE-KUBELET-CANARY - [0:0]', ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-PROXY-CANARY - [0:0]', ':KUBE-PROXY-FIREWALL - [0:0]', ':KUBE-SERVICES - [0:0]',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A INPUT -j KUBE-FIREWALL',
    '-A INPUT -p tcp -m tcp --dport 10250 -m comment --comment "kubelet" -j ACCEPT',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    '-A FORWARD -s 10.0.0.0/8 -m comment --comment "pod traffic" -j ACCEPT',
    '-A FORWARD -d 10.0.0.0/8 -m comment --comment "pod traffic" -j ACCEPT',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -j KUBE-FIREWALL',
    ...ruleChains(filterRules, 'KUBE-EXTERNAL-SERVICES'),
    '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP',
    '-A KUBE-FIREWALL -m comment --comment "kubernetes firewall for dropping marked packets" -m mark --mark 0x8000/0x8000 -j DROP',
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ...ruleChains(filterRules, 'KUBE-SERVICES'),
    'COMMIT',
    '# Completed on Mon Jan  1 00:00:00 2024',
    '# Generated by iptables-save v1.8.7 on Mon Jan  1 00:00:00 2024',
    '*nat',
    ...natBuiltin,
    ...natFixed,
    ...userNat,
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A POSTROUTING -m comment --comment "ip-masq: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom IP-MASQ chain" -m addrtype ! --dst-type LOCAL -j IP-MASQ',
    '-A IP-MASQ -d 169.254.0.0/16 -m comment --comment "ip-masq: local traffic is not subject to MASQUERADE" -j RETURN',
    ...GKE_DEFAULT_NON_MASQUERADE.map(([range, why]) => `-A IP-MASQ -d ${range} -m comment --comment "ip-masq: ${why} is not subject to MASQUERADE" -j RETURN`),
    '-A IP-MASQ -m comment --comment "ip-masq: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE',
    '-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    ...ruleChains(natRules, 'KUBE-NODEPORTS'),
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ...ruleChains(natRules, 'KUBE-SERVICES'),
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ...userRules,
    'COMMIT',
    '# Completed on Mon Jan  1 00:00:00 2024',
  ]
  return {text: `${lines.join('\n')}\n`, lines: lines.length, services: o.declared.length + n, target}
}
