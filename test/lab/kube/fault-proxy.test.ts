/**
 * The fault proxy of the tests (test/support/fault-proxy.ts) in front of the emulated API server,
 * forwarding: it must be as transparent as the server itself. A watch that has no event to send
 * gets its headers at once (the server flushes them; a client blocks until it has them), and the
 * real `kubectl delete` that finds the pod gone between its GET and its list (its wait then opens
 * a watch with nothing to come, and stops it at once) ends at once too.
 */
import assert from 'node:assert/strict'
import {copyFileSync, writeFileSync} from 'node:fs'
import {type IncomingMessage} from 'node:http'
import {request} from 'node:https'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {FaultProxy} from '../../support/fault-proxy.js'
import {Kubectl, findKubectl, kubectlSkip} from '../../support/kubectl.js'
import {type TestCluster, eventually, startTestCluster} from './cluster.js'

const PODS = '/api/v1/namespaces/default/pods'

/** the response's status once its headers arrive, or undefined when none came within `ms` */
function headersWithin(base: string, cluster: TestCluster, path: string, ms: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base)
    const {ca, admin} = cluster.pki
    const req = request({host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, ca: ca.cert, cert: admin.cert, key: admin.key, agent: false}, (res: IncomingMessage) => {
      clearTimeout(timer)
      resolve(res.statusCode)
      req.destroy()
    })
    const timer = setTimeout(() => {
      resolve(undefined)
      req.destroy()
    }, ms)
    req.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    req.end()
  })
}

describe('the fault proxy in front of the emulated API server, forwarding', () => {
  let cluster: TestCluster
  let proxy: FaultProxy
  let proxied: string

  before(async () => {
    cluster = await startTestCluster()
    // the lab's layout, as FaultProxy.start reads it: pki.json and kubeconfig in the lab directory
    const {ca, server, admin} = cluster.pki
    writeFileSync(join(cluster.dir, 'pki.json'), JSON.stringify({clusters: {test: {ca, server, admin}}}), {mode: 0o600})
    copyFileSync(cluster.kubeconfig(), join(cluster.dir, 'kubeconfig'))
    proxy = await FaultProxy.start(cluster.dir, 'test', {maxHoldMs: 20_000})
    proxied = proxy.writeKubeconfig(cluster.dir, 'test', join(cluster.dir, 'proxied.kubeconfig'))
  })

  after(async () => {
    await proxy?.close()
    await cluster?.close()
  })

  it('a watch with no event to send: its headers pass at once', async () => {
    const watch = `${PODS}?watch=true&fieldSelector=metadata.name%3Dnone&resourceVersion=${cluster.server.store.resourceVersion}`
    assert.equal(await headersWithin(cluster.server.url, cluster, watch, 3000), 200, 'directly')
    assert.equal(await headersWithin(proxy.url, cluster, watch, 3000), 200, 'through the proxy')
  })

  it('kubectl delete whose pod is gone by the time its wait lists: ends at once', {skip: kubectlSkip()}, async () => {
    const found = findKubectl()
    assert.ok('path' in found)
    const kubectl = new Kubectl(found.path)
    try {
      // the pod ignores SIGTERM: it stays, terminating, for its grace period
      const pod = {
        apiVersion: 'v1', kind: 'Pod', metadata: {name: 'slow-to-go', namespace: 'default'},
        spec: {restartPolicy: 'Never', terminationGracePeriodSeconds: 2, containers: [{name: 'main', image: 'busybox:1.36', command: ['sh', '-c', "trap '' TERM; while :; do sleep 0.1; done"]}]},
      }
      await kubectl.ok(proxied, ['apply', '-f', '-'], {input: JSON.stringify(pod)})
      await eventually('the pod runs', () => (cluster.server.store.get(cluster.server.store.registry.get('pods'), 'default', 'slow-to-go') as {status?: {phase?: string}} | undefined)?.status?.phase === 'Running')
      // the wait's list (by field selector) goes through only once the pod is gone
      const gone = eventually('the pod is gone', () => !cluster.server.store.get(cluster.server.store.registry.get('pods'), 'default', 'slow-to-go'), 15_000)
      proxy.decide = (r) => (r.method === 'GET' && r.path === PODS && r.query.includes('fieldSelector') && !r.query.includes('watch=') ? {holdUntil: gone} : 'forward')
      const r = await kubectl.run(proxied, ['delete', 'pod', 'slow-to-go'], {timeoutMs: 20_000})
      assert.equal(r.code, 0, `kubectl delete exited ${r.code} after ${Math.round(r.ms)} ms (proxy saw: ${proxy.seen().slice(-6).join(', ')}):\n${r.stderr}`)
      assert.match(r.stdout, /^pod "slow-to-go" deleted$/m)
      assert.ok(r.ms < 12_000, `kubectl delete took ${Math.round(r.ms)} ms`)
      assert.ok(proxy.seen().includes(`GET ${PODS} hold`), 'the wait listed while the pod was going')
    } finally {
      proxy.decide = () => 'forward'
      kubectl.dispose()
    }
  })
})
