/**
 * The controllers inside the emulated API server, driven through its write API (no HTTP):
 * scheduler, kubelet (phases, restarts, init containers, logs, termination messages, env,
 * deadlines, deletion), DaemonSets, ServiceAccounts and namespaces. Pods are local processes.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {expand} from '../../../src/lab/kube/controllers/pod-env.js'
import {POD_IP_ANNOTATION} from '../../../src/lab/kube/index.js'
import type {ContainerStatus, KubeObject, Pod} from '../../../src/lab/kube/types.js'
import {type TestCluster, eventually, node, startTestCluster} from './cluster.js'

let cluster: TestCluster

function types() {
  const r = cluster.server.store.registry
  return {pods: r.get('pods'), nodes: r.get('nodes'), ds: r.get('daemonsets', 'apps'), ns: r.get('namespaces'), cm: r.get('configmaps'), sa: r.get('serviceaccounts'), secrets: r.get('secrets'), events: r.get('events')}
}

function createPod(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}, namespace = 'default'): Pod {
  return cluster.server.api.create(types().pods, namespace, {metadata: {name, ...metadata}, spec}) as Pod
}

function getPod(name: string, namespace = 'default'): Pod | undefined {
  return cluster.server.store.get(types().pods, namespace, name) as Pod | undefined
}

function phase(name: string, wanted: string, timeoutMs = 10_000): Promise<Pod> {
  return eventually(`pod ${name} ${wanted}`, () => {
    const pod = getPod(name)
    return pod?.status?.phase === wanted ? pod : undefined
  }, timeoutMs)
}

function container(pod: Pod, name = 'main'): ContainerStatus {
  return [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find((c) => c.name === name)!
}

const sh = (script: string, extra: Record<string, unknown> = {}) => ({name: 'main', image: 'busybox', command: ['sh', '-c', script], ...extra})

before(async () => {
  cluster = await startTestCluster({
    nodes: [
      node('node-a', '10.0.0.2', {labels: {zone: 'a'}}),
      node('node-b', '10.0.0.3', {labels: {zone: 'b'}}),
      node('infra', '10.0.0.4', {labels: {zone: 'c'}, taints: [{key: 'dedicated', value: 'infra', effect: 'NoSchedule'}]}),
    ],
    objects: [{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'settings', namespace: 'default'}, data: {greeting: 'hi'}}],
  })
})

after(async () => {
  await cluster?.close()
})

describe('kubelet', () => {
  it('runs a pod to Failed with its exit code, logs and status', async () => {
    createPod('exit3', {restartPolicy: 'Never', containers: [sh('echo hello; echo oops >&2; exit 3')]})
    const pod = await phase('exit3', 'Failed')
    const c = container(pod)
    assert.equal(c.state.terminated?.exitCode, 3)
    assert.equal(c.state.terminated?.reason, 'Error')
    assert.ok(c.state.terminated?.startedAt && c.state.terminated.finishedAt)
    assert.equal(c.ready, false)
    assert.equal(pod.spec.nodeName === 'node-a' || pod.spec.nodeName === 'node-b', true, 'the tainted node is not used')
    assert.match(pod.status!.podIP!, /^10\.244\.\d+\.\d+$/)
    assert.ok(pod.status!.hostIP && pod.status!.startTime)
    const conditions = Object.fromEntries((pod.status!.conditions ?? []).map((cond) => [cond.type, cond.status]))
    assert.deepEqual(conditions, {PodReadyToStartContainers: 'False', Initialized: 'True', Ready: 'False', ContainersReady: 'False', PodScheduled: 'True'})
    assert.equal(readFileSync(join(cluster.logDir, 'default_exit3_main.log'), 'utf8'), 'hello\noops\n')
  })

  it('termination messages: the XCC_TERMINATION_MESSAGE_PATH file, else the log tail with FallbackToLogsOnError', async () => {
    createPod('msg', {restartPolicy: 'Never', containers: [sh('echo probe-result: ok > "$XCC_TERMINATION_MESSAGE_PATH"; echo ignored')]})
    createPod('fallback', {restartPolicy: 'Never', containers: [sh('echo first; echo last words; exit 1', {terminationMessagePolicy: 'FallbackToLogsOnError'})]})
    assert.equal(container(await phase('msg', 'Succeeded')).state.terminated?.message, 'probe-result: ok\n')
    assert.equal(container(await phase('fallback', 'Failed')).state.terminated?.message, 'first\nlast words')
  })

  it('restarts per restartPolicy (OnFailure until it succeeds; Always forever) with lastState', async () => {
    const mark = join(cluster.dir, 'onfailure-mark')
    createPod('onfailure', {restartPolicy: 'OnFailure', containers: [sh(`if [ -f ${mark} ]; then echo second; exit 0; fi; touch ${mark}; echo first; exit 1`)]})
    const done = await phase('onfailure', 'Succeeded')
    assert.equal(container(done).restartCount, 1)
    assert.equal(container(done).lastState.terminated?.exitCode, 1)
    createPod('always', {containers: [sh('echo run; exit 0')]})
    const restarted = await eventually('two restarts', () => {
      const pod = getPod('always')
      return pod && container(pod)?.restartCount >= 2 ? pod : undefined
    })
    assert.equal(restarted.status?.phase, 'Running')
    assert.equal(container(restarted).lastState.terminated?.reason, 'Completed')
  })

  it('runs init containers one after the other before the containers', async () => {
    const file = join(cluster.dir, 'init-order')
    createPod('inits', {
      restartPolicy: 'Never',
      initContainers: [
        {name: 'one', command: ['sh', '-c', `echo one >> ${file}`]},
        {name: 'two', command: ['sh', '-c', `sleep 0.2; echo two >> ${file}`]},
      ],
      containers: [sh(`echo main >> ${file}; cat ${file}`)],
    })
    const pod = await phase('inits', 'Succeeded')
    assert.equal(readFileSync(file, 'utf8'), 'one\ntwo\nmain\n')
    assert.equal(container(pod, 'two').state.terminated?.exitCode, 0)
    createPod('init-fails', {restartPolicy: 'Never', initContainers: [{name: 'bad', command: ['sh', '-c', 'exit 7']}], containers: [sh('echo never')]})
    const failed = await phase('init-fails', 'Failed')
    assert.equal(container(failed, 'bad').state.terminated?.exitCode, 7)
    assert.ok(container(failed).state.waiting, 'the main container never started')
  })

  it('builds the environment: values, $(VAR), fieldRef and configMapKeyRef', async () => {
    createPod('env', {
      restartPolicy: 'Never',
      containers: [
        sh('echo "$POD $NS $NODE $IP $HOST_IP $GREETING $COMBINED"; echo "$(A)"', {
          args: [],
          env: [
            {name: 'A', value: 'alpha'},
            {name: 'COMBINED', value: '$(A)-beta'},
            {name: 'POD', valueFrom: {fieldRef: {fieldPath: 'metadata.name'}}},
            {name: 'NS', valueFrom: {fieldRef: {fieldPath: 'metadata.namespace'}}},
            {name: 'NODE', valueFrom: {fieldRef: {fieldPath: 'spec.nodeName'}}},
            {name: 'IP', valueFrom: {fieldRef: {fieldPath: 'status.podIP'}}},
            {name: 'HOST_IP', valueFrom: {fieldRef: {fieldPath: 'status.hostIP'}}},
            {name: 'GREETING', valueFrom: {configMapKeyRef: {name: 'settings', key: 'greeting'}}},
          ],
        }),
      ],
    }, {annotations: {[POD_IP_ANNOTATION]: '10.244.9.9'}})
    const pod = await phase('env', 'Succeeded')
    assert.equal(pod.status!.podIP, '10.244.9.9', 'the lab-chosen pod IP is honoured')
    const log = readFileSync(join(cluster.logDir, 'default_env_main.log'), 'utf8')
    assert.equal(log, `env default ${pod.spec.nodeName} 10.244.9.9 ${pod.status!.hostIP} hi alpha-beta\nalpha\n`)
    assert.equal(expand('$(A) $$(A) $(MISSING)', {A: 'x'}), 'x $(A) $(MISSING)')
  })

  it('a container without a command is a pause container; hostNetwork pods use the node address', async () => {
    createPod('pause', {hostNetwork: true, nodeSelector: {zone: 'b'}, containers: [{name: 'main', image: 'registry.k8s.io/pause:3.9'}]})
    const pod = await phase('pause', 'Running')
    assert.equal(pod.spec.nodeName, 'node-b')
    assert.equal(pod.status!.podIP, '10.0.0.3')
    assert.equal(container(pod).ready, true)
    // Running comes from the kubelet's status; the log line is the container's own, written when its process gets to it
    const log = join(cluster.logDir, 'default_pause_main.log')
    await eventually('the pause container to log', () => existsSync(log) && /pause container/.test(readFileSync(log, 'utf8')))
  })

  it('activeDeadlineSeconds kills the pod: Failed, reason DeadlineExceeded', async () => {
    const started = Date.now()
    createPod('deadline', {activeDeadlineSeconds: 1, restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{name: 'main', command: ['sleep', '60']}]})
    const pod = await phase('deadline', 'Failed', 8000)
    assert.equal(pod.status!.reason, 'DeadlineExceeded')
    assert.ok(Date.now() - started < 6000)
    await eventually('the process to stop', () => getPod('deadline')?.status?.containerStatuses?.[0]?.state.terminated)
  })

  it('deletes gracefully: SIGTERM, SIGKILL after the grace period, then the object goes', async () => {
    createPod('stubborn', {terminationGracePeriodSeconds: 1, containers: [sh('trap "" TERM; echo ready; while true; do sleep 0.1; done')]})
    await phase('stubborn', 'Running')
    const started = Date.now()
    const deleting = cluster.server.api.delete(types().pods, 'default', 'stubborn')
    assert.ok(deleting.metadata.deletionTimestamp)
    assert.equal(deleting.metadata.deletionGracePeriodSeconds, 1)
    await eventually('the pod to be removed', () => getPod('stubborn') === undefined)
    const took = Date.now() - started
    assert.ok(took >= 900 && took < 5000, `removed after ${took} ms`)
  })
})

describe('scheduler', () => {
  it('honours nodeSelector, nodeName and taints; reports FailedScheduling and retries when a node fits', async () => {
    createPod('zone-a', {nodeSelector: {zone: 'a'}, containers: [{name: 'main'}]})
    createPod('pinned', {nodeName: 'infra', containers: [{name: 'main'}]})
    createPod('tolerant', {nodeSelector: {zone: 'c'}, tolerations: [{key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule'}], containers: [{name: 'main'}]})
    createPod('nowhere', {nodeSelector: {zone: 'z'}, containers: [{name: 'main'}]})
    assert.equal((await phase('zone-a', 'Running')).spec.nodeName, 'node-a')
    assert.equal((await phase('pinned', 'Running')).spec.nodeName, 'infra')
    assert.equal((await phase('tolerant', 'Running')).spec.nodeName, 'infra')
    const stuck = await eventually('an Unschedulable condition', () => {
      const pod = getPod('nowhere')
      return pod?.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')
    })
    assert.equal(stuck.reason, 'Unschedulable')
    assert.match(stuck.message!, /^0\/3 nodes are available: 1 node\(s\) had untolerated taint \{dedicated: infra\}, 2 node\(s\) didn't match Pod's node affinity\/selector\.$/)
    const events = cluster.server.store.list(types().events, 'default').filter((e) => (e.involvedObject as {name: string}).name === 'nowhere')
    assert.equal(events[0]?.reason, 'FailedScheduling')
    cluster.server.api.create(types().nodes, undefined, node('node-z', '10.0.0.9', {labels: {zone: 'z'}}))
    assert.equal((await phase('nowhere', 'Running')).spec.nodeName, 'node-z')
    cluster.server.api.delete(types().nodes, undefined, 'node-z')
    await eventually('pods of a deleted node to go', () => getPod('nowhere') === undefined)
  })
})

describe('DaemonSet controller', () => {
  const daemonSet = (image: string, extra: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {name: 'agent', namespace: 'default'},
    spec: {
      selector: {matchLabels: {app: 'agent'}},
      template: {metadata: {labels: {app: 'agent'}}, spec: {containers: [{name: 'main', image, command: ['sleep', '300']}], ...extra}},
    },
  })
  const owned = (): Pod[] => (cluster.server.store.list(types().pods, 'default') as Pod[]).filter((p) => p.metadata.labels?.app === 'agent' && !p.metadata.deletionTimestamp)

  it('one pod per fitting node, status counts, template changes replace pods, deletion collects them', async () => {
    const created = cluster.server.api.create(types().ds, 'default', daemonSet('v1'))
    await eventually('pods on node-a and node-b', () => {
      const nodes = owned().filter((p) => p.status?.phase === 'Running').map((p) => p.spec.nodeName).sort()
      return nodes.join() === 'node-a,node-b'
    })
    const pod = owned()[0]!
    assert.deepEqual(pod.metadata.ownerReferences?.[0], {apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: created.metadata.uid!, controller: true, blockOwnerDeletion: true})
    const status = await eventually('status', () => {
      const s = cluster.server.store.get(types().ds, 'default', 'agent')?.status as Record<string, number> | undefined
      return s?.numberReady === 2 ? s : undefined
    })
    assert.deepEqual(status, {currentNumberScheduled: 2, desiredNumberScheduled: 2, numberMisscheduled: 0, numberReady: 2, updatedNumberScheduled: 2, numberAvailable: 2, observedGeneration: 1})

    const oldHash = pod.metadata.labels!['controller-revision-hash']
    cluster.server.api.patch(types().ds, 'default', 'agent', 'strategic', {spec: {template: {spec: {tolerations: [{key: 'dedicated', operator: 'Exists'}], containers: [{name: 'main', image: 'v2'}]}}}})
    await eventually('three updated pods', () => {
      const pods = owned().filter((p) => p.status?.phase === 'Running')
      return pods.length === 3 && pods.every((p) => p.metadata.labels!['controller-revision-hash'] !== oldHash)
    }, 15_000)
    const ds = cluster.server.store.get(types().ds, 'default', 'agent')!
    assert.equal(ds.metadata.generation, 2)
    await eventually('observedGeneration 2', () => (ds.status as {observedGeneration?: number}).observedGeneration === 2 || (cluster.server.store.get(types().ds, 'default', 'agent')!.status as {observedGeneration?: number}).observedGeneration === 2)

    cluster.server.api.delete(types().ds, 'default', 'agent')
    await eventually('owned pods to be collected', () => owned().length === 0 && cluster.server.store.list(types().pods, 'default').every((p) => p.metadata.labels?.app !== 'agent'))
  })
})

describe('ServiceAccounts and namespaces', () => {
  it('every namespace gets a default ServiceAccount (no token Secret unasked, as k8s ≥ 1.24); a token Secret asked for is filled; deleting a namespace deletes its objects', async () => {
    const t = types()
    cluster.server.api.create(t.ns, undefined, {metadata: {name: 'team'}})
    const sa = await eventually('default SA', () => cluster.server.store.get(t.sa, 'team', 'default'))
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(cluster.server.store.list(t.secrets, 'team').length, 0, 'LegacyServiceAccountTokenNoAutoGeneration: no Secret made unasked')
    assert.equal(cluster.server.store.get(t.sa, 'team', 'default')!.secrets, undefined)
    cluster.server.api.create(t.secrets, 'team', {metadata: {name: 'asked', annotations: {'kubernetes.io/service-account.name': 'default'}}, type: 'kubernetes.io/service-account-token'})
    const secret = await eventually('the token controller fills it', () => {
      const found = cluster.server.store.get(t.secrets, 'team', 'asked')!
      return (found.data as Record<string, string> | undefined)?.token ? found : undefined
    })
    assert.equal(secret.metadata.annotations!['kubernetes.io/service-account.uid'], sa.metadata.uid)
    const data = secret.data as Record<string, string>
    assert.equal(Buffer.from(data.namespace!, 'base64').toString(), 'team')
    assert.equal(Buffer.from(data['ca.crt']!, 'base64').toString(), cluster.pki.ca.cert)
    assert.equal(Buffer.from(data.token!, 'base64').toString().split('.').length, 3, 'a JWT')

    createPod('worker', {containers: [{name: 'main', command: ['sleep', '300']}]}, {}, 'team')
    await eventually('worker running', () => getPod('worker', 'team')?.status?.phase === 'Running')
    cluster.server.api.delete(t.ns, undefined, 'team')
    await eventually('the namespace and its objects to go', () => !cluster.server.store.get(t.ns, undefined, 'team') && cluster.server.store.list(t.pods, 'team').length === 0)
    assert.equal(cluster.server.store.list(t.secrets, 'team').length, 0)
  })
})
