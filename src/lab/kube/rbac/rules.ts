/**
 * RBAC policy rules as the real authorizer reads them: which request a rule allows
 * (verbs, apiGroups, resources with `*` and "any resource / this subresource", resourceNames, nonResourceURLs
 * with a trailing `*`), which subjects a binding names, and whether one set of rules covers
 * another (the escalation check on Role and binding writes).
 */
import type {UserInfo} from '../controllers/serviceaccounts.js'
import {isPlainObject} from '../types.js'

export const RBAC_GROUP = 'rbac.authorization.k8s.io'

export interface PolicyRule {
  verbs: string[]
  apiGroups?: string[]
  resources?: string[]
  resourceNames?: string[]
  nonResourceURLs?: string[]
}

export interface Subject {
  kind: string
  apiGroup?: string
  name: string
  namespace?: string
}

export interface RoleRef {
  apiGroup: string
  kind: string
  name: string
}

/** What is asked: a resource request (verb on group/resource[/subresource], maybe named, maybe in a namespace) or a path. */
export interface RequestAttributes {
  verb: string
  resourceRequest: boolean
  /** non-resource requests: the URL path */
  path: string
  apiGroup: string
  apiVersion: string
  resource: string
  subresource: string
  namespace: string
  name: string
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

/** The rules of a stored Role or ClusterRole, read defensively. */
export function rulesOf(role: {readonly [field: string]: unknown}): PolicyRule[] {
  const rules = Array.isArray(role.rules) ? role.rules : []
  return rules.filter(isPlainObject).map((r) => ({
    verbs: strings(r.verbs),
    apiGroups: strings(r.apiGroups),
    resources: strings(r.resources),
    resourceNames: strings(r.resourceNames),
    nonResourceURLs: strings(r.nonResourceURLs),
  }))
}

export function subjectsOf(binding: {readonly [field: string]: unknown}): Subject[] {
  const subjects = Array.isArray(binding.subjects) ? binding.subjects : []
  return subjects.filter(isPlainObject).map((s) => ({
    kind: String(s.kind ?? ''),
    apiGroup: typeof s.apiGroup === 'string' ? s.apiGroup : undefined,
    name: String(s.name ?? ''),
    namespace: typeof s.namespace === 'string' ? s.namespace : undefined,
  }))
}

export function roleRefOf(binding: {readonly [field: string]: unknown}): RoleRef {
  const ref = isPlainObject(binding.roleRef) ? binding.roleRef : {}
  return {apiGroup: String(ref.apiGroup ?? ''), kind: String(ref.kind ?? ''), name: String(ref.name ?? '')}
}

const has = (list: readonly string[] | undefined, value: string): boolean => (list ?? []).includes(value)

function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  for (const resource of rule.resources ?? []) {
    if (resource === '*' || resource === combined) return true
    if (subresource !== '' && resource === `*/${subresource}`) return true
  }
  return false
}

function nonResourceUrlMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some((url) => url === '*' || url === path || (url.endsWith('*') && path.startsWith(url.slice(0, -1))))
}

/** Does this rule allow the request? (`pods` does not allow `pods/log`; `*` does, and so does a rule for any resource with subresource `log`.) */
export function ruleAllows(attributes: RequestAttributes, rule: PolicyRule): boolean {
  if (!has(rule.verbs, '*') && !has(rule.verbs, attributes.verb)) return false
  if (!attributes.resourceRequest) return nonResourceUrlMatches(rule, attributes.path)
  const combined = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource
  if (!has(rule.apiGroups, '*') && !has(rule.apiGroups, attributes.apiGroup)) return false
  if (!resourceMatches(rule, combined, attributes.subresource)) return false
  const names = rule.resourceNames ?? []
  return names.length === 0 || names.includes(attributes.name)
}

