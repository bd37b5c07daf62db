/**
 * The Compute write port (core/ports/gcp-writes.ts) on @google-cloud/compute 6, built like the read
 * adapter (compute.ts: same clients, credentials, endpoint, retries and errors). Every mutation
 * carries a requestId made once per call, so its retries (429, 5xx, the network: retry.ts) are one
 * request to the API; then its operation is waited for (operation-wait.ts) and its error read.
 * 409 on insert is `already-exists`, 404 on delete `already-gone`: the planner decides what they
 * mean. Peering calls go one at a time through the whole process (peering-lock.ts).
 */
import {randomUUID} from 'node:crypto'

import {XccError} from '../../core/errors.js'
import {describeRef} from '../../core/link/describe.js'
import type {ComputeWriter, DesiredResource, ResourceRef, WriteOptions, WriteOutcome, WriteResult} from '../../core/ports/gcp-writes.js'
import {type ClientOptions, computeContext, loadComputeClient, plain} from './compute.js'
import {type ApiFailure, describeFailure, isTransientRefusal, toXccError} from './errors.js'
import {type Operation, OperationWaiter, operationErrors} from './operation-wait.js'
import {oneAtATime} from './peering-lock.js'
import {type CallContext, withRetries} from './retry.js'
import {KINDS, type KindClient, instanceKey, locationOf} from './write-kinds.js'

/** a client's methods, as this adapter calls them */
type Api = Record<string, (request: object, options?: object) => unknown>

interface Done {
  readonly result: WriteResult
  readonly operation?: string
}

/** what one mutation came to: its finished operation, or the failure the caller tolerates */
type Sent = {readonly op: Operation; readonly tolerated?: undefined} | {readonly op?: undefined; readonly tolerated: ApiFailure}

