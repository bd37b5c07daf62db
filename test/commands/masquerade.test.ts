/**
 * `xcc masquerade` bad input as a user meets it: the built CLI in a child process, no cluster
 * needed — every case is refused (exit 2, message naming the flag and value, no stack) before
 * a kubeconfig is even read, and `--json` carries the error as the contract's object.
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
/** a kubeconfig path that does not exist: reading it would be exit 2 with another message */
const NOWHERE = join(mkdtempSync(join(tmpdir(), 'xcc-masq-cmd-')), 'missing.kubeconfig')

function xcc(args: string[]): {status: number | null; stdout: string; stderr: string} {
  assert.ok(existsSync(join(ROOT, 'dist/commands/masquerade/add.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', env: {...process.env, KUBECONFIG: NOWHERE, NO_COLOR: '1'}, timeout: 30_000})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

describe('xcc masquerade (no cluster needed)', () => {
  const cases: Array<[string[], RegExp]> = [
    [['add', '--context', 'c', '--cidr', '0.0.0.0/0'], /--cidr 0\.0\.0\.0\/0: refusing to masquerade every destination/],
    [['add', '--context', 'c', '--cidr', '10.193.0.5/16'], /--cidr 10\.193\.0\.5\/16: host bits are set \(the network address is 10\.193\.0\.0\/16\)/],
    [['add', '--context', 'c', '--cidr', '10.0.0.0/8,10.193.0.0/16'], /--cidr 10\.193\.0\.0\/16: overlaps 10\.0\.0\.0\/8, given before/],
    [['add', '--context', 'c', '--cidr', 'fd00::/8'], /IPv6 ranges are not supported/],
    [['add', '--context', 'c', '--cidr', '10.193.0.0/16', '--mode', 'iptables'], /--mode iptables: expected auto, ip-masq-agent or daemonset/],
    [['add', '--context', 'c', '--cidr', '10.193.0.0/16', '--dry-run', '-o', 'json'], /-o json: expected yaml or diff/],
    [['add', '--context', 'c', '--cidr', '10.193.0.0/16', '--timeout', 'soon'], /--timeout soon: not a duration/],
    [['add', '--context', 'c', '--cidr', '10.193.0.0/16', '--image', 'bad image'], /--image bad image: not an image reference/],
    [['add', '--cidr', '10.193.0.0/16'], /Missing required flag context/],
    [['remove', '--context', 'c'], /give --cidr <cidr>… or --all/],
    [['remove', '--context', 'c', '--all', '--cidr', '10.193.0.0/16'], /--all=true cannot also be provided when using --cidr/],
    [['list', '--context', 'c', '--cidr', '10.1.0.0/33'], /--cidr 10\.1\.0\.0\/33: prefix length must be 0\.\.32/],
  ]
  for (const [args, message] of cases) {
    it(`${args.join(' ')}: exit 2, the value named, no stack`, () => {
      const r = xcc(['masquerade', ...args])
      assert.equal(r.status, 2, r.stderr)
      assert.match(r.stderr, message)
      assert.doesNotMatch(r.stderr, STACK)
      assert.equal(r.stdout, '')
    })
  }

  it('--json: the error is one JSON object on stdout', () => {
    const r = xcc(['masquerade', 'add', '--context', 'c', '--cidr', '0.0.0.0/0', '--json'])
    assert.equal(r.status, 2)
    const out = JSON.parse(r.stdout) as {schemaVersion: number; error: {kind: string; message: string; exitCode: number}}
    assert.deepEqual([out.schemaVersion, out.error.kind, out.error.exitCode], [1, 'usage', 2])
    assert.match(out.error.message, /refusing to masquerade every destination/)
  })

  it('a context that the kubeconfig cannot provide is exit 2 naming the file', () => {
    const r = xcc(['masquerade', 'list', '--context', 'c'])
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, /missing\.kubeconfig/)
    assert.doesNotMatch(r.stderr, STACK)
  })
})
