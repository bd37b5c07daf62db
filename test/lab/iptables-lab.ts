/**
 * Kernel-versus-evaluator lab for iptables fixtures: builds a "host" namespace with the
 * fixture loaded by iptables-restore and peer namespaces around it, sends randomised flows,
 * reads the kernel's decisions from conntrack and compares them with runPipeline.
 */
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {HostContext, IpSets, PipelineOutcome, RouteDecision, Ruleset} from '../../src/core/iptables/index.js'
import {runPipeline} from '../../src/core/iptables/index.js'
import {type Cidr, cidr, cidrContainsIp, formatIp, ip} from '../../src/core/net/ipv4.js'
import type {NetnsLab} from '../support/netns.js'
import {type Rng, seededRng} from '../support/random.js'

export {type Rng, seededRng}

export interface LinkSpec {
  /** interface name in the host namespace (eth0, cbr0, nic1, …) */
  readonly hostIface: string
  /** the host's address on the link, with prefix (a /32 makes the link unnumbered) */
  readonly hostCidr: string
  /** short name of the namespace on the other end */
  readonly peer: string
  readonly peerIface: string
  /** the peer's own address (/32 on its side; the host's next hop behind this link) */
  readonly peerAddress: string
}

export interface RouteSpec {
  readonly dst: string
  readonly via?: string
  readonly dev?: string
  readonly blackhole?: boolean
}

export interface DestinationChoice {
  readonly dst: string
  readonly protocol?: 'tcp' | 'udp'
  readonly port?: number
}

export interface Scenario {
  readonly label: string
  readonly fixture: string
  /** `ipset save` text beside the fixture, restored into the host namespace before its rules */
  readonly ipsets?: string
  readonly links: readonly LinkSpec[]
  readonly loAddresses: readonly string[]
  readonly routes: readonly RouteSpec[]
  /** per peer namespace: how to draw source addresses for flows it sends */
  readonly sources: Readonly<Record<string, (rng: Rng) => string>>
  /** address the host binds its own flows to */
  readonly hostSources: readonly string[]
  readonly destinations: ReadonlyArray<(rng: Rng) => DestinationChoice>
  readonly flowCount: number
}

export interface LabFlow {
  readonly sender: string
  readonly protocol: 'tcp' | 'udp'
  readonly src: string
  readonly sport: number
  readonly dst: string
  readonly dport: number
}

export interface KernelEntry {
  readonly src: string
  readonly dst: string
  readonly sport: number
  readonly dport: number
  /** the connection's mark (CONNMARK) */
  readonly mark: number
}


export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)] as T
}

/** A random address of the block whose last octet is neither 0 nor 255 (no network/broadcast surprises). */
export function randomIn(rng: Rng, block: string): string {
  const c = cidr(block)
  const size = 2 ** (32 - c.prefix)
  for (;;) {
    const address = (c.base + Math.floor(rng() * size)) >>> 0
    const last = address & 255
    if (size === 1 || (last !== 0 && last !== 255)) return formatIp(address)
  }
}

const COMMON_PORTS = [22, 25, 53, 80, 443, 988, 5353, 5432, 8000, 8050, 8080, 9000, 9999]

export function drawFlows(scenario: Scenario, rng: Rng): LabFlow[] {
  const hostOwned = new Set([...scenario.links.map((l) => l.hostCidr.split('/')[0] as string), ...scenario.loAddresses.map((a) => a.split('/')[0] as string)])
  const martian = (a: string): boolean => hostOwned.has(a) || /^(0|127|22[4-9]|2[3-5]\d)\./.test(a)
  // each peer sends from a pool of addresses assigned to its interface
  const pools = new Map<string, string[]>()
  for (const [peer, draw] of Object.entries(scenario.sources)) {
    const pool = new Set<string>()
    for (let tries = 0; pool.size < 24 && tries < 1000; tries++) {
      const address = draw(rng)
      if (!martian(address)) pool.add(address)
    }
    pools.set(peer, [...pool])
  }
  pools.set('host', [...scenario.hostSources])
  const senderOwned = (sender: string): Set<string> => {
    const link = scenario.links.find((l) => l.peer === sender)
    return new Set([...(pools.get(sender) ?? []), ...(link ? [link.peerAddress] : [])])
  }
  const senders = [...pools.keys()]
  const flows: LabFlow[] = []
  while (flows.length < scenario.flowCount) {
    const sender = pick(rng, senders)
    const choice = pick(rng, scenario.destinations)(rng)
    if (senderOwned(sender).has(choice.dst) || /^(0|127|22[4-9]|2[3-5]\d)\./.test(choice.dst)) continue
    if (sender === 'host' && hostOwned.has(choice.dst) && rng() < 0.5) continue
    flows.push({
      sender,
      protocol: choice.protocol ?? (rng() < 0.7 ? 'tcp' : 'udp'),
      src: pick(rng, pools.get(sender) as string[]),
      // unique source ports keep NAT from renumbering ports on a clash
      sport: 20000 + flows.length * 7 + Math.floor(rng() * 7),
      dst: choice.dst,
      dport: choice.port ?? (rng() < 0.8 ? pick(rng, COMMON_PORTS) : 1024 + Math.floor(rng() * 60000)),
    })
  }
  return flows
}

