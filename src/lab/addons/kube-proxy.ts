/**
 * kube-proxy (iptables mode) for the Services made or changed through a lab cluster's API: the
 * topology's Services and kube-dns have their rules written with the data plane
 * (core/topology/node-rules.ts, compile/dns.ts); a Service created, changed or deleted through
 * the API gets, on every node of the cluster, the same shape of rules (SVC-06): a KUBE-SERVICES
 * match on its cluster IP and port jumping to its KUBE-SVC chain, which picks one ready endpoint
 * at random (1/(n−i)) and DNATs to it in its KUBE-SEP chain. The endpoints of a Service with a
 * selector are the ready, running pods it matches, read directly (the addresses the endpoints
 * controller, kube/controllers/endpoints.ts, writes into its Endpoints, without waiting for that
 * write); a named targetPort is looked up in the pod's container ports. A Service without a
 * selector takes its Endpoints object's addresses.
 *
 * A port without endpoints gets kube-proxy's filter-table REJECT (icmp-port-unreachable) instead.
 * Left out (as documented in the lab's README): NodePort and load-balancer matches, and the
 * masquerade marks (KUBE-MARK-MASQ for off-cluster sources and hairpin connections).
 *
 * The writes are incremental, as kube-proxy's: one `iptables-restore --noflush` of the nat table
 * per node that declares (flushes) only this addon's chains, deletes its KUBE-SERVICES matches
 * that are no longer wanted, inserts the missing ones first, and removes the chains of deleted
 * Services. Nothing is written on a node whose rules already are as wanted. When the endpoints
 * of a UDP port change, the node's conntrack entries to its cluster IP are deleted, as kube-proxy
 * does (a DNS query sent before the rules existed would otherwise keep its untranslated entry).
 */
import {chainHash} from '../../core/topology/node-rules.js'
import type {ObjectStore} from '../kube/store.js'
import {type KubeObject, isPlainObject} from '../kube/types.js'

export interface ProxiedPort {
  readonly name?: string
  readonly port: number
  readonly protocol: 'tcp' | 'udp'
  readonly targetPort: number | string
}

export interface ProxiedService {
  /** `namespace/name` */
  readonly key: string
  readonly clusterIP: string
  readonly ports: readonly ProxiedPort[]
  /** per port index: the endpoint addresses with their resolved port */
  readonly endpoints: ReadonlyArray<ReadonlyArray<{readonly ip: string; readonly port: number}>>
}

interface PortSpec {
  name?: string
  port?: number
  protocol?: string
  targetPort?: number | string
}