const pick = (body: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> => Object.fromEntries(Object.entries(body).filter(([k]) => keys.includes(k)))

const refOnly = (r: ResourceRef): ResourceRef => ({kind: r.kind, scope: r.scope, name: r.name, ...(r.parent !== undefined ? {parent: r.parent} : {})})

export async function openComputeWriter(options: ClientOptions): Promise<ComputeWriter> {
  const project = options.project
  const base = computeContext(options)
  const waiter = new OperationWaiter(options)
  const clients = new Map<string, Promise<Api>>()
  const clientOf = (k: KindClient): Promise<Api> => {
    let found = clients.get(k.file)
    if (!found) {
      found = loadComputeClient<Api>(options, k.file, k.client)
      clients.set(k.file, found)
    }
    return found
  }
  const fail = (f: ApiFailure, what: string): XccError => toXccError(f, {api: base.api, project, request: what, endpoint: base.endpoint})

  /** one call of the port, counting its own requests (also added to the writer's stats) */
  async function call(ref: ResourceRef, signal: AbortSignal | undefined, run: (ctx: CallContext) => Promise<Done>): Promise<WriteOutcome> {
    const tally = {requests: 0, retries: 0}
    const ctx: CallContext = {...base, stats: tally, ...(signal ? {signal} : {})}
    try {
      const done = await run(ctx)
      return {ref: refOnly(ref), ...done, requests: tally.requests, retries: tally.retries}
    } finally {
      if (options.stats) {
        options.stats.requests += tally.requests
        options.stats.retries += tally.retries
      }
    }
  }

  /** sends a mutation (one requestId for all its retries) and waits for its operation */
  async function mutation(ctx: CallContext, what: string, send: (requestId: string) => unknown, tolerate: (f: ApiFailure) => boolean): Promise<Sent> {
    const requestId = randomUUID()
    const answer = await withRetries(ctx, what, async (): Promise<Sent> => {
      try {
        const [lro] = (await send(requestId)) as [{latestResponse?: unknown}]
        return {op: plain<Operation>(lro.latestResponse)}
      } catch (error) {
        const failure = describeFailure(error)
        if (tolerate(failure)) return {tolerated: failure}
        throw error
      }
    })
    if (answer.tolerated) return answer
    return {op: await waiter.done(ctx, answer.op, what)}
  }

  /** DONE without error → `ok`; an error of code `tolerated` → the tolerated result; else an XccError naming the resource */
  function settle(op: Operation, what: string, ok: WriteResult, tolerated?: {code: string; result: WriteResult}): Done {
    const errors = operationErrors(op)
    const operation = op.name ? {operation: op.name} : {}
    if (errors.length === 0) return {result: ok, ...operation}
    if (tolerated && errors.every((e) => e.code === tolerated.code)) return {result: tolerated.result, ...operation}
    const status = op.httpErrorStatusCode ? ` (HTTP ${op.httpErrorStatusCode})` : ''
    if (op.httpErrorStatusCode === 403) throw fail({status: 403, message: errors[0]?.message ?? ''}, what)
    throw new XccError(`${what} failed${status}: ${errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`, {exitCode: 3, details: op.name ? [`operation ${op.name}`] : []})
  }

  // ---- instance group membership (unmanaged groups: addInstances/removeInstances)

  async function members(ctx: CallContext, ref: ResourceRef): Promise<string[]> {
    const api = await clientOf(KINDS.instanceGroup)
    return withRetries(ctx, `listing the instances of ${describeRef(ref)}`, async () => {
      const out: string[] = []
      const pages = api.listInstancesAsync?.({...locationOf(project, ref), instanceGroup: ref.name, maxResults: 500, instanceGroupsListInstancesRequestResource: {instanceState: 'ALL'}}, {autoPaginate: false}) as AsyncIterable<unknown>
      for await (const m of pages) out.push(plain<{instance?: string}>(m).instance ?? '')
      return out.filter(Boolean)
    })
  }

  async function changeMembers(ctx: CallContext, ref: ResourceRef, verb: 'addInstances' | 'removeInstances', urls: readonly string[]): Promise<string | undefined> {
    if (urls.length === 0) return undefined
    const api = await clientOf(KINDS.instanceGroup)
    const field = verb === 'addInstances' ? 'instanceGroupsAddInstancesRequestResource' : 'instanceGroupsRemoveInstancesRequestResource'
    const what = `${verb === 'addInstances' ? 'adding' : 'removing'} ${urls.length} ${urls.length === 1 ? 'instance' : 'instances'} ${verb === 'addInstances' ? 'to' : 'from'} ${describeRef(ref)}`
    const sent = await mutation(ctx, what, (requestId) => api[verb]?.({...locationOf(project, ref), instanceGroup: ref.name, [field]: {instances: urls.map((instance) => ({instance}))}, requestId}), () => false)
    return settle(sent.op as Operation, what, 'updated').operation
  }

  /** the group's members made `wanted`; `onlyAdd` leaves extra members alone */
  async function syncMembers(ctx: CallContext, ref: ResourceRef, wanted: readonly string[], onlyAdd: boolean): Promise<string | undefined> {
    const have = await members(ctx, ref)
    const haveKeys = new Set(have.map(instanceKey))
    const wantKeys = new Set(wanted.map(instanceKey))
    const added = await changeMembers(ctx, ref, 'addInstances', wanted.filter((u) => !haveKeys.has(instanceKey(u))))
    const removed = onlyAdd ? undefined : await changeMembers(ctx, ref, 'removeInstances', have.filter((u) => !wantKeys.has(instanceKey(u))))
    return removed ?? added
  }

  const wantedMembers = (body: Readonly<Record<string, unknown>>): string[] => (Array.isArray(body.instances) ? body.instances.filter((u): u is string => typeof u === 'string') : [])

  // ---- peerings (networks.addPeering/updatePeering/removePeering), one at a time

  async function hasPeering(ctx: CallContext, network: string, name: string): Promise<boolean> {
    const api = await clientOf(KINDS.network)
    const found = await withRetries(ctx, `reading network ${network}`, async () => {
      try {
        const [n] = (await api.get?.({project, network})) as [unknown]
        return plain<{peerings?: Array<{name?: string}>}>(n)
      } catch (error) {
        if (describeFailure(error).status === 404) return undefined
        throw error
      }
    })
    return Boolean(found?.peerings?.some((p) => p.name === name))
  }

  const refused = (f: ApiFailure): boolean => (f.status === 400 && !isTransientRefusal(f)) || f.status === 404 || f.status === 409

  async function peering(ctx: CallContext, resource: ResourceRef, action: 'create' | 'update' | 'delete', body: Readonly<Record<string, unknown>>): Promise<Done> {
    const network = resource.parent
    if (!network) throw new Error(`${describeRef(resource)}: a peering needs its network (parent)`)
    locationOf(project, resource)
    const api = await clientOf(KINDS.network)
    const what = `${action === 'create' ? 'creating' : action === 'update' ? 'updating' : 'deleting'} ${describeRef(resource)}`
    // updatePeering changes the route exchange only; the peer network is set by addPeering
    const networkPeering = action === 'update'
      ? pick({...body, name: resource.name}, ['name', 'exportCustomRoutes', 'importCustomRoutes', 'exportSubnetRoutesWithPublicIp', 'importSubnetRoutesWithPublicIp', 'stackType', 'updateStrategy'])
      : {...body, name: resource.name}
    const send = (requestId: string): unknown => action === 'create'
      ? api.addPeering?.({project, network, networksAddPeeringRequestResource: {networkPeering}, requestId})
      : action === 'update' ? api.updatePeering?.({project, network, networksUpdatePeeringRequestResource: {networkPeering}, requestId})
        : api.removePeering?.({project, network, networksRemovePeeringRequestResource: {name: resource.name}, requestId})
    return oneAtATime(async () => {
      const sent = await mutation(ctx, what, send, action === 'update' ? () => false : refused)
      if (sent.tolerated) {
        // the API words these refusals differently over time: what exists decides
        const exists = await hasPeering(ctx, network, resource.name)
        if (action === 'create' && exists) return {result: 'already-exists'}
        if (action === 'delete' && !exists) return {result: 'already-gone'}
        throw fail(sent.tolerated, what)
      }
      return settle(sent.op, what, action === 'create' ? 'created' : action === 'update' ? 'updated' : 'deleted')
    })
  }

  return {
    project,

    insert(resource: DesiredResource, opts: WriteOptions = {}): Promise<WriteOutcome> {
      return call(resource, opts.signal, async (ctx) => {
        if (resource.kind === 'peering') return peering(ctx, resource, 'create', resource.body)
        const k = KINDS[resource.kind]
        const api = await clientOf(k)
        const what = `creating ${describeRef(resource)}`
        const {instances: _members, ...rest} = resource.body
        const body = resource.kind === 'instanceGroup' ? {...rest, name: resource.name} : {...resource.body, name: resource.name}
        const sent = await mutation(ctx, what, (requestId) => api.insert?.({...locationOf(project, resource), [k.resource]: body, requestId}), (f) => f.status === 409)
        const done: Done = sent.tolerated ? {result: 'already-exists'} : settle(sent.op, what, 'created', {code: 'RESOURCE_ALREADY_EXISTS', result: 'already-exists'})
        // an unmanaged group's members are part of what was asked for; an existing group gets the missing ones only
        if (resource.kind === 'instanceGroup') await syncMembers(ctx, resource, wantedMembers(resource.body), true)
        return done
      })
    },

    update(resource: DesiredResource, opts: WriteOptions = {}): Promise<WriteOutcome> {
      return call(resource, opts.signal, async (ctx) => {
        if (resource.kind === 'peering') return peering(ctx, resource, 'update', resource.body)
        const what = `updating ${describeRef(resource)}`
        if (resource.kind === 'network' || resource.kind === 'route' || resource.kind === 'instance') {
          throw new Error(`${what}: a ${resource.kind} cannot change in place (the plan must replace it)`)
        }
        const location = locationOf(project, resource)
        if (resource.kind === 'instanceGroup') {
          const operation = await syncMembers(ctx, resource, wantedMembers(resource.body), false)
          return {result: 'updated', ...(operation ? {operation} : {})}
        }
        const k = KINDS[resource.kind]
        const api = await clientOf(k)
        let body: Record<string, unknown> = {...resource.body, name: resource.name}
        // what each PATCH can change; the fields set at creation (a rule's network, a subnet's range) are left out
        if (resource.kind === 'forwardingRule') body = {allowGlobalAccess: resource.body.allowGlobalAccess === true}
        if (resource.kind === 'firewall') delete body.network
        if (resource.kind === 'subnetwork') body = pick(body, ['name', 'description', 'secondaryIpRanges', 'privateIpGoogleAccess', 'logConfig', 'allowSubnetCidrRoutesOverlap', 'stackType'])
        if (resource.kind === 'subnetwork' || resource.kind === 'backendService') {
          // these patches must carry the resource's current fingerprint
          const [current] = (await withRetries(ctx, `reading ${describeRef(resource)}`, () => api.get?.({...location, [k.param]: resource.name}) as Promise<unknown[]>))
          const fingerprint = plain<{fingerprint?: string}>(current).fingerprint
          if (fingerprint) body = {...body, fingerprint}
        }
        const sent = await mutation(ctx, what, (requestId) => api.patch?.({...location, [k.param]: resource.name, [k.resource]: body, requestId}), () => false)
        return settle(sent.op as Operation, what, 'updated')
      })
    },

    delete(ref: ResourceRef, opts: WriteOptions = {}): Promise<WriteOutcome> {
      return call(ref, opts.signal, async (ctx) => {
        if (ref.kind === 'peering') return peering(ctx, ref, 'delete', {})
        const k = KINDS[ref.kind]
        const api = await clientOf(k)
        const what = `deleting ${describeRef(ref)}`
        const sent = await mutation(ctx, what, (requestId) => api.delete?.({...locationOf(project, ref), [k.param]: ref.name, requestId}), (f) => f.status === 404)
        return sent.tolerated ? {result: 'already-gone'} : settle(sent.op, what, 'deleted', {code: 'RESOURCE_NOT_FOUND', result: 'already-gone'})
      })
    },
  }
}
