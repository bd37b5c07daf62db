/**
 * The lab's private keys never touch a temporary directory (issue 13, privilege): `xcc lab up`
 * killed with SIGKILL while it makes its certificates leaves no key in TMPDIR, and `lab down`
 * removes every key the lab kept (in its own state directory). TMPDIR is a directory of this
 * test, watched during the whole `up`.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {LabCli, ROOT} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'

/** every regular file under `dir` */
function filesUnder(dir: string): string[] {
  const found: string[] = []
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return found
  }
  for (const entry of entries) {
    const path = join(dir, entry)
    try {
      const stat = statSync(path)
      if (stat.isDirectory()) found.push(...filesUnder(path))
      else if (stat.isFile()) found.push(path)
    } catch {
      // removed meanwhile
    }
  }
  return found
}

function keysUnder(dir: string): string[] {
  return filesUnder(dir).filter((path) => {
    try {
      return /PRIVATE KEY/.test(readFileSync(path, 'utf8')) || /key/.test(path)
    } catch {
      return false
    }
  })
}

describe('xcc lab up: certificates and SIGKILL', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/up.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const cli = new LabCli()
  const home = cli.home()
  const tmp = mkdtempSync(join(tmpdir(), 'xcc-fx-tmp-'))
  after(() => {
    cli.cleanup()
    rmSync(tmp, {recursive: true, force: true})
  })

  it('kill -9 during certificate creation: no key in TMPDIR at any time, none left after lab down', async () => {
    const lab = cli.lab('pk')
    const child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'up', '--scenario', 'peered-vpcs-missing-snat', '--name', lab], {
      cwd: ROOT, env: {...process.env, XCC_HOME: home, TMPDIR: tmp, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    let certificatesAt = 0
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      if (!certificatesAt && output.includes('creating certificates')) certificatesAt = Date.now()
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    let ended = false
    void exited.then(() => (ended = true))
    const seen = new Set<string>()
    const deadline = Date.now() + 60_000
    // watch TMPDIR until a key shows up there, or a moment into the certificates
    while (!ended && Date.now() < deadline) {
      for (const key of keysUnder(tmp)) seen.add(key)
      if (seen.size > 0 || (certificatesAt && Date.now() - certificatesAt > 15)) break
      await new Promise((resolve) => setImmediate(resolve))
    }
    child.kill('SIGKILL')
    await exited
    assert.ok(certificatesAt > 0, `lab up got to its certificates before it was killed:\n${output}`)
    const left = keysUnder(tmp)
    const down = cli.run(home, ['lab', 'down', '--name', lab])
    assert.equal(down.status, 0, down.stderr)
    assert.deepEqual(left, [], 'no key in TMPDIR after kill -9')
    assert.deepEqual([...seen], [], 'no key was ever written to TMPDIR')
    assert.deepEqual(keysUnder(tmp), [], 'nor after lab down')
    assert.deepEqual(readdirSync(tmp).filter((entry) => entry.startsWith('xcc-pki-')), [])
    assert.equal(existsSync(join(home, 'labs', lab)), false, 'lab down removed the lab directory and the keys kept there')
  })
})