/** The host's view for the evaluator, derived from the same spec that configured the namespace. */
export function hostModel(scenario: Scenario, ipsets?: IpSets): {host: HostContext; route: (dst: number) => RouteDecision | undefined} {
  const local = new Set<number>([...scenario.links.map((l) => ip(l.hostCidr.split('/')[0] as string)), ...scenario.loAddresses.map((a) => ip(a.split('/')[0] as string))])
  const loopback = cidr('127.0.0.0/8')
  const isLocal = (address: number): boolean => local.has(address) || cidrContainsIp(loopback, address)
  const table: Array<{block: Cidr; dev?: string; blackhole: boolean}> = [
    ...scenario.links.map((l) => ({block: cidrOfAddress(l.hostCidr), dev: l.hostIface, blackhole: false})),
    ...scenario.routes.map((r) => ({block: cidr(r.dst === 'default' ? '0.0.0.0/0' : r.dst), dev: r.dev, blackhole: r.blackhole === true})),
  ]
  const addresses = new Map(scenario.links.map((l) => [l.hostIface, ip(l.hostCidr.split('/')[0] as string)]))
  const onLo = new Set(scenario.loAddresses.map((a) => ip(a.split('/')[0] as string)))
  return {
    host: {
      isLocal,
      // MASQUERADE out of lo (a local destination), as inet_select_addr: the lo address that is the
      // destination, else lo's first address of global scope (127.0.0.1 has host scope), else the
      // first address of the other interfaces in creation order
      interfaceAddress: (iface, towards) => {
        if (iface !== 'lo') return addresses.get(iface)
        if (towards !== undefined && onLo.has(towards)) return towards
        return onLo.values().next().value ?? addresses.values().next().value
      },
      // each link's address on its interface, the lo addresses and 127/8 on lo; no interface is a bridge
      isLocalOn: (address, iface) => (iface === 'lo' ? onLo.has(address) || cidrContainsIp(loopback, address) : addresses.get(iface) === address),
      isBridge: () => false,
      ...(ipsets ? {ipsets} : {}),
    },
    route: (dst) => {
      if (isLocal(dst)) return {local: true, outIface: 'lo'}
      let best: (typeof table)[number] | undefined
      for (const entry of table) if (cidrContainsIp(entry.block, dst) && (!best || entry.block.prefix > best.block.prefix)) best = entry
      if (!best || best.blackhole) return undefined
      return {local: false, outIface: best.dev}
    },
  }
}

function cidrOfAddress(text: string): Cidr {
  const [address, prefix] = text.split('/') as [string, string]
  const mask = Number(prefix) === 0 ? 0 : (0xffffffff << (32 - Number(prefix))) >>> 0
  return {base: (ip(address) & mask) >>> 0, prefix: Number(prefix)}
}

