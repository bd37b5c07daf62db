/**
 * The in-memory object store of one emulated cluster: objects per resource type, one
 * cluster-wide resourceVersion counter (every write takes the next number), optimistic
 * concurrency, and a bounded history of events so that watches can resume from a
 * resourceVersion (older than the history: 410 Gone).
 *
 * Stored objects are frozen and never mutated; a write stores a new object. Listeners are
 * called synchronously after each write and must not write to the store from the callback.
 */
import {randomUUID} from 'node:crypto'

import {alreadyExists, badRequest, conflict, forbidden, gone, invalid, notFound} from './errors.js'
import {apiVersionOf, type ResourceRegistry, type ResourceType} from './resources.js'
import {matchesSelector, type Selector} from './selectors.js'
import {type KubeObject, clone, deepFreeze, isPlainObject, jsonEqual, nowIso, objectKey} from './types.js'

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED'

export interface StoreEvent {
  readonly type: WatchEventType
  readonly resource: ResourceType
  readonly object: KubeObject
  /** the object before the write (MODIFIED, DELETED) */
  readonly previous?: KubeObject
  readonly resourceVersion: number
}

export type StoreListener = (event: StoreEvent) => void

export interface WriteOptions {
  /** validate and return the result without storing it */
  readonly dryRun?: boolean
}

export interface ReplaceOptions extends WriteOptions {
  /** `status`: only the status changes; otherwise the status is kept (types with a status subresource) */
  readonly subresource?: 'status'
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789'
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
/** metadata the server owns: a write cannot change it */
const SERVER_OWNED = ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const

/** Why a name is not valid for the type (RBAC objects take any path segment, e.g. `system:basic-user`; others a DNS subdomain). */
function invalidName(type: ResourceType, name: string): string | undefined {
  if (type.group === 'rbac.authorization.k8s.io') {
    if (name === '.' || name === '..') return `may not be '${name}'`
    for (const c of ['/', '%']) if (name.includes(c)) return `may not contain '${c}'`
    return undefined
  }
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
  }
  return undefined
}

export function randomSuffix(length = 5): string {
  let out = ''
  for (let i = 0; i < length; i++) out += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)]
  return out
}

export class ObjectStore {
  readonly registry: ResourceRegistry
  private readonly objects = new Map<ResourceType, Map<string, KubeObject>>()
  private readonly listeners = new Set<StoreListener>()
  private readonly history: StoreEvent[] = []
  private readonly historyLimit: number
  private version = 0
  /** the resourceVersion of the newest event dropped from the history */
  private compactedVersion = 0

  constructor(registry: ResourceRegistry, options: {historyLimit?: number} = {}) {
    this.registry = registry
    this.historyLimit = Math.max(1, options.historyLimit ?? 5000)
  }

  /** The newest resourceVersion handed out. */
  get resourceVersion(): number {
    return this.version
  }

  private bucket(type: ResourceType): Map<string, KubeObject> {
    let bucket = this.objects.get(type)
    if (!bucket) this.objects.set(type, (bucket = new Map()))
    return bucket
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(type)?.get(objectKey(type.namespaced ? namespace : undefined, name))
  }

  /** Frozen objects, sorted by namespace then name; `namespace` undefined means all namespaces. */
  list(type: ResourceType, namespace?: string, selector?: Selector): KubeObject[] {
    const bucket = this.objects.get(type)
    if (!bucket) return []
    const items: KubeObject[] = []
    for (const object of bucket.values()) {
      if (namespace !== undefined && type.namespaced && object.metadata.namespace !== namespace) continue
      if (selector && !matchesSelector(selector, object)) continue
      items.push(object)
    }
    return items.sort((a, b) => compareKeys(a, b))
  }

