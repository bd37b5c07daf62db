/**
 * How the Kubernetes adapter reports failures it cannot provoke from the lab's API server
 * (which allows everything): a stub HTTP API server answers 403, 500, non-JSON 503, a denied
 * SelfSubjectAccessReview, and never answers at all; a closed port and an untrusted TLS
 * certificate make the server unreachable. Every error is exit 3, names the context and the
 * operation, and never contains the kubeconfig's token.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {type IncomingMessage, type Server, type ServerResponse, createServer} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {loadKubeContexts} from '../../../src/adapters/kube/index.js'
import {XccError} from '../../../src/core/errors.js'
import type {KubeContexts} from '../../../src/core/ports/kube.js'
import {testPki} from '../../lab/kube/cluster.js'

const TOKEN = 'stub-token-0f9e8d7c6b5a-never-print-me'
const FORBIDDEN_NODES = 'nodes is forbidden: User "ci" cannot list resource "nodes" in API group "" at the cluster scope'

let dir: string
const servers: Server[] = []
let stubUrl: string
let closedUrl: string
let tlsUrl: string
let contexts: KubeContexts
const patches: Array<{contentType?: string; body: unknown}> = []
const deletes: Array<{method?: string; query: string; body: string}> = []

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, {'Content-Type': 'application/json'})
  res.end(JSON.stringify({kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code}))
}

async function body(req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req) text += String(chunk)
  return text
}

/** a tiny API server: one canned answer per path */
async function stub(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://stub').pathname
  if (path === '/api/v1/nodes') return status(res, 403, 'Forbidden', FORBIDDEN_NODES)
  // a server that quotes the request's Authorization header back (some proxies do)
  if (path === '/api/v1/namespaces/default/pods') return status(res, 500, 'InternalError', `etcd is down (request had ${req.headers.authorization})`)
  if (path === '/api/v1/services') {
    res.writeHead(503, {'Content-Type': 'text/html'})
    return void res.end('<html>upstream connect error</html>\n<p>more</p>')
  }
  if (path === '/api/v1/namespaces/default/configmaps/slow') return // never answers
  if (path === '/api/v1/namespaces/prod/pods/locked/ephemeralcontainers') {
    return status(res, 403, 'Forbidden', 'pods "locked" is forbidden: User "ci" cannot patch resource "pods/ephemeralcontainers" in API group "" in the namespace "prod"')
  }
  if (path === '/api/v1/namespaces/dying/pods') {
    return status(res, 403, 'Forbidden', 'pods "p" is forbidden: unable to create new content in namespace dying because it is being terminated')
  }
  if (path === '/api/v1/namespaces/default/pods/target/ephemeralcontainers') {
    patches.push({contentType: req.headers['content-type'], body: JSON.parse(await body(req))})
    res.writeHead(200, {'Content-Type': 'application/json'})
    return void res.end(JSON.stringify({apiVersion: 'v1', kind: 'Pod', metadata: {name: 'target', namespace: 'default'}, spec: {containers: []}}))
  }
  if (path === '/apis/apps/v1/namespaces/default/daemonsets/agent') {
    deletes.push({method: req.method, query: new URL(req.url ?? '/', 'http://stub').search, body: await body(req)})
    res.writeHead(200, {'Content-Type': 'application/json'})
    return void res.end(JSON.stringify({kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success'}))
  }
  if (path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
    const review = JSON.parse(await body(req)) as {spec: {resourceAttributes: {verb: string; resource: string}}}
    const {verb, resource} = review.spec.resourceAttributes
    // answer the first question last: the answers must still come back in question order
    if (verb === 'list') await new Promise((resolve) => setTimeout(resolve, 50))
    const allowed = resource === 'pods'
    res.writeHead(201, {'Content-Type': 'application/json'})
    return void res.end(JSON.stringify({...review, status: {allowed, ...(allowed ? {} : {reason: `no rule lets you ${verb} ${resource}`})}}))
  }
  return status(res, 404, 'NotFound', 'the server could not find the requested resource')
}

async function listen(server: Server): Promise<string> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

function everything(error: XccError): string {
  return [error.message, error.hint ?? '', ...error.details, error.stack ?? ''].join('\n')
}

async function failure(promise: Promise<unknown>): Promise<XccError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof XccError, `expected an XccError, got ${String(error)}`)
    assert.equal(error.exitCode, 3)
    assert.ok(!everything(error).includes(TOKEN), `the token leaked: ${everything(error)}`)
    return error
  }
  assert.fail('expected a rejection')
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xcc-kube-errors-test-'))
  stubUrl = `http://${await listen(createServer((req, res) => void stub(req, res)))}`
  // a port that nothing listens on
  const closing = createServer()
  closedUrl = `https://${await listen(closing)}`
  servers.pop()
  await new Promise((resolve) => closing.close(resolve))
  // TLS with a certificate from a CA the kubeconfig does not name
  const pki = await testPki()
  tlsUrl = `https://${await listen(createHttpsServer({key: pki.server.key, cert: pki.server.cert}, (_req, res) => res.end('{}')))}`
  const cluster = (name: string, server: string): object => ({name, cluster: {server, ...(server.startsWith('http:') ? {'insecure-skip-tls-verify': true} : {})}})
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [cluster('stub', stubUrl), cluster('gone', closedUrl), cluster('untrusted', tlsUrl)],
    users: [{name: 'ci', user: {token: TOKEN}}],
    contexts: ['stub', 'gone', 'untrusted'].map((name) => ({name, context: {cluster: name, user: 'ci'}})),
    'current-context': 'stub',
  }
  const path = join(dir, 'kubeconfig')
  writeFileSync(path, yaml.dump(config), {mode: 0o600})
  contexts = await loadKubeContexts({kubeconfig: path, env: {}, requestTimeoutMs: 400})
})

