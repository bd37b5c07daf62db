/**
 * Labs of the same name under two XCC_HOME directories, through the built CLI as root: namespace
 * names are machine-wide, so the live lab owns the name — `up` elsewhere refuses and changes
 * nothing, `status`/`down`/`exec` elsewhere never touch its namespaces — while the leftovers of a
 * dead lab (its background process killed, or its state deleted) may be cleaned from any home.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {LabCli, ROOT, STACK, namespacesOf} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'

const SCENARIO = ['--scenario', 'vpc-native-pair-works']

function daemonPid(home: string, lab: string): number {
  return (JSON.parse(readFileSync(join(home, 'labs', lab, 'state.json'), 'utf8')) as {daemonPid: number}).daemonPid
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 40 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  return !alive(pid)
}

describe('xcc lab: one name, two XCC_HOME directories', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/up.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const cli = new LabCli()
  const a = cli.home()
  const b = cli.home()
  const lab = cli.lab('ow')
  const record = `/run/xcc/labs/${lab}.json`
  after(() => {
    cli.cleanup()
    assert.deepEqual(namespacesOf(lab), [])
  })

  it('up records the owner; up under another home refuses and changes nothing', () => {
    const up = cli.run(a, ['lab', 'up', ...SCENARIO, '--name', lab])
    assert.equal(up.status, 0, up.stderr)
    assert.equal((JSON.parse(readFileSync(record, 'utf8')) as {stateDir: string}).stateDir, join(a, 'labs', lab))
    const before = namespacesOf(lab)
    const pid = daemonPid(a, lab)

    const second = cli.run(b, ['lab', 'up', '--scenario', 'peered-vpcs-missing-snat', '--name', lab])
    assert.equal(second.status, 2, second.stderr)
    assert.match(second.stderr, new RegExp(`lab ${lab} is already running under XCC_HOME ${a} \\(scenario vpc-native-pair-works`))
    assert.match(second.stderr, new RegExp(`Hint: choose another --name, or remove that lab: XCC_HOME=${a} xcc lab down --name ${lab}`))
    assert.doesNotMatch(second.stderr, /removing what is left/)
    assert.doesNotMatch(second.stderr, STACK)
    assert.deepEqual(namespacesOf(lab), before)
    assert.ok(alive(pid), 'the first lab\'s background process still runs')
    assert.equal(existsSync(join(b, 'labs', lab)), false)
    assert.equal(cli.run(a, ['lab', 'status', '--name', lab]).status, 0)
  })

  it('status under the other home: no lab here, and says where it runs', () => {
    const text = cli.run(b, ['lab', 'status', '--name', lab])
    assert.equal(text.status, 1)
    assert.equal(text.stdout, `No lab named ${lab} here (a lab ${lab} of XCC_HOME ${a} is running).\n`)
    const json = JSON.parse(cli.run(b, ['lab', 'status', '--name', lab, '--json']).stdout) as {exists: boolean; runningElsewhere?: {xccHome: string}; namespaces?: unknown}
    assert.equal(json.exists, false)
    assert.deepEqual(json.runningElsewhere, {xccHome: a})
    assert.equal(json.namespaces, undefined, 'claims none of its namespaces')
  })

  it('down and exec under the other home leave the running lab alone', () => {
    const before = namespacesOf(lab)
    const down = cli.run(b, ['lab', 'down', '--name', lab, '--json'])
    assert.equal(down.status, 0, down.stderr)
    const result = JSON.parse(down.stdout) as {existed: boolean; namespacesRemoved: number; processesStopped: number; runningElsewhere: {xccHome: string}}
    assert.deepEqual([result.existed, result.namespacesRemoved, result.processesStopped, result.runningElsewhere], [false, 0, 0, {xccHome: a}])
    const exec = cli.run(b, ['lab', 'exec', '--name', lab, 'pod/a/default/client', '--', 'true'])
    assert.equal(exec.status, 2)
    assert.match(exec.stderr, new RegExp(`no lab named ${lab} under XCC_HOME ${b}; a lab ${lab} runs under XCC_HOME ${a}`))
    assert.deepEqual(namespacesOf(lab), before)
    assert.equal(cli.run(a, ['lab', 'status', '--name', lab]).status, 0, 'still healthy')
    assert.ok(existsSync(record))
  })

  it('a dead lab (background process killed) is a leftover: up under the other home cleans it and takes the name', () => {
    process.kill(daemonPid(a, lab), 'SIGKILL')
    const up = cli.run(b, ['lab', 'up', ...SCENARIO, '--name', lab])
    assert.equal(up.status, 0, up.stderr)
    assert.match(up.stderr, /removing what is left of an earlier lab/)
    assert.equal((JSON.parse(readFileSync(record, 'utf8')) as {stateDir: string}).stateDir, join(b, 'labs', lab))
    assert.equal(cli.run(b, ['lab', 'status', '--name', lab]).status, 0)
  })

  it('…then the first home\'s state is stale: status says so, down removes only that state', () => {
    const status = cli.run(a, ['lab', 'status', '--name', lab])
    assert.equal(status.status, 1)
    assert.match(status.stdout, new RegExp(`problem: the name ${lab} is in use by the running lab of XCC_HOME ${b}: this lab's state is stale`))
    const before = namespacesOf(lab)
    const down = cli.run(a, ['lab', 'down', '--name', lab])
    assert.equal(down.status, 0, down.stderr)
    assert.match(down.stdout, /removed \(its stale state only: .* left alone\)/)
    assert.equal(existsSync(join(a, 'labs', lab)), false)
    assert.deepEqual(namespacesOf(lab), before)
    assert.equal(cli.run(b, ['lab', 'status', '--name', lab]).status, 0, 'the lab of the other home is still healthy')
  })

  it('a lab whose state was deleted is dead too: up elsewhere cleans it and stops its orphaned background process', async () => {
    const orphan = daemonPid(b, lab)
    rmSync(join(b, 'labs', lab), {recursive: true})
    const up = cli.run(a, ['lab', 'up', ...SCENARIO, '--name', lab])
    assert.equal(up.status, 0, up.stderr)
    assert.ok(await gone(orphan), `the orphaned background process ${orphan} was stopped`)
    assert.equal(cli.run(a, ['lab', 'status', '--name', lab]).status, 0)
  })

  for (const [where, home] of [['another home', () => b], ['the same home', () => a]] as const) {
    it(`a lab still being built owns its name: an up under ${where} at the same time is refused`, async () => {
      assert.equal(cli.run(a, ['lab', 'down', '--name', lab]).status, 0)
      assert.equal(existsSync(record), false, 'down removes the record')
      const first = spawn(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'up', '--scenario', 'gateways-missing-snat', '--name', lab], {cwd: ROOT, env: {...process.env, XCC_HOME: a}, stdio: ['ignore', 'ignore', 'pipe']})
      let stderr = ''
      first.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      const exited = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)))
      const deadline = Date.now() + 20_000
      while (!/creating \d+ network namespaces/.test(stderr) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      assert.match(stderr, /creating \d+ network namespaces/, 'the first up started building')
      // held mid-build (SIGSTOP), so that the second up surely meets a lab being built
      first.kill('SIGSTOP')
      const second = cli.run(home(), ['lab', 'up', ...SCENARIO, '--name', lab])
      first.kill('SIGCONT')
      assert.equal(second.status, 2, second.stderr)
      assert.match(second.stderr, new RegExp(`lab ${lab} is already running under XCC_HOME ${a} \\(being built since `))
      assert.doesNotMatch(second.stderr, /removing what is left/)
      assert.equal(await exited, 0, stderr)
      assert.equal(cli.run(a, ['lab', 'status', '--name', lab]).status, 0, 'the first lab came up whole')
    })
  }

  it('down removes the lab and its record', () => {
    assert.equal(cli.run(a, ['lab', 'down', '--name', lab]).status, 0)
    assert.deepEqual(namespacesOf(lab), [])
    assert.equal(existsSync(record), false)
  })
})
