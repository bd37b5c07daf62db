/** `xcc link plan` refuses bad input with exit 2 before it reads any project (no cloud is needed for these). */
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {LabCli, STACK} from '../support/lab-cli.js'

describe('xcc link plan, bad input', () => {
  const cli = new LabCli()
  const home = cli.home()
  after(() => cli.cleanup())
  // no project anywhere: a run that reached the cloud would fail differently (exit 2 naming the project)
  const env = {CLOUDSDK_CORE_PROJECT: '', GOOGLE_CLOUD_PROJECT: '', CLOUDSDK_CONFIG: home}
  const run = (args: readonly string[]) => cli.run(home, ['link', 'plan', ...args], {env})

  it('a link name that is not RFC 1035', () => {
    const r = run(['Front_End', '--from', 'a', '--to', 'b'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /^Error: link name "Front_End": must be lowercase letters, digits and hyphens/)
    assert.doesNotMatch(r.stderr, STACK)
  })

  it('a --service that is not NAMESPACE/NAME, as JSON', () => {
    const r = run(['fe-be', '--from', 'a', '--to', 'b', '--service', 'dummy', '--json'])
    assert.equal(r.status, 2)
    const out = JSON.parse(r.stdout) as {schemaVersion: number; error: {message: string; exitCode: number}}
    assert.deepEqual([out.schemaVersion, out.error.message, out.error.exitCode], [1, '--service dummy: must be NAMESPACE/NAME', 2])
  })

  it('the same cluster twice, an unknown mode', () => {
    const same = run(['fe-be', '--from', 'a', '--to', 'a'])
    assert.equal(same.status, 2)
    assert.match(same.stderr, /--from and --to are both a: a link joins two clusters/)
    const mode = run(['fe-be', '--from', 'a', '--to', 'b', '--mode', 'vpn'])
    assert.equal(mode.status, 2)
    assert.match(mode.stderr, /Expected --mode=vpn to be one of: peering, gateway, auto/)
  })

  it('its help documents --detailed-exitcode', () => {
    const r = cli.run(home, ['link', 'plan', '--help'])
    assert.equal(r.status, 0)
    assert.match(r.stdout, /--detailed-exitcode/)
  })
})
