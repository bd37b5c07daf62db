/** The columns `kubectl get` shows for each kind, computed the way kubectl's own printers do. */
import {formatLabelSelector} from './selectors.js'
import type {ContainerStatus, KubeObject, LabelSelector, NodeObject, Pod} from './types.js'
import {isPlainObject} from './types.js'

export interface PrinterColumn {
  name: string
  wide?: boolean
  description?: string
}

/** Cells for the listed columns; NAME comes first and AGE after the narrow columns unless `ownLayout`. */
export interface Printer {
  columns: PrinterColumn[]
  cells(object: KubeObject, now: number): unknown[]
  ownLayout?: boolean
  /** AGE comes after this many narrow columns (default: after all of them) */
  ageAfter?: number
}

/** `kubectl get`'s AGE: 45s, 3m12s, 17m, 5h3m, 20h, 3d4h, 12d, 2y… */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 120) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`
  if (m < 180) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`
  if (h < 48) return `${h}h`
  const d = Math.floor(h / 24)
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`
  if (d < 365 * 2) return `${d}d`
  const y = Math.floor(d / 365)
  if (y < 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`
  return `${y}y`
}

const NONE = '<none>'

function joinOrNone(values: readonly string[]): string {
  return values.length > 0 ? values.join(',') : NONE
}

function since(timestamp: string | undefined, now: number): string {
  return timestamp ? humanDuration(now - Date.parse(timestamp)) : '<unknown>'
}

