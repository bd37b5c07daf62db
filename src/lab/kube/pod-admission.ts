/**
 * Pod specs as the API server admits them, in a Pod or in a workload's template: the defaults the
 * lab reads (restart policy, DNS policy, service account, image pull policy, ...) and validation
 * of the fields the lab depends on (container names, command and args, the typed fields Pod
 * Security and the kubelet decide on).
 */
import type {StatusCause} from './errors.js'
import {type Container, type PodSpec, isPlainObject} from './types.js'

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/

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

export function validatePodSpec(spec: PodSpec | undefined, prefix: string): StatusCause[] {
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
