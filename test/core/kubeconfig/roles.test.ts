/**
 * src/core/kubeconfig/roles.ts and objects.ts: the presets' exact rules, role files (an unknown
 * verb is exit 2 naming the file, the rule and the verb), and the objects a service account's
 * kubeconfig consists of (labelled, named after it; namespaced with --namespace).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {issueObjects, neededPermissions, parseServiceAccount} from '../../../src/core/kubeconfig/objects.js'
import {PRESET_RULES, checkNamespacedRules, parseRoleFile, presetRole, ruleAllows} from '../../../src/core/kubeconfig/roles.js'
import {accessChecks, jwtExpiry, parseTtl, renderVerifyTable, verifyRows} from '../../../src/core/kubeconfig/verify.js'
import {assertBadInput} from '../../support/xcc-error.js'

describe('role presets', () => {
  it('service-reader reads services, endpoints and endpointslices, and nothing else', () => {
    assert.deepEqual(PRESET_RULES['service-reader'], [
      {apiGroups: [''], resources: ['services', 'endpoints'], verbs: ['get', 'list', 'watch']},
      {apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch']},
    ])
    assert.equal(PRESET_RULES['service-reader'].some((r) => ruleAllows(r, 'get', 'secrets')), false)
    assert.deepEqual(presetRole('service-reader').mustNot, {verb: 'get', resource: 'secrets'})
  })
  it('ingress-nginx has the controller\'s rules: ingresses/status update, its leader lease by name, events', () => {
    const rules = PRESET_RULES['ingress-nginx']
    assert.ok(rules.some((r) => ruleAllows(r, 'update', 'ingresses/status', 'networking.k8s.io')))
    assert.ok(rules.some((r) => r.resourceNames?.includes('ingress-nginx-leader') && r.verbs.includes('update')))
    assert.ok(rules.some((r) => ruleAllows(r, 'create', 'events')))
    assert.equal(rules.some((r) => ruleAllows(r, 'delete', 'pods')), false)
  })
  it('view and cluster-admin bind the built-in ClusterRoles', () => {
    assert.equal(presetRole('view').builtin, 'view')
    assert.equal(presetRole('cluster-admin').builtin, 'cluster-admin')
    assert.equal(presetRole('cluster-admin').mustNot, undefined)
  })
})

describe('role files', () => {
  it('a list of rules, a {rules} mapping, or a ClusterRole', () => {
    const list = parseRoleFile('- {apiGroups: [""], resources: [configmaps], verbs: [get]}\n', 'r.yaml')
    assert.deepEqual(list.rules, [{apiGroups: [''], resources: ['configmaps'], verbs: ['get']}])
    assert.deepEqual(list.mustNot, {verb: 'get', resource: 'secrets'})
    const role = parseRoleFile('apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: x}\nrules:\n- apiGroups: [""]\n  resources: [secrets]\n  verbs: ["*"]\n', 'cr.yaml')
    assert.deepEqual(role.mustNot, {verb: 'delete', resource: 'namespaces'}, 'the first request its rules do not cover')
  })
  it('an unknown verb is exit 2 naming the file, the rule and the verb', () => {
    assertBadInput(() => parseRoleFile('- {apiGroups: [""], resources: [pods], verbs: [get, reed]}\n', 'rules.yaml'), /role file rules\.yaml: rules\[0\]\.verbs: unknown verb "reed"/)
  })
  it('other mistakes: no rules, a missing apiGroups, an unknown field, bad YAML', () => {
    assertBadInput(() => parseRoleFile('[]', 'a.yaml'), /holds no rules/)
    assertBadInput(() => parseRoleFile('- {resources: [pods], verbs: [get]}', 'a.yaml'), /rules\[0\]\.apiGroups is missing/)
    assertBadInput(() => parseRoleFile('- {apiGroups: [""], resources: [pods], verbs: [get], verb: [list]}', 'a.yaml'), /rules\[0\]\.verb: not a field/)
    assertBadInput(() => parseRoleFile('- {apiGroups: [""', 'a.yaml'), /not valid YAML/)
  })
  it('nonResourceURLs cannot be granted in a namespace', () => {
    const role = parseRoleFile('- {nonResourceURLs: [/healthz], verbs: [get]}', 'a.yaml')
    assertBadInput(() => checkNamespacedRules(role, ['shop']), /nonResourceURLs/)
    checkNamespacedRules(role, [])
  })
})

describe('the objects of a service account\'s kubeconfig', () => {
  const sa = parseServiceAccount('gateways/nginx', 'service-reader')
  const plan = {sa, role: presetRole('service-reader'), namespaces: [], context: 'gw', legacyToken: false, ttlText: '24h'}
  it('--service-account [NS/]NAME; the default is kube-system/xcc-<role>', () => {
    assert.deepEqual(sa, {namespace: 'gateways', name: 'nginx'})
    assert.deepEqual(parseServiceAccount(undefined, 'view'), {namespace: 'kube-system', name: 'xcc-view'})
    assert.deepEqual(parseServiceAccount(undefined, 'file:./My Rules.yaml'), {namespace: 'kube-system', name: 'xcc-my-rules'})
    assertBadInput(() => parseServiceAccount('Bad_Name', 'view'), /not a valid Kubernetes name/)
  })
  it('cluster-wide: ServiceAccount, anchor Secret, ClusterRole and binding, all labelled as xcc\'s and named after it', () => {
    const objects = issueObjects(plan)
    assert.deepEqual(objects.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`), [
      'ServiceAccount gateways/nginx', 'Secret gateways/xcc-kc-nginx', 'ClusterRole /xcc-kc-gateways-nginx', 'ClusterRoleBinding /xcc-kc-gateways-nginx',
    ])
    for (const o of objects) assert.deepEqual(o.metadata.labels, {'app.kubernetes.io/managed-by': 'xcc', 'xcc.dev/kubeconfig': 'nginx'})
    assert.deepEqual(objects[3]?.subjects, [{kind: 'ServiceAccount', name: 'nginx', namespace: 'gateways'}])
    assert.deepEqual(neededPermissions(objects, false).slice(-2), [{verb: 'create', resource: 'serviceaccounts', subresource: 'token', group: '', namespace: 'gateways'}, {verb: 'patch', resource: 'secrets', group: '', namespace: 'gateways'}])
  })
  it('--namespace: a Role and RoleBinding in each; view binds the built-in ClusterRole; --ttl never: a legacy token Secret', () => {
    const namespaced = issueObjects({...plan, namespaces: ['a', 'b']})
    assert.deepEqual(namespaced.slice(2).map((o) => `${o.kind} ${o.metadata.namespace}`), ['Role a', 'RoleBinding a', 'Role b', 'RoleBinding b'])
    const view = issueObjects({...plan, role: presetRole('view'), namespaces: ['a']})
    assert.deepEqual(view.slice(2).map((o) => [o.kind, (o.roleRef as {kind: string; name: string}).name]), [['RoleBinding', 'view']])
    const legacy = issueObjects({...plan, legacyToken: true})
    assert.equal(legacy[1]?.type, 'kubernetes.io/service-account-token')
    assert.equal(legacy[1]?.metadata.annotations?.['kubernetes.io/service-account.name'], 'nginx')
  })
})

describe('verification', () => {
  it('an access review per verb and resource of each rule, per namespace, and one the role must be refused', () => {
    const checks = accessChecks(presetRole('service-reader'), ['shop'])
    assert.equal(checks.length, 10)
    assert.deepEqual(checks.map((c) => c.question.resource).slice(0, 6), ['services', 'services', 'services', 'endpoints', 'endpoints', 'endpoints'])
    assert.deepEqual(checks.at(-1), {question: {verb: 'get', resource: 'secrets', namespace: 'shop'}, expect: false, label: 'may not get secrets in shop'})
    assert.deepEqual(accessChecks(presetRole('ingress-nginx'), []).find((c) => c.question.name), {question: {verb: 'get', resource: 'leases', group: 'coordination.k8s.io', name: 'ingress-nginx-leader'}, expect: true, label: 'may get leases.coordination.k8s.io ingress-nginx-leader (cluster-wide)'})
  })
  it('rows: a refusal that must be allowed fails, an allowed must-not fails, a wrong user fails', () => {
    const [allow, deny] = [accessChecks(presetRole('view'), [])[0]!, accessChecks(presetRole('view'), []).at(-1)!]
    const rows = verifyRows({
      version: {ok: true, gitVersion: 'v1.32.0'}, whoami: {ok: true, username: 'system:serviceaccount:a:b', groups: []}, expectUser: 'system:serviceaccount:a:c',
      access: [{check: allow, answer: {allowed: false}}, {check: deny, answer: {allowed: true}}, {check: allow, answer: {allowed: true}}],
    })
    assert.deepEqual(rows.map((r) => r.ok), [true, false, false, false, true])
    assert.match(renderVerifyTable(rows), /^CHECK +RESULT {2}DETAIL\nserver answers \/version +ok +v1\.32\.0\n/)
    assert.deepEqual(verifyRows({version: {ok: false, error: 'refused'}, access: []}).map((r) => r.ok), [false])
  })
  it('--ttl: durations of at least 10 minutes, or never; a JWT\'s exp', () => {
    assert.equal(parseTtl('1h'), 3600)
    assert.equal(parseTtl('24h'), 86400)
    assert.equal(parseTtl('never'), 'never')
    assertBadInput(() => parseTtl('5m'), /at least 10 minutes/)
    assertBadInput(() => parseTtl('1y'), /not a duration/)
    const jwt = ['{"alg":"none"}', '{"exp":1800000000}', ''].map((p) => Buffer.from(p).toString('base64url')).join('.')
    assert.equal(jwtExpiry(jwt), 1800000000)
    assert.equal(jwtExpiry('opaque-token'), undefined)
  })
})
