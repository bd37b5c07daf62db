/**
 * The real Node clients (@google-cloud/compute 6, @google-cloud/container 6 with fallback: true)
 * against the lab's cloud, served in-process on the test topology (no root needed): list and get
 * as GCE shows the topology (GKE nodes as instances, per-node routes, node pool groups), insert →
 * operation RUNNING → wait → DONE, requestId idempotence, pagination, aggregated lists, Google's
 * errors as the clients decode them, and the topology a write leaves: persisted, loadable, handed
 * to the data-plane hook.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {v1} from '@google-cloud/compute'
import {v1 as gke} from '@google-cloud/container'
import {OAuth2Client} from 'google-auth-library'

import {parseTopology} from '../../../src/core/topology/parse.js'
import {PROJECT, type TestCloud, startTestCloud} from './support.js'

process.env.METADATA_SERVER_DETECTION = 'none'

type ClientOptions = NonNullable<ConstructorParameters<typeof v1.NetworksClient>[0]>

function clientOptions(port: number, token: string): ClientOptions {
  const authClient = new OAuth2Client()
  authClient.setCredentials({access_token: token, expiry_date: Date.now() + 3_600_000})
  // google-auth-library 10.9 (ours) and 10.5 (google-gax's own copy) differ only in types
  return {apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient: authClient as unknown as ClientOptions['authClient']}
}

/** the API error a Node client threw: its HTTP status and Google's reason */
async function rejection(promise: Promise<unknown>): Promise<{code: number; reason: string; message: string}> {
  try {
    await promise
  } catch (error) {
    const e = error as {code: number; message: string}
    const body = JSON.parse(e.message) as {error: {message: string; errors: Array<{reason: string}>}}
    return {code: e.code, reason: body.error.errors[0]?.reason ?? '', message: body.error.message}
  }
  assert.fail('expected the call to fail')
}

