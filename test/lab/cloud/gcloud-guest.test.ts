/**
 * A gateway VM's guest through real gcloud, in real packets: the lab's topology takes the guest
 * a VM's startup script sets up, so the static doctor on the lab's topology.yaml and a real TCP
 * connection agree at every step. A client in net-a reaches a server in net-b only through a
 * gateway VM that forwards and masquerades (net-b has no way back to net-a: ROUTE-11, ROUTE-12).
 * The gateway is created without a script (no forwarding: both say unreachable); add-metadata of a
 * forwarding script turns ip_forward on in its namespace at once, through the incremental data
 * plane (the VM does not reboot), and both still say unreachable (no SNAT); the fix the doctor
 * prints, run as printed with gcloud, makes both say reachable, the server seeing the gateway's
 * address. A second gateway created with a forwarding and MASQUERADE startup script carries the
 * flow as soon as the route leads to it. Needs root, iproute2, iptables, curl and the Google Cloud SDK.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {CHECKS} from '../../../src/checks/index.js'
import {evaluateDoctor} from '../../../src/core/doctor/report.js'
import {resolveFlow} from '../../../src/core/trace/endpoints.js'
import {exec} from '../../../src/lab/runtime/exec.js'
import {probeTcp} from '../../../src/lab/runtime/servers.js'
import {readState} from '../../../src/lab/runtime/state.js'
import {LabCli} from '../../support/lab-cli.js'
import {requireLabTools} from '../../support/netns.js'
import {type GcloudLab, PROJECT, sdkSkip, startGcloudLab} from './support.js'

const TOPOLOGY = `apiVersion: xcc/v1
kind: Topology
metadata: {name: gateway-guest, project: ${PROJECT}}
networks:
  - name: net-a
    subnets: [{name: a-1, region: us-west1, ipCidrRange: 10.10.0.0/24}]
  - name: net-b
    subnets: [{name: b-1, region: us-west1, ipCidrRange: 10.20.0.0/24}]
routes:
  - {name: a-default, network: net-a, destRange: 0.0.0.0/0, nextHopGateway: default-internet-gateway}
  - {name: b-default, network: net-b, destRange: 0.0.0.0/0, nextHopGateway: default-internet-gateway}
firewalls:
  - {name: a-internal, network: net-a, sourceRanges: [10.10.0.0/24], allowed: [{IPProtocol: all}]}
  - {name: b-web, network: net-b, sourceRanges: [10.0.0.0/8], allowed: [{IPProtocol: tcp, ports: ["80"]}]}
instances:
  - name: client
    zone: us-west1-a
    networkInterfaces: [{network: net-a, subnetwork: a-1, networkIP: 10.10.0.5}]
  - name: server
    zone: us-west1-a
    networkInterfaces: [{network: net-b, subnetwork: b-1, networkIP: 10.20.0.5}]
    guest:
      listen: [{port: 80}]
`
const SERVER = '10.20.0.5'
const ZONE = ['--zone', 'us-west1-a']
const FORWARD = '#!/bin/sh\nset -e\nsysctl -w net.ipv4.ip_forward=1\n'
const FORWARD_AND_MASQUERADE = '#!/bin/bash\nset -eu\necho 1 > /proc/sys/net/ipv4/ip_forward\niptables -w -t nat -A POSTROUTING -o nic1 -j MASQUERADE\n'

describe('a gateway VM\'s startup script through gcloud: the doctor and the packets agree', {skip: sdkSkip()}, () => {
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('guest')
  const toolHome = mkdtempSync(join(tmpdir(), 'xcc-gcloud-home-'))
  let cloud: GcloudLab

  const ns = (ref: string): string => {
    const entry = readState(cloud.dir)?.plan.hosts[ref]
    if (!entry) throw new Error(`the lab has no ${ref}`)
    return entry.ns
  }
  /** the static doctor on the lab's topology as its cloud API last wrote it */
  const doctor = (): {verdict: string; code: string | undefined; src: string | undefined; fixes: NonNullable<ReturnType<typeof evaluateDoctor>['diagnosis']>['fixes']} => {
    const model = cloud.topology()
    const r = evaluateDoctor(model, resolveFlow(model, 'instance/client', `${SERVER}:80`), CHECKS)
    const delivered = [...r.forward].reverse().find((st) => st.step === 'DELIVER')
    return {verdict: r.verdict, code: r.diagnosis?.code, src: delivered?.packet.src, fixes: r.diagnosis?.fixes ?? []}
  }
  /** a real connection from client to the server's port 80 (bounded; retried a little when it should work, as a route settles) */
  const connect = async (expect: boolean): Promise<Awaited<ReturnType<typeof probeTcp>>> => {
    let r = await probeTcp(ns('instance/client'), SERVER, 80, {timeoutMs: 2000})
    for (let k = 0; expect && !r.connected && k < 8; k++) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      r = await probeTcp(ns('instance/client'), SERVER, 80, {timeoutMs: 2000})
    }
    return r
  }
  const agree = async (reachable: boolean, what: string): Promise<{code: string | undefined; clientAddress: string | undefined}> => {
    const d = doctor()
    const real = await connect(reachable)
    assert.equal(d.verdict, reachable ? 'reachable' : 'unreachable', `${what}: the doctor (${d.code ?? 'no diagnosis'})`)
    assert.equal(real.connected, reachable, `${what}: the packets (${real.output})`)
    return {code: d.code, clientAddress: real.clientAddress}
  }
  const sysctl = async (vm: string): Promise<string> => (await exec('ip', ['netns', 'exec', ns(`instance/${vm}`), 'sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim()
  const natRules = async (vm: string): Promise<string> => (await exec('ip', ['netns', 'exec', ns(`instance/${vm}`), 'iptables', '-w', '5', '-t', 'nat', '-S', 'POSTROUTING'])).stdout

  before(() => {
    requireLabTools([['curl', ['--version'], 'curl']])
    cloud = startGcloudLab(cli, home, lab, toolHome, TOPOLOGY)
  })
  after(() => {
    cli.cleanup()
    rmSync(toolHome, {recursive: true, force: true})
  })

  it('before any gateway: net-a has no route to net-b\'s range but the internet gateway\'s, which drops private addresses (NO_ROUTE)', async () => {
    assert.equal((await agree(false, 'no gateway')).code, 'NO_ROUTE')
  })

  it('a gateway created without a startup script does not forward: GUEST_FORWARDING_DISABLED, and no packet passes', async () => {
    await cloud.ok(['compute', 'instances', 'create', 'gw', ...ZONE, '--can-ip-forward',
      '--network-interface=subnet=a-1,private-network-ip=10.10.0.20,no-address', '--network-interface=subnet=b-1,private-network-ip=10.20.0.20,no-address'])
    await cloud.ok(['compute', 'routes', 'create', 'to-b', '--network', 'net-a', '--destination-range', '10.20.0.0/24', '--next-hop-instance', 'gw', '--next-hop-instance-zone', 'us-west1-a'])
    assert.deepEqual(cloud.topology().topology.instances.find((m) => m.name === 'gw')?.guest, {ipForward: false, routes: []})
    assert.equal(await sysctl('gw'), '0')
    assert.equal((await agree(false, 'gw without a script')).code, 'GUEST_FORWARDING_DISABLED')
  })

  it('add-metadata of a forwarding script turns ip_forward on in the running VM at once; without SNAT the reply is lost, as the doctor says', async () => {
    const file = join(home, 'forward.sh')
    writeFileSync(file, FORWARD)
    await cloud.ok(['compute', 'instances', 'add-metadata', 'gw', ...ZONE, '--metadata-from-file', `startup-script=${file}`])
    const gw = cloud.topology().topology.instances.find((m) => m.name === 'gw')
    assert.deepEqual([gw?.guest, gw?.metadata], [{ipForward: true, routes: []}, {'startup-script': FORWARD}])
    assert.equal(await sysctl('gw'), '1', 'the data plane applied the new guest (the script runs only at boot)')
    assert.equal((await agree(false, 'gw forwards, no SNAT')).code, 'GATEWAY_SNAT_MISSING')
  })

  it('the fix the doctor prints, run as printed with gcloud: the gateway masquerades, both say reachable, the server sees the gateway', async () => {
    const fix = doctor().fixes.find((f) => f.applies === 'gcloud' && f.script !== undefined)
    assert.ok(fix, 'the diagnosis prints a gateway fix')
    const work = mkdtempSync(join(home, 'fix-'))
    const env = {...cloud.env, PATH: `${cloud.bin}${delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: cloud.toolHome, CLOUDSDK_CORE_DISABLE_PROMPTS: '1'}
    // describe, append, add-metadata; the last command (ssh into the VM) is for a real VM
    for (const command of fix.commands.filter((c) => !c.includes('compute ssh'))) {
      const r = spawnSync('sh', ['-c', command], {cwd: work, env, encoding: 'utf8', timeout: 60_000})
      assert.equal(r.status, 0, `${command}\n${r.stderr}`)
    }
    const gw = cloud.topology().topology.instances.find((m) => m.name === 'gw')
    assert.equal(gw?.guest.ipForward, true)
    assert.match(gw?.guest.iptables ?? '', /^-A POSTROUTING -s \S+ ! -d \S+ -j MASQUERADE$/m, 'the guest holds the fix\'s rule')
    assert.match(await natRules('gw'), /-j MASQUERADE/, 'and so does the VM\'s nat table')
    const result = await agree(true, 'gw with the fix')
    assert.equal(result.clientAddress, '10.20.0.20', 'the server sees the gateway\'s nic1 address')
    assert.equal(doctor().src, '10.20.0.20', 'as the doctor says')
  })

  it('a gateway created with a forwarding and MASQUERADE startup script carries the flow once the route leads to it', async () => {
    const file = join(home, 'gw-2.sh')
    writeFileSync(file, FORWARD_AND_MASQUERADE)
    await cloud.ok(['compute', 'instances', 'create', 'gw-2', ...ZONE, '--can-ip-forward', '--metadata-from-file', `startup-script=${file}`,
      '--network-interface=subnet=a-1,private-network-ip=10.10.0.21,no-address', '--network-interface=subnet=b-1,private-network-ip=10.20.0.21,no-address'])
    assert.deepEqual(cloud.topology().topology.instances.find((m) => m.name === 'gw-2')?.guest, {
      ipForward: true, routes: [], iptables: '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o nic1 -j MASQUERADE\nCOMMIT\n',
    })
    await cloud.ok(['compute', 'routes', 'delete', 'to-b', '--quiet'])
    assert.equal((await agree(false, 'no route to net-b')).code, 'NO_ROUTE')
    await cloud.ok(['compute', 'routes', 'create', 'to-b-2', '--network', 'net-a', '--destination-range', '10.20.0.0/24', '--next-hop-instance', 'gw-2', '--next-hop-instance-zone', 'us-west1-a'])
    assert.equal(await sysctl('gw-2'), '1')
    const result = await agree(true, 'through gw-2')
    assert.equal(result.clientAddress, '10.20.0.21')
    // the script is the guest, which the data plane set up: the boot does not run it again (its rule is there once)
    assert.match(await cloud.ok(['compute', 'instances', 'get-serial-port-output', 'gw-2', ...ZONE]), /Found startup-script in metadata\.\nxcc lab: the startup-script sets up exactly the instance's guest .*: not run again\n/)
    assert.equal((await natRules('gw-2')).match(/-o nic1 -j MASQUERADE/g)?.length, 1)
  })

  it('a VM has a link route to each NIC\'s gateway, as its DHCP lease gives it on GCE: `ip route add DEST via GATEWAY` works without onlink', async () => {
    const gw2 = ns('instance/gw-2')
    const added = await exec('ip', ['netns', 'exec', gw2, 'ip', 'route', 'add', '10.99.0.0/16', 'via', '10.20.0.1'])
    assert.equal(added.code, 0, added.stderr)
    assert.equal((await exec('ip', ['netns', 'exec', gw2, 'ip', 'route', 'del', '10.99.0.0/16'])).code, 0)
  })
})