function isReady(pod: KubeObject): boolean {
  const status = (isPlainObject(pod.status) ? pod.status : {}) as {phase?: string; podIP?: string; conditions?: Array<{type?: string; status?: string}>}
  return status.phase === 'Running' && !!status.podIP && !pod.metadata.deletionTimestamp && (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
}

function namedPort(pod: KubeObject, name: string, protocol: string): number | undefined {
  const containers = (isPlainObject(pod.spec) && Array.isArray(pod.spec.containers) ? pod.spec.containers : []) as Array<{ports?: Array<{name?: string; containerPort?: number; protocol?: string}>}>
  return containers.flatMap((c) => c.ports ?? []).find((p) => p.name === name && (p.protocol ?? 'TCP').toLowerCase() === protocol)?.containerPort
}

/** the Services this proxy serves, from the API's objects; `skip`: keys whose rules are written elsewhere */
export function proxiedServices(input: {services: readonly KubeObject[]; endpoints: readonly KubeObject[]; pods: readonly KubeObject[]}, skip: ReadonlySet<string>): ProxiedService[] {
  const endpointsOf = new Map(input.endpoints.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]))
  const out: ProxiedService[] = []
  for (const s of input.services) {
    const key = `${s.metadata.namespace}/${s.metadata.name}`
    const spec = (isPlainObject(s.spec) ? s.spec : {}) as {clusterIP?: string; type?: string; selector?: Record<string, string>; ports?: PortSpec[]}
    if (skip.has(key) || s.metadata.deletionTimestamp || spec.type === 'ExternalName' || !spec.clusterIP || spec.clusterIP === 'None') continue
    const ports: ProxiedPort[] = (spec.ports ?? []).filter((p) => typeof p.port === 'number').map((p) => ({
      ...(p.name ? {name: p.name} : {}), port: p.port as number, protocol: (p.protocol ?? 'TCP').toLowerCase() === 'udp' ? 'udp' : 'tcp', targetPort: p.targetPort ?? (p.port as number),
    }))
    const selector = Object.entries(spec.selector ?? {})
    const endpoints = ports.map((port) => {
      if (selector.length > 0) {
        return input.pods
          .filter((p) => p.metadata.namespace === s.metadata.namespace && isReady(p) && selector.every(([k, v]) => p.metadata.labels?.[k] === v))
          .map((p) => ({ip: (p.status as {podIP: string}).podIP, port: typeof port.targetPort === 'number' ? port.targetPort : namedPort(p, port.targetPort, port.protocol)}))
          .filter((e): e is {ip: string; port: number} => e.port !== undefined)
          .sort((a, b) => a.ip.localeCompare(b.ip))
      }
      const subsets = (endpointsOf.get(key)?.subsets ?? []) as Array<{addresses?: Array<{ip?: string}>; ports?: Array<{name?: string; port?: number; protocol?: string}>}>
      return subsets.flatMap((subset) => {
        const match = (subset.ports ?? []).find((p) => (p.name ?? '') === (port.name ?? '') && (p.protocol ?? 'TCP').toLowerCase() === port.protocol)
        return match?.port === undefined ? [] : (subset.addresses ?? []).filter((a) => a.ip).map((a) => ({ip: a.ip as string, port: match.port as number}))
      })
    })
    out.push({key, clusterIP: spec.clusterIP, ports, endpoints})
  }
  return out.sort((a, b) => a.key.localeCompare(b.key))
}

/** iptables-save form of one Service: its chains (names), their rules, and its KUBE-SERVICES matches */
export function serviceNat(svc: ProxiedService): {chains: string[]; rules: string[]; jumps: string[]} {
  const chains: string[] = []
  const rules: string[] = []
  const jumps: string[] = []
  svc.ports.forEach((port, index) => {
    const endpoints = svc.endpoints[index] ?? []
    if (endpoints.length === 0) return
    const id = `${svc.key}${port.name ? `:${port.name}` : ''}`
    const proto = port.protocol
    const chain = `KUBE-SVC-${chainHash(`${id}${proto}`)}`
    chains.push(chain)
    jumps.push(`-A KUBE-SERVICES -d ${svc.clusterIP}/32 -p ${proto} -m comment --comment "${id} cluster IP" -m ${proto} --dport ${port.port} -j ${chain}`)
    endpoints.forEach((e, i) => {
      const sep = `KUBE-SEP-${chainHash(`${id}${proto}${e.ip}:${e.port}`)}`
      chains.push(sep)
      const left = endpoints.length - i
      const pick = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : ''
      rules.push(`-A ${chain} -m comment --comment "${id} -> ${e.ip}:${e.port}"${pick} -j ${sep}`)
      rules.push(`-A ${sep} -p ${proto} -m comment --comment "${id}" -m ${proto} -j DNAT --to-destination ${e.ip}:${e.port}`)
    })
  })
  return {chains, rules, jumps}
}

/** kube-proxy's filter-table REJECT of each port without endpoints (new connections get ICMP port unreachable) */
export function serviceRejects(svc: ProxiedService): string[] {
  return svc.ports.flatMap((port, index) => {
    if ((svc.endpoints[index] ?? []).length > 0) return []
    const id = `${svc.key}${port.name ? `:${port.name}` : ''}`
    return [`-A KUBE-SERVICES -d ${svc.clusterIP}/32 -p ${port.protocol} -m comment --comment "${id} has no endpoints" -m ${port.protocol} --dport ${port.port} -j REJECT --reject-with icmp-port-unreachable`]
  })
}

