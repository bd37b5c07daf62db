/**
 * What the API server does to an object before storing it: defaults (as the real server's
 * defaulting does for the fields the lab reads), validation of the fields the lab depends on,
 * immutability of pod specs, and allocation of Service cluster IPs and node ports. Pod specs are
 * admitted by pod-admission.ts, workloads (DaemonSets, Deployments) by workload-admission.ts.
 */
import {invalid} from './errors.js'
import type {ObjectStore} from './store.js'
import {type KubeObject, type Pod, type PodSpec, type NodeObject, isPlainObject, jsonEqual, nowIso} from './types.js'
import {admitRbac} from './rbac/validation.js'
import {defaultPodSpec, validatePodSpec} from './pod-admission.js'
import {checkDeploymentUpdate, defaultDaemonSet, defaultDeployment} from './workload-admission.js'

export const KUBELET_VERSION = 'v1.32.0-xcc'

/** Pod spec fields an update may change: container images, activeDeadlineSeconds, tolerations. */
function podSpecMutableStripped(spec: PodSpec): unknown {
  const copy = structuredClone(spec)
  for (const c of [...(copy.containers ?? []), ...(copy.initContainers ?? [])]) if (isPlainObject(c)) delete c.image
  delete copy.activeDeadlineSeconds
  delete copy.tolerations
  return copy
}

export interface AdmissionContext {
  readonly store: ObjectStore
  readonly serviceCidr: {base: number; size: number}
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')
}

export function parseCidr(cidr: string): {base: number; size: number} {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr)
  if (!m) throw new Error(`not an IPv4 CIDR: ${cidr}`)
  const prefix = Number(m[5])
  const ip = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0
  const size = 2 ** (32 - prefix)
  return {base: prefix === 0 ? 0 : (ip & ~(size - 1)) >>> 0, size}
}

function allocateClusterIp(context: AdmissionContext): string {
  const used = new Set(context.store.list(context.store.registry.get('services')).map((s) => (s.spec as {clusterIP?: string} | undefined)?.clusterIP))
  // .1 is the `kubernetes` Service's address, as on a real cluster
  for (let offset = 2; offset < context.serviceCidr.size - 1; offset++) {
    const ip = intToIp(context.serviceCidr.base + offset)
    if (!used.has(ip)) return ip
  }
  throw new Error('the service range is full')
}

function allocateNodePort(context: AdmissionContext, taken: Set<number>): number {
  for (const service of context.store.list(context.store.registry.get('services'))) {
    for (const port of ((service.spec as {ports?: Array<{nodePort?: number}>} | undefined)?.ports ?? [])) if (port.nodePort) taken.add(port.nodePort)
  }
  for (let port = 30000; port <= 32767; port++) if (!taken.has(port)) return port
  throw new Error('no free node port')
}

function defaultService(object: KubeObject, context: AdmissionContext, creating: boolean): void {
  const spec = (object.spec = isPlainObject(object.spec) ? object.spec : {})
  spec.type ??= 'ClusterIP'
  spec.sessionAffinity ??= 'None'
  if (spec.type === 'ExternalName') return
  if (creating && (spec.clusterIP === undefined || spec.clusterIP === '')) spec.clusterIP = allocateClusterIp(context)
  if (spec.clusterIP && spec.clusterIP !== 'None') spec.clusterIPs ??= [spec.clusterIP]
  spec.ipFamilies ??= ['IPv4']
  spec.ipFamilyPolicy ??= 'SingleStack'
  spec.internalTrafficPolicy ??= 'Cluster'
  const ports = Array.isArray(spec.ports) ? (spec.ports as Array<Record<string, unknown>>) : []
  const needsNodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer'
  if (needsNodePorts) spec.externalTrafficPolicy ??= 'Cluster'
  const taken = new Set<number>()
  for (const port of ports) {
    port.protocol ??= 'TCP'
    port.targetPort ??= port.port
    if (needsNodePorts && creating && port.nodePort === undefined) {
      port.nodePort = allocateNodePort(context, taken)
      taken.add(port.nodePort as number)
    }
  }
  if (creating) object.status ??= {loadBalancer: {}}
}

