/**
 * `xcc dns` against real emulated API servers (test/lab/kube/cluster.ts): the built CLI in a child
 * process, cluster A (frontend, kube-dns) and cluster B (backend, an internal LoadBalancer Service)
 * in one kubeconfig, the real @kubernetes/client-node through xcc's adapter. What a dry run prints
 * and that it writes nothing; bad kube-dns ConfigMaps refused (exit 2) before any write; RBAC
 * refusals naming the permission (exit 3); the adapter's Service and ConfigMap writes that link
 * uses. (The lab's API serves no apps/v1 Deployments yet, so the full write path of `link` is
 * tested behind the port in test/core/dns/plan.test.ts.)
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {loadKubeContexts} from '../../src/adapters/kube/index.js'
import {linkKubeDns, unlinkKubeDns} from '../../src/core/dns/kube-dns.js'
import {ApiError} from '../../src/core/errors.js'
import type {KubeCluster, KubeConfigMap} from '../../src/core/ports/kube.js'
import type {KubeObject} from '../../src/lab/kube/index.js'
import {ALICE_TOKEN, type TestCluster, startTestCluster} from '../lab/kube/cluster.js'
import {ROOT, STACK} from '../support/lab-cli.js'

const KUBE_DNS: KubeObject = {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'kube-dns', namespace: 'kube-system', labels: {'addonmanager.kubernetes.io/mode': 'EnsureExists'}}, data: {upstreamNameservers: '["8.8.8.8", "8.8.4.4"]'}}
const B_OBJECTS: KubeObject[] = [
  {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'shop'}},
  {apiVersion: 'v1', kind: 'Service', metadata: {name: 'api', namespace: 'shop', annotations: {'networking.gke.io/load-balancer-type': 'Internal'}}, spec: {type: 'LoadBalancer', selector: {app: 'api'}, ports: [{port: 443, protocol: 'TCP'}]}, status: {loadBalancer: {ingress: [{ip: '10.128.0.42'}]}}},
  {apiVersion: 'v1', kind: 'Service', metadata: {name: 'web', namespace: 'shop'}, spec: {type: 'LoadBalancer', selector: {app: 'web'}, ports: [{port: 80, protocol: 'TCP'}]}, status: {loadBalancer: {ingress: [{ip: '34.77.1.2'}]}}},
]

let a: TestCluster
let b: TestCluster
let kubeconfig: string
let frontend: KubeCluster

function xcc(args: string[]): Promise<{status: number; stdout: string; stderr: string}> {
  // asynchronous: the API servers answer from this process
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/run.js'), ...args, '--kubeconfig', kubeconfig], {encoding: 'utf8', timeout: 60_000, env: {...process.env, NO_COLOR: '1'}}, (error, stdout, stderr) => {
      resolve({status: error ? Number((error as {code?: number}).code ?? 1) : 0, stdout, stderr})
    })
  })
}

const kubeDnsNow = async (): Promise<KubeConfigMap> => (await frontend.getConfigMap('kube-system', 'kube-dns')) as KubeConfigMap
const pair = ['--from-context', 'frontend', '--to-context', 'backend']

before(async () => {
  ;[a, b] = await Promise.all([startTestCluster({objects: [KUBE_DNS]}), startTestCluster({objects: B_OBJECTS})])
  const user = (t: TestCluster) => (yaml.load(readFileSync(t.kubeconfig(), 'utf8')) as {clusters: [{cluster: unknown}]; users: [{user: unknown}]})
  const ua = user(a)
  const ub = user(b)
  const config = {
    apiVersion: 'v1', kind: 'Config',
    clusters: [{name: 'a', cluster: ua.clusters[0].cluster}, {name: 'b', cluster: ub.clusters[0].cluster}],
    users: [{name: 'admin-a', user: ua.users[0].user}, {name: 'admin-b', user: ub.users[0].user}, {name: 'alice', user: {token: ALICE_TOKEN}}],
    contexts: [
      {name: 'frontend', context: {cluster: 'a', user: 'admin-a'}},
      {name: 'backend', context: {cluster: 'b', user: 'admin-b'}},
      {name: 'limited', context: {cluster: 'a', user: 'alice'}},
    ],
    'current-context': 'frontend',
  }
  kubeconfig = join(a.dir, 'dns.kubeconfig')
  writeFileSync(kubeconfig, yaml.dump(config), {mode: 0o600})
  frontend = (await loadKubeContexts({kubeconfig, env: {}})).open('frontend')
})

after(async () => {
  await Promise.all([a?.close(), b?.close()])
})

describe('xcc dns link --dry-run against the emulated API', () => {
  it('prints the diff (records, responder, stubDomains) and writes nothing', async () => {
    const before = await kubeDnsNow()
    const t0 = performance.now()
    const r = await xcc(['dns', 'link', ...pair, '--dry-run'])
    const ms = performance.now() - t0
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^Context frontend: kube-dns /m)
    assert.match(r.stdout, /^ {2}api\.shop\.backend\.clusters\.xcc\.test → 10\.128\.0\.42 \(shop\/api\)$/m)
    assert.match(r.stdout, /^ {2}shop\/web: not served \(its load balancer 34\.77\.1\.2 is external, not internal \(ILB-01\)\)$/m)
    for (const c of ['create ConfigMap kube-system/xcc-dns-responder', 'create Deployment kube-system/xcc-dns-responder', 'create Service kube-system/xcc-dns-responder', 'update ConfigMap kube-system/kube-dns']) assert.match(r.stdout, new RegExp(`^${c}$`, 'm'))
    assert.match(r.stdout, /^\+ {3}stubDomains: '\{"backend\.clusters\.xcc\.test":\["xcc-dns-responder\.kube-system\.svc\.cluster\.local"\]\}'$/m)
    assert.match(r.stdout, /^ {4}upstreamNameservers: '\["8\.8\.8\.8", "8\.8\.4\.4"\]'$/m, 'the other key is context, unchanged')
    const afterRun = await kubeDnsNow()
    assert.deepEqual([afterRun.data, afterRun.metadata.resourceVersion], [before.data, before.metadata.resourceVersion])
    assert.equal(await frontend.getConfigMap('kube-system', 'xcc-dns-responder'), undefined)
    assert.equal(await frontend.getService('kube-system', 'xcc-dns-responder'), undefined)
    process.stderr.write(`# dns link --dry-run against two emulated API servers: ${Math.round(ms)} ms\n`)
  })

  it('-o yaml prints the four manifests in apply order; --json the plan', async () => {
    const r = await xcc(['dns', 'link', ...pair, '--dry-run', '-o', 'yaml', '--service', 'shop/api'])
    assert.equal(r.status, 0, r.stderr)
    const docs = yaml.loadAll(r.stdout) as Array<{kind: string; metadata: {name: string}; data?: Record<string, string>}>
    assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), ['ConfigMap/xcc-dns-responder', 'Deployment/xcc-dns-responder', 'Service/xcc-dns-responder', 'ConfigMap/kube-dns'])
    assert.match(docs[0]?.data?.['backend.clusters.xcc.test.db'] ?? '', /^api\.shop 30 IN A 10\.128\.0\.42 ; shop\/api$/m)
    const j = await xcc(['dns', 'link', ...pair, '--dry-run', '--json'])
    assert.equal(j.status, 0, j.stderr)
    const out = JSON.parse(j.stdout) as {schemaVersion: number; command: string; provider: string; zone: string; dryRun: boolean; records: Array<{name: string; address: string}>; changes: Array<{action: string; kind: string}>}
    assert.deepEqual([out.schemaVersion, out.command, out.provider, out.zone, out.dryRun], [1, 'link', 'kube-dns', 'backend.clusters.xcc.test', true])
    assert.deepEqual(out.records.map((x) => [x.name, x.address]), [['api.shop.backend.clusters.xcc.test', '10.128.0.42']])
    assert.deepEqual(out.changes.map((c) => `${c.action} ${c.kind}`), ['create ConfigMap', 'create Deployment', 'create Service', 'update ConfigMap'])
  })

  it('refuses --service for a Service without an internal load balancer (exit 2)', async () => {
    const r = await xcc(['dns', 'link', ...pair, '--service', 'shop/web', '--dry-run'])
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, /--service shop\/web: its load balancer 34\.77\.1\.2 is external, not internal/)
  })

  it('list with no link: exit 0, and --json the listing', async () => {
    const r = await xcc(['dns', 'list', '--context', 'frontend'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^Context frontend: kube-dns, no xcc dns links\.$/m)
    const j = await xcc(['dns', 'list', '--context', 'frontend', '--json'])
    assert.deepEqual(JSON.parse(j.stdout), {schemaVersion: 1, context: 'frontend', provider: 'kube-dns', links: [], drift: false})
  })

  it('unlink with no link is no change (exit 0)', async () => {
    const r = await xcc(['dns', 'unlink', ...pair])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /No change: context frontend has no link for backend\.clusters\.xcc\.test/)
  })
})

describe('bad kube-dns ConfigMaps are refused before anything is written', () => {
  const withData = async (data: Record<string, string>): Promise<void> => {
    const cm = await kubeDnsNow()
    await frontend.replaceConfigMap('kube-system', {...cm, data})
  }

  for (const [what, data, message] of [
    ['invalid JSON in stubDomains', {stubDomains: '{"acme.local": ["1.2.3.4"],}'}, /ConfigMap kube-system\/kube-dns key "stubDomains": invalid JSON: /],
    ['four upstreams', {upstreamNameservers: '["8.8.8.8", "8.8.4.4", "1.1.1.1", "9.9.9.9"]'}, /key "upstreamNameservers": 4 upstream nameservers; kube-dns takes at most 3/],
  ] as const) {
    it(`${what}: exit 2 naming the key, nothing written`, async () => {
      await withData({...data})
      const version = (await kubeDnsNow()).metadata.resourceVersion
      const r = await xcc(['dns', 'link', ...pair])
      assert.equal(r.status, 2, r.stderr)
      assert.match(r.stderr, message)
      assert.doesNotMatch(r.stderr, STACK)
      assert.equal((await kubeDnsNow()).metadata.resourceVersion, version)
      assert.equal(await frontend.getConfigMap('kube-system', 'xcc-dns-responder'), undefined, 'the responder was not created either')
    })
  }

  after(async () => withData({...(KUBE_DNS.data as Record<string, string>)}))
})

describe('permissions', () => {
  it('a context without DNS permissions: exit 3 naming the permission, before anything is read', async () => {
    const r = await xcc(['dns', 'link', '--from-context', 'limited', '--to-context', 'backend'])
    assert.equal(r.status, 3, r.stderr)
    assert.match(r.stderr, /missing permission in context "limited": xcc dns needs to get configmaps in namespace kube-system/)
    assert.match(r.stderr, /kubectl --context limited -n kube-system create role xcc-dns-admin --verb=get/)
  })

  it('allowed to read but not to write: exit 3 naming "update configmaps in namespace kube-system", nothing written', async () => {
    const {k8s, config} = await (await import('../support/lab-kube.js')).adminApi(a.kubeconfig(), 'test')
    const rbac = config.makeApiClient(k8s.RbacAuthorizationV1Api)
    await rbac.createNamespacedRole({namespace: 'kube-system', body: {metadata: {name: 'dns-reader'}, rules: [{apiGroups: [''], resources: ['configmaps', 'services'], verbs: ['get']}, {apiGroups: ['apps'], resources: ['deployments'], verbs: ['get']}]}})
    await rbac.createNamespacedRoleBinding({namespace: 'kube-system', body: {metadata: {name: 'dns-reader'}, roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'dns-reader'}, subjects: [{apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice'}]}})
    const version = (await kubeDnsNow()).metadata.resourceVersion
    const dry = await xcc(['dns', 'link', '--from-context', 'limited', '--to-context', 'backend', '--dry-run'])
    assert.equal(dry.status, 0, `reading is enough for a dry run: ${dry.stderr}`)
    const r = await xcc(['dns', 'link', '--from-context', 'limited', '--to-context', 'backend'])
    assert.equal(r.status, 3, r.stderr)
    assert.match(r.stderr, /xcc dns needs to create configmaps in namespace kube-system; update configmaps in namespace kube-system/)
    assert.match(r.stderr, /update configmaps in namespace kube-system: to edit the cluster DNS configuration/)
    assert.equal((await kubeDnsNow()).metadata.resourceVersion, version)
  })
})

describe('the adapter writes link uses, on the emulated API', () => {
  it('a Service gets its ClusterIP; a kube-dns edit round-trips; a stale edit is a 409 (exit 3)', async () => {
    const svc = await frontend.createService('kube-system', {metadata: {name: 'xcc-dns-probe', labels: {'app.kubernetes.io/managed-by': 'xcc'}}, spec: {type: 'ClusterIP', selector: {app: 'x'}, ports: [{name: 'dns', port: 53, protocol: 'UDP'}]}})
    assert.match(svc.spec?.clusterIP ?? '', /^\d+\.\d+\.\d+\.\d+$/)
    const original = await kubeDnsNow()
    const linked = linkKubeDns(original, {cluster: 'backend', domain: 'clusters.xcc.test', zone: 'backend.clusters.xcc.test', targets: [svc.spec?.clusterIP as string]})
    const written = await frontend.replaceConfigMap('kube-system', linked.after as KubeConfigMap)
    assert.deepEqual(JSON.parse(written.data?.stubDomains ?? ''), {'backend.clusters.xcc.test': [svc.spec?.clusterIP]})
    await assert.rejects(frontend.replaceConfigMap('kube-system', linked.after as KubeConfigMap), (e: unknown) => e instanceof ApiError && e.exitCode === 3 && e.fate.kind === 'answered' && e.fate.status === 409)
    const restored = await frontend.replaceConfigMap('kube-system', unlinkKubeDns(written, {zone: 'backend.clusters.xcc.test'}).after as KubeConfigMap)
    assert.deepEqual(restored.data, original.data)
    assert.equal(restored.metadata.annotations?.['xcc.dev/dns-links'], undefined)
    await frontend.deleteService('kube-system', 'xcc-dns-probe')
    await frontend.deleteService('kube-system', 'xcc-dns-probe')
    assert.equal(await frontend.getService('kube-system', 'xcc-dns-probe'), undefined)
  })
})
