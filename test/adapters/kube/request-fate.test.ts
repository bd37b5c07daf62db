/**
 * What the Kubernetes adapter says became of a failed request (issue 13): a write whose answer
 * was lost may have been carried out, and only a caller that knows it can re-read the object
 * before reporting. A stub API server answers 503, 409 AlreadyExists and 403, resets the
 * connection once it has the request, or never answers; a closed port is never reached.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {type IncomingMessage, type Server, type ServerResponse, createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {loadKubeContexts} from '../../../src/adapters/kube/index.js'
import {ApiError, mayHaveApplied} from '../../../src/core/errors.js'
import type {KubeConfigMap, KubeContexts} from '../../../src/core/ports/kube.js'

let dir: string
const servers: Server[] = []
let contexts: KubeContexts

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, {'Content-Type': 'application/json'})
  res.end(JSON.stringify({kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code}))
}

/** one canned fault per configmap name */
async function stub(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body = ''
  for await (const chunk of req) body += String(chunk)
  const name = req.method === 'POST' ? (JSON.parse(body) as KubeConfigMap).metadata.name : new URL(req.url ?? '/', 'http://stub').pathname.split('/').pop()
  if (name === 'busy') return status(res, 503, 'ServiceUnavailable', 'etcd leader changed')
  if (name === 'taken') return status(res, 409, 'AlreadyExists', 'configmaps "taken" already exists')
  if (name === 'locked') return status(res, 403, 'Forbidden', 'configmaps "locked" is forbidden')
  if (name === 'reset') return void req.socket.destroy()
  if (name === 'silent') return // never answers
  return status(res, 404, 'NotFound', 'not found')
}

const cm = (name: string): KubeConfigMap => ({metadata: {name}, data: {}})

async function fate(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`)
    assert.equal(error.exitCode, 3)
    return error
  }
  assert.fail('expected a rejection')
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xcc-kube-fate-test-'))
  const server = createServer((req, res) => void stub(req, res))
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const stubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const closing = createServer()
  await new Promise<void>((resolve) => closing.listen(0, '127.0.0.1', resolve))
  const closedUrl = `http://127.0.0.1:${(closing.address() as AddressInfo).port}`
  await new Promise((resolve) => closing.close(resolve))
  const config = {
    apiVersion: 'v1', kind: 'Config',
    clusters: [{name: 'stub', cluster: {server: stubUrl, 'insecure-skip-tls-verify': true}}, {name: 'gone', cluster: {server: closedUrl, 'insecure-skip-tls-verify': true}}],
    users: [{name: 'ci', user: {token: 'stub-token-never-printed'}}],
    contexts: ['stub', 'gone'].map((name) => ({name, context: {cluster: name, user: 'ci'}})),
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

describe('the fate of a failed request (ApiError)', () => {
  it('a connection reset after the request was sent: unanswered, so a write may have been carried out', async () => {
    const error = await fate(contexts.open('stub').createConfigMap('default', cm('reset')))
    assert.deepEqual(error.fate, {kind: 'unanswered'})
    assert.equal(mayHaveApplied(error), true)
  })

  it('no answer within the request timeout: unanswered', async () => {
    const error = await fate(contexts.open('stub').replaceConfigMap('default', cm('silent')))
    assert.deepEqual(error.fate, {kind: 'unanswered'})
    assert.equal(mayHaveApplied(error), true)
  })

  it('a 5xx: answered, and it may have been carried out', async () => {
    const error = await fate(contexts.open('stub').replaceConfigMap('default', cm('busy')))
    assert.deepEqual(error.fate, {kind: 'answered', status: 503, reason: 'ServiceUnavailable'})
    assert.equal(mayHaveApplied(error), true)
  })

  it('409 AlreadyExists and 403: answered with their reason, not carried out', async () => {
    const taken = await fate(contexts.open('stub').createConfigMap('default', cm('taken')))
    assert.deepEqual(taken.fate, {kind: 'answered', status: 409, reason: 'AlreadyExists'})
    assert.equal(mayHaveApplied(taken), false)
    const locked = await fate(contexts.open('stub').deleteConfigMap('default', 'locked'))
    assert.deepEqual(locked.fate, {kind: 'answered', status: 403, reason: 'Forbidden'})
  })

  it('a closed port: unsent (nothing reached the server)', async () => {
    const error = await fate(contexts.open('gone').createConfigMap('default', cm('any')))
    assert.deepEqual(error.fate, {kind: 'unsent'})
    assert.equal(mayHaveApplied(error), false)
  })
})
