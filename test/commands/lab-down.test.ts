/**
 * `xcc lab down` through the built CLI, as root: it reports what it removed, not what the state
 * file lists.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {LabCli, ROOT, namespacesOf} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'

describe('xcc lab down', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/down.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const cli = new LabCli()
  const home = cli.home()
  after(() => cli.cleanup())

  it('counts the namespaces it removed: two deleted by hand before are not counted', () => {
    const lab = cli.lab('dn')
    const up = cli.run(home, ['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', lab])
    assert.equal(up.status, 0, up.stderr)
    const all = namespacesOf(lab)
    assert.ok(all.length > 2, `the lab has namespaces: ${all.join(' ')}`)
    for (const ns of all.slice(0, 2)) assert.equal(spawnSync('ip', ['netns', 'del', ns]).status, 0)
    const down = cli.run(home, ['lab', 'down', '--name', lab, '--json'])
    assert.equal(down.status, 0, down.stderr)
    const result = JSON.parse(down.stdout) as {existed: boolean; namespacesRemoved: number}
    assert.equal(result.existed, true)
    assert.equal(result.namespacesRemoved, all.length - 2)
    assert.deepEqual(namespacesOf(lab), [])
  })

  it('the text says the same; a second down removes nothing', () => {
    const lab = cli.lab('dt')
    assert.equal(cli.run(home, ['lab', 'up', '--scenario', 'vpc-native-pair-works', '--name', lab]).status, 0)
    const all = namespacesOf(lab)
    assert.equal(spawnSync('ip', ['netns', 'del', all[0] as string]).status, 0)
    const down = cli.run(home, ['lab', 'down', '--name', lab])
    assert.equal(down.status, 0, down.stderr)
    assert.match(down.stdout, new RegExp(`^Lab ${lab} removed \\(${all.length - 1} namespaces, \\d+ processes\\)`))
    const again = cli.run(home, ['lab', 'down', '--name', lab, '--json'])
    assert.equal(again.status, 0, again.stderr)
    const second = JSON.parse(again.stdout) as {existed: boolean; namespacesRemoved: number}
    assert.equal(second.existed, false)
    assert.equal(second.namespacesRemoved, 0)
  })
})
