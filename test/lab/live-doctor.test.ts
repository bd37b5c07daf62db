/**
 * The live doctor against the lab (issue 4): real probe and capture pods through the lab's
 * emulated API servers, real tcpdump in the node and VM namespaces, real packets. Each case
 * runs `xcc doctor` as a user would and asserts the verdict, the root cause, the captured
 * evidence, and that no pod of the run is left behind.
 */
import assert from 'node:assert/strict'
import {type SpawnSyncReturns, spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {liveReportSchema} from '../../src/core/probe/report-schema.js'
import {adminApi as adminApiOf, limitedKubeconfig as limitedKubeconfigOf} from '../support/lab-kube.js'
import {requireLabTools} from '../support/netns.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const HOME = mkdtempSync(join(tmpdir(), 'xcc-live-home-'))
const LAB = `lv${process.pid}`
const KUBECONFIG = join(HOME, 'labs', LAB, 'kubeconfig')
const SEED_001_NODE = 'node/gke-frontend-cluster-default-pool-d65237bb-1c6s'

const env = {...process.env, XCC_HOME: HOME, KUBECONFIG, NO_COLOR: '1'}

function xcc(args: readonly string[], timeout = 90_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', timeout, env})
}

function labUp(source: string[]): void {
  xcc(['lab', 'down', '--name', LAB])
  const r = xcc(['lab', 'up', ...source, '--name', LAB])
  assert.equal(r.status, 0, `lab up ${source.join(' ')} failed:\n${r.stderr}`)
}

interface Report {
  verdict: string
  diagnosis: {code: string; summary: string; evidence: string[]; fix: string[]; fixes: Array<{summary: string; commands: string[]; applies: string}>} | null
  flow: {packet: {srcPort: number}}
  forward: Array<{step: string; at: string; packet: {src: string}}>
  findings: Array<{check: string; status: string; summary: string; evidence?: string[]}>
  observations: {
    runId: string
    probe: {result: string; src?: string; mode: string}
    captures: Array<{at: string; status: string; packets: Array<{role: string; direction?: string; src: string; srcPort?: number; dst: string; dstPort?: number; line: string}>}>
    notes: string[]
    checks?: Array<{step: string; at: string; status: string}>
    cleanup: {deleted: string[]; kept: string[]; failed: string[]}
  }
}

function doctor(args: readonly string[], expectExit: number): Report {
  const r = xcc(['doctor', ...args, '--timeout', '2s', '--json'])
  assert.equal(r.status, expectExit, `xcc doctor ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout.slice(0, 3000)}\nstderr: ${r.stderr.slice(-3000)}`)
  const report: unknown = JSON.parse(r.stdout)
  // the live --json is the contract's object plus observations, exactly
  const parsed = liveReportSchema.safeParse(report)
  assert.ok(parsed.success, `the live report matches its schema: ${parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 5))}`)
  return report as Report
}

/** every pod the lab's clusters hold with xcc's label (kubectl-equivalent listing through the API) */
async function ownedPods(): Promise<string[]> {
  const k8s = await import('@kubernetes/client-node')
  const config = new k8s.KubeConfig()
  config.loadFromFile(KUBECONFIG)
  const names: string[] = []
  for (const context of config.getContexts()) {
    config.setCurrentContext(context.name)
    const api = config.makeApiClient(k8s.CoreV1Api)
    const list = await api.listPodForAllNamespaces({labelSelector: 'app.kubernetes.io/managed-by=xcc'})
    names.push(...list.items.map((p) => `${context.name}/${p.metadata?.namespace}/${p.metadata?.name}`))
  }
  return names
}

async function assertNoPodsLeft(): Promise<void> {
  assert.deepEqual(await ownedPods(), [], 'no pod of the run is left behind')
}

const adminApi = (context: string) => adminApiOf(KUBECONFIG, context)
const limitedKubeconfig = () => limitedKubeconfigOf(KUBECONFIG, HOME)

async function labelNamespace(context: string, namespace: string, level: string | null): Promise<void> {
  const {k8s, core} = await adminApi(context)
  await core.patchNamespace({name: namespace, body: {metadata: {labels: {'pod-security.kubernetes.io/enforce': level}}}}, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))
}

