/**
 * What the real gcloud writes to a lab's cloud reaches real packets, incrementally: a deny rule
 * stalls a running connection within 5 s and its deletion lets it resume; a two-NIC VM created with
 * a startup script boots as a namespace, runs the script and answers on both NICs; routes through
 * it carry traffic while they exist; a peering carries traffic only while both sides exist (as on
 * GCP); an internal load balancer built step by step serves its VIP once the probers' ranges are
 * admitted. Every check is a TCP connection inside the lab's namespaces (socat echo servers the
 * test starts and stops). Needs root, iproute2, iptables, socat and the Google Cloud SDK.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {formatIp} from '../../../src/core/net/ipv4.js'
import {exec} from '../../../src/lab/runtime/exec.js'
import {readState} from '../../../src/lab/runtime/state.js'
import {HeldStream, startStreamServer} from '../../support/held-stream.js'
import {LabCli} from '../../support/lab-cli.js'
import {requireLabTools} from '../../support/netns.js'
import {type GcloudLab, sdkSkip, startGcloudLab} from './support.js'

const SSH = 22
const STREAM_SECONDS = 300
const VM1 = '10.10.0.5'
const NATIVE_NODE = '10.10.0.2'
const GW_NIC0 = '10.10.0.20'
const GW_NIC1 = '10.20.1.2'
const ROUTES_NODE = 'gke-c-routes-default-pool-0a1b2c3d-ab12'
const OTHER_ROUTES_NODE = 'gke-c-routes-default-pool-0a1b2c3d-cd34'
/**
 * The gateway's script: two addresses the routes below lead to, and the route a multi-NIC VM
 * needs to answer net-b's other subnets on nic1, since its default route is nic0's (ROUTE-11).
 */
const GW_SCRIPT = '#!/bin/sh\nset -e\nip addr add 10.90.0.1/32 dev lo\nip addr add 10.91.0.1/32 dev lo\nip route add 10.20.0.0/16 via 10.20.1.1 dev nic1 onlink\necho gateway up\n'

