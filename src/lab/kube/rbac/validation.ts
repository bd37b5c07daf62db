/**
 * Defaults and validation of the rbac.authorization.k8s.io/v1 kinds, worded as kube-apiserver's:
 * rules need verbs and either api groups and resources or non-resource URLs (never on a Role);
 * bindings need a roleRef to a Role or ClusterRole (only a ClusterRole from a
 * ClusterRoleBinding), which never changes, and subjects of kind User, Group or ServiceAccount.
 */
import {type StatusCause, invalid} from '../errors.js'
import {type KubeObject, isPlainObject, jsonEqual} from '../types.js'
import {RBAC_GROUP} from './rules.js'

const goStrings = (values: readonly unknown[]): string => `[]string{${values.map((v) => JSON.stringify(String(v))).join(', ')}}`
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [])
const supported = (values: readonly string[]): string => values.map((v) => JSON.stringify(v)).join(', ')

function validateRules(rules: unknown, namespaced: boolean): StatusCause[] {
  const causes: StatusCause[] = []
  list(rules).forEach((raw, i) => {
    const rule = isPlainObject(raw) ? raw : {}
    const at = `rules[${i}]`
    if (list(rule.verbs).length === 0) causes.push({reason: 'FieldValueRequired', field: `${at}.verbs`, message: 'Required value: verbs must contain at least one value'})
    const urls = list(rule.nonResourceURLs)
    if (urls.length > 0) {
      if (namespaced) causes.push({reason: 'FieldValueInvalid', field: `${at}.nonResourceURLs`, message: `Invalid value: ${goStrings(urls)}: namespaced rules cannot apply to non-resource URLs`})
      if (list(rule.apiGroups).length > 0 || list(rule.resources).length > 0 || list(rule.resourceNames).length > 0) {
        causes.push({reason: 'FieldValueInvalid', field: `${at}.nonResourceURLs`, message: `Invalid value: ${goStrings(urls)}: rules cannot apply to both regular resources and non-resource URLs`})
      }
      return
    }
    if (list(rule.apiGroups).length === 0) causes.push({reason: 'FieldValueRequired', field: `${at}.apiGroups`, message: 'Required value: resource rules must supply at least one api group'})
    if (list(rule.resources).length === 0) causes.push({reason: 'FieldValueRequired', field: `${at}.resources`, message: 'Required value: resource rules must supply at least one resource'})
  })
  return causes
}

function defaultBinding(object: KubeObject): void {
  if (isPlainObject(object.roleRef) && !object.roleRef.apiGroup) object.roleRef.apiGroup = RBAC_GROUP
  for (const subject of list(object.subjects)) {
    if (isPlainObject(subject) && !subject.apiGroup && (subject.kind === 'User' || subject.kind === 'Group')) subject.apiGroup = RBAC_GROUP
  }
}

function validateBinding(object: KubeObject, namespaced: boolean): StatusCause[] {
  const causes: StatusCause[] = []
  const ref = isPlainObject(object.roleRef) ? object.roleRef : {}
  if (ref.apiGroup !== RBAC_GROUP) causes.push({reason: 'FieldValueNotSupported', field: 'roleRef.apiGroup', message: `Unsupported value: ${JSON.stringify(String(ref.apiGroup ?? ''))}: supported values: ${supported([RBAC_GROUP])}`})
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole']
  if (!kinds.includes(String(ref.kind ?? ''))) causes.push({reason: 'FieldValueNotSupported', field: 'roleRef.kind', message: `Unsupported value: ${JSON.stringify(String(ref.kind ?? ''))}: supported values: ${supported(kinds)}`})
  if (!ref.name) causes.push({reason: 'FieldValueRequired', field: 'roleRef.name', message: 'Required value'})
  list(object.subjects).forEach((raw, i) => {
    const subject = isPlainObject(raw) ? raw : {}
    const at = `subjects[${i}]`
    if (!subject.name) causes.push({reason: 'FieldValueRequired', field: `${at}.name`, message: 'Required value'})
    const group = String(subject.apiGroup ?? '')
    switch (subject.kind) {
      case 'ServiceAccount':
        if (group !== '') causes.push({reason: 'FieldValueNotSupported', field: `${at}.apiGroup`, message: `Unsupported value: ${JSON.stringify(group)}: supported values: ""`})
        if (!namespaced && !subject.namespace) causes.push({reason: 'FieldValueRequired', field: `${at}.namespace`, message: 'Required value'})
        break
      case 'User':
      case 'Group':
        if (group !== RBAC_GROUP) causes.push({reason: 'FieldValueNotSupported', field: `${at}.apiGroup`, message: `Unsupported value: ${JSON.stringify(group)}: supported values: ${supported([RBAC_GROUP])}`})
        break
      default:
        causes.push({reason: 'FieldValueNotSupported', field: `${at}.kind`, message: `Unsupported value: ${JSON.stringify(String(subject.kind ?? ''))}: supported values: "ServiceAccount", "User", "Group"`})
    }
  })
  return causes
}

function goRoleRef(ref: unknown): string {
  const r = isPlainObject(ref) ? ref : {}
  return `rbac.RoleRef{APIGroup:${JSON.stringify(String(r.apiGroup ?? ''))}, Kind:${JSON.stringify(String(r.kind ?? ''))}, Name:${JSON.stringify(String(r.name ?? ''))}}`
}

/** Defaults and validation of a Role, ClusterRole, RoleBinding or ClusterRoleBinding (in place); other kinds pass. */
export function admitRbac(object: KubeObject, current: KubeObject | undefined): void {
  const name = object.metadata.name ?? current?.metadata.name ?? ''
  let causes: StatusCause[]
  switch (object.kind) {
    case 'Role':
    case 'ClusterRole':
      causes = validateRules(object.rules, object.kind === 'Role')
      break
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      defaultBinding(object)
      causes = validateBinding(object, object.kind === 'RoleBinding')
      if (current && !jsonEqual(current.roleRef, object.roleRef)) causes.push({reason: 'FieldValueInvalid', field: 'roleRef', message: `Invalid value: ${goRoleRef(object.roleRef)}: cannot change roleRef`})
      break
    default:
      return
  }
  if (causes.length > 0) throw invalid(object.kind, name, causes, RBAC_GROUP)
}
