/**
 * `xcc masquerade` against the lab (issue 5): the doctor's fix is run exactly as printed, the
 * xcc-masquerade DaemonSet (kubenet cluster, seed 001) or the ip-masq-agent ConfigMap (agent
 * cluster) changes the node's real nat table, real connections change their source address,
 * and `remove` brings back the exact previous state and the failure.
 */
import assert from 'node:assert/strict'
import {type SpawnSyncReturns, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {dump, load} from 'js-yaml'

import {adminApi, limitedKubeconfig} from '../support/lab-kube.js'
import {requireLabTools} from '../support/netns.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const HOME = mkdtempSync(join(tmpdir(), 'xcc-masq-home-'))
const LAB = `mq${process.pid}`
const KUBECONFIG = join(HOME, 'labs', LAB, 'kubeconfig')
const NODE = 'gke-frontend-cluster-default-pool-d65237bb-1c6s'
const NODE_IP = '10.209.0.2'
const ILB = ['--to', '10.193.0.3:32191', '--to-context', 'backend']

const env = {...process.env, XCC_HOME: HOME, KUBECONFIG, NO_COLOR: '1'}

function xcc(args: readonly string[], timeout = 90_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', timeout, env})
}

function ok(r: SpawnSyncReturns<string>, code: number, what: string): SpawnSyncReturns<string> {
  assert.equal(r.status, code, `${what} exited ${r.status}\nstdout: ${r.stdout.slice(0, 3000)}\nstderr: ${r.stderr.slice(-3000)}`)
  return r
}

function labUp(scenario: string): void {
  xcc(['lab', 'down', '--name', LAB])
  ok(xcc(['lab', 'up', '--scenario', scenario, '--name', LAB]), 0, `lab up ${scenario}`)
}

interface Report {
  verdict: string
  diagnosis: {code: string; fix: string[]; fixes: Array<{summary: string; commands: string[]; applies: string}>} | null
  observations: {captures: Array<{at: string; packets: Array<{role: string; src: string; dst: string}>}>}
}

/** the backend node's capture saw the SYN arrive from the frontend node's address (masqueraded) */
function arrivesFromNode(r: Report): boolean {
  return r.observations.captures.some((c) => c.at.startsWith('node/gke-backend') && c.packets.some((p) => p.role === 'request' && p.src === NODE_IP))
}

function liveDoctor(expect: number): Report {
  return JSON.parse(ok(xcc(['doctor', '--from', 'frontend', ...ILB, '--timeout', '2s', '--json']), expect, 'live doctor').stdout) as Report
}

/** the static doctor on the scenario's file, with the node's rules replaced by a fresh snapshot when given */
function staticDoctor(scenario: string, expect: number, nodeRules?: string): Report {
  const file = join(HOME, `${scenario}.yaml`)
  const topology = load(readFileSync(join(ROOT, 'templates/scenarios', `${scenario}.yaml`), 'utf8')) as {clusters: Array<{name: string; nodes: Array<{name: string; iptables?: string}>}>}
  if (nodeRules !== undefined) {
    const node = topology.clusters.find((c) => c.name === 'frontend')!.nodes.find((n) => n.name === NODE)!
    node.iptables = nodeRules
  }
  writeFileSync(file, dump(topology, {lineWidth: -1}))
  return JSON.parse(ok(xcc(['doctor', '--topology', file, '--from', 'frontend', '--to', 'lb/backend-ilb', '--json']), expect, 'static doctor').stdout) as Report
}

function natRules(): string {
  return ok(xcc(['lab', 'exec', '--name', LAB, `node/${NODE}`, '--', 'iptables-save', '-t', 'nat']), 0, 'iptables-save').stdout
}

/** the nat table without comments and counters, to compare states */
function natState(text: string): string {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/, '')).join('\n')
}

/**
 * The client address the backend's echo server saw for a connection from the frontend pod:
 * behind the NodePort (externalTrafficPolicy Cluster) kube-proxy masquerades to the backend
 * node (SVC-06), so the server sees that node's address, never the pod's (and nothing at all
 * while replies cannot come back).
 */
