/**
 * What a kubeconfig issued by xcc may do: role presets with exactly the rules their users need,
 * or a file of RBAC rules (checked here: an unknown verb is exit 2 naming the file, the rule and
 * the value). Pure: the file's text is read by the caller.
 */
import {CORE_SCHEMA, load} from 'js-yaml'

import {XccError} from '../errors.js'

export interface PolicyRule {
  readonly apiGroups?: readonly string[]
  readonly resources?: readonly string[]
  readonly resourceNames?: readonly string[]
  readonly nonResourceURLs?: readonly string[]
  readonly verbs: readonly string[]
}

export type RolePreset = 'view' | 'service-reader' | 'ingress-nginx' | 'cluster-admin'
export const ROLE_PRESETS: readonly RolePreset[] = ['view', 'service-reader', 'ingress-nginx', 'cluster-admin']

/** A role to grant: its rules, and the built-in ClusterRole it binds instead of creating one (view, cluster-admin). */
export interface RoleChoice {
  /** the preset's name, or `file:<path>` */
  readonly name: string
  readonly rules: readonly PolicyRule[]
  readonly builtin?: 'view' | 'cluster-admin'
  /** one request this role must be refused (the verification asks it and expects "no") */
  readonly mustNot?: {readonly verb: string; readonly resource: string; readonly group?: string}
}

const READ = ['get', 'list', 'watch'] as const

const rule = (verbs: readonly string[], apiGroups: readonly string[], resources: readonly string[], resourceNames?: readonly string[]): PolicyRule =>
  ({apiGroups, resources, ...(resourceNames ? {resourceNames} : {}), verbs})

/**
 * The presets. `service-reader` is what a proxy that syncs Services to upstreams reads (seed 000's
 * nginx on the gateway VMs); `ingress-nginx` the upstream controller's ClusterRole and its
 * namespaced Role flattened (its leader lease by name); `view` and `cluster-admin` bind the
 * cluster's own ClusterRoles of those names, whose rules the verification samples.
 */
export const PRESET_RULES: Readonly<Record<RolePreset, readonly PolicyRule[]>> = {
  'service-reader': [
    rule(READ, [''], ['services', 'endpoints']),
    rule(READ, ['discovery.k8s.io'], ['endpointslices']),
  ],
  'ingress-nginx': [
    rule(['list', 'watch'], [''], ['configmaps', 'endpoints', 'nodes', 'pods', 'secrets', 'namespaces']),
    rule(['get'], [''], ['nodes', 'namespaces', 'configmaps', 'pods', 'secrets', 'endpoints']),
    rule(READ, [''], ['services']),
    rule(READ, ['networking.k8s.io'], ['ingresses', 'ingressclasses']),
    rule(['update'], ['networking.k8s.io'], ['ingresses/status']),
    rule(['create', 'patch'], [''], ['events']),
    rule(READ, ['discovery.k8s.io'], ['endpointslices']),
    rule(['list', 'watch', 'create'], ['coordination.k8s.io'], ['leases']),
    rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['ingress-nginx-leader']),
  ],
  // samples of the built-in `view` (the verification asks these; the binding grants the whole role)
  view: [
    rule(READ, [''], ['pods', 'services', 'configmaps', 'endpoints']),
    rule(READ, ['apps'], ['deployments', 'daemonsets']),
  ],
  'cluster-admin': [rule(['*'], ['*'], ['*'])],
}

const MUST_NOT: Readonly<Record<RolePreset, RoleChoice['mustNot']>> = {
  'service-reader': {verb: 'get', resource: 'secrets'},
  'ingress-nginx': {verb: 'delete', resource: 'pods'},
  view: {verb: 'get', resource: 'secrets'},
  'cluster-admin': undefined,
}

export function presetRole(name: RolePreset): RoleChoice {
  const mustNot = MUST_NOT[name]
  return {name, rules: PRESET_RULES[name], ...(name === 'view' || name === 'cluster-admin' ? {builtin: name} : {}), ...(mustNot ? {mustNot} : {})}
}

export function isPreset(text: string): text is RolePreset {
  return (ROLE_PRESETS as readonly string[]).includes(text)
}

/** the verbs RBAC knows (kube-apiserver's request verbs, plus the RBAC and policy special verbs) */
export const KNOWN_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'impersonate', 'bind', 'escalate', 'use', 'approve', 'sign', 'attest', '*'] as const

/** requests a role file's holder is refused unless its rules allow them: the first one they do not cover is the "must not" check */
const MUST_NOT_CANDIDATES = [
  {verb: 'get', resource: 'secrets'},
  {verb: 'delete', resource: 'namespaces'},
  {verb: 'create', resource: 'clusterrolebindings', group: 'rbac.authorization.k8s.io'},
  {verb: 'escalate', resource: 'clusterroles', group: 'rbac.authorization.k8s.io'},
] as const

