/**
 * A small fluent builder for `xcc/v1` topologies in tests (contracts.md §1). It produces plain
 * objects shaped like the schema's *input* (defaults left out) and loads them through the real
 * loader, so schema defaults, validation and the derived model apply exactly as for a file.
 *
 *   const model = topology('peered')
 *     .network('vpc-a', subnet('a-main', 'us-west1', '10.1.0.0/24'))
 *     .network('vpc-b', subnet('b-main', 'us-west1', '10.2.0.0/24'))
 *     .peer('vpc-a', 'vpc-b')
 *     .vm('client', 'us-west1-a', nic('vpc-a', 'a-main', '10.1.0.5'))
 *     .load()
 *
 * The tracing helpers at the end resolve `--from`/`--to` like the CLI and run the tracer or the doctor.
 */
import assert from 'node:assert/strict'

import type {z} from 'zod'

import {CHECKS} from '../../src/checks/index.js'
import {TopologyError} from '../../src/core/errors.js'
import {type DoctorReport, evaluateDoctor} from '../../src/core/doctor/report.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import type {Model} from '../../src/core/topology/model-types.js'
import type {topologySchema} from '../../src/core/topology/schema.js'
import {resolveFlow} from '../../src/core/trace/endpoints.js'
import {traceFlow} from '../../src/core/trace/trace.js'
import type {Assumption, PathTrace, Protocol, Step, StepName, TraceResult} from '../../src/core/trace/types.js'

export type TopologyInput = z.input<typeof topologySchema>
type Item<T> = NonNullable<T> extends ReadonlyArray<infer U> ? U : never
export type NetworkInput = Item<TopologyInput['networks']>
export type SubnetInput = Item<NetworkInput['subnets']>
export type PeeringInput = Item<NetworkInput['peerings']>
export type RouteInput = Item<TopologyInput['routes']>
export type FirewallInput = Item<TopologyInput['firewalls']>
export type InstanceInput = Item<TopologyInput['instances']>
export type NicInput = Item<InstanceInput['networkInterfaces']>
export type GuestInput = NonNullable<InstanceInput['guest']>
export type ForwardingRuleInput = Item<TopologyInput['forwardingRules']>
export type BackendServiceInput = Item<TopologyInput['backendServices']>
export type ClusterInput = Item<TopologyInput['clusters']>
export type NodeInput = Item<ClusterInput['nodes']>
export type PodInput = Item<ClusterInput['pods']>
export type ServiceInput = Item<ClusterInput['services']>
export type PeeringOptions = Omit<PeeringInput, 'name' | 'network'>

/** A subnet; `secondary` maps range names to CIDRs. */
export function subnet(name: string, region: string, ipCidrRange: string, secondary: Record<string, string> = {}, extra: Partial<SubnetInput> = {}): SubnetInput {
  const secondaryIpRanges = Object.entries(secondary).map(([rangeName, range]) => ({rangeName, ipCidrRange: range}))
  return {name, region, ipCidrRange, ...(secondaryIpRanges.length ? {secondaryIpRanges} : {}), ...extra}
}

/** A network interface; an alias range outside the subnet's primary range names its secondary range. */
export function nic(network: string, subnetwork: string, networkIP: string, aliasIpRanges?: NicInput['aliasIpRanges']): NicInput {
  return {network, subnetwork, networkIP, ...(aliasIpRanges ? {aliasIpRanges} : {})}
}

export interface LoadBalancerInput {
  readonly name: string
  readonly region: string
  readonly network: string
  readonly subnetwork: string
  readonly IPAddress: string
  readonly backends: string[]
  readonly IPProtocol?: ForwardingRuleInput['IPProtocol']
  readonly ports?: string[]
  readonly allPorts?: boolean
  readonly allowGlobalAccess?: boolean
  readonly sourceIpRanges?: string[]
  /** default: TCP on the first port, else 80 */
  readonly healthCheck?: BackendServiceInput['healthCheck']
}

/** What the builder holds: a TopologyInput whose top-level lists are present. */
export type BuiltTopology = TopologyInput & Required<Pick<TopologyInput, 'networks' | 'routes' | 'firewalls' | 'instances' | 'forwardingRules' | 'backendServices' | 'clusters'>>

export class TopologyBuilder {
  private readonly t: BuiltTopology

