/**
 * `xcc lab exec` through the built CLI, as root: everything after the first `--` reaches the
 * command unchanged, even words that are xcc flags (`--name`, `--json`, `--help`, `-n`); without
 * `--` nothing runs and xcc prints the command line with `--`.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {LabCli, ROOT, STACK, namespacesOf} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'

describe('xcc lab exec', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/exec.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('ex')
  const host = 'pod/a/default/client'
  const exec = (command: readonly string[], flags: readonly string[] = []) => cli.run(home, ['lab', 'exec', '--name', lab, ...flags, host, '--', ...command])
  before(() => {
    const up = cli.run(home, ['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', lab])
    assert.equal(up.status, 0, up.stderr)
  })
  after(() => {
    cli.cleanup()
    assert.deepEqual(namespacesOf(lab), [])
  })

  it('passes xcc flag names after -- to the command', () => {
    for (const words of [['--name', 'x'], ['--json'], ['--help'], ['-h'], ['--name', 'x', '--json', '--help'], ['--', 'y'], ['--bogus']]) {
      const r = exec(['printf', '%s|', ...words])
      assert.equal(r.status, 0, `printf ${words.join(' ')}: ${r.stderr}`)
      assert.equal(r.stdout, words.map((w) => `${w}|`).join(''), `printf %s| ${words.join(' ')}`)
      assert.equal(r.stderr, '')
    }
  })

  it('passes -n after -- (echo prints without a newline)', () => {
    const r = exec(['echo', '-n', 'x'])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, 'x')
  })

  it('a shell command with arguments that repeat the host and the lab name', () => {
    const r = exec(['sh', '-c', 'printf "%s|" "$@"', 'sh', host, '--name', lab, host])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, `${host}|--name|${lab}|${host}|`)
  })

  it('--json after -- is not xcc\'s: an error stays text', () => {
    const r = cli.run(home, ['lab', 'exec', '--name', lab, 'pod/a/default/nope', '--', 'ls', '--json'])
    assert.equal(r.status, 2)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /^Error: lab \S+ has no host pod\/a\/default\/nope/)
  })

  it('--json before -- is xcc\'s', () => {
    const r = cli.run(home, ['lab', 'exec', '--name', lab, '--json', 'pod/a/default/nope', '--', 'true'])
    assert.equal(r.status, 2)
    assert.equal((JSON.parse(r.stdout) as {error: {exitCode: number}}).error.exitCode, 2)
  })

  it('the exit code of the command is passed through', () => assert.equal(exec(['sh', '-c', 'exit 7']).status, 7))

  it('words between the host and -- are a usage error, naming them', () => {
    const r = cli.run(home, ['lab', 'exec', '--name', lab, host, 'echo', '--', 'hi'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /unexpected echo before --/)
    assert.doesNotMatch(r.stderr, STACK)
  })

  /** the command line xcc prints when -- is missing, run as printed by sh (xcc being this build) */
  const runAsPrinted = (stderr: string) => {
    const line = /^ {2}(xcc lab exec .*)$/m.exec(stderr)?.[1]
    assert.ok(line, `a command line to run in:\n${stderr}`)
    return {line, result: spawnSync('sh', ['-c', `xcc() { "${process.execPath}" "${join(ROOT, 'bin/run.js')}" "$@"; }; ${line}`], {encoding: 'utf8', env: {...process.env, XCC_HOME: home, NO_COLOR: '1'}})}
  }

  for (const [what, command, shown] of [
    ['plain words', ['echo', 'hi'], 'echo hi'],
    ['a word that looks like a flag (tcpdump -i eth0)', ['printf', '%s|', '-i', 'eth0'], "printf '%s|' -i eth0"],
    ['a word xcc would take as its own (--json)', ['printf', '%s|', '--json'], "printf '%s|' --json"],
    ['words the shell must see quoted', ['sh', '-c', 'printf "%s|" "$0" "it\'s"', 'a b'], `sh -c 'printf "%s|" "$0" "it'\\''s"' 'a b'`],
  ] as const) {
    it(`without --, the command is refused (exit 2) with the command line that adds --, which runs as printed: ${what}`, () => {
      const r = cli.run(home, ['lab', 'exec', '--name', lab, host, ...command])
      assert.equal(r.status, 2, r.stderr)
      assert.equal(r.stdout, '', 'nothing ran')
      assert.match(r.stderr, /^Error: the command to run in pod\/a\/default\/client goes after --/)
      assert.doesNotMatch(r.stderr, STACK)
      const {line, result} = runAsPrinted(r.stderr)
      assert.equal(line, `xcc lab exec --name ${lab} ${host} -- ${shown}`)
      assert.equal(result.status, 0, result.stderr)
      assert.equal(result.stdout, spawnSync(command[0], command.slice(1), {encoding: 'utf8'}).stdout, 'the printed line runs the same command')
    })
  }

  it('without --, --json before the host is xcc\'s: the refusal is the JSON error, with the command line in its details', () => {
    const r = cli.run(home, ['lab', 'exec', '--json', '--name', lab, host, 'ip', 'addr'])
    assert.equal(r.status, 2)
    const body = JSON.parse(r.stdout) as {error: {kind: string; details: string[]; exitCode: number}}
    assert.deepEqual([body.error.kind, body.error.exitCode], ['usage', 2])
    assert.deepEqual(body.error.details, [`xcc lab exec --name ${lab} --json ${host} -- ip addr`])
  })

  it('echo --help after -- is echo\'s help, not xcc\'s', () => {
    const r = exec(['echo', '--help'])
    assert.equal(r.status, 0, r.stderr)
    assert.doesNotMatch(r.stdout, /xcc|USAGE/)
  })

})
