/**
 * The EndpointSlice mirroring controller (kube-controller-manager's
 * pkg/controller/endpointslicemirroring): the Endpoints of a Service without a selector (the
 * lab's topology Services, hand-made ones) are mirrored into EndpointSlices, so that a reader of
 * slices sees them as one of Endpoints does. Per subset's port list one IPv4 slice with at most
 * MAX_PER_SUBSET addresses (`addresses` ready, `notReadyAddresses` not), each endpoint with the
 * address's targetRef, nodeName and hostname. A slice is named `<endpoints>-<random>`, owned by
 * the Endpoints (the garbage collector deletes it with them), labelled with the Endpoints' labels
 * plus `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by:
 * endpointslicemirroring-controller.k8s.io`, annotated with their annotations but the trigger
 * time and kubectl's last-applied configuration. Nothing is mirrored, and mirrored slices are
 * deleted, when the Service is missing or has a selector, or the Endpoints carry
 * `endpointslice.kubernetes.io/skip-mirror: "true"` or a leader-election record. A slice is
 * written only when its endpoints change; a slice about to be deleted is reused for a new one.
 */
import type {ClusterApi} from '../api.js'
import type {StoreEvent} from '../store.js'
import {type KubeObject, jsonEqual, objectKey} from '../types.js'
import {selectorOf} from './endpoints.js'
import {MANAGED_BY_LABEL, SERVICE_NAME_LABEL, type SliceEndpoint} from './endpointslices.js'
import {CONTROLLER_BACKOFF} from './queue.js'
import {StoreController} from './store-controller.js'

export const MIRRORING_CONTROLLER = 'endpointslicemirroring-controller.k8s.io'
export const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror'
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader'
const NOT_COPIED = ['endpoints.kubernetes.io/last-change-trigger-time', 'kubectl.kubernetes.io/last-applied-configuration']
/** --mirroring-max-endpoints-per-subset's default */
const MAX_PER_SUBSET = 1000

interface EndpointsAddress {
  ip?: string
  hostname?: string
  nodeName?: string
  targetRef?: Record<string, unknown>
}

interface EndpointsSubset {
  addresses?: EndpointsAddress[]
  notReadyAddresses?: EndpointsAddress[]
  ports?: Array<{name?: string; port?: number; protocol?: string; appProtocol?: string}>
}

type MirroredEndpoint = Omit<SliceEndpoint, 'conditions' | 'targetRef'> & {conditions: {ready: boolean}; targetRef?: Record<string, unknown>}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

/** per port list of the Endpoints' subsets (JSON of the slice ports), the ports and the endpoints to mirror */
export function mirroredEndpoints(endpoints: KubeObject): Map<string, {ports: unknown[]; endpoints: MirroredEndpoint[]}> {
  const out = new Map<string, {ports: unknown[]; endpoints: MirroredEndpoint[]}>()
  for (const subset of (Array.isArray(endpoints.subsets) ? endpoints.subsets : []) as EndpointsSubset[]) {
    const ports = (subset.ports ?? []).map((p) => ({name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? {appProtocol: p.appProtocol} : {})}))
    const key = JSON.stringify(ports)
    const entry = out.get(key) ?? {ports, endpoints: []}
    out.set(key, entry)
    const listed = [...(subset.addresses ?? []).map((a) => ({a, ready: true})), ...(subset.notReadyAddresses ?? []).map((a) => ({a, ready: false}))]
    // only IPv4 addresses are mirrored here (the lab is IPv4); an invalid one is skipped
    for (const {a, ready} of listed.filter(({a}) => IPV4.test(a.ip ?? '')).slice(0, MAX_PER_SUBSET)) {
      const endpoint: MirroredEndpoint = {
        addresses: [a.ip!], conditions: {ready},
        ...(a.hostname ? {hostname: a.hostname} : {}), ...(a.nodeName ? {nodeName: a.nodeName} : {}), ...(a.targetRef ? {targetRef: a.targetRef} : {}),
      }
      if (!entry.endpoints.some((e) => jsonEqual(e, endpoint))) entry.endpoints.push(endpoint)
    }
  }
  for (const [key, entry] of out) {
    if (entry.endpoints.length === 0) out.delete(key)
    else entry.endpoints.sort((a, b) => a.addresses[0]!.localeCompare(b.addresses[0]!, 'en', {numeric: true}))
  }
  return out
}

const sameEndpoints = (a: unknown, b: readonly MirroredEndpoint[]): boolean => {
  const key = (e: unknown): string => JSON.stringify(e, Object.keys(e as object).sort())
  return Array.isArray(a) && jsonEqual([...a].sort((x, y) => key(x).localeCompare(key(y))), [...b].sort((x, y) => key(x).localeCompare(key(y))))
}

