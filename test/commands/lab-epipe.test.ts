/**
 * `xcc lab up … | head -1` (issue 13): the reader goes away early and xcc's next write to the
 * pipe fails (EPIPE; node ignores SIGPIPE). Whether stdout or stderr (`2>&1 | head -1`) is the
 * closed pipe, `lab up` must not stop half-way: it stops writing, finishes the lab, and exits
 * with the code of the run (0) — `lab status` then says healthy and every namespace is there.
 * `lab down` (the cleanup, also when a test fails) removes it. Through the built CLI, as root.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {LabCli, ROOT, namespacesOf} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'

const RUN = join(ROOT, 'bin/run.js')

/** `xcc lab up …` in a bash pipeline; returns the exit codes of xcc and of the reader, and what the reader printed */
function pipeline(home: string, lab: string, redirect: '' | '2>&1', reader: string): {xcc: number; reader: number; out: string; stderr: string} {
  const script = `"${process.execPath}" "${RUN}" lab up --scenario gateways-missing-snat --name ${lab} ${redirect} | ${reader}; echo "codes \${PIPESTATUS[0]} \${PIPESTATUS[1]}" >&2`
  const r = spawnSync('bash', ['-c', script], {cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: {...process.env, XCC_HOME: home, NO_COLOR: '1'}})
  const codes = /codes (\d+) (\d+)\s*$/.exec(r.stderr)
  assert.ok(codes, `the pipeline ended: ${r.stderr} ${r.error ?? ''}`)
  return {xcc: Number(codes[1]), reader: Number(codes[2]), out: r.stdout, stderr: r.stderr}
}

describe('xcc lab up into a pipe that closes early', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/up.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const cli = new LabCli()
  after(() => cli.cleanup())

  const healthy = (home: string, lab: string): void => {
    const status = cli.run(home, ['lab', 'status', '--name', lab, '--json'])
    assert.equal(status.status, 0, `lab status: ${status.stdout} ${status.stderr}`)
    const view = JSON.parse(status.stdout) as {healthy: boolean; namespaces: {present: number; expected: number}}
    assert.equal(view.healthy, true)
    assert.ok(view.namespaces.expected > 0)
    assert.equal(view.namespaces.present, view.namespaces.expected, 'every namespace of the lab is there')
    // besides the plan's namespaces, each cluster's DNS pod has its own
    assert.ok(namespacesOf(lab).length >= view.namespaces.expected, `${namespacesOf(lab).length} namespaces, the plan has ${view.namespaces.expected}`)
  }

  const cases: ReadonlyArray<[string, '' | '2>&1', string]> = [
    ['stdout: | head -1', '', 'head -1'],
    ['stdout closed before anything is written: | true', '', 'true'],
    ['stderr and stdout: 2>&1 | head -1 (the progress lines hit the closed pipe)', '2>&1', 'head -1'],
    ['stderr and stdout closed at once: 2>&1 | true', '2>&1', 'true'],
  ]
  for (const [what, redirect, reader] of cases) {
    it(`${what}: the lab is finished and healthy, exit 0`, () => {
      const home = cli.home()
      const lab = cli.lab(`ep${cases.findIndex((c) => c[0] === what)}`)
      try {
        const r = pipeline(home, lab, redirect, reader)
        assert.equal(r.reader, 0)
        if (reader === 'head -1') assert.equal(r.out.split('\n').filter(Boolean).length, 1, `head printed one line: ${r.out}`)
        assert.equal(r.xcc, 0, `xcc exited ${r.xcc}; stderr: ${r.stderr.slice(-2000)}`)
        healthy(home, lab)
      } finally {
        const down = cli.run(home, ['lab', 'down', '--name', lab])
        assert.equal(down.status, 0, down.stderr)
        assert.deepEqual(namespacesOf(lab), [])
      }
    })
  }

  it('other commands into a closed pipe still stop quietly with their own exit code', () => {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${RUN}" lab up --scenario list | head -1; echo "codes \${PIPESTATUS[0]}" >&2`], {cwd: ROOT, encoding: 'utf8', timeout: 60_000})
    assert.match(r.stderr, /codes 0\s*$/)
    assert.doesNotMatch(r.stderr, /EPIPE|Error/)
    const bad = spawnSync('bash', ['-c', `"${process.execPath}" "${RUN}" lab up --scenario no-such-scenario 2>&1 | true; echo "codes \${PIPESTATUS[0]}" >&2`], {cwd: ROOT, encoding: 'utf8', timeout: 60_000})
    assert.match(bad.stderr, /codes 2\s*$/)
  })
})