describe('gcloud writes reach the lab\'s packets', {skip: sdkSkip()}, () => {
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('cloudw')
  const toolHome = mkdtempSync(join(tmpdir(), 'xcc-gcloud-home-'))
  const stops: Array<() => void> = []
  let cloud: GcloudLab
  let held: HeldStream

  const ns = (ref: string): string => {
    const entry = readState(cloud.dir)?.plan.hosts[ref]
    if (!entry) throw new Error(`the lab has no ${ref}`)
    return entry.ns
  }
  /** one bounded TCP connection from `ref`'s namespace: true when the echo server answered */
  const echoes = async (ref: string, ip: string, port = SSH): Promise<boolean> => {
    const r = await exec('ip', ['netns', 'exec', ns(ref), 'socat', '-T2', '-', `TCP:${ip}:${port},connect-timeout=2`], {input: 'ping\n', timeoutMs: 8000})
    return r.code === 0 && r.stdout === 'ping\n'
  }
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
  const serve = async (ref: string): Promise<void> => {
    const server = await startStreamServer(ns(ref), SSH)
    stops.push(() => server.stop())
  }
  /** polls (bounded) until `check` is true; false when it never was */
  const eventually = async (check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (await check()) return true
      await sleep(250)
    }
    return check()
  }

  before(async () => {
    requireLabTools([['socat', ['-V'], 'socat']])
    cloud = startGcloudLab(cli, home, lab, toolHome)
    await serve('instance/vm-1')
    await serve(`node/${OTHER_ROUTES_NODE}`)
    held = new HeldStream('node to vm-1', ns('node/native-node-1'), VM1, SSH, STREAM_SECONDS)
    stops.push(() => held.stop())
    assert.ok(await held.waitForEchoes(0, 3, 5000), 'the held connection from native-node-1 to vm-1:22 runs (a-ssh admits 10/8)')
  })
  after(() => {
    for (const stop of stops) stop()
    cli.cleanup()
    rmSync(toolHome, {recursive: true, force: true})
  })

  it('firewall-rules create of a deny rule stalls a running connection within 5 s; delete lets it resume', async (t) => {
    const started = Date.now()
    await cloud.ok(['compute', 'firewall-rules', 'create', 'deny-ssh-from-node', '--network', 'net-a', '--action', 'deny', '--rules', `tcp:${SSH}`,
      '--source-ranges', `${NATIVE_NODE}/32`, '--priority', '900', '--description', 'xcc test'])
    const created = Date.now()
    const rule = cloud.topology().topology.firewalls.find((f) => f.name === 'deny-ssh-from-node')
    assert.deepEqual(rule && [rule.priority, rule.denied, rule.sourceRanges, rule.description], [900, [{IPProtocol: 'tcp', ports: ['22']}], [`${NATIVE_NODE}/32`], 'xcc test'])
    await sleep(Math.max(0, created + 6500 - Date.now()))
    assert.equal(held.echoesSince(created + 5000), 0, 'no echo once 5 s have passed since gcloud returned')
    const stalledAt = held.arrivals.filter((a) => a >= started).at(-1)
    t.diagnostic(`last echo ${stalledAt === undefined ? 'before the command' : `${stalledAt - started} ms after the command started`}; gcloud took ${created - started} ms`)
    assert.ok(held.alive, 'stalled, not reset')
    assert.equal(await echoes('node/native-node-1', VM1), false, 'a new connection is denied too')
    assert.ok(await echoes(`node/${ROUTES_NODE}`, '10.20.0.3'), 'traffic the rule does not concern goes on')

    await cloud.ok(['compute', 'firewall-rules', 'delete', 'deny-ssh-from-node'])
    const deleted = Date.now()
    assert.equal(cloud.topology().topology.firewalls.some((f) => f.name === 'deny-ssh-from-node'), false)
    assert.ok(await held.waitForEchoes(deleted, 1, 30_000), 'the stalled connection resumes')
    t.diagnostic(`resumed ${(held.arrivals.find((a) => a >= deleted) ?? 0) - deleted} ms after gcloud returned`)
    assert.ok(await echoes('node/native-node-1', VM1), 'and a new connection works')
  })

  it('instances create of a two-NIC VM with a startup script: it boots, runs the script, answers on both NICs', async () => {
    const script = join(home, 'gw-startup.sh')
    writeFileSync(script, GW_SCRIPT)
    await cloud.ok(['compute', 'instances', 'create', 'gw-1', '--zone', 'us-west1-a', '--machine-type', 'e2-small', '--can-ip-forward', '--tags', 'gw',
      `--network-interface=subnet=a-1,private-network-ip=${GW_NIC0},no-address`, '--network-interface=subnet=b-2,no-address',
      '--metadata-from-file', `startup-script=${script}`])
    const gw = cloud.topology().topology.instances.find((m) => m.name === 'gw-1')
    assert.deepEqual(gw && [gw.canIpForward, gw.tags, gw.networkInterfaces.map((n) => [n.network, n.subnetwork, n.networkIP]), gw.metadata], [
      true, ['gw'], [['net-a', 'a-1', GW_NIC0], ['net-b', 'b-2', GW_NIC1]], {'startup-script': GW_SCRIPT},
    ])
    let serial = ''
    const booted = await eventually(async () => {
      serial = await cloud.ok(['compute', 'instances', 'get-serial-port-output', 'gw-1', '--zone', 'us-west1-a'])
      return serial.includes('Finished running startup scripts.')
    }, 20_000)
    assert.ok(booted, `gw-1 booted:\n${serial}`)
    assert.match(serial, /^google_metadata_script_runner: startup-script: gateway up$/m)
    assert.match(serial, /^google_metadata_script_runner: startup-script exit status 0$/m)
    await serve('instance/gw-1')
    assert.ok(await echoes('node/native-node-1', GW_NIC0), 'nic0 answers in net-a (a-ssh)')
    assert.ok(await echoes(`node/${ROUTES_NODE}`, GW_NIC1), 'nic1 answers in net-b (b-all-internal)')
    // vm-1 booted with the lab: its script ran in its namespace, where nic0 is its NIC in net-a
    const vm1 = await cloud.ok(['compute', 'instances', 'get-serial-port-output', 'vm-1', '--zone', 'us-west1-a'])
    assert.match(vm1, /startup-script: hello from the startup script/)
    assert.match(vm1, /startup-script: \d+: nic0 inet 10\.10\.0\.5\/\d+ /)
    assert.match(vm1, /startup-script exit status 0/)
    assert.ok(held.alive, 'the held connection lived through the change')
  })

  it('routes create through the VM and through its address carry traffic; delete (batched) takes both away', async () => {
    assert.equal(await echoes('node/native-node-1', '10.90.0.1'), false, 'before: 10.90/16 goes to the internet gateway, which drops private addresses')
    await cloud.ok(['compute', 'routes', 'create', 'via-vm', '--network', 'net-a', '--destination-range', '10.90.0.0/16', '--next-hop-instance', 'gw-1', '--next-hop-instance-zone', 'us-west1-a', '--priority', '900'])
    await cloud.ok(['compute', 'routes', 'create', 'via-ip', '--network', 'net-a', '--destination-range', '10.91.0.0/16', '--next-hop-address', GW_NIC0])
    const routes = cloud.topology().topology.routes
    assert.deepEqual(routes.filter((r) => r.name.startsWith('via-')).map((r) => [r.name, r.nextHopInstance ?? r.nextHopIp, r.priority]), [['via-vm', 'gw-1', 900], ['via-ip', GW_NIC0, 1000]])
    assert.ok(await echoes('node/native-node-1', '10.90.0.1'), 'via the instance: gw-1 (canIpForward) takes 10.90.0.1')
    assert.ok(await echoes('node/native-node-1', '10.91.0.1'), 'via its address')
    await cloud.ok(['compute', 'routes', 'delete', 'via-vm', 'via-ip'])
    assert.equal(cloud.topology().topology.routes.some((r) => r.name.startsWith('via-')), false)
    assert.equal(await echoes('node/native-node-1', '10.90.0.1'), false, 'gone with its route')
    assert.equal(await echoes('node/native-node-1', '10.91.0.1'), false, 'gone with its route')
  })

  it('networks peerings create: traffic flows only while both sides exist (ACTIVE); delete of one side stops it', async () => {
    const fromB = (): Promise<boolean> => echoes(`node/${ROUTES_NODE}`, VM1)
    assert.equal(await fromB(), false, 'before: net-b has no route to net-a')
    await cloud.ok(['compute', 'networks', 'peerings', 'create', 'a-to-b', '--network', 'net-a', '--peer-network', 'net-b', '--export-custom-routes'])
    assert.equal(await cloud.ok(['compute', 'networks', 'peerings', 'list', '--format=value(peerings.name,peerings.state)']), 'a-to-b\tINACTIVE\n')
    assert.equal(await fromB(), false, 'one side only: INACTIVE, nothing flows')
    await cloud.ok(['compute', 'networks', 'peerings', 'create', 'b-to-a', '--network', 'net-b', '--peer-network', 'net-a', '--import-custom-routes'])
    assert.equal(await cloud.ok(['compute', 'networks', 'peerings', 'list', '--format=value(peerings.name,peerings.state)']), 'a-to-b\tACTIVE\nb-to-a\tACTIVE\n')
    assert.deepEqual(cloud.topology().peerings.map((p) => [p.network, p.state]), [['net-a', 'ACTIVE'], ['net-b', 'ACTIVE']])
    assert.ok(await fromB(), 'both sides: net-b reaches vm-1 over the peering')
    await cloud.ok(['compute', 'networks', 'peerings', 'delete', 'b-to-a', '--network', 'net-b'])
    assert.deepEqual(cloud.topology().peerings.map((p) => [p.network, p.state]), [['net-a', 'INACTIVE']])
    assert.equal(await fromB(), false, 'one side deleted: nothing flows')
  })

  it('builds an internal load balancer step by step; its VIP serves once the probers\' ranges are admitted', async () => {
    const ok = cloud.ok
    await ok(['compute', 'instance-groups', 'unmanaged', 'create', 'gw-ig', '--zone', 'us-west1-a'])
    await ok(['compute', 'instance-groups', 'unmanaged', 'add-instances', 'gw-ig', '--zone', 'us-west1-a', '--instances', 'gw-1,vm-1'])
    await ok(['compute', 'health-checks', 'create', 'tcp', 'gw-hc', '--port', String(SSH)])
    await ok(['compute', 'backend-services', 'create', 'gw-bs', '--load-balancing-scheme', 'internal', '--protocol', 'tcp', '--region', 'us-west1', '--health-checks', 'gw-hc', '--network', 'net-a'])
    await ok(['compute', 'backend-services', 'add-backend', 'gw-bs', '--region', 'us-west1', '--instance-group', 'gw-ig', '--instance-group-zone', 'us-west1-a'])
    assert.equal(await echoes('node/native-node-1', '10.10.0.3'), false, 'no forwarding rule yet: 10.10.0.3 is nobody')
    await ok(['compute', 'forwarding-rules', 'create', 'gw-ilb', '--region', 'us-west1', '--load-balancing-scheme', 'internal', '--network', 'net-a', '--subnet', 'a-1', '--ip-protocol', 'TCP', '--ports', 'ALL', '--backend-service', 'gw-bs', '--allow-global-access'])
    const model = cloud.topology()
    const bs = model.topology.backendServices.find((b) => b.name === 'gw-bs')
    assert.deepEqual(bs && [bs.backends, bs.groups, bs.healthCheck], [['gw-1', 'vm-1'], ['gw-ig'], {name: 'gw-hc', protocol: 'TCP', port: SSH}])
    assert.deepEqual(model.topology.healthChecks, [{name: 'gw-hc', type: 'TCP', port: SSH}])
    const fr = model.forwardingRules.get('gw-ilb')
    assert.deepEqual(fr && [formatIp(fr.ip), fr.ports, fr.allowGlobalAccess, fr.backendService.name], ['10.10.0.3', undefined, true, 'gw-bs'], 'the first free address of a-1; all ports')
    // a-ssh admits 10/8, not the probers' ranges: every backend is unhealthy (ILB-08)
    const health = ['compute', 'backend-services', 'get-health', 'gw-bs', '--region', 'us-west1', '--format=value(status.healthStatus[].healthState)']
    assert.equal(await ok(health), 'UNHEALTHY;UNHEALTHY\n')
    await ok(['compute', 'firewall-rules', 'create', 'allow-probers', '--network', 'net-a', '--allow', `tcp:${SSH}`, '--source-ranges', '35.191.0.0/16,130.211.0.0/22'])
    assert.equal(await ok(health), 'HEALTHY;HEALTHY\n')
    assert.ok(await eventually(() => echoes('node/native-node-1', '10.10.0.3'), 5000), 'the VIP serves')
    assert.ok(await echoes(`node/${ROUTES_NODE}`, '10.10.0.3') === false, 'not from net-b: the peering is gone')
  })
})