  count(type: ResourceType): number {
    return this.objects.get(type)?.size ?? 0
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Events after `resourceVersion`, oldest first; throws 410 Gone when the history no longer holds them all. */
  eventsSince(resourceVersion: number): StoreEvent[] {
    if (resourceVersion < this.compactedVersion) throw gone(String(resourceVersion), this.compactedVersion + 1)
    let lo = 0
    let hi = this.history.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.history[mid]!.resourceVersion <= resourceVersion) lo = mid + 1
      else hi = mid
    }
    return this.history.slice(lo)
  }

  private emit(event: StoreEvent): void {
    this.history.push(event)
    if (this.history.length > this.historyLimit) {
      const drop = this.history.length - this.historyLimit
      this.compactedVersion = this.history[drop - 1]!.resourceVersion
      this.history.splice(0, drop)
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(event)
      } catch {
        // a listener's failure must not break the write that caused it
      }
    }
  }

  private checkNamespace(type: ResourceType, namespace: string | undefined): void {
    if (!type.namespaced) return
    if (!namespace) throw badRequest('an empty namespace may not be set during creation')
    const ns = this.get(this.registry.get('namespaces'), undefined, namespace)
    if (!ns) throw notFound({group: '', resource: 'namespaces'}, namespace)
    if (ns.metadata.deletionTimestamp) {
      throw forbidden(`${type.resource} is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`)
    }
  }

  create(type: ResourceType, input: KubeObject, options: WriteOptions = {}): KubeObject {
    const object = clone(input)
    const meta = (object.metadata = isPlainObject(object.metadata) ? object.metadata : {})
    if (!type.namespaced) delete meta.namespace
    if (!meta.name) {
      if (!meta.generateName) throw invalid(type.kind, '', [{reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required'}], type.group)
      const bucket = this.bucket(type)
      do meta.name = `${meta.generateName}${randomSuffix()}`
      while (bucket.has(objectKey(meta.namespace, meta.name)))
    }
    const nameProblem = invalidName(type, meta.name)
    if (nameProblem) throw invalid(type.kind, meta.name, [{reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${meta.name}": ${nameProblem}`}], type.group)
    this.checkNamespace(type, meta.namespace)
    const key = objectKey(type.namespaced ? meta.namespace : undefined, meta.name)
    if (this.bucket(type).has(key)) throw alreadyExists(type, meta.name)
    object.apiVersion = apiVersionOf(type)
    object.kind = type.kind
    meta.uid = randomUUID()
    meta.creationTimestamp = nowIso()
    delete meta.deletionTimestamp
    delete meta.deletionGracePeriodSeconds
    if (type.tracksGeneration) meta.generation = 1
    if (options.dryRun) {
      meta.resourceVersion = String(this.version)
      return deepFreeze(object)
    }
    meta.resourceVersion = String(++this.version)
    deepFreeze(object)
    this.bucket(type).set(key, object)
    this.emit({type: 'ADDED', resource: type, object, resourceVersion: this.version})
    return object
  }

  /**
   * A full update (PUT). A resourceVersion in the input must be the stored one (else 409
   * Conflict); without one the write is unconditional.
   */
  replace(type: ResourceType, input: KubeObject, options: ReplaceOptions = {}): KubeObject {
    const name = input.metadata?.name
    if (!name) throw badRequest('metadata.name is required for an update')
    const key = objectKey(type.namespaced ? input.metadata.namespace : undefined, name)
    const current = this.bucket(type).get(key)
    if (!current) throw notFound(type, name)
    const wanted = input.metadata.resourceVersion
    if (wanted !== undefined && wanted !== '' && wanted !== current.metadata.resourceVersion) throw conflict(type, name)
    if (input.metadata.uid && input.metadata.uid !== current.metadata.uid) {
      throw conflict(type, name, `Precondition failed: UID in precondition: ${input.metadata.uid}, UID in object meta: ${current.metadata.uid}`)
    }
    const next = this.merged(type, current, clone(input), options.subresource)
    if (jsonEqual({...next, metadata: {...next.metadata, resourceVersion: undefined}}, {...current, metadata: {...current.metadata, resourceVersion: undefined}})) {
      return current
    }
    if (options.dryRun) return deepFreeze(next)
    next.metadata.resourceVersion = String(++this.version)
    deepFreeze(next)
    this.bucket(type).set(key, next)
    this.emit({type: 'MODIFIED', resource: type, object: next, previous: current, resourceVersion: this.version})
    return next
  }

  private merged(type: ResourceType, current: KubeObject, next: KubeObject, subresource: 'status' | undefined): KubeObject {
    if (subresource === 'status') {
      const result = clone(current)
      if (next.status === undefined) delete result.status
      else result.status = next.status
      return result
    }
    next.apiVersion = current.apiVersion
    next.kind = current.kind
    next.metadata = isPlainObject(next.metadata) ? next.metadata : {}
    next.metadata.name = current.metadata.name
    if (type.namespaced) next.metadata.namespace = current.metadata.namespace
    else delete next.metadata.namespace
    for (const field of SERVER_OWNED) {
      if (current.metadata[field] === undefined) delete next.metadata[field]
      else (next.metadata as Record<string, unknown>)[field] = current.metadata[field]
    }
    if (type.hasStatus) {
      if (current.status === undefined) delete next.status
      else next.status = clone(current.status)
    }
    if (type.tracksGeneration && !jsonEqual(current.spec, next.spec)) next.metadata.generation = (current.metadata.generation ?? 0) + 1
    return next
  }

  /**
   * Read-modify-write for the server's own controllers: `change` gets a mutable copy and edits
   * it (or returns a replacement). No event when nothing changed. Undefined when the object is gone.
   */
  mutate(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    change: (object: KubeObject) => KubeObject | void,
    options: {subresource?: 'status'; allowServerFields?: boolean} = {},
  ): KubeObject | undefined {
    const current = this.get(type, namespace, name)
    if (!current) return undefined
    const draft = clone(current)
    const result = change(draft) ?? draft
    result.metadata.resourceVersion = current.metadata.resourceVersion
    if (!options.allowServerFields) return this.replace(type, result, {subresource: options.subresource})
    // the server's own fields (deletionTimestamp, status of a main write…) go through as given
    if (jsonEqual(result, current)) return current
    const key = objectKey(type.namespaced ? namespace : undefined, name)
    result.metadata.resourceVersion = String(++this.version)
    deepFreeze(result)
    this.bucket(type).set(key, result)
    this.emit({type: 'MODIFIED', resource: type, object: result, previous: current, resourceVersion: this.version})
    return result
  }

  /** Removes an object now. Preconditions: uid and resourceVersion when given. */
  remove(type: ResourceType, namespace: string | undefined, name: string, options: WriteOptions & {uid?: string; resourceVersion?: string} = {}): KubeObject {
    const key = objectKey(type.namespaced ? namespace : undefined, name)
    const current = this.bucket(type).get(key)
    if (!current) throw notFound(type, name)
    if (options.uid && options.uid !== current.metadata.uid) {
      throw conflict(type, name, `Precondition failed: UID in precondition: ${options.uid}, UID in object meta: ${current.metadata.uid}`)
    }
    if (options.resourceVersion && options.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(
        type,
        name,
        `Precondition failed: ResourceVersion in precondition: ${options.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      )
    }
    if (options.dryRun) return current
    this.bucket(type).delete(key)
    const removed = deepFreeze({...current, metadata: {...current.metadata, resourceVersion: String(++this.version)}})
    this.emit({type: 'DELETED', resource: type, object: removed, previous: current, resourceVersion: this.version})
    return removed
  }
}

function compareKeys(a: KubeObject, b: KubeObject): number {
  const ans = a.metadata.namespace ?? ''
  const bns = b.metadata.namespace ?? ''
  if (ans !== bns) return ans < bns ? -1 : 1
  const an = a.metadata.name ?? ''
  const bn = b.metadata.name ?? ''
  return an < bn ? -1 : an > bn ? 1 : 0
}
