/**
 * Ctrl-C during `xcc lab up`, through the built CLI as root: a real SIGINT (or SIGTERM) sent to
 * the process while it builds a scenario — at several steps, recognised by its progress lines —
 * removes what was built: no namespace of the lab, no process of it, no state directory, no
 * owner record; stderr says "interrupted"; exit 130. Each run is bounded (30 s).
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {LabCli, ROOT, STACK, namespacesOf} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'

interface Interrupted {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** runs `lab up`, sends `signal` as soon as stderr matches `when`, and waits for the exit */
function upAndInterrupt(home: string, lab: string, when: RegExp, signal: NodeJS.Signals, extra: readonly string[] = []): Promise<Interrupted> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'up', '--scenario', 'gateways-missing-snat', '--name', lab, ...extra], {
      cwd: ROOT, env: {...process.env, XCC_HOME: home, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let sent = false
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`lab up did not end within 30 s; stderr: ${stderr}`))
    }, 30_000)
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
      // once: a second signal quits at once, without cleaning up (cli/interrupt.ts)
      if (!sent && when.test(stderr)) {
        sent = true
        child.kill(signal)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

/** processes whose command line names the lab's state directory (its background process) */
function processesOf(dir: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)
    } catch {
      return false
    }
  }).map(Number)
}

describe('xcc lab up interrupted', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/up.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const cli = new LabCli()
  after(() => cli.cleanup())

  const cases: ReadonlyArray<[string, RegExp, NodeJS.Signals]> = [
    ['while it creates the links', /creating \d+ links/, 'SIGINT'],
    ['while it configures the namespaces', /configuring addresses/, 'SIGINT'],
    ['while the background process starts', /starting the emulated Kubernetes API/, 'SIGINT'],
    ['by SIGTERM while it configures the namespaces', /configuring addresses/, 'SIGTERM'],
  ]
  for (const [what, when, signal] of cases) {
    it(`${what}: exit 130, says interrupted, leaves nothing`, async () => {
      const home = cli.home()
      const lab = cli.lab(`in${cases.findIndex((c) => c[0] === what)}`)
      const r = await upAndInterrupt(home, lab, when, signal)
      assert.equal(r.code, 130, `exit ${r.code}: ${r.stderr}`)
      assert.match(r.stderr, /xcc: interrupted; removing what the lab built/)
      assert.match(r.stderr, new RegExp(`Error: interrupted: lab ${lab} was not built, and nothing of it is left\\n$`))
      assert.doesNotMatch(r.stderr, STACK)
      assert.equal(r.stdout, '')
      assert.deepEqual(namespacesOf(lab), [], 'no namespace of the lab')
      assert.equal(existsSync(join(home, 'labs', lab)), false, 'no state directory')
      assert.equal(existsSync(`/run/xcc/labs/${lab}.json`), false, 'no owner record')
      assert.deepEqual(processesOf(join(home, 'labs', lab)), [], 'no background process')
    })
  }

  it('--json: the interruption is one JSON error on stdout', async () => {
    const home = cli.home()
    const lab = cli.lab('ij')
    const r = await upAndInterrupt(home, lab, /creating \d+ links/, 'SIGINT', ['--json'])
    assert.equal(r.code, 130, r.stderr)
    const error = (JSON.parse(r.stdout) as {error: {kind: string; exitCode: number}}).error
    assert.deepEqual([error.kind, error.exitCode], ['interrupted', 130])
    assert.deepEqual(namespacesOf(lab), [])
  })
})
