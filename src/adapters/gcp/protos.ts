/**
 * A narrower protobuf root for the Compute Engine clients. Every client of @google-cloud/compute
 * hands google-gax the whole Compute API (11 MB of JSON: v1 and v1beta, 2,100 types and 123 services in v1 alone), and
 * building that root costs half a second of a command's start. xcc uses a dozen services: the
 * clients get a root of those services and the types they reach (with google.api and
 * google.protobuf as they are), built once per process. A client of a service outside the list
 * gets the package's own root, unchanged.
 */
type Json = Record<string, unknown>

/** the Compute services xcc's adapters open (reads, writes, operation waits) */
export const COMPUTE_SERVICES: readonly string[] = [
  'Networks', 'Subnetworks', 'Firewalls', 'Routes', 'Instances', 'InstanceGroups', 'HealthChecks', 'RegionHealthChecks',
  'BackendServices', 'RegionBackendServices', 'ForwardingRules', 'GlobalOperations', 'RegionOperations', 'ZoneOperations',
]

const V1_PATH = ['google', 'cloud', 'compute', 'v1'] as const

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

function v1Of(json: Json): Json | undefined {
  let at: unknown = json
  for (const name of V1_PATH) at = isObject(at) && isObject(at.nested) ? at.nested[name] : undefined
  return isObject(at) && isObject(at.nested) ? at : undefined
}

/**
 * The names of v1's top-level types that `entry` (a message, a service, or an enum) refers to. A
 * reference is resolved as protobuf does, from the innermost scope out: a name of a type nested
 * in the message is its own (kept with it); `google.*` is outside v1 (kept whole); anything else
 * starts with a top-level v1 type.
 */
function referencesOf(entry: Json, scopes: ReadonlyArray<ReadonlySet<string>>, out: Set<string>): void {
  const add = (reference: unknown): void => {
    if (typeof reference !== 'string') return
    const name = reference.replace(/^\./, '')
    if (name.startsWith('google.')) return
    const first = name.split('.')[0] ?? ''
    if (scopes.some((scope) => scope.has(first))) return
    out.add(first)
  }
  if (isObject(entry.methods)) {
    for (const method of Object.values(entry.methods)) if (isObject(method)) { add(method.requestType); add(method.responseType) }
  }
  const nested = isObject(entry.nested) ? entry.nested : undefined
  const inner = nested ? [new Set(Object.keys(nested)), ...scopes] : scopes
  if (isObject(entry.fields)) for (const field of Object.values(entry.fields)) if (isObject(field)) add(field.type)
  if (nested) for (const child of Object.values(nested)) if (isObject(child)) referencesOf(child, inner, out)
}

/** `json` with v1's types cut to those `services` reach; undefined when a service is not in it */
export function narrowProtos(json: Json, services: readonly string[]): Json | undefined {
  const v1 = v1Of(json)
  if (!v1) return undefined
  const all = v1.nested as Json
  if (services.some((s) => !isObject(all[s]))) return undefined
  const kept = new Set<string>()
  const queue = [...services]
  const topLevel = [new Set<string>()]
  while (queue.length > 0) {
    const name = queue.pop() as string
    if (kept.has(name)) continue
    const entry = all[name]
    if (!isObject(entry)) continue
    kept.add(name)
    const found = new Set<string>()
    referencesOf(entry, topLevel, found)
    for (const ref of found) if (!kept.has(ref)) queue.push(ref)
  }
  const nested: Json = {}
  for (const name of Object.keys(all)) if (kept.has(name)) nested[name] = all[name]
  // copy the path down to v1, sharing google.api, google.protobuf and google.cloud's extensions
  // as they are; compute's other versions (v1beta: as large again) are left out
  const copy = (at: Json, depth: number): Json => {
    if (depth === V1_PATH.length) return {...at, nested}
    const children = at.nested as Json
    const name = V1_PATH[depth] as string
    const child = copy(children[name] as Json, depth + 1)
    return {...at, nested: depth === V1_PATH.length - 1 ? {[name]: child} : {...children, [name]: child}}
  }
  return copy(json, 0)
}

interface FallbackGax {
  GrpcClient: new (options: object) => {loadProtoJSON(json: Json, ignoreCache?: boolean): unknown}
  protobuf: {Root: {fromJSON(json: Json): unknown}}
}

let narrowed: Promise<{fallback: FallbackGax}> | undefined

/**
 * google-gax as the clients use it (`gaxInstance`, fallback REST), whose GrpcClient answers the
 * Compute protos with the narrower root, built on first use and shared by every client.
 */
export function narrowGax(): Promise<{fallback: FallbackGax}> {
  narrowed ??= (async () => {
    const gax = (await import('google-gax')) as unknown as {fallback?: FallbackGax; default?: {fallback: FallbackGax}}
    const fallback = (gax.fallback ?? gax.default?.fallback) as FallbackGax
    const roots = new WeakMap<Json, unknown>()
    class NarrowGrpcClient extends fallback.GrpcClient {
      override loadProtoJSON(json: Json, ignoreCache?: boolean): unknown {
        if (!roots.has(json)) {
          const narrow = narrowProtos(json, COMPUTE_SERVICES)
          roots.set(json, narrow ? fallback.protobuf.Root.fromJSON(narrow) : undefined)
        }
        return roots.get(json) ?? super.loadProtoJSON(json, ignoreCache)
      }
    }
    return {fallback: Object.create(fallback, {GrpcClient: {value: NarrowGrpcClient}}) as FallbackGax}
  })()
  return narrowed
}
