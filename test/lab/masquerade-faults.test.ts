/**
 * `xcc masquerade` against the lab through a fault-injecting proxy (issue 13, honest partial
 * failures): the built CLI talks to the lab's API server through test/support/fault-proxy.ts,
 * which forwards a write and drops (or withholds) its answer, holds a request while another
 * `xcc` run goes through directly, or stalls. Each time xcc reports only what it verified:
 * a write whose answer was lost but which is in place is success with a warning; a run whose
 * object another writer changed meanwhile fails (exit 3) naming it and what it holds now; a
 * `list` whose API stalls names the command that removes the pods it could not remove.
 */
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, afterEach, before, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {FaultProxy, type ProxiedRequest} from '../support/fault-proxy.js'
import {findKubectl} from '../support/kubectl.js'
import {adminApi} from '../support/lab-kube.js'
import {requireLabTools} from '../support/netns.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const STACK = /^\s+at .+:\d+:\d+\)?$/m
const HOME = mkdtempSync(join(tmpdir(), 'xcc-masq-faults-'))
const LAB = `mf${process.pid}`
const LAB_DIR = join(HOME, 'labs', LAB)
const DIRECT = join(LAB_DIR, 'kubeconfig')
const PROXIED = join(HOME, 'proxied.kubeconfig')
const DS = '/apis/apps/v1/namespaces/kube-system/daemonsets'
const RANGE = ['--context', 'frontend', '--cidr', '10.193.0.0/16']

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** the built CLI, asynchronously (the proxy lives in this process: nothing here may block it), bounded */
function xcc(args: readonly string[], kubeconfig = DIRECT, timeoutMs = 120_000): Promise<Run> {
  return runFile(process.execPath, [join(ROOT, 'bin/run.js'), ...args], kubeconfig, timeoutMs)
}