const covers = (values: readonly string[] | undefined, value: string): boolean => (values ?? []).includes('*') || (values ?? []).includes(value)

/** whether a rule (without resourceNames) allows `verb` on `group/resource` */
export function ruleAllows(r: PolicyRule, verb: string, resource: string, group = ''): boolean {
  return r.resourceNames === undefined && covers(r.verbs, verb) && covers(r.resources, resource) && covers(r.apiGroups, group)
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string' && v !== '')
}

/**
 * The rules of a role file: a YAML list of rules, a mapping with `rules`, or a Role/ClusterRole
 * manifest. Exit 2 names the file, the rule and the value at fault.
 */
export function parseRoleFile(text: string, path: string): RoleChoice {
  let document: unknown
  try {
    document = load(text, {schema: CORE_SCHEMA})
  } catch (error) {
    const reason = (error as {reason?: string}).reason ?? 'unparsable'
    throw new XccError(`role file ${path} is not valid YAML: ${reason}`, {exitCode: 2})
  }
  const list = Array.isArray(document) ? document : typeof document === 'object' && document !== null ? (document as {rules?: unknown}).rules : undefined
  if (!Array.isArray(list) || list.length === 0) throw new XccError(`role file ${path} holds no rules`, {exitCode: 2, hint: 'write a YAML list of rules ({apiGroups, resources, verbs}), or a Role or ClusterRole with rules'})
  const where = (i: number, field?: string): string => `role file ${path}: rules[${i}]${field ? `.${field}` : ''}`
  const hint = 'a rule is {apiGroups: [""], resources: [services], verbs: [get, list, watch]}'
  const rules = list.map((raw: unknown, i): PolicyRule => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new XccError(`${where(i)} is not a mapping`, {exitCode: 2, hint})
    const r = raw as Record<string, unknown>
    for (const key of Object.keys(r)) if (!['apiGroups', 'resources', 'resourceNames', 'nonResourceURLs', 'verbs'].includes(key)) throw new XccError(`${where(i, key)}: not a field of an RBAC rule`, {exitCode: 2, hint})
    for (const key of ['apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'] as const) {
      if (r[key] !== undefined && !(Array.isArray(r[key]) && (r[key] as unknown[]).every((v) => typeof v === 'string'))) throw new XccError(`${where(i, key)} must be a list of strings`, {exitCode: 2, hint})
    }
    if (!isStringList(r.verbs) || r.verbs.length === 0) throw new XccError(`${where(i, 'verbs')} must be a non-empty list of verbs`, {exitCode: 2, hint})
    for (const verb of r.verbs) {
      if (!(KNOWN_VERBS as readonly string[]).includes(verb)) throw new XccError(`${where(i, 'verbs')}: unknown verb "${verb}"`, {exitCode: 2, hint: `verbs are ${KNOWN_VERBS.join(', ')}`})
    }
    const resources = r.resources as string[] | undefined
    const urls = r.nonResourceURLs as string[] | undefined
    if (resources?.length && urls?.length) throw new XccError(`${where(i)} has both resources and nonResourceURLs`, {exitCode: 2, hint: 'write them as two rules'})
    if (!resources?.length && !urls?.length) throw new XccError(`${where(i)} names no resources (nor nonResourceURLs)`, {exitCode: 2, hint})
    if (resources?.length && !(r.apiGroups as string[] | undefined)?.length) throw new XccError(`${where(i, 'apiGroups')} is missing: a resource rule names its API groups ("" for the core group)`, {exitCode: 2, hint})
    return {
      ...(r.apiGroups ? {apiGroups: r.apiGroups as string[]} : {}), ...(resources ? {resources} : {}),
      ...(r.resourceNames ? {resourceNames: r.resourceNames as string[]} : {}), ...(urls ? {nonResourceURLs: urls} : {}), verbs: r.verbs,
    }
  })
  const mustNot = MUST_NOT_CANDIDATES.find((c) => !rules.some((r) => ruleAllows(r, c.verb, c.resource, 'group' in c ? c.group : '')))
  return {name: `file:${path}`, rules, ...(mustNot ? {mustNot} : {})}
}

/** Rules with nonResourceURLs cannot be granted in a namespace: exit 2 when --namespace is given. */
export function checkNamespacedRules(role: RoleChoice, namespaces: readonly string[]): void {
  if (namespaces.length === 0) return
  const i = role.rules.findIndex((r) => r.nonResourceURLs?.length)
  if (i >= 0) throw new XccError(`role ${role.name}: rules[${i}] grants nonResourceURLs, which a namespaced Role cannot hold`, {exitCode: 2, hint: 'drop --namespace, or the nonResourceURLs rule'})
}
