/**
 * The Kubernetes objects behind a `service-account` kubeconfig: the ServiceAccount, its anchor
 * Secret (a TokenRequest token is bound to it: deleting the Secret kills the token at once; with
 * `--ttl never` it is the legacy token Secret itself), and the role and binding (a ClusterRole and
 * ClusterRoleBinding, or a Role and RoleBinding per `--namespace`; the built-in `view` and
 * `cluster-admin` ClusterRoles are bound, not copied). Every object is labelled as xcc's and with
 * the kubeconfig's name, so that `list` finds them and `revoke` deletes those and nothing else.
 */
import {XccError} from '../errors.js'
import {MANAGED_BY, MANAGED_BY_LABEL} from '../kube/labels.js'
import type {PolicyRule, RoleChoice} from './roles.js'

export const KUBECONFIG_LABEL = 'xcc.dev/kubeconfig'
export const ROLE_ANNOTATION = 'xcc.dev/role'
export const NAMESPACES_ANNOTATION = 'xcc.dev/namespaces'
export const CONTEXT_ANNOTATION = 'xcc.dev/context'
export const EXPIRES_ANNOTATION = 'xcc.dev/expires'
export const TTL_ANNOTATION = 'xcc.dev/ttl'
export const LEGACY_LAST_USED_LABEL = 'kubernetes.io/legacy-token-last-used'
export const SA_TOKEN_TYPE = 'kubernetes.io/service-account-token'
/** where a service account goes when --service-account names no namespace */
export const DEFAULT_SA_NAMESPACE = 'kube-system'

export interface ServiceAccountRef {
  readonly namespace: string
  readonly name: string
}

export interface ManifestObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: {readonly name: string; readonly namespace?: string; readonly labels: Readonly<Record<string, string>>; readonly annotations?: Readonly<Record<string, string>>}
  readonly [field: string]: unknown
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/

/** `[NS/]NAME` of --service-account; the default is `kube-system/xcc-<role>` */
export function parseServiceAccount(text: string | undefined, roleName: string): ServiceAccountRef {
  const fallback = `xcc-${roleName.startsWith('file:') ? (roleName.slice(5).split('/').pop() ?? 'role').replace(/\.(ya?ml|json)$/, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'role' : roleName}`
  const [namespace, name] = text === undefined ? [DEFAULT_SA_NAMESPACE, fallback] : text.includes('/') ? text.split('/', 2) as [string, string] : [DEFAULT_SA_NAMESPACE, text]
  if (text !== undefined && text.split('/').length > 2) throw new XccError(`--service-account ${text}: write it NAME or NAMESPACE/NAME`, {exitCode: 2})
  for (const [what, value] of [['namespace', namespace], ['name', name]] as const) {
    if (!DNS_LABEL.test(value)) throw new XccError(`--service-account ${text ?? fallback}: the ${what} "${value}" is not a valid Kubernetes name`, {exitCode: 2, hint: 'lowercase letters, digits and hyphens, at most 63, starting and ending with a letter or digit'})
  }
  return {namespace, name}
}

export function checkNamespaces(namespaces: readonly string[]): void {
  for (const ns of namespaces) if (!DNS_LABEL.test(ns)) throw new XccError(`--namespace ${ns}: not a valid namespace name`, {exitCode: 2})
}

/** the names of what a service account's kubeconfig consists of */
export function objectNames(sa: ServiceAccountRef): {anchor: string; legacyToken: string; clusterScoped: string; namespaced: string} {
  return {anchor: `xcc-kc-${sa.name}`, legacyToken: `xcc-kc-${sa.name}-token`, clusterScoped: `xcc-kc-${sa.namespace}-${sa.name}`, namespaced: `xcc-kc-${sa.name}`}
}

export function ownedLabels(sa: ServiceAccountRef): Record<string, string> {
  return {[MANAGED_BY_LABEL]: MANAGED_BY, [KUBECONFIG_LABEL]: sa.name}
}

export function ownedSelector(sa?: ServiceAccountRef): string {
  return `${MANAGED_BY_LABEL}=${MANAGED_BY},${sa ? `${KUBECONFIG_LABEL}=${sa.name}` : KUBECONFIG_LABEL}`
}

/** whether an object carries xcc's labels for this kubeconfig (revoke deletes only those) */
export function isOwned(labels: Readonly<Record<string, string>> | undefined, sa: ServiceAccountRef): boolean {
  return labels?.[MANAGED_BY_LABEL] === MANAGED_BY && labels[KUBECONFIG_LABEL] === sa.name
}