  constructor(name: string) {
    this.t = {apiVersion: 'xcc/v1', kind: 'Topology', metadata: {name}, networks: [], routes: [], firewalls: [], instances: [], forwardingRules: [], backendServices: [], clusters: []}
  }

  network(name: string, ...subnets: SubnetInput[]): this {
    this.t.networks.push({name, subnets})
    return this
  }

  /** One side of a peering: `network` lists `peer` (PEER-01: ACTIVE only when the peer lists it back). */
  peering(network: string, peer: string, options: PeeringOptions = {}): this {
    const n = this.findNetwork(network)
    n.peerings = [...(n.peerings ?? []), {name: `${network}-to-${peer}`, network: peer, ...options}]
    return this
  }

  /** Both sides of a peering. */
  peer(a: string, b: string, options: {a?: PeeringOptions; b?: PeeringOptions} = {}): this {
    return this.peering(a, b, options.a).peering(b, a, options.b)
  }

  route(route: RouteInput): this {
    this.t.routes.push(route)
    return this
  }

  /** `0.0.0.0/0 → default-internet-gateway`, named `<network>-default-internet`. */
  internetRoute(network: string): this {
    return this.route({name: `${network}-default-internet`, network, destRange: '0.0.0.0/0', nextHopGateway: 'default-internet-gateway'})
  }

  firewall(rule: FirewallInput): this {
    this.t.firewalls.push(rule)
    return this
  }

  /** An INGRESS allow of every protocol from `sourceRanges` to every instance of the network. */
  allowIngress(network: string, sourceRanges: string[], name = `${network}-allow-${this.t.firewalls.length}`, extra: Partial<FirewallInput> = {}): this {
    return this.firewall({name, network, sourceRanges, allowed: [{IPProtocol: 'all'}], ...extra})
  }

  /** An INGRESS allow of TCP from the ILB health-check ranges (ILB-08). */
  allowHealthChecks(network: string, ports?: string[], name = `${network}-allow-health-checks`): this {
    return this.firewall({name, network, sourceRanges: ['35.191.0.0/16', '130.211.0.0/22'], allowed: [{IPProtocol: 'tcp', ...(ports ? {ports} : {})}]})
  }

  instance(instance: InstanceInput): this {
    this.t.instances.push(instance)
    return this
  }

  /** A VM; pass several NICs for a multi-NIC VM (nic0 first). */
  vm(name: string, zone: string, nics: NicInput | NicInput[], extra: Partial<Omit<InstanceInput, 'name' | 'zone' | 'networkInterfaces'>> = {}): this {
    return this.instance({name, zone, networkInterfaces: Array.isArray(nics) ? nics : [nics], ...extra})
  }

  /** A gateway VM: canIpForward, ip_forward on, optional guest routes and iptables. */
  gateway(name: string, zone: string, nics: NicInput[], guest: Partial<GuestInput> = {}, extra: Partial<InstanceInput> = {}): this {
    return this.vm(name, zone, nics, {canIpForward: true, guest: {ipForward: true, ...guest}, ...extra})
  }

  forwardingRule(rule: ForwardingRuleInput): this {
    this.t.forwardingRules.push(rule)
    return this
  }

  backendService(service: BackendServiceInput): this {
    this.t.backendServices.push(service)
    return this
  }

  /** An internal passthrough load balancer: the forwarding rule plus its backend service `<name>-backend`. */
  loadBalancer(lb: LoadBalancerInput): this {
    const backendService = `${lb.name}-backend`
    const firstPort = Number(/^\d+/.exec(lb.ports?.[0] ?? '')?.[0] ?? 80)
    this.forwardingRule({
      name: lb.name, region: lb.region, network: lb.network, subnetwork: lb.subnetwork, IPAddress: lb.IPAddress, backendService,
      ...(lb.IPProtocol ? {IPProtocol: lb.IPProtocol} : {}),
      ...(lb.allPorts ? {allPorts: true} : {ports: lb.ports ?? ['80']}),
      ...(lb.allowGlobalAccess !== undefined ? {allowGlobalAccess: lb.allowGlobalAccess} : {}),
      ...(lb.sourceIpRanges ? {sourceIpRanges: lb.sourceIpRanges} : {}),
    })
    return this.backendService({name: backendService, region: lb.region, backends: lb.backends, healthCheck: lb.healthCheck ?? {protocol: 'TCP', port: firstPort}})
  }

