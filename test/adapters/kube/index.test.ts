/**
 * The Kubernetes adapter (loadKubeContexts → KubeCluster) with the real @kubernetes/client-node
 * against the lab's emulated API server: real certificates, pods run as local processes.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {loadKubeContexts} from '../../../src/adapters/kube/index.js'
import {XccError} from '../../../src/core/errors.js'
import type {KubeCluster, KubeConfigMap, KubeContexts, KubeDaemonSet, KubePod} from '../../../src/core/ports/kube.js'
import type {KubeObject} from '../../../src/lab/kube/index.js'
import {ALICE_TOKEN, STATIC_TOKEN, type TestCluster, eventually, startTestCluster} from '../../lab/kube/cluster.js'

const BAD_TOKEN = 'bad-token-must-never-be-printed-42'
const LABEL = 'xcc.dev/suite'

let cluster: TestCluster
let kubeconfig: string
let contexts: KubeContexts
let lab: KubeCluster

const objects: KubeObject[] = [
  {apiVersion: 'v1', kind: 'Namespace', metadata: {name: 'team-a'}},
  {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'kube-dns', namespace: 'kube-system'}, data: {stubDomains: '{"corp": ["10.0.0.53"]}'}},
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {name: 'backend', namespace: 'team-a', labels: {app: 'backend'}},
    // no selector: its Endpoints are hand-made (with one, the endpoints controller would own them)
    spec: {type: 'ClusterIP', ports: [{name: 'http', port: 80, targetPort: 8080, protocol: 'TCP'}]},
  },
  {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {name: 'backend', namespace: 'team-a'},
    subsets: [{addresses: [{ip: '10.244.2.7', nodeName: 'node-a'}], ports: [{name: 'http', port: 8080, protocol: 'TCP'}]}],
  },
]

function daemonSet(name: string, script: string): KubeDaemonSet {
  const labels = {[LABEL]: 'daemon', app: name}
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {name, labels: {[LABEL]: 'daemon'}},
    spec: {
      selector: {matchLabels: labels},
      template: {metadata: {labels}, spec: {terminationGracePeriodSeconds: 0, containers: [{name: 'agent', image: 'busybox', command: ['sh', '-c', script]}]}},
      updateStrategy: {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 2}},
    },
  }
}

function pod(name: string, script: string, labels: Record<string, string> = {}): KubePod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {name, labels: {[LABEL]: 'adapter', ...labels}},
    spec: {restartPolicy: 'Never', terminationGracePeriodSeconds: 0, containers: [{name: 'main', image: 'busybox', command: ['sh', '-c', script]}]},
  }
}

async function rejectsWith(promise: Promise<unknown>, check: (error: XccError) => void): Promise<XccError> {
  let caught: unknown
  await assert.rejects(promise, (error: unknown) => {
    caught = error
    return true
  })
  assert.ok(caught instanceof XccError, `expected an XccError, got ${String(caught)}`)
  check(caught)
  return caught
}

function everything(error: XccError): string {
  return [error.message, error.hint ?? '', ...error.details, error.stack ?? ''].join('\n')
}

before(async () => {
  cluster = await startTestCluster({objects})
  const b64 = (text: string): string => Buffer.from(text).toString('base64')
  // file references are relative to the kubeconfig, as kubectl reads them
  writeFileSync(join(cluster.dir, 'ca.crt'), cluster.pki.ca.cert)
  writeFileSync(join(cluster.dir, 'admin.crt'), cluster.pki.admin.cert)
  writeFileSync(join(cluster.dir, 'admin.key'), cluster.pki.admin.key, {mode: 0o600})
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {name: 'lab', cluster: {server: cluster.server.url, 'certificate-authority-data': b64(cluster.pki.ca.cert)}},
      {name: 'lab-files', cluster: {server: cluster.server.url, 'certificate-authority': 'ca.crt'}},
    ],
    users: [
      {name: 'admin', user: {'client-certificate-data': b64(cluster.pki.admin.cert), 'client-key-data': b64(cluster.pki.admin.key)}},
      {name: 'admin-files', user: {'client-certificate': 'admin.crt', 'client-key': 'admin.key'}},
      {name: 'static', user: {token: STATIC_TOKEN}},
      {name: 'bad', user: {token: BAD_TOKEN}},
      {name: 'alice', user: {token: ALICE_TOKEN}},
    ],
    contexts: [
      {name: 'lab-cert', context: {cluster: 'lab', user: 'admin'}},
      {name: 'lab-token', context: {cluster: 'lab', user: 'static'}},
      {name: 'lab-files', context: {cluster: 'lab-files', user: 'admin-files'}},
      {name: 'lab-bad', context: {cluster: 'lab', user: 'bad'}},
      {name: 'lab-alice', context: {cluster: 'lab', user: 'alice'}},
    ],
    'current-context': 'lab-cert',
  }
  kubeconfig = join(cluster.dir, 'kubeconfig')
  writeFileSync(kubeconfig, yaml.dump(config), {mode: 0o600})
  contexts = await loadKubeContexts({kubeconfig, env: {}})
  lab = contexts.open('lab-cert')
})

after(async () => {
  await cluster?.close()
})

describe('loadKubeContexts against the lab API server', () => {
  it('lists the contexts of the kubeconfig and its current context', () => {
    assert.deepEqual(contexts.contexts, ['lab-cert', 'lab-token', 'lab-files', 'lab-bad', 'lab-alice'])
    assert.equal(contexts.current, 'lab-cert')
    assert.equal(lab.context, 'lab-cert')
    assert.equal(lab.server, cluster.server.url)
  })

  it('lists nodes with a client certificate, a bearer token, and certificate files relative to the kubeconfig', async () => {
    for (const name of ['lab-cert', 'lab-token', 'lab-files']) {
      const nodes = await contexts.open(name).listNodes()
      assert.deepEqual(
        nodes.map((n) => n.metadata.name),
        ['node-a', 'node-b'],
        name,
      )
      assert.equal(nodes[0]!.spec?.podCIDR, '10.244.2.0/24')
      assert.deepEqual(nodes[0]!.status?.addresses?.[0], {type: 'InternalIP', address: '10.0.0.2'})
      assert.equal(typeof nodes[0]!.metadata.creationTimestamp, 'string', 'timestamps stay strings (client-node makes Dates)')
    }
  })

  it('reads namespaces, and a missing one is undefined', async () => {
    assert.equal((await lab.getNamespace('team-a'))?.metadata.name, 'team-a')
    assert.equal(await lab.getNamespace('no-such-namespace'), undefined)
  })

  it('creates, reads, lists by label selector and deletes pods; missing pods are undefined and deleting one twice is fine', async () => {
    const created = await lab.createPod('default', pod('adapter-a', 'sleep 30', {role: 'client'}))
    assert.equal(created.metadata.name, 'adapter-a')
    assert.ok(created.metadata.uid)
    await lab.createPod('team-a', pod('adapter-b', 'sleep 30', {role: 'server'}))
    const running = await eventually('adapter-a running', async () => {
      const found = await lab.getPod('default', 'adapter-a')
      return found?.status?.phase === 'Running' ? found : undefined
    })
    assert.ok(running.status?.podIP)
    assert.equal(running.status?.containerStatuses?.[0]?.name, 'main')

    assert.deepEqual((await lab.listPods('default', `${LABEL}=adapter`)).map((p) => p.metadata.name), ['adapter-a'])
    assert.deepEqual((await lab.listPods(undefined, `${LABEL}=adapter`)).map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort(), ['default/adapter-a', 'team-a/adapter-b'])
    assert.deepEqual((await lab.listPods(undefined, 'role=server')).map((p) => p.metadata.name), ['adapter-b'])
    assert.deepEqual(await lab.listPods('default', 'role=nobody'), [])

    await lab.deletePod('default', 'adapter-a')
    await lab.deletePod('team-a', 'adapter-b')
    await eventually('both pods gone', async () => (await lab.listPods(undefined, `${LABEL}=adapter`)).length === 0)
    assert.equal(await lab.getPod('default', 'adapter-a'), undefined)
    await lab.deletePod('default', 'adapter-a')
  })

  it('reads the log of a pod that echoes a line; a container that has not started has an empty log', async () => {
    await lab.createPod('default', pod('echoer', 'echo hello from the lab'))
    await eventually('echoer succeeded', async () => (await lab.getPod('default', 'echoer'))?.status?.phase === 'Succeeded')
    assert.equal(await lab.readPodLog('default', 'echoer', 'main'), 'hello from the lab\n')

    // no node matches: the pod stays Pending and the API server answers 400 "waiting to start"
    const pending = pod('never-scheduled', 'echo never')
    await lab.createPod('default', {...pending, spec: {...pending.spec, nodeSelector: {zone: 'nowhere'}}} as KubePod)
    assert.equal(await lab.readPodLog('default', 'never-scheduled', 'main'), '')

    // other errors are errors
    await rejectsWith(lab.readPodLog('default', 'echoer', 'sidecar'), (error) => {
      assert.equal(error.exitCode, 3)
      assert.match(error.message, /reading the log of container sidecar of pod default\/echoer in context "lab-cert" failed: container sidecar is not valid/)
    })
    await rejectsWith(lab.readPodLog('default', 'no-such-pod', 'main'), (error) => assert.match(error.message, /pods "no-such-pod" not found/))
    await lab.deletePod('default', 'echoer')
    await lab.deletePod('default', 'never-scheduled')
  })

  it('adds ephemeral containers to a running pod with a strategic merge patch (merged by name)', async () => {
    await lab.createPod('default', pod('target', 'sleep 30'))
    await eventually('target running', async () => (await lab.getPod('default', 'target'))?.status?.phase === 'Running')
    await lab.addEphemeralContainer('default', 'target', {name: 'debug', image: 'busybox', command: ['sh', '-c', 'echo debug; sleep 5'], targetContainerName: 'main'})
    await lab.addEphemeralContainer('default', 'target', {name: 'debug-2', image: 'busybox', command: ['sh', '-c', 'sleep 5']})
    const found = await lab.getPod('default', 'target')
    // a JSON Patch or a merge patch would have replaced the list; the strategic merge keeps both
    assert.deepEqual(found?.spec.ephemeralContainers?.map((c) => c.name), ['debug', 'debug-2'])
    assert.equal(found?.spec.ephemeralContainers?.[0]?.targetContainerName, 'main')
    assert.deepEqual(found?.spec.containers.map((c) => c.name), ['main'])
    await eventually('the debug container to run and print', async () => (await lab.readPodLog('default', 'target', 'debug')) === 'debug\n')
    await lab.deletePod('default', 'target')
  })

  it('reads services, endpoints and configmaps; missing ones are undefined', async () => {
    const service = await lab.getService('team-a', 'backend')
    assert.deepEqual(service?.spec?.ports, [{name: 'http', port: 80, targetPort: 8080, protocol: 'TCP'}])
    assert.match(service?.spec?.clusterIP ?? '', /^10\.(9[6-9]|1[01]\d)\./)
    assert.ok((await lab.listServices()).some((s) => s.metadata.namespace === 'team-a' && s.metadata.name === 'backend'))
    assert.equal(await lab.getService('team-a', 'frontend'), undefined)

    const endpoints = await lab.getEndpoints('team-a', 'backend')
    assert.deepEqual(endpoints?.subsets?.[0]?.addresses, [{ip: '10.244.2.7', nodeName: 'node-a'}])
    assert.equal(await lab.getEndpoints('default', 'backend'), undefined)

    assert.deepEqual((await lab.getConfigMap('kube-system', 'kube-dns'))?.data, {stubDomains: '{"corp": ["10.0.0.53"]}'})
    assert.equal(await lab.getConfigMap('kube-system', 'absent'), undefined)
  })

  it('asks SelfSubjectAccessReviews, one answer per question in order', async () => {
    const answers = await contexts.open('lab-token').canI([
      {verb: 'list', resource: 'nodes'},
      {verb: 'create', resource: 'pods', subresource: 'ephemeralcontainers', namespace: 'default'},
      {verb: 'get', resource: 'daemonsets', group: 'apps', namespace: 'kube-system'},
    ])
    assert.equal(answers.length, 3)
    // the static token's user may do everything in the lab; the reason is the authorizer's wording
    for (const answer of answers) {
      assert.equal(answer.allowed, true)
      assert.match(answer.reason ?? '', /\S/)
    }
    assert.deepEqual(await lab.canI([]), [])
  })

  it('names the available contexts for an unknown one (exit 2)', async () => {
    assert.throws(
      () => contexts.open('prod'),
      (error: unknown) =>
        error instanceof XccError &&
        error.exitCode === 2 &&
        error.message === `kube context "prod" not found in ${kubeconfig}` &&
        error.hint === 'available contexts: lab-cert, lab-token, lab-files, lab-bad, lab-alice',
    )
  })

  it('answers SelfSubjectAccessReviews that RBAC denies, and reports a 403 with the permission to grant (exit 3)', async () => {
    const alice = contexts.open('lab-alice')
    const answers = await alice.canI([
      {verb: 'list', resource: 'nodes'},
      {verb: 'create', resource: 'selfsubjectaccessreviews', group: 'authorization.k8s.io'},
    ])
    assert.deepEqual(
      answers.map((a) => a.allowed),
      [false, true],
    )
    const error = await rejectsWith(alice.listNodes(), (e) => {
      assert.equal(e.exitCode, 3)
      assert.match(e.message, /^listing nodes in context "lab-alice" is forbidden: nodes is forbidden: User "alice" cannot list resource "nodes"/)
      assert.match(e.hint ?? '', /^grant the user "alice" of context "lab-alice" permission to list nodes cluster-wide .*kubectl --context lab-alice auth can-i list nodes$/)
    })
    assert.ok(!everything(error).includes(ALICE_TOKEN))
    await rejectsWith(alice.listPods('team-a'), (e) => assert.match(e.hint ?? '', /in namespace "team-a" \(a Role or ClusterRole rule .*-n team-a$/))
  })

  it('reports rejected credentials (exit 3) without printing the token', async () => {
    const error = await rejectsWith(contexts.open('lab-bad').listNodes(), (e) => {
      assert.equal(e.exitCode, 3)
      assert.equal(e.message, `the API server of context "lab-bad" (${cluster.server.url}) rejected the credentials while listing nodes`)
      assert.match(e.hint ?? '', /user "bad"/)
    })
    assert.ok(!everything(error).includes(BAD_TOKEN))
  })

  it('gives Kubernetes errors other than 404 with the Status message (exit 3)', async () => {
    await lab.createPod('default', pod('twice', 'sleep 5'))
    await rejectsWith(lab.createPod('default', pod('twice', 'sleep 5')), (error) => {
      assert.equal(error.exitCode, 3)
      assert.equal(error.message, 'creating pod default/twice in context "lab-cert" failed: pods "twice" already exists')
      assert.deepEqual(error.details, [`HTTP 409 AlreadyExists from ${cluster.server.url}`])
    })
    await lab.deletePod('default', 'twice')
  })
})

describe('ConfigMaps and DaemonSets against the lab API server', () => {
  it('creates, reads, replaces and deletes configmaps; deleting a missing one is fine', async () => {
    const settings: KubeConfigMap = {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'settings', labels: {[LABEL]: 'adapter'}}, data: {mode: 'a'}}
    const created = await lab.createConfigMap('team-a', settings)
    assert.equal(created.metadata.namespace, 'team-a')
    assert.match(created.metadata.resourceVersion ?? '', /^\d+$/)
    assert.equal(typeof created.metadata.creationTimestamp, 'string')
    assert.deepEqual((await lab.getConfigMap('team-a', 'settings'))?.data, {mode: 'a'})

    // the object as read back (timestamps as strings, uid, resourceVersion) goes back as it is
    const replaced = await lab.replaceConfigMap('team-a', {...created, data: {mode: 'b'}})
    assert.notEqual(replaced.metadata.resourceVersion, created.metadata.resourceVersion)
    assert.deepEqual((await lab.getConfigMap('team-a', 'settings'))?.data, {mode: 'b'})
    // without a resourceVersion a replace is unconditional
    const unconditional = await lab.replaceConfigMap('team-a', {...settings, data: {mode: 'c'}})
    assert.deepEqual(unconditional.data, {mode: 'c'})

    await rejectsWith(lab.createConfigMap('team-a', settings), (error) => {
      assert.equal(error.exitCode, 3)
      assert.equal(error.message, 'creating configmap team-a/settings in context "lab-cert" failed: configmaps "settings" already exists')
    })
    await rejectsWith(lab.replaceConfigMap('team-a', {...settings, metadata: {name: 'absent'}}), (error) => {
      assert.equal(error.exitCode, 3)
      assert.match(error.message, /^replacing configmap team-a\/absent in context "lab-cert" failed: configmaps "absent" not found/)
    })

    await lab.deleteConfigMap('team-a', 'settings')
    assert.equal(await lab.getConfigMap('team-a', 'settings'), undefined)
    await lab.deleteConfigMap('team-a', 'settings')
    await lab.deleteConfigMap('no-such-namespace', 'settings')
  })

  it('refuses a replace with a stale resourceVersion: the object was changed meanwhile (exit 3)', async () => {
    const first = await lab.createConfigMap('default', {metadata: {name: 'contested'}, data: {owner: 'me'}})
    await lab.replaceConfigMap('default', {...first, data: {owner: 'someone else'}})
    await rejectsWith(lab.replaceConfigMap('default', {...first, data: {owner: 'me again'}}), (e) => {
      assert.equal(e.exitCode, 3)
      assert.equal(e.message, 'cannot replace configmap default/contested in context "lab-cert": it was changed by someone else meanwhile; run the command again')
      assert.match(e.hint ?? '', /stale resourceVersion/)
      assert.equal(e.details[0], `HTTP 409 Conflict from ${cluster.server.url}`)
      assert.match(e.details[1] ?? '', /the object has been modified/)
    })
    assert.deepEqual((await lab.getConfigMap('default', 'contested'))?.data, {owner: 'someone else'})
    await lab.deleteConfigMap('default', 'contested')
  })

  it('creates, lists, reads (status from the DaemonSet controller), replaces and deletes daemonsets; its pods are garbage-collected', async () => {
    const created = await lab.createDaemonSet('team-a', daemonSet('agent', 'sleep 300'))
    assert.equal(created.metadata.generation, 1)
    assert.equal(created.spec.updateStrategy?.rollingUpdate?.maxUnavailable, 2)
    assert.deepEqual((await lab.listDaemonSets('team-a')).map((d) => d.metadata.name), ['agent'])
    assert.deepEqual(await lab.listDaemonSets('default'), [])

    const ready = await eventually('a ready agent pod on both nodes', async () => {
      const found = await lab.getDaemonSet('team-a', 'agent')
      return found?.status?.numberReady === 2 ? found : undefined
    })
    assert.equal(ready.status?.desiredNumberScheduled, 2)
    assert.equal(ready.status?.currentNumberScheduled, 2)
    assert.equal(ready.status?.updatedNumberScheduled, 2)
    assert.equal(ready.status?.observedGeneration, 1)
    const pods = await lab.listPods('team-a', 'app=agent')
    assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), ['node-a', 'node-b'])
    assert.deepEqual(pods[0]?.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['DaemonSet', 'agent', created.metadata.uid, true]])

    // a new template: generation 2, and the controller rolls the pods to it
    const template = ready.spec.template
    const replaced = await lab.replaceDaemonSet('team-a', {...ready, spec: {...ready.spec, template: {...template, metadata: {...template.metadata, annotations: {'xcc.dev/rev': '2'}}}}})
    assert.equal(replaced.metadata.generation, 2)
    assert.equal(replaced.spec.template.metadata.annotations?.['xcc.dev/rev'], '2')
    await eventually('both pods updated and ready', async () => {
      const status = (await lab.getDaemonSet('team-a', 'agent'))?.status
      return status?.observedGeneration === 2 && status.updatedNumberScheduled === 2 && status.numberReady === 2
    })
    await rejectsWith(lab.replaceDaemonSet('team-a', ready), (error) => {
      assert.equal(error.exitCode, 3)
      assert.equal(error.message, 'cannot replace daemonset team-a/agent in context "lab-cert": it was changed by someone else meanwhile; run the command again')
    })
    await rejectsWith(lab.createDaemonSet('team-a', daemonSet('agent', 'sleep 1')), (error) => assert.match(error.message, /^creating daemonset team-a\/agent in context "lab-cert" failed: daemonsets.apps "agent" already exists/))

    await lab.deleteDaemonSet('team-a', 'agent')
    assert.equal(await lab.getDaemonSet('team-a', 'agent'), undefined)
    await eventually('the agent pods garbage-collected', async () => (await lab.listPods('team-a', 'app=agent')).length === 0)
    await lab.deleteDaemonSet('team-a', 'agent')
    assert.equal(await lab.getDaemonSet('team-a', 'never-created'), undefined)
  })

  it('reports RBAC denials for configmaps and daemonsets with the permission to grant (exit 3)', async () => {
    const alice = contexts.open('lab-alice')
    const forbidden = async (promise: Promise<unknown>, message: RegExp, hint: RegExp): Promise<void> => {
      const error = await rejectsWith(promise, (e) => {
        assert.equal(e.exitCode, 3)
        assert.match(e.message, message)
        assert.match(e.hint ?? '', hint)
      })
      assert.ok(!everything(error).includes(ALICE_TOKEN))
    }
    await forbidden(alice.createConfigMap('team-a', {metadata: {name: 'x'}}), /^creating configmap team-a\/x in context "lab-alice" is forbidden: configmaps is forbidden: User "alice" cannot create/, /apiGroups \[""\], resources \["configmaps"\], verbs \["create"\]/)
    await forbidden(alice.replaceConfigMap('kube-system', {metadata: {name: 'kube-dns', resourceVersion: '1'}}), /^replacing configmap kube-system\/kube-dns in context "lab-alice" is forbidden/, /verbs \["update"\].*-n kube-system$/)
    await forbidden(alice.deleteConfigMap('kube-system', 'kube-dns'), /^deleting configmap kube-system\/kube-dns .* is forbidden/, /verbs \["delete"\]/)
    await forbidden(alice.listDaemonSets('kube-system'), /^listing daemonsets in namespace kube-system in context "lab-alice" is forbidden/, /apiGroups \["apps"\], resources \["daemonsets"\], verbs \["list"\].*auth can-i list daemonsets\.apps -n kube-system$/)
    await forbidden(alice.getDaemonSet('kube-system', 'agent'), /^reading daemonset kube-system\/agent .* is forbidden/, /verbs \["get"\]/)
    await forbidden(alice.createDaemonSet('team-a', daemonSet('agent', 'sleep 1')), /^creating daemonset team-a\/agent .* is forbidden/, /verbs \["create"\]/)
    await forbidden(alice.replaceDaemonSet('team-a', daemonSet('agent', 'sleep 1')), /^replacing daemonset team-a\/agent .* is forbidden/, /verbs \["update"\]/)
    await forbidden(alice.deleteDaemonSet('team-a', 'agent'), /^deleting daemonset team-a\/agent .* is forbidden/, /verbs \["delete"\]/)
  })
})
