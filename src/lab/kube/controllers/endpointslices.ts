/**
 * The EndpointSlice controller (kube-controller-manager's pkg/controller/endpointslice with the
 * k8s.io/endpointslice reconciler) for Services with a selector: the pods the endpoints
 * controller would list (endpoints.ts), terminating ones included, become `discovery.k8s.io/v1`
 * EndpointSlices of address type IPv4, one set of slices per distinct port list, at most
 * MAX_ENDPOINTS endpoints a slice. Each endpoint has the pod's addresses, the conditions `ready`
 * (ready and not terminating, or publishNotReadyAddresses), `serving` (ready) and `terminating`,
 * nodeName, the node's zone, a hostname when the pod names the Service as its subdomain, and a
 * targetRef to the pod. A slice is named `<service>-<random>`, owned by the Service (the garbage
 * collector deletes it with the Service) and labelled with the Service's labels plus
 * `kubernetes.io/service-name`, `endpointslice.kubernetes.io/managed-by` and, without a cluster
 * IP, `service.kubernetes.io/headless`. A Service without endpoints keeps one placeholder slice
 * without ports or endpoints. Existing slices are updated in place (kept endpoints keep their
 * place, new ones fill the slices with room first); an unchanged slice is never written.
 *
 * Not emulated: the mirroring of hand-made Endpoints of Services without a selector (the
 * endpointslicemirroring controller), topology hints, the trigger-time annotation, IPv6 slices.
 */
import type {ClusterApi} from '../api.js'
import type {StoreEvent} from '../store.js'
import {type KubeObject, type NodeObject, type Pod, jsonEqual, objectKey} from '../types.js'
import {HEADLESS_LABEL, findPort, isPodReady, selectorOf, selects, serviceSpec, servicesOfPod, shouldPodBeInEndpoints} from './endpoints.js'
import {CONTROLLER_BACKOFF} from './queue.js'
import {StoreController} from './store-controller.js'

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name'
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by'
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io'
export const MAX_ENDPOINTS = 100

export interface SlicePort {
  name: string
  port: number
  protocol: string
  appProtocol?: string
}

export interface SliceEndpoint {
  addresses: string[]
  conditions: {ready: boolean; serving: boolean; terminating: boolean}
  hostname?: string
  nodeName?: string
  zone?: string
  targetRef: {kind: 'Pod'; namespace: string; name: string; uid: string}
}

/** the endpoints a Service's slices should hold, per port list (JSON of the ports → ports and endpoints) */
export function desiredEndpoints(service: KubeObject, pods: readonly Pod[], nodes: ReadonlyMap<string, NodeObject>): Map<string, {ports: SlicePort[]; endpoints: SliceEndpoint[]}> {
  const spec = serviceSpec(service)
  const out = new Map<string, {ports: SlicePort[]; endpoints: SliceEndpoint[]}>()
  for (const pod of pods) {
    // slices keep terminating pods (their conditions say so)
    if (!shouldPodBeInEndpoints(pod, true)) continue
    const addresses = (pod.status?.podIPs ?? (pod.status?.podIP ? [{ip: pod.status.podIP}] : [])).map((a) => a.ip).filter((ip) => !ip.includes(':'))
    if (addresses.length === 0) continue
    const ports: SlicePort[] = []
    if (!((spec.ports ?? []).length === 0 && spec.clusterIP === 'None')) {
      for (const servicePort of spec.ports ?? []) {
        const number = findPort(pod, servicePort)
        if (number !== undefined) ports.push({name: servicePort.name ?? '', port: number, protocol: servicePort.protocol ?? 'TCP', ...(servicePort.appProtocol ? {appProtocol: servicePort.appProtocol} : {})})
      }
    }
    const serving = isPodReady(pod)
    const terminating = pod.metadata.deletionTimestamp !== undefined
    const nodeName = pod.spec.nodeName
    const zone = nodeName ? nodes.get(nodeName)?.metadata.labels?.['topology.kubernetes.io/zone'] : undefined
    const hostname = pod.spec.hostname
    const endpoint: SliceEndpoint = {
      addresses,
      conditions: {ready: spec.publishNotReadyAddresses === true || (serving && !terminating), serving, terminating},
      ...(typeof hostname === 'string' && hostname !== '' && pod.spec.subdomain === service.metadata.name ? {hostname} : {}),
      ...(nodeName ? {nodeName} : {}),
      ...(zone ? {zone} : {}),
      targetRef: {kind: 'Pod', namespace: pod.metadata.namespace!, name: pod.metadata.name!, uid: pod.metadata.uid!},
    }
    const key = JSON.stringify(ports)
    const entry = out.get(key) ?? {ports, endpoints: []}
    entry.endpoints.push(endpoint)
    out.set(key, entry)
  }
  for (const entry of out.values()) entry.endpoints.sort((a, b) => (a.addresses[0] ?? '').localeCompare(b.addresses[0] ?? '', 'en', {numeric: true}) || a.targetRef.uid.localeCompare(b.targetRef.uid))
  return out
}

