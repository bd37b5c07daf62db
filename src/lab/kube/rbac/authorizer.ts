/**
 * RBAC authorization from the Roles, ClusterRoles, RoleBindings and ClusterRoleBindings in the
 * store, evaluated on every request as the real authorizer does: members of `system:masters`
 * may do everything; otherwise a request is allowed when a rule of a role bound to the user
 * (by name, group or ServiceAccount) allows it — ClusterRoleBindings everywhere, RoleBindings
 * only in their namespace. Nothing else is ever denied explicitly: without an allowing rule
 * there is "no opinion", which the server answers with 403.
 *
 * Aggregated ClusterRoles (aggregationRule) take the rules of the ClusterRoles their selectors
 * match, at evaluation time (the real controller copies them into the role).
 */
import type {UserInfo} from '../controllers/serviceaccounts.js'
import {labelSelectorRequirements, matchesLabels} from '../selectors.js'
import type {ObjectStore} from '../store.js'
import {type KubeObject, type LabelSelector, isPlainObject} from '../types.js'
import {type PolicyRule, type RequestAttributes, describeSubject, roleRefOf, ruleAllows, rulesOf, subjectMatches, subjectsOf} from './rules.js'

/** The group whose members the authorizer allows everything, before RBAC (as kube-apiserver). */
export const PRIVILEGED_GROUP = 'system:masters'

export interface Decision {
  allowed: boolean
  /** why it was allowed (`RBAC: allowed by …`), or the errors met on the way (`RBAC: …`); may be '' */
  reason: string
}

export interface UserRules {
  rules: PolicyRule[]
  /** bindings whose role is missing: the rules are incomplete */
  errors: string[]
}

const PRIVILEGED_RULES: PolicyRule[] = [
  {verbs: ['*'], apiGroups: ['*'], resources: ['*']},
  {verbs: ['*'], nonResourceURLs: ['*']},
]

type Visitor = (source: string | undefined, rule: PolicyRule | undefined, error: string | undefined) => boolean

/** Several errors as Go's aggregate prints them: one alone, else `[a, b]`. */
export function aggregateErrors(errors: readonly string[]): string {
  const unique = [...new Set(errors)]
  return unique.length === 1 ? unique[0]! : `[${unique.join(', ')}]`
}

export class RbacAuthorizer {
  private readonly store: ObjectStore

  constructor(store: ObjectStore) {
    this.store = store
  }

  private type(resource: 'roles' | 'clusterroles' | 'rolebindings' | 'clusterrolebindings') {
    return this.store.registry.get(resource, 'rbac.authorization.k8s.io')
  }

  private clusterRoleRules(role: KubeObject): PolicyRule[] {
    const aggregation = isPlainObject(role.aggregationRule) ? role.aggregationRule : undefined
    if (!aggregation) return rulesOf(role)
    const selectors = (Array.isArray(aggregation.clusterRoleSelectors) ? aggregation.clusterRoleSelectors : []).filter(isPlainObject)
    const rules: PolicyRule[] = []
    for (const other of this.store.list(this.type('clusterroles'))) {
      if (other.metadata.name === role.metadata.name || isPlainObject(other.aggregationRule)) continue
      const matched = selectors.some((selector) => {
        const requirements = labelSelectorRequirements(selector as LabelSelector)
        return requirements !== null && matchesLabels(requirements, other.metadata.labels)
      })
      if (matched) rules.push(...rulesOf(other))
    }
    return rules
  }

  /** The rules of the role a binding refers to, or the error the real resolver reports. */
  private roleRules(ref: {kind: string; name: string}, namespace: string): {rules: PolicyRule[]} | {error: string} {
    if (ref.kind === 'Role') {
      const role = namespace ? this.store.get(this.type('roles'), namespace, ref.name) : undefined
      return role ? {rules: rulesOf(role)} : {error: `role.rbac.authorization.k8s.io "${ref.name}" not found`}
    }
    if (ref.kind === 'ClusterRole') {
      const role = this.store.get(this.type('clusterroles'), undefined, ref.name)
      return role ? {rules: this.clusterRoleRules(role)} : {error: `clusterrole.rbac.authorization.k8s.io "${ref.name}" not found`}
    }
    return {error: `unsupported role reference kind: "${ref.kind}"`}
  }

  /** Visits the rules that apply to the user in `namespace` ('' = cluster bindings only) until `visit` says stop. */
  private visitRules(user: UserInfo, namespace: string, visit: Visitor): void {
    const scopes: Array<{bindings: KubeObject[]; namespace: string; kind: string}> = [
      {bindings: this.store.list(this.type('clusterrolebindings')), namespace: '', kind: 'ClusterRoleBinding'},
    ]
    if (namespace) scopes.push({bindings: this.store.list(this.type('rolebindings'), namespace), namespace, kind: 'RoleBinding'})
    for (const scope of scopes) {
      for (const binding of scope.bindings) {
        const subject = subjectsOf(binding).find((s) => subjectMatches(s, user, scope.namespace))
        if (!subject) continue
        const ref = roleRefOf(binding)
        const resolved = this.roleRules(ref, scope.namespace)
        if ('error' in resolved) {
          if (!visit(undefined, undefined, resolved.error)) return
          continue
        }
        const bindingName = scope.namespace ? `${binding.metadata.name}/${scope.namespace}` : binding.metadata.name
        const source = `${scope.kind} "${bindingName}" of ${ref.kind} "${ref.name}" to ${describeSubject(subject, scope.namespace)}`
        for (const rule of resolved.rules) if (!visit(source, rule, undefined)) return
      }
    }
  }

  authorize(user: UserInfo, attributes: RequestAttributes): Decision {
    if (user.groups.includes(PRIVILEGED_GROUP)) return {allowed: true, reason: ''}
    let allowedBy: string | undefined
    const errors: string[] = []
    this.visitRules(user, attributes.namespace, (source, rule, error) => {
      if (rule && ruleAllows(attributes, rule)) {
        allowedBy = source
        return false
      }
      if (error) errors.push(error)
      return true
    })
    if (allowedBy !== undefined) return {allowed: true, reason: `RBAC: allowed by ${allowedBy}`}
    return {allowed: false, reason: errors.length > 0 ? `RBAC: ${aggregateErrors(errors)}` : ''}
  }

  /** Every rule that applies to the user in `namespace`, as SelfSubjectRulesReview and the escalation check see them. */
  rulesFor(user: UserInfo, namespace: string): UserRules {
    const rules: PolicyRule[] = user.groups.includes(PRIVILEGED_GROUP) ? [...PRIVILEGED_RULES] : []
    const errors: string[] = []
    this.visitRules(user, namespace, (_source, rule, error) => {
      if (rule) rules.push(rule)
      if (error) errors.push(error)
      return true
    })
    return {rules, errors}
  }

  /** The rules of a binding's role (escalation check of bindings), or the resolver's error. */
  referencedRules(ref: {kind: string; name: string}, namespace: string): {rules: PolicyRule[]} | {error: string} {
    return this.roleRules(ref, namespace)
  }
}
