/**
 * A VM's guest through the lab's Compute API, served in-process (no root: the data-plane hook
 * records the changes): a VM whose topology gives a guest shows it as its startup script
 * (renderGuestScript); insert and setMetadata read a script back into the topology's guest (the
 * canonical one is not kept twice, a hand-written one is kept, an unreadable one leaves the default
 * guest and a line in the lab's log); and `xcc snapshot`'s reading of the API (the real adapter,
 * over HTTP) gives back every VM's guest, so that the doctor's verdict on a snapshot of a gateway
 * scenario or of random topologies with gateway VMs is the verdict on the topology itself.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {openGcp} from '../../../src/adapters/gcp/index.js'
import {CHECKS} from '../../../src/checks/index.js'
import {evaluateDoctor} from '../../../src/core/doctor/report.js'
import {buildSnapshot, renderSnapshotYaml} from '../../../src/core/snapshot/index.js'
import {guestNics, normalizeGuest, renderGuestScript} from '../../../src/core/topology/guest-script.js'
import type {Model} from '../../../src/core/topology/model-types.js'
import {parseTopology} from '../../../src/core/topology/parse.js'
import type {GuestSpec, Topology} from '../../../src/core/topology/schema.js'
import {resolveFlow} from '../../../src/core/trace/endpoints.js'
import {randomTopology} from '../../support/random-topology.js'
import {PROJECT, type TestCloud, startTestCloud} from './support.js'

const GUEST_TOPOLOGY = `apiVersion: xcc/v1
kind: Topology
metadata: {name: guest-test, project: ${PROJECT}}
networks:
  - name: net-a
    subnets: [{name: a-1, region: us-west1, ipCidrRange: 10.10.0.0/24}]
  - name: net-b
    subnets: [{name: b-1, region: us-west1, ipCidrRange: 10.20.0.0/24}]
instances:
  - name: gw
    zone: us-west1-a
    canIpForward: true
    networkInterfaces:
      - {network: net-a, subnetwork: a-1, networkIP: 10.10.0.20}
      - {network: net-b, subnetwork: b-1, networkIP: 10.20.0.20}
    metadata: {ssh-keys: "u:ssh-ed25519 AAAA"}
    guest:
      ipForward: true
      routes: [{destRange: 10.30.0.0/16, nic: 1}]
      iptables: |
        *nat
        -A POSTROUTING -o nic1 -j MASQUERADE
        COMMIT
  - name: plain
    zone: us-west1-a
    networkInterfaces: [{network: net-a, subnetwork: a-1, networkIP: 10.10.0.5}]
`

const SCRIPT = 'startup-script'
const FORWARD_AND_MASQUERADE = '#!/bin/sh\nset -e\nsysctl -w net.ipv4.ip_forward=1\niptables -t nat -A POSTROUTING -o nic1 -j MASQUERADE\n'
const NAT_MASQUERADE = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o nic1 -j MASQUERADE\nCOMMIT\n'

interface Shown {
  metadata?: {fingerprint?: string; items?: Array<{key: string; value: string}>}
}

describe('a VM\'s guest through the lab\'s Compute API', () => {
  let cloud: TestCloud
  const base = (): string => `http://127.0.0.1:${cloud.server.port}/compute/v1/projects/${PROJECT}/zones/us-west1-a`
  const call = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const r = await fetch(`${base()}${path}`, {method, headers: {authorization: `Bearer ${cloud.tokens.admin}`, 'content-type': 'application/json'}, ...(body !== undefined ? {body: JSON.stringify(body)} : {})})
    const json = await r.json() as Record<string, unknown>
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${JSON.stringify(json)}`)
    if (json.kind === 'compute#operation') await fetch(`${base()}/operations/${json.name as string}/wait`, {method: 'POST', headers: {authorization: `Bearer ${cloud.tokens.admin}`}})
    return json
  }
  const shown = async (name: string): Promise<Record<string, string>> => {
    const vm = await call('GET', `/instances/${name}`) as Shown
    return Object.fromEntries((vm.metadata?.items ?? []).map((i) => [i.key, i.value]))
  }
  const stored = (name: string): Topology['instances'][number] | undefined => cloud.store.topology.instances.find((m) => m.name === name)
  const nic = (subnet: string, ip: string): Record<string, string> => ({subnetwork: `regions/us-west1/subnetworks/${subnet}`, networkIP: ip})
  const insert = (name: string, script: string, ip: string): Promise<Record<string, unknown>> => call('POST', '/instances', {
    name, canIpForward: true, networkInterfaces: [nic('a-1', `10.10.0.${ip}`), nic('b-1', `10.20.0.${ip}`)],
    metadata: {items: [{key: 'enable-oslogin', value: 'TRUE'}, {key: SCRIPT, value: script}]},
  })

  before(async () => {
    cloud = await startTestCloud(GUEST_TOPOLOGY)
  })
  after(() => cloud.close())

  it('shows a VM\'s guest as the startup script that sets it up, beside its other metadata; a VM with the default guest shows none', async () => {
    const gw = stored('gw')
    assert.ok(gw)
    assert.deepEqual(await shown('gw'), {'ssh-keys': 'u:ssh-ed25519 AAAA', [SCRIPT]: renderGuestScript(gw.guest, guestNics(cloud.store.topology, gw))})
    assert.match((await shown('gw'))[SCRIPT] ?? '', /^ip route replace 10\.30\.0\.0\/16 via 10\.20\.0\.1 dev nic1 onlink$/m)
    assert.deepEqual(await shown('plain'), {})
  })

  it('insert with the canonical script: the guest, and the script not kept twice (the API shows it again, the same bytes)', async () => {
    const guest: GuestSpec = {ipForward: true, routes: [{destRange: '10.40.0.0/16', nic: 1}], iptables: NAT_MASQUERADE, listen: [{protocol: 'tcp', port: 3128}]}
    const script = renderGuestScript(guest, [{ipCidrRange: '10.10.0.0/24'}, {ipCidrRange: '10.20.0.0/24'}])
    await insert('gw-canonical', script, '21')
    assert.deepEqual(stored('gw-canonical')?.guest, guest)
    assert.deepEqual(stored('gw-canonical')?.metadata, {'enable-oslogin': 'TRUE'})
    assert.equal((await shown('gw-canonical'))[SCRIPT], script)
    assert.deepEqual(cloud.changes.at(-1), ['instances'])
    const saved = parseTopology(readFileSync(`${cloud.dir}/topology.yaml`, 'utf8'), 'topology.yaml')
    assert.equal(saved.instances.get('gw-canonical')?.guest.ipForward, true, 'the persisted topology loads, with the guest')
  })

  it('insert with a hand-written script: the guest it sets up, and the script kept as written', async () => {
    await insert('gw-hand', FORWARD_AND_MASQUERADE, '22')
    assert.deepEqual(stored('gw-hand')?.guest, {ipForward: true, routes: [], iptables: NAT_MASQUERADE})
    assert.equal(stored('gw-hand')?.metadata?.[SCRIPT], FORWARD_AND_MASQUERADE)
    assert.equal((await shown('gw-hand'))[SCRIPT], FORWARD_AND_MASQUERADE)
  })

  it('insert with a script xcc does not read: the default guest, the script kept (the VM runs it), a line in the lab\'s log', async () => {
    const script = '#!/bin/sh\nsysctl -w net.ipv4.ip_forward=1\nTOKEN=s3cr3t /opt/setup.sh\n'
    await insert('gw-opaque', script, '23')
    assert.deepEqual(stored('gw-opaque')?.guest, {ipForward: false, routes: []})
    assert.equal(stored('gw-opaque')?.metadata?.[SCRIPT], script)
    const note = cloud.log.find((l) => l.includes('instance gw-opaque'))
    assert.match(note ?? '', /its startup script line 3 \(TOKEN …\) is not one xcc reads/)
    assert.doesNotMatch(note ?? '', /s3cr3t/)
  })

  it('setMetadata: what gcloud add-metadata sends back keeps the guest; a new script changes it; removing the script leaves the default guest', async () => {
    const guestBefore = stored('gw')?.guest
    const setMetadata = async (items: Record<string, string>): Promise<void> => {
      const vm = await call('GET', '/instances/gw') as Shown
      await call('POST', '/instances/gw/setMetadata', {fingerprint: vm.metadata?.fingerprint, items: Object.entries(items).map(([key, value]) => ({key, value}))})
    }
    // add-metadata: every item shown (the rendered script included) plus the new one
    await setMetadata({...await shown('gw'), team: 'net'})
    assert.deepEqual(stored('gw')?.guest, guestBefore)
    assert.deepEqual(stored('gw')?.metadata, {'ssh-keys': 'u:ssh-ed25519 AAAA', team: 'net'}, 'the canonical script is the guest\'s: not stored twice')
    await setMetadata({team: 'net', [SCRIPT]: '#!/bin/sh\necho 1 > /proc/sys/net/ipv4/ip_forward\n'})
    assert.deepEqual(stored('gw')?.guest, {ipForward: true, routes: []})
    await setMetadata({team: 'net'})
    assert.deepEqual(stored('gw')?.guest, {ipForward: false, routes: []})
    assert.deepEqual(await shown('gw'), {team: 'net'})
  })
})

/** what `xcc snapshot` reads of the cloud (the real adapter, over HTTP), as a loaded topology; the clusters' kube half is not the cloud's, so it is taken from `original` */
async function snapshotOf(cloud: TestCloud, original: Topology): Promise<{model: Model; guests: Map<string, GuestSpec>}> {
  const env = {
    CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `http://127.0.0.1:${cloud.server.port}/compute/v1/`, CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: `http://127.0.0.1:${cloud.server.port}/`,
    CLOUDSDK_AUTH_ACCESS_TOKEN: cloud.tokens.viewer, METADATA_SERVER_DETECTION: 'none', HOME: cloud.dir,
  }
  const gcp = await openGcp({project: cloud.store.project, timeoutMs: 30_000, env})
  const [inventory, clusters] = await Promise.all([gcp.compute.readInventory(), gcp.gke.listClusters()])
  const {document} = buildSnapshot({project: cloud.store.project, inventory, clusters, kubeOf: () => undefined})
  const snapshot = yaml.load(renderSnapshotYaml(document)) as Record<string, unknown>
  const guests = new Map(parseTopology(renderSnapshotYaml(document), 'snapshot.yaml').topology.instances.map((m) => [m.name, m.guest]))
  const merged = {...snapshot, clusters: original.clusters}
  return {model: parseTopology(JSON.stringify(merged), 'snapshot.json'), guests}
}

