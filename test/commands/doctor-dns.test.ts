/**
 * `xcc doctor --to NAME:PORT` as a user runs it (the built CLI): the DNS steps before the path in
 * text and under `dns` in --json (the §2 contract, extended), exit 1 for a name that does not
 * resolve, names in --flows, and the live doctor's refusal of a malformed name (exit 2).
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {doctorReportSchema} from '../../src/core/doctor/report-schema.js'
import {topologyPath} from '../support/fixtures.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BIN = join(ROOT, 'bin/run.js')
const NAME = 'server.default.b.clusters.xcc.test'

function xcc(args: string[]): {status: number | null; stdout: string; stderr: string} {
  assert.ok(existsSync(join(ROOT, 'dist/commands/doctor/index.js')), 'dist/ is missing: run npm run build')
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd: ROOT, encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}, timeout: 30_000})
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

describe('xcc doctor --to NAME:PORT (CLI)', () => {
  it('a linked name: the query and its answer come before the path, which goes to the address (exit 0)', () => {
    const r = xcc(['doctor', '--topology', topologyPath('dns-linked'), '--from', 'a/default/client', '--to', `${NAME}:80`])
    assert.equal(r.status, 0, r.stderr)
    const name = r.stdout.indexOf(`Name ${NAME}`)
    const path = r.stdout.indexOf('Forward path')
    assert.ok(name > 0 && path > name, 'the DNS steps come before the path')
    assert.match(r.stdout, /server\.default\.b\.clusters\.xcc\.test\. {2}10\.11\.0\.100 {2}from 10\.30\.0\.53 \(stub domain b\.clusters\.xcc\.test\)/)
    assert.match(r.stdout, /Verdict {5}REACHABLE/)
  })

  it('--json: the dns steps validate against the contract; an unresolvable name is exit 1 with its code', () => {
    const r = xcc(['doctor', '--topology', topologyPath('dns-stub-domain-missing'), '--from', 'a/default/client', '--to', `${NAME}:80`, '--json'])
    assert.equal(r.status, 1, r.stderr)
    const report = JSON.parse(r.stdout) as {diagnosis: {code: string}; dns: {outcome: string; steps: unknown[]}}
    const parsed = doctorReportSchema.safeParse(report)
    assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3)))
    assert.equal(report.diagnosis.code, 'DNS_STUB_DOMAIN_MISSING')
    assert.equal(report.dns.outcome, 'DNS_STUB_DOMAIN_MISSING')
    assert.equal(report.dns.steps.length, 4, 'the name, then the three search domains (5 dots ≥ ndots:5)')
  })

  it('names in --flows; a name from a VM is bad input (exit 2); the live doctor refuses a malformed name (exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcc-dnsflows-'))
    const flows = join(dir, 'flows.yaml')
    writeFileSync(flows, `- {from: a/default/client, to: "${NAME}:80", expect: reachable}\n- {from: a/default/client, to: "nosuch.default.b.clusters.xcc.test:80", expect: DNS_NAME_NOT_FOUND}\n`)
    const f = xcc(['doctor', '--topology', topologyPath('dns-linked'), '--flows', flows])
    assert.equal(f.status, 0, f.stdout + f.stderr)
    const vm = xcc(['doctor', '--topology', topologyPath('dns-linked'), '--from', 'node/gke-a-node-1', '--to', `${NAME}:80`])
    assert.equal(vm.status, 2)
    assert.match(vm.stderr, /a name is resolved as a pod of the source cluster resolves it/)
    const live = xcc(['doctor', '--live', '--from', 'a', '--to', `server..b.clusters.xcc.test:80`, '--kubeconfig', join(dir, 'none')])
    assert.equal(live.status, 2, live.stderr)
    assert.match(live.stderr, /--to server\.\.b\.clusters\.xcc\.test:80: "server\.\.b\.clusters\.xcc\.test" has an empty label/)
    const long = xcc(['doctor', '--live', '--from', 'a', '--to', `${'x'.repeat(64)}.default:80`, '--kubeconfig', join(dir, 'none')])
    assert.equal(long.status, 2, long.stderr)
    assert.match(long.stderr, /is not a valid DNS label/)
  })
})
