/**
 * The endpoints controller (kube-controller-manager's pkg/controller/endpoint): every Service
 * with a selector (not ExternalName) gets an `Endpoints` object of the same name whose subsets
 * list the pods the selector matches: ready pods in `addresses`, the others in
 * `notReadyAddresses` (all in `addresses` when the Service has `publishNotReadyAddresses`), each
 * with its IP, nodeName and a targetRef to the pod; per Service port the pod's port (a numeric
 * targetPort as is, a named one looked up in the pod's container ports with the Service port's
 * protocol; a pod without that name is left out of that port). Terminal pods (Succeeded, Failed),
 * pods without an IP and terminating pods (unless publishNotReadyAddresses) are left out. The
 * subsets are repacked as upstream's RepackSubsets: addresses with the same ports share a subset.
 * Labels are the Service's, plus `service.kubernetes.io/headless` for a Service without a
 * cluster IP. A Service without a selector is left alone (its Endpoints are written by hand, as
 * the lab's topology Services are). When the Service goes, its Endpoints are deleted; at start,
 * Endpoints without a Service are deleted too (checkLeftoverEndpoints). An unchanged object is
 * never written again.
 *
 * Orders where upstream sorts by a hash of the Go value (ports, subsets) follow the Service's
 * port order instead; the `endpoints.kubernetes.io/last-change-trigger-time` annotation and the
 * 1000-address truncation are not emulated.
 */
import type {ClusterApi} from '../api.js'
import {ApiError} from '../errors.js'
import type {ObjectStore, StoreEvent} from '../store.js'
import {type KubeObject, type Pod, isPlainObject, jsonEqual, objectKey} from '../types.js'
import type {EventRecorder} from './events.js'
import {CONTROLLER_BACKOFF} from './queue.js'
import {StoreController} from './store-controller.js'

const COMPONENT = 'endpoint-controller'
export const HEADLESS_LABEL = 'service.kubernetes.io/headless'
/** Endpoints carrying this annotation are leader-election records, never leftovers */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader'

export interface ServicePort {
  name?: string
  port?: number
  protocol?: string
  appProtocol?: string
  targetPort?: number | string
}

export interface ServiceSpec {
  type?: string
  clusterIP?: string
  selector?: Record<string, string>
  publishNotReadyAddresses?: boolean
  ports?: ServicePort[]
}

export interface EndpointAddress {
  ip: string
  hostname?: string
  nodeName?: string
  targetRef: {kind: 'Pod'; namespace: string; name: string; uid: string}
}

export interface EndpointPort {
  name?: string
  port: number
  protocol: string
  appProtocol?: string
}

export interface EndpointSubset {
  addresses?: EndpointAddress[]
  notReadyAddresses?: EndpointAddress[]
  ports?: EndpointPort[]
}

export function serviceSpec(service: KubeObject): ServiceSpec {
  return (isPlainObject(service.spec) ? service.spec : {}) as ServiceSpec
}

export function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
}

/** endpointsliceutil.ShouldPodBeInEndpoints: not terminal, has an IP, not terminating unless `includeTerminating` */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase
  if (phase === 'Succeeded' || phase === 'Failed') return false
  if (!pod.status?.podIP && (pod.status?.podIPs ?? []).length === 0) return false
  return includeTerminating || !pod.metadata.deletionTimestamp
}

/** podutil.FindPort: a numeric targetPort as is; a named one from the containers (and restartable init containers) with the port's protocol */
export function findPort(pod: Pod, port: ServicePort): number | undefined {
  const target = port.targetPort ?? port.port
  if (typeof target === 'number') return target
  if (typeof target !== 'string') return undefined
  const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')
  for (const container of [...pod.spec.containers, ...sidecars]) {
    const ports = (Array.isArray(container.ports) ? container.ports : []) as Array<{name?: string; containerPort?: number; protocol?: string}>
    const found = ports.find((p) => p.name === target && (p.protocol ?? 'TCP') === (port.protocol ?? 'TCP'))
    if (found?.containerPort !== undefined) return found.containerPort
  }
  return undefined
}

/**
 * The Service's selector when it has one: an empty selector is none, as on a real API server
 * (stored as protobuf, `selector: {}` comes back absent)
 */
export function selectorOf(service: KubeObject): Record<string, string> | undefined {
  const selector = serviceSpec(service).selector
  return isPlainObject(selector) && Object.keys(selector).length > 0 ? selector : undefined
}

export function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v)
}

