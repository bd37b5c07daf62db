/**
 * The emulator builds a collection's views once per committed model (src/lab/compute/collections.ts,
 * shownOf): the pages of one list share them, and a write, which commits a new model, is seen by
 * the very next list, get and aggregated list, through the real Node client. The creation time of
 * an insert, set right after its commit, is in the next list too.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {v1} from '@google-cloud/compute'
import {OAuth2Client} from 'google-auth-library'

import {CreationTimes} from '../../../src/lab/cloud/identity.js'
import {shownOf} from '../../../src/lab/compute/collections.js'
import type {ComputeContext} from '../../../src/lab/compute/context.js'
import {routes} from '../../../src/lab/compute/routes.js'
import {clusterView} from '../../../src/lab/container/clusters.js'
import {PROJECT, type TestCloud, startTestCloud} from './support.js'

process.env.METADATA_SERVER_DETECTION = 'none'

type ClientOptions = NonNullable<ConstructorParameters<typeof v1.RoutesClient>[0]>

function clientOptions(port: number, token: string): ClientOptions {
  const authClient = new OAuth2Client()
  authClient.setCredentials({access_token: token, expiry_date: Date.now() + 3_600_000})
  return {apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient: authClient as unknown as ClientOptions['authClient']}
}

describe('the emulator\'s list views, made once per model', () => {
  let cloud: TestCloud
  let opts: ClientOptions
  before(async () => {
    cloud = await startTestCloud()
    opts = clientOptions(cloud.server.port, cloud.tokens.admin)
  })
  after(() => cloud.close())

  it('are shared while the model stays, and made again for the model a commit makes', async () => {
    const times = new CreationTimes(new Date('2026-01-01T00:00:00Z'))
    const ctx = {store: cloud.store, times} as unknown as ComputeContext
    const first = shownOf(routes, ctx)
    assert.equal(shownOf(routes, ctx), first, 'the same model and times: the same views')
    const other = {store: cloud.store, times: new CreationTimes(new Date('2026-02-01T00:00:00Z'))} as unknown as ComputeContext
    assert.notEqual(shownOf(routes, other), first, 'another server (its own creation times) has its own views')
    const draft = cloud.store.draft()
    draft.routes.push({name: 'cache-probe', network: 'net-a', destRange: '192.168.77.0/24', priority: 1000, tags: [], nextHopIp: '10.10.0.5'})
    await cloud.store.commit(draft, 'test: a route added behind the API')
    const after = shownOf(routes, ctx)
    assert.notEqual(after, first)
    assert.equal(after.length, first.length + 1)
    assert.ok(after.some((s) => s.body.name === 'cache-probe'))
  })

  it('a route inserted through the API is in the next list (every page) and get; deleted, it is gone from both', async () => {
    const client = new v1.RoutesClient(opts)
    const operations = new v1.GlobalOperationsClient(opts)
    const names = async (maxResults?: number): Promise<string[]> => {
      const [list] = await client.list({project: PROJECT, ...(maxResults ? {maxResults} : {})})
      return list.map((r) => r.name ?? '')
    }
    const before = await names()
    assert.ok(!before.includes('via-vm-1'))
    assert.deepEqual(await names(1), before, 'one item a page: the same list')
    const [lro] = await client.insert({project: PROJECT, routeResource: {name: 'via-vm-1', network: 'global/networks/net-a', destRange: '172.30.0.0/16', priority: 800, nextHopIp: '10.10.0.5'}})
    const op = lro.latestResponse as unknown as {name: string}
    await operations.wait({project: PROJECT, operation: op.name})
    const listed = await names()
    assert.deepEqual(listed.filter((n) => n !== 'via-vm-1'), before)
    assert.ok(listed.includes('via-vm-1'), 'the insert is in the next list')
    assert.deepEqual(await names(1), listed, 'and in the pages of the next paged list')
    const [route] = await client.get({project: PROJECT, route: 'via-vm-1'})
    assert.deepEqual([route.destRange, route.priority, route.nextHopIp], ['172.30.0.0/16', 800, '10.10.0.5'])
    const [again] = await client.list({project: PROJECT, filter: 'name eq "via-vm-1"'})
    assert.equal(again[0]?.creationTimestamp, route.creationTimestamp)
    assert.ok(Date.parse(route.creationTimestamp ?? '') > Date.now() - 60_000, `the insert's own creation time, not the lab's start: ${route.creationTimestamp}`)

    const [deleting] = await client.delete({project: PROJECT, route: 'via-vm-1'})
    await operations.wait({project: PROJECT, operation: (deleting.latestResponse as unknown as {name: string}).name})
    assert.deepEqual(await names(), before, 'the delete is in the next list')
    await assert.rejects(client.get({project: PROJECT, route: 'via-vm-1'}), (e: {code: number}) => e.code === 404)
  })

  it('a patched firewall rule and relabelled instance show their new fields in the next list and aggregated list', async () => {
    const firewalls = new v1.FirewallsClient(opts)
    const [rules] = await firewalls.list({project: PROJECT})
    const rule = rules[0]
    assert.ok(rule?.name)
    const [patching] = await firewalls.patch({project: PROJECT, firewall: rule.name, firewallResource: {priority: 777}})
    await new v1.GlobalOperationsClient(opts).wait({project: PROJECT, operation: (patching.latestResponse as unknown as {name: string}).name})
    const [next] = await firewalls.list({project: PROJECT})
    assert.equal(next.find((r) => r.name === rule.name)?.priority, 777)

    const instances = new v1.InstancesClient(opts)
    const [vm] = await instances.get({project: PROJECT, zone: 'us-west1-a', instance: 'vm-1'})
    const [labelling] = await instances.setLabels({project: PROJECT, zone: 'us-west1-a', instance: 'vm-1', instancesSetLabelsRequestResource: {labels: {app: 'web', tier: 'cache-test'}, labelFingerprint: vm.labelFingerprint ?? ''}})
    await new v1.ZoneOperationsClient(opts).wait({project: PROJECT, zone: 'us-west1-a', operation: (labelling.latestResponse as unknown as {name: string}).name})
    const labels = new Map<string, Record<string, string>>()
    for await (const [, scoped] of instances.aggregatedListAsync({project: PROJECT}, {autoPaginate: false})) for (const i of scoped.instances ?? []) labels.set(i.name ?? '', i.labels ?? {})
    assert.deepEqual(labels.get('vm-1'), {app: 'web', tier: 'cache-test'})
  })

  it('an instance group\'s members, listed once per model, follow addInstances and removeInstances at once', async () => {
    const groups = new v1.InstanceGroupsClient(opts)
    const zoneOps = new v1.ZoneOperationsClient(opts)
    const wait = async (lro: unknown): Promise<void> => {
      await zoneOps.wait({project: PROJECT, zone: 'us-west1-a', operation: ((lro as {latestResponse: {name: string}}).latestResponse).name})
    }
    const members = async (group: string, zone = 'us-west1-a'): Promise<string[]> => {
      const [list] = await groups.listInstances({project: PROJECT, zone, instanceGroup: group, instanceGroupsListInstancesRequestResource: {instanceState: 'ALL'}})
      return list.map((m) => (m.instance ?? '').split('/').pop() ?? '')
    }
    assert.deepEqual(await members('gke-c-routes-default-pool-0a1b2c3d-grp', 'us-east1-b'), ['gke-c-routes-default-pool-0a1b2c3d-ab12', 'gke-c-routes-default-pool-0a1b2c3d-cd34'])
    const [inserting] = await groups.insert({project: PROJECT, zone: 'us-west1-a', instanceGroupResource: {name: 'cache-web'}})
    await wait(inserting)
    assert.deepEqual(await members('cache-web'), [])
    const [adding] = await groups.addInstances({project: PROJECT, zone: 'us-west1-a', instanceGroup: 'cache-web', instanceGroupsAddInstancesRequestResource: {instances: [{instance: 'zones/us-west1-a/instances/vm-1'}]}})
    await wait(adding)
    assert.deepEqual(await members('cache-web'), ['vm-1'], 'the member added is in the next listInstances')
    const [removing] = await groups.removeInstances({project: PROJECT, zone: 'us-west1-a', instanceGroup: 'cache-web', instanceGroupsRemoveInstancesRequestResource: {instances: [{instance: 'zones/us-west1-a/instances/vm-1'}]}})
    await wait(removing)
    assert.deepEqual(await members('cache-web'), [])
  })

  it('a GKE cluster\'s etag is made once per cluster of a committed topology, and a changed cluster (a new one) gets its own', async () => {
    const view = {project: PROJECT, topology: cloud.store.topology, endpoints: new Map(), createTime: '2026-01-01T00:00:00+00:00'}
    const spec = cloud.store.topology.clusters[0]
    assert.ok(spec)
    const etag = clusterView(view, spec).etag
    assert.equal(clusterView(view, spec).etag, etag)
    const draft = cloud.store.draft()
    const changed = draft.clusters[0]
    assert.ok(changed)
    assert.equal(clusterView({...view, topology: draft}, changed).etag, etag, 'the same content, the same etag')
    changed.nodes.push({name: 'gke-extra-node', networkIP: '10.20.0.9', podCidr: '10.100.9.0/24'})
    await cloud.store.commit(draft, 'test: a node more')
    const next = cloud.store.topology.clusters[0]
    assert.ok(next)
    assert.notEqual(clusterView({...view, topology: cloud.store.topology}, next).etag, etag)
  })
})
