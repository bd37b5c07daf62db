/**
 * The state of one path while the tracer walks it: its steps, the NAT each host applied
 * (conntrack, for the return path) and the VPC firewall connections it opened (FW-07).
 * A branch (ECMP, load-balancer backends, kube-proxy endpoints) clones the trail.
 */
import type {RuleRef} from '../iptables/types.js'
import {formatIp} from '../net/ipv4.js'
import type {ForwardingRuleFacts, InstanceFacts, Model, PodFacts} from '../topology/model-types.js'
import type {Assumption, HostRef, NatView, Packet, PacketView, PathEnd, RuleView, Step, StepHost} from './types.js'

/** NAT applied by a host on the forward path: `before` entered the host, `after` left it. */
export interface CtEntry {
  readonly host: string
  readonly before: Packet
  readonly after: Packet
}

/**
 * How the parts of the walk hand a packet on: hosts emit into a VPC, a VPC delivers to an
 * instance or a load balancer, a load balancer to a backend. trace.ts wires these once, so
 * hosts.ts, vpc.ts and lb.ts call each other through the context and import none of each other.
 */
export interface Hops {
  processOnHost(ctx: WalkContext, trail: Trail, instance: InstanceFacts, packet: Packet, origin: 'arriving' | 'local', inIface: string | undefined, fromPod?: PodFacts): Ended[]
  emitIntoVpc(ctx: WalkContext, trail: Trail, instance: InstanceFacts, nicIndex: number, packet: Packet): Ended[]
  arriveAtInstance(ctx: WalkContext, trail: Trail, instance: InstanceFacts, nicIndex: number, packet: Packet): Ended[]
  loadBalance(ctx: WalkContext, trail: Trail, fr: ForwardingRuleFacts, sender: InstanceFacts, packet: Packet, asNextHop: boolean): Ended[]
}

export interface WalkContext {
  readonly hops: Hops
  readonly model: Model
  readonly assumptions: readonly Assumption[]
  readonly direction: 'forward' | 'return'
  /** follow every alternative, even provably equivalent ones (see equivalence.ts) */
  readonly exhaustive: boolean
  /** return direction: who sent the original packet and what it was */
  readonly client?: {readonly host: HostRef; readonly packet: Packet}
}

/** Bounds every walk (a routing loop or a pathological topology must end). */
export const MAX_HOPS = 64
export const MAX_PATHS = 64

export class Trail {
  constructor(
    readonly steps: Step[] = [],
    readonly conntrack: CtEntry[] = [],
    /** `in|out` + instance + nic + 5-tuple as seen by the VPC */
    readonly tracked: Set<string> = new Set(),
    /** hosts that saw this connection's packets (for ctstate on the return path) */
    readonly hostsSeen: Set<string> = new Set(),
    readonly loops: Set<string> = new Set(),
    public hops = 0,
    /** the last instance that sent the packet into a VPC network: its region is the client region (ILB-03) */
    public sender?: InstanceFacts,
  ) {}

  clone(): Trail {
    return new Trail([...this.steps], [...this.conntrack], new Set(this.tracked), new Set(this.hostsSeen), new Set(this.loops), this.hops, this.sender)
  }

  /** the same connection state with no steps yet: the start of the return path */
  forReturn(): Trail {
    return new Trail([], [...this.conntrack], new Set(this.tracked), new Set(this.hostsSeen), new Set(), 0, undefined)
  }

  add(step: Step): this {
    this.steps.push(step)
    return this
  }
}

export interface Ended {
  readonly trail: Trail
  readonly end: PathEnd
}

export function viewPacket(p: Packet): PacketView {
  return {src: formatIp(p.src), dst: formatIp(p.dst), protocol: p.protocol, srcPort: p.srcPort, dstPort: p.dstPort}
}

export function packetText(p: Packet): string {
  return `${formatIp(p.src)}:${p.srcPort} → ${formatIp(p.dst)}:${p.dstPort} ${p.protocol}`
}

export function tupleKey(p: Packet): string {
  return `${p.protocol}|${p.src}|${p.srcPort}|${p.dst}|${p.dstPort}`
}

export function reversePacket(p: Packet): Packet {
  return {src: p.dst, dst: p.src, protocol: p.protocol, srcPort: p.dstPort, dstPort: p.srcPort}
}

export function samePacket(a: Packet, b: Packet): boolean {
  return a.src === b.src && a.dst === b.dst && a.srcPort === b.srcPort && a.dstPort === b.dstPort && a.protocol === b.protocol
}

/**
 * Where a step happens: the typed host a step carries and its printed form (`at`). Its string
 * form is `at`, so a place reads naturally inside a message.
 */
export class Place {
  constructor(readonly at: string, readonly host: StepHost) {}
  toString(): string {
    return this.at
  }
}

export function instancePlace(instance: InstanceFacts): Place {
  const kind = instance.kind === 'node' ? 'node' : 'instance'
  return new Place(`${kind}/${instance.name}`, {kind, name: instance.name})
}

export const nodePlace = (name: string): Place => new Place(`node/${name}`, {kind: 'node', name})
export const networkPlace = (name: string): Place => new Place(`network/${name}`, {kind: 'network', name})
export const lbPlace = (name: string): Place => new Place(`lb/${name}`, {kind: 'lb', name})

/** a pod: `<cluster>/<namespace>/<pod>`, or `<cluster>/<node>` for the pod xcc assumes on a node */
export function podPlace(pod: {readonly cluster: string; readonly namespace: string; readonly name: string; readonly node: string; readonly declared: boolean}): Place {
  return new Place(pod.declared ? `${pod.cluster}/${pod.namespace}/${pod.name}` : `${pod.cluster}/${pod.node}`, {kind: 'pod', name: pod.name, cluster: pod.cluster, namespace: pod.namespace, node: pod.node})
}

export function viewRule(source: string, ref: RuleRef): RuleView {
  return {source, table: ref.table, chain: ref.chain, line: ref.line, rule: ref.text}
}

export function step(name: Step['step'], place: Place, packet: Packet, detail: string, extra: Partial<Step> = {}): Step {
  return {step: name, at: place.at, host: place.host, packet: viewPacket(packet), detail, ...extra}
}

/** Ends a trail with DROP. */
export function drop(trail: Trail, at: Place, packet: Packet, cause: Extract<PathEnd, {kind: 'dropped'}>['cause'], detail: string, extra: Partial<Step> = {}): Ended[] {
  trail.add(step('DROP', at, packet, detail, {cause, ...extra}))
  return [{trail, end: {kind: 'dropped', cause}}]
}

export function abort(trail: Trail, at: Place, packet: Packet, cause: Extract<PathEnd, {kind: 'aborted'}>['cause'], detail: string, extra: Partial<Step> = {}): Ended[] {
  trail.add(step('ABORT', at, packet, detail, {cause, ...extra}))
  return [{trail, end: {kind: 'aborted', cause}}]
}

/** Runs `each` on a clone of the trail per alternative (the trail itself for a single one), bounded by MAX_PATHS. */
export function branch<T>(trail: Trail, alternatives: readonly T[], each: (t: Trail, alternative: T) => Ended[]): Ended[] {
  if (alternatives.length === 1) return each(trail, alternatives[0] as T)
  const out: Ended[] = []
  for (const alternative of alternatives) {
    if (out.length >= MAX_PATHS) break
    out.push(...each(trail.clone(), alternative))
  }
  return out.slice(0, MAX_PATHS)
}

export function natView(type: NatView['type'], before: Packet, after: Packet): NatView {
  return {type, before: viewPacket(before), after: viewPacket(after)}
}
