/**
 * The Compute Engine port (core/ports/gcp.ts) on @google-cloud/compute 6 (REST): every list of a
 * snapshot read concurrently, each following its pages; aggregated lists for the regional and
 * zonal resources. The clients are deep-imported one by one (the package index costs ~1 s).
 */
import type {AuthClient} from 'google-auth-library'

import type {Endpoint} from '../../core/gcp/settings.js'
import type {ComputeApi, ComputeInventory, GceBackendService, GceFirewall, GceForwardingRule, GceHealthCheck, GceInstance, GceInstanceGroup, GceNetwork, GceRoute, GceSubnetwork} from '../../core/ports/gcp.js'
import {COMPUTE_SERVICES, narrowGax} from './protos.js'
import {type CallContext, withRetries} from './retry.js'

export interface ClientOptions {
  readonly project: string
  readonly auth: AuthClient
  /** an override (a lab's emulator); Google's own endpoint when absent */
  readonly endpoint?: Endpoint
  readonly deadline: number
  readonly stats?: {requests: number; retries: number}
  /** the permits every request of the command takes (shared by Compute and GKE); its own when absent */
  readonly acquire?: () => Promise<() => void>
}

/**
 * Decoded client objects carry proto3 marker keys (`_name: 'name'`) and nulls: keep the data only.
 * Every item of a snapshot passes here (40,000 routes and firewall rules on a large project), so
 * it is a plain loop: no entries arrays, leaves copied as they are.
 */
export function plain<T>(value: unknown): T {
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length)
    for (let i = 0; i < value.length; i++) out[i] = plain(value[i])
    return out as T
  }
  if (value === null || typeof value !== 'object') return value as T
  const source = value as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(source)) {
    if (k.charCodeAt(0) === 95 /* _ */) continue
    const v = source[k]
    if (v === null || v === undefined) continue
    out[k] = typeof v === 'object' ? plain(v) : v
  }
  return out as T
}

const last = (url: string | undefined): string => (url ?? '').split('/').pop() ?? ''

/**
 * The most API requests (pages) in flight at once, over every list of a command: the lists run
 * concurrently, each following its own pages, and instance groups' members are listed up to this
 * many groups at a time. A bound keeps a large project from meeting the API's rate limits.
 */
export const GCP_REQUESTS_AT_ONCE = 16

/** a counting semaphore: `acquire` resolves with the `release` of one of `size` permits */
export function permits(size: number): () => Promise<() => void> {
  let free = size
  const waiting: Array<() => void> = []
  const release = (): void => {
    const next = waiting.shift()
    if (next) next()
    else free += 1
  }
  return async () => {
    if (free > 0) free -= 1
    else await new Promise<void>((resolve) => waiting.push(resolve))
    return release
  }
}

/** `task` over `items`, at most `limit` at a time, in order */
async function mapBounded<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await task(items[i] as T)
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return out
}

/** every item of `pages`, each step (which may fetch the next page) taken with a permit: no more than the permits' size in flight */
async function drain<T>(pages: AsyncIterable<T>, acquire: () => Promise<() => void>, take: (item: T) => void): Promise<void> {
  const it = pages[Symbol.asyncIterator]()
  for (;;) {
    const release = await acquire()
    let step: IteratorResult<T>
    try {
      step = await it.next()
    } finally {
      release()
    }
    if (step.done) return
    take(step.value)
  }
}

type Pager = AsyncIterable<unknown>
type Aggregated = AsyncIterable<[string, Record<string, unknown>]>

/**
 * A Compute client of @google-cloud/compute 6, deep-imported (`networks`, `NetworksClient`), on
 * the options' credentials and endpoint; a client of one of COMPUTE_SERVICES gets the narrower
 * protobuf root (protos.ts).
 */
export async function loadComputeClient<C>(options: ClientOptions, file: string, name: string): Promise<C> {
  const [module, gax] = await Promise.all([
    import(`@google-cloud/compute/build/src/v1/${file}_client.js`) as Promise<{default?: Record<string, unknown>} & Record<string, unknown>>,
    COMPUTE_SERVICES.includes(name.replace(/Client$/, '')) ? narrowGax() : undefined,
  ])
  const Client = (module[name] ?? module.default?.[name]) as new (o: object, gaxInstance?: object) => C
  return new Client({
    authClient: options.auth, fallback: true,
    ...(options.endpoint ? {apiEndpoint: options.endpoint.host, port: options.endpoint.port, protocol: options.endpoint.protocol} : {}),
  }, gax)
}

/** how retries and errors name the Compute API of these options */
export function computeContext(options: ClientOptions): CallContext {
  return {
    api: 'Compute Engine', project: options.project, deadline: options.deadline,
    endpoint: options.endpoint ? `${options.endpoint.protocol}://${options.endpoint.host}:${options.endpoint.port}` : 'compute.googleapis.com',
    ...(options.stats ? {stats: options.stats} : {}),
  }
}

