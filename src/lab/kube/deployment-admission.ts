/**
 * apps/v1 Deployment defaults and validation, as the real API server's (SetDefaults_Deployment,
 * ValidateDeployment) for the fields the lab reads: replicas 1, strategy RollingUpdate with
 * maxUnavailable and maxSurge 25%, revisionHistoryLimit 10, progressDeadlineSeconds 600; the
 * selector is required, matches the template's labels and cannot change; restartPolicy Always;
 * maxUnavailable and maxSurge are not both 0.
 */
import {invalid, type StatusCause} from './errors.js'
import {labelSelectorRequirements, matchesLabels} from './selectors.js'
import {type KubeObject, type LabelSelector, type PodSpec, isPlainObject, jsonEqual} from './types.js'

export interface PodTemplateChecks {
  defaultPodSpec(spec: PodSpec): void
  validatePodSpec(spec: PodSpec | undefined, prefix: string): StatusCause[]
  intOrPercent(value: unknown, field: string, causes: StatusCause[]): number | string | undefined
}

export function defaultDeployment(object: KubeObject, name: string, checks: PodTemplateChecks): void {
  const spec = (object.spec = isPlainObject(object.spec) ? object.spec : {}) as Record<string, unknown>
  spec.replicas ??= 1
  const strategy = (spec.strategy = isPlainObject(spec.strategy) ? spec.strategy : {})
  if (strategy.type === undefined || strategy.type === '') strategy.type = 'RollingUpdate'
  const causes: StatusCause[] = []
  if (strategy.type === 'RollingUpdate') {
    const rolling = (strategy.rollingUpdate = isPlainObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {})
    rolling.maxUnavailable ??= '25%'
    rolling.maxSurge ??= '25%'
    const base = 'spec.strategy.rollingUpdate'
    const unavailable = checks.intOrPercent(rolling.maxUnavailable, `${base}.maxUnavailable`, causes)
    const surge = checks.intOrPercent(rolling.maxSurge, `${base}.maxSurge`, causes)
    const zero = (v: number | string): boolean => (typeof v === 'number' ? v : Number(v.slice(0, -1))) === 0
    if (unavailable !== undefined && surge !== undefined && zero(unavailable) && zero(surge)) {
      causes.push({reason: 'FieldValueInvalid', field: `${base}.maxUnavailable`, message: 'Invalid value: 0: may not be 0 when `maxSurge` is 0'})
    }
  } else if (strategy.type === 'Recreate') {
    if (strategy.rollingUpdate !== undefined) causes.push({reason: 'FieldValueForbidden', field: 'spec.strategy.rollingUpdate', message: 'Forbidden: may not be specified when strategy `type` is \'Recreate\''})
  } else {
    causes.push({reason: 'FieldValueNotSupported', field: 'spec.strategy.type', message: `Unsupported value: ${JSON.stringify(strategy.type)}: supported values: "Recreate", "RollingUpdate"`})
  }
  spec.revisionHistoryLimit ??= 10
  spec.progressDeadlineSeconds ??= 600
  if (typeof spec.replicas !== 'number' || !Number.isInteger(spec.replicas) || spec.replicas < 0) {
    causes.push({reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(spec.replicas)}: must be greater than or equal to 0`})
  }
  const template = isPlainObject(spec.template) ? spec.template : {}
  const podSpec = isPlainObject(template.spec) ? (template.spec as PodSpec) : undefined
  if (podSpec) checks.defaultPodSpec(podSpec)
  causes.push(...checks.validatePodSpec(podSpec, 'spec.template.spec'))
  const selector = labelSelectorRequirements(spec.selector as LabelSelector | undefined)
  const labels = (isPlainObject(template.metadata) ? (template.metadata.labels as Record<string, string> | undefined) : undefined) ?? {}
  if (!selector || selector.length === 0) causes.push({reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value'})
  else if (!matchesLabels(selector, labels)) {
    causes.push({reason: 'FieldValueInvalid', field: 'spec.template.metadata.labels', message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``})
  }
  if (podSpec && podSpec.restartPolicy !== 'Always') {
    causes.push({reason: 'FieldValueNotSupported', field: 'spec.template.spec.restartPolicy', message: `Unsupported value: "${podSpec.restartPolicy}": supported values: "Always"`})
  }
  if (causes.length > 0) throw invalid('Deployment', name, causes, 'apps')
}

/** apps/v1: the selector of a Deployment is immutable */
export function checkDeploymentUpdate(object: KubeObject, current: KubeObject, name: string): void {
  if (!jsonEqual((object.spec as {selector?: unknown}).selector, (current.spec as {selector?: unknown} | undefined)?.selector)) {
    throw invalid('Deployment', name, [{reason: 'FieldValueInvalid', field: 'spec.selector', message: 'Invalid value: field is immutable'}], 'apps')
  }
}