  cluster(cluster: ClusterInput): this {
    this.t.clusters.push(cluster)
    return this
  }

  /** Changes the built object in place before loading, for the odd field no method covers. */
  edit(change: (t: BuiltTopology) => void): this {
    change(this.t)
    return this
  }

  /** A deep copy of the topology as plain data. */
  build(): TopologyInput {
    return structuredClone(this.t)
  }

  /** Loads the topology through the real loader (JSON text → parseTopology). */
  load(): Model {
    return loadTopology(this.t)
  }

  private findNetwork(name: string): NetworkInput {
    const network = this.t.networks.find((n) => n.name === name)
    if (!network) throw new Error(`builder: declare network ${name} before its peerings`)
    return network
  }
}

export function topology(name = 'test'): TopologyBuilder {
  return new TopologyBuilder(name)
}

/** Serializes to JSON and parses it with the loader, so defaults and validation apply. Throws TopologyError. */
export function loadTopology(t: TopologyInput): Model {
  try {
    return parseTopology(JSON.stringify(t), `${t.metadata.name}.json`)
  } catch (error) {
    // Keep the error (tests assert on TopologyError) but put every issue in the message.
    if (error instanceof TopologyError) error.message = [error.message, ...error.details].join('\n  ')
    throw error
  }
}

// ---- tracing helpers --------------------------------------------------------------------

/** Resolves `from`/`to` like `xcc doctor` and traces the flow. */
export function trace(model: Model, from: string, to: string, protocol?: Protocol, assumptions?: readonly Assumption[]): TraceResult {
  return traceFlow(model, resolveFlow(model, from, to, protocol), assumptions ? {assumptions} : {})
}

/** The doctor report for a flow, with the real check registry. */
export function doctor(model: Model, from: string, to: string, protocol?: Protocol): DoctorReport {
  return evaluateDoctor(model, resolveFlow(model, from, to, protocol), CHECKS)
}

/** The single path of a trace (fails the test when there are alternatives). */
export function onlyPath(result: TraceResult): PathTrace {
  assert.equal(result.paths.length, 1, `expected one path, got ${result.paths.length}: ${result.paths.map((p) => describe(p.forward)).join(' | ')}`)
  return result.paths[0] as PathTrace
}

export function names(steps: readonly Step[]): StepName[] {
  return steps.map((s) => s.step)
}

export function last(steps: readonly Step[]): Step {
  const step = steps[steps.length - 1]
  assert.ok(step, 'expected at least one step')
  return step
}

/** The first step with this name (and `at`, when given); fails the test when there is none. */
export function stepOf(steps: readonly Step[], name: StepName, at?: string): Step {
  const found = steps.find((s) => s.step === name && (at === undefined || s.at === at))
  assert.ok(found, `no ${name}${at ? ` at ${at}` : ''} in: ${describe(steps)}`)
  return found
}

export function stepsOf(steps: readonly Step[], name: StepName): Step[] {
  return steps.filter((s) => s.step === name)
}

export function indexOf(steps: readonly Step[], name: StepName, at?: string): number {
  return steps.findIndex((s) => s.step === name && (at === undefined || s.at === at))
}

/** Asserts that the path ends with DROP of `cause` (at `at`, when given) and returns that step. */
export function assertDrop(steps: readonly Step[], cause: string, at?: string): Step {
  const end = last(steps)
  assert.equal(end.step, 'DROP', `expected a DROP, got: ${describe(steps)}`)
  assert.equal(end.cause, cause, `expected ${cause}, got: ${describe(steps)}`)
  if (at !== undefined) assert.equal(end.at, at)
  return end
}

/** Asserts that the path ends with DELIVER (at `at`, when given) and returns that step. */
export function assertDelivered(steps: readonly Step[], at?: string): Step {
  const end = last(steps)
  assert.equal(end.step, 'DELIVER', `expected DELIVER, got: ${describe(steps)}`)
  if (at !== undefined) assert.equal(end.at, at)
  return end
}

/** `STEP@at[cause]` per step, for failure messages. */
export function describe(steps: readonly Step[]): string {
  return steps.map((s) => `${s.step}@${s.at}${s.cause ? `[${s.cause}]` : ''}${s.reason ? `[${s.reason}]` : ''}`).join(' → ')
}
