/**
 * Incremental changes of a running lab (src/lab/runtime/apply.ts), in the kernel: a lab is built
 * from a small topology with `lab up`, two long-lived TCP connections are held open — one
 * between hosts that no change concerns (it must survive every change), one on the path a deny
 * rule blocks — and the topology is changed step by step as the cloud APIs would change it. After
 * each change the static doctor and a real connection in the lab agree, the GKE pod keeps its
 * processes, and the apply time is printed next to the time of a full `lab up`. Needs root,
 * iproute2, iptables, socat and curl; every namespace it makes is removed, also on failure.
 */
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {after, before, describe, it} from 'node:test'

import type {Model} from '../../src/core/topology/model-types.js'
import {labDown, labUp} from '../../src/lab/lifecycle.js'
import {applyModelChange} from '../../src/lab/runtime/apply.js'
import {buildDataPlane, destroyDataPlane, labNamespaces} from '../../src/lab/runtime/dataplane.js'
import {exec} from '../../src/lab/runtime/exec.js'
import {labDir, readState} from '../../src/lab/runtime/state.js'
import {readSerialPortOutput} from '../../src/lab/runtime/vm-boot.js'
import {compileLab} from '../../src/lab/compile/compile.js'
import type {LabPlan} from '../../src/lab/compile/types.js'
import {HeldStream, startStreamServer} from '../support/held-stream.js'
import {
  type TopologyDoc, baseTopology, denyIntoServer, modelOf, withBackendService, withFirewall, withForwardingRule, withGateway,
  withGatewayRoutes, withNicMoved, withPeering, withoutFirewall, withoutInstance, withoutPeerings, withoutRoutes, yamlOf,
} from '../support/incremental-topology.js'
import {compare, describe as describeComparison} from '../support/lab-compare.js'
import {requireLabTools} from '../support/netns.js'

const LAB = `inc${process.pid}`
const HOME = mkdtempSync(join(tmpdir(), 'xcc-incr-'))
process.env.XCC_HOME = HOME
const STREAM_PORT = 7000
const STREAM_SECONDS = 240
const MARKER = join(HOME, 'gw-startup-script-ran')

interface Step {
  readonly name: string
  readonly ms: number
  readonly summary: string
}

