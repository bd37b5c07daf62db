/**
 * @kubernetes/client-node 1.x against the emulated API server (real certificates, local
 * processes): CRUD, patches, watches and informers, logs, ServiceAccount tokens, 401.
 */
import assert from 'node:assert/strict'
import {request} from 'node:https'
import {PassThrough} from 'node:stream'
import {after, before, describe, it} from 'node:test'

import {AppsV1Api, CoreV1Api, KubeConfig, Log, PatchStrategy, type V1Pod, Watch, makeInformer, setHeaderOptions} from '@kubernetes/client-node'

import {STATIC_TOKEN, type TestCluster, eventually, startTestCluster} from './cluster.js'

let cluster: TestCluster
let kc: KubeConfig
let core: CoreV1Api

function config(path: string): KubeConfig {
  const loaded = new KubeConfig()
  loaded.loadFromFile(path)
  return loaded
}

function pod(name: string, script: string, extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {apiVersion: 'v1', kind: 'Pod', metadata: {name, labels: {suite: 'client-node'}}, spec: {restartPolicy: 'Never', containers: [{name: 'main', image: 'busybox', command: ['sh', '-c', script]}], ...extra}}
}

async function waitForPhase(name: string, phase: string): Promise<V1Pod> {
  return eventually(`${name} ${phase}`, async () => {
    const found = await core.readNamespacedPod({name, namespace: 'default'})
    return found.status?.phase === phase ? found : undefined
  })
}

function statusCode(error: unknown): number | undefined {
  return (error as {code?: number}).code
}

before(async () => {
  cluster = await startTestCluster()
  kc = config(cluster.kubeconfig())
  core = kc.makeApiClient(CoreV1Api)
})

after(async () => {
  await cluster?.close()
})