/** Builds the namespaces for a scenario; returns the host namespace's name. */
export function buildLab(lab: NetnsLab, scenario: Scenario, fixtureText: string, flows: readonly LabFlow[], ipsetsText?: string): string {
  const host = lab.namespace('host')
  const peers = new Map<string, string>()
  for (const link of scenario.links) {
    if (!peers.has(link.peer)) peers.set(link.peer, lab.namespace(link.peer))
    lab.veth(host, link.hostIface, peers.get(link.peer) as string, link.peerIface)
  }
  lab.batch(host, [
    ...scenario.links.map((l) => `addr add ${l.hostCidr} dev ${l.hostIface}`),
    ...scenario.loAddresses.map((a) => `addr add ${a} dev lo`),
    ...scenario.routes.map((r) => (r.blackhole ? `route add blackhole ${r.dst}` : `route add ${r.dst}${r.via ? ` via ${r.via}` : ''} dev ${r.dev}`)),
  ])
  lab.sysctl(host, 'net.ipv4.ip_forward', '1')
  for (const scope of ['all', 'default', 'lo', ...scenario.links.map((l) => l.hostIface)]) lab.sysctl(host, `net/ipv4/conf/${scope}/rp_filter`, '0')
  for (const link of scenario.links) {
    const ns = peers.get(link.peer) as string
    const hostAddress = link.hostCidr.split('/')[0] as string
    const sources = [...new Set(flows.filter((f) => f.sender === link.peer).map((f) => f.src))].filter((s) => s !== link.peerAddress)
    lab.batch(ns, [
      `addr add ${link.peerAddress}/32 dev ${link.peerIface}`,
      ...sources.map((s) => `addr add ${s}/32 dev ${link.peerIface}`),
      `route add ${hostAddress}/32 dev ${link.peerIface}`,
      `route add default via ${hostAddress} dev ${link.peerIface}`,
    ])
  }
  // the sets first: iptables-restore refuses a -m set naming a set that does not exist
  if (ipsetsText !== undefined) lab.exec(host, 'ipset', ['restore'], {input: ipsetsText})
  lab.exec(host, 'iptables-restore', [], {input: fixtureText})
  return host
}

const SENDER_SCRIPT = `
import net from 'node:net'
import dgram from 'node:dgram'
import {readFileSync} from 'node:fs'
const flows = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const errors = {}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
await Promise.all(flows.map(async (f, i) => {
  await sleep(i * 3)
  const key = f.protocol + ' ' + f.src + ':' + f.sport + ' > ' + f.dst + ':' + f.dport
  if (f.protocol === 'tcp') {
    const socket = net.connect({host: f.dst, port: f.dport, localAddress: f.src, localPort: f.sport})
    socket.on('error', (e) => { errors[key] = e.code })
    await sleep(500)
    socket.destroy()
  } else {
    const socket = dgram.createSocket('udp4')
    socket.on('error', (e) => { errors[key] = e.code })
    await new Promise((resolve) => socket.bind({address: f.src, port: f.sport}, resolve))
    await new Promise((resolve) => socket.send('xcc', f.dport, f.dst, (e) => { if (e) errors[key] = e.code; resolve() }))
    await sleep(200)
    socket.close()
  }
}))
process.stdout.write(JSON.stringify(errors))
`

const EVENT = /(tcp|udp)\s+\d+\s+\d+\s+(?:[A-Z_]+\s+)?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)\s+(?:\[UNREPLIED\]\s+)?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/

export function flowKey(protocol: string, src: string, sport: number, dst: string, dport: number): string {
  return `${protocol} ${src}:${sport} > ${dst}:${dport}`
}

/** Parses `conntrack -E` / `conntrack -L` lines: original tuple → post-NAT view of the first packet. */
export function parseConntrack(text: string): Map<string, KernelEntry> {
  const entries = new Map<string, KernelEntry>()
  for (const line of text.split('\n')) {
    const m = EVENT.exec(line)
    if (!m) continue
    const [, protocol, src, dst, sport, dport, rsrc, rdst, rsport, rdport] = m as unknown as string[]
    // the reply tuple's destination is the post-SNAT source, its source the post-DNAT destination
    entries.set(flowKey(protocol as string, src as string, Number(sport), dst as string, Number(dport)), {
      src: rdst as string,
      dst: rsrc as string,
      sport: Number(rdport),
      dport: Number(rsport),
      mark: Number(/ mark=(\d+)/.exec(line)?.[1] ?? 0),
    })
  }
  return entries
}