/** the pod's address of the Service's IP family (the lab is IPv4: the first IPv4 pod IP) */
function podAddress(service: KubeObject, pod: Pod): EndpointAddress | undefined {
  const ips = (pod.status?.podIPs ?? []).map((a) => a.ip)
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP)
  const spec = serviceSpec(service)
  const families = (spec as {ipFamilies?: string[]}).ipFamilies
  const v6 = families?.[0] ? families[0] === 'IPv6' : spec.clusterIP && spec.clusterIP !== 'None' ? spec.clusterIP.includes(':') : (ips[0] ?? '').includes(':')
  const ip = ips.find((a) => a.includes(':') === v6)
  if (!ip) return undefined
  const hostname = pod.spec.hostname
  const subdomain = pod.spec.subdomain
  return {
    ip,
    // endpointsliceutil.ShouldSetHostname
    ...(typeof hostname === 'string' && hostname !== '' && subdomain === service.metadata.name ? {hostname} : {}),
    ...(pod.spec.nodeName ? {nodeName: pod.spec.nodeName} : {}),
    targetRef: {kind: 'Pod', namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid!},
  }
}

function byAddress(a: EndpointAddress, b: EndpointAddress): number {
  return a.ip.localeCompare(b.ip, 'en', {numeric: true}) || a.targetRef.uid.localeCompare(b.targetRef.uid)
}

/**
 * The subsets of a Service with a selector for the given pods (the controller's syncService and
 * RepackSubsets): every address with its ports, grouped so that addresses offering the same
 * ports (with the same readiness) share one subset. A headless Service without ports lists its
 * addresses without ports.
 */
export function endpointSubsets(service: KubeObject, pods: readonly Pod[]): EndpointSubset[] {
  const spec = serviceSpec(service)
  const ports = spec.ports ?? []
  const tolerate = spec.publishNotReadyAddresses === true
  // per port (in the Service's order; `undefined`: the headless sentinel), the addresses and whether ready
  const byPort = new Map<string, {port?: EndpointPort; addresses: Map<string, {address: EndpointAddress; ready: boolean}>}>()
  const offer = (key: string, port: EndpointPort | undefined, address: EndpointAddress, ready: boolean): void => {
    const entry = byPort.get(key) ?? {...(port ? {port} : {}), addresses: new Map()}
    byPort.set(key, entry)
    const id = `${address.ip}/${address.targetRef.uid}`
    // an address ready in one place is ready (mapAddressByPort)
    entry.addresses.set(id, {address, ready: ready || (entry.addresses.get(id)?.ready ?? false)})
  }
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, tolerate)) continue
    const address = podAddress(service, pod)
    if (!address) continue
    const ready = tolerate || isPodReady(pod)
    if (ports.length === 0) {
      if (spec.clusterIP === 'None') offer('', undefined, address, ready)
      continue
    }
    ports.forEach((servicePort, index) => {
      const number = findPort(pod, servicePort)
      if (number === undefined) return
      const port: EndpointPort = {...(servicePort.name ? {name: servicePort.name} : {}), port: number, protocol: servicePort.protocol ?? 'TCP', ...(servicePort.appProtocol ? {appProtocol: servicePort.appProtocol} : {})}
      offer(`${index}:${JSON.stringify(port)}`, port, address, ready)
    })
  }
  // addresses offering the same set of ports form one subset
  const groups = new Map<string, EndpointSubset>()
  // the Service's port order, then the port number: the same result whatever order the pods come in
  const order = (key: string): [number, string] => [Number(key.split(':')[0] || 0), key]
  const entries = [...byPort.entries()].sort(([a], [b]) => order(a)[0] - order(b)[0] || order(a)[1].localeCompare(order(b)[1]))
  for (const [, {port, addresses}] of entries) {
    const members = [...addresses.values()]
    const signature = members.map((m) => `${m.address.ip}/${m.address.targetRef.uid}/${m.ready}`).sort().join(',')
    let subset = groups.get(signature)
    if (!subset) {
      const ready = members.filter((m) => m.ready).map((m) => m.address).sort(byAddress)
      const notReady = members.filter((m) => !m.ready).map((m) => m.address).sort(byAddress)
      subset = {...(ready.length ? {addresses: ready} : {}), ...(notReady.length ? {notReadyAddresses: notReady} : {})}
      groups.set(signature, subset)
    }
    if (port) subset.ports = [...(subset.ports ?? []), port]
  }
  return [...groups.values()]
}

