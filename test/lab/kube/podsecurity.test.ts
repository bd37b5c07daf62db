/**
 * PodSecurity admission: the Pod Security Standards checks and their wording (unit), and the
 * plugin through the API server with @kubernetes/client-node and raw HTTPS: enforce levels from
 * namespace labels, 403 Forbidden with kube-apiserver's message, warnings from the warn label,
 * pods of a DaemonSet refused in an enforced namespace.
 */
import assert from 'node:assert/strict'
import {request} from 'node:https'
import {after, before, describe, it} from 'node:test'

import {AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, type V1Container, type V1Pod, setHeaderOptions} from '@kubernetes/client-node'

import {evaluatePodSpec} from '../../../src/lab/kube/podsecurity/checks.js'
import {describeViolations, namespaceLevel} from '../../../src/lab/kube/podsecurity/admission.js'
import type {PodSpec} from '../../../src/lab/kube/types.js'
import {type TestCluster, eventually, startTestCluster} from './cluster.js'

const RESTRICTED_CONTEXT = {allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: {drop: ['ALL']}, seccompProfile: {type: 'RuntimeDefault'}}

function spec(containers: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}): PodSpec {
  return {containers: containers.map((c, i) => ({name: `c${i}`, ...c})), ...extra} as PodSpec
}