describe('the lab\'s cloud through the Node clients', () => {
  let cloud: TestCloud
  let opts: ReturnType<typeof clientOptions>
  before(async () => {
    cloud = await startTestCloud()
    opts = clientOptions(cloud.server.port, cloud.tokens.admin)
  })
  after(() => cloud.close())

  it('lists and gets the topology as GCE shows it', async () => {
    const [networks] = await new v1.NetworksClient(opts).list({project: PROJECT})
    assert.deepEqual(networks.map((n) => [n.name, n.description ?? null, n.subnetworks]), [
      ['net-a', 'the first network', [`https://www.googleapis.com/compute/v1/projects/${PROJECT}/regions/us-west1/subnetworks/a-1`]],
      ['net-b', null, [`https://www.googleapis.com/compute/v1/projects/${PROJECT}/regions/us-east1/subnetworks/b-1`, `https://www.googleapis.com/compute/v1/projects/${PROJECT}/regions/us-west1/subnetworks/b-2`]],
    ])
    const [vm] = await new v1.InstancesClient(opts).get({project: PROJECT, zone: 'us-west1-a', instance: 'vm-1'})
    assert.equal(vm.status, 'RUNNING')
    assert.deepEqual(vm.tags?.items, ['web'])
    assert.deepEqual(vm.labels, {app: 'web'})
    assert.equal(vm.networkInterfaces?.[0]?.networkIP, '10.10.0.5')
    assert.equal(vm.metadata?.items?.[0]?.key, 'startup-script')
    const [routes] = await new v1.RoutesClient(opts).list({project: PROJECT, filter: 'description eq "k8s-node-route"'})
    assert.equal(routes.length, 2, 'one route per node of the routes-based cluster (GKE-04)')
    assert.match(routes[0]?.name ?? '', /^gke-c-routes-[0-9a-f]{8}-[0-9a-f]{8}$/)
    assert.match(routes[0]?.nextHopInstance ?? '', /\/zones\/us-east1-b\/instances\/gke-c-routes-default-pool-0a1b2c3d-ab12$/)
    const [groups] = await new v1.InstanceGroupsClient(opts).list({project: PROJECT, zone: 'us-east1-b'})
    assert.deepEqual(groups.map((g) => [g.name, g.size]), [['gke-c-routes-default-pool-0a1b2c3d-grp', 2]])
  })

  it('pages lists and aggregates zonal ones, nodes included', async () => {
    const instances = new v1.InstancesClient(opts)
    const [page, , raw] = await instances.list({project: PROJECT, zone: 'us-east1-b', maxResults: 1}, {autoPaginate: false})
    assert.equal(page.length, 1)
    assert.ok(raw?.nextPageToken, 'a second page is announced')
    const [all] = await instances.list({project: PROJECT, zone: 'us-east1-b', maxResults: 1})
    assert.equal(all.length, 2, 'autoPaginate follows nextPageToken')
    const byScope = new Map<string, string[]>()
    for await (const [scope, list] of instances.aggregatedListAsync({project: PROJECT, returnPartialSuccess: true}, {autoPaginate: false})) {
      byScope.set(scope, [...(byScope.get(scope) ?? []), ...(list.instances ?? []).map((i) => i.name ?? '')])
    }
    assert.deepEqual(Object.fromEntries(byScope), {
      'zones/us-west1-a': ['vm-1', 'native-node-1'],
      'zones/us-east1-b': ['gke-c-routes-default-pool-0a1b2c3d-ab12', 'gke-c-routes-default-pool-0a1b2c3d-cd34'],
    })
  })

  it('inserts through an operation that wait brings to DONE, once per requestId, and persists a loadable topology', async () => {
    const firewalls = new v1.FirewallsClient(opts)
    const requestId = '0c0ffee0-0000-4000-8000-000000000001'
    const resource = {name: 'node-allow-web', network: 'global/networks/net-a', allowed: [{IPProtocol: 'tcp', ports: ['80']}], sourceRanges: ['10.20.0.0/24'], targetTags: ['web']}
    const [lro] = await firewalls.insert({project: PROJECT, firewallResource: resource, requestId})
    const first = lro.latestResponse as unknown as {name: string; status: string; targetLink: string}
    assert.equal(first.status, 'RUNNING')
    assert.equal(first.targetLink, `https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/firewalls/node-allow-web`)
    const [done] = await new v1.GlobalOperationsClient(opts).wait({project: PROJECT, operation: first.name})
    assert.equal(done.status, 'DONE')
    assert.equal(done.error, undefined)
    const [again] = await firewalls.insert({project: PROJECT, firewallResource: resource, requestId})
    assert.equal((again.latestResponse as unknown as {name: string}).name, first.name, 'the same requestId answers the same operation')
    const [rule] = await firewalls.get({project: PROJECT, firewall: 'node-allow-web'})
    assert.deepEqual([rule.direction, rule.priority, rule.sourceRanges, rule.targetTags], ['INGRESS', 1000, ['10.20.0.0/24'], ['web']])
    const saved = parseTopology(readFileSync(join(cloud.dir, 'topology.yaml'), 'utf8'), 'topology.yaml')
    assert.deepEqual(saved.topology.firewalls.find((f) => f.name === 'node-allow-web')?.allowed, [{IPProtocol: 'tcp', ports: ['80']}])
    assert.ok(saved.networks.get('net-a')?.ingress.some((f) => f.name === 'node-allow-web'), 'the model of the written file has the rule')
    assert.deepEqual(cloud.changes.at(-1), ['firewalls'], 'the data-plane hook got exactly that change, once')
  })

  it('creates zonal resources through zonal operations', async () => {
    const [lro] = await new v1.InstancesClient(opts).insert({
      project: PROJECT, zone: 'us-west1-a',
      instanceResource: {name: 'node-vm', canIpForward: true, networkInterfaces: [{subnetwork: 'regions/us-west1/subnetworks/a-1', aliasIpRanges: [{ipCidrRange: '/28', subnetworkRangeName: 'pods'}]}], labels: {}},
    })
    const op = lro.latestResponse as unknown as {name: string; zone: string}
    assert.match(op.zone, /\/zones\/us-west1-a$/)
    const [done] = await new v1.ZoneOperationsClient(opts).wait({project: PROJECT, zone: 'us-west1-a', operation: op.name})
    assert.equal(done.status, 'DONE')
    const [vm] = await new v1.InstancesClient(opts).get({project: PROJECT, zone: 'us-west1-a', instance: 'node-vm'})
    assert.equal(vm.networkInterfaces?.[0]?.networkIP, '10.10.0.3', 'the first free address (.2 is the node)')
    assert.equal(vm.networkInterfaces?.[0]?.aliasIpRanges?.[0]?.ipCidrRange, '10.64.1.0/28', 'the first free /28 of pods (the node holds 10.64.0.0/24)')
  })

  it('answers Google\'s errors: 404, 409, 400 from the loader, 403 for the viewer, 401 without a token, 404 for another project', async () => {
    const networks = new v1.NetworksClient(opts)
    assert.deepEqual(await rejection(networks.get({project: PROJECT, network: 'nope'})), {code: 404, reason: 'notFound', message: `The resource 'projects/${PROJECT}/global/networks/nope' was not found`})
    assert.deepEqual((await rejection(networks.insert({project: PROJECT, networkResource: {name: 'net-a', autoCreateSubnetworks: false}}))).code, 409)
    const overlap = await rejection(new v1.SubnetworksClient(opts).insert({project: PROJECT, region: 'us-west1', subnetworkResource: {name: 'a-2', network: 'global/networks/net-a', ipCidrRange: '10.10.0.128/25'}}))
    assert.equal(overlap.code, 400)
    assert.match(overlap.message, /the lab's topology would not load: .*overlap/)
    const viewer = new v1.FirewallsClient(clientOptions(cloud.server.port, cloud.tokens.viewer))
    const [readable] = await viewer.list({project: PROJECT})
    assert.equal(readable.length, 3, 'the viewer reads')
    assert.deepEqual(await rejection(viewer.delete({project: PROJECT, firewall: 'a-ssh'})), {code: 403, reason: 'forbidden', message: `Required 'compute.firewalls.delete' permission for 'projects/${PROJECT}/global/firewalls/a-ssh'`})
    const stranger = new v1.FirewallsClient(clientOptions(cloud.server.port, 'not-a-lab-token'))
    assert.equal((await rejection(stranger.list({project: PROJECT}))).code, 401)
    assert.deepEqual(await rejection(networks.list({project: 'another-project'})), {code: 404, reason: 'notFound', message: 'The resource \'projects/another-project\' was not found'})
  })

  it('serves GKE clusters through both bindings, with node pools and their groups', async () => {
    const cm = new gke.ClusterManagerClient({...opts, fallback: true})
    const [list] = await cm.listClusters({parent: `projects/${PROJECT}/locations/-`})
    assert.deepEqual(list.clusters?.map((c) => [c.name, c.location, c.status]), [['c-routes', 'us-east1-b', 'RUNNING'], ['c-native', 'us-west1-a', 'RUNNING']])
    const [native] = await cm.getCluster({name: `projects/${PROJECT}/locations/us-west1-a/clusters/c-native`})
    assert.equal(native.endpoint, '127.0.0.1:6443')
    assert.equal(Buffer.from(native.masterAuth?.clusterCaCertificate ?? '', 'base64').toString(), '-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n')
    assert.equal(native.ipAllocationPolicy?.useIpAliases, true)
    assert.equal(native.ipAllocationPolicy?.clusterSecondaryRangeName, 'pods')
    assert.equal(native.networkConfig?.defaultSnatStatus?.disabled, true)
    const [routes] = await cm.getCluster({projectId: PROJECT, zone: 'us-east1-b', clusterId: 'c-routes'})
    assert.deepEqual(routes.nodePools?.map((p) => [p.name, p.instanceGroupUrls]), [['default-pool', [`https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/us-east1-b/instanceGroupManagers/gke-c-routes-default-pool-0a1b2c3d-grp`]]])
    await assert.rejects(cm.getCluster({name: `projects/${PROJECT}/locations/us-west1-a/clusters/c-routes`}), /Not found: projects\/xcc-cloud-test\/locations\/us-west1-a\/clusters\/c-routes/)
  })
})
