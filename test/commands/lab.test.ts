/**
 * `xcc lab` through the built CLI, as root: bad input and a missing environment exit 2 or 3 and
 * leave nothing behind; up/status/exec/down work; a running lab's name is refused; two labs
 * coexist; a killed background process leaves state that `down` still cleans completely; `up`
 * over a half-built lab cleans it first.
 */
import assert from 'node:assert/strict'
import {type SpawnSyncReturns, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {requireLabTools} from '../support/netns.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const HOME = mkdtempSync(join(tmpdir(), 'xcc-lab-home-'))
const STACK = /^\s+at .+:\d+:\d+\)?$/m
const A = `la${process.pid}`
const B = `lb${process.pid}`

function xcc(args: readonly string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: {...process.env, XCC_HOME: HOME, NO_COLOR: '1', ...env}})
}

function namespacesOf(lab: string): string[] {
  const out = spawnSync('ip', ['netns', 'list'], {encoding: 'utf8'}).stdout
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`xcc-${lab}-`))
}

function processesIn(namespaces: readonly string[]): number {
  return namespaces.reduce((n, ns) => n + spawnSync('ip', ['netns', 'pids', ns], {encoding: 'utf8'}).stdout.split(/\s+/).filter(Boolean).length, 0)
}

function assertUserError(r: SpawnSyncReturns<string>, code: 2 | 3, message: RegExp): void {
  assert.equal(r.status, code, `exit ${r.status}: ${r.stderr}`)
  assert.match(r.stderr, message)
  assert.doesNotMatch(r.stderr, STACK, 'no stack trace for a user error')
}