/** Sends every flow from its namespace and returns what conntrack saw in the host namespace. */
export async function sendFlows(
  lab: NetnsLab,
  host: string,
  flows: readonly LabFlow[],
  senderNamespace: (sender: string) => string,
): Promise<{kernel: Map<string, KernelEntry>; socketErrors: Record<string, string>}> {
  const dir = mkdtempSync(join(tmpdir(), 'xcct-'))
  try {
    const script = join(dir, 'send.mjs')
    writeFileSync(script, SENDER_SCRIPT)
    const eventsFile = join(dir, 'events.txt')
    // conntrack -E sees every confirmed connection, even one an RST kills at once (a closed local port)
    const events = lab.spawnIn(host, 'conntrack', ['-E', '-e', 'NEW', '--buffer-size', '8388608'], eventsFile)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const bySender = new Map<string, LabFlow[]>()
    for (const flow of flows) bySender.set(flow.sender, [...(bySender.get(flow.sender) ?? []), flow])
    const results = await Promise.all(
      [...bySender].map(async ([sender, list]) => {
        const file = join(dir, `flows-${sender}.json`)
        writeFileSync(file, JSON.stringify(list))
        return JSON.parse(await lab.execAsync(senderNamespace(sender), process.execPath, [script, file], 60_000)) as Record<string, string>
      }),
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    await lab.stop(events)
    const listed = lab.exec(host, 'conntrack', ['-L'])
    const kernel = parseConntrack(`${readFileSync(eventsFile, 'utf8')}\n${listed}`)
    return {kernel, socketErrors: Object.assign({}, ...results) as Record<string, string>}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

export function evaluateFlow(scenario: Scenario, ruleset: Ruleset, flow: LabFlow, ipsets?: IpSets): PipelineOutcome[] {
  const {host, route} = hostModel(scenario, ipsets)
  const link = scenario.links.find((l) => l.peer === flow.sender)
  const packet = {
    src: ip(flow.src),
    dst: ip(flow.dst),
    protocol: flow.protocol,
    srcPort: flow.sport,
    dstPort: flow.dport,
    mark: 0,
    ctstate: 'NEW' as const,
  }
  return runPipeline({
    ruleset,
    host,
    origin: link ? 'arriving' : 'local',
    packet: link ? {...packet, inIface: link.hostIface} : packet,
    ipForward: true,
    route: (dst) => route(dst),
  })
}

const PASSED = new Set(['forwarded', 'sent', 'local'])

/**
 * Whether the kernel confirms the connection (conntrack sees it) on this outcome. A packet the
 * host sends to one of its own addresses is confirmed at the end of POSTROUTING, before it loops
 * back through lo: a drop in PREROUTING or INPUT after that still leaves the entry.
 */
function confirmed(o: PipelineOutcome, localOrigin: boolean): boolean {
  return PASSED.has(o.kind) || (localOrigin && o.kind === 'dropped' && (o.hook === 'PREROUTING' || o.hook === 'INPUT'))
}

/** undefined when the kernel's decision is one of the evaluator's outcomes; else why not */
export function judge(outcomes: readonly PipelineOutcome[], kernel: KernelEntry | undefined, localOrigin = false): string | undefined {
  const unknown = outcomes.find((o) => o.kind === 'unknown')
  if (unknown && unknown.kind === 'unknown') return `evaluator answered unknown at ${unknown.rule.chain}#${unknown.rule.index}: ${unknown.reason}`
  const passing = outcomes.filter((o) => confirmed(o, localOrigin))
  if (!kernel) return outcomes.some((o) => !confirmed(o, localOrigin)) ? undefined : 'the kernel dropped the packet, the evaluator lets it through'
  if (passing.length === 0) return 'the kernel let the packet through, the evaluator drops it'
  const same = passing.filter((o) => {
    const random = 'nat' in o && o.nat.some((n) => n.randomPort)
    return (
      formatIp(o.packet.src) === kernel.src &&
      formatIp(o.packet.dst) === kernel.dst &&
      o.packet.dstPort === kernel.dport &&
      (random || o.packet.srcPort === kernel.sport)
    )
  })
  if (same.length === 0) return 'no evaluator outcome has the addresses and ports the kernel chose'
  // the connection mark CONNMARK left (0 for a new connection no rule marked)
  return same.some((o) => (o.packet.ctmark ?? 0) === kernel.mark) ? undefined : `the kernel's connection mark is ${kernel.mark}, the evaluator's ${same.map((o) => o.packet.ctmark ?? 0).join(' or ')}`
}

export function describeOutcome(o: PipelineOutcome): string {
  const p = o.packet
  const tuple = `${formatIp(p.src)}:${p.srcPort} > ${formatIp(p.dst)}:${p.dstPort}`
  const nat = 'nat' in o && o.nat.length > 0 ? ` nat[${o.nat.map((n) => `${n.kind}${n.randomPort ? '(random port)' : ''}`).join(',')}]` : ''
  const hits = o.hits.map((h) => `${h.table}/${h.chain}#${h.index}`).join(' ')
  const by = o.kind === 'dropped' ? ` by ${'ipForwardDisabled' in o.by ? 'ip_forward' : 'index' in o.by ? `${o.by.chain}#${o.by.index}` : `${o.by.chain} policy`}` : ''
  const out = 'outIface' in o ? ` via ${o.outIface}` : ''
  const ctmark = p.ctmark ? ` ctmark=${p.ctmark}` : ''
  return `${o.kind}${by}${out} ${tuple}${nat}${ctmark} hits: ${hits || '-'}`
}
