/**
 * The real kubectl 1.32 against the emulated API server: client-certificate and token
 * kubeconfigs, get (tables, -A, -o wide, -o json), apply / re-apply, wait, logs, describe,
 * delete (which waits), DaemonSets on every node, activeDeadlineSeconds. Prints the time from
 * `kubectl apply` to phase Running (a benchmark figure, not an assertion).
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {Kubectl, findKubectl, kubectlSkip} from '../../support/kubectl.js'
import {STATIC_TOKEN, type TestCluster, eventually, startTestCluster} from './cluster.js'

const skip = kubectlSkip()

function podManifest(name: string, script: string, extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {app: ${name}${extra}}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", ${JSON.stringify(script)}]
`
}

describe('kubectl 1.32', {skip}, () => {
  let cluster: TestCluster
  let kubectl: Kubectl
  let admin: string
  let tokenConfig: string
  const k = (args: string[], input?: string): Promise<string> => kubectl.ok(admin, input === undefined ? args : [...args, '-f', '-'], {input})

  before(async () => {
    const found = findKubectl()
    if (!('path' in found)) throw new Error(found.missing)
    kubectl = new Kubectl(found.path)
    cluster = await startTestCluster()
    console.log(`# kube: API server started in ${cluster.startMs.toFixed(1)} ms`)
    admin = cluster.kubeconfig()
    tokenConfig = cluster.kubeconfig({token: STATIC_TOKEN})
  })

  after(async () => {
    await cluster?.close()
    kubectl?.dispose()
  })

  it('get nodes (table, -o wide), get pods -A, with a client certificate and with a token', async () => {
    const nodes = await k(['get', 'nodes'])
    assert.match(nodes, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\n/)
    assert.match(nodes, /\nnode-a\s+Ready\s+<none>\s+\d+s\s+v1\.32\.0-xcc\n/)
    const wide = await k(['get', 'no', '-o', 'wide'])
    assert.match(wide, /INTERNAL-IP/)
    assert.match(wide, /node-b\s+Ready.*10\.0\.0\.3/)
    assert.match(await kubectl.ok(tokenConfig, ['get', 'nodes', '-o', 'name']), /^node\/node-a\nnode\/node-b\n$/)
    await k(['apply'], podManifest('idle', 'sleep 30'))
    const all = await k(['get', 'pods', '-A'])
    assert.match(all, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/)
    assert.match(all, /\ndefault\s+idle\s+/)
  })

  it('typed-client commands that send protobuf: create namespace/configmap/secret/serviceaccount/token, auth can-i/whoami; run', async () => {
    assert.equal(await k(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']), 'lab-admin')
    assert.equal(await kubectl.ok(tokenConfig, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']), 'static-user')
    assert.equal(await k(['auth', 'can-i', 'delete', 'pods']), 'yes\n')
    assert.match(await k(['create', 'namespace', 'team']), /namespace\/team created/)
    await k(['-n', 'team', 'create', 'configmap', 'settings', '--from-literal=greeting=hi'])
    await k(['-n', 'team', 'create', 'secret', 'generic', 'creds', '--from-literal=password=s3cret'])
    await k(['-n', 'team', 'create', 'serviceaccount', 'robot'])
    assert.equal(await k(['-n', 'team', 'get', 'configmap', 'settings', '-o', 'jsonpath={.data.greeting}']), 'hi')
    assert.equal(await k(['-n', 'team', 'get', 'secret', 'creds', '-o', 'jsonpath={.data.password}']), Buffer.from('s3cret').toString('base64'))
    const token = (await k(['-n', 'team', 'create', 'token', 'robot', '--duration=15m'])).trim()
    const robot = cluster.kubeconfig({token})
    assert.equal(await kubectl.ok(robot, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']), 'system:serviceaccount:team:robot')
    assert.match(await k(['-n', 'team', 'run', 'probe', '--image=busybox', '--restart=Never', '--env=GREETING=hello', '--', 'sh', '-c', 'echo $GREETING']), /pod\/probe created/)
    await k(['-n', 'team', 'wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/probe', '--timeout=20s'])
    assert.equal(await k(['-n', 'team', 'logs', 'probe']), 'hello\n')
    await k(['delete', 'namespace', 'team', '--timeout=20s'])
    assert.equal(cluster.server.store.get(cluster.server.store.registry.get('namespaces'), undefined, 'team'), undefined)
  })

  it('apply, wait for Succeeded, logs, re-apply with a change, get -o json, describe, delete (which waits)', async () => {
    const marks: {created?: number; running?: number} = {}
    const unsubscribe = cluster.server.store.subscribe((event) => {
      if (event.object.metadata.name !== 'hello' || event.resource.kind !== 'Pod') return
      if (event.type === 'ADDED') marks.created ??= performance.now()
      if ((event.object.status as {phase?: string} | undefined)?.phase === 'Running') marks.running ??= performance.now()
    })
    const started = performance.now()
    assert.match(await k(['apply'], podManifest('hello', 'echo hello from $HOSTNAME; sleep 0.3; exit 0')), /pod\/hello created/)
    await k(['wait', '--for=jsonpath={.status.phase}=Running', 'pod/hello', '--timeout=20s'])
    const toRunning = performance.now() - started
    unsubscribe()
    const serverSide = marks.running !== undefined && marks.created !== undefined ? (marks.running - marks.created).toFixed(1) : '?'
    console.log(`# kube: pod create → phase Running in ${serverSide} ms in the server; kubectl apply + kubectl wait took ${toRunning.toFixed(0)} ms`)
    console.log(`# kube: test process RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB with the server running`)
    assert.match(await k(['wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/hello', '--timeout=20s']), /condition met/)
    assert.equal(await k(['logs', 'hello']), 'hello from hello\n')
    assert.match(await k(['get', 'pod', 'hello']), /\nhello\s+0\/1\s+Completed\s+0\s+/)

    assert.match(await k(['apply'], podManifest('hello', 'echo hello from $HOSTNAME; sleep 0.3; exit 0', ', tier: web')), /pod\/hello configured/)
    const json = JSON.parse(await k(['get', 'pod', 'hello', '-o', 'json'])) as {metadata: {labels: Record<string, string>; annotations: Record<string, string>}; status: {containerStatuses: Array<{state: {terminated: {exitCode: number}}}>}}
    assert.deepEqual(json.metadata.labels, {app: 'hello', tier: 'web'})
    assert.ok(json.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'])
    assert.equal(json.status.containerStatuses[0]!.state.terminated.exitCode, 0)
    assert.match(await k(['apply'], podManifest('hello', 'echo hello from $HOSTNAME; sleep 0.3; exit 0', ', tier: web')), /pod\/hello unchanged/)
    const changedCommand = await kubectl.run(admin, ['apply', '-f', '-'], {input: podManifest('hello', 'echo changed', ', tier: web')})
    assert.notEqual(changedCommand.code, 0)
    assert.match(changedCommand.stderr, /pod updates may not change fields/)

    const describe = await k(['describe', 'pod', 'hello'])
    assert.match(describe, /Status:\s+Succeeded/)
    assert.match(describe, /Exit Code:\s+0/)
    assert.match(describe, /Successfully assigned default\/hello to node-/)

    const deleted = await kubectl.run(admin, ['delete', 'pod', 'hello', 'idle', '--timeout=20s'])
    assert.equal(deleted.code, 0, deleted.stderr)
    assert.match(deleted.stdout, /pod "hello" deleted\npod "idle" deleted\n/)
    assert.equal(cluster.server.store.list(cluster.server.store.registry.get('pods')).length, 0, 'delete returned once the pods were gone')
  })

  it('a failing pod: exit code and reason in -o jsonpath, wait --for=delete', async () => {
    await k(['apply'], podManifest('fails', 'echo about to fail; exit 3'))
    await k(['wait', '--for=jsonpath={.status.phase}=Failed', 'pod/fails', '--timeout=20s'])
    assert.equal(await k(['get', 'pod', 'fails', '-o', 'jsonpath={.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].state.terminated.reason}']), '3 Error')
    await k(['delete', 'pod', 'fails', '--wait=false'])
    await k(['wait', '--for=delete', 'pod/fails', '--timeout=20s'])
  })

  it('a DaemonSet puts one pod on every node', async () => {
    await k(['apply'], `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - name: agent
        image: busybox:1.36
        command: ["sh", "-c", "echo agent on $NODE; exec sleep 300"]
        env:
        - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
`)
    await k(['rollout', 'status', 'ds/agent', '--timeout=20s'])
    const ds = await k(['get', 'ds', 'agent'])
    assert.match(ds, /\nagent\s+2\s+2\s+2\s+2\s+2\s+<none>\s+/)
    const nodes = (await k(['get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={range .items[*]}{.spec.nodeName}{"\\n"}{end}'])).trim().split('\n').sort()
    assert.deepEqual(nodes, ['node-a', 'node-b'])
    await eventually('agent logs', async () => (await k(['logs', '-l', 'app=agent'])).split('\n').filter(Boolean).sort().join() === 'agent on node-a,agent on node-b')
    await k(['delete', 'ds', 'agent', '--timeout=20s'])
    await eventually('the agent pods to be collected', () => cluster.server.store.list(cluster.server.store.registry.get('pods')).length === 0)
  })

  it('activeDeadlineSeconds kills a sleep 60 pod: Failed, DeadlineExceeded', async () => {
    await k(['apply'], `apiVersion: v1
kind: Pod
metadata: {name: deadline}
spec:
  activeDeadlineSeconds: 2
  restartPolicy: Never
  containers:
  - {name: main, image: busybox:1.36, command: ["sleep", "60"]}
`)
    await k(['wait', '--for=jsonpath={.status.phase}=Failed', 'pod/deadline', '--timeout=20s'])
    assert.equal(await k(['get', 'pod', 'deadline', '-o', 'jsonpath={.status.reason}']), 'DeadlineExceeded')
    await k(['delete', 'pod', 'deadline', '--timeout=20s'])
  })
})
