/**
 * Why a network has no usable route to an address: the peering rules behind a NO_ROUTE
 * (PEER-01 inactive, PEER-07 not transitive, PEER-04/05 custom routes not exchanged).
 */
import {type Cidr, cidrContainsIp, formatIp, maskOf} from '../net/ipv4.js'
import type {Model, RouteFacts} from '../topology/model-types.js'
import {describeRoute} from '../trace/vpc.js'

export type MissingRouteCause =
  | {readonly code: 'PEERING_INACTIVE'; readonly owner: string; readonly detail: string; readonly peering: {readonly network: string; readonly name: string; readonly missingOn: string}}
  | {readonly code: 'PEERING_NOT_TRANSITIVE'; readonly owner: string; readonly detail: string; readonly chain: readonly string[]}
  | {readonly code: 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED'; readonly owner: string; readonly detail: string; readonly route: RouteFacts; readonly exporting: {readonly network: string; readonly peering: string; readonly exports: boolean}; readonly importing: {readonly network: string; readonly peering: string; readonly imports: boolean}}
  | {readonly code: 'NO_ROUTE'; readonly owner?: string; readonly detail: string}

/** The ranges that can hold an address, indexed once per model in the order networkHolding reads them. */
interface HoldingIndex {
  /** subnet ranges (primary, then secondary) of every network, in the model's order */
  readonly subnets: ReadonlyArray<{readonly network: string; readonly cidr: Cidr}>
  /** the custom static routes that do not lead to the internet, by prefix length (longest first), then by network address, in the model's order */
  readonly routes: ReadonlyArray<{readonly prefix: number; readonly byBase: ReadonlyMap<number, ReadonlyArray<{readonly network: string; readonly route: RouteFacts}>>}>
}

type Holder = {network: string; route?: RouteFacts} | undefined

const holdingIndexes = new WeakMap<Model, {index: HoldingIndex; memo: Map<string, Holder>}>()

function holdingOf(model: Model): {index: HoldingIndex; memo: Map<string, Holder>} {
  let entry = holdingIndexes.get(model)
  if (!entry) {
    const subnets: Array<{network: string; cidr: Cidr}> = []
    const byPrefix = new Map<number, Map<number, Array<{network: string; route: RouteFacts}>>>()
    for (const [name, n] of model.networks) {
      for (const s of n.subnets) {
        subnets.push({network: name, cidr: s.primary})
        for (const r of s.secondary) subnets.push({network: name, cidr: r.cidr})
      }
    }
    for (const [name, n] of model.networks) {
      for (const r of n.routes.routes) {
        if (r.kind !== 'STATIC' || r.nextHop.type === 'INTERNET_GATEWAY') continue
        let byBase = byPrefix.get(r.destRange.prefix)
        if (!byBase) byPrefix.set(r.destRange.prefix, (byBase = new Map()))
        const list = byBase.get(r.destRange.base)
        if (list) list.push({network: name, route: r})
        else byBase.set(r.destRange.base, [{network: name, route: r}])
      }
    }
    const routes = [...byPrefix].sort((a, b) => b[0] - a[0]).map(([prefix, byBase]) => ({prefix, byBase}))
    holdingIndexes.set(model, (entry = {index: {subnets, routes}, memo: new Map()}))
  }
  return entry
}

/**
 * The network that holds `address` itself: a subnet range, a VIP or one of its own custom routes.
 * Asked for every unroutable flow by the diagnosis and several checks: answered once per model
 * and address, from an index made once per model (a flows file of 1,000 flows over 20,000
 * routes must not walk every network's table for each of them).
 */
export function networkHolding(model: Model, address: number, except?: string): Holder {
  const {index, memo} = holdingOf(model)
  const key = `${address}|${except ?? ''}`
  if (memo.has(key)) return memo.get(key)
  let found: Holder
  for (const s of index.subnets) {
    if (s.network !== except && cidrContainsIp(s.cidr, address)) {
      found = {network: s.network}
      break
    }
  }
  // Otherwise the most specific custom route, in any other network, that leads to it (the first of equals).
  for (const {prefix, byBase} of found ? [] : index.routes) {
    const best = byBase.get((address & maskOf(prefix)) >>> 0)?.find((r) => r.network !== except)
    if (best) {
      found = {network: best.network, route: best.route}
      break
    }
  }
  memo.set(key, found)
  return found
}

const explained = new WeakMap<Model, Map<string, MissingRouteCause>>()

/** Why `from` cannot route to `address`; asked by the diagnosis and several checks, answered once per model. */
export function explainMissingRoute(model: Model, from: string, address: number): MissingRouteCause {
  let memo = explained.get(model)
  if (!memo) explained.set(model, (memo = new Map()))
  const key = `${from}|${address}`
  let cause = memo.get(key)
  if (!cause) memo.set(key, (cause = explain(model, from, address)))
  return cause
}

function explain(model: Model, from: string, address: number): MissingRouteCause {
  const dst = formatIp(address)
  const holder = networkHolding(model, address, from)
  if (!holder) return {code: 'NO_ROUTE', detail: `no network in the topology holds ${dst}`}
  const owner = holder.network
  const direct = model.peerings.filter((p) => (p.network === from && p.spec.network === owner) || (p.network === owner && p.spec.network === from))
  const inactive = direct.find((p) => p.state === 'INACTIVE')
  if (inactive) {
    return {
      code: 'PEERING_INACTIVE', owner,
      detail: `${inactive.network} lists ${inactive.spec.network} in peering ${inactive.spec.name}, but ${inactive.spec.network} has no peering back, so the peering is INACTIVE and exchanges no routes (PEER-01)`,
      peering: {network: inactive.network, name: inactive.spec.name, missingOn: inactive.spec.network},
    }
  }
  const active = direct.find((p) => p.state === 'ACTIVE')
  if (!active) {
    const chain = peeringChain(model, from, owner)
    if (chain) {
      return {code: 'PEERING_NOT_TRANSITIVE', owner, chain, detail: `${dst} is in ${owner}, which ${from} reaches only through the peerings ${chain.join(' ↔ ')}; routes learned over one peering are never passed on to another (PEER-07)`}
    }
    return {code: 'NO_ROUTE', owner, detail: `${dst} belongs to ${owner}, which is not connected to ${from}`}
  }
  if (holder.route) {
    const here = model.peerings.find((p) => p.network === from && p.spec.network === owner)
    const there = model.peerings.find((p) => p.network === owner && p.spec.network === from)
    const exports = there?.spec.exportCustomRoutes ?? false
    const imports = here?.spec.importCustomRoutes ?? false
    const tagged = holder.route.tags.length > 0 ? ' and it has tags, which are never exchanged (PEER-05)' : ''
    return {
      code: 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED', owner, route: holder.route,
      exporting: {network: owner, peering: there?.spec.name ?? '', exports},
      importing: {network: from, peering: here?.spec.name ?? '', imports},
      detail: `${dst} is reached in ${owner} by the custom ${describeRoute(holder.route)}; custom routes cross a peering only with exportCustomRoutes on ${owner}'s side (${there?.spec.name}: ${exports}) and importCustomRoutes on ${from}'s side (${here?.spec.name}: ${imports})${tagged} (PEER-04, GKE-04)`,
    }
  }
  return {code: 'NO_ROUTE', owner, detail: `${from} has no route that covers ${dst} in ${owner}`}
}

/** shortest chain of ACTIVE peerings from `from` to `to`, with two or more hops */
function peeringChain(model: Model, from: string, to: string): string[] | undefined {
  const edges = new Map<string, string[]>()
  for (const p of model.peerings) if (p.state === 'ACTIVE') edges.set(p.network, [...(edges.get(p.network) ?? []), p.spec.network])
  const previous = new Map<string, string>([[from, '']])
  const queue = [from]
  while (queue.length > 0) {
    const at = queue.shift() as string
    for (const next of edges.get(at) ?? []) {
      if (previous.has(next)) continue
      previous.set(next, at)
      if (next === to) {
        const chain = [to]
        for (let n = at; n; n = previous.get(n) as string) chain.unshift(n)
        return chain.length > 2 ? chain : undefined
      }
      queue.push(next)
    }
  }
  return undefined
}