export class EndpointSliceMirroringController extends StoreController {
  private readonly api: ClusterApi

  constructor(api: ClusterApi) {
    super(api.store, CONTROLLER_BACKOFF)
    this.api = api
  }

  private get types() {
    const r = this.store.registry
    return {services: r.get('services'), endpoints: r.get('endpoints'), slices: r.get('endpointslices', 'discovery.k8s.io')}
  }

  start(): void {
    const {services, endpoints, slices} = this.types
    this.watch((event: StoreEvent) => {
      const {namespace, name, labels} = event.object.metadata
      if (event.resource === services || event.resource === endpoints) this.queue.add(objectKey(namespace, name!))
      else if (event.resource === slices && labels?.[MANAGED_BY_LABEL] === MIRRORING_CONTROLLER && labels[SERVICE_NAME_LABEL]) this.queue.add(objectKey(namespace, labels[SERVICE_NAME_LABEL]))
    })
    for (const ep of this.store.list(endpoints)) this.queue.add(objectKey(ep.metadata.namespace, ep.metadata.name!))
  }

  protected handle(key: string): void {
    const [namespace, name] = key.split('/') as [string, string]
    const {services, endpoints: endpointsType, slices} = this.types
    const endpoints = this.store.get(endpointsType, namespace, name)
    const service = this.store.get(services, namespace, name)
    const existing = this.store.list(slices, namespace).filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.metadata.labels[MANAGED_BY_LABEL] === MIRRORING_CONTROLLER)
    const mirror = endpoints && service && !selectorOf(service) && endpoints.metadata.labels?.[SKIP_MIRROR_LABEL] !== 'true' && endpoints.metadata.annotations?.[LEADER_ANNOTATION] === undefined
    const desired = mirror ? mirroredEndpoints(endpoints) : new Map<string, {ports: unknown[]; endpoints: MirroredEndpoint[]}>()
    const byPorts = new Map<string, KubeObject[]>()
    for (const slice of existing) {
      const k = JSON.stringify(Array.isArray(slice.ports) ? slice.ports : [])
      byPorts.set(k, [...(byPorts.get(k) ?? []), slice])
    }
    const update: Array<{slice: KubeObject; ports: unknown[]; endpoints: MirroredEndpoint[]}> = []
    const create: Array<{ports: unknown[]; endpoints: MirroredEndpoint[]}> = []
    const remove: KubeObject[] = []
    for (const [k, slicesOfKey] of byPorts) if (!desired.has(k)) remove.push(...slicesOfKey)
    for (const [k, want] of desired) {
      const [first, ...rest] = byPorts.get(k) ?? []
      remove.push(...rest)
      if (!first) create.push(want)
      else if (!sameEndpoints(first.endpoints, want.endpoints)) update.push({slice: first, ...want})
    }
    // recycle: a slice about to be deleted takes a new one's place
    while (create.length > 0 && remove.length > 0) update.push({slice: remove.shift()!, ...create.shift()!})
    if (endpoints && !endpoints.metadata.deletionTimestamp) {
      const meta = this.sliceMeta(endpoints)
      for (const {slice, ports, endpoints: list} of update) {
        this.api.update(slices, namespace, slice.metadata.name!, {...structuredClone(slice), metadata: {...structuredClone(slice.metadata), ...meta}, addressType: 'IPv4', ports, endpoints: list})
      }
      for (const {ports, endpoints: list} of create) {
        this.api.create(slices, namespace, {apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: {generateName: `${name}-`, namespace, ...meta}, addressType: 'IPv4', ports, endpoints: list})
      }
    }
    for (const slice of remove) this.api.deleteIfPresent(slices, namespace, slice.metadata.name!)
  }

  private sliceMeta(endpoints: KubeObject): Pick<KubeObject['metadata'], 'labels' | 'annotations' | 'ownerReferences'> {
    const annotations = Object.fromEntries(Object.entries(endpoints.metadata.annotations ?? {}).filter(([k]) => !NOT_COPIED.includes(k)))
    return {
      labels: {...(endpoints.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: endpoints.metadata.name!, [MANAGED_BY_LABEL]: MIRRORING_CONTROLLER},
      ...(Object.keys(annotations).length > 0 ? {annotations} : {}),
      ownerReferences: [{apiVersion: 'v1', kind: 'Endpoints', name: endpoints.metadata.name!, uid: endpoints.metadata.uid!, controller: true, blockOwnerDeletion: true}],
    }
  }
}
