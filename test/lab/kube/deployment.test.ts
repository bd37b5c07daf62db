/**
 * apps/v1 Deployments in the emulated API: discovery, defaults and validation as the API server's,
 * a controller that keeps spec.replicas pods of the template (owned by the Deployment, no
 * ReplicaSets), rolls a changed template out within maxSurge/maxUnavailable, and reports
 * readyReplicas / availableReplicas / observedGeneration as real; kubectl apply, get, patch and
 * delete work on it, and deleting it garbage-collects its pods.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {deploymentBudget} from '../../../src/lab/kube/controllers/deployment.js'
import type {KubeObject, Pod} from '../../../src/lab/kube/types.js'
import {Kubectl, findKubectl} from '../../support/kubectl.js'
import {type TestCluster, eventually, node, startTestCluster} from './cluster.js'

let cluster: TestCluster
const types = () => ({pods: cluster.server.store.registry.get('pods'), deploy: cluster.server.store.registry.get('deployments', 'apps')})

function deployment(name: string, replicas: number | undefined, script: string, extra: {strategy?: unknown} = {}): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name, namespace: 'default'},
    spec: {
      ...(replicas !== undefined ? {replicas} : {}),
      selector: {matchLabels: {app: name}},
      ...(extra.strategy ? {strategy: extra.strategy} : {}),
      template: {metadata: {labels: {app: name}}, spec: {terminationGracePeriodSeconds: 1, containers: [{name: 'main', image: 'busybox', command: ['sh', '-c', script]}]}},
    },
  }
}

const isReady = (p: Pod): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
const live = (name: string): Pod[] => (cluster.server.store.list(types().pods, 'default') as Pod[]).filter((p) => p.metadata.labels?.app === name && !p.metadata.deletionTimestamp)
const statusOf = (name: string): Record<string, unknown> => (cluster.server.store.get(types().deploy, 'default', name)?.status ?? {}) as Record<string, unknown>

before(async () => {
  cluster = await startTestCluster({nodes: [node('node-a', '10.0.0.2'), node('node-b', '10.0.0.3')]})
})
after(async () => {
  await cluster?.close()
})

describe('Deployment admission', () => {
  it('defaults replicas, strategy, revisionHistoryLimit and progressDeadlineSeconds as the API server does', () => {
    const created = cluster.server.api.create(types().deploy, 'default', deployment('defaults', undefined, 'sleep 30'))
    const spec = created.spec as Record<string, unknown>
    assert.equal(spec.replicas, 1)
    assert.deepEqual(spec.strategy, {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: '25%', maxSurge: '25%'}})
    assert.equal(spec.revisionHistoryLimit, 10)
    assert.equal(spec.progressDeadlineSeconds, 600)
    assert.equal(created.metadata.generation, 1)
    cluster.server.api.delete(types().deploy, 'default', 'defaults')
  })

  it('refuses a selector that does not match the template, a missing selector, a changed selector and a 0/0 budget', () => {
    const refused = (body: KubeObject): string => {
      try {
        cluster.server.api.create(types().deploy, 'default', body)
      } catch (error) {
        return (error as Error).message
      }
      cluster.server.api.delete(types().deploy, 'default', body.metadata.name!)
      return ''
    }
    const bad = deployment('bad', 1, 'sleep 30')
    ;(bad.spec as {selector: unknown}).selector = {matchLabels: {app: 'other'}}
    assert.match(refused(bad), /Deployment\.apps "bad" is invalid: spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/)
    delete (bad.spec as {selector?: unknown}).selector
    assert.match(refused(bad), /spec\.selector: Required value/)
    assert.match(refused(deployment('zero', 1, 'sleep 30', {strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}})), /maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0/)
    assert.match(refused(deployment('strat', 1, 'sleep 30', {strategy: {type: 'Blue'}})), /spec\.strategy\.type: Unsupported value: "Blue"/)
    const kept = cluster.server.api.create(types().deploy, 'default', deployment('fixed', 0, 'sleep 30'))
    const changed = structuredClone(kept)
    ;(changed.spec as {selector: unknown}).selector = {matchLabels: {app: 'fixed', tier: 'x'}}
    ;((changed.spec as {template: {metadata: {labels: Record<string, string>}}}).template.metadata.labels).tier = 'x'
    assert.throws(() => cluster.server.api.update(types().deploy, 'default', 'fixed', changed), /spec\.selector: Invalid value: field is immutable/)
    cluster.server.api.delete(types().deploy, 'default', 'fixed')
  })

  it('budgets as ResolveFenceposts: surge rounds up, unavailable down, never both 0', () => {
    assert.deepEqual(deploymentBudget({strategy: {rollingUpdate: {maxSurge: '25%', maxUnavailable: '25%'}}}, 2), {maxSurge: 1, maxUnavailable: 0})
    assert.deepEqual(deploymentBudget({strategy: {rollingUpdate: {maxSurge: '25%', maxUnavailable: '25%'}}}, 4), {maxSurge: 1, maxUnavailable: 1})
    assert.deepEqual(deploymentBudget({strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: '10%'}}}, 3), {maxSurge: 0, maxUnavailable: 1})
  })
})

describe('the Deployment controller', () => {
  it('runs spec.replicas pods and reports them ready and available with observedGeneration', async () => {
    cluster.server.api.create(types().deploy, 'default', deployment('web', 2, 'sleep 300'))
    await eventually('two ready pods', () => live('web').filter(isReady).length === 2 && statusOf('web').readyReplicas === 2)
    const status = statusOf('web')
    assert.equal(status.replicas, 2)
    assert.equal(status.updatedReplicas, 2)
    assert.equal(status.availableReplicas, 2)
    assert.equal(status.unavailableReplicas, undefined, 'a zero count is omitted, as the API omits it')
    assert.equal(status.observedGeneration, 1)
    const conditions = status.conditions as Array<{type: string; status: string; reason: string}>
    assert.deepEqual(conditions.map((c) => [c.type, c.status, c.reason]), [['Available', 'True', 'MinimumReplicasAvailable'], ['Progressing', 'True', 'NewReplicaSetAvailable']])
    for (const pod of live('web')) {
      assert.deepEqual(pod.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.controller]), [['Deployment', 'web', true]])
      assert.ok(pod.spec.nodeName, 'the scheduler placed it')
    }
  })

  it('replaces a deleted pod and rolls a new template out, never below replicas − maxUnavailable ready', async () => {
    const [first] = live('web')
    cluster.server.api.delete(types().pods, 'default', first!.metadata.name!)
    await eventually('replaced', () => live('web').filter(isReady).length === 2 && !live('web').some((p) => p.metadata.name === first!.metadata.name))
    const oldHash = live('web')[0]!.metadata.labels?.['pod-template-hash']
    const current = cluster.server.store.get(types().deploy, 'default', 'web')!
    const next = structuredClone(current)
    ;((next.spec as {template: {spec: {containers: Array<{command: string[]}>}}}).template.spec.containers[0]!).command = ['sh', '-c', 'sleep 301']
    cluster.server.api.update(types().deploy, 'default', 'web', next)
    let lowest = 2
    await eventually('rolled out', () => {
      lowest = Math.min(lowest, live('web').filter(isReady).length)
      const pods = live('web')
      return pods.length === 2 && pods.every((p) => isReady(p) && p.metadata.labels?.['pod-template-hash'] !== oldHash) && statusOf('web').updatedReplicas === 2 && statusOf('web').readyReplicas === 2
    }, 20_000)
    // 2 replicas at 25%: maxUnavailable rounds down to 0, so a ready pod goes only once a new one is ready
    assert.ok(lowest >= 2, `never fewer than 2 ready pods (saw ${lowest})`)
    assert.equal(statusOf('web').observedGeneration, 2)
  })

  it('scales down to 0 (readyReplicas omitted) and back up', async () => {
    const current = cluster.server.store.get(types().deploy, 'default', 'web')!
    cluster.server.api.update(types().deploy, 'default', 'web', {...current, spec: {...(current.spec as object), replicas: 0}})
    await eventually('no pods', () => live('web').length === 0 && statusOf('web').readyReplicas === undefined && statusOf('web').replicas === undefined)
    cluster.server.api.delete(types().deploy, 'default', 'web', {propagationPolicy: 'Background'})
  })

  it('Recreate: Available needs every replica (MaxUnavailable is 0 for Recreate), as the real controller says', async () => {
    cluster.server.api.create(types().deploy, 'default', deployment('crashing', 1, 'exit 1', {strategy: {type: 'Recreate'}}))
    await eventually('the pod ran and failed', () => live('crashing').some((p) => (p.status?.containerStatuses as Array<{restartCount?: number; lastState?: {terminated?: unknown}}> | undefined)?.some((c) => c.lastState?.terminated !== undefined)) && statusOf('crashing').observedGeneration === 1)
    const status = statusOf('crashing')
    assert.equal(status.readyReplicas, undefined)
    assert.equal(status.unavailableReplicas, 1)
    const conditions = status.conditions as Array<{type: string; status: string; reason: string}>
    assert.deepEqual(conditions.map((c) => [c.type, c.status, c.reason]), [['Available', 'False', 'MinimumReplicasUnavailable'], ['Progressing', 'True', 'ReplicaSetUpdated']])
    cluster.server.api.delete(types().deploy, 'default', 'crashing', {propagationPolicy: 'Background'})
    await eventually('pods collected', () => live('crashing').length === 0, 10_000)
  })

  const found = findKubectl()
  it('works with kubectl apply, get, patch and delete', {skip: 'path' in found ? false : found.missing}, async () => {
    const kubectl = new Kubectl((found as {path: string}).path)
    const kubeconfig = cluster.kubeconfig()
    try {
      const manifest = JSON.stringify(deployment('kube', 2, 'sleep 300'))
      assert.match(await kubectl.ok(kubeconfig, ['apply', '-f', '-'], {input: manifest}), /deployment\.apps\/kube created/)
      // kubectl's own judgement of the status: observedGeneration, updated, available replicas
      assert.match(await kubectl.ok(kubeconfig, ['rollout', 'status', 'deployment/kube', '--timeout=20s']), /deployment "kube" successfully rolled out/)
      assert.equal(statusOf('kube').readyReplicas, 2)
      const table = await kubectl.ok(kubeconfig, ['get', 'deploy', 'kube'])
      assert.match(table, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nkube\s+2\/2\s+2\s+2\s+\S+\n$/)
      assert.match(await kubectl.ok(kubeconfig, ['api-resources', '--api-group=apps']), /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m)
      // the scale subresource is not served: spec.replicas is patched instead
      await kubectl.ok(kubeconfig, ['patch', 'deployment', 'kube', '-p', '{"spec":{"replicas":1}}'])
      await eventually('one pod', () => live('kube').length === 1 && statusOf('kube').replicas === 1)
      assert.match(await kubectl.ok(kubeconfig, ['apply', '-f', '-'], {input: manifest}), /deployment\.apps\/kube configured/)
      await kubectl.ok(kubeconfig, ['delete', 'deployment', 'kube'])
      await eventually('pods collected', () => live('kube').length === 0, 10_000)
      assert.equal(cluster.server.store.get(types().deploy, 'default', 'kube'), undefined)
    } finally {
      kubectl.dispose()
    }
  })
})
