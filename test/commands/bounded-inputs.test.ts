/**
 * Bounded inputs (issue 13) through the built CLI: paths that are not regular files, files over
 * the size limit, alias bombs and deep nesting, and namespace flags. Each is exit 2 at once with a
 * message naming the path (or the flag) and what is wrong, no stack trace, nothing on stdout.
 */
import assert from 'node:assert/strict'
import {type SpawnSyncReturns, execFileSync, spawnSync} from 'node:child_process'
import {closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DIR = mkdtempSync(join(tmpdir(), 'xcc-bounded-'))
const STACK = /^\s+at .+:\d+:\d+\)?$/m
after(() => rmSync(DIR, {recursive: true, force: true}))

function xcc(args: readonly string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> & {ms: number} {
  const started = performance.now()
  // no KUBECONFIG or HOME of the machine: every kubeconfig here is the test's
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: {PATH: process.env.PATH, HOME: DIR, NO_COLOR: '1', ...env},
  })
  return {...result, ms: performance.now() - started}
}

function assertRefused(result: ReturnType<typeof xcc>, pattern: RegExp): void {
  assert.equal(result.signal, null, `killed by ${result.signal} after ${result.ms.toFixed(0)} ms: it hung`)
  assert.equal(result.status, 2, result.stderr)
  assert.match(result.stderr, pattern)
  assert.doesNotMatch(result.stderr, STACK)
  assert.equal(result.stdout, '')
}

function fifo(name: string): string {
  const path = join(DIR, name)
  if (!existsSync(path)) execFileSync('mkfifo', [path])
  return path
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

describe('paths that are not regular files are refused at once', () => {
  assert.ok(existsSync(join(ROOT, 'dist/commands/doctor/index.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const directory = join(DIR, 'a-directory')
  mkdirSync(directory, {recursive: true})

  for (const [what, path, kind] of [
    ['/dev/zero', '/dev/zero', 'a character device'],
    ['a FIFO', fifo('topology-fifo'), 'a named pipe \\(FIFO\\)'],
    ['a directory', directory, 'a directory'],
  ] as const) {
    it(`xcc doctor --topology ${what}: exit 2 naming the path and what it is`, () => {
      const result = xcc(['doctor', '--topology', path, '--from', 'vm', '--to', '10.0.0.1:80'])
      assertRefused(result, new RegExp(`cannot read topology file ${escape(path)}: it is ${kind}, not a regular file`))
    })
  }

  it('a kubeconfig that is a FIFO, in KUBECONFIG or with --kubeconfig: exit 2 naming the path', () => {
    const path = fifo('kubeconfig-fifo')
    assertRefused(xcc(['doctor', '--from', 'x', '--to', '10.0.0.1:80'], {KUBECONFIG: path}), new RegExp(`cannot read kubeconfig ${escape(path)}: it is a named pipe \\(FIFO\\), not a regular file`))
    assertRefused(xcc(['doctor', '--from', 'x', '--to', '10.0.0.1:80', '--kubeconfig', path]), new RegExp(`cannot read kubeconfig ${escape(path)}: it is a named pipe \\(FIFO\\)`))
    assertRefused(xcc(['doctor', 'cleanup', '--kubeconfig', '/dev/zero']), /cannot read kubeconfig \/dev\/zero: it is a character device, not a regular file/)
  })

  it('the static doctor does not wait on a FIFO in KUBECONFIG (it only names contexts in its fixes)', () => {
    const topology = join(ROOT, 'templates/scenarios/vpc-native-pair-works.yaml')
    const result = xcc(['doctor', '--topology', topology, '--from', 'a', '--to', 'b/default/server'], {KUBECONFIG: fifo('static-fifo')})
    assert.equal(result.signal, null, 'it hung')
    assert.equal(result.status, 0, result.stderr)
  })
})

describe('topology files over the limits', () => {
  it('a file over 64 MiB is refused before it is read', () => {
    const path = join(DIR, 'huge.yaml')
    // sparse: no disk space, and nothing is read
    const fd = openSync(path, 'w')
    ftruncateSync(fd, 65 * 2 ** 20)
    closeSync(fd)
    const result = xcc(['doctor', '--topology', path, '--from', 'vm', '--to', '10.0.0.1:80'])
    assertRefused(result, new RegExp(`cannot read topology file ${escape(path)}: it is 65\\.0 MiB, larger than the limit of 64\\.0 MiB`))
    assert.match(result.stderr, /xcc reads topology files up to 64 MiB/)
  })

  it('an alias bomb and 100000 nested JSON arrays: exit 2 naming the limit, in well under the old 18 s', (t) => {
    const lines = ['apiVersion: xcc/v1', 'kind: Topology', 'metadata: {name: bomb}', 'anchors:', '  l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for (let i = 1; i <= 8; i++) lines.push(`  l${i}: &l${i} [${Array.from({length: 9}, () => `*l${i - 1}`).join(',')}]`)
    const bomb = join(DIR, 'bomb.yaml')
    writeFileSync(bomb, `${lines.join('\n')}\nnetworks: *l8\n`)
    const deep = join(DIR, 'deep.json')
    writeFileSync(deep, `${'['.repeat(100_000)}${']'.repeat(100_000)}`)
    for (const [file, pattern] of [[bomb, /holds more than 2,000,000 values/], [deep, /deep\.json:1:65: the document is nested deeper than 64 levels/]] as const) {
      const result = xcc(['doctor', '--topology', file, '--from', 'vm', '--to', '10.0.0.1:80'])
      t.diagnostic(`${file}: exit ${result.status} in ${result.ms.toFixed(0)} ms (the whole CLI)`)
      assertRefused(result, pattern)
      assert.ok(result.ms < 10_000, `took ${result.ms} ms`)
    }
  })
})

describe('namespace flags take only namespace names, checked before anything is read', () => {
  const missing = join(DIR, 'no-such-kubeconfig')
  const rule = /must be a Kubernetes namespace name \(an RFC 1123 label\): 1-63 lowercase letters, digits or dashes, starting and ending with a letter or digit/
  for (const namespace of ['..', 'Default', 'a/b', '']) {
    it(`xcc doctor --probe-namespace ${JSON.stringify(namespace)}: exit 2 (before: .. crashed in the live doctor, exit 4)`, () => {
      const result = xcc(['doctor', '--from', 'x', '--to', '10.0.0.1:80', '--probe-namespace', namespace, '--kubeconfig', missing, '--topology', join(DIR, 'no-such-topology.yaml')])
      assertRefused(result, new RegExp(`--probe-namespace ${escape(JSON.stringify(namespace))}: ${rule.source}`))
    })
  }

  it('xcc doctor cleanup --namespace ..: exit 2 (before: it listed the xcc pods of every namespace)', () => {
    assertRefused(xcc(['doctor', 'cleanup', '--namespace', '..', '--kubeconfig', missing]), new RegExp(`--namespace "\\.\\.": ${rule.source}`))
    assertRefused(xcc(['doctor', 'cleanup', '-n', 'kube_system', '--kubeconfig', missing, '--dry-run']), rule)
  })
})
