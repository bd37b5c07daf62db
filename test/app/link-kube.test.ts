/**
 * The Service annotation step of `xcc link create|delete` (src/app/link-kube.ts) on the fake
 * cluster: create records the value the annotation had (none: null) in kube-system/xcc-link-<link>
 * before it merge-patches the Service; a re-run keeps the first previous value; delete puts back
 * exactly that value (removes the key when there was none, keeps the Service's other annotations)
 * and leaves an annotation someone changed since. ILB-03: GKE gives its internal load balancer
 * global access when the Service says networking.gke.io/internal-load-balancer-allow-global-access.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {annotateServiceIn, readRecordIn, removeLinkKube} from '../../src/app/link-kube.js'
import {FakeCluster} from '../core/masquerade/fake-cluster.js'

const KEY = 'networking.gke.io/internal-load-balancer-allow-global-access'
const STEP = {context: 'backend', link: 'demo', namespace: 'default', service: 'web', key: KEY, value: 'true'}

async function clusterWith(annotations?: Record<string, string>): Promise<FakeCluster> {
  const cluster = new FakeCluster()
  await cluster.createService('default', {metadata: {name: 'web', namespace: 'default', ...(annotations ? {annotations} : {})}, spec: {type: 'LoadBalancer', ports: [{port: 80}]}})
  return cluster
}

const annotationsOf = async (cluster: FakeCluster) => (await cluster.getService('default', 'web'))?.metadata.annotations

describe('the link\'s Service annotation (ILB-03)', () => {
  it('create records "none" before patching; delete removes the key and keeps the others', async () => {
    const cluster = await clusterWith({'networking.gke.io/load-balancer-type': 'Internal'})
    assert.deepEqual(await annotateServiceIn(cluster, STEP), {previous: null, changed: true})
    const calls = cluster.calls.filter((c) => /ConfigMap|annotateService/.test(c))
    assert.deepEqual(calls.slice(-2), ['createConfigMap kube-system/xcc-link-demo', 'annotateService default/web'], 'recorded before the patch')
    assert.deepEqual(await annotationsOf(cluster), {'networking.gke.io/load-balancer-type': 'Internal', [KEY]: 'true'})
    const record = await readRecordIn(cluster, 'backend', 'demo')
    assert.deepEqual(record?.annotations, [{namespace: 'default', service: 'web', key: KEY, value: 'true', previous: null}])
    assert.deepEqual(record?.masquerade, [])
    // a re-run changes nothing and keeps what was there first
    assert.deepEqual(await annotateServiceIn(cluster, STEP), {previous: null, changed: false})
    const undone = await removeLinkKube(record!, {timeout: '10s'})
    assert.deepEqual(undone, {cidrs: [], annotations: [{namespace: 'default', service: 'web', key: KEY, value: 'true', previous: null, result: 'restored'}]})
    assert.deepEqual(await annotationsOf(cluster), {'networking.gke.io/load-balancer-type': 'Internal'})
    assert.equal(await cluster.getConfigMap('kube-system', 'xcc-link-demo'), undefined, 'the record is gone')
  })

  it('a previous value is put back exactly', async () => {
    const cluster = await clusterWith({[KEY]: 'false'})
    assert.deepEqual(await annotateServiceIn(cluster, STEP), {previous: 'false', changed: true})
    assert.equal((await annotationsOf(cluster))?.[KEY], 'true')
    await removeLinkKube((await readRecordIn(cluster, 'backend', 'demo'))!, {timeout: '10s'})
    assert.deepEqual(await annotationsOf(cluster), {[KEY]: 'false'})
  })

  it('already set before the link: nothing patched, nothing recorded, nothing undone', async () => {
    const cluster = await clusterWith({[KEY]: 'true'})
    assert.deepEqual(await annotateServiceIn(cluster, STEP), {previous: 'true', changed: false})
    assert.ok(!cluster.calls.some((c) => c.startsWith('annotateService')))
    assert.equal(await readRecordIn(cluster, 'backend', 'demo'), undefined)
  })

  it('changed by someone since the link set it: delete keeps it', async () => {
    const cluster = await clusterWith()
    await annotateServiceIn(cluster, STEP)
    await cluster.annotateService('default', 'web', {[KEY]: 'TRUE'})
    const undone = await removeLinkKube((await readRecordIn(cluster, 'backend', 'demo'))!, {timeout: '10s'})
    assert.equal(undone.annotations[0]?.result, 'kept')
    assert.equal((await annotationsOf(cluster))?.[KEY], 'TRUE')
  })

  it('a Service that is gone is exit 3 naming it, and nothing is recorded', async () => {
    const cluster = new FakeCluster()
    await assert.rejects(annotateServiceIn(cluster, STEP), (e: Error & {exitCode?: number}) => e.exitCode === 3 && /Service default\/web is not in backend/.test(e.message))
    assert.equal(await readRecordIn(cluster, 'backend', 'demo'), undefined)
  })
})