function echoClient(): string | undefined {
  const r = xcc(['lab', 'exec', '--name', LAB, 'pod/frontend/default/curl', '--', 'curl', '-s', '--max-time', '2', 'http://10.193.0.3:32191/'])
  return /client_address=(\S+)/.exec(r.stdout)?.[1]
}

/** the printed fix, run as the user would (what follows `#` is a shell comment) */
function runFix(fix: string, extra: readonly string[] = []): SpawnSyncReturns<string> {
  const words = fix.split('#')[0]!.trim().split(/\s+/)
  assert.deepEqual(words.slice(0, 3), ['xcc', 'masquerade', 'add'])
  return xcc([...words.slice(1), ...extra])
}

async function daemonSetPods(): Promise<Array<{node?: string; phase?: string}>> {
  const {core} = await adminApi(KUBECONFIG, 'frontend')
  const list = await core.listNamespacedPod({namespace: 'kube-system', labelSelector: 'app.kubernetes.io/name=xcc-masquerade'})
  return list.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => ({node: p.spec?.nodeName, phase: p.status?.phase}))
}

async function daemonSet(): Promise<{resourceVersion?: string; generation?: number} | undefined> {
  const {apps} = await adminApi(KUBECONFIG, 'frontend')
  const ds = await apps.readNamespacedDaemonSet({namespace: 'kube-system', name: 'xcc-masquerade'}).catch(() => undefined)
  return ds ? {resourceVersion: ds.metadata?.resourceVersion, generation: ds.metadata?.generation} : undefined
}

async function configMap(): Promise<{config?: string; annotations: Record<string, string>; resourceVersion?: string} | undefined> {
  const {core} = await adminApi(KUBECONFIG, 'frontend')
  const cm = await core.readNamespacedConfigMap({namespace: 'kube-system', name: 'ip-masq-agent'}).catch(() => undefined)
  return cm ? {config: cm.data?.config, annotations: cm.metadata?.annotations ?? {}, resourceVersion: cm.metadata?.resourceVersion} : undefined
}

interface Listing {drift: boolean; cidrs: string[]; nodes: Array<{node: string; cidrs: Array<{cidr: string; decision: string}>}>}

function list(expect: number): Listing {
  return JSON.parse(ok(xcc(['masquerade', 'list', '--context', 'frontend', '--json']), expect, 'masquerade list').stdout) as Listing
}

/** the agent applies a ConfigMap change asynchronously: wait (bounded) until the node decides as expected */
async function untilNode(decision: string, range: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const r = JSON.parse(xcc(['masquerade', 'list', '--context', 'frontend', '--cidr', range, '--json']).stdout) as Listing
    if (r.nodes.every((n) => n.cidrs.find((c) => c.cidr === range)?.decision === decision)) return
    await new Promise((res) => setTimeout(res, 250))
  }
  assert.fail(`the node never decided ${decision} for ${range}`)
}

