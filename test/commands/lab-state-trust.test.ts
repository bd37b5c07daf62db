/**
 * A lab's state is not a weapon (issue 13, privilege): root's `xcc lab down` signals only a
 * process it can prove it started (pid, start time and the token it put in the process's
 * environment), and root refuses lab state that someone else could have written — an XCC_HOME,
 * `labs/` or lab directory not owned by root or writable by group or others is exit 3, naming the
 * path and what is wrong. The innocent process of each case is a `sleep` this test starts in a
 * process group of its own; it must survive.
 */
import assert from 'node:assert/strict'
import {type ChildProcess, spawn} from 'node:child_process'
import {chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {type Server, createServer} from 'node:net'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {LabCli, ROOT, STACK} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'

const NOBODY = 65534

function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string
}

/** a running `sleep` in a process group of its own: what a forged state points at */
function innocent(): ChildProcess {
  const child = spawn('sleep', ['300'], {detached: true, stdio: 'ignore'})
  assert.ok(child.pid, 'sleep started')
  return child
}

async function survives(child: ChildProcess): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(child.exitCode, null, 'the innocent process is still running')
  assert.equal(child.signalCode, null, `the innocent process was not killed (got ${child.signalCode})`)
}

describe('xcc lab: forged lab state', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/down.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const cli = new LabCli()
  const children: ChildProcess[] = []
  let api: Server
  let port = 0

  before(async () => {
    // something answers where the forged state says the API server is, so only trust decides
    api = createServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
    port = (api.address() as {port: number}).port
  })
  after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    api.close()
    cli.cleanup()
  })

  /** a state.json as an attacker writes it: a running lab whose background process is `victim` */
  function forge(home: string, lab: string, victim: ChildProcess, extra: Record<string, unknown> = {}): string {
    const dir = join(home, 'labs', lab)
    mkdirSync(dir, {recursive: true})
    const state = {
      schemaVersion: 1, name: lab, createdAt: new Date().toISOString(), source: 'scenario forged', topologyName: 'forged', phase: 'running',
      plan: {namespaces: [], links: [], pods: [], servers: [], hosts: {}},
      daemonPid: victim.pid, daemonStart: startTime(victim.pid!), clusters: [{name: 'a', context: 'a', server: `https://127.0.0.1:${port}`, port}],
      kubeconfig: join(dir, 'kubeconfig'), ...extra,
    }
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state))
    return dir
  }

  function victim(): ChildProcess {
    const child = innocent()
    children.push(child)
    return child
  }

  it('a world-writable XCC_HOME: down and status refuse (exit 3, naming it), the process named as the daemon survives', async () => {
    const home = cli.home()
    const lab = cli.lab('fw')
    const sleeper = victim()
    const dir = forge(home, lab, sleeper)
    for (const path of [home, join(home, 'labs'), dir]) chmodSync(path, 0o777)
    const down = cli.run(home, ['lab', 'down', '--name', lab])
    assert.equal(down.status, 3, `${down.stdout}${down.stderr}`)
    assert.match(down.stderr, new RegExp(`${home}.*writable by others`))
    assert.doesNotMatch(down.stderr, STACK)
    await survives(sleeper)
    const status = cli.run(home, ['lab', 'status', '--name', lab])
    assert.equal(status.status, 3, `a forged lab is not healthy: ${status.stdout}${status.stderr}`)
    assert.match(status.stderr, /writable by others/)
    assert.equal(existsSync(join(dir, 'state.json')), true, 'a refused state is left alone')
  })

  it('a lab directory owned by another user under root\'s home: refused, naming it and its owner', async () => {
    const home = cli.home()
    const lab = cli.lab('fo')
    const sleeper = victim()
    const dir = forge(home, lab, sleeper)
    chownSync(dir, NOBODY, NOBODY)
    chownSync(join(dir, 'state.json'), NOBODY, NOBODY)
    const down = cli.run(home, ['lab', 'down', '--name', lab])
    assert.equal(down.status, 3, `${down.stdout}${down.stderr}`)
    assert.match(down.stderr, new RegExp(`${dir} is owned by uid ${NOBODY}`))
    await survives(sleeper)
    const up = cli.run(home, ['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', lab])
    assert.equal(up.status, 3, `up refuses too: ${up.stderr}`)
    await survives(sleeper)
  })

  it('root\'s own directories, but the pid and start time of a process xcc did not start: down removes the state and signals nothing', async () => {
    const home = cli.home()
    for (const [label, extra] of [['ft', {}], ['fk', {daemonToken: 'f00d'.repeat(8)}]] as const) {
      const lab = cli.lab(label)
      const sleeper = victim()
      forge(home, lab, sleeper, extra)
      const status = cli.run(home, ['lab', 'status', '--name', lab])
      assert.equal(status.status, 1, `${label}: not healthy: ${status.stdout}${status.stderr}`)
      assert.match(status.stdout, /background process.*is not running/)
      const down = cli.run(home, ['lab', 'down', '--name', lab, '--json'])
      assert.equal(down.status, 0, down.stderr)
      assert.equal((JSON.parse(down.stdout) as {processesStopped: number}).processesStopped, 0)
      await survives(sleeper)
      assert.equal(existsSync(join(home, 'labs', lab)), false)
    }
  })
})