/** kubectl's STATUS column for a pod (printPod in kubectl's printers). */
export function podStatusReason(pod: Pod): {reason: string; ready: number; total: number; restarts: number; lastRestart?: string} {
  const status = pod.status ?? {}
  let reason = status.reason ?? status.phase ?? 'Pending'
  let restarts = 0
  let lastRestart: string | undefined
  const noteRestart = (c: ContainerStatus): void => {
    restarts += c.restartCount ?? 0
    const finished = c.lastState?.terminated?.finishedAt
    if (finished && (!lastRestart || finished > lastRestart)) lastRestart = finished
  }
  let initializing = false
  const inits = status.initContainerStatuses ?? []
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i]!
    noteRestart(c)
    const t = c.state?.terminated
    if (t && t.exitCode === 0) continue
    initializing = true
    if (t) reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') reason = `Init:${c.state.waiting.reason}`
    else reason = `Init:${i}/${(pod.spec.initContainers ?? []).length}`
    break
  }
  let ready = 0
  if (!initializing) {
    restarts = 0
    let hasRunning = false
    const containers = [...(status.containerStatuses ?? [])].reverse()
    for (const c of containers) {
      noteRestart(c)
      const t = c.state?.terminated
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason
      else if (t?.reason) reason = t.reason
      else if (t) reason = t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`
      else if (c.ready && c.state?.running) {
        hasRunning = true
        ready++
      }
    }
    if (reason === 'Completed' && hasRunning) {
      const podReady = (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
      reason = podReady ? 'Running' : 'NotReady'
    }
  }
  if (pod.metadata.deletionTimestamp) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating'
  return {reason, ready, total: pod.spec?.containers?.length ?? 0, restarts, lastRestart}
}

const pod: Printer = {
  columns: [
    {name: 'Ready', description: 'The aggregate readiness state of this pod for accepting traffic.'},
    {name: 'Status', description: 'The aggregate status of the containers in this pod.'},
    {name: 'Restarts', description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'},
    {name: 'IP', wide: true, description: 'The IP address assigned to the pod'},
    {name: 'Node', wide: true, description: 'The name of the node assigned to the pod'},
    {name: 'Nominated Node', wide: true, description: 'The name of the node nominated by the scheduler'},
    {name: 'Readiness Gates', wide: true, description: 'The readiness gates of the pod'},
  ],
  cells(object, now) {
    const p = object as Pod
    const s = podStatusReason(p)
    const restarts = s.lastRestart ? `${s.restarts} (${since(s.lastRestart, now)} ago)` : String(s.restarts)
    return [`${s.ready}/${s.total}`, s.reason, restarts, p.status?.podIP || NONE, p.spec?.nodeName || NONE, NONE, NONE]
  },
}

const node: Printer = {
  ageAfter: 2,
  columns: [
    {name: 'Status', description: 'The status of the node'},
    {name: 'Roles', description: 'The roles of the node'},
    {name: 'Version', description: 'Kubelet Version reported by the node.'},
    {name: 'Internal-IP', wide: true, description: 'List of internal IPs.'},
    {name: 'External-IP', wide: true, description: 'List of external IPs.'},
    {name: 'OS-Image', wide: true, description: 'OS Image reported by the node.'},
    {name: 'Kernel-Version', wide: true, description: 'Kernel Version reported by the node.'},
    {name: 'Container-Runtime', wide: true, description: 'Container Runtime Version reported by the node.'},
  ],
  cells(object) {
    const n = object as NodeObject
    const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready')
    let status = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown'
    if (n.spec?.unschedulable) status += ',SchedulingDisabled'
    const roles = Object.keys(n.metadata.labels ?? {})
      .map((label) => (label.startsWith('node-role.kubernetes.io/') ? label.slice('node-role.kubernetes.io/'.length) : label === 'kubernetes.io/role' ? n.metadata.labels![label]! : ''))
      .filter((role) => role !== '')
    const addresses = n.status?.addresses ?? []
    const of = (type: string): string => joinOrNone(addresses.filter((a) => a.type === type).map((a) => a.address))
    const info = n.status?.nodeInfo ?? {}
    return [status, joinOrNone(roles.sort()), info.kubeletVersion ?? '', of('InternalIP'), of('ExternalIP'), info.osImage || '<unknown>', info.kernelVersion || '<unknown>', info.containerRuntimeVersion || '<unknown>']
  },
}

interface ServicePort {
  port: number
  nodePort?: number
  protocol?: string
}

const service: Printer = {
  columns: [
    {name: 'Type', description: 'The type of the service.'},
    {name: 'Cluster-IP', description: 'The IP address of the service.'},
    {name: 'External-IP', description: 'The external IPs of the service.'},
    {name: 'Port(s)', description: 'The ports of the service.'},
    {name: 'Selector', wide: true, description: 'The selector of the service.'},
  ],
  cells(object) {
    const spec = (object.spec ?? {}) as {type?: string; clusterIP?: string; externalIPs?: string[]; externalName?: string; ports?: ServicePort[]; selector?: Record<string, string>}
    const ingress = ((object.status as {loadBalancer?: {ingress?: Array<{ip?: string; hostname?: string}>}} | undefined)?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '')
    let external: string
    if (spec.type === 'ExternalName') external = spec.externalName ?? NONE
    else if (spec.type === 'LoadBalancer') external = [...ingress, ...(spec.externalIPs ?? [])].join(',') || '<pending>'
    else external = joinOrNone(spec.externalIPs ?? [])
    const ports = (spec.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
    const selector = Object.entries(spec.selector ?? {}).map(([k, v]) => `${k}=${v}`)
    return [spec.type ?? 'ClusterIP', spec.clusterIP || NONE, external, joinOrNone(ports), joinOrNone(selector)]
  },
}

const namespace: Printer = {
  columns: [{name: 'Status', description: 'The status of the namespace'}],
  cells: (object) => [(object.status as {phase?: string} | undefined)?.phase ?? 'Active'],
}

const daemonSet: Printer = {
  columns: [
    {name: 'Desired'},
    {name: 'Current'},
    {name: 'Ready'},
    {name: 'Up-to-date'},
    {name: 'Available'},
    {name: 'Node Selector'},
    {name: 'Containers', wide: true},
    {name: 'Images', wide: true},
    {name: 'Selector', wide: true},
  ],
  cells(object) {
    const status = (object.status ?? {}) as Record<string, number | undefined>
    const spec = (object.spec ?? {}) as {selector?: LabelSelector; template?: {spec?: Pod['spec']}}
    const podSpec = spec.template?.spec
    const nodeSelector = Object.entries(podSpec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`)
    const containers = podSpec?.containers ?? []
    return [
      status.desiredNumberScheduled ?? 0,
      status.currentNumberScheduled ?? 0,
      status.numberReady ?? 0,
      status.updatedNumberScheduled ?? 0,
      status.numberAvailable ?? 0,
      joinOrNone(nodeSelector),
      containers.map((c) => c.name).join(','),
      containers.map((c) => c.image ?? '').join(','),
      formatLabelSelector(spec.selector) || NONE,
    ]
  },
}

const deployment: Printer = {
  columns: [{name: 'Ready'}, {name: 'Up-to-date'}, {name: 'Available'}, {name: 'Containers', wide: true}, {name: 'Images', wide: true}, {name: 'Selector', wide: true}],
  cells(object) {
    const status = (object.status ?? {}) as Record<string, number | undefined>
    const spec = (object.spec ?? {}) as {replicas?: number; selector?: LabelSelector; template?: {spec?: Pod['spec']}}
    const containers = spec.template?.spec?.containers ?? []
    return [
      `${status.readyReplicas ?? 0}/${spec.replicas ?? 1}`,
      status.updatedReplicas ?? 0,
      status.availableReplicas ?? 0,
      containers.map((c) => c.name).join(','),
      containers.map((c) => c.image ?? '').join(','),
      formatLabelSelector(spec.selector) || NONE,
    ]
  },
}

