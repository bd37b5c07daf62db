/**
 * The real gcloud (528, from the machine image), kubectl.1.32 and gke-gcloud-auth-plugin against a
 * lab built by `xcc lab up`, with nothing but what `xcc lab env` prints: reads with --filter (which
 * gcloud leaves to the server for networks, routes and firewall rules), GKE's get-credentials and
 * kubectl through the auth plugin with the lab's Google token, the viewer token's 403, and
 * injected 503s and 429s. The writes and their packets are in gcloud-writes.test.ts. gcloud calls
 * take about a second each: each test groups its assertions per command.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import type {Model} from '../../../src/core/topology/model-types.js'
import {LabCli} from '../../support/lab-cli.js'
import {requireLabTools} from '../../support/netns.js'
import {type GcloudLab, PROJECT, type RunResult, runTool, sdkSkip, startGcloudLab} from './support.js'

describe('gcloud, kubectl and the auth plugin against a lab', {skip: sdkSkip()}, () => {
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('cloud')
  const toolHome = mkdtempSync(join(tmpdir(), 'xcc-gcloud-home-'))
  let cloud: GcloudLab
  let dir = ''
  let env: Readonly<Record<string, string>> = {}
  let bin = ''
  const gcloud = (args: readonly string[], extra: Record<string, string> = {}): Promise<RunResult> => cloud.gcloud(args, extra)
  const ok = (args: readonly string[], extra: Record<string, string> = {}): Promise<string> => cloud.ok(args, extra)
  const topology = (): Model => cloud.topology()

  before(() => {
    requireLabTools()
    cloud = startGcloudLab(cli, home, lab, toolHome)
    ;({dir, env, bin} = cloud)
  })
  after(() => {
    cli.cleanup()
    rmSync(toolHome, {recursive: true, force: true})
  })

  it('xcc lab env prints quoted exports that a shell evaluates to the same values, naming the token file, never the token', () => {
    const text = cli.run(home, ['lab', 'env', '--name', lab])
    assert.equal(text.status, 0, text.stderr)
    const token = readFileSync(env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE as string, 'utf8').trim()
    assert.ok(!text.stdout.includes(token), 'the token itself is not printed')
    const evaluated = spawnSync('sh', ['-c', 'eval "$(cat)"; env'], {input: text.stdout, encoding: 'utf8', env: {PATH: process.env.PATH}})
    const lines = new Set(evaluated.stdout.split('\n'))
    for (const [name, value] of Object.entries(env)) assert.ok(lines.has(`${name}=${value}`), `${name} survives eval`)
    assert.equal(env.CLOUDSDK_CONFIG, join(dir, 'gcloud'))
    assert.match(readFileSync(join(dir, 'gcloud', 'configurations', 'config_default'), 'utf8'), new RegExp(`project = ${PROJECT}\\n[\\s\\S]*check_gce_metadata = false`))
    assert.match(env.CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE as string, /^http:\/\/127\.0\.0\.1:\d+\/compute\/v1\/$/)
  })

  it('lists and describes with --filter, the server applying the filters gcloud leaves to it', async () => {
    assert.equal(await ok(['compute', 'networks', 'list', '--filter=name=net-a', '--format=value(name)']), 'net-a\n')
    assert.equal(await ok(['compute', 'firewall-rules', 'list', '--filter=network=net-b', '--format=value(name)']), 'b-all-internal\n')
    const routes = await ok(['compute', 'routes', 'list', '--filter=network=net-b', '--format=value(name,nextHopInstance.basename(),destRange)'])
    assert.match(routes, /^gke-c-routes-[0-9a-f]{8}-[0-9a-f]{8}\tgke-c-routes-default-pool-0a1b2c3d-ab12\t10\.100\.0\.0\/24\ngke-c-routes-[0-9a-f]{8}-[0-9a-f]{8}\tgke-c-routes-default-pool-0a1b2c3d-cd34\t10\.100\.1\.0\/24\n$/)
    assert.equal(await ok(['compute', 'networks', 'subnets', 'list', '--filter=region:us-west1', '--format=value(name,network.basename(),secondaryIpRanges[0].rangeName)']), 'a-1\tnet-a\tpods\nb-2\tnet-b\t\n')
    assert.equal(await ok(['compute', 'instances', 'list', '--filter=tags.items=web', '--format=value(name,zone.basename())']), 'vm-1\tus-west1-a\n')
    const node = JSON.parse(await ok(['compute', 'instances', 'describe', 'native-node-1', '--zone', 'us-west1-a', '--format=json'])) as {labels: Record<string, string>; networkInterfaces: Array<{networkIP: string; aliasIpRanges: Array<{ipCidrRange: string; subnetworkRangeName: string}>}>}
    assert.equal(node.labels['goog-k8s-cluster-name'], 'c-native')
    assert.deepEqual(node.networkInterfaces[0]?.aliasIpRanges, [{ipCidrRange: '10.64.0.0/24', subnetworkRangeName: 'pods'}], 'a VPC-native node\'s pod range is its alias range (GKE-02)')
  })

  it('container clusters list, describe and get-credentials; kubectl gets nodes through the auth plugin with the lab\'s token', async () => {
    assert.equal(await ok(['container', 'clusters', 'list', '--format=value(name,location,status)']), 'c-routes\tus-east1-b\tRUNNING\nc-native\tus-west1-a\tRUNNING\n')
    const kubeconfig = readFileSync(env.KUBECONFIG as string, 'utf8')
    const described = JSON.parse(await ok(['container', 'clusters', 'describe', 'c-native', '--location', 'us-west1-a', '--format=json'])) as {endpoint: string; masterAuth: {clusterCaCertificate: string}}
    assert.ok(kubeconfig.includes(`server: https://${described.endpoint}`), 'the endpoint is the lab\'s API server of the cluster')
    assert.ok(kubeconfig.includes(described.masterAuth.clusterCaCertificate), 'and the CA its kubeconfig trusts')
    const written = join(toolHome, 'gke-kubeconfig')
    await ok(['container', 'clusters', 'get-credentials', 'c-native', '--location', 'us-west1-a'], {KUBECONFIG: written})
    assert.match(readFileSync(written, 'utf8'), /command: gke-gcloud-auth-plugin/)
    const kubectl = (args: readonly string[], extra: Record<string, string> = {}): Promise<RunResult> => runTool(bin, 'kubectl.1.32', args, {...env, KUBECONFIG: written, ...extra}, {home: toolHome})
    const nodes = await kubectl(['get', 'nodes', '-o', 'name'])
    assert.equal(nodes.code, 0, nodes.stderr)
    assert.equal(nodes.stdout, 'node/native-node-1\n')
    const whoami = await kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])
    assert.equal(whoami.stdout, `lab-admin@${PROJECT}.iam.gserviceaccount.com`)
    // the viewer token: GKE's view role, no more
    const viewer = {CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(dir, 'cloud-viewer.token')}
    assert.equal((await kubectl(['auth', 'can-i', 'list', 'pods', '-A'], viewer)).stdout.trim(), 'yes')
    assert.equal((await kubectl(['auth', 'can-i', 'delete', 'nodes'], viewer)).stdout.trim(), 'no')
  })

  it('the viewer token reads, and a write is a 403 naming the permission', async () => {
    const viewer = {CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(dir, 'cloud-viewer.token')}
    const denied = await gcloud(['compute', 'firewall-rules', 'create', 'not-allowed', '--network', 'net-a', '--allow', 'tcp:80'], viewer)
    assert.equal(denied.code, 1)
    assert.match(denied.stderr, new RegExp(`Required 'compute\\.firewalls\\.create' permission for 'projects/${PROJECT}/global/firewalls/not-allowed'`))
  })

  it('injected faults: gcloud retries a 503 on wait and a 429 on GKE, and reports a 503 on an insert', async () => {
    const faults = join(dir, 'cloud-faults.json')
    try {
      writeFileSync(faults, JSON.stringify({faults: [{status: 503, method: 'POST', path: '/wait', times: 2}, {status: 429, method: 'GET', path: '/clusters', times: 1}]}))
      await ok(['compute', 'firewall-rules', 'create', 'after-retries', '--network', 'net-a', '--allow', 'tcp:80', '--source-ranges', '10.0.0.0/8'])
      assert.ok(topology().topology.firewalls.some((f) => f.name === 'after-retries'))
      await ok(['container', 'clusters', 'list', '--format=value(name)'])
      const log = readFileSync(join(dir, 'daemon.log'), 'utf8')
      assert.equal(log.match(/cloud: injected 503 into POST \S+\/wait/g)?.length, 2, 'both waits failed, and gcloud waited again')
      assert.equal(log.match(/cloud: injected 429 into GET \S+\/clusters/g)?.length, 1)
      writeFileSync(faults, JSON.stringify({faults: [{status: 503, method: 'POST', path: '/global/firewalls'}]}))
      const failed = await gcloud(['compute', 'firewall-rules', 'create', 'never', '--network', 'net-a', '--allow', 'tcp:80'])
      assert.equal(failed.code, 1)
      assert.match(failed.stderr, /The service is currently unavailable\./)
      assert.equal(topology().topology.firewalls.some((f) => f.name === 'never'), false)
    } finally {
      rmSync(faults, {force: true})
    }
  })

  it('the user\'s own gcloud configuration is untouched: everything gcloud wrote is under the lab\'s CLOUDSDK_CONFIG', () => {
    assert.equal(existsSync(join(toolHome, '.config', 'gcloud')), false, 'nothing under $HOME/.config/gcloud')
    assert.ok(existsSync(join(dir, 'gcloud', 'configurations', 'config_default')))
  })
})
