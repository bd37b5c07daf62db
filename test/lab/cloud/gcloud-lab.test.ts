/**
 * The real gcloud (528, from the machine image), kubectl.1.32 and gke-gcloud-auth-plugin against a
 * lab built by `xcc lab up`, with nothing but what `xcc lab env` prints: reads with --filter (which
 * gcloud leaves to the server for networks, routes and firewall rules), the writes a `link create`
 * makes (firewall rules, routes, peerings, a two-NIC VM with a startup script, an internal load
 * balancer from instance group to forwarding rule), GKE's get-credentials and kubectl through the
 * auth plugin with the lab's Google token, the viewer token's 403, and injected 503s and 429s.
 * gcloud calls take about a second each: each test groups its assertions per command.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {formatIp} from '../../../src/core/net/ipv4.js'
import {parseTopology} from '../../../src/core/topology/parse.js'
import type {Model} from '../../../src/core/topology/model-types.js'
import {LabCli} from '../../support/lab-cli.js'
import {requireLabTools} from '../../support/netns.js'
import {CLOUD_TOPOLOGY, PROJECT, type RunResult, findSdk, runTool, sdkSkip} from './support.js'

describe('gcloud, kubectl and the auth plugin against a lab', {skip: sdkSkip()}, () => {
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('cloud')
  const toolHome = mkdtempSync(join(tmpdir(), 'xcc-gcloud-home-'))
  let bin = ''
  let dir = ''
  let env: Record<string, string> = {}

  const gcloud = (args: readonly string[], extra: Record<string, string> = {}): Promise<RunResult> => runTool(bin, 'gcloud', args, {...env, ...extra}, {home: toolHome})
  const ok = async (args: readonly string[], extra: Record<string, string> = {}): Promise<string> => {
    const r = await gcloud(args, extra)
    assert.equal(r.code, 0, `gcloud ${args.join(' ')}:\n${r.stderr}`)
    return r.stdout
  }
  const topology = (): Model => parseTopology(readFileSync(join(dir, 'topology.yaml'), 'utf8'), 'topology.yaml')
  /**
   * The data-plane side of a write. Until the incremental data plane is merged, the lab's hook
   * only records the change and says so in the lab's log; that is what this asserts. Once the
   * real hook is wired, this line no longer appears and this function is where the packet checks
   * go (the denied port refused, the peered range reachable, the new VM's namespace up).
   */
  const assertDataPlaneSide = (parts: string): void => {
    const log = readFileSync(join(dir, 'daemon.log'), 'utf8')
    assert.ok(log.includes(`cloud: the topology changed (${parts}); the data plane was not updated`), `the lab's log reports the change of ${parts}:\n${log.split('\n').slice(-5).join('\n')}`)
  }

  /**
   * The console of a VM created through the API. Without the incremental data plane it has no
   * namespace, did not boot, and its console says so; once the real hook is wired, this is where
   * the check goes that its startup script ran ("gateway up") and its NICs answer.
   */
  const assertBootOfApiVm = (serial: string): void => {
    assert.match(serial, /the lab's data plane did not create it, so it did not boot/)
  }

  before(() => {
    const sdk = findSdk()
    assert.ok('bin' in sdk, 'the SDK was found (sdkSkip)')
    bin = sdk.bin
    requireLabTools()
    const file = join(home, 'cloud-test.yaml')
    writeFileSync(file, CLOUD_TOPOLOGY)
    const up = cli.run(home, ['lab', 'up', '--topology', file, '--name', lab, '--json'])
    assert.equal(up.status, 0, up.stderr)
    const view = JSON.parse(up.stdout) as {kubeconfig: string; cloud: {url: string; project: string}}
    assert.equal(view.cloud.project, PROJECT)
    dir = dirname(view.kubeconfig)
    const printed = cli.run(home, ['lab', 'env', '--name', lab, '--json'])
    assert.equal(printed.status, 0, printed.stderr)
    env = (JSON.parse(printed.stdout) as {variables: Record<string, string>}).variables
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

  it('firewall-rules create and delete change the topology and reach the data-plane hook', async () => {
    await ok(['compute', 'firewall-rules', 'create', 'deny-ssh-from-b', '--network', 'net-a', '--action', 'deny', '--rules', 'tcp:22', '--source-ranges', '10.20.0.0/24', '--priority', '900', '--description', 'xcc test'])
    const rule = topology().topology.firewalls.find((f) => f.name === 'deny-ssh-from-b')
    assert.deepEqual(rule && [rule.priority, rule.denied, rule.sourceRanges, rule.description], [900, [{IPProtocol: 'tcp', ports: ['22']}], ['10.20.0.0/24'], 'xcc test'])
    assertDataPlaneSide('firewalls')
    await ok(['compute', 'firewall-rules', 'delete', 'deny-ssh-from-b'])
    assert.equal(topology().topology.firewalls.some((f) => f.name === 'deny-ssh-from-b'), false)
  })

  it('routes create through an instance and an address, and delete both in one (batched) command', async () => {
    await ok(['compute', 'routes', 'create', 'via-vm', '--network', 'net-a', '--destination-range', '10.90.0.0/16', '--next-hop-instance', 'vm-1', '--next-hop-instance-zone', 'us-west1-a', '--priority', '900'])
    await ok(['compute', 'routes', 'create', 'via-ip', '--network', 'net-a', '--destination-range', '10.91.0.0/16', '--next-hop-address', '10.10.0.5'])
    const routes = topology().topology.routes
    assert.deepEqual(routes.filter((r) => r.name.startsWith('via-')).map((r) => [r.name, r.nextHopInstance ?? r.nextHopIp, r.priority]), [['via-vm', 'vm-1', 900], ['via-ip', '10.10.0.5', 1000]])
    await ok(['compute', 'routes', 'delete', 'via-vm', 'via-ip'])
    assert.equal(topology().topology.routes.some((r) => r.name.startsWith('via-')), false)
  })

  it('networks peerings create: INACTIVE until both sides exist, ACTIVE then; delete', async () => {
    await ok(['compute', 'networks', 'peerings', 'create', 'a-to-b', '--network', 'net-a', '--peer-network', 'net-b', '--export-custom-routes'])
    assert.equal(await ok(['compute', 'networks', 'peerings', 'list', '--format=value(peerings.name,peerings.state)']), 'a-to-b\tINACTIVE\n')
    await ok(['compute', 'networks', 'peerings', 'create', 'b-to-a', '--network', 'net-b', '--peer-network', 'net-a', '--import-custom-routes'])
    assert.equal(await ok(['compute', 'networks', 'peerings', 'list', '--format=value(peerings.name,peerings.state)']), 'a-to-b\tACTIVE\nb-to-a\tACTIVE\n')
    assert.deepEqual(topology().peerings.map((p) => [p.network, p.state]), [['net-a', 'ACTIVE'], ['net-b', 'ACTIVE']])
    assertDataPlaneSide('networks')
    await ok(['compute', 'networks', 'peerings', 'delete', 'b-to-a', '--network', 'net-b'])
    assert.deepEqual(topology().peerings.map((p) => [p.network, p.state]), [['net-a', 'INACTIVE']])
  })

  it('instances create with two NICs and a startup script; the serial console shows what a booted VM\'s script printed', async () => {
    await ok(['compute', 'instances', 'create', 'gw-1', '--zone', 'us-west1-a', '--machine-type', 'e2-small', '--can-ip-forward', '--tags', 'gw',
      '--network-interface=subnet=a-1,private-network-ip=10.10.0.20,no-address', '--network-interface=subnet=b-2,no-address',
      '--metadata', 'startup-script=echo gateway up'])
    const gw = topology().topology.instances.find((m) => m.name === 'gw-1')
    assert.deepEqual(gw && [gw.canIpForward, gw.tags, gw.networkInterfaces.map((n) => [n.network, n.subnetwork, n.networkIP]), gw.metadata], [
      true, ['gw'], [['net-a', 'a-1', '10.10.0.20'], ['net-b', 'b-2', '10.20.1.2']], {'startup-script': 'echo gateway up'},
    ])
    assertDataPlaneSide('instances')
    // vm-1 booted with the lab: its namespace ran its startup script (nic0 is its NIC in net-a)
    const deadline = Date.now() + 10_000
    let serial = ''
    while (Date.now() < deadline && !serial.includes('startup-script exit status')) {
      serial = await ok(['compute', 'instances', 'get-serial-port-output', 'vm-1', '--zone', 'us-west1-a'])
    }
    assert.match(serial, /google_metadata_script_runner\[1\]: startup-script: hello from the startup script/)
    assert.match(serial, /startup-script: \d+: nic0 inet 10\.10\.0\.5\/\d+ /)
    assert.match(serial, /startup-script exit status 0/)
    assertBootOfApiVm(await ok(['compute', 'instances', 'get-serial-port-output', 'gw-1', '--zone', 'us-west1-a']))
  })

  it('builds an internal load balancer: instance group, health check, backend service with the group, forwarding rule', async () => {
    await ok(['compute', 'instance-groups', 'unmanaged', 'create', 'gw-ig', '--zone', 'us-west1-a'])
    await ok(['compute', 'instance-groups', 'unmanaged', 'add-instances', 'gw-ig', '--zone', 'us-west1-a', '--instances', 'gw-1,vm-1'])
    await ok(['compute', 'health-checks', 'create', 'tcp', 'gw-hc', '--port', '22'])
    await ok(['compute', 'backend-services', 'create', 'gw-bs', '--load-balancing-scheme', 'internal', '--protocol', 'tcp', '--region', 'us-west1', '--health-checks', 'gw-hc', '--network', 'net-a'])
    await ok(['compute', 'backend-services', 'add-backend', 'gw-bs', '--region', 'us-west1', '--instance-group', 'gw-ig', '--instance-group-zone', 'us-west1-a'])
    await ok(['compute', 'forwarding-rules', 'create', 'gw-ilb', '--region', 'us-west1', '--load-balancing-scheme', 'internal', '--network', 'net-a', '--subnet', 'a-1', '--ip-protocol', 'TCP', '--ports', 'ALL', '--backend-service', 'gw-bs', '--allow-global-access'])
    const model = topology()
    const bs = model.topology.backendServices.find((b) => b.name === 'gw-bs')
    assert.deepEqual(bs && [bs.backends, bs.groups, bs.healthCheck], [['gw-1', 'vm-1'], ['gw-ig'], {name: 'gw-hc', protocol: 'TCP', port: 22}])
    assert.deepEqual(model.topology.healthChecks, [{name: 'gw-hc', type: 'TCP', port: 22}])
    const fr = model.forwardingRules.get('gw-ilb')
    assert.deepEqual(fr && [formatIp(fr.ip), fr.ports, fr.allowGlobalAccess, fr.backendService.name], ['10.10.0.3', undefined, true, 'gw-bs'], 'the first free address of a-1; all ports')
    assertDataPlaneSide('forwardingRules')
    // the health the lab decides: a-ssh admits 10/8, not the probers' ranges (ILB-08)
    assert.equal(await ok(['compute', 'backend-services', 'get-health', 'gw-bs', '--region', 'us-west1', '--format=value(status.healthStatus[].healthState)']), 'UNHEALTHY;UNHEALTHY\n')
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
})
