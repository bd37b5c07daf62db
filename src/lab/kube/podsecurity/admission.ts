/**
 * The PodSecurity admission plugin: a namespace's labels `pod-security.kubernetes.io/enforce`
 * (privileged | baseline | restricted; absent = privileged) and `…/enforce-version` (default
 * `latest`) decide which pods may be created in it; `…/warn` (and `…/warn-version`) only add a
 * warning to the response. A label with an unknown level counts as restricted, as in the
 * plugin. Pods are checked on create, on updates that change containers or images, and when
 * ephemeral containers are added; DaemonSet pod templates only get warnings.
 */
import {forbiddenObject} from '../errors.js'
import type {ObjectStore} from '../store.js'
import {type KubeObject, type Pod, type PodSpec, isPlainObject} from '../types.js'
import {type Level, type Violation, evaluatePodSpec} from './checks.js'

export const POD_SECURITY_PREFIX = 'pod-security.kubernetes.io/'
const LEVELS: readonly Level[] = ['privileged', 'baseline', 'restricted']

export interface LevelVersion {
  level: Level
  version: string
}

/** The level a namespace sets for one mode (`enforce`, `warn`, `audit`). */
export function namespaceLevel(labels: Readonly<Record<string, string>> | undefined, mode: 'enforce' | 'warn' | 'audit'): LevelVersion {
  const raw = labels?.[`${POD_SECURITY_PREFIX}${mode}`]
  const rawVersion = labels?.[`${POD_SECURITY_PREFIX}${mode}-version`]
  const version = rawVersion !== undefined && /^(latest|v1\.\d+)$/.test(rawVersion) ? rawVersion : 'latest'
  if (raw === undefined) return {level: 'privileged', version}
  return {level: LEVELS.includes(raw as Level) ? (raw as Level) : 'restricted', version}
}

/** `host namespaces (hostNetwork=true), privileged (container "c" must …)` */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => (v.detail ? `${v.reason} (${v.detail})` : v.reason)).join(', ')
}

function namespaceLabels(store: ObjectStore, namespace: string | undefined): Record<string, string> | undefined {
  if (!namespace) return undefined
  return store.get(store.registry.get('namespaces'), undefined, namespace)?.metadata.labels
}

function warn(labels: Record<string, string> | undefined, spec: PodSpec, warnings: string[] | undefined): void {
  const policy = namespaceLevel(labels, 'warn')
  if (!warnings || policy.level === 'privileged') return
  const violations = evaluatePodSpec(policy.level, spec)
  if (violations.length > 0) warnings.push(`would violate PodSecurity "${policy.level}:${policy.version}": ${describeViolations(violations)}`)
}

/** Throws 403 Forbidden when the pod violates its namespace's enforced level; collects warnings. */
export function admitPodSecurity(store: ObjectStore, pod: Pod, warnings?: string[]): void {
  if (!isPlainObject(pod.spec)) return
  const labels = namespaceLabels(store, pod.metadata.namespace)
  const enforce = namespaceLevel(labels, 'enforce')
  const violations = evaluatePodSpec(enforce.level, pod.spec)
  if (violations.length > 0) {
    throw forbiddenObject({group: '', resource: 'pods'}, pod.metadata.name ?? '', `violates PodSecurity "${enforce.level}:${enforce.version}": ${describeViolations(violations)}`)
  }
  warn(labels, pod.spec, warnings)
}

const images = (spec: PodSpec): string => JSON.stringify([...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => (isPlainObject(c) ? (c.image ?? null) : null)))

/** An update the plugin looks at: containers, their images, or ephemeral containers changed (metadata, tolerations and deadlines alone are not). */
export function significantPodUpdate(pod: Pod, old: Pod): boolean {
  if (!isPlainObject(pod.spec) || !isPlainObject(old.spec)) return false
  return images(pod.spec) !== images(old.spec) || (pod.spec.ephemeralContainers ?? []).length !== (old.spec.ephemeralContainers ?? []).length
}

/** Warnings (never a rejection) for a workload's pod template. */
export function warnPodTemplate(store: ObjectStore, object: KubeObject, warnings: string[] | undefined): void {
  const template = isPlainObject(object.spec) && isPlainObject(object.spec.template) ? object.spec.template : undefined
  if (!template || !isPlainObject(template.spec)) return
  warn(namespaceLabels(store, object.metadata.namespace), template.spec as PodSpec, warnings)
}
