/**
 * What the API server does to an object before storing it: defaults (as the real server's
 * defaulting does for the fields the lab reads), validation of the fields the lab depends on,
 * immutability of pod specs, and allocation of Service cluster IPs and node ports.
 */
import {invalid, type StatusCause} from './errors.js'
import type {ObjectStore} from './store.js'
import {type Container, type KubeObject, type Pod, type PodSpec, type NodeObject, isPlainObject, jsonEqual, nowIso} from './types.js'
import {labelSelectorRequirements, matchesLabels} from './selectors.js'
import {type LabelSelector} from './types.js'
import {admitRbac} from './rbac/validation.js'
import {checkDeploymentUpdate, defaultDeployment} from './deployment-admission.js'

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
export const KUBELET_VERSION = 'v1.32.0-xcc'

function imagePullPolicy(image: string | undefined): string {
  if (!image) return 'IfNotPresent'
  const tag = image.includes('@') ? 'digest' : (image.split('/').pop() ?? '').split(':')[1]
  return !tag || tag === 'latest' ? 'Always' : 'IfNotPresent'
}

export function defaultContainer(container: Container): void {
  container.terminationMessagePath ??= '/dev/termination-log'
  container.terminationMessagePolicy ??= 'File'
  container.imagePullPolicy ??= imagePullPolicy(container.image)
  container.resources ??= {}
  if (Array.isArray(container.ports)) for (const port of container.ports) if (isPlainObject(port)) port.protocol ??= 'TCP'
}

export function defaultPodSpec(spec: PodSpec): void {
  spec.restartPolicy ??= 'Always'
  spec.terminationGracePeriodSeconds ??= 30
  spec.dnsPolicy ??= 'ClusterFirst'
  spec.schedulerName ??= 'default-scheduler'
  spec.serviceAccountName ??= (spec.serviceAccount as string | undefined) ?? 'default'
  spec.serviceAccount = spec.serviceAccountName
  spec.securityContext ??= {}
  spec.enableServiceLinks ??= true
  spec.priority ??= 0
  if (!Array.isArray(spec.containers)) spec.containers = []
  for (const container of [...(spec.initContainers ?? []), ...spec.containers, ...(spec.ephemeralContainers ?? [])]) if (isPlainObject(container)) defaultContainer(container)
}

const MAX_ID = 2_147_483_647

/**
 * The typed fields Pod Security and the kubelet decide on (host namespaces, securityContext):
 * the real server refuses a value of the wrong type while decoding, so that `hostNetwork: "true"`
 * or `runAsUser: "0"` never reaches a check that compares with `true` or `0`.
 */
function typeCauses(value: Record<string, unknown>, fields: Record<string, 'boolean' | 'id' | 'ids' | 'strings'>, prefix: string): StatusCause[] {
  const causes: StatusCause[] = []
  const bad = (field: string, v: unknown, what: string): void => void causes.push({reason: 'FieldValueInvalid', field: `${prefix}.${field}`, message: `Invalid value: ${JSON.stringify(v)}: ${what}`})
  const isId = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_ID
  for (const [field, type] of Object.entries(fields)) {
    const v = value[field]
    if (v === undefined || v === null) continue
    if (type === 'boolean' && typeof v !== 'boolean') bad(field, v, 'must be a boolean')
    if (type === 'id' && !isId(v)) bad(field, v, `must be between 0 and ${MAX_ID}, inclusive`)
    if (type === 'ids' && (!Array.isArray(v) || !v.every(isId))) bad(field, v, `must be a list of integers between 0 and ${MAX_ID}, inclusive`)
    if (type === 'strings' && (!Array.isArray(v) || !v.every((item) => typeof item === 'string'))) bad(field, v, 'must be a list of strings')
  }
  return causes
}

