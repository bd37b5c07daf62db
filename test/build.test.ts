/**
 * The build skips itself when dist/ is up to date (a stamp holding a hash of what it reads), so
 * `npm ci && npm link` builds once. These tests make sure the skip is never wrong: dist/ that the
 * CLI tests run is built from the sources under test, and any change to an input is noticed.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('../', import.meta.url))

function build(dir: string, ...args: string[]): {status: number | null; stderr: string} {
  const r = spawnSync(process.execPath, [join(dir, 'scripts/build.mjs'), ...args], {cwd: dir, encoding: 'utf8', env: {...process.env, XCC_BUILD_FORCE: ''}})
  return {status: r.status, stderr: r.stderr}
}

describe('the build stamp', () => {
  it('dist/ is built from the sources under test (run npm run build after editing them)', () => {
    const r = build(ROOT, '--check')
    assert.equal(r.status, 0, r.stderr)
  })

  describe('in a copy of the project', () => {
    const copy = mkdtempSync(join(tmpdir(), 'xcc-build-'))
    for (const p of ['src', 'templates', 'bin', 'scripts', 'dist', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'oclif.manifest.json']) cpSync(join(ROOT, p), join(copy, p), {recursive: true})
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'))
    after(() => rmSync(copy, {recursive: true, force: true}))

    it('an up-to-date dist/ is left alone: the build says so and rewrites nothing', () => {
      const before = statSync(join(copy, 'dist/commands/doctor/index.js')).mtimeMs
      const r = build(copy)
      assert.equal(r.status, 0, r.stderr)
      assert.match(r.stderr, /dist\/ is up to date with the sources/)
      assert.equal(statSync(join(copy, 'dist/commands/doctor/index.js')).mtimeMs, before)
    })

    for (const input of ['src/render/lines.ts', 'templates/scenarios/peered-vpcs-missing-snat.yaml', 'package.json', 'tsconfig.json', 'bin/run.js']) {
      it(`a change to ${input} makes dist/ out of date`, () => {
        const file = join(copy, input)
        const saved = readFileSync(file)
        appendFileSync(file, input.endsWith('.json') ? ' ' : '\n')
        try {
          const r = build(copy, '--check')
          assert.equal(r.status, 1, r.stderr)
          assert.match(r.stderr, /not built from the current sources/)
        } finally {
          writeFileSync(file, saved)
        }
      })
    }

    it('a new source file makes dist/ out of date', () => {
      appendFileSync(join(copy, 'src/new-file.ts'), 'export {}\n')
      assert.equal(build(copy, '--check').status, 1)
      rmSync(join(copy, 'src/new-file.ts'))
      assert.equal(build(copy, '--check').status, 0)
    })

    it('a missing output makes dist/ out of date', () => {
      rmSync(join(copy, 'oclif.manifest.json'))
      assert.equal(build(copy, '--check').status, 1)
    })
  })
})