/** the labels of a Service's slices: its own but the reserved ones, then the reserved ones set */
function sliceLabels(service: KubeObject): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const [key, value] of Object.entries(service.metadata.labels ?? {})) if (![SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL].includes(key)) labels[key] = value
  const clusterIP = serviceSpec(service).clusterIP
  if (!clusterIP || clusterIP === 'None') labels[HEADLESS_LABEL] = ''
  labels[SERVICE_NAME_LABEL] = service.metadata.name!
  labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
  return labels
}

interface SliceWork {
  existing?: KubeObject
  ports: SlicePort[]
  endpoints: SliceEndpoint[]
}

/**
 * What the Service's slices should become: per port list, the existing slices with their kept
 * endpoints (updated), the new endpoints filling the slices with room, then new slices; slices
 * left empty go (but a single placeholder when the Service has no endpoints at all).
 */
export function planSlices(existing: readonly KubeObject[], desired: ReadonlyMap<string, {ports: SlicePort[]; endpoints: SliceEndpoint[]}>): {keep: SliceWork[]; remove: KubeObject[]} {
  const keep: SliceWork[] = []
  const remove: KubeObject[] = []
  const byPorts = new Map<string, KubeObject[]>()
  for (const slice of existing) {
    const key = JSON.stringify(Array.isArray(slice.ports) ? slice.ports : [])
    if (desired.has(key)) byPorts.set(key, [...(byPorts.get(key) ?? []), slice])
    else remove.push(slice)
  }
  for (const [key, {ports, endpoints}] of desired) {
    const wanted = new Map(endpoints.map((e) => [e.targetRef.uid, e]))
    const placed = new Set<string>()
    const works: SliceWork[] = []
    for (const slice of byPorts.get(key) ?? []) {
      const kept = ((Array.isArray(slice.endpoints) ? slice.endpoints : []) as SliceEndpoint[])
        .map((e) => wanted.get(e.targetRef?.uid))
        .filter((e): e is SliceEndpoint => e !== undefined && !placed.has(e.targetRef.uid))
        .slice(0, MAX_ENDPOINTS)
      for (const e of kept) placed.add(e.targetRef.uid)
      works.push({existing: slice, ports, endpoints: kept})
    }
    const fresh = endpoints.filter((e) => !placed.has(e.targetRef.uid))
    for (const work of works) while (work.endpoints.length < MAX_ENDPOINTS && fresh.length > 0) work.endpoints.push(fresh.shift()!)
    while (fresh.length > 0) works.push({ports, endpoints: fresh.splice(0, MAX_ENDPOINTS)})
    for (const work of works) {
      if (work.endpoints.length > 0) keep.push(work)
      else remove.push(work.existing!)
    }
  }
  if (keep.length === 0) {
    // the placeholder: kept when it is already there, else made
    const placeholder = remove.find((s) => (!Array.isArray(s.ports) || s.ports.length === 0) && (!Array.isArray(s.endpoints) || s.endpoints.length === 0))
    keep.push({...(placeholder ? {existing: placeholder} : {}), ports: [], endpoints: []})
    if (placeholder) remove.splice(remove.indexOf(placeholder), 1)
  }
  // finalize: a slice about to be deleted is reused for one about to be made (an update instead)
  for (const work of keep) {
    if (work.existing || remove.length === 0) continue
    work.existing = remove.shift()
  }
  return {keep, remove}
}