describe('xcc snapshot of the lab\'s cloud: every VM\'s guest comes back', () => {
  for (const name of ['gateways-missing-snat', 'gateways-fixed-snat']) {
    it(`${name}: the same guests, and the same doctor verdict for its flow`, async () => {
      const text = readFileSync(new URL(`../../../templates/scenarios/${name}.yaml`, import.meta.url), 'utf8')
      const [, from, to] = /^# flow: --from (\S+) --to (\S+)$/m.exec(text) ?? []
      assert.ok(from && to)
      const cloud = await startTestCloud(text)
      try {
        const original = cloud.store.model
        const {model, guests} = await snapshotOf(cloud, original.topology)
        for (const vm of original.topology.instances) assert.deepEqual(guests.get(vm.name), normalizeGuest(vm.guest), vm.name)
        const verdict = (m: Model): [string, string | undefined] => {
          const r = evaluateDoctor(m, resolveFlow(m, from, to), CHECKS)
          return [r.verdict, r.diagnosis?.code]
        }
        assert.deepEqual(verdict(model), verdict(original))
        assert.notEqual(verdict(model)[1], 'GUEST_FORWARDING_DISABLED')
      } finally {
        await cloud.close()
      }
    })
  }

  it('random topologies with gateway VMs: the same guests', async () => {
    let gateways = 0
    for (let seed = 1; seed <= 12; seed++) {
      const generated = randomTopology(seed)
      const vms = generated.model.topology.instances
      gateways += vms.filter((m) => m.guest.ipForward || m.guest.routes.length > 0).length
      const cloud = await startTestCloud(JSON.stringify({...generated.model.topology, metadata: {...generated.model.topology.metadata, project: PROJECT}}))
      try {
        const {guests} = await snapshotOf(cloud, generated.model.topology)
        for (const vm of vms) assert.deepEqual(guests.get(vm.name), normalizeGuest(vm.guest), `seed ${seed}, ${vm.name}`)
      } finally {
        await cloud.close()
      }
    }
    assert.ok(gateways >= 5, `the seeds hold gateway VMs (${gateways})`)
  })
})
