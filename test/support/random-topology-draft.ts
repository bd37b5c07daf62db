/**
 * The shared state of a random topology draw (random-topology.ts and its parts): the seeded dice,
 * the networks and subnets being drawn with their address counters, and the topology lists.
 */
import type {NetworkInput, TopologyInput} from '../builders/topology.js'
import type {Rng} from './random.js'

export const LIMITS = {machines: 8, pods: 6, attempts: 20} as const
export const REGIONS = ['us-west1', 'us-east1'] as const
export const TAGS = ['web', 'gw', 'db'] as const
export const HEALTH_CHECK_RANGES = ['35.191.0.0/16', '130.211.0.0/22']
export const PORTS = [80, 8080, 9000] as const

/** Small helpers over a seeded PRNG. */
export class Dice {
  constructor(readonly rng: Rng) {}
  chance(p: number): boolean {
    return this.rng() < p
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rng() * (hi - lo + 1))
  }
  one<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Dice.one of nothing')
    return items[Math.floor(this.rng() * items.length)] as T
  }
  some<T>(items: readonly T[], p: number): T[] {
    return items.filter(() => this.chance(p))
  }
}

export interface SubnetDraft {
  readonly name: string
  readonly network: string
  readonly region: string
  /** first three octets of the /24 */
  readonly prefix: string
  readonly cidr: string
  next: number
  readonly secondaryIpRanges: Array<{rangeName: string; ipCidrRange: string}>
  readonly allowSubnetCidrRoutesOverlap: boolean
}

export interface NetworkDraft {
  readonly name: string
  readonly subnets: SubnetDraft[]
  /** the network whose ranges this one reuses (seed 000: two networks with the same ranges) */
  readonly cloneOf?: string
  readonly peerings: NonNullable<NetworkInput['peerings']>
}

/** The next free host address of a subnet (.2 upwards: .0 and .1 are reserved, .224 and up hold alias ranges). */
export function host(s: SubnetDraft): string {
  if (s.next >= 200) throw new Error(`subnet ${s.name} is full`)
  return `${s.prefix}.${s.next++}`
}

/** Everything a draw builds, shared by the parts below. */
export interface Draft {
  readonly dice: Dice
  readonly networks: NetworkDraft[]
  readonly t: Required<Pick<TopologyInput, 'routes' | 'firewalls' | 'instances' | 'forwardingRules' | 'backendServices' | 'clusters'>>
  /** CIDRs worth naming in routes and firewall rules */
  readonly ranges: string[]
  machines: number
  pods: number
}

/** Networks whose subnet ranges overlap (one reuses the other's). */
export function overlapping(a: NetworkDraft, b: NetworkDraft): boolean {
  return a.cloneOf === b.name || b.cloneOf === a.name || (a.cloneOf !== undefined && a.cloneOf === b.cloneOf)
}

export function zoneIn(dice: Dice, region: string): string {
  return `${region}-${dice.one(['a', 'b'])}`
}
