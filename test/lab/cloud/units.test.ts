/**
 * The pieces of the lab's cloud that need no server: the compute filter as gcloud writes it,
 * reference forms, pages, the batch wire format, operations and their two-minute wait, injected
 * faults.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import type {Model} from '../../../src/core/topology/model-types.js'
import {parseTopology} from '../../../src/core/topology/parse.js'
import {parseBatch, renderBatch} from '../../../src/lab/cloud/batch.js'
import type {CloudError} from '../../../src/lab/cloud/errors.js'
import {FaultInjector} from '../../../src/lab/cloud/faults.js'
import {sameFingerprint} from '../../../src/lab/cloud/identity.js'
import {parseFilter} from '../../../src/lab/cloud/filter.js'
import {Operations} from '../../../src/lab/cloud/operations.js'
import {pageOf} from '../../../src/lab/cloud/paging.js'
import {GLOBAL, parseRef, resolveRef, zone} from '../../../src/lab/cloud/refs.js'
import {CloudStore} from '../../../src/lab/cloud/store.js'

describe('the compute filter', () => {
  const route = {name: 'to-peer', network: 'https://www.googleapis.com/compute/v1/projects/p/global/networks/net-a', priority: 900, tags: {items: ['xcc-gw', 'other']}}
  it('reads what gcloud sends: anchored RE2 with \\b and \\-, groups that all hold, ne', () => {
    assert.equal(parseFilter('network eq ".*\\bnet\\-a\\b.*"')(route), true)
    assert.equal(parseFilter('network eq ".*\\bnet\\-b\\b.*"')(route), false)
    assert.equal(parseFilter('name eq ".*(^to-).*"')(route), true)
    assert.equal(parseFilter('(name eq ".*\\bto\\-peer\\b.*")(priority eq 900)')(route), true)
    assert.equal(parseFilter('(name eq ".*\\bto\\-peer\\b.*") (priority eq 1000)')(route), false)
    assert.equal(parseFilter('tags.items eq ".*\\bxcc\\-gw\\b.*"')(route), true, 'a list matches when one element does')
    assert.equal(parseFilter('name ne ".*\\bto\\-peer\\b.*"')(route), false)
    assert.equal(parseFilter('name = "to-peer"')(route), true)
    assert.equal(parseFilter('')(route), true)
  })
  it('refuses what it cannot read with a 400 naming the field', () => {
    assert.throws(() => parseFilter('name likes x'), (e: CloudError) => e.code === 400 && /Invalid value for field 'filter'/.test(e.message))
    assert.throws(() => parseFilter('(name eq x'), (e: CloudError) => e.code === 400)
  })
})

describe('references', () => {
  it('accept URLs on any host, relative and partial names, and name the lab\'s project only', () => {
    const want = {project: 'p', scope: zone('us-west1-a'), collection: 'instances', name: 'vm'}
    assert.deepEqual(parseRef('http://127.0.0.1:8080/compute/v1/projects/p/zones/us-west1-a/instances/vm', 'p'), want)
    assert.deepEqual(parseRef('projects/p/zones/us-west1-a/instances/vm', 'p'), want)
    assert.deepEqual(parseRef('zones/us-west1-a/instances/vm', 'p'), want)
    assert.deepEqual(resolveRef('net-a', 'p', {field: 'resource.network', collection: 'networks', scope: GLOBAL}).name, 'net-a')
    assert.throws(() => resolveRef('projects/q/global/networks/x', 'p', {field: 'resource.network', collection: 'networks'}), /serves one project, p/)
    assert.throws(() => resolveRef('global/firewalls/x', 'p', {field: 'resource.network', collection: 'networks'}), /expected a reference to networks/)
  })
})

describe('pages', () => {
  it('cut at maxResults with an opaque next token, and refuse a foreign token', () => {
    const items = [1, 2, 3, 4, 5]
    const first = pageOf(items, new URLSearchParams('maxResults=2'))
    assert.deepEqual(first.items, [1, 2])
    const second = pageOf(items, new URLSearchParams(`maxResults=2&pageToken=${first.nextPageToken}`))
    assert.deepEqual(second.items, [3, 4])
    const last = pageOf(items, new URLSearchParams(`maxResults=2&pageToken=${second.nextPageToken}`))
    assert.deepEqual([last.items, last.nextPageToken], [[5], undefined])
    assert.throws(() => pageOf(items, new URLSearchParams('pageToken=garbage')), /page token/)
    assert.throws(() => pageOf(items, new URLSearchParams('maxResults=501')), /less than or equal to 500/)
  })
})

describe('fingerprints', () => {
  it('are the same value in base64 and in the URL-safe base64 gcloud sends back', () => {
    assert.equal(sameFingerprint('ywgXmJEdZ_I=', 'ywgXmJEdZ/I='), true)
    assert.equal(sameFingerprint('ywgXmJEdZ-I', 'ywgXmJEdZ+I='), true)
    assert.equal(sameFingerprint('ywgXmJEdZ/I=', 'ywgXmJEdZ/J='), false)
  })
})

describe('batch', () => {
  it('splits gcloud\'s multipart/mixed and answers one part per request, Content-ID echoed', () => {
    const body = [
      '--===============7330845974216740156==', 'Content-Type: application/http', 'MIME-Version: 1.0', 'Content-Transfer-Encoding: binary', 'Content-ID: <a1b2+0>', '',
      'DELETE /compute/v1/projects/p/global/routes/ra?alt=json HTTP/1.1', 'Content-Type: application/json', 'MIME-Version: 1.0', 'content-length: 0', '', '',
      '--===============7330845974216740156==', 'Content-Type: application/http', 'Content-ID: <a1b2+1>', '',
      'POST /compute/v1/projects/p/global/firewalls?alt=json HTTP/1.1', 'Content-Type: application/json', '', '{"name": "x"}',
      '--===============7330845974216740156==--', '',
    ].join('\r\n')
    const parts = parseBatch('multipart/mixed; boundary="===============7330845974216740156=="', body)
    assert.deepEqual(parts.map((p) => [p.contentId, p.method, p.target, p.body]), [
      ['a1b2+0', 'DELETE', '/compute/v1/projects/p/global/routes/ra?alt=json', ''],
      ['a1b2+1', 'POST', '/compute/v1/projects/p/global/firewalls?alt=json', '{"name": "x"}'],
    ])
    const answer = renderBatch([{contentId: 'a1b2+0', status: 200, body: {status: 'DONE'}}, {contentId: 'a1b2+1', status: 404, body: {}}])
    assert.match(answer.contentType, /^multipart\/mixed; boundary=batch_[0-9a-f]+$/)
    assert.match(answer.body, /Content-ID: <response-a1b2\+0>\r\n\r\nHTTP\/1\.1 200 OK\r\n/)
    assert.match(answer.body, /HTTP\/1\.1 404 Not Found/)
    assert.ok(answer.body.endsWith('--\r\n'))
  })
})

describe('operations', () => {
  it('are RUNNING until the data plane is done, DONE with its error if it failed, and wait is bounded', async () => {
    const ops = new Operations(50)
    const never = ops.start({project: 'p', scope: GLOBAL, operationType: 'insert', targetLink: 'https://www.googleapis.com/compute/v1/projects/p/global/firewalls/x', user: 'u'}, new Promise(() => {}))
    const started = Date.now()
    assert.equal((await ops.wait('p', GLOBAL, never.name as string)).status, 'RUNNING', 'wait answers at its limit, the operation still running')
    assert.ok(Date.now() - started >= 45)
    const failed = ops.start({project: 'p', scope: zone('us-west1-a'), operationType: 'insert', targetLink: 'https://www.googleapis.com/compute/v1/projects/p/zones/us-west1-a/instances/x', user: 'u'}, Promise.reject(new Error('veth missing')))
    assert.equal(failed.status, 'RUNNING')
    const done = await ops.wait('p', zone('us-west1-a'), failed.name as string)
    assert.equal(done.status, 'DONE')
    assert.match(JSON.stringify(done.error), /could not apply the change to its data plane: veth missing/)
    assert.throws(() => ops.get('p', GLOBAL, failed.name as string), /was not found/, 'an operation lives in its own scope')
  })
})

describe('injected faults', () => {
  it('answer the status a share of matching requests, as many times as told, re-read when the file changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcc-faults-'))
    try {
      const file = join(dir, 'cloud-faults.json')
      const faults = new FaultInjector(file, () => {})
      assert.equal(await faults.inject('POST', '/compute/v1/projects/p/global/firewalls'), undefined)
      writeFileSync(file, JSON.stringify({faults: [{status: 503, times: 2, method: 'POST', path: '/global/firewalls'}]}))
      assert.equal(await faults.inject('GET', '/compute/v1/projects/p/global/firewalls'), undefined, 'another method')
      assert.equal((await faults.inject('POST', '/compute/v1/projects/p/global/firewalls'))?.code, 503)
      assert.equal((await faults.inject('POST', '/compute/v1/projects/p/global/firewalls'))?.reason, 'backendError')
      assert.equal(await faults.inject('POST', '/compute/v1/projects/p/global/firewalls'), undefined, 'times: 2')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('the store', () => {
  it('hands the data plane each change from the model it holds, also after a failed application', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcc-store-'))
    try {
      const base = 'apiVersion: xcc/v1\nkind: Topology\nmetadata: {name: s}\nnetworks:\n  - {name: n1}\n'
      const calls: Array<[string[], string[]]> = []
      let fail = true
      const names = (m: Model): string[] => m.topology.networks.map((n) => n.name)
      const store = new CloudStore({
        path: join(dir, 'topology.yaml'), model: parseTopology(base, 's.yaml'), log: () => {},
        hook: {
          async apply(before, after) {
            calls.push([names(before), names(after)])
            if (fail) throw new Error('veth missing')
          },
        },
      })
      const add = (name: string): Promise<void> => {
        const draft = store.draft()
        draft.networks.push({name, subnets: [], peerings: []})
        return store.commit(draft, `add ${name}`)
      }
      await assert.rejects(add('n2'), /veth missing/)
      fail = false
      await add('n3')
      assert.deepEqual(calls, [[['n1'], ['n1', 'n2']], [['n1'], ['n1', 'n2', 'n3']]])
      assert.deepEqual(names(parseTopology(readFileSync(join(dir, 'topology.yaml'), 'utf8'), 'topology.yaml')), ['n1', 'n2', 'n3'])
      assert.throws(() => store.commit({...store.draft(), routes: [{name: 'r', network: 'nope', destRange: '10.0.0.0/8', priority: 1000, tags: [], nextHopGateway: 'default-internet-gateway'}]}, 'bad'), (e: CloudError) => e.code === 400 && /routes\[0\]\.network: network "nope" does not exist/.test(e.message))
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