describe('xcc masquerade on the lab', () => {
  requireLabTools([['curl', ['--version'], 'curl'], ['tcpdump', ['--version'], 'tcpdump'], ['socat', ['-V'], 'socat']])
  after(() => {
    xcc(['lab', 'down', '--name', LAB])
    rmSync(HOME, {recursive: true, force: true})
  })

  it('seed 001 (kubenet): the doctor\'s command deploys the DaemonSet, the flow works with the node address, remove brings the failure back', async () => {
    labUp('peered-vpcs-missing-snat')
    const before = natRules()
    const live = liveDoctor(1)
    assert.equal(live.diagnosis?.code, 'POD_SNAT_MISSING')
    assert.equal(live.diagnosis?.fix[0], 'xcc masquerade add --context frontend --cidr 10.193.0.3/32')
    // the lab's kubeconfig has a context named after the cluster: the command names it, with no caveat
    const fix = staticDoctor('peered-vpcs-missing-snat', 1).diagnosis?.fix[0] ?? ''
    assert.equal(fix, 'xcc masquerade add --context frontend --cidr 10.193.0.0/16')
    assert.equal(echoClient(), undefined, 'no answer while the SYN leaves with the pod address')

    const added = JSON.parse(ok(runFix(fix, ['--json']), 0, fix).stdout) as {mode: string; cidrs: string[]; applied: Array<{kind: string; action: string; rolledOut?: boolean}>}
    assert.equal(added.mode, 'daemonset', 'kubenet nodes: xcc runs its DaemonSet')
    assert.deepEqual(added.applied.map((a) => [a.kind, a.action, a.rolledOut]), [['DaemonSet', 'create', true]])
    const {core} = await adminApi(KUBECONFIG, 'frontend')
    const nodes = (await core.listNode()).items.map((n) => n.metadata?.name).sort()
    assert.deepEqual((await daemonSetPods()).map((p) => [p.node, p.phase]).sort(), nodes.map((n) => [n, 'Running']), 'a running pod on every node')
    assert.match(natRules(), /^-A POSTROUTING .*-j XCC-MASQ\n/m, 'the jump is in the node\'s nat table')
    assert.match(natRules().split('\n').find((l) => l.startsWith('-A POSTROUTING')) ?? '', /-j XCC-MASQ$/, 'and it is the first POSTROUTING rule')

    const fixed = liveDoctor(0)
    assert.equal(fixed.verdict, 'reachable')
    assert.ok(arrivesFromNode(fixed), 'the SYN arrives at the backend from the frontend node address')
    assert.equal(staticDoctor('peered-vpcs-missing-snat', 0, natRules()).verdict, 'reachable', 'the static doctor agrees with a fresh snapshot of the node rules')
    assert.equal(echoClient(), NODE_IP, 'the echo server answers and sees the frontend node\'s address, not the pod address (externalTrafficPolicy: Local keeps it)')
    assert.deepEqual(list(0).nodes.map((n) => n.cidrs.map((c) => c.decision)), [['masquerade']])

    const remove = JSON.parse(ok(xcc(['masquerade', 'remove', '--context', 'frontend', '--cidr', '10.193.0.0/16', '--json']), 0, 'remove').stdout) as {applied: Array<{action: string; rolledOut?: boolean}>}
    assert.deepEqual(remove.applied.map((a) => [a.action, a.rolledOut]), [['delete', true]])
    assert.equal(await daemonSet(), undefined)
    assert.equal(natState(natRules()), natState(before), 'the node\'s nat table is exactly as before')
    assert.equal(liveDoctor(1).diagnosis?.code, 'POD_SNAT_MISSING', 'the failure is back')
  })

  it('add twice changes nothing the second time; --dry-run and -o yaml touch nothing; list shows a node that lost its rule', async () => {
    labUp('peered-vpcs-missing-snat')
    ok(xcc(['masquerade', 'add', '--context', 'frontend', '--cidr', '10.193.0.0/16']), 0, 'add')
    const first = await daemonSet()
    const again = JSON.parse(ok(xcc(['masquerade', 'add', '--context', 'frontend', '--cidr', '10.193.0.0/16', '--json']), 0, 'add again').stdout) as {changes: Array<{action: string}>; applied: unknown[]}
    assert.deepEqual(again.changes.map((c) => c.action), ['none'])
    assert.deepEqual(again.applied, [])
    assert.deepEqual(await daemonSet(), first, 'the DaemonSet was not written again')

    const rules = natRules()
    const diff = ok(xcc(['masquerade', 'add', '--context', 'frontend', '--cidr', '10.194.0.0/16', '--dry-run']), 0, 'dry run').stdout
    assert.match(diff, /update DaemonSet kube-system\/xcc-masquerade/)
    assert.match(diff, /^- +value: 10\.193\.0\.0\/16$/m)
    assert.match(diff, /^\+ +value: 10\.193\.0\.0\/16,10\.194\.0\.0\/16$/m)
    const yaml = ok(xcc(['masquerade', 'add', '--context', 'frontend', '--cidr', '10.194.0.0/16', '--dry-run', '-o', 'yaml']), 0, 'dry run yaml').stdout
    const manifest = load(yaml) as {kind: string; metadata: {name: string; resourceVersion?: string; annotations: Record<string, string>}}
    assert.equal(manifest.kind, 'DaemonSet')
    assert.equal(manifest.metadata.annotations['xcc.dev/masquerade-cidrs'], '10.193.0.0/16,10.194.0.0/16')
    assert.equal(manifest.metadata.resourceVersion, undefined, 'a manifest for GitOps, without server fields')
    assert.deepEqual(await daemonSet(), first, 'the dry runs wrote nothing')
    assert.equal(natState(natRules()), natState(rules), 'and changed nothing on the node')

    assert.equal(list(0).drift, false)
    // past the pod's early second pass (3 s after start): the next reconcile is 30 s away
    await new Promise((res) => setTimeout(res, 3500))
    ok(xcc(['lab', 'exec', '--name', LAB, `node/${NODE}`, '--', 'iptables', '-t', 'nat', '-F', 'XCC-MASQ']), 0, 'flush the chain by hand')
    const drifted = list(1)
    assert.equal(drifted.drift, true, 'the node that lost its rule is visible')
    assert.deepEqual(drifted.nodes.map((n) => n.cidrs.map((c) => [c.cidr, c.decision])), [[['10.193.0.0/16', 'pod-ip']]])

    // a second range rolls the DaemonSet (maxSurge: the new pod takes the chain over before the old one stops)
    const rolled = JSON.parse(ok(xcc(['masquerade', 'add', '--context', 'frontend', '--cidr', '10.194.0.0/16', '--json']), 0, 'add a second range').stdout) as {applied: Array<{action: string; rolledOut?: boolean}>}
    assert.deepEqual(rolled.applied.map((a) => [a.action, a.rolledOut]), [['update', true]])
    const both = list(0)
    assert.deepEqual(both.nodes.map((n) => n.cidrs.map((c) => [c.cidr, c.decision])), [[['10.193.0.0/16', 'masquerade'], ['10.194.0.0/16', 'masquerade']]], 'the new pod repaired the drift too')
    assert.match(natRules(), /-A XCC-MASQ -d 10\.194\.0\.0\/16 /)
    ok(xcc(['masquerade', 'remove', '--context', 'frontend', '--cidr', '10.194.0.0/16']), 0, 'remove one range')
    assert.doesNotMatch(natRules(), /10\.194\.0\.0\/16/, 'a removed range leaves the node')
    assert.match(natRules(), /-A XCC-MASQ -d 10\.193\.0\.0\/16 /, 'the other stays')
    ok(xcc(['masquerade', 'remove', '--context', 'frontend', '--all']), 0, 'remove --all')
    assert.doesNotMatch(natRules(), /XCC-MASQ/)
  })

  it('bad input and missing permission: exit 2 or 3, nothing changed', async () => {
    labUp('peered-vpcs-missing-snat')
    const cases: Array<[string[], number, RegExp]> = [
      [['add', '--context', 'frontend', '--cidr', '0.0.0.0/0'], 2, /refusing to masquerade every destination/],
      [['add', '--context', 'frontend', '--cidr', '10.132.0.0/14'], 2, /contains the pod range 10\.132\.0\.0\/24 of node/],
      [['add', '--context', 'frontend', '--cidr', '10.193.0.0/16,10.193.4.0/24'], 2, /overlaps 10\.193\.0\.0\/16/],
      [['add', '--context', 'frontend', '--cidr', '10.193.0.1/16'], 2, /host bits are set/],
      [['add', '--context', 'frontend', '--cidr', 'banana'], 2, /--cidr banana/],
      [['add', '--context', 'nowhere', '--cidr', '10.193.0.0/16'], 2, /kube context "nowhere" not found/],
      [['add', '--context', 'frontend', '--cidr', '10.193.0.0/16', '--mode', 'magic'], 2, /--mode magic/],
      [['add', '--context', 'frontend', '--cidr', '10.193.0.0/16', '-o', 'yaml'], 2, /needs --dry-run/],
      [['remove', '--context', 'frontend', '--cidr', '10.193.0.0/16'], 2, /does not masquerade this range/],
      [['remove', '--context', 'frontend'], 2, /give --cidr/],
    ]
    for (const [args, code, message] of cases) {
      const r = ok(xcc(['masquerade', ...args]), code, args.join(' '))
      assert.match(r.stderr, message)
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    }
    const limited = await limitedKubeconfig(KUBECONFIG, HOME)
    const denied = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'masquerade', 'add', '--context', 'limited', '--cidr', '10.193.0.0/16', '--kubeconfig', limited], {cwd: ROOT, encoding: 'utf8', env})
    ok(denied, 3, 'add without permission')
    assert.match(denied.stderr, /missing permission .*xcc masquerade needs to/)
    assert.match(denied.stderr, /kubectl --context limited create clusterrole xcc-masquerade-admin/)
    assert.equal(await daemonSet(), undefined, 'nothing was created')
    assert.equal(await configMap(), undefined)
  })

  it('ip-masq-agent cluster: add edits the ConfigMap (no DaemonSet), the agent rewrites IP-MASQ, remove restores the ConfigMap byte for byte', async () => {
    labUp('peered-vpcs-ip-masq-agent')
    const original = await configMap()
    assert.ok(original?.config, 'the lab cluster has the agent\'s ConfigMap')
    assert.equal(liveDoctor(1).diagnosis?.code, 'POD_SNAT_MISSING')
    const diagnosis = staticDoctor('peered-vpcs-ip-masq-agent', 1).diagnosis
    const fix = diagnosis?.fix[0] ?? ''
    assert.equal(fix, 'xcc masquerade add --context frontend --cidr 10.193.0.0/16')
    assert.match(diagnosis?.fixes[0]?.summary ?? '', /nonMasqueradeCIDRs of kube-system\/ip-masq-agent/)

    const added = JSON.parse(ok(runFix(fix, ['--json']), 0, fix).stdout) as {mode: string; applied: Array<{kind: string; action: string}>}
    assert.equal(added.mode, 'ip-masq-agent')
    assert.deepEqual(added.applied.map((a) => [a.kind, a.action]), [['ConfigMap', 'update']])
    assert.equal(await daemonSet(), undefined, 'no DaemonSet where the agent governs SNAT')
    const edited = await configMap()
    const list2 = (load(edited?.config ?? '') as {nonMasqueradeCIDRs: string[]}).nonMasqueradeCIDRs
    assert.ok(!list2.includes('10.0.0.0/8') && list2.includes('10.192.0.0/16') && list2.includes('10.194.0.0/15'), `10/8 is split around 10.193.0.0/16: ${list2.join(',')}`)
    await untilNode('masquerade', '10.193.0.0/16')
    const fixed = liveDoctor(0)
    assert.equal(fixed.verdict, 'reachable')
    assert.ok(arrivesFromNode(fixed), 'the SYN arrives at the backend from the frontend node address')
    assert.equal(staticDoctor('peered-vpcs-ip-masq-agent', 0, natRules()).verdict, 'reachable')
    assert.equal(echoClient(), NODE_IP)

    const again = JSON.parse(ok(runFix(fix, ['--json']), 0, 'add again').stdout) as {applied: unknown[]}
    assert.deepEqual(again.applied, [], 'the second add changes nothing')
    assert.equal((await configMap())?.resourceVersion, edited?.resourceVersion)

    ok(xcc(['masquerade', 'remove', '--context', 'frontend', '--cidr', '10.193.0.0/16']), 0, 'remove')
    const restored = await configMap()
    assert.equal(restored?.config, original.config, 'the config text is restored exactly')
    assert.deepEqual(restored?.annotations, original.annotations)
    await untilNode('pod-ip', '10.193.0.0/16')
    assert.equal(liveDoctor(1).diagnosis?.code, 'POD_SNAT_MISSING', 'the failure is back')
  })
})
