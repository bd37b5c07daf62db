/**
 * RBAC with @kubernetes/client-node: a static-token user (alice) bound to a Role can do exactly
 * what it grants and gets kube-apiserver's 403 for the rest; subresources, resourceNames,
 * groups, ServiceAccounts, ClusterRoles, missing roles, impersonation, escalation prevention,
 * and the access and rules reviews agreeing with what requests get.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {AuthorizationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1Pod} from '@kubernetes/client-node'

import {ALICE_TOKEN, type TestCluster, eventually, startTestCluster} from './cluster.js'

let cluster: TestCluster
let admin: KubeConfig
let alice: KubeConfig

function config(path: string): KubeConfig {
  const loaded = new KubeConfig()
  loaded.loadFromFile(path)
  return loaded
}

interface Failure {
  code: number
  body: {kind?: string; status?: string; reason?: string; message?: string; code?: number; details?: Record<string, unknown>}
}

async function failure(promise: Promise<unknown>): Promise<Failure> {
  try {
    await promise
  } catch (error) {
    const {code, body} = error as {code?: number; body?: unknown}
    return {code: code ?? 0, body: typeof body === 'string' ? JSON.parse(body) : (body as Failure['body'])}
  }
  throw new Error('the request succeeded')
}

const rule = (verbs: string[], resources: string[], extra: {apiGroups?: string[]; resourceNames?: string[]} = {}) => ({verbs, apiGroups: extra.apiGroups ?? [''], resources, ...(extra.resourceNames ? {resourceNames: extra.resourceNames} : {})})
const user = (name: string) => ({apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name})
const roleRef = (kind: 'Role' | 'ClusterRole', name: string) => ({apiGroup: 'rbac.authorization.k8s.io', kind, name})
const pod = (name: string): V1Pod => ({metadata: {name}, spec: {restartPolicy: 'Never', containers: [{name: 'main', image: 'busybox', command: ['sh', '-c', 'echo from $HOSTNAME']}]}})

before(async () => {
  cluster = await startTestCluster()
  admin = config(cluster.kubeconfig())
  alice = config(cluster.kubeconfig({token: ALICE_TOKEN}))
  const core = admin.makeApiClient(CoreV1Api)
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api)
  await core.createNamespace({body: {metadata: {name: 'team'}}})
  await core.createNamespacedConfigMap({namespace: 'team', body: {metadata: {name: 'settings'}, data: {a: 'b'}}})
  await core.createNamespacedConfigMap({namespace: 'team', body: {metadata: {name: 'private'}, data: {c: 'd'}}})
  await rbac.createNamespacedRole({
    namespace: 'team',
    body: {metadata: {name: 'pod-reader'}, rules: [rule(['get', 'list', 'watch'], ['pods', 'pods/log']), rule(['get'], ['configmaps'], {resourceNames: ['settings']})]},
  })
  await rbac.createNamespacedRoleBinding({namespace: 'team', body: {metadata: {name: 'alice-reads-pods'}, roleRef: roleRef('Role', 'pod-reader'), subjects: [user('alice')]}})
  await core.createNamespacedPod({namespace: 'team', body: pod('worker')})
})

after(async () => {
  await cluster?.close()
})

describe('RBAC', () => {
  it('a Role and RoleBinding grant exactly their rules; everything else is a 403 worded as kube-apiserver words it', async () => {
    const core = alice.makeApiClient(CoreV1Api)
    assert.deepEqual((await core.listNamespacedPod({namespace: 'team'})).items.map((p) => p.metadata?.name), ['worker'])
    assert.equal((await core.readNamespacedPod({name: 'worker', namespace: 'team'})).metadata?.name, 'worker')
    await eventually('worker to finish', async () => (await core.readNamespacedPod({name: 'worker', namespace: 'team'})).status?.phase === 'Succeeded')
    assert.equal(await core.readNamespacedPodLog({name: 'worker', namespace: 'team'}), 'from worker\n')

    const create = await failure(core.createNamespacedPod({namespace: 'team', body: pod('nope')}))
    assert.equal(create.code, 403)
    assert.deepEqual(create.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "team"',
      reason: 'Forbidden',
      details: {kind: 'pods'},
      code: 403,
    })
    const other = await failure(core.readNamespacedPod({name: 'worker', namespace: 'default'}))
    assert.equal(other.body.message, 'pods "worker" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "default"')
    assert.deepEqual(other.body.details, {name: 'worker', kind: 'pods'})
    const nodes = await failure(core.listNode())
    assert.equal(nodes.body.message, 'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope')
    const remove = await failure(core.deleteNamespacedPod({name: 'worker', namespace: 'team'}))
    assert.equal(remove.body.message, 'pods "worker" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "team"')
    const ephemeral = await failure(core.patchNamespacedPodEphemeralcontainers({name: 'worker', namespace: 'team', body: []}))
    assert.equal(ephemeral.body.message, 'pods "worker" is forbidden: User "alice" cannot patch resource "pods/ephemeralcontainers" in API group "" in the namespace "team"')
    const roles = await failure(alice.makeApiClient(RbacAuthorizationV1Api).listNamespacedRole({namespace: 'team'}))
    assert.equal(roles.body.message, 'roles.rbac.authorization.k8s.io is forbidden: User "alice" cannot list resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "team"')
    assert.deepEqual(roles.body.details, {group: 'rbac.authorization.k8s.io', kind: 'roles'})
  })

  it('subresources and resourceNames are their own permissions', async () => {
    const core = alice.makeApiClient(CoreV1Api)
    assert.equal((await core.readNamespacedConfigMap({name: 'settings', namespace: 'team'})).data?.a, 'b')
    const privateOne = await failure(core.readNamespacedConfigMap({name: 'private', namespace: 'team'}))
    assert.equal(privateOne.body.message, 'configmaps "private" is forbidden: User "alice" cannot get resource "configmaps" in API group "" in the namespace "team"')
    const list = await failure(core.listNamespacedConfigMap({namespace: 'team'}))
    assert.equal(list.body.message, 'configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "team"')
    const status = await failure(core.readNamespacedPodStatus({name: 'worker', namespace: 'team'}))
    assert.equal(status.body.message, 'pods "worker" is forbidden: User "alice" cannot get resource "pods/status" in API group "" in the namespace "team"')
  })

  it('discovery paths for every authenticated user; other paths are forbidden', async () => {
    const core = alice.makeApiClient(CoreV1Api)
    assert.ok((await core.getAPIResources()).resources.some((r) => r.name === 'pods'))
    const review = await alice.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({body: {spec: {nonResourceAttributes: {path: '/metrics', verb: 'get'}}}})
    assert.equal(review.status?.allowed, false)
    const api = await alice.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({body: {spec: {nonResourceAttributes: {path: '/apis/apps/v1', verb: 'get'}}}})
    assert.deepEqual([api.status?.allowed, api.status?.reason], [true, 'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated"'])
  })

  it('SelfSubjectAccessReview and SelfSubjectRulesReview agree with what requests get', async () => {
    const authz = alice.makeApiClient(AuthorizationV1Api)
    const ask = async (verb: string, resource: string, namespace: string, extra: {subresource?: string; name?: string; group?: string} = {}) =>
      (await authz.createSelfSubjectAccessReview({body: {spec: {resourceAttributes: {verb, resource, namespace, ...extra}}}})).status!
    const list = await ask('list', 'pods', 'team')
    assert.deepEqual([list.allowed, list.reason], [true, 'RBAC: allowed by RoleBinding "alice-reads-pods/team" of Role "pod-reader" to User "alice"'])
    const create = await ask('create', 'pods', 'team')
    assert.deepEqual([create.allowed, create.denied, create.reason], [false, undefined, undefined], 'no rule: no opinion, no reason')
    assert.equal((await ask('get', 'pods', 'team', {subresource: 'log'})).allowed, true)
    assert.equal((await ask('get', 'pods', 'team', {subresource: 'exec'})).allowed, false)
    assert.equal((await ask('get', 'configmaps', 'team', {name: 'settings'})).allowed, true)
    assert.equal((await ask('get', 'configmaps', 'team', {name: 'private'})).allowed, false)
    assert.equal((await ask('list', 'pods', 'default')).allowed, false)
    assert.equal((await ask('create', 'selfsubjectaccessreviews', '', {group: 'authorization.k8s.io'})).allowed, true)
    const adminReview = await admin.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({body: {spec: {resourceAttributes: {verb: 'delete', resource: 'nodes'}}}})
    assert.equal(adminReview.status?.allowed, true, 'system:masters may do everything')

    const rules = await authz.createSelfSubjectRulesReview({body: {spec: {namespace: 'team'}}})
    assert.equal(rules.status?.incomplete, false)
    assert.ok(rules.status?.resourceRules.some((r) => r.resources?.includes('pods/log') && r.verbs.includes('watch')))
    assert.ok(rules.status?.resourceRules.some((r) => r.resourceNames?.includes('settings')))
    assert.ok(rules.status?.nonResourceRules.some((r) => r.nonResourceURLs?.includes('/api/*')))

    const sar = await admin.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({body: {spec: {user: 'alice', groups: ['developers'], resourceAttributes: {verb: 'list', resource: 'pods', namespace: 'team'}}}})
    assert.equal(sar.status?.allowed, true)
    const denied = await failure(authz.createSubjectAccessReview({body: {spec: {user: 'bob', resourceAttributes: {verb: 'list', resource: 'pods'}}}}))
    assert.equal(denied.body.message, 'subjectaccessreviews.authorization.k8s.io is forbidden: User "alice" cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope')
  })

  it('groups, ServiceAccounts, ClusterRoles and a binding to a missing role', async () => {
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api)
    const core = admin.makeApiClient(CoreV1Api)
    await rbac.createClusterRole({body: {metadata: {name: 'node-viewer'}, rules: [rule(['get', 'list'], ['nodes'])]}})
    await rbac.createClusterRoleBinding({body: {metadata: {name: 'developers-view-nodes'}, roleRef: roleRef('ClusterRole', 'node-viewer'), subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'developers'}]}})
    assert.equal((await alice.makeApiClient(CoreV1Api).listNode()).items.length, 2)

    await core.createNamespacedServiceAccount({namespace: 'team', body: {metadata: {name: 'robot'}}})
    const token = (await core.createNamespacedServiceAccountToken({name: 'robot', namespace: 'team', body: {spec: {audiences: []}}})).status!.token
    const robot = config(cluster.kubeconfig({token}))
    const robotCore = robot.makeApiClient(CoreV1Api)
    const before = await failure(robotCore.listNamespacedConfigMap({namespace: 'team'}))
    assert.equal(before.body.message, 'configmaps is forbidden: User "system:serviceaccount:team:robot" cannot list resource "configmaps" in API group "" in the namespace "team"')
    // a ServiceAccount subject without a namespace is the binding's namespace
    await rbac.createNamespacedRoleBinding({namespace: 'team', body: {metadata: {name: 'robot-view'}, roleRef: roleRef('ClusterRole', 'view'), subjects: [{kind: 'ServiceAccount', name: 'robot'}]}})
    assert.deepEqual((await robotCore.listNamespacedConfigMap({namespace: 'team'})).items.map((c) => c.metadata?.name), ['private', 'settings'])
    await rbac.createNamespacedRoleBinding({namespace: 'team', body: {metadata: {name: 'team-sas-secrets'}, roleRef: roleRef('Role', 'secret-reader'), subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:serviceaccounts:team'}]}})
    const missing = await failure(robotCore.listNamespacedSecret({namespace: 'team'}))
    assert.equal(missing.body.message, 'secrets is forbidden: User "system:serviceaccount:team:robot" cannot list resource "secrets" in API group "" in the namespace "team": RBAC: role.rbac.authorization.k8s.io "secret-reader" not found')
    await rbac.createNamespacedRole({namespace: 'team', body: {metadata: {name: 'secret-reader'}, rules: [rule(['list'], ['secrets'])]}})
    assert.ok(Array.isArray((await robotCore.listNamespacedSecret({namespace: 'team'})).items))

    const invalid = await failure(rbac.createNamespacedRoleBinding({namespace: 'team', body: {metadata: {name: 'bad'}, roleRef: roleRef('Role', ''), subjects: [{kind: 'Robot', name: 'x'}]}}))
    assert.equal(invalid.code, 422)
    assert.equal(invalid.body.message, 'RoleBinding.rbac.authorization.k8s.io "bad" is invalid: [roleRef.name: Required value, subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"]')
  })

  it('impersonation needs the impersonate verb; escalation needs the rules or the escalate/bind verbs', async () => {
    const asBob = config(cluster.kubeconfig({token: ALICE_TOKEN}))
    asBob.users[0] = {...asBob.users[0]!, impersonateUser: 'bob'}
    const impersonating = await failure(asBob.makeApiClient(CoreV1Api).listNamespacedPod({namespace: 'team'}))
    assert.equal(impersonating.body.message, 'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope')
    const adminAsAlice = config(cluster.kubeconfig())
    adminAsAlice.users[0] = {...adminAsAlice.users[0]!, impersonateUser: 'alice'}
    const asAlice = await failure(adminAsAlice.makeApiClient(CoreV1Api).listNamespacedSecret({namespace: 'default'}))
    assert.equal(asAlice.body.message, 'secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "default"')

    const rbac = admin.makeApiClient(RbacAuthorizationV1Api)
    await admin.makeApiClient(CoreV1Api).createNamespace({body: {metadata: {name: 'sandbox'}}})
    await rbac.createNamespacedRoleBinding({namespace: 'sandbox', body: {metadata: {name: 'alice-admin'}, roleRef: roleRef('ClusterRole', 'admin'), subjects: [user('alice')]}})
    const aliceRbac = alice.makeApiClient(RbacAuthorizationV1Api)
    await aliceRbac.createNamespacedRole({namespace: 'sandbox', body: {metadata: {name: 'reader'}, rules: [rule(['get', 'list'], ['pods', 'configmaps'])]}})
    const escalating = await failure(aliceRbac.createNamespacedRole({namespace: 'sandbox', body: {metadata: {name: 'lease-editor'}, rules: [rule(['get', 'create'], ['leases'], {apiGroups: ['coordination.k8s.io']})]}}))
    assert.equal(escalating.code, 403)
    assert.equal(
      escalating.body.message,
      'roles.rbac.authorization.k8s.io "lease-editor" is forbidden: user "alice" (groups=["developers" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["coordination.k8s.io"], Resources:["leases"], Verbs:["get" "create"]}',
    )
    await aliceRbac.createNamespacedRoleBinding({namespace: 'sandbox', body: {metadata: {name: 'view-for-carol'}, roleRef: roleRef('ClusterRole', 'view'), subjects: [user('carol')]}})
    const binding = await failure(aliceRbac.createNamespacedRoleBinding({namespace: 'sandbox', body: {metadata: {name: 'carol-admin'}, roleRef: roleRef('ClusterRole', 'cluster-admin'), subjects: [user('carol')]}}))
    assert.equal(binding.code, 403)
    assert.match(binding.body.message!, /^rolebindings\.rbac\.authorization\.k8s\.io "carol-admin" is forbidden: user "alice" \(groups=\["developers" "system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\["\*"\], Resources:\["\*"\], Verbs:\["\*"\]\}/)
  })
})