export async function openCompute(options: ClientOptions): Promise<ComputeApi> {
  const load = <C>(file: string, name: string): Promise<C> => loadComputeClient<C>(options, file, name)
  const ctx = computeContext(options)
  const project = options.project
  const acquire = options.acquire ?? permits(GCP_REQUESTS_AT_ONCE)
  const collect = async <T>(request: string, pages: () => Pager): Promise<T[]> => withRetries(ctx, request, async () => {
    const out: T[] = []
    await drain(pages(), acquire, (item) => out.push(plain<T>(item)))
    return out
  })
  const aggregate = async <T>(request: string, key: string, pages: () => Aggregated, regions?: readonly string[]): Promise<T[]> => withRetries(ctx, request, async () => {
    const out: T[] = []
    await drain(pages(), acquire, ([scope, list]) => {
      // `regions/us-west1`, `zones/us-west1-a`, `global`
      const region = scope.startsWith('zones/') ? scope.slice(6).replace(/-[a-z]$/, '') : scope.startsWith('regions/') ? scope.slice(8) : undefined
      if (regions && region !== undefined && !regions.includes(region)) return
      for (const item of (list[key] as unknown[] | undefined) ?? []) out.push(plain<T>(item))
    })
    return out
  })
  type Lister = {listAsync(r: object, o?: object): Pager}
  type AggregatedLister = {aggregatedListAsync(r: object, o?: object): Aggregated}
  type GroupLister = AggregatedLister & {listInstancesAsync(r: object, o?: object): Pager}
  const [networks, subnetworks, firewalls, routes, instances, groups, healthChecks, backendServices, forwardingRules] = await Promise.all([
    load<Lister>('networks', 'NetworksClient'), load<AggregatedLister>('subnetworks', 'SubnetworksClient'), load<Lister>('firewalls', 'FirewallsClient'),
    load<Lister>('routes', 'RoutesClient'), load<AggregatedLister>('instances', 'InstancesClient'), load<GroupLister>('instance_groups', 'InstanceGroupsClient'),
    load<AggregatedLister>('health_checks', 'HealthChecksClient'), load<AggregatedLister>('backend_services', 'BackendServicesClient'),
    load<AggregatedLister>('forwarding_rules', 'ForwardingRulesClient'),
  ])
  const page = {maxResults: 500}
  // the Async iterators page by themselves; gax warns on stderr unless told that autoPaginate is off
  const PAGING = {autoPaginate: false}
  const all = {project, ...page, returnPartialSuccess: false}

  async function readGroups(regions?: readonly string[]): Promise<GceInstanceGroup[]> {
    const found = await aggregate<Omit<GceInstanceGroup, 'instances'>>('listing instance groups', 'instanceGroups', () => groups.aggregatedListAsync(all, PAGING), regions)
    return mapBounded(found, GCP_REQUESTS_AT_ONCE, async (g) => {
      const members = await collect<{instance?: string}>(`listing the instances of instance group ${g.name}`, () => groups.listInstancesAsync({project, zone: last(g.zone), instanceGroup: g.name, ...page, instanceGroupsListInstancesRequestResource: {instanceState: 'ALL'}}, PAGING))
      return {...g, instances: members.map((m) => m.instance ?? '').filter(Boolean)}
    })
  }

  return {
    project,
    async readInventory(opts = {}): Promise<ComputeInventory> {
      const regions = opts.regions
      const [n, s, f, r, i, g, h, b, fr] = await Promise.all([
        collect<GceNetwork>('listing networks', () => networks.listAsync({project, ...page}, PAGING)),
        aggregate<GceSubnetwork>('listing subnetworks', 'subnetworks', () => subnetworks.aggregatedListAsync(all, PAGING), regions),
        collect<GceFirewall>('listing firewall rules', () => firewalls.listAsync({project, ...page}, PAGING)),
        collect<GceRoute>('listing routes', () => routes.listAsync({project, ...page}, PAGING)),
        aggregate<GceInstance>('listing instances', 'instances', () => instances.aggregatedListAsync(all, PAGING), regions),
        readGroups(regions),
        aggregate<GceHealthCheck>('listing health checks', 'healthChecks', () => healthChecks.aggregatedListAsync(all, PAGING), regions),
        aggregate<GceBackendService>('listing backend services', 'backendServices', () => backendServices.aggregatedListAsync(all, PAGING), regions),
        aggregate<GceForwardingRule>('listing forwarding rules', 'forwardingRules', () => forwardingRules.aggregatedListAsync(all, PAGING), regions),
      ])
      return {networks: n, subnetworks: s, firewalls: f, routes: r, instances: i, instanceGroups: g, healthChecks: h, backendServices: b, forwardingRules: fr}
    },
    listForwardingRules(): Promise<GceForwardingRule[]> {
      return aggregate<GceForwardingRule>('listing forwarding rules', 'forwardingRules', () => forwardingRules.aggregatedListAsync(all, PAGING))
    },
  }
}