describe('xcc lab', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/up.js')), 'dist/ is missing: run npm run build (npm test does it)')
  after(() => {
    for (const lab of [A, B]) xcc(['lab', 'down', '--name', lab])
    rmSync(HOME, {recursive: true, force: true})
  })

  it('lists the built-in scenarios', () => {
    const r = xcc(['lab', 'up', '--scenario', 'list', '--json'])
    assert.equal(r.status, 0, r.stderr)
    const names = (JSON.parse(r.stdout) as {scenarios: Array<{name: string}>}).scenarios.map((s) => s.name)
    for (const n of ['peered-vpcs-missing-snat', 'peered-vpcs-fixed-snat', 'peered-vpcs-ip-masq-agent', 'gateways-missing-snat', 'gateways-fixed-snat', 'vpc-native-pair-works', 'ilb-cross-region-no-global-access']) assert.ok(names.includes(n), n)
  })

  describe('bad input and a missing environment leave nothing behind', () => {
    it('an unknown scenario: exit 2 with the list', () => assertUserError(xcc(['lab', 'up', '--scenario', 'peered-vpcs', '--name', A]), 2, /--scenario peered-vpcs: no such scenario[\s\S]*did you mean peered-vpcs-fixed-snat or peered-vpcs-ip-masq-agent or peered-vpcs-missing-snat\?/))
    it('an invalid topology: exit 2 naming the file and path', () => {
      const file = join(HOME, 'bad.yaml')
      writeFileSync(file, 'apiVersion: xcc/v1\nkind: Topology\nmetadata: {name: bad}\nnetworks:\n  - name: n\n    subnets: [{name: s, region: us-west1, ipCidrRange: 10.0.0.0/33}]\n')
      assertUserError(xcc(['lab', 'up', '--topology', file, '--name', A]), 2, /bad\.yaml: networks\[0\]\.subnets\[0\]\.ipCidrRange: invalid CIDR/)
    })
    it('a bad lab name: exit 2', () => assertUserError(xcc(['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', 'Bad_Name']), 2, /--name "Bad_Name": a lab name is/))
    it('both --topology and --scenario: exit 2', () => assertUserError(xcc(['lab', 'up', '--scenario', 'vpc-native-pair-works', '--topology', 'x.yaml']), 2, /--scenario cannot also be provided when using --topology/))
    it('without root: exit 3', () => {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(ROOT, 'bin/run.js'), 'lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', A], {cwd: ROOT, encoding: 'utf8', env: {...process.env, XCC_HOME: join(HOME, 'nobody')}})
      assertUserError(r, 3, /xcc lab needs root/)
    })
    it('without ip, iptables or tcpdump: exit 3 naming the packages', () => {
      const bin = join(HOME, 'bin-only-node')
      mkdirSync(bin, {recursive: true})
      const r = xcc(['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', A], {PATH: bin})
      assertUserError(r, 3, /xcc lab needs ip \(package iproute2\), iptables-restore \(package iptables\), tcpdump \(package tcpdump\)/)
      assert.match(r.stderr, /apt-get install -y iproute2 iptables tcpdump/)
    })
    it('…and none of them created anything', () => {
      assert.deepEqual(namespacesOf(A), [])
      assert.equal(existsSync(join(HOME, 'labs', A)), false)
    })
  })

  it('up, status, exec, a refused second up, a second lab beside it, down', () => {
    const up = xcc(['lab', 'up', '--scenario', 'peered-vpcs-missing-snat', '--name', A, '--json'])
    assert.equal(up.status, 0, up.stderr)
    const state = JSON.parse(up.stdout) as {kubeconfig: string; clusters: Array<{name: string; context: string; server: string}>; hosts: Record<string, {namespace: string}>}
    assert.deepEqual(state.clusters.map((c) => c.context).sort(), ['backend', 'frontend'])
    assert.ok(state.clusters.every((c) => /^https:\/\/127\.0\.0\.1:\d+$/.test(c.server)), 'API servers on loopback only')
    assert.equal(statSync(state.kubeconfig).mode & 0o777, 0o600, 'the kubeconfig is private')
    assert.match(readFileSync(state.kubeconfig, 'utf8'), /current-context: /)
    assert.match(up.stderr, /creating \d+ network namespaces/, 'progress on stderr')

    const status = xcc(['lab', 'status', '--name', A, '--json'])
    assert.equal(status.status, 0, status.stdout)
    assert.equal((JSON.parse(status.stdout) as {healthy: boolean}).healthy, true)

    // seed 001: the pod's connection hangs; the node's (masqueraded by nature) works
    const pod = xcc(['lab', 'exec', '--name', A, 'pod/frontend/default/curl', '--', 'curl', '-sS', '-m', '2', 'http://10.193.0.3:32191/'])
    assert.equal(pod.status, 28, `curl from the pod times out: ${pod.stderr}`)
    const node = xcc(['lab', 'exec', '--name', A, 'node/gke-frontend-cluster-default-pool-d65237bb-1c6s', '--', 'curl', '-sS', '-m', '2', 'http://10.193.0.3:32191/'])
    assert.equal(node.status, 0, node.stderr)
    assert.match(node.stdout, /client_address=\S+/)
    assertUserError(xcc(['lab', 'exec', '--name', A, 'pod/frontend/default/nope', '--', 'true']), 2, /has no host pod\/frontend\/default\/nope/)

    assertUserError(xcc(['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', A]), 2, new RegExp(`lab ${A} is already running`))

    const second = xcc(['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', B])
    assert.equal(second.status, 0, second.stderr)
    assert.equal(xcc(['lab', 'status', '--name', A]).status, 0, 'the first lab is still healthy')
    assert.equal(xcc(['lab', 'exec', '--name', B, 'pod/a/default/client', '--', 'curl', '-sS', '-m', '2', 'http://10.11.0.100/']).status, 0, 'the second lab works')

    const down = xcc(['lab', 'down', '--name', B])
    assert.equal(down.status, 0, down.stderr)
    assert.deepEqual(namespacesOf(B), [])
    assert.equal(existsSync(join(HOME, 'labs', B)), false)
    assert.ok(namespacesOf(A).length > 0, 'down removes only its own lab')
  })

  it('a killed background process: status says so, down still cleans everything', () => {
    const state = JSON.parse(readFileSync(join(HOME, 'labs', A, 'state.json'), 'utf8')) as {daemonPid: number}
    process.kill(state.daemonPid, 'SIGKILL')
    const status = xcc(['lab', 'status', '--name', A])
    assert.equal(status.status, 1)
    assert.match(status.stdout, /NOT healthy[\s\S]*background process .* is not running/)
    const namespaces = namespacesOf(A)
    assert.equal(xcc(['lab', 'down', '--name', A]).status, 0)
    assert.deepEqual(namespacesOf(A), [])
    assert.equal(processesIn(namespaces), 0)
    assert.equal(existsSync(join(HOME, 'labs', A)), false)
  })

  it('up over a half-built lab of the same name cleans it first', () => {
    spawnSync('ip', ['netns', 'add', `xcc-${A}-net7`])
    mkdirSync(join(HOME, 'labs', A), {recursive: true})
    const up = xcc(['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', A])
    assert.equal(up.status, 0, up.stderr)
    assert.match(up.stderr, /removing what is left of an earlier lab/)
    assert.ok(!namespacesOf(A).includes(`xcc-${A}-net7`), 'the stray namespace is gone')
    assert.equal(xcc(['lab', 'down', '--name', A]).status, 0)
    assert.deepEqual(namespacesOf(A), [])
  })
})
