/**
 * The object shapes the emulated API server and its controllers read. Objects are stored as
 * plain JSON; these interfaces name only the fields the server itself interprets, everything
 * else passes through untouched.
 */

export interface OwnerReference {
  apiVersion: string
  kind: string
  name: string
  uid: string
  controller?: boolean
  blockOwnerDeletion?: boolean
}

export interface ObjectMeta {
  name?: string
  generateName?: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  deletionGracePeriodSeconds?: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
  ownerReferences?: OwnerReference[]
  finalizers?: string[]
  [field: string]: unknown
}

/** Any Kubernetes object: typed metadata, the rest as JSON. */
export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: ObjectMeta
  [field: string]: unknown
}

export interface EnvVar {
  name: string
  value?: string
  valueFrom?: {
    fieldRef?: {fieldPath: string; apiVersion?: string}
    configMapKeyRef?: {name: string; key: string; optional?: boolean}
    secretKeyRef?: {name: string; key: string; optional?: boolean}
  }
}

export interface EnvFromSource {
  prefix?: string
  configMapRef?: {name: string; optional?: boolean}
  secretRef?: {name: string; optional?: boolean}
}

export interface Container {
  name: string
  image?: string
  command?: string[]
  args?: string[]
  workingDir?: string
  env?: EnvVar[]
  envFrom?: EnvFromSource[]
  terminationMessagePath?: string
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError'
  [field: string]: unknown
}

export interface Toleration {
  key?: string
  operator?: 'Exists' | 'Equal'
  value?: string
  effect?: '' | 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute'
}

export interface Taint {
  key: string
  value?: string
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute'
}

export interface PodSpec {
  nodeName?: string
  nodeSelector?: Record<string, string>
  tolerations?: Toleration[]
  hostNetwork?: boolean
  restartPolicy?: 'Always' | 'OnFailure' | 'Never'
  activeDeadlineSeconds?: number
  terminationGracePeriodSeconds?: number
  serviceAccountName?: string
  schedulerName?: string
  initContainers?: Container[]
  containers: Container[]
  /** added only through the `ephemeralcontainers` subresource; never restarted */
  ephemeralContainers?: EphemeralContainer[]
  [field: string]: unknown
}

export interface EphemeralContainer extends Container {
  targetContainerName?: string
}

export interface Condition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  reason?: string
  message?: string
  lastTransitionTime?: string | null
  lastProbeTime?: string | null
  [field: string]: unknown
}

export interface ContainerState {
  waiting?: {reason?: string; message?: string}
  running?: {startedAt?: string}
  terminated?: {exitCode: number; signal?: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string}
}

export interface ContainerStatus {
  name: string
  ready: boolean
  started?: boolean
  restartCount: number
  image: string
  imageID: string
  containerID?: string
  state: ContainerState
  lastState: ContainerState
}

export interface PodStatus {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown'
  reason?: string
  message?: string
  conditions?: Condition[]
  hostIP?: string
  hostIPs?: Array<{ip: string}>
  podIP?: string
  podIPs?: Array<{ip: string}>
  startTime?: string
  initContainerStatuses?: ContainerStatus[]
  containerStatuses?: ContainerStatus[]
  ephemeralContainerStatuses?: ContainerStatus[]
  qosClass?: string
  [field: string]: unknown
}

export interface Pod extends KubeObject {
  spec: PodSpec
  status?: PodStatus
}

export interface NodeObject extends KubeObject {
  spec?: {podCIDR?: string; podCIDRs?: string[]; providerID?: string; unschedulable?: boolean; taints?: Taint[]; [field: string]: unknown}
  status?: {
    addresses?: Array<{type: string; address: string}>
    conditions?: Condition[]
    nodeInfo?: Record<string, string>
    [field: string]: unknown
  }
}

export interface LabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: Array<{key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[]}>
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name
}

/** The first InternalIP of a node, else its first address. */
export function nodeAddress(node: NodeObject): string | undefined {
  const addresses = node.status?.addresses ?? []
  return (addresses.find((a) => a.type === 'InternalIP') ?? addresses[0])?.address
}

export function nowIso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Freezes a JSON value in place, all the way down (stored objects are never mutated). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

/** A mutable deep copy of a JSON value. */
export function clone<T>(value: T): T {
  return structuredClone(value)
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const other = b as unknown[]
    return a.length === other.length && a.every((item, i) => jsonEqual(item, other[i]))
  }
  const left = a as Record<string, unknown>
  const right = b as Record<string, unknown>
  const keys = Object.keys(left).filter((k) => left[k] !== undefined)
  const otherKeys = Object.keys(right).filter((k) => right[k] !== undefined)
  return keys.length === otherKeys.length && keys.every((k) => jsonEqual(left[k], right[k]))
}
