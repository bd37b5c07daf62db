/**
 * Writes through a pod's `ephemeralcontainers` subresource (what `kubectl debug` and
 * client-node's patch/replaceNamespacedPodEphemeralcontainers send): only
 * `spec.ephemeralContainers` is taken from the written pod, everything else stays as stored.
 * Ephemeral containers can only be added — removing or changing one is 422 Invalid, as in
 * Kubernetes — and a new one must be a valid container that names no ports, probes, lifecycle
 * hooks, resources or restart policy, with a name no other container of the pod has.
 * Adding one to a pod that has completed or is being deleted is refused (400), since the lab's
 * kubelet would never start it.
 */
import {containerSecurityCauses, defaultContainer} from './pod-admission.js'
import {type StatusCause, badRequest, invalid} from './errors.js'
import {type EphemeralContainer, type KubeObject, type Pod, clone, isPlainObject, jsonEqual} from './types.js'

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const FORBIDDEN_FIELDS = ['ports', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'resizePolicy', 'restartPolicy'] as const

function hasResources(container: EphemeralContainer): boolean {
  const resources = container.resources
  return isPlainObject(resources) && Object.values(resources).some((v) => v !== null && v !== undefined && !(isPlainObject(v) && Object.keys(v).length === 0))
}

function validateNew(pod: Pod, container: EphemeralContainer, index: number, taken: Set<string>): StatusCause[] {
  const at = `spec.ephemeralContainers[${index}]`
  const causes: StatusCause[] = []
  if (typeof container.name !== 'string' || container.name.length > 63 || !DNS_LABEL.test(container.name)) {
    causes.push({reason: 'FieldValueInvalid', field: `${at}.name`, message: `Invalid value: ${JSON.stringify(container.name ?? null)}: a lowercase RFC 1123 label is required`})
  } else if (taken.has(container.name)) causes.push({reason: 'FieldValueDuplicate', field: `${at}.name`, message: `Duplicate value: "${container.name}"`})
  for (const field of FORBIDDEN_FIELDS) {
    if (container[field] !== undefined && container[field] !== null) causes.push({reason: 'FieldValueForbidden', field: `${at}.${field}`, message: 'Forbidden: cannot be set for an Ephemeral Container'})
  }
  if (hasResources(container)) causes.push({reason: 'FieldValueForbidden', field: `${at}.resources`, message: 'Forbidden: cannot be set for an Ephemeral Container'})
  causes.push(...containerSecurityCauses(container, at))
  for (const key of ['command', 'args'] as const) {
    const value = container[key]
    if (value !== undefined && (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))) {
      causes.push({reason: 'FieldValueInvalid', field: `${at}.${key}`, message: 'Invalid value: must be a list of strings'})
    }
  }
  const target = container.targetContainerName
  if (target !== undefined && target !== '' && ![...(pod.spec.initContainers ?? []), ...pod.spec.containers].some((c) => c.name === target)) {
    causes.push({reason: 'FieldValueNotFound', field: `${at}.targetContainerName`, message: `Not found: ${JSON.stringify(target)}`})
  }
  return causes
}

/**
 * The pod to store for a write of the subresource: the stored pod with the written ephemeral
 * containers (defaulted and validated), keeping the written resourceVersion as a precondition.
 */
export function admitEphemeralContainers(written: KubeObject, current: Pod): Pod {
  const name = current.metadata.name ?? ''
  const spec = isPlainObject(written.spec) ? written.spec : {}
  const raw = spec.ephemeralContainers
  if (raw !== undefined && raw !== null && !Array.isArray(raw)) throw badRequest('spec.ephemeralContainers must be a list')
  const wanted = (Array.isArray(raw) ? raw : []).map((c) => (isPlainObject(c) ? (clone(c) as EphemeralContainer) : ({} as EphemeralContainer)))
  for (const container of wanted) defaultContainer(container)
  const existing = current.spec.ephemeralContainers ?? []
  const causes: StatusCause[] = []
  for (const old of existing) {
    const now = wanted.find((c) => c.name === old.name)
    if (!now) causes.push({reason: 'FieldValueForbidden', field: 'spec.ephemeralContainers', message: `Forbidden: existing ephemeral containers "${old.name}" may not be removed\n`})
    else if (!jsonEqual(old, now)) causes.push({reason: 'FieldValueForbidden', field: `spec.ephemeralContainers[${old.name}]`, message: `Forbidden: existing ephemeral containers "${old.name}" may not be changed\n`})
  }
  const taken = new Set([...(current.spec.initContainers ?? []), ...current.spec.containers].map((c) => c.name))
  const added: EphemeralContainer[] = []
  wanted.forEach((container, index) => {
    const isOld = existing.some((old) => old.name === container.name)
    if (!isOld) {
      causes.push(...validateNew(current, container, index, taken))
      added.push(container)
    }
    if (typeof container.name === 'string') taken.add(container.name)
  })
  if (causes.length > 0) throw invalid('Pod', name, causes)
  if (added.length > 0) {
    const phase = current.status?.phase
    if (phase === 'Succeeded' || phase === 'Failed') throw badRequest(`cannot add an ephemeral container to a completed pod; current phase is ${phase}`)
    if (current.metadata.deletionTimestamp) throw badRequest(`cannot add an ephemeral container to pod ${name}: the pod is being deleted`)
  }
  const pod = clone(current) as Pod
  if (wanted.length > 0 || existing.length > 0) pod.spec.ephemeralContainers = wanted
  pod.metadata.resourceVersion = written.metadata?.resourceVersion
  return pod
}
