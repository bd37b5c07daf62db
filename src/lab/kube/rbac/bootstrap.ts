/**
 * The default RBAC policy a new cluster starts with (a subset of kube-apiserver's bootstrap
 * policy, for the resources the lab serves): `cluster-admin` bound to `system:masters`;
 * `system:discovery`, `system:basic-user` (self access and rules reviews, SelfSubjectReview)
 * and `system:public-info-viewer` bound to every authenticated user; `system:service-account-issuer-discovery`
 * (the OIDC discovery document and the token keys) bound to every ServiceAccount; and the user-facing
 * `admin`, `edit` and `view` ClusterRoles to bind in namespaces.
 */
import type {KubeObject} from '../types.js'
import {type PolicyRule, RBAC_GROUP} from './rules.js'

const READ = ['get', 'list', 'watch']
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update']
const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({verbs, apiGroups, resources})
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({verbs, nonResourceURLs})

const VIEW: PolicyRule[] = [
  rule(READ, [''], ['configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status']),
  rule(READ, [''], ['bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status', 'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status']),
  rule(READ, [''], ['namespaces']),
  rule(READ, ['discovery.k8s.io'], ['endpointslices']),
  rule(READ, ['apps'], ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status']),
  rule(READ, ['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
  rule(READ, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
  rule(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
]

const EDIT: PolicyRule[] = [
  rule(['impersonate'], [''], ['serviceaccounts']),
  rule(WRITE, [''], ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy']),
  rule(['create'], [''], ['pods/eviction']),
  rule(WRITE, [''], ['configmaps', 'endpoints', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'services', 'services/proxy']),
  rule(['create'], [''], ['serviceaccounts/token']),
  rule(WRITE, ['apps'], ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale']),
  rule(WRITE, ['batch'], ['cronjobs', 'jobs']),
  rule(WRITE, ['networking.k8s.io'], ['ingresses', 'networkpolicies']),
  rule(WRITE, ['policy'], ['poddisruptionbudgets']),
  rule(READ, [''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy']),
  ...VIEW,
]

const ADMIN: PolicyRule[] = [
  rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
  rule(ALL_VERBS, [RBAC_GROUP], ['rolebindings', 'roles']),
  ...EDIT,
]

const DISCOVERY_URLS = ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/']
const ISSUER_URLS = ['/.well-known/openid-configuration', '/.well-known/openid-configuration/', '/openid/v1/jwks', '/openid/v1/jwks/']
const PUBLIC_URLS = ['/healthz', '/livez', '/readyz', '/version', '/version/']

const BOOTSTRAP_META = {labels: {'kubernetes.io/bootstrapping': 'rbac-defaults'}, annotations: {'rbac.authorization.kubernetes.io/autoupdate': 'true'}}

function clusterRole(name: string, rules: PolicyRule[], labels: Record<string, string> = {}): KubeObject {
  return {apiVersion: `${RBAC_GROUP}/v1`, kind: 'ClusterRole', metadata: {name, ...BOOTSTRAP_META, labels: {...BOOTSTRAP_META.labels, ...labels}}, rules}
}

function clusterRoleBinding(name: string, role: string, groups: string[]): KubeObject {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: {name, ...BOOTSTRAP_META},
    roleRef: {apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role},
    subjects: groups.map((group) => ({apiGroup: RBAC_GROUP, kind: 'Group', name: group})),
  }
}

/** The ClusterRoles and ClusterRoleBindings every cluster starts with. */
export function bootstrapPolicy(): KubeObject[] {
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    clusterRole('admin', ADMIN),
    clusterRole('edit', EDIT, {'rbac.authorization.k8s.io/aggregate-to-admin': 'true'}),
    clusterRole('view', VIEW, {'rbac.authorization.k8s.io/aggregate-to-edit': 'true'}),
    clusterRole('system:discovery', [urls(['get'], DISCOVERY_URLS)]),
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:public-info-viewer', [urls(['get'], PUBLIC_URLS)]),
    clusterRole('system:service-account-issuer-discovery', [urls(['get'], ISSUER_URLS)]),
    clusterRoleBinding('cluster-admin', 'cluster-admin', ['system:masters']),
    clusterRoleBinding('system:discovery', 'system:discovery', ['system:authenticated']),
    clusterRoleBinding('system:basic-user', 'system:basic-user', ['system:authenticated']),
    clusterRoleBinding('system:public-info-viewer', 'system:public-info-viewer', ['system:authenticated', 'system:unauthenticated']),
    clusterRoleBinding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', ['system:serviceaccounts']),
  ]
}