function countKeys(value: unknown): number {
  return isPlainObject(value) ? Object.keys(value).length : 0
}

const configMap: Printer = {columns: [{name: 'Data'}], cells: (o) => [countKeys(o.data) + countKeys(o.binaryData)]}
const secret: Printer = {columns: [{name: 'Type'}, {name: 'Data'}], cells: (o) => [o.type ?? 'Opaque', countKeys(o.data)]}
const serviceAccount: Printer = {columns: [{name: 'Secrets'}], cells: (o) => [Array.isArray(o.secrets) ? o.secrets.length : 0]}

const endpoints: Printer = {
  columns: [{name: 'Endpoints'}],
  cells(object) {
    const subsets = (object.subsets ?? []) as Array<{addresses?: Array<{ip: string}>; ports?: Array<{port: number}>}>
    const list: string[] = []
    for (const subset of subsets) {
      for (const address of subset.addresses ?? []) {
        if ((subset.ports ?? []).length === 0) list.push(address.ip)
        for (const port of subset.ports ?? []) list.push(`${address.ip}:${port.port}`)
      }
    }
    return [list.length === 0 ? NONE : list.length > 3 ? `${list.slice(0, 3).join(',')} + ${list.length - 3} more...` : list.join(',')]
  },
}

const event: Printer = {
  ownLayout: true,
  columns: [{name: 'Last Seen'}, {name: 'Type'}, {name: 'Reason'}, {name: 'Object'}, {name: 'Message'}],
  cells(object, now) {
    const e = object as KubeObject & {lastTimestamp?: string; eventTime?: string; type?: string; reason?: string; message?: string; involvedObject?: {kind?: string; name?: string}}
    const last = e.lastTimestamp ?? e.eventTime ?? object.metadata.creationTimestamp
    const involved = `${(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`
    return [since(last, now), e.type ?? '', e.reason ?? '', involved, e.message ?? '']
  },
}

const lease: Printer = {
  columns: [{name: 'Holder'}],
  cells: (o) => [(o.spec as {holderIdentity?: string} | undefined)?.holderIdentity ?? ''],
}

/** Roles and ClusterRoles: NAME and CREATED AT (an RFC 3339 time, not an age). */
const role: Printer = {
  ownLayout: true,
  columns: [{name: 'Name'}, {name: 'Created At'}],
  cells: (o) => [o.metadata.name ?? '', o.metadata.creationTimestamp ?? ''],
}

const roleBinding: Printer = {
  ageAfter: 1,
  columns: [{name: 'Role'}, {name: 'Users', wide: true}, {name: 'Groups', wide: true}, {name: 'ServiceAccounts', wide: true}],
  cells(o) {
    const ref = (o.roleRef ?? {}) as {kind?: string; name?: string}
    const subjects = (Array.isArray(o.subjects) ? o.subjects : []) as Array<{kind?: string; name?: string; namespace?: string}>
    const named = (kind: string): string => subjects.filter((s) => s.kind === kind).map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : String(s.name))).join(', ')
    return [`${ref.kind ?? ''}/${ref.name ?? ''}`, named('User'), named('Group'), named('ServiceAccount')]
  },
}

/** kubectl's list of at most three, then "+ N more..." (`<unset>` when empty) */
function listWithMore(items: readonly string[]): string {
  if (items.length === 0) return '<unset>'
  return items.length > 3 ? `${items.slice(0, 3).join(',')} + ${items.length - 3} more...` : items.join(',')
}

const endpointSlice: Printer = {
  columns: [{name: 'AddressType'}, {name: 'Ports'}, {name: 'Endpoints'}],
  cells(object) {
    const ports = (Array.isArray(object.ports) ? object.ports : []) as Array<{port?: number; name?: string}>
    const endpoints = (Array.isArray(object.endpoints) ? object.endpoints : []) as Array<{addresses?: string[]}>
    return [object.addressType ?? '', listWithMore(ports.map((p) => (p.port !== undefined ? String(p.port) : (p.name ?? '*')))), listWithMore(endpoints.flatMap((e) => e.addresses ?? []))]
  },
}

export const PRINTERS: Readonly<Record<string, Printer>> = {
  Role: role,
  ClusterRole: role,
  RoleBinding: roleBinding,
  ClusterRoleBinding: roleBinding,
  Pod: pod,
  Node: node,
  Service: service,
  Namespace: namespace,
  DaemonSet: daemonSet,
  Deployment: deployment,
  ConfigMap: configMap,
  Secret: secret,
  ServiceAccount: serviceAccount,
  Endpoints: endpoints,
  EndpointSlice: endpointSlice,
  Event: event,
  Lease: lease,
}