const REJECT_OF_COMMENT = /--comment "?([^"\s:]+\/[^"\s:]+)(?::[^"\s]*)? has no endpoints"?/

/** like natSync, for the filter table's REJECTs; undefined when nothing changes */
export function filterSync(dump: string, services: readonly ProxiedService[], known: ReadonlySet<string>): string | undefined {
  const lines = dump.split('\n')
  const declared = lines.some((l) => l.startsWith(':KUBE-SERVICES '))
  const ours = lines.filter((l) => l.startsWith('-A KUBE-SERVICES ') && known.has(REJECT_OF_COMMENT.exec(l)?.[1] ?? ''))
  const wanted = services.flatMap(serviceRejects)
  const drop = ours.filter((l) => !wanted.includes(l))
  const add = wanted.filter((l) => !ours.includes(l))
  if (drop.length === 0 && add.length === 0) return undefined
  const out = ['*filter']
  if (!declared) {
    out.push(':KUBE-SERVICES - [0:0]', ...['INPUT', 'FORWARD', 'OUTPUT'].map((c) => `-A ${c} -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`))
  }
  out.push(...drop.map((l) => `-D${l.slice(2)}`), ...add.map((l) => `-I KUBE-SERVICES 1${l.slice('-A KUBE-SERVICES'.length)}`), 'COMMIT', '')
  return out.join('\n')
}

const SERVICE_OF_COMMENT = /--comment "?([^"\s:]+\/[^"\s:]+)(?::[^"\s]*)? cluster IP"?/

/**
 * The `iptables-restore --noflush` input that takes a node's nat table (`dump`, iptables-save)
 * to the wanted rules of `services`; `known`: every Service key this proxy ever served (so the
 * rules of deleted ones go). Undefined when the table already is as wanted.
 */
export function natSync(dump: string, services: readonly ProxiedService[], known: ReadonlySet<string>): string | undefined {
  const lines = dump.split('\n')
  const declared = new Set(lines.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0] as string))
  const rulesOf = new Map<string, string[]>()
  for (const l of lines.filter((x) => x.startsWith('-A '))) {
    const chain = l.split(' ')[1] as string
    rulesOf.set(chain, [...(rulesOf.get(chain) ?? []), l])
  }
  // this proxy's matches and chains as they are on the node
  const ourJumps = (rulesOf.get('KUBE-SERVICES') ?? []).filter((l) => known.has(SERVICE_OF_COMMENT.exec(l)?.[1] ?? ''))
  const present = new Set<string>()
  for (const jump of ourJumps) {
    const chain = / -j (KUBE-SVC-\S+)$/.exec(jump)?.[1]
    if (!chain) continue
    present.add(chain)
    for (const r of rulesOf.get(chain) ?? []) {
      const sep = / -j (KUBE-SEP-\S+)$/.exec(r)?.[1]
      if (sep) present.add(sep)
    }
  }
  const wanted = services.map(serviceNat)
  const wantedChains = wanted.flatMap((w) => w.chains)
  const wantedRules = wanted.flatMap((w) => w.rules)
  const wantedJumps = wanted.flatMap((w) => w.jumps)
  const stale = [...present].filter((c) => !wantedChains.includes(c) && declared.has(c)).sort()
  const dropJumps = ourJumps.filter((j) => !wantedJumps.includes(j))
  const addJumps = wantedJumps.filter((j) => !ourJumps.includes(j))
  const sameChains = wantedChains.every((c) => declared.has(c) && JSON.stringify(rulesOf.get(c) ?? []) === JSON.stringify(wantedRules.filter((r) => r.split(' ')[1] === c)))
  if (stale.length === 0 && dropJumps.length === 0 && addJumps.length === 0 && sameChains) return undefined
  const out = ['*nat']
  if (!declared.has('KUBE-SERVICES')) {
    out.push(':KUBE-SERVICES - [0:0]', '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')
  }
  out.push(...[...wantedChains, ...stale].map((c) => `:${c} - [0:0]`))
  out.push(...dropJumps.map((j) => `-D${j.slice(2)}`))
  out.push(...wantedRules)
  out.push(...addJumps.map((j) => `-I KUBE-SERVICES 1${j.slice('-A KUBE-SERVICES'.length)}`))
  out.push(...stale.map((c) => `-X ${c}`))
  out.push('COMMIT', '')
  return out.join('\n')
}