export interface IssuePlan {
  readonly sa: ServiceAccountRef
  readonly role: RoleChoice
  /** --namespace: a Role and RoleBinding in each; none = cluster-wide */
  readonly namespaces: readonly string[]
  /** the context the kubeconfig names */
  readonly context: string
  /** --ttl never: a legacy token Secret instead of a bound TokenRequest token */
  readonly legacyToken: boolean
  readonly ttlText: string
}

const RBAC = 'rbac.authorization.k8s.io'

/** The objects to create, in creation order (revoke deletes them in the reverse order, the token's Secret first). */
export function issueObjects(plan: IssuePlan): ManifestObject[] {
  const {sa, role} = plan
  const labels = ownedLabels(sa)
  const names = objectNames(sa)
  const subject = {kind: 'ServiceAccount', name: sa.name, namespace: sa.namespace}
  const out: ManifestObject[] = [{
    apiVersion: 'v1', kind: 'ServiceAccount',
    metadata: {
      name: sa.name, namespace: sa.namespace, labels,
      annotations: {[ROLE_ANNOTATION]: role.name, [CONTEXT_ANNOTATION]: plan.context, [TTL_ANNOTATION]: plan.ttlText, ...(plan.namespaces.length ? {[NAMESPACES_ANNOTATION]: plan.namespaces.join(',')} : {})},
    },
  }]
  out.push(plan.legacyToken
    ? {apiVersion: 'v1', kind: 'Secret', type: SA_TOKEN_TYPE, metadata: {name: names.legacyToken, namespace: sa.namespace, labels, annotations: {'kubernetes.io/service-account.name': sa.name}}}
    : {apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: {name: names.anchor, namespace: sa.namespace, labels, annotations: {'xcc.dev/purpose': 'the tokens of this kubeconfig are bound to this Secret: deleting it revokes them'}}})
  const rules = (r: readonly PolicyRule[]): PolicyRule[] => r.map((x) => ({...x}))
  if (plan.namespaces.length === 0) {
    const roleName = role.builtin ?? names.clusterScoped
    if (!role.builtin) out.push({apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: {name: names.clusterScoped, labels}, rules: rules(role.rules)})
    out.push({apiVersion: `${RBAC}/v1`, kind: 'ClusterRoleBinding', metadata: {name: names.clusterScoped, labels}, roleRef: {apiGroup: RBAC, kind: 'ClusterRole', name: roleName}, subjects: [subject]})
  } else {
    for (const ns of plan.namespaces) {
      if (!role.builtin) out.push({apiVersion: `${RBAC}/v1`, kind: 'Role', metadata: {name: names.namespaced, namespace: ns, labels}, rules: rules(role.rules)})
      out.push({
        apiVersion: `${RBAC}/v1`, kind: 'RoleBinding', metadata: {name: names.namespaced, namespace: ns, labels},
        roleRef: {apiGroup: RBAC, kind: role.builtin ? 'ClusterRole' : 'Role', name: role.builtin ?? names.namespaced}, subjects: [subject],
      })
    }
  }
  return out
}

/** `serviceaccounts`, `clusterrolebindings`: the resource of a kind, for requests and messages */
export function resourceOf(kind: string): {resource: string; group: string} {
  const group = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(kind) ? RBAC : ''
  return {resource: `${kind.toLowerCase()}s`, group}
}

/** `serviceaccount kube-system/x`, `clusterrole xcc-kc-…` */
export function describeObject(o: Pick<ManifestObject, 'kind' | 'metadata'>): string {
  return `${o.kind.toLowerCase()} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`
}

/** The permissions the issuing user needs, for a check before anything is created. */
export function neededPermissions(objects: readonly ManifestObject[], legacyToken: boolean): Array<{verb: string; resource: string; group: string; namespace?: string; subresource?: string}> {
  const out: Array<{verb: string; resource: string; group: string; namespace?: string; subresource?: string}> = objects.map((o) => ({verb: 'create', ...resourceOf(o.kind), ...(o.metadata.namespace ? {namespace: o.metadata.namespace} : {})}))
  const sa = objects[0]
  const ns = sa?.metadata.namespace ? {namespace: sa.metadata.namespace} : {}
  // the token, and the anchor Secret's annotation recording its expiry
  if (!legacyToken && sa) out.push({verb: 'create', resource: 'serviceaccounts', subresource: 'token', group: '', ...ns}, {verb: 'patch', resource: 'secrets', group: '', ...ns})
  return out
}
