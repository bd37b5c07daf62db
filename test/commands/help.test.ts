/**
 * `xcc help [COMMAND…]` and an unknown command, as a user meets them: the built CLI in a child
 * process. An unknown command is a usage error (exit 2, contracts.md §2), with --json the
 * contract's error object on stdout and nothing else there.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {nearestCommands} from '../../src/cli/suggest.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const STACK = /^\s+at .+:\d+:\d+\)?$/m

function xcc(args: string[]): {status: number | null; stdout: string; stderr: string} {
  assert.ok(existsSync(join(ROOT, 'dist/commands/help.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}, timeout: 30_000})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

describe('xcc help', () => {
  it('help <topic> lists the topic\'s commands, help <command> shows the same text as <command> --help', () => {
    const topic = xcc(['help', 'lab'])
    assert.equal(topic.status, 0, topic.stderr)
    for (const c of ['lab up', 'lab down', 'lab status', 'lab exec']) assert.match(topic.stdout, new RegExp(c))
    const viaHelp = xcc(['help', 'masquerade', 'add'])
    const viaFlag = xcc(['masquerade', 'add', '--help'])
    assert.equal(viaHelp.status, 0, viaHelp.stderr)
    assert.equal(viaHelp.stdout, viaFlag.stdout)
    assert.match(viaHelp.stdout, /--cidr/)
  })

  it('help with no argument shows the topics', () => {
    const r = xcc(['help'])
    assert.equal(r.status, 0, r.stderr)
    for (const t of ['doctor', 'lab', 'masquerade']) assert.match(r.stdout, new RegExp(`\\b${t}\\b`))
  })
})

describe('an unknown command', () => {
  it('is exit 2 with a message naming it and the nearest commands, no stack', () => {
    const r = xcc(['lab', 'stat'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /unknown command "lab stat"/)
    assert.match(r.stderr, /did you mean xcc lab status/)
    assert.doesNotMatch(r.stderr, STACK)
    assert.equal(r.stdout, '')
  })

  it('with --json is one JSON error object on stdout (kind usage, exitCode 2)', () => {
    const r = xcc(['frobnicate', '--json'])
    assert.equal(r.status, 2)
    const parsed = JSON.parse(r.stdout) as {schemaVersion: number; error: {kind: string; message: string; exitCode: number}}
    assert.deepEqual([parsed.schemaVersion, parsed.error.kind, parsed.error.exitCode], [1, 'usage', 2])
    assert.match(parsed.error.message, /unknown command "frobnicate"/)
  })

  it('suggests commands of the same topic first, else those a few edits away', () => {
    const known = ['doctor', 'doctor cleanup', 'lab down', 'lab exec', 'lab status', 'lab up', 'masquerade add']
    assert.equal(nearestCommands('lab stat', known)[0], 'lab status')
    assert.deepEqual(nearestCommands('doctr', known), ['doctor'])
    assert.deepEqual(nearestCommands('zzzzzz', known), [])
  })
})