describe('Pod Security Standards checks', () => {
  it('baseline: each check, in the plugin order (sorted by check ID), with its wording and plurals', () => {
    const pod = spec(
      [
        {name: 'a', securityContext: {privileged: true, capabilities: {add: ['NET_RAW', 'NET_ADMIN', 'CHOWN']}}, ports: [{containerPort: 80, hostPort: 8080}]},
        {name: 'b', securityContext: {privileged: true, capabilities: {add: ['SYS_ADMIN']}}, ports: [{containerPort: 80, hostPort: 80}]},
      ],
      {hostNetwork: true, hostPID: true, volumes: [{name: 'root', hostPath: {path: '/'}}, {name: 'tmp', emptyDir: {}}]},
    )
    assert.equal(
      describeViolations(evaluatePodSpec('baseline', pod)),
      'non-default capabilities (containers "a", "b" must not include "NET_ADMIN", "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add), ' +
        'host namespaces (hostNetwork=true, hostPID=true), hostPath volumes (volume "root"), hostPort (containers "a", "b" use hostPorts 80, 8080), ' +
        'privileged (containers "a", "b" must not set securityContext.privileged=true)',
    )
    assert.equal(describeViolations(evaluatePodSpec('baseline', spec([{name: 'x', securityContext: {seccompProfile: {type: 'Unconfined'}}}]))), 'seccompProfile (container "x" must not set securityContext.seccompProfile.type to "Unconfined")')
    assert.deepEqual(evaluatePodSpec('baseline', spec([{name: 'ok', securityContext: {capabilities: {add: ['NET_BIND_SERVICE', 'KILL']}}}])), [])
    assert.deepEqual(evaluatePodSpec('privileged', pod), [])
  })

  it('restricted: the baseline checks plus its own, init and ephemeral containers included', () => {
    const plain = spec([{name: 'main'}], {initContainers: [{name: 'init'}], ephemeralContainers: [{name: 'debug'}]})
    assert.equal(
      describeViolations(evaluatePodSpec('restricted', plain)),
      'allowPrivilegeEscalation != false (containers "init", "main", "debug" must set securityContext.allowPrivilegeEscalation=false), ' +
        'unrestricted capabilities (containers "init", "main", "debug" must set securityContext.capabilities.drop=["ALL"]), ' +
        'runAsNonRoot != true (pod or containers "init", "main", "debug" must set securityContext.runAsNonRoot=true), ' +
        'seccompProfile (pod or containers "init", "main", "debug" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    )
    const pod = spec([{name: 'x', securityContext: {...RESTRICTED_CONTEXT, runAsNonRoot: false, runAsUser: 0, capabilities: {drop: ['ALL'], add: ['NET_ADMIN']}}}], {
      securityContext: {seccompProfile: {type: 'Unconfined'}},
      volumes: [{name: 'host', hostPath: {path: '/'}}, {name: 'cfg', configMap: {name: 'c'}}],
    })
    assert.equal(
      describeViolations(evaluatePodSpec('restricted', pod)),
      'non-default capabilities (container "x" must not include "NET_ADMIN" in securityContext.capabilities.add), hostPath volumes (volume "host"), ' +
        'unrestricted capabilities (container "x" must not include "NET_ADMIN" in securityContext.capabilities.add), ' +
        'restricted volume types (volume "host" uses restricted volume type "hostPath"), runAsNonRoot != true (container "x" must not set securityContext.runAsNonRoot=false), ' +
        'runAsUser=0 (container "x" must not set runAsUser=0), seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
    )
    const compliant = spec([{name: 'x', securityContext: RESTRICTED_CONTEXT}])
    assert.deepEqual(evaluatePodSpec('restricted', compliant), [])
    const podLevel = spec([{name: 'x', securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: ['ALL'], add: ['NET_BIND_SERVICE']}}}], {securityContext: {runAsNonRoot: true, seccompProfile: {type: 'Localhost', localhostProfile: 'p.json'}}})
    assert.deepEqual(evaluatePodSpec('restricted', podLevel), [], 'pod-level runAsNonRoot and seccompProfile cover the containers')
  })

  it('levels from namespace labels: absent is privileged, unknown is restricted, versions kept', () => {
    assert.deepEqual(namespaceLevel({}, 'enforce'), {level: 'privileged', version: 'latest'})
    assert.deepEqual(namespaceLevel({'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'v1.30'}, 'enforce'), {level: 'baseline', version: 'v1.30'})
    assert.deepEqual(namespaceLevel({'pod-security.kubernetes.io/enforce': 'strict'}, 'enforce'), {level: 'restricted', version: 'latest'})
  })
})

describe('PodSecurity admission in the API server', () => {
  let cluster: TestCluster
  let core: CoreV1Api
  const labels = (level: string, mode = 'enforce') => ({[`pod-security.kubernetes.io/${mode}`]: level})
  const container = (extra: Partial<V1Container> = {}): V1Container => ({name: 'c', image: 'busybox', command: ['sleep', '30'], ...extra})
  const pod = (name: string, extra: Partial<V1Pod['spec']> = {}, c: Partial<V1Container> = {}): V1Pod => ({metadata: {name}, spec: {containers: [container(c)], ...extra}})
  const rejected = (namespace: string, body: V1Pod) => failure(core.createNamespacedPod({namespace, body}))
  const failure = async (promise: Promise<unknown>): Promise<{code?: number; message?: string; reason?: string}> => {
    try {
      await promise
    } catch (error) {
      const {code, body: text} = error as {code?: number; body?: unknown}
      const status = (typeof text === 'string' ? JSON.parse(text) : text) as {message?: string; reason?: string}
      return {code, message: status.message, reason: status.reason}
    }
    throw new Error('the request succeeded')
  }

  before(async () => {
    cluster = await startTestCluster()
    const kc = new KubeConfig()
    kc.loadFromFile(cluster.kubeconfig())
    core = kc.makeApiClient(CoreV1Api)
    await core.createNamespace({body: {metadata: {name: 'base', labels: labels('baseline')}}})
    await core.createNamespace({body: {metadata: {name: 'strict', labels: {...labels('restricted'), 'pod-security.kubernetes.io/enforce-version': 'v1.32'}}}})
    await core.createNamespace({body: {metadata: {name: 'warned', labels: labels('restricted', 'warn')}}})
  })

  after(async () => {
    await cluster?.close()
  })

  it('enforce baseline: 403 Forbidden with the plugin message; compliant pods run; unlabelled namespaces allow anything', async () => {
    const caps = await rejected('base', pod('net', {hostNetwork: true}, {securityContext: {capabilities: {add: ['NET_ADMIN', 'NET_RAW']}}}))
    assert.deepEqual(caps, {
      code: 403,
      reason: 'Forbidden',
      message: 'pods "net" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "c" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add), host namespaces (hostNetwork=true)',
    })
    const privileged = await rejected('base', pod('priv', {volumes: [{name: 'host', hostPath: {path: '/tmp'}}]}, {securityContext: {privileged: true}, ports: [{containerPort: 53, hostPort: 53}]}))
    assert.equal(privileged.message, 'pods "priv" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "host"), hostPort (container "c" uses hostPort 53), privileged (container "c" must not set securityContext.privileged=true)')
    await core.createNamespacedPod({namespace: 'base', body: pod('fine', {}, {securityContext: {capabilities: {add: ['NET_BIND_SERVICE']}}})})
    await eventually('fine to run', async () => (await core.readNamespacedPod({name: 'fine', namespace: 'base'})).status?.phase === 'Running')
    await core.createNamespacedPod({namespace: 'default', body: pod('anything', {hostNetwork: true}, {securityContext: {privileged: true}})})
  })

  it('enforce restricted with a version; a stricter label later keeps running pods, but checks their image updates', async () => {
    const plain = await rejected('strict', pod('plain'))
    assert.equal(
      plain.message,
      'pods "plain" is forbidden: violates PodSecurity "restricted:v1.32": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    )
    await core.createNamespacedPod({namespace: 'strict', body: pod('hardened', {}, {securityContext: RESTRICTED_CONTEXT})})
    await core.patchNamespacedPod({name: 'hardened', namespace: 'strict', body: {metadata: {labels: {touched: 'yes'}}}}, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    await core.createNamespacedPod({namespace: 'base', body: pod('before', {}, {securityContext: {runAsUser: 0}})})
    await core.patchNamespace({name: 'base', body: {metadata: {labels: labels('restricted')}}}, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    await core.patchNamespacedPod({name: 'before', namespace: 'base', body: {metadata: {labels: {still: 'admitted'}}}}, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    const image = await failure(core.patchNamespacedPod({name: 'before', namespace: 'base', body: {spec: {containers: [{name: 'c', image: 'busybox:2'}]}}}, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)))
    assert.match(image.message!, /^pods "before" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/)
    await core.patchNamespace({name: 'base', body: {metadata: {labels: labels('baseline')}}}, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
  })

  it('the warn label adds a Warning header and admits the pod', async () => {
    const keys = cluster.pki
    const response = await new Promise<{code?: number; warning?: string | string[]}>((resolve, reject) => {
      const req = request(`${cluster.server.url}/api/v1/namespaces/warned/pods`, {method: 'POST', ca: keys.ca.cert, cert: keys.admin.cert, key: keys.admin.key, headers: {'Content-Type': 'application/json'}}, (res) => {
        res.resume()
        res.on('end', () => resolve({code: res.statusCode, warning: res.headers.warning}))
      })
      req.on('error', reject)
      req.end(JSON.stringify(pod('loose', {}, {securityContext: {...RESTRICTED_CONTEXT, runAsNonRoot: undefined}})))
    })
    assert.equal(response.code, 201)
    assert.equal(response.warning, '299 - "would violate PodSecurity \\"restricted:latest\\": runAsNonRoot != true (pod or container \\"c\\" must set securityContext.runAsNonRoot=true)"')
  })

  it('a value of the wrong type never slips past a check: hostNetwork "true", privileged "true", runAsUser "0" are 422 Invalid', async () => {
    const keys = cluster.pki
    const post = (body: unknown) => new Promise<{code?: number; text: string}>((resolve, reject) => {
      const req = request(`${cluster.server.url}/api/v1/namespaces/strict/pods`, {method: 'POST', ca: keys.ca.cert, cert: keys.admin.cert, key: keys.admin.key, headers: {'Content-Type': 'application/json'}}, (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => (text += chunk.toString()))
        res.on('end', () => resolve({code: res.statusCode, text}))
      })
      req.on('error', reject)
      req.end(JSON.stringify(body))
    })
    const hardened = {...RESTRICTED_CONTEXT}
    const cases: Array<[Record<string, unknown>, Record<string, unknown>, RegExp]> = [
      [{hostNetwork: 'true'}, hardened, /spec\.hostNetwork.*must be a boolean/],
      [{}, {...hardened, privileged: 'true'}, /securityContext\.privileged.*must be a boolean/],
      [{}, {...hardened, runAsUser: '0'}, /securityContext\.runAsUser.*must be between 0 and 2147483647/],
      [{securityContext: {runAsUser: -1}}, hardened, /spec\.securityContext\.runAsUser/],
      [{securityContext: {supplementalGroups: ['0']}}, hardened, /spec\.securityContext\.supplementalGroups/],
      [{}, {...hardened, capabilities: {drop: ['ALL'], add: 'NET_ADMIN'}}, /capabilities\.add.*must be a list of strings/],
    ]
    for (const [spec, securityContext, message] of cases) {
      const response = await post({metadata: {name: 'typed'}, spec: {...spec, containers: [{...container(), securityContext}]}})
      assert.equal(response.code, 422, response.text)
      assert.match(response.text, message)
    }
  })

  it("a DaemonSet's pods are refused in an enforced namespace: FailedCreate events", async () => {
    const kc = new KubeConfig()
    kc.loadFromFile(cluster.kubeconfig())
    await kc.makeApiClient(AppsV1Api).createNamespacedDaemonSet({
      namespace: 'base',
      body: {
        metadata: {name: 'agent'},
        spec: {selector: {matchLabels: {app: 'agent'}}, template: {metadata: {labels: {app: 'agent'}}, spec: {hostNetwork: true, containers: [container()]}}},
      },
    })
    const event = await eventually('a FailedCreate event', async () => (await core.listNamespacedEvent({namespace: 'base'})).items.find((e) => e.reason === 'FailedCreate'))
    assert.match(event.message!, /^Error creating: pods "agent-[a-z0-9]{5}" is forbidden: violates PodSecurity "baseline:latest": host namespaces \(hostNetwork=true\)$/)
  })
})