export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`
}

/** Does a binding's subject name this user? `bindingNamespace` fills a ServiceAccount subject's missing namespace. */
export function subjectMatches(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.username
    case 'Group':
      return user.groups.includes(subject.name)
    case 'ServiceAccount': {
      const namespace = subject.namespace || bindingNamespace
      return namespace !== '' && serviceAccountUsername(namespace, subject.name) === user.username
    }
    default:
      return false
  }
}

/** `User "alice"`, `ServiceAccount "robot/team"`, as the authorizer's reasons name subjects. */
export function describeSubject(subject: Subject, bindingNamespace: string): string {
  if (subject.kind === 'ServiceAccount') return `${subject.kind} "${subject.name}/${subject.namespace || bindingNamespace}"`
  return `${subject.kind} "${subject.name}"`
}

// ---- escalation: does a set of rules cover another? ----

/** One verb on one group/resource (and one name), or one verb on one URL. */
function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = []
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        const names = rule.resourceNames ?? []
        if (names.length === 0) out.push({verbs: [verb], apiGroups: [group], resources: [resource]})
        else for (const name of names) out.push({verbs: [verb], apiGroups: [group], resources: [resource], resourceNames: [name]})
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) for (const verb of rule.verbs) out.push({verbs: [verb], nonResourceURLs: [url]})
  return out
}

const hasAll = (set: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean => (wanted ?? []).every((w) => has(set, w))

function resourcesCovered(owner: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean {
  if (has(owner, '*') || hasAll(owner, wanted)) return true
  return (wanted ?? []).every((path) => {
    if (has(owner, path)) return true
    const slash = path.indexOf('/')
    return slash >= 0 && has(owner, `*/${path.slice(slash + 1)}`)
  })
}

function urlsCovered(owner: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean {
  return (wanted ?? []).every((path) => (owner ?? []).some((o) => o === path || (o.endsWith('*') && path.startsWith(o.replace(/\*+$/, '')))))
}

function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = has(owner.verbs, '*') || hasAll(owner.verbs, sub.verbs)
  const groups = has(owner.apiGroups, '*') || hasAll(owner.apiGroups, sub.apiGroups)
  const ownerNames = owner.resourceNames ?? []
  const names = (sub.resourceNames ?? []).length === 0 ? ownerNames.length === 0 : ownerNames.length === 0 || hasAll(ownerNames, sub.resourceNames)
  return verbs && groups && resourcesCovered(owner.resources, sub.resources) && names && urlsCovered(owner.nonResourceURLs, sub.nonResourceURLs)
}

/** The parts of `wanted` that no rule of `owner` covers (empty: covered). */
export function uncovered(owner: readonly PolicyRule[], wanted: readonly PolicyRule[]): PolicyRule[] {
  return wanted.flatMap(breakdown).filter((sub) => !owner.some((o) => ruleCovers(o, sub)))
}

/** Simple rules (one group, one resource, no names) that differ only in verbs become one. */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = []
  const simple = new Map<string, PolicyRule>()
  for (const rule of rules) {
    const isSimple = (rule.apiGroups ?? []).length === 1 && (rule.resources ?? []).length === 1 && (rule.resourceNames ?? []).length === 0 && (rule.nonResourceURLs ?? []).length === 0
    if (!isSimple) {
      out.push(rule)
      continue
    }
    const key = `${rule.apiGroups![0]}\u0000${rule.resources![0]}`
    const existing = simple.get(key)
    if (existing) existing.verbs = [...existing.verbs, ...rule.verbs.filter((v) => !existing.verbs.includes(v))]
    else {
      const copy = {...rule, verbs: [...rule.verbs]}
      simple.set(key, copy)
      out.push(copy)
    }
  }
  return out
}

/** Go's %q of a []string: ["a" "b"]. */
export function quotedList(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(' ')}]`
}

/** `{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}`, as the escalation message lists missing rules. */
export function compactString(rule: PolicyRule): string {
  const parts: string[] = []
  if ((rule.apiGroups ?? []).length > 0) parts.push(`APIGroups:${quotedList(rule.apiGroups!)}`)
  if ((rule.resources ?? []).length > 0) parts.push(`Resources:${quotedList(rule.resources!)}`)
  if ((rule.nonResourceURLs ?? []).length > 0) parts.push(`NonResourceURLs:${quotedList(rule.nonResourceURLs!)}`)
  if ((rule.resourceNames ?? []).length > 0) parts.push(`ResourceNames:${quotedList(rule.resourceNames!)}`)
  if (rule.verbs.length > 0) parts.push(`Verbs:${quotedList(rule.verbs)}`)
  return `{${parts.join(', ')}}`
}
