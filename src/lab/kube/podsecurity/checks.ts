/**
 * The Pod Security Standards checks of the PodSecurity admission plugin, each with the reason
 * and detail wording of k8s.io/pod-security-admission. Baseline: host namespaces, privileged
 * containers, capabilities beyond the default set, hostPath volumes, host ports, an Unconfined
 * seccomp profile. Restricted adds: allowPrivilegeEscalation=false, capabilities dropped to
 * ALL (NET_BIND_SERVICE may be added back), runAsNonRoot=true, no runAsUser=0, a
 * RuntimeDefault or Localhost seccomp profile, and only ephemeral-style volume types.
 *
 * Containers are visited as the plugin visits them: init containers, containers, then
 * ephemeral containers.
 */
import {type Container, type PodSpec, isPlainObject} from '../types.js'

export type Level = 'privileged' | 'baseline' | 'restricted'

export interface Violation {
  reason: string
  detail: string
}

export interface Check {
  /** the plugin's check ID: checks run sorted by ID, baseline ones first */
  id: string
  level: 'baseline' | 'restricted'
  /** a restricted check that replaces a baseline one */
  overrides?: string
  evaluate(spec: PodSpec): Violation | undefined
}

const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'])
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'])

type Fields = Record<string, unknown>

const plural = (one: string, many: string, count: number): string => (count === 1 ? one : many)
const joinQuote = (items: readonly string[]): string => items.map((item) => JSON.stringify(item)).join(', ')
const sorted = (items: Iterable<string>): string[] => [...new Set(items)].sort()
const containersOf = (kind: string, names: readonly string[]): string => `${plural(kind, `${kind}s`, names.length)} ${joinQuote(names)}`

function containers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])].filter(isPlainObject)
}

function securityContext(value: {readonly [field: string]: unknown} | undefined): Fields | undefined {
  return isPlainObject(value?.securityContext) ? value.securityContext : undefined
}

function capabilities(container: Container): {add: string[]; drop: string[]} | undefined {
  const caps = securityContext(container)?.capabilities
  if (!isPlainObject(caps)) return undefined
  const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : [])
  return {add: list(caps.add), drop: list(caps.drop)}
}

function volumes(spec: PodSpec): Fields[] {
  return (Array.isArray(spec.volumes) ? spec.volumes : []).filter(isPlainObject)
}

/** `pod`, `container "a"`, … that set a field to a bad value, and the containers that leave it unset. */
function setters(spec: PodSpec, read: (context: Fields | undefined) => unknown, bad: (value: unknown) => boolean): {explicit: string[]; implicit: string[]; podBad: boolean; podGood: boolean; values: string[]} {
  const podValue = read(securityContext(spec))
  const values: string[] = []
  const podBad = podValue !== undefined && bad(podValue)
  if (podBad) values.push(String(podValue))
  const podGood = podValue !== undefined && !podBad
  const explicit: string[] = []
  const implicit: string[] = []
  for (const container of containers(spec)) {
    const value = read(securityContext(container))
    if (value === undefined) {
      if (!podGood) implicit.push(container.name)
    } else if (bad(value)) {
      explicit.push(container.name)
      values.push(String(value))
    }
  }
  return {explicit, implicit, podBad, podGood, values}
}

function badSetters(podBad: boolean, explicit: readonly string[]): string[] {
  return [...(podBad ? ['pod'] : []), ...(explicit.length > 0 ? [containersOf('container', explicit)] : [])]
}

const seccompType = (context: Fields | undefined): unknown => (isPlainObject(context?.seccompProfile) ? (context.seccompProfile.type ?? '') : undefined)