/** the labels of a Service's Endpoints: the Service's, and the headless mark when it has no cluster IP */
function endpointsLabels(service: KubeObject): Record<string, string> {
  const labels = {...(service.metadata.labels ?? {})}
  const clusterIP = serviceSpec(service).clusterIP
  if (!clusterIP || clusterIP === 'None') labels[HEADLESS_LABEL] = ''
  else delete labels[HEADLESS_LABEL]
  return labels
}

/** the keys of the Services whose selector matches a changed pod's labels, before or after the change */
export function servicesOfPod(store: ObjectStore, event: StoreEvent): string[] {
  const namespace = event.object.metadata.namespace
  const labelSets = [event.object.metadata.labels, event.previous?.metadata.labels]
  return store.list(store.registry.get('services'), namespace)
    .filter((service) => {
      const selector = selectorOf(service)
      return selector !== undefined && labelSets.some((labels) => selects(selector, labels))
    })
    .map((service) => objectKey(namespace, service.metadata.name!))
}

export class EndpointsController extends StoreController {
  private readonly api: ClusterApi
  private readonly events: EventRecorder

  constructor(api: ClusterApi, events: EventRecorder) {
    super(api.store, CONTROLLER_BACKOFF)
    this.api = api
    this.events = events
  }

  private get types() {
    const r = this.store.registry
    return {services: r.get('services'), endpoints: r.get('endpoints'), pods: r.get('pods')}
  }

  start(): void {
    const {services, endpoints, pods} = this.types
    this.watch((event: StoreEvent) => {
      const {namespace, name} = event.object.metadata
      if (event.resource === services) this.queue.add(objectKey(namespace, name!))
      else if (event.resource === endpoints && event.type === 'DELETED') this.queue.add(objectKey(namespace, name!))
      else if (event.resource === pods) this.podChanged(event)
    })
    for (const service of this.store.list(services)) this.queue.add(objectKey(service.metadata.namespace, service.metadata.name!))
    // checkLeftoverEndpoints: Endpoints whose Service is gone are deleted by their sync
    for (const ep of this.store.list(endpoints)) {
      if (ep.metadata.annotations?.[LEADER_ANNOTATION] === undefined) this.queue.add(objectKey(ep.metadata.namespace, ep.metadata.name!))
    }
  }

  private podChanged(event: StoreEvent): void {
    for (const key of servicesOfPod(this.store, event)) this.queue.add(key)
  }

  protected handle(key: string): void {
    const [namespace, name] = key.split('/') as [string, string]
    const {services, endpoints, pods} = this.types
    const service = this.store.get(services, namespace, name)
    const current = this.store.get(endpoints, namespace, name)
    if (!service) {
      // the Service is gone: so are its Endpoints (they have no owner for the garbage collector)
      if (current) this.api.deleteIfPresent(endpoints, namespace, name)
      return
    }
    const spec = serviceSpec(service)
    // ExternalName Services and Services without a selector get no Endpoints from the controller
    const selector = selectorOf(service)
    if (spec.type === 'ExternalName' || !selector) return
    const matched = (this.store.list(pods, namespace) as Pod[]).filter((p) => selects(selector, p.metadata.labels))
    const subsets = endpointSubsets(service, matched)
    const labels = endpointsLabels(service)
    if (current) {
      const currentLabels = {...(current.metadata.labels ?? {})}
      delete currentLabels[HEADLESS_LABEL]
      const serviceLabels = {...(service.metadata.labels ?? {})}
      // nothing to write: no resourceVersion churn
      if (jsonEqual(current.subsets ?? [], subsets) && jsonEqual(currentLabels, serviceLabels)) {
        return
      }
    }
    const object: KubeObject = current
      ? {...structuredClone(current), subsets}
      : {apiVersion: 'v1', kind: 'Endpoints', metadata: {name, namespace}, subsets}
    object.metadata.labels = labels
    try {
      if (current) this.api.update(endpoints, namespace, name, object)
      else this.api.create(endpoints, namespace, object)
    } catch (error) {
      // a terminating namespace refuses new objects: nothing to retry
      if (!current && error instanceof ApiError && error.code === 403) return
      const reason = current ? 'FailedToUpdateEndpoint' : 'FailedToCreateEndpoint'
      const what = current ? `Failed to update endpoint ${namespace}/${name}` : `Failed to create endpoint for service ${namespace}/${name}`
      this.events.record({...object, metadata: {...object.metadata, ...(current ? {uid: current.metadata.uid} : {})}}, 'Warning', reason, `${what}: ${(error as Error).message}`, COMPONENT)
      throw error
    }
  }

}
