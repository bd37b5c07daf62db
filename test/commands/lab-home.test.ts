/**
 * An XCC_HOME that cannot hold lab state — a regular file, or a read-only directory — makes
 * `xcc lab up` and `xcc lab down` exit 3 (environment) naming the path, without a stack trace,
 * and nothing is built. The read-only home is a bind mount inside a private mount namespace
 * (`unshare -m`), so it disappears with the command and never touches the host's mounts.
 */
import assert from 'node:assert/strict'
import {type SpawnSyncReturns, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {LabCli, ROOT, STACK, namespacesOf} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'

function assertEnvironmentError(r: SpawnSyncReturns<string>, message: RegExp): void {
  assert.equal(r.status, 3, `exit ${r.status}: ${r.stderr}`)
  assert.match(r.stderr, message)
  assert.doesNotMatch(r.stderr, STACK, 'no stack trace')
  assert.doesNotMatch(r.stderr, /ENOTDIR|EROFS|EACCES/, 'said in words, not errno codes')
}

describe('xcc lab with an unusable XCC_HOME', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/up.js')), 'dist/ is missing: run npm run build (npm test does it)')
  assert.equal(spawnSync('unshare', ['--version']).error, undefined, 'these tests need unshare: apt-get install util-linux')
  const cli = new LabCli()
  const lab = cli.lab('hm')
  after(() => cli.cleanup())

  it('XCC_HOME is a regular file: up exits 3 naming it and builds nothing', () => {
    const file = join(cli.home(), 'not-a-dir')
    writeFileSync(file, '')
    assertEnvironmentError(cli.run(file, ['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', lab]), new RegExp(`XCC_HOME cannot hold lab state: ${file} is not a directory`))
    assert.deepEqual(namespacesOf(lab), [])
  })

  it('XCC_HOME is a regular file: down exits 3 naming it', () => {
    const file = join(cli.home(), 'not-a-dir')
    writeFileSync(file, '')
    assertEnvironmentError(cli.run(file, ['lab', 'down', '--name', lab]), new RegExp(`XCC_HOME cannot hold lab state: ${file} is not a directory`))
  })

  /** the CLI with `home` mounted read-only for it alone */
  const readOnly = (home: string, args: readonly string[]) => spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind -o ro "$1" "$1" && shift && exec "$@"', 'sh', home, process.execPath, join(ROOT, 'bin/run.js'), ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: {...process.env, XCC_HOME: home, NO_COLOR: '1'},
  })

  it('a read-only XCC_HOME: up exits 3 naming it and builds nothing', () => {
    const home = cli.home()
    mkdirSync(join(home, 'labs'))
    const r = readOnly(home, ['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', lab])
    assert.notEqual(r.status, 32, `mounting failed (needs root and mount namespaces): ${r.stderr}`)
    assertEnvironmentError(r, new RegExp(`XCC_HOME cannot hold lab state: ${home}/labs is on a read-only file system`))
    assert.deepEqual(namespacesOf(lab), [])
    assert.equal(existsSync(join(home, 'labs', lab)), false)
  })

  it('a read-only XCC_HOME: down of a lab directory there exits 3 naming it, and leaves it', () => {
    const home = cli.home()
    mkdirSync(join(home, 'labs', lab), {recursive: true})
    assertEnvironmentError(readOnly(home, ['lab', 'down', '--name', lab]), new RegExp(`XCC_HOME cannot hold lab state: ${home}/labs is on a read-only file system`))
    assert.equal(existsSync(join(home, 'labs', lab)), true)
  })
})
