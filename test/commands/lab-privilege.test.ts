/**
 * `xcc lab exec` and `xcc lab status` without root, on a running lab whose XCC_HOME is root's
 * (mode 0700): exec exits 3 "needs root" as down does, status exits 3 saying it cannot read the
 * lab's state — not "no lab named …" (exit 2) nor "namespaces without state" (exit 1). Runs the
 * CLI as nobody with runuser (util-linux).
 */
import assert from 'node:assert/strict'
import {type SpawnSyncReturns, spawnSync} from 'node:child_process'
import {existsSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {LabCli, ROOT, STACK} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'

describe('xcc lab without root', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/exec.js')), 'dist/ is missing: run npm run build (npm test does it)')
  assert.equal(spawnSync('runuser', ['--version']).error, undefined, 'these tests need runuser: apt-get install util-linux')
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('pv')
  const asNobody = (args: readonly string[]): SpawnSyncReturns<string> => spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, join(ROOT, 'bin/run.js'), ...args], {
    cwd: '/', encoding: 'utf8', timeout: 60_000, env: {...process.env, XCC_HOME: home, NO_COLOR: '1'},
  })
  before(() => {
    const up = cli.run(home, ['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', lab])
    assert.equal(up.status, 0, up.stderr)
    assert.equal(statSync(home).mode & 0o077, 0, 'the home is root\'s alone')
    assert.equal(asNobody(['--version']).status, 0, 'nobody can run the CLI')
  })
  after(() => cli.cleanup())

  it('exec: exit 3, needs root', () => {
    const r = asNobody(['lab', 'exec', '--name', lab, 'pod/a/default/client', '--', 'true'])
    assert.equal(r.status, 3, r.stderr)
    assert.match(r.stderr, /xcc lab needs root/)
    assert.doesNotMatch(r.stderr, STACK)
  })

  it('exec of a lab that does not exist: still exit 3 (it cannot know without root)', () => {
    const r = asNobody(['lab', 'exec', '--name', `${lab}x`, 'pod/a/default/client', '--', 'true'])
    assert.equal(r.status, 3, r.stderr)
    assert.match(r.stderr, /xcc lab needs root/)
  })

  it('status: exit 3, cannot read the state, naming where', () => {
    const r = asNobody(['lab', 'status', '--name', lab])
    assert.equal(r.status, 3, `${r.stdout}${r.stderr}`)
    assert.match(r.stderr, new RegExp(`cannot read the lab's state in ${home}/labs/${lab}: permission denied[\\s\\S]*sudo`))
    assert.doesNotMatch(r.stdout, /namespaces/)
    assert.doesNotMatch(r.stderr, STACK)
  })

  it('status --json: the same as a JSON error', () => {
    const r = asNobody(['lab', 'status', '--name', lab, '--json'])
    assert.equal(r.status, 3)
    const error = (JSON.parse(r.stdout) as {error: {kind: string; exitCode: number; message: string}}).error
    assert.equal(error.kind, 'environment')
    assert.match(error.message, /cannot read the lab's state/)
  })

  it('down: exit 3, needs root (as before), and the lab is still healthy', () => {
    const r = asNobody(['lab', 'down', '--name', lab])
    assert.equal(r.status, 3)
    assert.match(r.stderr, /xcc lab needs root/)
    assert.equal(cli.run(home, ['lab', 'status', '--name', lab]).status, 0)
  })
})
