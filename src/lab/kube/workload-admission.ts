/**
 * apps/v1 workloads as the API server admits them, for the fields the lab reads: their pod
 * template (defaulted and validated as a Pod's spec, the selector required and matching the
 * template's labels, restartPolicy Always), DaemonSets' update strategy, and Deployments
 * (SetDefaults_Deployment, ValidateDeployment: replicas 1, RollingUpdate with maxUnavailable and
 * maxSurge 25%, revisionHistoryLimit 10, progressDeadlineSeconds 600; the selector cannot change;
 * maxUnavailable and maxSurge are not both 0).
 */
import {invalid, type StatusCause} from './errors.js'
import {defaultPodSpec, validatePodSpec} from './pod-admission.js'
import {labelSelectorRequirements, matchesLabels} from './selectors.js'
import {type KubeObject, type LabelSelector, type PodSpec, isPlainObject, jsonEqual} from './types.js'

/** a workload's pod template, defaulted in place; the causes to refuse it for */
function templateCauses(spec: Record<string, unknown>): StatusCause[] {
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
  return causes
}

export function defaultDaemonSet(object: KubeObject, name: string): void {
  const spec = (object.spec = isPlainObject(object.spec) ? object.spec : {}) as Record<string, unknown>
  const strategy = (spec.updateStrategy = isPlainObject(spec.updateStrategy) ? spec.updateStrategy : {})
  if (strategy.type === undefined || strategy.type === '') strategy.type = 'RollingUpdate'
  if (strategy.type === 'RollingUpdate') {
    const rolling = (strategy.rollingUpdate = isPlainObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {})
    rolling.maxUnavailable ??= 1
    rolling.maxSurge ??= 0
  }
  spec.revisionHistoryLimit ??= 10
  const causes = templateCauses(spec)
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

export function defaultDeployment(object: KubeObject, name: string): void {
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
    const unavailable = intOrPercent(rolling.maxUnavailable, `${base}.maxUnavailable`, causes)
    const surge = intOrPercent(rolling.maxSurge, `${base}.maxSurge`, causes)
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
  causes.push(...templateCauses(spec))
  if (causes.length > 0) throw invalid('Deployment', name, causes, 'apps')
}

/** apps/v1: the selector of a Deployment is immutable */
export function checkDeploymentUpdate(object: KubeObject, current: KubeObject, name: string): void {
  if (!jsonEqual((object.spec as {selector?: unknown}).selector, (current.spec as {selector?: unknown} | undefined)?.selector)) {
    throw invalid('Deployment', name, [{reason: 'FieldValueInvalid', field: 'spec.selector', message: 'Invalid value: field is immutable'}], 'apps')
  }
}