after(async () => {
  for (const server of servers) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  rmSync(dir, {recursive: true, force: true})
})

describe('Kubernetes API failures', () => {
  it('403: the Status message, and a hint naming the permission to grant and how to check it', async () => {
    const error = await failure(contexts.open('stub').listNodes())
    assert.equal(error.message, `listing nodes in context "stub" is forbidden: ${FORBIDDEN_NODES}`)
    assert.equal(
      error.hint,
      'grant the user "ci" of context "stub" permission to list nodes cluster-wide (a ClusterRole rule {apiGroups [""], resources ["nodes"], verbs ["list"]} bound with a ClusterRoleBinding); check with: kubectl --context stub auth can-i list nodes',
    )
    assert.deepEqual(error.details, [`HTTP 403 Forbidden from ${stubUrl}`])
  })

  it('403 on a namespaced subresource names the namespace, the subresource and the kubectl check', async () => {
    const error = await failure(contexts.open('stub').addEphemeralContainer('prod', 'locked', {name: 'debug', image: 'busybox'}))
    assert.match(error.message, /^adding ephemeral container debug to pod prod\/locked in context "stub" is forbidden: pods "locked" is forbidden: /)
    assert.equal(
      error.hint,
      'grant the user "ci" of context "stub" permission to patch pods/ephemeralcontainers in namespace "prod" (a Role or ClusterRole rule {apiGroups [""], resources ["pods/ephemeralcontainers"], verbs ["patch"]} bound in that namespace); check with: kubectl --context stub auth can-i patch pods --subresource ephemeralcontainers -n prod',
    )
  })

  it('403 because the namespace is being deleted: no RBAC advice', async () => {
    const error = await failure(contexts.open('stub').createPod('dying', {metadata: {name: 'p'}, spec: {containers: [{name: 'main', image: 'busybox'}]}}))
    assert.match(error.message, /^creating pod dying\/p in context "stub" is forbidden: .*being terminated$/)
    assert.equal(error.hint, 'namespace "dying" is being deleted: wait until it is gone, or use another namespace')
  })

  it('500: the Status message, with a credential that the server quoted redacted', async () => {
    const error = await failure(contexts.open('stub').listPods('default'))
    assert.equal(error.message, 'listing pods in namespace default in context "stub" failed: etcd is down (request had Bearer <redacted>)')
    assert.deepEqual(error.details, [`HTTP 500 InternalError from ${stubUrl}`])
  })

  it('5xx without a Status body: the first line of the body', async () => {
    const error = await failure(contexts.open('stub').listServices())
    assert.equal(error.message, 'listing services in every namespace in context "stub" failed: <html>upstream connect error</html>')
    assert.deepEqual(error.details, [`HTTP 503 from ${stubUrl}`])
  })

  it('a server that never answers: exit 3 after the request timeout instead of a hang', async () => {
    const started = performance.now()
    const error = await failure(contexts.open('stub').getConfigMap('default', 'slow'))
    const elapsed = performance.now() - started
    assert.equal(error.message, `cannot reach the API server of context "stub" (${stubUrl}) while reading configmap default/slow: no answer within 0.4 s`)
    assert.ok(elapsed >= 350 && elapsed < 3000, `took ${elapsed} ms`)
  })

  it('a closed port: exit 3 at once, naming the context, the server and the cause', async () => {
    const started = performance.now()
    const error = await failure(contexts.open('gone').listNodes())
    assert.ok(performance.now() - started < 2000)
    assert.match(error.message, new RegExp(`^cannot reach the API server of context "gone" \\(${closedUrl}\\) while listing nodes: connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+$`))
    assert.match(error.hint ?? '', /reachable/)
    assert.deepEqual(error.details, ['error code ECONNREFUSED'])
  })

  it('an untrusted server certificate: exit 3 with a hint about the certificate authority', async () => {
    const error = await failure(contexts.open('untrusted').canI([{verb: 'list', resource: 'pods'}]))
    assert.match(error.message, new RegExp(`^cannot reach the API server of context "untrusted" \\(${tlsUrl}\\) while asking whether the user may list pods: .*certificate`))
    assert.match(error.hint ?? '', /certificate authority of cluster "untrusted"/)
    assert.match(error.details[0] ?? '', /^error code [A-Z_]+$/)
  })

  it('SelfSubjectAccessReviews: allowed and denied answers with reasons, in question order', async () => {
    const answers = await contexts.open('stub').canI([
      {verb: 'list', resource: 'nodes'},
      {verb: 'create', resource: 'pods', namespace: 'default'},
    ])
    assert.deepEqual(answers, [{allowed: false, reason: 'no rule lets you list nodes'}, {allowed: true}])
  })

  it('adds ephemeral containers with a strategic merge patch (not client-node\'s default JSON Patch)', async () => {
    const container = {name: 'debug', image: 'busybox', command: ['sleep', '5'], targetContainerName: 'main'}
    await contexts.open('stub').addEphemeralContainer('default', 'target', container)
    assert.deepEqual(patches, [{contentType: 'application/strategic-merge-patch+json', body: {spec: {ephemeralContainers: [container]}}}])
  })

  it('deletes a DaemonSet with background propagation (its pods are garbage-collected after it)', async () => {
    await contexts.open('stub').deleteDaemonSet('default', 'agent')
    assert.deepEqual(deletes, [{method: 'DELETE', query: '?propagationPolicy=Background', body: ''}])
  })
})