describe('xcc doctor on live clusters (the lab)', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['tcpdump', ['--version'], 'tcpdump'], ['openssl', ['version'], 'openssl']])
  after(() => {
    xcc(['lab', 'down', '--name', LAB])
    rmSync(HOME, {recursive: true, force: true})
  })

  it('seed 001 without a topology: POD_SNAT_MISSING, proven by the SYN leaving the node with the pod address and no SYN-ACK', async () => {
    labUp(['--scenario', 'peered-vpcs-missing-snat'])
    const r = doctor(['--from', 'frontend', '--to', '10.193.0.3:32191', '--to-context', 'backend'], 1)
    assert.equal(r.verdict, 'unreachable')
    assert.equal(r.diagnosis?.code, 'POD_SNAT_MISSING')
    const pod = r.observations.probe.src as string
    assert.match(pod, /^10\.132\.0\.\d+$/, 'the probe pod has an address of the node pod range')
    const source = r.observations.captures.find((c) => c.at === SEED_001_NODE)
    assert.equal(source?.status, 'ok')
    const left = source?.packets.filter((p) => p.role === 'request' && p.direction === 'Out') ?? []
    assert.ok(left.length >= 2, 'the SYN leaves the node and is retransmitted')
    assert.ok(left.every((p) => p.src === pod && p.dst === '10.193.0.3'), 'with the pod address, as in the seed')
    assert.equal(source?.packets.filter((p) => p.role === 'reply').length, 0, 'no SYN-ACK reaches the node')
    assert.ok(r.diagnosis?.evidence.some((e) => e.includes(`SYN ${pod}:`) && e.includes('eth0 Out') && e.includes('tcpdump: ')), 'the captured tcpdump line is evidence')
    assert.ok(r.diagnosis?.evidence.some((e) => e.includes('no SYN-ACK came back')))
    assert.ok(r.diagnosis?.evidence.some((e) => e.startsWith('node/gke-backend') && e.includes('SYN-ACK')), 'the backend node answered')
    const nat = r.forward.find((s) => s.step === 'SKIP_GKE_POD_IP_MASQUERADING')
    assert.ok(nat, 'the node rules read live predict no masquerade')
    assert.ok(r.observations.cleanup.deleted.length >= 3)
    await assertNoPodsLeft()
  })

  it('--from <context>/<namespace>/<pod> probes from inside that pod (ephemeral container), with its own address', async () => {
    const r = doctor(['--from', 'frontend/default/curl', '--to', '10.193.0.3:32191', '--to-context', 'backend'], 1)
    assert.equal(r.observations.probe.mode, 'ephemeral')
    assert.equal(r.observations.probe.src, '10.132.0.10', 'the seed pod itself')
    assert.equal(r.diagnosis?.code, 'POD_SNAT_MISSING')
    assert.ok(r.diagnosis?.evidence.some((e) => e.includes('SYN 10.132.0.10:') && e.includes('eth0 Out')))
    await assertNoPodsLeft()
  })

  it('missing RBAC permissions are reported before anything is created, with what to grant (exit 3)', async () => {
    const config = await limitedKubeconfig()
    const r = xcc(['doctor', '--kubeconfig', config, '--from', 'limited', '--to', '10.193.0.3:32191'])
    assert.equal(r.status, 3, r.stderr)
    assert.match(r.stderr, /missing permission in context "limited": xcc doctor needs to create pods in namespace default/)
    assert.match(r.stderr, /list nodes \(cluster-wide\)/)
    assert.match(r.stderr, /kubectl --context limited -n default create role xcc-doctor --verb=create,get,delete --resource=pods,pods\/log/)
    assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m)
    await assertNoPodsLeft()
  })

  it('a probe namespace whose Pod Security level forbids host-network pods is refused before anything is created (exit 3)', async () => {
    await labelNamespace('frontend', 'default', 'baseline')
    try {
      const r = xcc(['doctor', '--from', 'frontend', '--to', '10.193.0.3:32191'])
      assert.equal(r.status, 3, r.stderr)
      assert.match(r.stderr, /namespace "default" in context "frontend" enforces Pod Security "baseline"/)
      assert.match(r.stderr, /pod-security.kubernetes.io\/enforce=privileged/)
    } finally {
      await labelNamespace('frontend', 'default', null)
    }
    await assertNoPodsLeft()
  })

  it('seed 001 with --live --topology: the prediction is confirmed hop by hop', async () => {
    const r = doctor(['--live', '--topology', 'templates/scenarios/peered-vpcs-missing-snat.yaml', '--from', 'frontend', '--to', '10.193.0.3:32191', '--to-context', 'backend'], 1)
    assert.equal(r.diagnosis?.code, 'POD_SNAT_MISSING')
    assert.ok((r.observations.checks ?? []).length >= 4)
    assert.deepEqual((r.observations.checks ?? []).filter((c) => c.status !== 'match'), [])
    assert.equal(r.findings.find((f) => f.check === 'probe.matches-prediction')?.status, 'pass')
    await assertNoPodsLeft()
  })

  it('says where live observation contradicts the --topology file, naming the step', async () => {
    // the file says the node masquerades (seed 001 fixed); the lab runs seed 001 as it failed.
    // No --live: --to-context is a flag of probes, so the file is checked against the clusters.
    const r = doctor(['--topology', 'templates/scenarios/peered-vpcs-fixed-snat.yaml', '--from', 'frontend', '--to', '10.193.0.3:32191', '--to-context', 'backend'], 1)
    assert.equal(r.verdict, 'unreachable')
    const contradiction = r.findings.find((f) => f.check === 'probe.matches-prediction')
    assert.equal(contradiction?.status, 'fail')
    const mismatch = r.observations.checks?.find((c) => c.status === 'mismatch' && c.at === SEED_001_NODE)
    assert.equal(mismatch?.step, 'NAT', 'the NAT step on the source node is where the file and the node disagree')
    assert.match(contradiction?.summary ?? '', /NAT \(node\/gke-frontend/)
    assert.equal(r.diagnosis?.code, 'POD_SNAT_MISSING', 'the packets name the real cause')
    assert.ok(r.diagnosis?.evidence.some((e) => e.startsWith('contradiction at NAT')))
    await assertNoPodsLeft()
  })

  it('seed 001 fixed: reachable, without a topology', async () => {
    labUp(['--scenario', 'peered-vpcs-fixed-snat'])
    const r = doctor(['--from', 'frontend', '--to', '10.193.0.3:32191', '--to-context', 'backend'], 0)
    assert.equal(r.verdict, 'reachable')
    assert.equal(r.diagnosis, null)
    assert.equal(r.observations.probe.result, 'connected')
    assert.ok(r.forward.some((s) => s.step === 'NAT'), 'the node rules read live masquerade the peer range')
    await assertNoPodsLeft()
  })

  it('seed 000: GATEWAY_SNAT_MISSING with the gateway capture as evidence', async () => {
    labUp(['--scenario', 'gateways-missing-snat'])
    const r = doctor(['--live', '--topology', 'templates/scenarios/gateways-missing-snat.yaml', '--from', 'c1', '--to', '10.210.200.7:80', '--to-context', 'c2'], 1)
    assert.equal(r.diagnosis?.code, 'GATEWAY_SNAT_MISSING')
    const gateway = r.observations.captures.find((c) => c.at === 'instance/c1-gw-1')
    assert.equal(gateway?.status, 'ok')
    const pod = r.observations.probe.src as string
    const forwarded = gateway?.packets.filter((p) => p.role === 'request' && p.src === pod) ?? []
    assert.ok(forwarded.some((p) => p.direction === 'In') && forwarded.some((p) => p.direction === 'Out'), 'the gateway receives and forwards the SYN with the pod address (no SNAT)')
    assert.ok(r.diagnosis?.evidence.some((e) => e.startsWith('observed: instance/c1-gw-1') && e.includes('tcpdump: ')), 'the gateway capture is evidence')
    await assertNoPodsLeft()
  })

  it('seed 000 fixed: reachable', async () => {
    labUp(['--scenario', 'gateways-fixed-snat'])
    const r = doctor(['--live', '--topology', 'templates/scenarios/gateways-fixed-snat.yaml', '--from', 'c1', '--to', '10.210.200.7:80', '--to-context', 'c2'], 0)
    assert.equal(r.verdict, 'reachable')
    const gateway = r.observations.captures.find((c) => c.at === 'instance/c1-gw-1')
    assert.ok(gateway?.packets.some((p) => p.role === 'request' && p.direction === 'Out' && p.src === '10.210.200.2'), 'the fixed gateway masquerades to its own address')
    await assertNoPodsLeft()
  })

  it('a firewall drop, diagnosed live: the SYN never reaches the backend node', async () => {
    labUp(['--topology', 'test/fixtures/topologies/firewall-blocks-pod-range.yaml'])
    const r = doctor(['--live', '--topology', 'test/fixtures/topologies/firewall-blocks-pod-range.yaml', '--from', 'a', '--to', 'b/default/server'], 1)
    assert.equal(r.diagnosis?.code, 'FIREWALL_RULE')
    const backend = r.observations.captures.find((c) => c.at === 'node/gke-b-node-1')
    assert.equal(backend?.status, 'ok')
    assert.equal(backend?.packets.filter((p) => p.role === 'request').length, 0, 'nothing arrives at the backend node')
    await assertNoPodsLeft()
  })

  it('a cross-region ILB without global access, diagnosed live', async () => {
    labUp(['--scenario', 'ilb-cross-region-no-global-access'])
    const r = doctor(['--live', '--topology', 'templates/scenarios/ilb-cross-region-no-global-access.yaml', '--from', 'a', '--to', 'b/default/server'], 1)
    assert.equal(r.diagnosis?.code, 'FORWARDING_RULE_REGION_MISMATCH')
    assert.equal(r.observations.probe.result, 'timeout')
    assert.equal(r.findings.find((f) => f.check === 'probe.matches-prediction')?.status, 'pass')
    await assertNoPodsLeft()
  })

  it('the same without a topology: the Service\'s annotations and the nodes\' region labels tell it (SVC-01, SVC-02, ILB-03)', async () => {
    const r = doctor(['--from', 'a', '--to', 'b/default/server'], 1)
    assert.equal(r.verdict, 'unreachable')
    assert.equal(r.diagnosis?.code, 'FORWARDING_RULE_REGION_MISMATCH')
    assert.ok(r.diagnosis?.evidence.some((e) => /service default\/server \(context b\): an internal load balancer/.test(e)))
    assert.ok(r.diagnosis?.fix.some((f) => /kubectl --context b -n default annotate service server networking\.gke\.io\/internal-load-balancer-allow-global-access=true/.test(f)))
    await assertNoPodsLeft()
  })

  it('--keep keeps the pods; xcc doctor cleanup removes them by label', async () => {
    const r = doctor(['--from', 'a', '--to', 'b/default/server', '--keep'], 1)
    assert.ok(r.observations.cleanup.kept.length >= 2)
    assert.equal((await ownedPods()).length, r.observations.cleanup.kept.length)
    const dry = xcc(['doctor', 'cleanup', '--all-contexts', '--dry-run', '--json'])
    assert.equal(dry.status, 0, dry.stderr)
    assert.equal(JSON.parse(dry.stdout).pods.length, r.observations.cleanup.kept.length)
    assert.equal((await ownedPods()).length, r.observations.cleanup.kept.length, 'a dry run removes nothing')
    const clean = xcc(['doctor', 'cleanup', '--context', 'a', '--context', 'b', '--run-id', r.observations.runId])
    assert.equal(clean.status, 0, clean.stderr)
    await assertNoPodsLeft()
  })

  it('Ctrl-C during a run removes every pod it created and exits 130', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), 'doctor', '--from', 'a', '--to', 'b/default/server', '--timeout', '30s'], {cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const deadline = Date.now() + 20_000
    while (!/Probe 10\./.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    assert.ok((await ownedPods()).length >= 2, `the run has pods while it runs:\n${stderr}`)
    child.kill('SIGINT')
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 20_000))])
    assert.equal(code, 130, stderr)
    assert.match(stderr, /interrupted/)
    await assertNoPodsLeft()
  })

  it('bad input: exit 2 with a message, nothing created', async () => {
    for (const [args, message] of [
      [['--from', 'nope', '--to', '10.0.0.1:80'], /kube context "nope" not found/],
      [['--from', 'a/default', '--to', '10.0.0.1:80'], /--from a\/default: has 2 parts/],
      [['--from', 'a', '--to', '10.0.0.1'], /the port is missing/],
      [['--from', 'a', '--to', '10.0.0.1:80', '--timeout', 'soon'], /--timeout soon: not a duration/],
      [['--from', 'a', '--to', 'b/default/nope'], /no such service in context "b"/],
      [['--from', 'a', '--to', '10.0.0.1:80', '--node', 'nope'], /--node nope: context "a" has no such node/],
      // a probe flag with --topology means probes checked against the file: the file must load first
      [['--topology', 'missing.yaml', '--from', 'a', '--to', '10.0.0.1:80', '--to-context', 'b'], /cannot read topology file missing\.yaml: no such file/],
      [['--topology', 'templates/scenarios/ilb-cross-region-no-global-access.yaml', '--from', 'a', '--to', '10.0.0.1:80', '--to-context', 'b', '--protocol', 'udp'], /live probes are TCP only/],
    ] as const) {
      const r = xcc(['doctor', ...args])
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace')
    }
    await assertNoPodsLeft()
  })

  it('without --to-context, the destination\'s owner is found in another context of the kubeconfig, and the report says which', async () => {
    labUp(['--scenario', 'vpc-native-pair-works'])
    const r = doctor(['--from', 'a', '--to', '10.11.0.100:80'], 0)
    assert.equal(r.verdict, 'reachable')
    const known = r.findings.find((f) => f.check === 'probe.destination-known')
    assert.equal(known?.status, 'pass')
    assert.match(known?.summary ?? '', /10\.11\.0\.100:80 is service default\/server in context b \(found by looking in every context of the kubeconfig\)/)
    assert.ok(r.observations.captures.some((c) => c.at === 'node/gke-b-node-1' && c.status === 'ok'), 'and captures on its nodes')
    await assertNoPodsLeft()
  })

  it('a reachable verdict is never drawn under a red ✗ ABORT (the live prediction stops at the node)', async () => {
    const r = xcc(['doctor', '--from', 'a', '--to', '10.11.0.100:80', '--timeout', '2s'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /Verdict +REACHABLE/)
    assert.match(r.stdout, /^ … +\d+ +ABORT/m)
    assert.doesNotMatch(r.stdout, /✗/)
    await assertNoPodsLeft()
  })

  it('--to-context where nothing owns the address: the report says so, and never asks for the flag that was given', async () => {
    const r = doctor(['--from', 'a', '--to', '10.11.0.77:80', '--to-context', 'b'], 1)
    assert.equal(r.verdict, 'unknown')
    const known = r.findings.find((f) => f.check === 'probe.destination-known')
    assert.equal(known?.status, 'warn')
    assert.match(known?.summary ?? '', /nothing in context b owns 10\.11\.0\.77:80/)
    const advice = [...(r.diagnosis?.fix ?? []), ...(r.diagnosis?.fixes ?? []).map((f) => f.summary)].join('\n')
    assert.match(advice, /nothing in context b owns 10\.11\.0\.77:80/)
    assert.doesNotMatch(advice, /--to-context/)
    await assertNoPodsLeft()
  })

  it('captures and evidence are about the probe\'s own connection, not another client of the same host and port', async () => {
    // the declared pod a/default/client talks to the same load balancer while the probe runs (bounded: 40 tries)
    const other = spawn(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'exec', '--name', LAB, 'pod/a/default/client', '--',
      'sh', '-c', 'i=0; while [ $i -lt 40 ]; do curl -s -m 1 -o /dev/null http://10.11.0.100:80/; i=$((i+1)); sleep 0.1; done'], {cwd: ROOT, env, stdio: 'ignore'})
    const done = new Promise<void>((resolve) => other.once('exit', () => resolve()))
    try {
      const r = doctor(['--from', 'a', '--to', 'b/default/server'], 0)
      const packets = r.observations.captures.flatMap((c) => c.packets)
      assert.ok(packets.some((p) => p.role === 'request'), 'the probe\'s own SYN was captured')
      assert.deepEqual(packets.filter((p) => p.src === '10.20.0.10' || p.dst === '10.20.0.10').map((p) => p.line), [], 'nothing of the other client')
      // on the probe's node nothing rewrites the port yet: every packet there is of the probe's port
      const source = r.observations.captures.find((c) => c.at === 'node/gke-a-node-1')?.packets ?? []
      assert.ok(source.length > 0 && source.every((p) => p.srcPort === r.flow.packet.srcPort || p.dstPort === r.flow.packet.srcPort), source.map((p) => p.line).join('\n'))
    } finally {
      other.kill('SIGTERM')
      await done
    }
    await assertNoPodsLeft()
  })

  it('a ClusterIP Service of another cluster: CLUSTER_IP_FROM_OUTSIDE_CLUSTER, live as statically, with the fix for that context', async () => {
    labUp(['--topology', 'test/fixtures/topologies/clusterip-from-another-cluster.yaml'])
    const r = doctor(['--from', 'a', '--to', 'b/default/server'], 1)
    assert.equal(r.verdict, 'unreachable')
    assert.equal(r.diagnosis?.code, 'CLUSTER_IP_FROM_OUTSIDE_CLUSTER')
    assert.match(r.diagnosis?.summary ?? '', /10\.31\.0\.10 is the ClusterIP of service default\/server in context b/)
    assert.match(r.diagnosis?.fix[0] ?? '', /^kubectl --context b -n default patch service server -p '\{"metadata":\{"annotations":\{"networking\.gke\.io\/load-balancer-type":"Internal"\}\},"spec":\{"type":"LoadBalancer"\}\}'$/)
    // the address alone, found by looking in every context: the same answer
    const byAddress = doctor(['--from', 'a', '--to', '10.31.0.10:80'], 1)
    assert.equal(byAddress.diagnosis?.code, 'CLUSTER_IP_FROM_OUTSIDE_CLUSTER')
    await assertNoPodsLeft()
  })

  it('--flows without a topology: one live probe per flow, each against its expectation, with a JUnit report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcc-live-flows-'))
    try {
      const flows = join(dir, 'flows.yaml')
      writeFileSync(flows, '- {from: a, to: b/default/server, expect: CLUSTER_IP_FROM_OUTSIDE_CLUSTER}\n- {from: a, to: "10.31.0.10:80", expect: reachable}\n')
      const r = xcc(['doctor', '--flows', flows, '--junit', join(dir, 'report.xml'), '--timeout', '2s', '--json'])
      assert.equal(r.status, 1, r.stderr)
      const out = JSON.parse(r.stdout) as {flows: Array<{met: boolean; result: unknown}>}
      assert.deepEqual(out.flows.map((f) => f.met), [true, false])
      for (const f of out.flows) assert.ok(liveReportSchema.safeParse(f.result).success, 'each result is a live report')
      assert.match(readFileSync(join(dir, 'report.xml'), 'utf8'), /tests="2" failures="1"/)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
    await assertNoPodsLeft()
  })
})