function runFile(file: string, args: readonly string[], kubeconfig: string, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {cwd: ROOT, env: {...process.env, XCC_HOME: HOME, KUBECONFIG: kubeconfig, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${args.join(" ")} did not end within ${timeoutMs / 1000} s; stderr: ${stderr.slice(-3000)}`))
    }, timeoutMs)
    child.once('exit', (status) => {
      clearTimeout(timer)
      resolve({status, stdout, stderr})
    })
  })
}

function ok(r: Run, code: number, what: string): Run {
  assert.equal(r.status, code, `${what} exited ${r.status}\nstdout: ${r.stdout.slice(0, 3000)}\nstderr: ${r.stderr.slice(-3000)}`)
  assert.doesNotMatch(r.stderr, STACK, `${what}: no stack trace`)
  return r
}

function labUp(scenario: string): void {
  const run = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: {...process.env, XCC_HOME: HOME, NO_COLOR: '1'}})
  run(['lab', 'down', '--name', LAB])
  const r = run(['lab', 'up', '--scenario', scenario, '--name', LAB])
  assert.equal(r.status, 0, `lab up ${scenario}: ${r.stderr}`)
}

let proxy: FaultProxy | undefined
async function startProxy(): Promise<FaultProxy> {
  proxy = await FaultProxy.start(LAB_DIR, 'frontend', {maxHoldMs: 90_000})
  proxy.writeKubeconfig(LAB_DIR, 'frontend', PROXIED)
  return proxy
}

async function daemonSetCidrs(): Promise<string | undefined> {
  const {apps} = await adminApi(DIRECT, 'frontend')
  const ds = await apps.readNamespacedDaemonSet({namespace: 'kube-system', name: 'xcc-masquerade'}).catch(() => undefined)
  return ds?.metadata?.annotations?.['xcc.dev/masquerade-cidrs']
}

async function nodeRulesPods(): Promise<string[]> {
  const {core} = await adminApi(DIRECT, 'frontend')
  const list = await core.listNamespacedPod({namespace: 'kube-system', labelSelector: 'xcc.dev/role=node-rules'})
  return list.items.map((p) => p.metadata?.name ?? '')
}

/** resolves once the proxy holds a request (the other run may start) */
async function untilHeld(p: FaultProxy): Promise<void> {
  for (let i = 0; i < 600 && !p.log.some((r) => r.action === 'hold'); i++) await new Promise((r) => setTimeout(r, 50))
  assert.ok(p.log.some((r) => r.action === 'hold'), `the proxy held nothing: ${p.seen().join(', ')}`)
}

/** no xcc DaemonSet (directly, not through the proxy) */
async function reset(): Promise<void> {
  ok(await xcc(['masquerade', 'remove', '--context', 'frontend', '--all']), 0, 'remove --all (reset)')
  assert.equal(await daemonSetCidrs(), undefined)
}

function gate(): {promise: Promise<void>; open: () => void} {
  let open = (): void => {}
  const promise = new Promise<void>((resolve) => (open = resolve))
  return {promise, open}
}

describe('xcc masquerade through a faulty API (lab)', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl']])
  before(() => labUp('peered-vpcs-missing-snat'))
  afterEach(async () => {
    await proxy?.close()
    proxy = undefined
  })
  after(() => {
    spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'down', '--name', LAB], {cwd: ROOT, env: {...process.env, XCC_HOME: HOME}, timeout: 120_000})
    rmSync(HOME, {recursive: true, force: true})
  })

  it('the DaemonSet create reaches the server but its answer is lost: success with a warning, the rules active on every node', async () => {
    await reset()
    const p = await startProxy()
    p.decide = (r) => (r.method === 'POST' && r.path === DS ? 'drop-response' : 'forward')
    const r = ok(await xcc(['masquerade', 'add', ...RANGE, '--json'], PROXIED), 0, 'add with the create\'s answer lost')
    assert.deepEqual(p.seen((q) => q.method === 'POST' && q.path === DS), [`POST ${DS} drop-response`], 'one create, its answer dropped')
    const out = JSON.parse(r.stdout) as {applied: Array<{action: string; rolledOut?: boolean; warning?: string}>}
    assert.deepEqual(out.applied.map((a) => [a.action, a.rolledOut]), [['create', true]])
    assert.match(out.applied[0]?.warning ?? '', /^the API's answer to the create was lost \(cannot reach .*\); read again, DaemonSet kube-system\/xcc-masquerade holds what xcc wrote$/)
    assert.match(r.stderr, /xcc: warning: the API's answer to the create was lost/)
    assert.equal(await daemonSetCidrs(), '10.193.0.0/16')
    const listing = JSON.parse(ok(await xcc(['masquerade', 'list', '--context', 'frontend', '--json']), 0, 'list').stdout) as {nodes: Array<{cidrs: Array<{decision: string}>}>}
    assert.deepEqual(listing.nodes.map((n) => n.cidrs.map((c) => c.decision)), [['masquerade']], 'every node masquerades')
  })

  it('later applies: an update whose answer is lost, a delete whose answer never comes (timeout): both verified, success with a warning', async () => {
    await reset()
    ok(await xcc(['masquerade', 'add', ...RANGE]), 0, 'add')
    const p = await startProxy()
    p.decide = (r) => (r.method === 'PUT' && r.path === `${DS}/xcc-masquerade` ? 'drop-response' : 'forward')
    const r = ok(await xcc(['masquerade', 'add', '--context', 'frontend', '--cidr', '10.194.0.0/16'], PROXIED), 0, 'add a range with the update\'s answer lost')
    assert.match(r.stdout, /^updated DaemonSet kube-system\/xcc-masquerade: /m)
    assert.match(r.stdout, /^warning: the API's answer to the update was lost \(.*\); read again, DaemonSet kube-system\/xcc-masquerade holds what xcc wrote$/m)
    assert.match(r.stdout, /^xcc now masquerades 10\.193\.0\.0\/16,10\.194\.0\.0\/16 in context frontend/m)
    assert.equal(await daemonSetCidrs(), '10.193.0.0/16,10.194.0.0/16')

    p.decide = (q) => (q.method === 'DELETE' && q.path === `${DS}/xcc-masquerade` ? 'stall-response' : 'forward')
    const removed = ok(await xcc(['masquerade', 'remove', '--context', 'frontend', '--all', '--json'], PROXIED), 0, 'remove with the delete\'s answer withheld')
    const out = JSON.parse(removed.stdout) as {applied: Array<{action: string; rolledOut?: boolean; warning?: string}>}
    assert.deepEqual(out.applied.map((a) => [a.action, a.rolledOut]), [['delete', true]])
    assert.match(out.applied[0]?.warning ?? '', /answer to the delete was lost \(.*no answer within 15 s\); read again, DaemonSet kube-system\/xcc-masquerade is gone/)
    assert.equal(await daemonSetCidrs(), undefined)
  })

  it('add racing remove --all: the other run deletes the DaemonSet while add follows its rollout; add fails at once, never claiming it masquerades', async () => {
    await reset()
    const p = await startProxy()
    const other = gate()
    let created = false
    p.decide = (r: ProxiedRequest) => {
      if (r.method === 'POST' && r.path === DS) created = true
      else if (created && r.method === 'GET' && r.path === `${DS}/xcc-masquerade`) {
        created = false
        return {holdUntil: other.promise}
      }
      return 'forward'
    }
    const adding = xcc(['masquerade', 'add', ...RANGE, '--timeout', '10s'], PROXIED)
    await untilHeld(p)
    ok(await xcc(['masquerade', 'remove', '--context', 'frontend', '--all']), 0, 'the other run: remove --all')
    other.open()
    const r = ok(await adding, 3, 'add whose DaemonSet was deleted meanwhile')
    assert.match(r.stderr, /another writer changed DaemonSet kube-system\/xcc-masquerade after xcc's create: it is gone/)
    assert.doesNotMatch(r.stdout, /xcc now masquerades/)
    assert.equal(await daemonSetCidrs(), undefined)
  })

  it('remove --all racing add: the other run re-creates the DaemonSet while remove waits for its pods; remove fails at once, saying what it holds', async () => {
    await reset()
    ok(await xcc(['masquerade', 'add', ...RANGE]), 0, 'add')
    const p = await startProxy()
    const other = gate()
    let deleted = false
    p.decide = (r: ProxiedRequest) => {
      if (r.method === 'DELETE' && r.path === `${DS}/xcc-masquerade`) deleted = true
      else if (deleted && r.method === 'GET') {
        deleted = false
        return {holdUntil: other.promise}
      }
      return 'forward'
    }
    const removing = xcc(['masquerade', 'remove', '--context', 'frontend', '--all', '--timeout', '10s'], PROXIED)
    await untilHeld(p)
    ok(await xcc(['masquerade', 'add', ...RANGE]), 0, 'the other run: add')
    other.open()
    const r = ok(await removing, 3, 'remove whose DaemonSet was re-created meanwhile')
    assert.match(r.stderr, /another writer changed DaemonSet kube-system\/xcc-masquerade after xcc's delete: it masquerades 10\.193\.0\.0\/16 now/)
    assert.doesNotMatch(r.stdout, /xcc masquerades nothing/)
    assert.equal(await daemonSetCidrs(), '10.193.0.0/16')
  })

  it('list while the API stalls on its pods, deletes included: exit 3, bounded, naming the exact command that removes them', async () => {
    const p = await startProxy()
    p.decide = (r) => (r.path.includes('/pods/xcc-node-rules-') ? 'stall' : 'forward')
    const started = Date.now()
    const r = ok(await xcc(['masquerade', 'list', ...RANGE, '--timeout', '5s'], PROXIED), 3, 'list with a stalled API')
    assert.ok(Date.now() - started < 60_000, `bounded: ${Date.now() - started} ms`)
    assert.match(r.stderr, /could not remove the pods of this run: kube-system\/xcc-node-rules-[0-9a-f]{8}-0 /)
    const command = /remove them with: (kubectl --context frontend -n kube-system delete pod -l app\.kubernetes\.io\/managed-by=xcc,xcc\.dev\/run-id=[0-9a-f]{8})$/m.exec(r.stderr)?.[1]
    assert.ok(command, `the cleanup command is named: ${r.stderr}`)
    assert.equal((await nodeRulesPods()).length, 1, 'the pod is still there')
    // the API answers again: the command, exactly as printed, removes it
    p.decide = () => 'forward'
    const kubectl = findKubectl()
    if ('path' in kubectl) {
      const words = command.split(' ')
      const done = await runFile(kubectl.path, words.slice(1), PROXIED, 60_000).catch((error: Error) => assert.fail(`${error.message}\nproxy saw: ${p.seen().slice(-20).join(', ')}`))
      assert.equal(done.status, 0, done.stderr)
      assert.match(done.stdout, /^pod "xcc-node-rules-[0-9a-f]{8}-0" deleted$/m)
    } else {
      ok(await xcc(['doctor', 'cleanup', '--context', 'frontend', '--namespace', 'kube-system'], PROXIED), 0, 'doctor cleanup (kubectl is missing)')
    }
    assert.deepEqual(await nodeRulesPods(), [])
  })

  it('ip-masq-agent: the ConfigMap update reaches the server but its answer is lost: success with a warning', async () => {
    labUp('peered-vpcs-ip-masq-agent')
    const p = await startProxy()
    p.decide = (r) => (r.method === 'PUT' && r.path === '/api/v1/namespaces/kube-system/configmaps/ip-masq-agent' ? 'drop-response' : 'forward')
    const r = ok(await xcc(['masquerade', 'add', ...RANGE], PROXIED), 0, 'add with the update\'s answer lost')
    assert.match(r.stdout, /^warning: the API's answer to the update was lost \(.*\); read again, ConfigMap kube-system\/ip-masq-agent holds what xcc wrote$/m)
    assert.match(r.stdout, /^xcc now masquerades 10\.193\.0\.0\/16 in context frontend \(ip-masq-agent\)/m)
    const {core} = await adminApi(DIRECT, 'frontend')
    const cm = await core.readNamespacedConfigMap({namespace: 'kube-system', name: 'ip-masq-agent'})
    assert.equal(cm.metadata?.annotations?.['xcc.dev/masquerade-cidrs'], '10.193.0.0/16')
  })
})
