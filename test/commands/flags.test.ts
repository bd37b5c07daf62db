/**
 * A mistyped flag, for every command (the base command does it once): exit 2, the flag named,
 * and the nearest flag suggested; with --json the contract's error object on stdout.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const STACK = /^\s+at .+:\d+:\d+\)?$/m

function xcc(args: string[]): {status: number | null; stdout: string; stderr: string} {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}, timeout: 30_000})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

interface Manifest {
  commands: Record<string, {flags: Record<string, {name: string; hidden?: boolean}>; args: Record<string, {required?: boolean}>}>
}

assert.ok(existsSync(join(ROOT, 'oclif.manifest.json')), 'oclif.manifest.json is missing: run npm run build (npm test does it)')
const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as Manifest

/** the flag with two neighbouring letters swapped in its middle */
const swap = (name: string): string => {
  const i = Math.floor(name.length / 2) - 1
  return `${name.slice(0, i)}${name[i + 1]}${name[i]}${name.slice(i + 2)}`
}

describe('a mistyped flag', () => {
  it('xcc doctor --topolgy x: exit 2, "Nonexistent flag: --topolgy", did you mean --topology?', () => {
    const r = xcc(['doctor', '--topolgy', 'x', '--from', 'a', '--to', 'b:1'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /^Error: Nonexistent flag: --topolgy\n/)
    assert.match(r.stderr, /did you mean --topology\?/)
    assert.doesNotMatch(r.stderr, STACK)
    assert.equal(r.stdout, '')
  })

  it('several mistyped flags: each with its suggestion', () => {
    const r = xcc(['doctor', '--topolgy', 'x', '--frm', 'a', '--to', 'b:1'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /did you mean --topology \(for --topolgy\), --from \(for --frm\)\?/)
  })

  it('a word far from every flag gets no guess, only the help to read', () => {
    const r = xcc(['doctor', '--zzzzzz'])
    assert.equal(r.status, 2)
    assert.doesNotMatch(r.stderr, /did you mean/)
    assert.match(r.stderr, /see xcc doctor --help/)
  })

  const commands = Object.entries(manifest.commands).filter(([id, c]) => id !== 'help' && Object.keys(c.flags).length > 1)
  it('every command has flags to check', () => assert.ok(commands.length >= 9, commands.map(([id]) => id).join(', ')))
  for (const [id, command] of commands) {
    const flag = Object.values(command.flags).filter((f) => !f.hidden && f.name !== 'json').sort((a, b) => b.name.length - a.name.length)[0]?.name as string
    const args = Object.values(command.args).filter((a) => a.required).map(() => 'x')
    const words = id.split(':')
    it(`xcc ${words.join(' ')} --${swap(flag)} names --${flag}, as text and as JSON`, () => {
      const human = xcc([...words, ...args, `--${swap(flag)}`])
      assert.equal(human.status, 2, human.stderr)
      assert.match(human.stderr, new RegExp(`Nonexistent flag: --${swap(flag)}\\n[^]*did you mean --${flag}\\?`))
      const json = xcc([...words, ...args, `--${swap(flag)}`, '--json'])
      assert.equal(json.status, 2)
      const body = JSON.parse(json.stdout) as {schemaVersion: number; error: {kind: string; message: string; hint: string; exitCode: number}}
      assert.deepEqual([body.schemaVersion, body.error.kind, body.error.exitCode], [1, 'usage', 2])
      assert.equal(body.error.message, `Nonexistent flag: --${swap(flag)}`)
      assert.match(body.error.hint, new RegExp(`did you mean --${flag}\\?`))
    })
  }
})