/** a container's securityContext: the types of the fields that grant privileges */
export function containerSecurityCauses(container: Record<string, unknown>, prefix: string): StatusCause[] {
  const context = container.securityContext
  if (context === undefined || context === null) return []
  if (!isPlainObject(context)) return [{reason: 'FieldValueInvalid', field: `${prefix}.securityContext`, message: 'Invalid value: must be an object'}]
  const causes = typeCauses(context, {privileged: 'boolean', allowPrivilegeEscalation: 'boolean', runAsNonRoot: 'boolean', readOnlyRootFilesystem: 'boolean', runAsUser: 'id', runAsGroup: 'id'}, `${prefix}.securityContext`)
  const caps = context.capabilities
  if (caps !== undefined && caps !== null) {
    if (!isPlainObject(caps)) causes.push({reason: 'FieldValueInvalid', field: `${prefix}.securityContext.capabilities`, message: 'Invalid value: must be an object'})
    else causes.push(...typeCauses(caps, {add: 'strings', drop: 'strings'}, `${prefix}.securityContext.capabilities`))
  }
  if (context.privileged === true && context.allowPrivilegeEscalation === false) {
    causes.push({reason: 'FieldValueInvalid', field: `${prefix}.securityContext`, message: 'Invalid value: "false": cannot set `allowPrivilegeEscalation` to false and `privileged` to true'})
  }
  return causes
}

