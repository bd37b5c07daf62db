/**
 * xcc's Compute write adapter (src/adapters/gcp/writes.ts, on the real @google-cloud/compute client)
 * against the lab's cloud in this process: every writable kind inserted, read back through xcc's
 * read adapter, updated in place, deleted; a second insert is `already-exists`, a second delete
 * `already-gone`; injected 503s and 429s are retried with one requestId (a 503 after the change
 * was made included: no second resource, no 409); a missing permission is exit 3 naming it; an
 * operation that ends in error names the resource and the API's message; peering calls never
 * overlap, as the lab (like GCP) refuses overlapping ones.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {v1} from '@google-cloud/compute'
import {OAuth2Client} from 'google-auth-library'

import {openGcpWrites} from '../../../src/adapters/gcp/index.js'
import {XccError} from '../../../src/core/errors.js'
import type {ComputeInventory} from '../../../src/core/ports/gcp.js'
import {ALL, BACKEND, FIREWALL, GROUP, HEALTH, INSTANCE, NETWORK, PEER_AB, PEER_BA, ROUTE, RULE, SUBNET, openClients} from './link-fixture.js'
import {PROJECT, type TestCloud, startTestCloud} from './support.js'

const names = (inv: ComputeInventory): string[] => Object.values(inv).flatMap((list: ReadonlyArray<{name: string}>) => list.map((r) => r.name)).sort()

describe('the Compute write adapter on the lab\'s cloud', () => {
  let cloud: TestCloud
  const faults = (content: object): void => writeFileSync(join(cloud.dir, 'cloud-faults.json'), JSON.stringify(content))
  before(async () => {
    cloud = await startTestCloud(undefined, {faults: true})
  })
  after(() => cloud.close())

  it('inserts, updates and deletes every kind, each waiting for its operation; again: already-exists, already-gone', async () => {
    const {writer, compute} = await openClients(cloud.server.port, cloud.tokens.admin)
    const start = await compute.readInventory()
    for (const r of ALL) {
      const o = await writer.insert(r)
      assert.equal(o.result, 'created', `${r.kind} ${r.name}`)
      assert.match(o.operation ?? '', /^operation-/)
      assert.ok(o.requests >= 2, 'the insert and at least one wait')
      assert.equal(o.retries, 0)
    }
    const made = await compute.readInventory()
    assert.deepEqual(names(made).filter((n) => !names(start).includes(n)), ['xcc-t-allow-b', 'xcc-t-bs', 'xcc-t-fr', 'xcc-t-gw', 'xcc-t-gw-1', 'xcc-t-hc', 'xcc-t-to-via', 'xcc-t-via', 'xcc-t-via'])
    assert.deepEqual(made.instanceGroups.find((g) => g.name === 'xcc-t-gw')?.instances.map((u) => u.split('/').pop()), ['xcc-t-gw-1'], 'the group\'s members are part of its insert')
    assert.deepEqual(made.instances.find((i) => i.name === 'xcc-t-gw-1')?.labels, {'managed-by': 'xcc', 'xcc-link': 't'})
    assert.equal(JSON.parse(made.firewalls.find((f) => f.name === 'xcc-t-allow-b')?.description ?? '{}').role, 'allow')
    const peerings = made.networks.flatMap((n) => (n.peerings ?? []).map((p) => `${n.name}/${p.name}:${p.state}`))
    assert.deepEqual(peerings, ['net-a/xcc-t-a-b:ACTIVE', 'net-b/xcc-t-b-a:ACTIVE'], 'both sides peered: ACTIVE (PEER-01)')

    for (const r of ALL) {
      const o = await writer.insert(r)
      assert.equal(o.result, 'already-exists', `${r.kind} ${r.name}`)
      assert.equal(o.operation, undefined)
    }
    assert.deepEqual(names(await compute.readInventory()), names(made), 'a second insert creates nothing')

    const updates = [
      {...FIREWALL, body: {...FIREWALL.body, sourceRanges: ['10.20.0.0/24', '10.20.1.0/24']}},
      {...SUBNET, body: {...SUBNET.body, secondaryIpRanges: [{rangeName: 'pods', ipCidrRange: '10.31.0.0/16'}]}},
      {...HEALTH, body: {...HEALTH.body, tcpHealthCheck: {port: 8080}}},
      {...BACKEND, body: {...BACKEND.body, description: '{"managed-by":"xcc","link":"t","role":"backend","v":2}'}},
      {...RULE, body: {...RULE.body, allowGlobalAccess: true}},
      {...PEER_AB, body: {...PEER_AB.body, exportCustomRoutes: true}},
      {...GROUP, body: {...GROUP.body, instances: []}},
    ]
    for (const r of updates) assert.equal((await writer.update(r)).result, 'updated', `${r.kind} ${r.name}`)
    const changed = await compute.readInventory()
    assert.deepEqual(changed.firewalls.find((f) => f.name === 'xcc-t-allow-b')?.sourceRanges, ['10.20.0.0/24', '10.20.1.0/24'])
    assert.deepEqual(changed.subnetworks.find((s) => s.name === 'xcc-t-via')?.secondaryIpRanges?.map((s) => s.ipCidrRange), ['10.31.0.0/16'])
    assert.equal(changed.healthChecks.find((h) => h.name === 'xcc-t-hc')?.tcpHealthCheck?.port, 8080)
    assert.match(changed.backendServices.find((b) => b.name === 'xcc-t-bs')?.description ?? '', /"v":2/)
    assert.equal(changed.forwardingRules.find((f) => f.name === 'xcc-t-fr')?.allowGlobalAccess, true)
    assert.equal(changed.networks.find((n) => n.name === 'net-a')?.peerings?.[0]?.exportCustomRoutes, true)
    assert.deepEqual(changed.instanceGroups.find((g) => g.name === 'xcc-t-gw')?.instances, [])
    assert.equal((await writer.update(GROUP)).result, 'updated', 'members added back')
    assert.equal((await compute.readInventory()).instanceGroups.find((g) => g.name === 'xcc-t-gw')?.instances.length, 1)
    await assert.rejects(writer.update(ROUTE), /cannot change in place/)

    for (const r of [...ALL].reverse()) assert.equal((await writer.delete(r)).result, 'deleted', `${r.kind} ${r.name}`)
    for (const r of [...ALL].reverse()) assert.equal((await writer.delete(r)).result, 'already-gone', `${r.kind} ${r.name}`)
    assert.deepEqual(names(await compute.readInventory()), names(start), 'back to where it started')
  })

  it('retries 503 and 429 with the same requestId: one resource, even when the change was made before the 503', async () => {
    const {writer, stats} = await openClients(cloud.server.port, cloud.tokens.admin)
    faults({faults: [{status: 503, method: 'POST', path: '/global/firewalls', times: 2}, {status: 429, method: 'POST', path: '/wait', times: 1}]})
    const o = await writer.insert(FIREWALL)
    assert.equal(o.result, 'created')
    assert.equal(o.retries, 3, 'two 503s on the insert, one 429 on its wait')
    assert.equal(o.requests, 5)
    assert.deepEqual(stats, {requests: 5, retries: 3}, 'the writer\'s totals')
    // the first insert is served and its answer lost: the retry must be the same request
    faults({faults: [{status: 503, method: 'POST', path: '/global/routes', times: 1, afterServing: true}]})
    const before = cloud.server.operations.list(PROJECT).length
    const network = await writer.insert(NETWORK)
    const subnet = await writer.insert(SUBNET)
    const instance = await writer.insert(INSTANCE)
    const route = await writer.insert(ROUTE)
    assert.deepEqual([network.result, subnet.result, instance.result], ['created', 'created', 'created'])
    assert.equal(route.result, 'created', 'not already-exists: the retry carried the first requestId and got its operation back')
    assert.equal(route.retries, 1)
    const routeOps = cloud.server.operations.list(PROJECT).slice(before).filter((op) => String(op.targetLink).endsWith('/routes/xcc-t-to-via'))
    assert.equal(routeOps.length, 1, 'one insert operation for the route')
    assert.ok(cloud.log.some((l) => l.includes('answered 503 instead')), 'the lab served the first insert')
    // the same for a delete and for a peering: the retry is answered by the first operation
    faults({faults: [{status: 503, method: 'DELETE', path: '/global/routes/', times: 1, afterServing: true}, {status: 502, method: 'POST', path: '/addPeering', times: 1, afterServing: true}]})
    const deleted = await writer.delete(ROUTE)
    const peered = await writer.insert(PEER_AB)
    faults({})
    assert.deepEqual([deleted.result, deleted.retries], ['deleted', 1], 'not already-gone')
    assert.deepEqual([peered.result, peered.retries], ['created', 1], 'not refused as a second peering of that name')
    for (const r of [PEER_AB, INSTANCE, SUBNET, NETWORK, FIREWALL]) await writer.delete(r)
  })

  it('a missing permission is exit 3 naming it and a role; an operation\'s error names the resource and the API\'s message', async () => {
    const {writer} = await openClients(cloud.server.port, cloud.tokens.admin)
    faults({denied: ['compute.firewalls.create']})
    const denied = await writer.insert(FIREWALL).then(() => undefined, (e: unknown) => e)
    faults({})
    assert.ok(denied instanceof XccError, String(denied))
    assert.equal(denied.exitCode, 3)
    assert.match(denied.message, /missing permission compute\.firewalls\.create in project xcc-cloud-test \(creating firewall rule xcc-t-allow-b\)/)
    assert.match(denied.hint ?? '', /roles\/compute\.securityAdmin/)
    const viewer = await openClients(cloud.server.port, cloud.tokens.viewer)
    await assert.rejects(viewer.writer.delete(ROUTE), (e: XccError) => e.exitCode === 3 && /compute\.routes\.delete/.test(e.message))
    await assert.rejects(writer.update(FIREWALL), (e: XccError) => e.exitCode === 2 && /updating firewall rule xcc-t-allow-b: not found/.test(e.message), 'updating what is not there: 404 names it')
  })

  it('a command opens it as it opens the read adapter: project, token and endpoint from gcloud\'s variables', async () => {
    const config = mkdtempSync(join(tmpdir(), 'xcc-gcloud-config-'))
    try {
      const {project, writer, stats} = await openGcpWrites({timeoutMs: 20_000, env: {
        CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `${cloud.server.url}/compute/v1/`, CLOUDSDK_AUTH_ACCESS_TOKEN: cloud.tokens.admin,
        CLOUDSDK_CORE_PROJECT: PROJECT, CLOUDSDK_CONFIG: config,
      }})
      assert.deepEqual([project.project, project.source, writer.project], [PROJECT, 'CLOUDSDK_CORE_PROJECT', PROJECT])
      assert.equal((await writer.insert(FIREWALL)).result, 'created')
      assert.equal((await writer.delete(FIREWALL)).result, 'deleted')
      assert.deepEqual(stats, {requests: 4, retries: 0})
    } finally {
      rmSync(config, {recursive: true, force: true})
    }
  })

  it('an operation that ends in error is an XccError naming the resource and the message', async () => {
    let fail = false
    const failing = await startTestCloud(undefined, {applyFails: () => (fail ? 'the bridge would not come up' : undefined)})
    try {
      const {writer} = await openClients(failing.server.port, failing.tokens.admin)
      fail = true
      const error = await writer.insert(NETWORK).then(() => undefined, (e: unknown) => e)
      assert.ok(error instanceof XccError, String(error))
      assert.equal(error.exitCode, 3)
      assert.match(error.message, /^creating network xcc-t-via failed \(HTTP 500\): INTERNAL_ERROR: .*the bridge would not come up/)
      assert.match(error.details[0] ?? '', /^operation operation-/)
    } finally {
      await failing.close()
    }
  })

  it('stops before its next request when aborted', async () => {
    const {writer} = await openClients(cloud.server.port, cloud.tokens.admin)
    const controller = new AbortController()
    controller.abort(new Error('interrupted'))
    const before = cloud.log.length
    await assert.rejects(writer.insert(FIREWALL, {signal: controller.signal}), /interrupted/)
    assert.equal(cloud.log.slice(before).filter((l) => l.includes('POST')).length, 0, 'nothing was sent')
    // aborted while the insert is on its way: the insert is made, its wait is not; running it again finds it
    faults({faults: [{latencyMs: 300, method: 'POST', path: '/global/firewalls'}]})
    const midway = new AbortController()
    setTimeout(() => midway.abort(new Error('interrupted midway')), 100)
    await assert.rejects(writer.insert(FIREWALL, {signal: midway.signal}), /interrupted midway/)
    faults({})
    assert.equal((await writer.insert(FIREWALL)).result, 'already-exists')
    assert.equal((await writer.delete(FIREWALL)).result, 'deleted')
  })

  it('an operation that does not finish by the deadline is exit 3, within it', async () => {
    // the data plane takes 3 s; the API holds a wait 200 ms; xcc has 1.5 s
    const slow = await startTestCloud(undefined, {applyDelayMs: 3000, waitLimitMs: 200})
    try {
      await openClients(slow.server.port, slow.tokens.admin)
      const t0 = Date.now()
      const {writer} = await openClients(slow.server.port, slow.tokens.admin, {timeoutMs: 1500})
      const error = await writer.insert(NETWORK).then(() => undefined, (e: unknown) => e)
      assert.ok(error instanceof XccError, String(error))
      assert.equal(error.exitCode, 3)
      assert.match(error.message, /^creating network xcc-t-via did not finish in time \(operation operation-[-0-9a-f]+ is RUNNING\)$/)
      const ms = Date.now() - t0
      assert.ok(ms >= 1400 && ms < 2500, `gave up at the deadline (${ms} ms)`)
    } finally {
      await slow.close()
    }
  })
})

describe('peering operations one at a time', () => {
  let cloud: TestCloud
  // each change takes 150 ms to reach the data plane: an operation stays RUNNING that long
  before(async () => {
    cloud = await startTestCloud(undefined, {applyDelayMs: 150})
  })
  after(() => cloud.close())

  it('the lab refuses a peering operation while another runs on its network or peer, as GCP does', async () => {
    const authClient = new OAuth2Client()
    authClient.setCredentials({access_token: cloud.tokens.admin, expiry_date: Date.now() + 3_600_000})
    type Options = NonNullable<ConstructorParameters<typeof v1.NetworksClient>[0]>
    const networks = new v1.NetworksClient({apiEndpoint: '127.0.0.1', port: cloud.server.port, protocol: 'http', authClient: authClient as unknown as Options['authClient']})
    const add = (network: string, name: string, peer: string): Promise<unknown> => networks.addPeering({project: PROJECT, network, networksAddPeeringRequestResource: {networkPeering: {name, network: `global/networks/${peer}`, exchangeSubnetRoutes: true}}})
    const [first, second] = await Promise.allSettled([add('net-a', 'raw-a-b', 'net-b'), add('net-b', 'raw-b-a', 'net-a')])
    assert.equal(first.status, 'fulfilled')
    assert.equal(second.status, 'rejected')
    const body = JSON.parse((second as PromiseRejectedResult).reason.message) as {error: {code: number; message: string}}
    assert.equal(body.error.code, 400)
    assert.match(body.error.message, /peering operation in progress on the local or peer network/)
    // xcc's writer, from elsewhere, waits its turn: the refusal is retried until the first is DONE
    const {writer} = await openClients(cloud.server.port, cloud.tokens.admin)
    const [, retried] = await Promise.all([add('net-a', 'raw-a-b2', 'net-b').catch(() => undefined), (async () => {
      await new Promise((resolve) => setTimeout(resolve, 20))
      return writer.insert({...PEER_BA, name: 'raw-b-a'})
    })()])
    assert.equal(retried.result, 'created')
    for (const [network, name] of [['net-a', 'raw-a-b'], ['net-b', 'raw-b-a'], ['net-a', 'raw-a-b2']] as const) {
      await writer.delete({kind: 'peering', scope: {kind: 'global'}, parent: network, name})
    }
  })

  it('two writers of one process never overlap their peering operations', async () => {
    const [one, two] = await Promise.all([openClients(cloud.server.port, cloud.tokens.admin), openClients(cloud.server.port, cloud.tokens.admin)])
    const refusedBefore = cloud.log.filter((l) => l.includes('refused')).length
    const before = cloud.server.operations.list(PROJECT).length
    const outcomes = await Promise.all([one.writer.insert(PEER_AB), two.writer.insert(PEER_BA)])
    assert.deepEqual(outcomes.map((o) => [o.result, o.retries]), [['created', 0], ['created', 0]], 'no refusal to retry')
    assert.equal(cloud.log.filter((l) => l.includes('refused')).length, refusedBefore, 'the lab refused nothing')
    const ops = cloud.server.operations.list(PROJECT).slice(before).filter((op) => op.operationType === 'addPeering')
    assert.equal(ops.length, 2)
    const [a, b] = ops.map((op) => ({start: Date.parse(String(op.insertTime)), end: Date.parse(String(op.endTime))})) as [{start: number; end: number}, {start: number; end: number}]
    assert.ok(a.end - a.start >= 100 && b.end - b.start >= 100, 'each ran for the data plane\'s delay')
    assert.ok(b.start >= a.end, `the second began (${b.start}) once the first was DONE (${a.end})`)
    await Promise.all([one.writer.delete(PEER_AB), two.writer.delete(PEER_BA)])
  })
})