/** Reads a node's nat table and applies a restore input built from it. */
export interface NatWriter {
  sync(ns: string, table: 'nat' | 'filter', build: (dump: string) => string | undefined): Promise<boolean>
  /** deletes the node's UDP conntrack entries to `ip` (`conntrack -D -p udp --orig-dst IP`) */
  clearUdp(ns: string, ip: string): Promise<void>
}

/** the cluster IPs of UDP ports whose endpoints are not what they were (kube-proxy clears their conntrack entries) */
export function changedUdpIPs(before: readonly ProxiedService[], after: readonly ProxiedService[]): string[] {
  const udp = (list: readonly ProxiedService[]): Map<string, string> => new Map(list.flatMap((s) => s.ports.map((p, i) => [p.protocol === 'udp' ? `${s.clusterIP}:${p.port}` : '', JSON.stringify(s.endpoints[i] ?? [])] as [string, string])).filter(([k]) => k !== ''))
  const [old, now] = [udp(before), udp(after)]
  const changed = [...new Set([...old.keys(), ...now.keys()])].filter((k) => old.get(k) !== now.get(k))
  return [...new Set(changed.map((k) => k.split(':')[0] as string))].sort()
}

/** how long events are gathered before one sync (a Deployment's pods come in bursts) */
const SETTLE_MS = 50

/** The proxy of one cluster: watches Services, Endpoints and pods, and syncs every node after a change. */
export class KubeProxy {
  private readonly known = new Set<string>()
  private unsubscribe?: () => void
  private timer?: NodeJS.Timeout
  private running: Promise<void> = Promise.resolve()
  private last = ''
  private lastServices: ProxiedService[] = []
  private stopped = false

  constructor(
    private readonly context: {store: ObjectStore},
    private readonly options: {nodes: readonly string[]; skip: ReadonlySet<string>; writer: NatWriter; log: (message: string) => void},
  ) {}

  start(): void {
    const watched = new Set(['Service', 'Endpoints', 'Pod'])
    this.unsubscribe = this.context.store.subscribe((event) => {
      if (event.resource.group === '' && watched.has(event.resource.kind)) this.schedule()
    })
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    this.unsubscribe?.()
    clearTimeout(this.timer)
  }

  /** resolves once every change seen so far is on the nodes */
  settled(): Promise<void> {
    return new Promise((resolve) => setTimeout(() => void this.running.then(resolve), SETTLE_MS + 10))
  }

  private schedule(): void {
    if (this.stopped || this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.running = this.running.then(() => this.sync()).catch((error: Error) => this.options.log(`kube-proxy: ${error.message}`))
    }, SETTLE_MS)
  }

  private async sync(): Promise<void> {
    const {store} = this.context
    const list = (resource: string): KubeObject[] => store.list(store.registry.get(resource))
    const services = proxiedServices({services: list('services'), endpoints: list('endpoints'), pods: list('pods')}, this.options.skip)
    for (const s of services) this.known.add(s.key)
    const fingerprint = JSON.stringify(services)
    if (fingerprint === this.last) return
    // as kube-proxy: a UDP flow that went nowhere (or to a gone endpoint) must not stick to its conntrack entry
    const clear = changedUdpIPs(this.lastServices, services)
    for (const ns of this.options.nodes) {
      await this.options.writer.sync(ns, 'nat', (dump) => natSync(dump, services, this.known))
      await this.options.writer.sync(ns, 'filter', (dump) => filterSync(dump, services, this.known))
      for (const ip of clear) await this.options.writer.clearUdp(ns, ip)
    }
    this.last = fingerprint
    this.lastServices = services
  }
}
