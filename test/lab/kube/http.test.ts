/**
 * The emulated API server over raw HTTPS: discovery, Status bodies, pagination, tables,
 * watches (resume, selectors, timeouts, bookmarks, 410), logs, subresources, dry runs.
 */
import assert from 'node:assert/strict'
import {type IncomingHttpHeaders} from 'node:http'
import {request} from 'node:https'
import {after, before, describe, it} from 'node:test'

import {type TestCluster, eventually, startTestCluster} from './cluster.js'

let cluster: TestCluster

interface Reply {
  code: number
  headers: IncomingHttpHeaders
  text: string
  json: Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
}

interface CallOptions {
  body?: unknown
  contentType?: string
  accept?: string
  token?: string
  anonymous?: boolean
}

function open(method: string, path: string, options: CallOptions = {}) {
  const keys = cluster.pki
  const headers: Record<string, string> = {Accept: options.accept ?? 'application/json'}
  if (options.body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json'
  if (options.token) headers.Authorization = `Bearer ${options.token}`
  const useCert = !options.token && !options.anonymous
  return request(`${cluster.server.url}${path}`, {method, headers, ca: keys.ca.cert, ...(useCert ? {cert: keys.admin.cert, key: keys.admin.key} : {})})
}

function call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = open(method, path, options)
    req.on('response', (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => (text += chunk.toString()))
      res.on('end', () => {
        let json = {}
        try {
          json = JSON.parse(text)
        } catch {
          // not JSON (logs)
        }
        resolve({code: res.statusCode ?? 0, headers: res.headers, text, json})
      })
    })
    req.on('error', reject)
    req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${path} timed out`)))
    if (options.body !== undefined) req.write(typeof options.body === 'string' ? options.body : JSON.stringify(options.body))
    req.end()
  })
}

/** Reads watch events until `until` says stop (or the stream ends); returns them and whether the server ended it. */
function watch(path: string, until: (events: Array<{type: string; object: Record<string, any>}>) => boolean, options: CallOptions = {}) { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise<{events: Array<{type: string; object: Record<string, any>}>; ended: boolean}>((resolve, reject) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const req = open('GET', path, options)
    const events: Array<{type: string; object: Record<string, any>}> = [] // eslint-disable-line @typescript-eslint/no-explicit-any
    let buffer = ''
    let done = false
    const finish = (ended: boolean): void => {
      if (done) return
      done = true
      req.destroy()
      resolve({events, ended})
    }
    req.on('response', (res) => {
      res.on('data', (chunk: Buffer) => {
        buffer += chunk.toString()
        let newline: number
        while ((newline = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, newline)))
          buffer = buffer.slice(newline + 1)
        }
        if (until(events)) finish(false)
      })
      res.on('end', () => finish(true))
    })
    req.on('error', (error) => (done ? undefined : reject(error)))
    req.setTimeout(15_000, () => req.destroy(new Error(`watch ${path} timed out`)))
    req.end()
  })
}

const configMap = (name: string, labels: Record<string, string> = {}) => ({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name, labels}, data: {k: name}})
const CM = '/api/v1/namespaces/default/configmaps'

before(async () => {
  cluster = await startTestCluster({watchHistory: 50})
})

after(async () => {
  await cluster?.close()
})

describe('HTTP API', () => {
  it('serves /version to anyone and everything else only to authenticated users', async () => {
    const version = await call('GET', '/version', {anonymous: true})
    assert.equal(version.code, 200)
    assert.match(version.json.gitVersion, /^v1\.32\./)
    const denied = await call('GET', '/api', {anonymous: true})
    assert.equal(denied.code, 401)
    assert.equal(denied.json.reason, 'Unauthorized')
  })

  it('discovery: /api, /api/v1, /apis, /apis/<group>/<version>', async () => {
    assert.deepEqual((await call('GET', '/api')).json.versions, ['v1'])
    const core = (await call('GET', '/api/v1')).json
    assert.equal(core.kind, 'APIResourceList')
    const pods = core.resources.find((r: {name: string}) => r.name === 'pods')
    assert.deepEqual([pods.kind, pods.namespaced, pods.shortNames], ['Pod', true, ['po']])
    assert.ok(pods.verbs.includes('watch'))
    assert.ok(core.resources.some((r: {name: string}) => r.name === 'pods/log'))
    assert.deepEqual(core.resources.find((r: {name: string}) => r.name === 'nodes').shortNames, ['no'])
    const groups = (await call('GET', '/apis')).json.groups.map((g: {name: string}) => g.name)
    assert.ok(groups.includes('apps') && groups.includes('authorization.k8s.io'))
    const apps = (await call('GET', '/apis/apps/v1')).json
    assert.deepEqual(apps.resources.find((r: {name: string}) => r.name === 'daemonsets').shortNames, ['ds'])
    assert.equal((await call('GET', '/apis/nope/v1')).code, 404)
    assert.equal((await call('GET', '/api/v1/nopes')).code, 404)
  })

  it('answers errors with Status objects (404, 409, 422, 400, 415) that never quote the body', async () => {
    const missing = await call('GET', '/api/v1/namespaces/default/pods/ghost')
    assert.deepEqual([missing.code, missing.json.kind, missing.json.reason, missing.json.message], [404, 'Status', 'NotFound', 'pods "ghost" not found'])
    assert.equal((await call('POST', CM, {body: configMap('dup')})).code, 201)
    const dup = await call('POST', CM, {body: configMap('dup')})
    assert.deepEqual([dup.code, dup.json.reason], [409, 'AlreadyExists'])
    const invalid = await call('POST', '/api/v1/namespaces/default/pods', {body: {metadata: {name: 'bad'}, spec: {containers: []}}})
    assert.deepEqual([invalid.code, invalid.json.reason, invalid.json.details.causes[0].field], [422, 'Invalid', 'spec.containers'])
    assert.equal((await call('GET', `${CM}?labelSelector=a%20b`)).code, 400)
    const garbled = await call('POST', CM, {body: '{"metadata": {"name": "x"}, "data": {"password": "hunter2-secret"'})
    assert.equal(garbled.code, 400)
    assert.doesNotMatch(garbled.text, /hunter2/)
    assert.equal((await call('PATCH', `${CM}/dup`, {body: {}, contentType: 'application/x-nope'})).code, 415)
    assert.equal((await call('POST', '/api/v1/namespaces/nowhere/configmaps', {body: configMap('x')})).json.message, 'namespaces "nowhere" not found')
  })

  it('lists with limit and continue, label and field selectors; deletes collections', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await call('POST', CM, {body: configMap(name, {page: 'yes'})})
    const first = await call('GET', `${CM}?labelSelector=page%3Dyes&limit=2`)
    assert.deepEqual(first.json.items.map((i: {metadata: {name: string}}) => i.metadata.name), ['page-a', 'page-b'])
    assert.ok(first.json.metadata.continue)
    const second = await call('GET', `${CM}?labelSelector=page%3Dyes&limit=2&continue=${first.json.metadata.continue}`)
    assert.deepEqual(second.json.items.map((i: {metadata: {name: string}}) => i.metadata.name), ['page-c'])
    assert.equal(second.json.metadata.continue, undefined)
    const byName = await call('GET', `/api/v1/configmaps?fieldSelector=metadata.name%3Dpage-b`)
    assert.deepEqual(byName.json.items.map((i: {metadata: {name: string}}) => i.metadata.name), ['page-b'])
    assert.equal(byName.json.kind, 'ConfigMapList')
    await call('DELETE', `${CM}?labelSelector=page%3Dyes`)
    assert.equal((await call('GET', `${CM}?labelSelector=page%3Dyes`)).json.items.length, 0)
  })

  it('dry runs validate without storing', async () => {
    const dry = await call('POST', `${CM}?dryRun=All`, {body: configMap('dry')})
    assert.equal(dry.code, 201)
    assert.equal((await call('GET', `${CM}/dry`)).code, 404)
  })

  it('tables for kubectl get', async () => {
    const table = await call('GET', `${CM}?fieldSelector=metadata.name%3Ddup`, {accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json'})
    assert.equal(table.json.kind, 'Table')
    assert.deepEqual(table.json.columnDefinitions.map((c: {name: string}) => c.name), ['Name', 'Data', 'Age'])
    assert.deepEqual(table.json.rows[0].cells.slice(0, 2), ['dup', 1])
    assert.equal(table.json.rows[0].object.kind, 'PartialObjectMetadata')
  })

  it('watches: from a resourceVersion, through selectors, with a timeout; synthetic ADDED without one', async () => {
    const rv = (await call('GET', CM)).json.metadata.resourceVersion
    const stream = watch(`${CM}?watch=true&resourceVersion=${rv}&labelSelector=w%3D1`, (events) => events.some((e) => e.type === 'DELETED'))
    await call('POST', CM, {body: configMap('w-other')})
    await call('POST', CM, {body: configMap('w1', {w: '1'})})
    await call('PATCH', `${CM}/w1`, {body: {data: {k: 'changed'}}, contentType: 'application/merge-patch+json'})
    await call('PATCH', `${CM}/w1`, {body: {metadata: {labels: {w: '2'}}}, contentType: 'application/merge-patch+json'})
    const {events} = await stream
    assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED w1', 'MODIFIED w1', 'DELETED w1'], 'leaving the selector is a DELETED')

    const initial = await watch(`${CM}?watch=true&fieldSelector=metadata.name%3Dw1`, (events) => events.length >= 1)
    assert.equal(initial.events[0]!.type, 'ADDED')
    const legacy = await watch('/api/v1/watch/namespaces/default/configmaps/w1', (events) => events.length >= 1)
    assert.equal(legacy.events[0]!.object.metadata.name, 'w1')

    const started = Date.now()
    const timed = await watch(`${CM}?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dnever&timeoutSeconds=1`, () => false)
    assert.equal(timed.ended, true)
    assert.ok(Date.now() - started >= 900)

    const bookmarks = await watch(`${CM}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&fieldSelector=metadata.name%3Dw1`, (events) => events.some((e) => e.type === 'BOOKMARK'))
    assert.deepEqual(bookmarks.events.map((e) => e.type), ['ADDED', 'BOOKMARK'])
    assert.equal(bookmarks.events[1]!.object.metadata.annotations['k8s.io/initial-events-end'], 'true')
  })

  it('a resourceVersion older than the history is 410 Gone, as an ERROR event', async () => {
    const old = (await call('GET', CM)).json.metadata.resourceVersion
    for (let i = 0; i < 60; i++) await call('POST', CM, {body: configMap(`churn-${i}`)})
    const gone = await watch(`${CM}?watch=true&resourceVersion=${old}`, () => false)
    assert.equal(gone.events.length, 1)
    assert.equal(gone.events[0]!.type, 'ERROR')
    assert.deepEqual([gone.events[0]!.object.code, gone.events[0]!.object.reason], [410, 'Expired'])
  })

  it('PUT with a stale resourceVersion is 409; status and binding subresources', async () => {
    const created = (await call('POST', '/api/v1/namespaces/default/pods', {body: {metadata: {name: 'unbound'}, spec: {schedulerName: 'manual', containers: [{name: 'main', command: ['sleep', '30']}]}}})).json
    const updated = await call('PUT', '/api/v1/namespaces/default/pods/unbound', {body: {...created, metadata: {...created.metadata, labels: {a: 'b'}}}})
    assert.equal(updated.code, 200)
    const stale = await call('PUT', '/api/v1/namespaces/default/pods/unbound', {body: {...created, metadata: {...created.metadata, labels: {a: 'c'}}}})
    assert.deepEqual([stale.code, stale.json.reason], [409, 'Conflict'])
    const status = await call('PATCH', '/api/v1/namespaces/default/pods/unbound/status', {body: {status: {message: 'hello'}, metadata: {labels: {ignored: 'x'}}}, contentType: 'application/merge-patch+json'})
    assert.equal(status.json.status.message, 'hello')
    assert.equal(status.json.metadata.labels.ignored, undefined)
    assert.equal(status.json.spec.nodeName, undefined, 'a pod for another scheduler stays unbound')
    const bound = await call('POST', '/api/v1/namespaces/default/pods/unbound/binding', {body: {apiVersion: 'v1', kind: 'Binding', metadata: {name: 'unbound'}, target: {kind: 'Node', name: 'node-b'}}})
    assert.equal(bound.code, 201)
    const running = await eventually('the bound pod to run', async () => {
      const pod = (await call('GET', '/api/v1/namespaces/default/pods/unbound')).json
      return pod.status.phase === 'Running' ? pod : undefined
    })
    assert.equal(running.spec.nodeName, 'node-b')
    const review = await call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {body: {apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: {resourceAttributes: {verb: 'delete', resource: 'nodes'}}}})
    assert.deepEqual([review.code, review.json.status.allowed], [201, true])
    await call('DELETE', '/api/v1/namespaces/default/pods/unbound?gracePeriodSeconds=0')
  })

  it('logs: container choice, tailLines, limitBytes, previous, and not before the container starts', async () => {
    await call('POST', '/api/v1/namespaces/default/pods', {
      body: {
        metadata: {name: 'talker'},
        spec: {
          containers: [
            {name: 'main', command: ['sh', '-c', 'echo one; echo two; echo three; sleep 0.2; exit 1']},
            {name: 'side', command: ['sleep', '30']},
          ],
        },
      },
    })
    const base = '/api/v1/namespaces/default/pods/talker/log'
    const ambiguous = await call('GET', base)
    assert.equal(ambiguous.code, 400)
    assert.match(ambiguous.json.message, /a container name must be specified for pod talker, choose one of: \[main side\]/)
    await eventually('a restart', async () => {
      const pod = (await call('GET', '/api/v1/namespaces/default/pods/talker')).json
      return pod.status.containerStatuses?.find((c: {name: string}) => c.name === 'main')?.restartCount >= 1
    })
    assert.equal((await call('GET', `${base}?container=main&previous=true`)).text, 'one\ntwo\nthree\n')
    assert.equal((await call('GET', `${base}?container=main&previous=true&tailLines=2`)).text, 'two\nthree\n')
    assert.equal((await call('GET', `${base}?container=main&previous=true&limitBytes=5`)).text, 'one\nt')
    assert.equal((await call('GET', `${base}?container=side&previous=true`)).code, 400)
    assert.equal((await call('GET', `${base}?container=nope`)).code, 400)
    await call('DELETE', '/api/v1/namespaces/default/pods/talker?gracePeriodSeconds=0')
    await call('POST', '/api/v1/namespaces/default/pods', {body: {metadata: {name: 'waiting'}, spec: {nodeSelector: {zone: 'none'}, containers: [{name: 'main'}]}}})
    const early = await call('GET', '/api/v1/namespaces/default/pods/waiting/log')
    assert.equal(early.code, 400)
    assert.match(early.json.message, /container "main" in pod "waiting" is waiting to start: ContainerCreating/)
  })
})