export const CHECKS: readonly Check[] = [
  {
    id: 'capabilities_baseline',
    level: 'baseline',
    evaluate(spec) {
      const bad: string[] = []
      const forbidden: string[] = []
      for (const c of containers(spec)) {
        const added = (capabilities(c)?.add ?? []).filter((cap) => !BASELINE_CAPABILITIES.has(cap))
        if (added.length > 0) bad.push(c.name)
        forbidden.push(...added)
      }
      if (bad.length === 0) return undefined
      return {reason: 'non-default capabilities', detail: `${containersOf('container', bad)} must not include ${joinQuote(sorted(forbidden))} in securityContext.capabilities.add`}
    },
  },
  {
    id: 'hostNamespaces',
    level: 'baseline',
    evaluate(spec) {
      const set = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((field) => spec[field] === true)
      return set.length > 0 ? {reason: 'host namespaces', detail: set.map((field) => `${field}=true`).join(', ')} : undefined
    },
  },
  {
    id: 'hostPathVolumes',
    level: 'baseline',
    evaluate(spec) {
      const names = volumes(spec).filter((v) => v.hostPath !== undefined && v.hostPath !== null).map((v) => String(v.name ?? ''))
      return names.length > 0 ? {reason: 'hostPath volumes', detail: containersOf('volume', names)} : undefined
    },
  },
  {
    id: 'hostPorts',
    level: 'baseline',
    evaluate(spec) {
      const bad: string[] = []
      const ports: string[] = []
      for (const c of containers(spec)) {
        const used = (Array.isArray(c.ports) ? c.ports : []).filter(isPlainObject).map((p) => Number(p.hostPort ?? 0)).filter((p) => p !== 0)
        if (used.length > 0) bad.push(c.name)
        ports.push(...used.map(String))
      }
      if (bad.length === 0) return undefined
      const unique = sorted(ports)
      return {reason: 'hostPort', detail: `${containersOf('container', bad)} ${plural('uses', 'use', bad.length)} ${plural('hostPort', 'hostPorts', unique.length)} ${unique.join(', ')}`}
    },
  },
  {
    id: 'privileged',
    level: 'baseline',
    evaluate(spec) {
      const bad = containers(spec).filter((c) => securityContext(c)?.privileged === true).map((c) => c.name)
      return bad.length > 0 ? {reason: 'privileged', detail: `${containersOf('container', bad)} must not set securityContext.privileged=true`} : undefined
    },
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    evaluate(spec) {
      const found = setters(spec, seccompType, (type) => type === 'Unconfined')
      const who = badSetters(found.podBad, found.explicit)
      if (who.length === 0) return undefined
      return {reason: 'seccompProfile', detail: `${who.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sorted(found.values))}`}
    },
  },
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    evaluate(spec) {
      const bad = containers(spec).filter((c) => securityContext(c)?.allowPrivilegeEscalation !== false).map((c) => c.name)
      return bad.length > 0 ? {reason: 'allowPrivilegeEscalation != false', detail: `${containersOf('container', bad)} must set securityContext.allowPrivilegeEscalation=false`} : undefined
    },
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    evaluate(spec) {
      const missingDrop: string[] = []
      const adding: string[] = []
      const forbidden: string[] = []
      for (const c of containers(spec)) {
        const caps = capabilities(c)
        if (!caps?.drop.includes('ALL')) missingDrop.push(c.name)
        const added = (caps?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE')
        if (added.length > 0) adding.push(c.name)
        forbidden.push(...added)
      }
      const details: string[] = []
      if (missingDrop.length > 0) details.push(`${containersOf('container', missingDrop)} must set securityContext.capabilities.drop=["ALL"]`)
      if (adding.length > 0) details.push(`${containersOf('container', adding)} must not include ${joinQuote(sorted(forbidden))} in securityContext.capabilities.add`)
      return details.length > 0 ? {reason: 'unrestricted capabilities', detail: details.join('; ')} : undefined
    },
  },
  {
    id: 'restrictedVolumes',
    level: 'restricted',
    evaluate(spec) {
      const bad: string[] = []
      const types: string[] = []
      for (const volume of volumes(spec)) {
        const kinds = Object.keys(volume).filter((key) => key !== 'name' && volume[key] !== null && volume[key] !== undefined)
        const restricted = kinds.length === 0 ? 'unknown' : kinds.find((key) => !RESTRICTED_VOLUMES.has(key))
        if (restricted === undefined) continue
        bad.push(String(volume.name ?? ''))
        types.push(restricted)
      }
      if (bad.length === 0) return undefined
      const unique = sorted(types)
      return {reason: 'restricted volume types', detail: `${containersOf('volume', bad)} ${plural('uses', 'use', bad.length)} ${plural('restricted volume type', 'restricted volume types', unique.length)} ${joinQuote(unique)}`}
    },
  },
  {
    id: 'runAsNonRoot',
    level: 'restricted',
    evaluate(spec) {
      const found = setters(spec, (context) => context?.runAsNonRoot, (value) => value !== true)
      const who = badSetters(found.podBad, found.explicit)
      if (who.length > 0) return {reason: 'runAsNonRoot != true', detail: `${who.join(' and ')} must not set securityContext.runAsNonRoot=false`}
      if (found.implicit.length > 0) return {reason: 'runAsNonRoot != true', detail: `pod or ${containersOf('container', found.implicit)} must set securityContext.runAsNonRoot=true`}
      return undefined
    },
  },
  {
    id: 'runAsUser',
    level: 'restricted',
    evaluate(spec) {
      const found = setters(spec, (context) => context?.runAsUser, (value) => value === 0)
      const who = badSetters(found.podBad, found.explicit)
      return who.length > 0 ? {reason: 'runAsUser=0', detail: `${who.join(' and ')} must not set runAsUser=0`} : undefined
    },
  },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    overrides: 'seccompProfile_baseline',
    evaluate(spec) {
      const found = setters(spec, seccompType, (type) => type !== 'RuntimeDefault' && type !== 'Localhost')
      const who = badSetters(found.podBad, found.explicit)
      if (who.length > 0) return {reason: 'seccompProfile', detail: `${who.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sorted(found.values))}`}
      if (found.implicit.length > 0) {
        return {reason: 'seccompProfile', detail: `pod or ${containersOf('container', found.implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`}
      }
      return undefined
    },
  },
]

/** The violations of a pod spec at a level, in the plugin's order (baseline checks by ID, then restricted ones). */
export function evaluatePodSpec(level: Level, spec: PodSpec): Violation[] {
  if (level === 'privileged') return []
  const applicable = CHECKS.filter((c) => c.level === 'baseline' || level === 'restricted')
  const overridden = new Set(applicable.map((c) => c.overrides).filter((id): id is string => id !== undefined))
  const order = (c: Check): string => `${c.level === 'baseline' ? 0 : 1}${c.id}`
  return applicable
    .filter((c) => !overridden.has(c.id))
    .sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0))
    .map((c) => c.evaluate(spec))
    .filter((v): v is Violation => v !== undefined)
}