export class EndpointSliceController extends StoreController {
  private readonly api: ClusterApi

  constructor(api: ClusterApi) {
    super(api.store, CONTROLLER_BACKOFF)
    this.api = api
  }

  private get types() {
    const r = this.store.registry
    return {services: r.get('services'), slices: r.get('endpointslices', 'discovery.k8s.io'), pods: r.get('pods'), nodes: r.get('nodes')}
  }

  start(): void {
    const {services, slices, pods} = this.types
    this.watch((event: StoreEvent) => {
      const {namespace, name} = event.object.metadata
      if (event.resource === services) this.queue.add(objectKey(namespace, name!))
      else if (event.resource === pods) for (const key of servicesOfPod(this.store, event)) this.queue.add(key)
      else if (event.resource === slices && event.object.metadata.labels?.[MANAGED_BY_LABEL] === CONTROLLER_NAME) {
        const service = event.object.metadata.labels[SERVICE_NAME_LABEL]
        if (service) this.queue.add(objectKey(namespace, service))
      }
    })
    for (const service of this.store.list(services)) this.queue.add(objectKey(service.metadata.namespace, service.metadata.name!))
  }

  protected handle(key: string): void {
    const [namespace, name] = key.split('/') as [string, string]
    const {services, slices, pods, nodes} = this.types
    const service = this.store.get(services, namespace, name)
    // a Service that is gone takes its slices with it (garbage collection of owned objects)
    if (!service || service.metadata.deletionTimestamp) return
    const spec = serviceSpec(service)
    const selector = selectorOf(service)
    if (spec.type === 'ExternalName' || !selector) return
    const matched = (this.store.list(pods, namespace) as Pod[]).filter((p) => selects(selector, p.metadata.labels))
    const nodeMap = new Map((this.store.list(nodes) as NodeObject[]).map((n) => [n.metadata.name!, n]))
    const owned = this.store.list(slices, namespace).filter((s) =>
      s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.metadata.labels[MANAGED_BY_LABEL] === CONTROLLER_NAME && !s.metadata.deletionTimestamp &&
      (s.metadata.ownerReferences ?? []).some((o) => o.uid === service.metadata.uid && o.kind === 'Service' && o.apiVersion === 'v1'))
    const plan = planSlices(owned, desiredEndpoints(service, matched, nodeMap))
    const labels = sliceLabels(service)
    for (const work of plan.keep) {
      if (work.existing) {
        const current = work.existing
        if (jsonEqual(current.endpoints ?? [], work.endpoints) && jsonEqual(current.ports ?? [], work.ports) && jsonEqual(current.metadata.labels ?? {}, labels)) continue
        this.api.update(slices, namespace, current.metadata.name!, {...structuredClone(current), metadata: {...structuredClone(current.metadata), labels}, ports: work.ports, endpoints: work.endpoints})
      } else {
        this.api.create(slices, namespace, {
          apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
          metadata: {generateName: `${name}-`, namespace, labels, ownerReferences: [{apiVersion: 'v1', kind: 'Service', name, uid: service.metadata.uid!, controller: true, blockOwnerDeletion: true}]},
          addressType: 'IPv4', ports: work.ports, endpoints: work.endpoints,
        })
      }
    }
    for (const slice of plan.remove) this.api.deleteIfPresent(slices, namespace, slice.metadata.name!)
  }
}
