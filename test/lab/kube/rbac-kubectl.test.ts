/**
 * RBAC with the real kubectl 1.32: `create role|rolebinding|clusterrole` (protobuf bodies),
 * `get roles` tables, `auth can-i` (yes / no with exit code 1, subresources, `--list`, `--as`),
 * and kube-apiserver's Forbidden messages as kubectl prints them.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {Kubectl, findKubectl, kubectlSkip} from '../../support/kubectl.js'
import {ALICE_TOKEN, type TestCluster, startTestCluster} from './cluster.js'

const skip = kubectlSkip()

describe('RBAC with kubectl 1.32', {skip}, () => {
  let cluster: TestCluster
  let kubectl: Kubectl
  let admin: string
  let alice: string
  const k = (args: string[], input?: string): Promise<string> => kubectl.ok(admin, input === undefined ? args : [...args, '-f', '-'], {input})

  before(async () => {
    const found = findKubectl()
    if (!('path' in found)) throw new Error(found.missing)
    kubectl = new Kubectl(found.path)
    cluster = await startTestCluster()
    admin = cluster.kubeconfig()
    alice = cluster.kubeconfig({token: ALICE_TOKEN})
    await k(['create', 'namespace', 'dev'])
  })

  after(async () => {
    await cluster?.close()
    kubectl?.dispose()
  })

  it('create role and rolebinding; auth can-i answers what the requests then get', async () => {
    assert.match(await k(['-n', 'dev', 'create', 'role', 'pod-reader', '--verb=get,list,watch', '--resource=pods,pods/log']), /role\.rbac\.authorization\.k8s\.io\/pod-reader created/)
    assert.match(await k(['-n', 'dev', 'create', 'rolebinding', 'alice-pods', '--role=pod-reader', '--user=alice']), /rolebinding\.rbac\.authorization\.k8s\.io\/alice-pods created/)
    assert.match(await k(['-n', 'dev', 'get', 'roles']), /^NAME\s+CREATED AT\npod-reader\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/)
    assert.match(await k(['-n', 'dev', 'get', 'rolebindings', '-o', 'wide']), /^NAME\s+ROLE\s+AGE\s+USERS\s+GROUPS\s+SERVICEACCOUNTS\nalice-pods\s+Role\/pod-reader\s+\d+s\s+alice\s*\n$/)

    assert.equal(await kubectl.ok(alice, ['-n', 'dev', 'auth', 'can-i', 'list', 'pods']), 'yes\n')
    assert.equal(await kubectl.ok(alice, ['-n', 'dev', 'auth', 'can-i', 'get', 'pods/log']), 'yes\n')
    const no = await kubectl.run(alice, ['-n', 'dev', 'auth', 'can-i', 'create', 'pods'])
    assert.deepEqual([no.code, no.stdout], [1, 'no\n'])
    assert.equal((await kubectl.run(alice, ['-n', 'default', 'auth', 'can-i', 'list', 'pods'])).stdout, 'no\n')
    assert.equal(await k(['-n', 'dev', 'auth', 'can-i', 'list', 'pods', '--as=alice']), 'yes\n')
    assert.equal((await kubectl.run(admin, ['-n', 'dev', 'auth', 'can-i', 'delete', 'pods', '--as=alice'])).stdout, 'no\n')

    const list = await kubectl.ok(alice, ['-n', 'dev', 'auth', 'can-i', '--list'])
    assert.match(list, /^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs\n/)
    assert.match(list, /\npods\/log\s+\[\]\s+\[\]\s+\[get list watch\]\n/)
    assert.match(list, /\nselfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]\n/)
    assert.match(list, /\n\s+\[\/api\/\*\]\s+\[\]\s+\[get\]\n/)

    assert.equal(await kubectl.ok(alice, ['-n', 'dev', 'get', 'pods']), '')
    const denied = await kubectl.run(alice, ['-n', 'default', 'get', 'pods'])
    assert.notEqual(denied.code, 0)
    assert.match(denied.stderr, /Error from server \(Forbidden\): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"/)
    const run = await kubectl.run(alice, ['-n', 'dev', 'run', 'sneaky', '--image=busybox', '--restart=Never', '--', 'true'])
    assert.match(run.stderr, /Error from server \(Forbidden\): pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "dev"/)
    const nodes = await kubectl.run(alice, ['get', 'nodes'])
    assert.match(nodes.stderr, /Error from server \(Forbidden\): nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope/)
  })

  it('apply a ClusterRole and a binding for a ServiceAccount; kubectl --as a ServiceAccount', async () => {
    await k(['apply'], `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: configmap-editor}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: robot-configmaps, namespace: dev}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: configmap-editor}
subjects:
- {kind: ServiceAccount, name: robot, namespace: dev}
`)
    await k(['-n', 'dev', 'create', 'serviceaccount', 'robot'])
    const as = ['--as=system:serviceaccount:dev:robot']
    assert.equal(await k(['-n', 'dev', 'auth', 'can-i', 'create', 'configmaps', ...as]), 'yes\n')
    assert.equal((await kubectl.run(admin, ['-n', 'default', 'auth', 'can-i', 'create', 'configmaps', ...as])).stdout, 'no\n')
    assert.match(await k(['-n', 'dev', 'create', 'configmap', 'made-by-robot', '--from-literal=a=b', ...as]), /configmap\/made-by-robot created/)
    const token = (await k(['-n', 'dev', 'create', 'token', 'robot'])).trim()
    const robot = cluster.kubeconfig({token})
    assert.equal(await kubectl.ok(robot, ['-n', 'dev', 'get', 'configmap', 'made-by-robot', '-o', 'jsonpath={.data.a}']), 'b')
    const secrets = await kubectl.run(robot, ['-n', 'dev', 'get', 'secrets'])
    assert.match(secrets.stderr, /secrets is forbidden: User "system:serviceaccount:dev:robot" cannot list resource "secrets" in API group "" in the namespace "dev"/)
    assert.match(await k(['get', 'clusterrole', 'configmap-editor', 'cluster-admin', 'view']), /^NAME\s+CREATED AT\nconfigmap-editor\s+\S+\ncluster-admin\s+\S+\nview\s+\S+\n$/)
  })
})