describe('incremental changes of a running lab', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl']])
  let doc: TopologyDoc = baseTopology()
  let model: Model = modelOf(doc)
  let plan: LabPlan
  let upMs = 0
  const steps: Step[] = []
  const stops: Array<() => void> = []
  let keeper: HeldStream
  let blocked: HeldStream
  let podPids = ''

  const ns = (ref: string): string => {
    const entry = plan.hosts[ref]
    if (!entry) throw new Error(`the lab has no ${ref}`)
    return entry.ns
  }
  const pidsIn = async (name: string): Promise<string> => (await exec('ip', ['netns', 'pids', name])).stdout.split(/\s+/).filter(Boolean).sort().join(' ')

  /** applies `next` as one change, checks the connection no change concerns, returns the apply's ms */
  async function change(name: string, next: TopologyDoc): Promise<Step> {
    const since = Date.now()
    const nextModel = modelOf(next)
    const result = await applyModelChange(labDir(LAB), model, nextModel, {topologyText: yamlOf(next)})
    doc = next
    model = nextModel
    plan = result.plan
    assert.deepEqual(readState(labDir(LAB))?.plan, plan, 'the state holds the new plan')
    assert.deepEqual(result.warnings, [], 'every deletion named something that was there')
    assert.ok(await keeper.waitForEchoes(since, 3, 5000), `${name}: the untouched connection goes on`)
    const step = {name, ms: result.ms, summary: result.summary}
    steps.push(step)
    return step
  }

  /** doctor (static, on the current model) and a real connection agree on each flow */
  async function agree(flows: ReadonlyArray<readonly [string, string, boolean]>): Promise<void> {
    for (const [from, to, reachable] of flows) {
      const c = await compare({plan, model, destroy: async () => {}}, from, to)
      assert.ok(c.agree, `doctor and lab disagree: ${describeComparison(c)}`)
      assert.equal(c.lab.connected, reachable, describeComparison(c))
    }
  }

  before(async () => {
    await labDown(LAB).catch(() => {})
    const t0 = performance.now()
    await labUp({name: LAB, model, topologyText: yamlOf(doc), source: 'incremental.test.ts'}, () => {})
    upMs = performance.now() - t0
    plan = (readState(labDir(LAB)) as {plan: LabPlan}).plan
    stops.push((await startStreamServer(ns('instance/keeper-b'), STREAM_PORT)).stop)
    stops.push((await startStreamServer(ns('instance/server'), STREAM_PORT)).stop)
    keeper = new HeldStream('keeper', ns('instance/keeper-a'), '10.0.0.3', STREAM_PORT, STREAM_SECONDS)
    blocked = new HeldStream('blocked', ns('instance/client'), '10.0.0.5', STREAM_PORT, STREAM_SECONDS)
    stops.push(() => keeper.stop(), () => blocked.stop())
    assert.ok(await keeper.waitForEchoes(0, 3, 5000), 'the held connection runs')
    assert.ok(await blocked.waitForEchoes(0, 3, 5000), 'the connection to server runs')
    // the pod's container runs once the emulated kubelet started it
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline && !(podPids = await pidsIn(ns('pod/k/default/app')))) await new Promise((r) => setTimeout(r, 100))
    assert.ok(podPids, 'the pod runs')
  })

  after(async () => {
    for (const stop of stops) stop()
    try {
      await labDown(LAB)
    } finally {
      await destroyDataPlane(LAB)
      await destroyDataPlane(`${LAB}f`)
      rmSync(HOME, {recursive: true, force: true})
    }
  })

  it('(f) before any change, the doctor and the lab agree', async () => {
    await agree([['instance/client', '10.0.0.5:80', true], ['instance/client', '10.1.0.5:80', false], ['instance/keeper-a', '10.0.0.3:80', true]])
  })

  it('(a) a deny ingress rule stops the running connection within 5 s and new ones fail; removing it lets both work', async (t) => {
    const step = await change('firewall deny added', withFirewall(doc, denyIntoServer))
    const applied = Date.now()
    await new Promise((r) => setTimeout(r, 5000))
    assert.equal(blocked.echoesSince(applied - step.ms + 5000), 0, 'no echo on the blocked connection once 5 s have passed')
    assert.equal(blocked.echoesSince(applied + 1000), 0, 'it stopped at once')
    assert.ok(blocked.alive, 'the connection is stalled, not reset')
    await agree([['instance/client', '10.0.0.5:80', false]])
    const removed = Date.now()
    await change('firewall deny deleted', withoutFirewall(doc, denyIntoServer.name))
    await agree([['instance/client', '10.0.0.5:80', true]])
    // TCP retransmits with backoff: the stalled connection resumes at its next retransmission
    assert.ok(await blocked.waitForEchoes(removed, 1, 20_000), 'the stalled connection resumes')
    t.diagnostic(`the stalled connection resumed ${((blocked.arrivals.find((a) => a >= removed) ?? 0) - removed)} ms after the deny was deleted`)
  })

  it('(c) a peering: one side changes nothing, both sides exchange routes, deletion ends it', async () => {
    const one = await change('peering, one side (INACTIVE)', withPeering(doc, 'net-a'))
    assert.equal(one.summary, 'nothing to change')
    await agree([['instance/client', '10.1.0.5:80', false]])
    await change('peering, both sides (ACTIVE)', withPeering(doc, 'net-b'))
    await agree([['instance/client', '10.1.0.5:80', true], ['instance/far', '10.0.0.4:80', true]])
    await change('peering deleted', withoutPeerings(doc))
    await agree([['instance/client', '10.1.0.5:80', false]])
  })

  it('(d) a two-NIC VM boots: its namespace appears and its startup-script runs', async () => {
    const before = new Set(await labNamespaces(LAB))
    await change('VM gw added (startup-script)', withGateway(doc, MARKER))
    const gw = ns('instance/gw')
    assert.ok(!before.has(gw) && (await labNamespaces(LAB)).includes(gw), 'its namespace is new')
    for (const ref of ['instance/keeper-a', 'instance/far', 'node/gke-k-node-1']) assert.ok(before.has(ns(ref)), `${ref} kept its namespace`)
    const links = (await exec('ip', ['-n', gw, '-o', 'addr', 'show'])).stdout
    assert.match(links, /nic0 +inet 10\.0\.0\.20\/32/)
    assert.match(links, /nic1 +inet 10\.1\.0\.20\/32/)
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && !existsSync(MARKER)) await new Promise((r) => setTimeout(r, 100))
    assert.equal(readFileSync(MARKER, 'utf8'), 'booted\n', 'the script ran')
    let serial = readSerialPortOutput(labDir(LAB), 'gw')
    while (Date.now() < deadline && !serial?.contents.includes('exit status')) {
      await new Promise((r) => setTimeout(r, 100))
      serial = readSerialPortOutput(labDir(LAB), 'gw')
    }
    assert.match(serial?.contents ?? '', /startup-script: forwarding on in 10\.1\.0\.20\/32/, 'its output is the serial console')
    assert.match(serial?.contents ?? '', /startup-script exit status 0/)
    assert.equal((await exec('ip', ['netns', 'exec', gw, 'sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim(), '1', 'the script turned forwarding on')
    // no route leads through it yet
    await agree([['instance/client', '10.1.0.5:80', false]])
  })

  it('(b) static routes through the gateway: traffic flows through it; removed, it stops', async () => {
    await change('static routes via gw added', withGatewayRoutes(doc))
    await agree([['instance/client', '10.1.0.5:80', true]])
    await change('static routes deleted', withoutRoutes(doc))
    await agree([['instance/client', '10.1.0.5:80', false]])
  })

  it('(d) removing the VM kills its processes and removes its namespace and links', async () => {
    const gw = ns('instance/gw')
    await change('VM gw deleted', withoutInstance(doc, 'gw'))
    assert.ok(!(await labNamespaces(LAB)).includes(gw), 'its namespace is gone')
    assert.equal(readSerialPortOutput(labDir(LAB), 'gw'), undefined, 'its serial console is gone')
    const routerLinks = (await exec('ip', ['-n', ns('network/net-a'), '-o', 'link', 'show'])).stdout
    assert.doesNotMatch(routerLinks, /instance\/gw/, 'its links are gone')
    await agree([['instance/client', '10.1.0.5:80', false], ['instance/client', '10.0.0.5:80', true]])
  })

  it('a change of GKE nodes, pods or ConfigMaps is refused before anything is touched', async () => {
    const withPod = structuredClone(doc) as TopologyDoc & {clusters: Array<{pods: unknown[]}>}
    withPod.clusters[0]?.pods.push({namespace: 'default', name: 'extra', node: 'gke-k-node-1', ip: '10.8.0.6'})
    const state = readState(labDir(LAB))
    await assert.rejects(applyModelChange(labDir(LAB), model, modelOf(withPod)), (e: Error) => /a change of GKE nodes or pods is not applied/.test(e.message))
    const withConfigMap = structuredClone(doc) as TopologyDoc & {clusters: Array<{configMaps?: unknown[]}>}
    withConfigMap.clusters[0]!.configMaps = [{namespace: 'kube-system', name: 'kube-dns', data: {stubDomains: '{}'}}]
    await assert.rejects(applyModelChange(labDir(LAB), model, modelOf(withConfigMap)), (e: Error) => /a change of a cluster's configMaps is not applied to a running lab \(cluster /.test(e.message))
    await assert.rejects(applyModelChange(labDir(LAB), modelOf(withGateway(doc, MARKER)), model), (e: Error) => /does not start from what lab/.test(e.message))
    assert.deepEqual(readState(labDir(LAB)), state, 'the state is as it was')
  })

  it('(e) an internal load balancer built step by step serves its VIP', async () => {
    await change('backend service added', withBackendService(doc))
    await agree([['instance/client', '10.0.0.5:80', true]])
    await change('forwarding rule added', withForwardingRule(doc))
    await agree([['instance/client', 'lb/web-ilb', true], ['instance/client', '10.0.0.100:80', true]])
  })

  it('a VM whose NIC moves to another network keeps its namespace and is reached there', async () => {
    const farNs = ns('instance/far')
    const moved = withNicMoved(doc, 'far', 'net-a', 'a', '10.0.0.30')
    await change('VM far moved to net-a', moved)
    assert.equal(ns('instance/far'), farNs)
    await agree([['instance/client', '10.0.0.30:80', true], ['instance/far', '10.0.0.5:80', true]])
  })

  it('the held connection survived every change, the pod kept its processes', async () => {
    assert.ok(keeper.alive, 'the same connection is still open')
    const gap = keeper.longestGapSince(keeper.arrivals[0] as number)
    assert.ok(gap < 2500, `the untouched connection never stalled (longest gap ${gap} ms)`)
    assert.equal(await pidsIn(ns('pod/k/default/app')), podPids, 'the pod runs the same processes')
  })

  it('apply times against a full build', async (t) => {
    // the data plane of the last topology built from nothing, for comparison (lab up also starts the API servers)
    const full = compileLab(model, `${LAB}f`)
    const t0 = performance.now()
    await buildDataPlane(full)
    const buildMs = performance.now() - t0
    await destroyDataPlane(`${LAB}f`)
    t.diagnostic(`lab up (data plane, daemon, API server): ${upMs.toFixed(0)} ms; data plane of the last topology from nothing: ${buildMs.toFixed(0)} ms`)
    for (const s of steps) t.diagnostic(`${s.name}: ${s.ms.toFixed(0)} ms (${s.summary})`)
    const slowest = Math.max(...steps.map((s) => s.ms))
    t.diagnostic(`slowest apply ${slowest.toFixed(0)} ms, median ${[...steps.map((s) => s.ms)].sort((a, b) => a - b)[Math.floor(steps.length / 2)]?.toFixed(0)} ms`)
  })
})
