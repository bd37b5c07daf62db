/**
 * The Google client libraries (@google-cloud/*, google-gax, google-auth-library: about a second to
 * load) are loaded only by the commands that talk to Google Cloud (issue 14): `xcc --version`,
 * `xcc help` and `xcc doctor --topology` do not pay for them. Each command runs in a child process
 * whose preload reports, at exit, which of those modules Node's module cache holds; `snapshot`
 * is the control that shows the probe sees them when they are loaded.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {ROOT} from '../support/lab-cli.js'

const dir = mkdtempSync(join(tmpdir(), 'xcc-lazy-'))
const PROBE = join(dir, 'probe.mjs')
writeFileSync(PROBE, `import {createRequire} from 'node:module'
const require = createRequire(import.meta.url)
process.on('exit', () => {
  const loaded = Object.keys(require.cache).filter((p) => /node_modules\\/(@google-cloud|google-gax|google-auth-library)\\//.test(p))
  process.stderr.write('GOOGLE-MODULES ' + loaded.length + '\\n')
})
`)
const TOKEN = join(dir, 'token')
writeFileSync(TOKEN, 'not-a-real-token\n', {mode: 0o600})

function googleModules(args: readonly string[], env: Record<string, string> = {}): {count: number; status: number | null; stderr: string} {
  const r = spawnSync(process.execPath, ['--import', PROBE, join(ROOT, 'bin/run.js'), ...args], {
    encoding: 'utf8', timeout: 60_000, env: {...process.env, NO_COLOR: '1', XCC_HOME: dir, HOME: dir, ...env},
  })
  const count = Number(/^GOOGLE-MODULES (\d+)$/m.exec(r.stderr)?.[1] ?? NaN)
  return {count, status: r.status, stderr: r.stderr}
}

describe('the Google client libraries load only where Google Cloud is read', () => {
  after(() => rmSync(dir, {recursive: true, force: true}))

  for (const args of [
    ['--version'],
    ['help'],
    ['doctor', '--topology', join(ROOT, 'templates/scenarios/peered-vpcs-missing-snat.yaml'), '--from', 'frontend', '--to', 'lb/backend-ilb'],
    ['doctor', '--topology', join(ROOT, 'templates/scenarios/peered-vpcs-missing-snat.yaml'), '--from', 'frontend', '--to', 'lb/backend-ilb', '--json'],
  ]) {
    it(`xcc ${args.map((a) => a.replace(ROOT, '')).join(' ')}: none`, () => {
      const r = googleModules(args)
      assert.ok(!Number.isNaN(r.count), `the probe reported: ${r.stderr}`)
      assert.equal(r.count, 0, r.stderr)
    })
  }

  it('xcc snapshot (the control): they are loaded', () => {
    const r = googleModules(['snapshot', '--project', 'lazy-probe-1', '--timeout', '2s'], {
      CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: TOKEN, CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: 'http://127.0.0.1:9/compute/v1/',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER: 'http://127.0.0.1:9/', KUBECONFIG: join(dir, 'none'),
    })
    assert.equal(r.status, 3, r.stderr)
    assert.ok(r.count > 0, r.stderr)
  })
})
