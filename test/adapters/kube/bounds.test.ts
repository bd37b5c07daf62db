/**
 * Bounded inputs of the Kubernetes adapter (issue 13), through the real @kubernetes/client-node:
 *  - a kubeconfig path that is not a regular file (a FIFO, /dev/zero, a directory, a socket) is
 *    refused at once, exit 2, naming the path and what it is, instead of hanging or reading forever;
 *  - kubeconfig exec plugins run with a timeout, and a failing one shows at most the first line
 *    of its stderr, redacted; small shell scripts stand in for gke-gcloud-auth-plugin;
 *  - a list answer without items (`"items": null`, or no items at all) is an empty list.
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {type IncomingMessage, type Server, type ServerResponse, createServer} from 'node:http'
import {type AddressInfo, createServer as createNetServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {readContextNames} from '../../../src/adapters/kube/config.js'
import {loadKubeContexts} from '../../../src/adapters/kube/index.js'
import {redactLine} from '../../../src/adapters/kube/errors.js'
import {XccError} from '../../../src/core/errors.js'

const TOKEN = 'plugin-token-7f3a9c1e5b2d4f6a8c0e'
const ARG_SECRET = 'arg-secret-4b7d1e9a3c5f'
const ENV_SECRET = 'env-secret-8e2c6a0f4d1b'
const STDERR_SECRET = 'ya29.a0AfB_byC3dE4fG5hI6jK7lM8nO9pQ0rS'

let dir: string
let server: Server
let url: string
const seen: Array<{path: string; authorization?: string}> = []

function everything(error: XccError): string {
  return [error.message, error.hint ?? '', ...error.details, error.stack ?? ''].join('\n')
}

async function rejection(promise: Promise<unknown>, exitCode: 2 | 3): Promise<XccError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof XccError, `expected an XccError, got ${error instanceof Error ? error.stack : String(error)}`)
    assert.equal(error.exitCode, exitCode, error.message)
    return error
  }
  assert.fail('expected a rejection')
}

/** a list answer: `items` null on every path but /api/v1/pods, which has no items at all */
function answer(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://stub').pathname
  seen.push({path, ...(req.headers.authorization ? {authorization: req.headers.authorization} : {})})
  const kinds: Record<string, string> = {
    '/api/v1/nodes': 'NodeList', '/api/v1/namespaces/default/pods': 'PodList', '/api/v1/pods': 'PodList', '/api/v1/services': 'ServiceList',
    '/apis/apps/v1/namespaces/kube-system/daemonsets': 'DaemonSetList',
  }
  const kind = kinds[path]
  res.writeHead(kind ? 200 : 404, {'Content-Type': 'application/json'})
  if (!kind) return void res.end(JSON.stringify({kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound', message: 'not found'}))
  res.end(JSON.stringify({kind, apiVersion: path.startsWith('/apis/apps') ? 'apps/v1' : 'v1', metadata: {resourceVersion: '1'}, ...(path === '/api/v1/pods' ? {} : {items: null})}))
}

/** a kubeconfig for the stub server whose user runs `plugin` (or holds a token) */
function kubeconfig(name: string, user: object): string {
  const path = join(dir, name)
  writeFileSync(path, yaml.dump({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{name: 'stub', cluster: {server: url, 'insecure-skip-tls-verify': true}}],
    users: [{name: 'ci', user}],
    contexts: [{name: 'stub', context: {cluster: 'stub', user: 'ci'}}],
    'current-context': 'stub',
  }), {mode: 0o600})
  return path
}

function plugin(name: string, script: string): string {
  const path = join(dir, name)
  writeFileSync(path, `#!/bin/sh\n${script}\n`)
  chmodSync(path, 0o755)
  return path
}

function execUser(command: string): object {
  return {exec: {apiVersion: 'client.authentication.k8s.io/v1beta1', command, args: ['--flag', ARG_SECRET], env: [{name: 'PLUGIN_SECRET', value: ENV_SECRET}], interactiveMode: 'Never'}}
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xcc-kube-bounds-test-'))
  server = createServer(answer)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

after(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  rmSync(dir, {recursive: true, force: true})
})

describe('kubeconfig paths that are not regular files are refused at once (exit 2, naming the path and what it is)', () => {
  const fifo = (): string => {
    const path = join(dir, `fifo-${Math.random().toString(36).slice(2)}`)
    execFileSync('mkfifo', [path])
    return path
  }
  const cases: ReadonlyArray<readonly [string, () => string, RegExp]> = [
    ['a FIFO', fifo, /it is a named pipe \(FIFO\), not a regular file/],
    ['/dev/zero', () => '/dev/zero', /it is a character device, not a regular file/],
    ['a directory', () => {
      const path = join(dir, 'a-directory')
      mkdirSync(path, {recursive: true})
      return path
    }, /it is a directory, not a regular file/],
  ]
  for (const [what, make, pattern] of cases) {
    it(`${what} given with --kubeconfig`, async () => {
      const path = make()
      const started = performance.now()
      const error = await rejection(loadKubeContexts({kubeconfig: path, env: {}}), 2)
      assert.ok(performance.now() - started < 5000)
      assert.equal(error.message.startsWith(`cannot read kubeconfig ${path}: `), true, error.message)
      assert.match(error.message, pattern)
    })
    it(`${what} listed in KUBECONFIG`, async () => {
      const path = make()
      const error = await rejection(loadKubeContexts({env: {KUBECONFIG: path}}), 2)
      assert.match(error.message, pattern)
      assert.ok(error.message.includes(path))
    })
  }

  it('a socket', async () => {
    const path = join(dir, 'socket')
    const listening = createNetServer()
    await new Promise<void>((resolve) => listening.listen(path, resolve))
    try {
      const error = await rejection(loadKubeContexts({kubeconfig: path, env: {}}), 2)
      assert.match(error.message, new RegExp(`^cannot read kubeconfig ${path}: it is a socket, not a regular file$`))
    } finally {
      await new Promise((resolve) => listening.close(resolve))
    }
  })

  it('the static doctor\'s context names skip a FIFO instead of blocking', () => {
    const path = join(dir, 'names-fifo')
    execFileSync('mkfifo', [path])
    const good = join(dir, 'names-config')
    writeFileSync(good, yaml.dump({contexts: [{name: 'c1', context: {cluster: 'x'}}]}))
    assert.deepEqual(readContextNames({KUBECONFIG: `${path}:${good}`}), ['c1'])
  })

  it('a YAML alias bomb is refused, naming the limit (spawning its plugin flattened 387 million arguments for 12 s)', async () => {
    const lines = ['apiVersion: v1', 'kind: Config', 'x:', '  l0: &l0 [a,a,a,a,a,a,a,a,a]']
    for (let i = 1; i <= 8; i++) lines.push(`  l${i}: &l${i} [${Array.from({length: 9}, () => `*l${i - 1}`).join(',')}]`)
    lines.push('clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]', 'contexts: [{name: c, context: {cluster: c, user: u}}]')
    lines.push('users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: x, args: *l8}}}]')
    const path = join(dir, 'bomb-config')
    writeFileSync(path, `${lines.join('\n')}\n`)
    const started = performance.now()
    const error = await rejection(loadKubeContexts({kubeconfig: path, env: {}}).then((contexts) => contexts.open('c').listNodes()), 2)
    assert.ok(performance.now() - started < 5000)
    assert.match(error.message, new RegExp(`^kubeconfig ${path} is not a kubeconfig: the document holds more than 1,000,000 values .* at x\\.l\\d`))
  })
})

describe('kubeconfig exec plugins', {timeout: 30_000}, () => {
  it('a plugin that hangs is stopped after the timeout: exit 3 naming the command and the timeout, not its arguments or environment', async () => {
    const pidFile = join(dir, 'hang.pid')
    const command = plugin('hang-plugin', `echo $$ > ${pidFile}\nsleep 60 &\nwait`)
    const contexts = await loadKubeContexts({kubeconfig: kubeconfig('hang-config', execUser(command)), env: {}, execTimeoutMs: 800})
    const started = performance.now()
    const error = await rejection(contexts.open('stub').listNodes(), 3)
    const elapsed = performance.now() - started
    assert.ok(elapsed >= 700 && elapsed < 5000, `took ${elapsed} ms`)
    assert.equal(error.message, `cannot get credentials for context "stub" while listing nodes: the exec plugin ${command} of kubeconfig user "ci" gave no credential within 0.8 s and was stopped`)
    assert.match(error.hint ?? '', /run the command of users\[\]\.user\.exec/)
    for (const secret of [ARG_SECRET, ENV_SECRET, '--flag']) assert.ok(!everything(error).includes(secret), `${secret} leaked: ${everything(error)}`)
    // the plugin and what it started are gone
    const pid = Number(readFileSync(pidFile, 'utf8'))
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.ok(!existsSync(`/proc/${pid}`), 'the plugin still runs')
    assert.equal(seen.filter((s) => s.path === '/api/v1/nodes' && s.authorization === undefined).length, 0, 'no request went out without the credential')
  })

  it('a plugin that fails shows only the first line of its stderr, with what looks like a secret redacted', async () => {
    const command = plugin('fail-plugin', `echo "ERROR: refresh failed: token=${TOKEN} (${STDERR_SECRET}) env ${ENV_SECRET}" >&2\necho "second line with ${TOKEN}2" >&2\nexit 1`)
    const contexts = await loadKubeContexts({kubeconfig: kubeconfig('fail-config', execUser(command)), env: {}})
    const error = await rejection(contexts.open('stub').listNodes(), 3)
    assert.equal(error.message, `cannot get credentials for context "stub" while listing nodes: the exec plugin ${command} of kubeconfig user "ci" failed (exit code 1): ERROR: refresh failed: token=<redacted> (<redacted>) env <redacted>`)
    for (const secret of [TOKEN, STDERR_SECRET, ENV_SECRET, ARG_SECRET, 'second line']) assert.ok(!everything(error).includes(secret), `${secret} leaked: ${everything(error)}`)
  })

  it('a plugin that is missing, or prints no ExecCredential: exit 3, never quoting its output', async () => {
    const missing = await loadKubeContexts({kubeconfig: kubeconfig('missing-config', execUser(join(dir, 'no-such-plugin'))), env: {}})
    const notFound = await rejection(missing.open('stub').listNodes(), 3)
    assert.match(notFound.message, /the exec plugin \S+no-such-plugin of kubeconfig user "ci" was not found$/)
    assert.match(notFound.hint ?? '', /gke-gcloud-auth-plugin/)
    const command = plugin('garbage-plugin', `echo "not json ${TOKEN}"`)
    const garbage = await loadKubeContexts({kubeconfig: kubeconfig('garbage-config', execUser(command)), env: {}})
    const error = await rejection(garbage.open('stub').listNodes(), 3)
    assert.match(error.message, /printed no ExecCredential/)
    assert.ok(!everything(error).includes(TOKEN))
  })

  it('a plugin that succeeds: its token authenticates every request, and it runs once for concurrent and later requests', async () => {
    const runs = join(dir, 'ok.runs')
    const command = plugin('ok-plugin', [
      `echo run >> ${runs}`,
      // the plugin sees its env entries and KUBERNETES_EXEC_INFO, as with client-go
      `[ "$PLUGIN_SECRET" = "${ENV_SECRET}" ] || exit 7`,
      'case "$KUBERNETES_EXEC_INFO" in *ExecCredential*) ;; *) exit 8 ;; esac',
      `printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"${TOKEN}"}}'`,
    ].join('\n'))
    const contexts = await loadKubeContexts({kubeconfig: kubeconfig('ok-config', execUser(command)), env: {}})
    const cluster = contexts.open('stub')
    seen.length = 0
    await Promise.all([cluster.listNodes(), cluster.listServices(), cluster.listPods('default')])
    await cluster.listNodes()
    assert.equal(seen.length, 4)
    assert.ok(seen.every((s) => s.authorization === `Bearer ${TOKEN}`), JSON.stringify(seen))
    assert.equal(readFileSync(runs, 'utf8'), 'run\n')
  })
})

describe('list answers without items are empty lists', () => {
  it('"items": null and no items at all, for every list call, through the real client', async () => {
    const contexts = await loadKubeContexts({kubeconfig: kubeconfig('token-config', {token: TOKEN}), env: {}})
    const cluster = contexts.open('stub')
    assert.deepEqual(await cluster.listNodes(), [])
    assert.deepEqual(await cluster.listPods('default'), [])
    assert.deepEqual(await cluster.listPods(undefined), [])
    assert.deepEqual(await cluster.listServices(), [])
    assert.deepEqual(await cluster.listDaemonSets('kube-system'), [])
  })
})

describe('redactLine', () => {
  it('hides what looks like a credential and keeps the rest', () => {
    assert.equal(redactLine('failed: password: hunter2, key="abc"; see https://example.com/docs'), 'failed: password: <redacted>, key="<redacted>"; see https://example.com/docs')
    assert.equal(redactLine('Authorization: Bearer abc.def'), 'Authorization: <redacted> <redacted>')
    assert.equal(redactLine('got eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln and ghp_0123456789abcdefghijABCDEFGHIJ'), 'got <redacted> and <redacted>')
    assert.equal(redactLine('opaque 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 end'), 'opaque <redacted> end')
    assert.equal(redactLine('plain words stay, /usr/lib/google-cloud-sdk/bin/gke-gcloud-auth-plugin too'), 'plain words stay, /usr/lib/google-cloud-sdk/bin/gke-gcloud-auth-plugin too')
    assert.equal(redactLine('the secret is s3cr3t', ['s3cr3t']), 'the secret is <redacted>')
  })
})