function validatePodSpec(spec: PodSpec | undefined, prefix: string): StatusCause[] {
  const causes: StatusCause[] = []
  if (!isPlainObject(spec)) return [{reason: 'FieldValueRequired', field: prefix, message: 'Required value'}]
  causes.push(...typeCauses(spec, {hostNetwork: 'boolean', hostPID: 'boolean', hostIPC: 'boolean'}, prefix))
  const podContext = spec.securityContext
  if (podContext !== undefined && podContext !== null) {
    if (!isPlainObject(podContext)) causes.push({reason: 'FieldValueInvalid', field: `${prefix}.securityContext`, message: 'Invalid value: must be an object'})
    else causes.push(...typeCauses(podContext, {runAsNonRoot: 'boolean', runAsUser: 'id', runAsGroup: 'id', fsGroup: 'id', supplementalGroups: 'ids'}, `${prefix}.securityContext`))
  }
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) causes.push({reason: 'FieldValueRequired', field: `${prefix}.containers`, message: 'Required value'})
  const names = new Set<string>()
  for (const [list, containers] of [['initContainers', spec.initContainers ?? []], ['containers', spec.containers ?? []]] as const) {
    containers.forEach((container, i) => {
      const field = `${prefix}.${list}[${i}].name`
      if (!isPlainObject(container) || typeof container.name !== 'string' || !DNS_LABEL.test(container.name) || container.name.length > 63) {
        causes.push({reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify((container as Container | undefined)?.name ?? null)}: a lowercase RFC 1123 label is required`})
      } else if (names.has(container.name)) causes.push({reason: 'FieldValueDuplicate', field, message: `Duplicate value: "${container.name}"`})
      else names.add(container.name)
      for (const key of ['command', 'args'] as const) {
        const value = (container as Container)[key]
        if (value !== undefined && (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))) {
          causes.push({reason: 'FieldValueInvalid', field: `${prefix}.${list}[${i}].${key}`, message: 'Invalid value: must be a list of strings'})
        }
      }
      if (isPlainObject(container)) causes.push(...containerSecurityCauses(container, `${prefix}.${list}[${i}]`))
    })
  }
  if (!['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy ?? 'Always')) {
    causes.push({reason: 'FieldValueNotSupported', field: `${prefix}.restartPolicy`, message: `Unsupported value: "${spec.restartPolicy}": supported values: "Always", "OnFailure", "Never"`})
  }
  const deadline = spec.activeDeadlineSeconds
  if (deadline !== undefined && (!Number.isInteger(deadline) || deadline <= 0)) {
    causes.push({reason: 'FieldValueInvalid', field: `${prefix}.activeDeadlineSeconds`, message: `Invalid value: ${deadline}: must be between 1 and 2147483647, inclusive`})
  }
  return causes
}

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
      defaultDeployment(object, name, TEMPLATE_CHECKS)
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
      defaultDeployment(object, name, TEMPLATE_CHECKS)
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

function defaultDaemonSet(object: KubeObject, name: string): void {
  const spec = (object.spec = isPlainObject(object.spec) ? object.spec : {}) as Record<string, unknown>
  const strategy = (spec.updateStrategy = isPlainObject(spec.updateStrategy) ? spec.updateStrategy : {})
  if (strategy.type === undefined || strategy.type === '') strategy.type = 'RollingUpdate'
  if (strategy.type === 'RollingUpdate') {
    const rolling = (strategy.rollingUpdate = isPlainObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {})
    rolling.maxUnavailable ??= 1
    rolling.maxSurge ??= 0
  }
  spec.revisionHistoryLimit ??= 10
  const template = isPlainObject(spec.template) ? spec.template : {}
  const podSpec = isPlainObject(template.spec) ? (template.spec as PodSpec) : undefined
  if (podSpec) defaultPodSpec(podSpec)
  const causes = validatePodSpec(podSpec, 'spec.template.spec')
  const selector = labelSelectorRequirements(spec.selector as LabelSelector | undefined)
  const labels = (isPlainObject(template.metadata) ? (template.metadata.labels as Record<string, string> | undefined) : undefined) ?? {}
  if (!selector || selector.length === 0) causes.push({reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value'})
  else if (!matchesLabels(selector, labels)) {
    causes.push({reason: 'FieldValueInvalid', field: 'spec.template.metadata.labels', message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``})
  }
  if (podSpec && podSpec.restartPolicy !== 'Always') {
    causes.push({reason: 'FieldValueNotSupported', field: 'spec.template.spec.restartPolicy', message: `Unsupported value: "${podSpec.restartPolicy}": supported values: "Always"`})
  }
  causes.push(...validateUpdateStrategy(strategy))
  if (causes.length > 0) throw invalid('DaemonSet', name, causes, 'apps')
}

const PERCENT = /^[0-9]+%$/

/** ValidatePositiveIntOrPercent and IsNotMoreThan100Percent; the value when valid, else undefined */
function intOrPercent(value: unknown, field: string, causes: StatusCause[]): number | string | undefined {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value)
  if (typeof value === 'string') {
    if (!PERCENT.test(value)) {
      causes.push({reason: 'FieldValueInvalid', field, message: `Invalid value: ${shown}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`})
      return undefined
    }
    if (Number(value.slice(0, -1)) > 100) {
      causes.push({reason: 'FieldValueInvalid', field, message: `Invalid value: ${shown}: must not be greater than 100%`})
      return undefined
    }
    return value
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    causes.push({reason: 'FieldValueInvalid', field, message: `Invalid value: ${shown}: must be an integer or percentage (e.g '5%')`})
    return undefined
  }
  if (value < 0) {
    causes.push({reason: 'FieldValueInvalid', field, message: `Invalid value: ${shown}: must be greater than or equal to 0`})
    return undefined
  }
  return value
}

/**
 * ValidateDaemonSetUpdateStrategy: RollingUpdate or OnDelete; maxUnavailable and maxSurge are
 * non-negative integers or percents up to 100%, and exactly one of them is non-zero (surging
 * replaces a pod only once its successor is ready, so it needs maxUnavailable 0).
 */
function validateUpdateStrategy(strategy: Record<string, unknown>): StatusCause[] {
  const causes: StatusCause[] = []
  const type = strategy.type
  if (type === 'OnDelete') return causes
  if (type !== 'RollingUpdate') {
    return [{reason: 'FieldValueNotSupported', field: 'spec.updateStrategy.type', message: `Unsupported value: ${JSON.stringify(type)}: supported values: "OnDelete", "RollingUpdate"`}]
  }
  const rolling = strategy.rollingUpdate as Record<string, unknown>
  const base = 'spec.updateStrategy.rollingUpdate'
  const unavailable = intOrPercent(rolling.maxUnavailable, `${base}.maxUnavailable`, causes)
  const surge = intOrPercent(rolling.maxSurge, `${base}.maxSurge`, causes)
  if (unavailable === undefined || surge === undefined) return causes
  const nonZero = (v: number | string): boolean => (typeof v === 'number' ? v : Number(v.slice(0, -1))) !== 0
  if (nonZero(unavailable) && nonZero(surge)) {
    causes.push({reason: 'FieldValueInvalid', field: `${base}.maxSurge`, message: `Invalid value: ${JSON.stringify(surge)}: may not be set when maxUnavailable is non-zero`})
  } else if (!nonZero(unavailable) && !nonZero(surge)) {
    causes.push({reason: 'FieldValueRequired', field: `${base}.maxUnavailable`, message: 'Required value: cannot be 0 when maxSurge is 0'})
  }
  return causes
}

const TEMPLATE_CHECKS = {defaultPodSpec, validatePodSpec, intOrPercent}

/** `data` and `binaryData` are omitempty maps: an empty one is not stored (the real API never returns `data: {}`) */
function omitEmptyData(object: KubeObject): void {
  for (const key of ['data', 'binaryData']) if (isPlainObject(object[key]) && Object.keys(object[key]).length === 0) delete object[key]
}
