/**
 * `xcc doctor` as a user runs it: the built CLI (bin/run.js, as shipped) in a child process.
 * `npm test` builds first; run `npm run build` before `npm run test:unit` when editing sources.
 */
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {classify} from '../../src/cli/base-command.js'
import {XccError} from '../../src/core/errors.js'
import {doctorReportSchema} from '../../src/core/doctor/report-schema.js'
import {topologyPath} from '../support/fixtures.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BIN = join(ROOT, 'bin/run.js')
const SEED_001 = topologyPath('seed-001-peered-vpcs-missing-snat')
const STACK = /^\s+at .+:\d+:\d+\)?$/m
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[/
// eslint-disable-next-line no-control-regex
const CLEAR = /\u001b\[[23]J/
// eslint-disable-next-line no-control-regex
const ANSI_ALL = /\u001b\[[0-9;?]*[A-Za-z]/g

function xcc(args: string[], env: Record<string, string> = {}): {status: number | null; stdout: string; stderr: string} {
  assert.ok(existsSync(join(ROOT, 'dist/commands/doctor/index.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['NO_COLOR', 'FORCE_COLOR', 'CI'].includes(k))) as Record<string, string>
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd: ROOT, encoding: 'utf8', env: {...clean, ...env}, timeout: 30_000})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

/** the output of xcc in a terminal (a pty of `columns` × 40 through script(1)), stderr dropped */
function inTerminal(args: string[], columns: number, env: Record<string, string> = {}): string {
  const quote = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`
  const command = `stty cols ${columns} rows 40; exec ${[process.execPath, BIN, ...args].map(quote).join(' ')} 2>/dev/null`
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['NO_COLOR', 'FORCE_COLOR', 'CI', 'COLUMNS', 'LINES'].includes(k))) as Record<string, string>
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {cwd: ROOT, encoding: 'utf8', env: {...clean, SHELL: '/bin/sh', ...env}, timeout: 30_000})
  assert.equal(r.error, undefined, 'script(1) from util-linux runs the CLI in a terminal')
  return r.stdout
}

function badFile(text: string, name = 'bad.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'xcc-test-'))
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('xcc doctor (CLI)', () => {
  it('--flows checks every flow of a file against its expectation (exit 0 only when all meet it), --json and --junit for CI', () => {
    const flows = badFile('- {from: frontend, to: lb/backend-ilb, expect: POD_SNAT_MISSING}\n- {from: frontend, to: lb/backend-ilb, expect: reachable}\n', 'flows.yaml')
    const junit = join(flows, '..', 'report.xml')
    const r = xcc(['doctor', '--topology', SEED_001, '--flows', flows, '--junit', junit, '--json'])
    assert.equal(r.status, 1, r.stderr)
    const out = JSON.parse(r.stdout) as {schemaVersion: number; flows: Array<{from: string; to: string; expect: string; met: boolean; result: unknown}>}
    assert.equal(out.schemaVersion, 1)
    assert.deepEqual(out.flows.map((f) => [f.expect, f.met]), [['POD_SNAT_MISSING', true], ['reachable', false]])
    for (const f of out.flows) assert.ok(doctorReportSchema.safeParse(f.result).success, 'each result is the doctor\'s contract object')
    const xml = readFileSync(junit, 'utf8')
    assert.match(xml, /<testsuite name="xcc doctor --flows [^"]+" tests="2" failures="1" /)
    assert.match(xml, /<failure message="expected reachable, got unreachable \(POD_SNAT_MISSING\)"/)
    const met = badFile('- {from: frontend, to: lb/backend-ilb, expect: unreachable}\n', 'met.yaml')
    const ok = xcc(['doctor', '--topology', SEED_001, '--flows', met])
    assert.equal(ok.status, 0, ok.stderr)
    assert.match(ok.stdout, /Every flow \(1\) behaves as expected\./)
    assert.doesNotMatch(ok.stdout, /\d+ passed, \d+ failed/, 'never the shape CI reads as a test summary')
  })

  it('--flows: a flow xcc cannot resolve, or a bad file, is bad input (exit 2, naming it) and nothing is written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcc-flows-'))
    const junit = join(dir, 'report.xml')
    const flows = badFile('- {from: frontend, to: lb/backend-ilb, expect: reachable}\n- {from: nope, to: lb/backend-ilb, expect: reachable}\n', 'flows.yaml')
    const r = xcc(['doctor', '--topology', SEED_001, '--flows', flows, '--junit', junit])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /flows\.yaml: flow \[1\] \(nope → lb\/backend-ilb\): --from nope: there is no cluster named "nope"/)
    assert.equal(existsSync(junit), false)
    assert.match(xcc(['doctor', '--topology', SEED_001, '--flows', badFile('- {from: a}\n', 'f.yaml')]).stderr, /f\.yaml: \[0\]\.to: is required/)
    assert.equal(xcc(['doctor', '--topology', SEED_001, '--flows', dir]).status, 2, 'a directory is not a flows file')
    assert.equal(xcc(['doctor', '--topology', SEED_001, '--flows', flows, '--from', 'frontend']).status, 2, '--from with --flows')
    assert.equal(xcc(['doctor', '--topology', SEED_001, '--from', 'frontend', '--to', 'lb/backend-ilb', '--junit', junit]).status, 2, '--junit needs --flows')
  })

  it('a fix names the user\'s real kube context of the cluster, read from the kubeconfig (gcloud\'s gke_<project>_<location>_<cluster>)', () => {
    const kubeconfig = badFile(['apiVersion: v1', 'kind: Config', 'clusters: []', 'users: []', 'contexts:', '- name: gke_acme-prod_europe-west1-c_frontend', '  context: {cluster: x, user: y}', '- name: gke_acme-prod_europe-west1-c_backend', '  context: {cluster: x, user: y}', ''].join('\n'), 'kubeconfig')
    const r = xcc(['doctor', '--topology', SEED_001, '--from', 'frontend', '--to', 'lb/backend-ilb', '--json'], {KUBECONFIG: kubeconfig})
    assert.equal(r.status, 1, r.stderr)
    assert.equal(JSON.parse(r.stdout).diagnosis.fix[0], 'xcc masquerade add --context gke_acme-prod_europe-west1-c_frontend --cidr 10.193.0.0/16')
    // without a kubeconfig the cluster's name stands in, and the command says so
    const none = xcc(['doctor', '--topology', SEED_001, '--from', 'frontend', '--to', 'lb/backend-ilb', '--json'], {KUBECONFIG: join(tmpdir(), 'xcc-no-such-kubeconfig')})
    assert.match(JSON.parse(none.stdout).diagnosis.fix[0], /--context frontend --cidr 10\.193\.0\.0\/16 {3}# frontend stands for the kube context of cluster frontend$/)
  })

  it('exit 1 and a human report when the destination is unreachable', () => {
    const r = xcc(['doctor', '--topology', SEED_001, '--from', 'frontend', '--to', 'lb/backend-ilb'])
    assert.equal(r.status, 1)
    assert.match(r.stdout, /Root cause {2}POD_SNAT_MISSING/)
    assert.match(r.stdout, /Verdict {5}UNREACHABLE \(return path/)
    assert.doesNotMatch(r.stdout, ANSI, 'no colours when stdout is not a terminal')
  })

  it('exit 0 when reachable', () => {
    const r = xcc(['doctor', '--topology', topologyPath('seed-001-fixed-node-masquerade'), '--from', 'frontend', '--to', 'lb/backend-ilb'])
    assert.equal(r.status, 0)
    assert.match(r.stdout, /Verdict {5}REACHABLE/)
  })

  it('--json prints exactly one contract object on stdout and nothing else', () => {
    const r = xcc(['doctor', '--topology', SEED_001, '--from', 'frontend/default/curl', '--to', '10.193.0.3:32191', '--json'])
    assert.equal(r.status, 1)
    const report = JSON.parse(r.stdout)
    assert.ok(doctorReportSchema.safeParse(report).success)
    assert.equal(report.schemaVersion, 1)
    assert.equal(report.diagnosis.code, 'POD_SNAT_MISSING')
    assert.equal(r.stderr, '', 'no progress under --json')
  })

  it('colours follow FORCE_COLOR and NO_COLOR', () => {
    const args = ['doctor', '--topology', SEED_001, '--from', 'frontend', '--to', 'lb/backend-ilb']
    assert.match(xcc(args, {FORCE_COLOR: '1'}).stdout, ANSI)
    assert.doesNotMatch(xcc(args, {FORCE_COLOR: '1', NO_COLOR: '1'}).stdout, ANSI)
  })

  for (const [what, args, message] of [
    ['a missing file', ['--topology', '/nonexistent/topo.yaml', '--from', 'a', '--to', 'b'], /cannot read topology file \/nonexistent\/topo\.yaml: no such file/],
    ['an invalid topology', ['--topology', badFile('apiVersion: xcc/v1\nkind: Topology\nmetadata: {name: x}\nroutes:\n  - {name: r, network: n, destRange: 10.0.0.1/8, nextHopGateway: default-internet-gateway}\n'), '--from', 'a', '--to', 'b'], /bad\.yaml: routes\[0\]\.network: network "n" does not exist \(value: "n"\)/],
    ['malformed YAML', ['--topology', badFile('apiVersion: [\n'), '--from', 'a', '--to', 'b'], /bad\.yaml:2:1: malformed YAML/],
    ['a bad --to', ['--topology', SEED_001, '--from', 'frontend', '--to', '10.1.1.1'], /--to 10\.1\.1\.1: 10\.1\.1\.1 has no port; use 10\.1\.1\.1:<port>/],
    ['a bad --to port', ['--topology', SEED_001, '--from', 'frontend', '--to', '10.1.1.1:70000'], /port 70000 is not in 1\.\.65535/],
    ['an unknown --from', ['--topology', SEED_001, '--from', 'nope/default/x', '--to', 'lb/backend-ilb'], /cluster named "nope"/],
    ['a load balancer as --from', ['--topology', SEED_001, '--from', '10.193.0.3', '--to', '10.209.0.2:22'], /10\.193\.0\.3 is the address of load balancer backend-ilb; a load balancer cannot be a source/],
    ['an unknown flag', ['--topology', SEED_001, '--from', 'frontend', '--to', 'lb/backend-ilb', '--frm', 'x'], /Nonexistent flag: --frm/],
    ['a missing flag', ['--from', 'frontend'], /give --from and --to, or --flows FILE/],
    ['a bad --protocol', ['--topology', SEED_001, '--from', 'frontend', '--to', 'lb/backend-ilb', '--protocol', 'icmp'], /Expected --protocol=icmp to be one of: tcp, udp/],
  ] as const) {
    it(`exit 2 without a stack trace for ${what}, and a JSON error under --json`, () => {
      const human = xcc(['doctor', ...args])
      assert.equal(human.status, 2, human.stderr)
      assert.match(human.stderr, message)
      assert.doesNotMatch(human.stderr, STACK)
      assert.equal(human.stdout, '')
      const json = xcc(['doctor', ...args, '--json'])
      assert.equal(json.status, 2)
      const body = JSON.parse(json.stdout)
      assert.equal(body.schemaVersion, 1)
      assert.equal(body.error.kind, 'usage')
      assert.equal(body.error.exitCode, 2)
      assert.match([body.error.message, ...body.error.details].join('\n'), message)
    })
  }

  it('in a terminal the report wraps at the terminal\'s width with a hanging indent, drawn once without clearing the screen', () => {
    for (const env of [{}, {NO_COLOR: '1'}] as Array<Record<string, string>>) {
      const raw = inTerminal(['doctor', '--topology', SEED_001, '--from', 'frontend', '--to', 'lb/backend-ilb'], 70, env)
      assert.doesNotMatch(raw, CLEAR, 'the screen and its scrollback are never cleared')
      const lines = raw.replace(ANSI_ALL, '').replace(/\r/g, '').split('\n')
      assert.equal(lines.filter((l) => l.startsWith('Root cause')).length, 1, 'the report is drawn once')
      // commands to paste stay whole (the terminal folds them; a copy is still one line)
      for (const line of lines) if (!line.startsWith('    $ ')) assert.ok(line.length <= 70, `${line.length} columns: ${line}`)
      const root = lines.findIndex((l) => l.startsWith('Root cause'))
      assert.match(lines[root + 2] as string, /^ {2}\S/, 'the root cause\'s summary continues under its first line')
    }
  })

  it('in a terminal COLUMNS sets the width', () => {
    const lines = inTerminal(['doctor', '--topology', SEED_001, '--from', 'frontend', '--to', 'lb/backend-ilb'], 120, {COLUMNS: '60', NO_COLOR: '1'}).replace(/\r/g, '').split('\n')
    assert.ok(Math.max(...lines.filter((l) => !l.startsWith('    $ ')).map((l) => l.length)) <= 60)
  })

  it('an unknown command is a usage error (exit 2)', () => {
    const r = xcc(['doctr'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /unknown command "doctr"/)
    assert.match(r.stderr, /did you mean xcc doctor\b/)
  })

  it('--version and doctor --help work and exit 0', () => {
    const v = xcc(['--version'])
    assert.equal(v.status, 0)
    assert.match(v.stdout, /^xcc\/\d+\.\d+\.\d+ /)
    const h = xcc(['doctor', '--help'])
    assert.equal(h.status, 0)
    assert.match(h.stdout, /--topology=FILE/)
  })

  it('answers --version and --help without oclif exactly as oclif would (start-up fast path)', () => {
    for (const args of [['--version'], ['--help'], ['doctor', '--help'], ['doctor', '-h'], ['doctr', '--help']]) {
      const fast = xcc(args)
      const slow = xcc(args, {XCC_NO_FAST_PATH: '1'})
      assert.equal(fast.status, slow.status, `xcc ${args.join(' ')}: exit code`)
      assert.equal(fast.stdout, slow.stdout, `xcc ${args.join(' ')}`)
    }
  })

  it('stops quietly when the reader of its output goes away (EPIPE)', async () => {
    const child = spawn(process.execPath, [BIN, 'doctor', '--topology', SEED_001, '--from', 'frontend', '--to', 'lb/backend-ilb'], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout.once('data', () => child.stdout.destroy())
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    assert.doesNotMatch(stderr, /EPIPE|Unhandled/)
    assert.ok(code === 0 || code === 1, `exit ${code}`)
  })
})

describe('error classification', () => {
  it('user errors keep their exit code and carry no stack; anything else is a bug with exit 4 and its stack', () => {
    assert.deepEqual(classify(new XccError('no access', {exitCode: 3})).exitCode, 3)
    assert.equal(classify(new XccError('bad', {exitCode: 2})).stack, undefined)
    const bug = classify(new TypeError('x is undefined'))
    assert.equal(bug.exitCode, 4)
    assert.equal(bug.kind, 'bug')
    assert.match(bug.stack ?? '', /TypeError: x is undefined/)
  })
})