describe('@kubernetes/client-node', () => {
  it('lists nodes and namespaces', async () => {
    const nodes = await core.listNode()
    assert.deepEqual(nodes.items.map((n) => n.metadata?.name), ['node-a', 'node-b'])
    assert.equal(nodes.items[0]!.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True')
    const namespaces = await core.listNamespace()
    assert.deepEqual(namespaces.items.map((n) => n.metadata?.name), ['default', 'kube-public', 'kube-system'])
  })

  it('creates, reads, patches (merge, strategic, JSON) and deletes a pod', async () => {
    const created = await core.createNamespacedPod({namespace: 'default', body: pod('crud', 'echo hi; sleep 30')})
    assert.equal(created.metadata?.name, 'crud')
    assert.ok(created.metadata?.uid)
    const running = await waitForPhase('crud', 'Running')
    assert.ok(running.status?.podIP)

    const merged = await core.patchNamespacedPod({name: 'crud', namespace: 'default', body: {metadata: {labels: {merged: 'yes'}}}}, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    assert.equal(merged.metadata?.labels?.merged, 'yes')
    const strategic = await core.patchNamespacedPod(
      {name: 'crud', namespace: 'default', body: {spec: {containers: [{name: 'main', image: 'busybox:2'}]}}},
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    )
    assert.equal(strategic.spec?.containers[0]?.image, 'busybox:2')
    assert.deepEqual(strategic.spec?.containers[0]?.command, ['sh', '-c', 'echo hi; sleep 30'])
    const json = await core.patchNamespacedPod({name: 'crud', namespace: 'default', body: [{op: 'add', path: '/metadata/annotations', value: {a: 'b'}}]})
    assert.equal(json.metadata?.annotations?.a, 'b')

    await assert.rejects(core.createNamespacedPod({namespace: 'default', body: pod('crud', 'true')}), (e: unknown) => statusCode(e) === 409)
    await assert.rejects(core.replaceNamespacedPod({name: 'crud', namespace: 'default', body: {...created, metadata: {...created.metadata}}}), (e: unknown) => statusCode(e) === 409)

    const deleted = await core.deleteNamespacedPod({name: 'crud', namespace: 'default', gracePeriodSeconds: 1})
    assert.ok(deleted.metadata?.deletionTimestamp)
    await eventually('crud to be gone', async () => {
      try {
        await core.readNamespacedPod({name: 'crud', namespace: 'default'})
        return false
      } catch (error) {
        return statusCode(error) === 404
      }
    })
  })

  it('watches pods from a resourceVersion, and an informer sees the same', async () => {
    const list = await core.listNamespacedPod({namespace: 'default'})
    const seen: string[] = []
    const watch = new Watch(kc)
    const controller = await watch.watch(
      '/api/v1/namespaces/default/pods',
      {resourceVersion: list.metadata?.resourceVersion, labelSelector: 'suite=client-node'},
      (type, object: V1Pod) => seen.push(`${type} ${object.metadata?.name} ${object.status?.phase}`),
      () => {},
    )
    const informer = makeInformer(kc, '/api/v1/namespaces/default/pods', () => core.listNamespacedPod({namespace: 'default'}))
    const informed: string[] = []
    informer.on('add', (p: V1Pod) => informed.push(`add ${p.metadata?.name}`))
    informer.on('delete', (p: V1Pod) => informed.push(`delete ${p.metadata?.name}`))
    await informer.start()
    try {
      await core.createNamespacedPod({namespace: 'default', body: pod('watched', 'echo done')})
      await waitForPhase('watched', 'Succeeded')
      await core.deleteNamespacedPod({name: 'watched', namespace: 'default'})
      await eventually('the DELETED event', () => seen.some((s) => s.startsWith('DELETED watched')))
      assert.equal(seen[0], 'ADDED watched Pending')
      assert.ok(seen.includes('MODIFIED watched Succeeded'))
      await eventually('the informer to see add and delete', () => informed.includes('add watched') && informed.includes('delete watched'))
    } finally {
      controller.abort()
      await informer.stop()
    }
  })

  it('reads logs, whole and followed', async () => {
    await core.createNamespacedPod({namespace: 'default', body: pod('logger', 'for i in 1 2 3; do echo line $i; sleep 0.1; done')})
    await waitForPhase('logger', 'Running')
    const out = new PassThrough()
    let followed = ''
    out.on('data', (chunk: Buffer) => (followed += chunk.toString()))
    const ended = new Promise<void>((resolve) => out.on('finish', () => resolve()))
    await new Log(kc).log('default', 'logger', 'main', out, {follow: true})
    await ended
    assert.equal(followed, 'line 1\nline 2\nline 3\n')
    await waitForPhase('logger', 'Succeeded')
    assert.equal(await core.readNamespacedPodLog({name: 'logger', namespace: 'default'}), 'line 1\nline 2\nline 3\n')
    assert.equal(await core.readNamespacedPodLog({name: 'logger', namespace: 'default', tailLines: 1}), 'line 3\n')
  })

  it('creates a DaemonSet through the apps/v1 client', async () => {
    const apps = kc.makeApiClient(AppsV1Api)
    await apps.createNamespacedDaemonSet({
      namespace: 'default',
      body: {
        metadata: {name: 'cn-agent'},
        spec: {selector: {matchLabels: {app: 'cn-agent'}}, template: {metadata: {labels: {app: 'cn-agent'}}, spec: {containers: [{name: 'agent', image: 'x'}]}}},
      },
    })
    const ds = await eventually('2 ready', async () => {
      const read = await apps.readNamespacedDaemonSet({name: 'cn-agent', namespace: 'default'})
      return read.status?.numberReady === 2 ? read : undefined
    })
    assert.equal(ds.status?.desiredNumberScheduled, 2)
    await apps.deleteNamespacedDaemonSet({name: 'cn-agent', namespace: 'default'})
  })

  it('authenticates ServiceAccount tokens, TokenRequests and static tokens; rejects bad tokens with 401', async () => {
    await core.createNamespacedSecret({namespace: 'default', body: {metadata: {name: 'default-token', annotations: {'kubernetes.io/service-account.name': 'default'}}, type: 'kubernetes.io/service-account-token'}})
    const secret = await eventually('the token Secret filled', async () => {
      const found = await core.readNamespacedSecret({name: 'default-token', namespace: 'default'})
      return found.data?.token ? found : undefined
    })
    const token = Buffer.from(secret.data!.token!, 'base64').toString()
    const asSa = config(cluster.kubeconfig({token})).makeApiClient(CoreV1Api)
    assert.ok((await asSa.listNamespacedPod({namespace: 'default'})).items)
    const requested = await core.createNamespacedServiceAccountToken({name: 'default', namespace: 'default', body: {spec: {audiences: [], expirationSeconds: 600}}})
    const viaRequest = config(cluster.kubeconfig({token: requested.status!.token})).makeApiClient(CoreV1Api)
    assert.ok((await viaRequest.listNode()).items.length === 2)
    const asStatic = config(cluster.kubeconfig({token: STATIC_TOKEN})).makeApiClient(CoreV1Api)
    assert.ok((await asStatic.listNode()).items.length === 2)
    const bad = config(cluster.kubeconfig({token: 'not-a-token'})).makeApiClient(CoreV1Api)
    await assert.rejects(bad.listNode(), (e: unknown) => statusCode(e) === 401 && /Unauthorized/.test((e as Error).message))
    const raw = await new Promise<{code?: number; body: string}>((resolve, reject) => {
      const req = request(`${cluster.server.url}/api/v1/pods`, {ca: cluster.pki.ca.cert, headers: {Authorization: 'Bearer not-a-token'}}, (res) => {
        let body = ''
        res.on('data', (chunk: Buffer) => (body += chunk.toString()))
        res.on('end', () => resolve({code: res.statusCode, body}))
      })
      req.on('error', reject)
      req.end()
    })
    assert.equal(raw.code, 401)
    assert.deepEqual(JSON.parse(raw.body), {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401})
  })
})
