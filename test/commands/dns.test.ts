/**
 * `xcc dns` bad input as a user meets it: the built CLI in a child process, no cluster needed —
 * every case is refused (exit 2, the flag and value named, no stack) before a kubeconfig is read.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const STACK = /^\s+at .+:\d+:\d+\)?$/m
const NOWHERE = join(mkdtempSync(join(tmpdir(), 'xcc-dns-cmd-')), 'missing.kubeconfig')

function xcc(args: string[]): {status: number | null; stdout: string; stderr: string} {
  assert.ok(existsSync(join(ROOT, 'dist/commands/dns/link.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', env: {...process.env, KUBECONFIG: NOWHERE, NO_COLOR: '1'}, timeout: 30_000})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

const pair = ['--from-context', 'frontend', '--to-context', 'backend']

describe('xcc dns (no cluster needed)', () => {
  const cases: Array<[string[], RegExp]> = [
    [['link', ...pair, '--domain', 'cluster.local'], /--domain cluster\.local: it is the Kubernetes cluster domain cluster\.local/],
    [['link', ...pair, '--domain', 'svc.cluster.local'], /under the Kubernetes cluster domain/],
    [['link', ...pair, '--domain', 'local'], /holds the Kubernetes cluster domain/],
    [['link', ...pair, '--domain', 'global'], /--domain global: "global" is a public top-level domain delegated in the root zone: the stub domain would hide every real name under \.global/],
    [['link', ...pair, '--domain', 'mesh.example.com'], /under the public top-level domain \.com/],
    [['link', ...pair, '--domain', 'bad_name.test'], /label "bad_name" is not an RFC 1035 label/],
    [['link', ...pair, '--service', 'api'], /--service api: expected NAMESPACE\/NAME/],
    [['link', ...pair, '--dry-run', '-o', 'json'], /-o json: expected yaml or diff/],
    [['link', ...pair, '-o', 'yaml'], /-o yaml needs --dry-run/],
    [['link', ...pair, '--responder-image', 'bad image'], /not an image reference/],
    [['link', '--from-context', 'a', '--to-context', 'a'], /--from-context and --to-context are both "a"/],
    [['link', '--from-context', 'a', '--to-context', '42'], /context "42": cannot make a DNS label of it/],
    [['link', '--from-context', 'a'], /Missing required flag to-context/],
    [['unlink', ...pair, '--domain', 'cluster.local'], /--domain cluster\.local/],
    [['list'], /Missing required flag context/],
  ]
  for (const [args, message] of cases) {
    it(`${args.join(' ')}: exit 2, the value named, no stack`, () => {
      const r = xcc(['dns', ...args])
      assert.equal(r.status, 2, r.stderr)
      assert.match(r.stderr, message)
      assert.doesNotMatch(r.stderr, STACK)
      assert.equal(r.stdout, '')
    })
  }

  it('a public TLD asks for --allow-public-domain; with it, the warning says what it shadows', () => {
    const refused = xcc(['dns', 'link', ...pair, '--domain', 'global'])
    assert.match(refused.stderr, /Hint: pass --allow-public-domain/)
    const allowed = xcc(['dns', 'link', ...pair, '--domain', 'global', '--allow-public-domain'])
    assert.match(allowed.stderr, /warning: "global" is a public top-level domain .* hide every real name under \.global/)
    assert.equal(allowed.status, 2, 'then the missing kubeconfig stops it')
    assert.match(allowed.stderr, /missing\.kubeconfig/)
  })

  it('--json: the error is one JSON object on stdout', () => {
    const r = xcc(['dns', 'link', ...pair, '--domain', 'cluster.local', '--json'])
    assert.equal(r.status, 2)
    const out = JSON.parse(r.stdout) as {schemaVersion: number; error: {kind: string; message: string; exitCode: number}}
    assert.deepEqual([out.schemaVersion, out.error.kind, out.error.exitCode], [1, 'usage', 2])
    assert.match(out.error.message, /cluster\.local/)
  })

  it('help dns lists link, unlink and list', () => {
    const r = xcc(['help', 'dns'])
    assert.equal(r.status, 0, r.stderr)
    for (const c of ['dns link', 'dns unlink', 'dns list']) assert.match(r.stdout, new RegExp(c))
  })
})