/** Defaults and validation for a new object (returns the object, edited in place). */
export function admitCreate(object: KubeObject, context: AdmissionContext): KubeObject {
  const name = object.metadata.name ?? object.metadata.generateName ?? ''
  switch (object.kind) {
    case 'Pod': {
      const pod = object as Pod
      if (isPlainObject(pod.spec)) defaultPodSpec(pod.spec)
      const causes = validatePodSpec(pod.spec, 'spec')
      if ((pod.spec?.ephemeralContainers ?? []).length > 0) causes.push({reason: 'FieldValueForbidden', field: 'spec.ephemeralContainers', message: 'Forbidden: cannot be set on create'})
      if (causes.length > 0) throw invalid('Pod', name, causes)
      pod.status = {phase: 'Pending', qosClass: 'BestEffort'}
      break
    }
    case 'Namespace':
      object.metadata.labels = {...(object.metadata.labels ?? {}), 'kubernetes.io/metadata.name': object.metadata.name ?? ''}
      object.spec = {finalizers: ['kubernetes']}
      object.status = {phase: 'Active'}
      break
    case 'Node':
      defaultNodeStatus(object as NodeObject)
      break
    case 'Service':
      defaultService(object, context, true)
      break
    case 'Secret':
      defaultSecret(object)
      break
    case 'DaemonSet':
      defaultDaemonSet(object, name)
      object.status = {currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0}
      break
    case 'Deployment':
      defaultDeployment(object, name)
      object.status = {}
      break
    case 'ConfigMap':
      omitEmptyData(object)
      break
  }
  admitRbac(object, undefined)
  return object
}

/** Defaults and validation for an update, given the stored object. */
export function admitUpdate(object: KubeObject, current: KubeObject, context: AdmissionContext): KubeObject {
  const name = current.metadata.name ?? ''
  switch (object.kind) {
    case 'Pod': {
      const pod = object as Pod
      if (isPlainObject(pod.spec)) defaultPodSpec(pod.spec)
      const causes = validatePodSpec(pod.spec, 'spec')
      if (causes.length > 0) throw invalid('Pod', name, causes)
      if (!jsonEqual(podSpecMutableStripped(pod.spec), podSpecMutableStripped((current as Pod).spec))) {
        throw invalid('Pod', name, [
          {
            reason: 'FieldValueForbidden',
            field: 'spec',
            message:
              'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
          },
        ])
      }
      break
    }
    case 'Namespace':
      object.spec = current.spec
      break
    case 'Service': {
      const spec = isPlainObject(object.spec) ? object.spec : {}
      const old = (current.spec ?? {}) as Record<string, unknown>
      if ((spec.clusterIP === undefined || spec.clusterIP === '') && old.clusterIP) spec.clusterIP = old.clusterIP
      object.spec = spec
      defaultService(object, context, false)
      break
    }
    case 'Secret':
      defaultSecret(object)
      break
    case 'DaemonSet':
      defaultDaemonSet(object, name)
      if (!jsonEqual((object.spec as {selector?: unknown}).selector, (current.spec as {selector?: unknown} | undefined)?.selector)) {
        throw invalid('DaemonSet', name, [{reason: 'FieldValueInvalid', field: 'spec.selector', message: 'Invalid value: field is immutable'}], 'apps')
      }
      break
    case 'Deployment':
      defaultDeployment(object, name)
      checkDeploymentUpdate(object, current, name)
      break
    case 'ConfigMap':
      omitEmptyData(object)
      break
  }
  admitRbac(object, current)
  return object
}

function defaultNodeStatus(node: NodeObject): void {
  const status = (node.status = isPlainObject(node.status) ? node.status : {})
  const conditions = (status.conditions = Array.isArray(status.conditions) ? status.conditions : [])
  if (!conditions.some((c) => c.type === 'Ready')) {
    const now = nowIso()
    conditions.push({type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now})
  }
  // what `kubectl describe node` divides by; the lab does not account resources
  const capacity = {cpu: '2', memory: '8Gi', pods: '110', 'ephemeral-storage': '20Gi'}
  status.capacity ??= capacity
  status.allocatable ??= capacity
  status.nodeInfo = {
    kubeletVersion: KUBELET_VERSION,
    kubeProxyVersion: KUBELET_VERSION,
    operatingSystem: 'linux',
    architecture: 'amd64',
    osImage: 'xcc lab',
    containerRuntimeVersion: 'xcc-lab://1',
    kernelVersion: '',
    ...(status.nodeInfo ?? {}),
  }
}

function defaultSecret(object: KubeObject): void {
  object.type ??= 'Opaque'
  if (isPlainObject(object.stringData)) {
    const data = isPlainObject(object.data) ? object.data : {}
    for (const [key, value] of Object.entries(object.stringData)) data[key] = Buffer.from(String(value), 'utf8').toString('base64')
    object.data = data
    delete object.stringData
  }
}

/** `data` and `binaryData` are omitempty maps: an empty one is not stored (the real API never returns `data: {}`) */
function omitEmptyData(object: KubeObject): void {
  for (const key of ['data', 'binaryData']) if (isPlainObject(object[key]) && Object.keys(object[key]).length === 0) delete object[key]
}
