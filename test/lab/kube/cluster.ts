/**
 * A real emulated API server for tests: real certificates (made once per process), a
 * LocalProcessRuntime (pods are plain local processes, no namespaces), two Ready nodes, static
 * tokens, and kubeconfigs for client-certificate and token authentication. Everything
 * listens on 127.0.0.1 and `close()` kills every process and removes the temp directory.
 *
 * Identities: the client certificate is `lab-admin` in `system:masters` (allowed everything);
 * STATIC_TOKEN is `static-user` in group `testers`, and the `default` ServiceAccount of
 * `default` is used by tests as a privileged robot: both are bound to `cluster-admin` by the
 * ClusterRoleBinding `test-admins`. ALICE_TOKEN is `alice` in group `developers`, bound to
 * nothing: RBAC tests grant her what they need.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import yaml from 'js-yaml'

import {type KeyPair, createCa, issueClientCert, issueServerCert} from '../../../src/lab/runtime/certificates.js'
import {type Addon, type AddonContext, type KubeApiServer, type KubeApiServerOptions, type KubeObject, LocalProcessRuntime, startKubeApiServer} from '../../../src/lab/kube/index.js'

export interface Pki {
  ca: KeyPair
  server: KeyPair
  admin: KeyPair
}

let pki: Promise<Pki> | undefined

export function testPki(): Promise<Pki> {
  pki ??= (async () => {
    const ca = await createCa('xcc-lab-test-ca')
    const [server, admin] = await Promise.all([
      issueServerCert(ca, {commonName: 'kube-apiserver', ips: ['127.0.0.1', '127.0.0.2'], dnsNames: ['localhost']}),
      issueClientCert(ca, {commonName: 'lab-admin', organizations: ['system:masters']}),
    ])
    return {ca, server, admin}
  })()
  return pki
}

export const STATIC_TOKEN = 'static-test-token-0123456789'
export const ALICE_TOKEN = 'alice-test-token-0123456789'

const TEST_ADMINS: KubeObject = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: {name: 'test-admins'},
  roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin'},
  subjects: [
    {apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'testers'},
    {kind: 'ServiceAccount', name: 'default', namespace: 'default'},
  ],
}

export function node(name: string, address: string, extra: {labels?: Record<string, string>; taints?: unknown[]} = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {name, labels: {'kubernetes.io/hostname': name, ...(extra.labels ?? {})}},
    spec: {podCIDR: `10.244.${address.split('.')[3]}.0/24`, providerID: `xcc-lab://${name}`, ...(extra.taints ? {taints: extra.taints} : {})},
    status: {
      addresses: [
        {type: 'InternalIP', address},
        {type: 'Hostname', address: name},
      ],
      conditions: [{type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status'}],
    },
  }
}

export interface TestCluster {
  readonly server: KubeApiServer
  readonly runtime: LocalProcessRuntime
  readonly pki: Pki
  readonly dir: string
  readonly logDir: string
  /** time to start the server, ms */
  readonly startMs: number
  /** writes a kubeconfig (mode 0600) for client-certificate auth, or for a bearer token */
  kubeconfig(auth?: {token: string}): string
  close(): Promise<void>
}

export interface TestClusterOptions {
  nodes?: KubeObject[]
  objects?: KubeObject[]
  watchHistory?: number
  addons?: ReadonlyArray<(context: AddonContext) => Addon>
  serviceAccounts?: KubeApiServerOptions['serviceAccounts']
  extraHosts?: readonly string[]
}

export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const keys = await testPki()
  const dir = mkdtempSync(join(tmpdir(), 'xcc-kube-test-'))
  const logDir = join(dir, 'logs')
  const runtime = new LocalProcessRuntime({defaultWorkingDir: dir})
  const nodes = options.nodes ?? [node('node-a', '10.0.0.2', {labels: {zone: 'a'}}), node('node-b', '10.0.0.3', {labels: {zone: 'b'}})]
  const started = performance.now()
  let server: KubeApiServer
  try {
    server = await startKubeApiServer({
      clusterName: 'test',
      tls: {key: keys.server.key, cert: keys.server.cert, caCert: keys.ca.cert},
      staticTokens: new Map([
        [STATIC_TOKEN, {user: 'static-user', groups: ['testers']}],
        [ALICE_TOKEN, {user: 'alice', groups: ['developers']}],
      ]),
      runtime,
      logDir,
      objects: [...nodes, TEST_ADMINS, ...(options.objects ?? [])],
      ...(options.watchHistory ? {watchHistory: options.watchHistory} : {}),
      ...(options.addons ? {addons: options.addons} : {}),
      ...(options.serviceAccounts ? {serviceAccounts: options.serviceAccounts} : {}),
      ...(options.extraHosts ? {extraHosts: options.extraHosts} : {}),
    })
  } catch (error) {
    rmSync(dir, {recursive: true, force: true})
    throw error
  }
  const startMs = performance.now() - started
  let written = 0
  return {
    server,
    runtime,
    pki: keys,
    dir,
    logDir,
    startMs,
    kubeconfig(auth) {
      const b64 = (text: string): string => Buffer.from(text).toString('base64')
      const user = auth ? {token: auth.token} : {'client-certificate-data': b64(keys.admin.cert), 'client-key-data': b64(keys.admin.key)}
      const config = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{name: 'test', cluster: {server: server.url, 'certificate-authority-data': b64(keys.ca.cert)}}],
        users: [{name: 'user', user}],
        contexts: [{name: 'test', context: {cluster: 'test', user: 'user'}}],
        'current-context': 'test',
      }
      const path = join(dir, `kubeconfig-${written++}`)
      writeFileSync(path, yaml.dump(config), {mode: 0o600})
      return path
    },
    async close() {
      try {
        await server.close()
      } finally {
        runtime.killAll()
        rmSync(dir, {recursive: true, force: true})
      }
    },
  }
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
