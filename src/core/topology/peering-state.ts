import type {PeeringSpec, Topology} from './schema.js'

export type PeeringStatus = 'ACTIVE' | 'INACTIVE'

export interface PeeringState {
  readonly network: string
  readonly spec: PeeringSpec
  /** PEER-01: ACTIVE only when the peer network lists this network too */
  readonly state: PeeringStatus
  /** the peer's entry pointing back, when there is one */
  readonly peerSpec?: PeeringSpec
}

/** PEER-01: a peering is connected only when both networks reference each other. */
export function computePeeringStates(t: Topology): PeeringState[] {
  const byNetwork = new Map(t.networks.map((n) => [n.name, n]))
  const out: PeeringState[] = []
  for (const n of t.networks) {
    for (const spec of n.peerings) {
      const peerSpec = byNetwork.get(spec.network)?.peerings.find((p) => p.network === n.name)
      out.push({network: n.name, spec, state: peerSpec ? 'ACTIVE' : 'INACTIVE', ...(peerSpec ? {peerSpec} : {})})
    }
  }
  return out
}

/** Each ACTIVE peering once, as [a, b] with a < b. */
export function activePeerPairs(t: Topology): Array<[string, string]> {
  const pairs = new Map<string, [string, string]>()
  for (const p of computePeeringStates(t)) {
    if (p.state !== 'ACTIVE') continue
    const pair: [string, string] = p.network < p.spec.network ? [p.network, p.spec.network] : [p.spec.network, p.network]
    pairs.set(pair.join('\u0000'), pair)
  }
  return [...pairs.values()]
}
