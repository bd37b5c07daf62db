/** `xcc link verify` and `xcc link list` refuse bad input with exit 2 before they read any project (no cloud is needed for these). */
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {LabCli, STACK} from '../support/lab-cli.js'

describe('xcc link verify and list, bad input', () => {
  const cli = new LabCli()
  const home = cli.home()
  after(() => cli.cleanup())
  // no project anywhere: a run that reached the cloud would fail differently (exit 2 naming the project)
  const env = {CLOUDSDK_CORE_PROJECT: '', GOOGLE_CLOUD_PROJECT: '', CLOUDSDK_CONFIG: home}
  const run = (args: readonly string[]) => cli.run(home, ['link', ...args], {env})

  it('a link name that is not RFC 1035', () => {
    const r = run(['verify', 'Front_End'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /^Error: link name "Front_End": must be lowercase letters, digits and hyphens/)
    assert.doesNotMatch(r.stderr, STACK)
    assert.equal(r.stdout, '')
  })

  it('--live with a bad probe namespace or probe timeout, as JSON', () => {
    const ns = run(['verify', 'fe-be', '--live', '--probe-namespace', 'Bad_NS', '--json'])
    assert.equal(ns.status, 2)
    const out = JSON.parse(ns.stdout) as {schemaVersion: number; error: {message: string; exitCode: number}}
    assert.deepEqual([out.schemaVersion, out.error.exitCode], [1, 2])
    assert.match(out.error.message, /--probe-namespace/)
    const timeout = run(['verify', 'fe-be', '--live', '--probe-timeout', 'soon'])
    assert.equal(timeout.status, 2)
    assert.match(timeout.stderr, /probe-timeout/)
  })

  it('a bad --timeout for list', () => {
    const r = run(['list', '--timeout', 'forever'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /timeout/)
    assert.doesNotMatch(r.stderr, STACK)
  })

  it('their help lists the flags', () => {
    const verify = cli.run(home, ['link', 'verify', '--help'])
    assert.equal(verify.status, 0)
    for (const f of ['--live', '--junit', '--json', '--project', '--timeout']) assert.match(verify.stdout, new RegExp(f))
    const topic = cli.run(home, ['help', 'link'])
    assert.equal(topic.status, 0)
    for (const c of ['link list', 'link plan', 'link verify']) assert.match(topic.stdout, new RegExp(c))
  })
})
