/**
 * The doctor and `xcc snapshot` reading the cloud (contracts §4, §7) on the seed 001 lab, with
 * nothing but what `xcc lab env` prints: no topology file, no --to-context. Then the ways reading
 * the cloud goes wrong, each made real by the lab (its fault file, a closed port, a silent one):
 * a missing permission, retried 429s and 503s, 503s that do not end, an unreachable and a silent
 * endpoint, an unknown project, an unknown cluster, no credentials at all. Real Node clients (xcc's
 * adapters), real packets. Needs root, iproute2, iptables, conntrack, tcpdump.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {liveReportSchema} from '../../../src/core/probe/report-schema.js'
import {LabCli, ROOT, STACK} from '../../support/lab-cli.js'
import {requireLabTools} from '../../support/netns.js'

interface Run {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

describe('the doctor and snapshot read the lab\'s cloud', () => {
  requireLabTools([['tcpdump', ['--version'], 'tcpdump']])
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('cloudd')
  const emptyHome = mkdtempSync(join(tmpdir(), 'xcc-no-credentials-'))
  let env: Record<string, string> = {}
  let dir = ''
  let silent: Server | undefined

  /** xcc with the lab's settings (and HOME without any gcloud or ADC files) */
  const xcc = (args: readonly string[], extra: Record<string, string | undefined> = {}): Run => {
    const started = Date.now()
    const r = cli.run(home, args, {env: {...env, HOME: emptyHome, ...extra}, timeoutMs: 90_000})
    return {status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started}
  }
  const faults = (content: object): void => writeFileSync(join(dir, 'cloud-faults.json'), JSON.stringify(content))

  before(() => {
    const up = cli.run(home, ['lab', 'up', '--scenario', 'peered-vpcs-missing-snat', '--name', lab, '--json'])
    assert.equal(up.status, 0, up.stderr)
    dir = dirname((JSON.parse(up.stdout) as {kubeconfig: string}).kubeconfig)
    const printed = cli.run(home, ['lab', 'env', '--name', lab, '--json'])
    assert.equal(printed.status, 0, printed.stderr)
    env = (JSON.parse(printed.stdout) as {variables: Record<string, string>}).variables
  })
  after(() => {
    silent?.close()
    cli.cleanup()
    rmSync(emptyHome, {recursive: true, force: true})
  })

  it('seed 001: `xcc doctor --from frontend --to 10.193.0.3:32191` alone answers POD_SNAT_MISSING with the whole path and the captured packets', () => {
    const r = xcc(['doctor', '--from', 'frontend', '--to', '10.193.0.3:32191', '--json'])
    assert.equal(r.status, 1, r.stderr)
    assert.doesNotMatch(r.stderr, /Warning|warning:/, 'no library warning on stderr')
    const report = JSON.parse(r.stdout) as {verdict: string; diagnosis?: {code: string}; forward: Array<{step: string; cause?: string}>; return: Array<{step: string; cause?: string; at: string}>; observations: unknown}
    assert.equal(report.verdict, 'unreachable')
    assert.equal(report.diagnosis?.code, 'POD_SNAT_MISSING')
    assert.deepEqual(report.forward.map((s) => s.step), [
      'START_FROM_GKE_POD', 'SKIP_GKE_POD_IP_MASQUERADING', 'SPOOFING_APPROVED', 'APPLY_EGRESS_FIREWALL_RULE', 'APPLY_ROUTE', 'APPLY_FORWARDING_RULE',
      'ANALYZE_LOAD_BALANCER_BACKEND', 'APPLY_INGRESS_FIREWALL_RULE', 'ARRIVE_AT_INSTANCE', 'NAT', 'ARRIVE_AT_GKE_POD', 'DELIVER',
    ], 'the whole forward path, from the cloud\'s facts (no ABORT)')
    assert.deepEqual([report.return.at(-1)?.step, report.return.at(-1)?.cause, report.return.at(-1)?.at], ['DROP', 'PRIVATE_TRAFFIC_TO_INTERNET', 'network/vpc-a'])
    const live = liveReportSchema.parse(report).observations
    assert.ok(live.captures.length === 2 && live.captures.every((c) => c.status === 'ok' && c.packets.length > 0), 'both nodes captured the flow')
    assert.ok(live.captures.some((c) => c.packets.some((p) => /> 10\.193\.0\.3\.32191: Flags \[S\]/.test(p.line))), 'the SYN that leaves with the pod address')
    assert.ok(live.notes.some((n) => /^the cloud facts come from project xcc-lab \(CLOUDSDK_CORE_PROJECT\): \d+ API requests$/.test(n)), live.notes.join('\n'))
    // and the text report says where the destination was found without --to-context
    const text = xcc(['doctor', '--from', 'frontend', '--to', '10.193.0.3:32191'])
    assert.equal(text.status, 1)
    assert.match(text.stdout, /Root cause {2}POD_SNAT_MISSING/)
    assert.match(text.stderr, /destination 10\.193\.0\.3:32191 \(service default\/dummy-backend/)
  })

  it('a missing permission: exit 3 naming it and a role that grants it', () => {
    faults({denied: ['compute.routes.list']})
    try {
      const r = xcc(['snapshot'])
      assert.equal(r.status, 3, r.stderr)
      assert.match(r.stderr, /^Error: missing permission compute\.routes\.list in project xcc-lab \(listing routes\)$/m)
      assert.match(r.stderr, /roles\/compute\.viewer/)
      assert.equal(r.stdout, '', 'nothing written')
      const doctor = xcc(['doctor', '--from', 'frontend', '--to', '10.193.0.3:32191', '--json'])
      assert.equal(doctor.status, 3, doctor.stderr)
      assert.match(doctor.stdout + doctor.stderr, /reading the cloud facts of project xcc-lab \(CLOUDSDK_CORE_PROJECT\): missing permission compute\.routes\.list/)
    } finally {
      faults({})
    }
  })

  it('429s and 503s are retried; 503s that do not stop are reported after the retries, within --timeout', () => {
    faults({faults: [{status: 503, path: '/routes', times: 2}, {status: 429, path: '/clusters', times: 1}]})
    const r = xcc(['snapshot', '--json'])
    assert.equal(r.status, 0, r.stderr)
    const out = JSON.parse(r.stdout) as {retries: number; requests: number}
    assert.equal(out.retries, 3, 'two 503s and one 429, each retried once')
    faults({faults: [{status: 503, path: '/routes'}]})
    // the deadline leaves room for start-up and loading the clients on a loaded machine, so more than one attempt fits
    const failed = xcc(['snapshot', '--timeout', '8s'])
    faults({})
    assert.equal(failed.status, 3, failed.stderr)
    assert.match(failed.stderr, /^Error: the Compute Engine API failed while listing routes \(HTTP 503\) \(\d+ attempts\): The service is currently unavailable\.$/m)
    assert.ok(failed.ms < 8000 + 4000, `within the timeout: ${failed.ms} ms`)
    assert.doesNotMatch(failed.stderr, STACK)
  })

  it('an unreachable endpoint and one that never answers: exit 3 within --timeout', async () => {
    // refused at once; the deadline only has to outlast start-up on a loaded machine
    const refused = xcc(['snapshot', '--timeout', '8s'], {CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: 'http://127.0.0.1:9/compute/v1/'})
    assert.equal(refused.status, 3, refused.stderr)
    assert.match(refused.stderr, /cannot reach the Compute Engine API at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/)
    assert.ok(refused.ms < 8000 + 4000, `${refused.ms} ms`)
    // a server that accepts and stays silent
    silent = createServer(() => {})
    await new Promise<void>((resolve) => silent?.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as {port: number}).port
    const started = Date.now()
    // spawned, not spawnSync: the silent server lives in this process
    const hung = await new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), 'snapshot', '--timeout', '3s'], {
        env: {...process.env, ...env, HOME: emptyHome, XCC_HOME: home, NO_COLOR: '1', CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: `http://127.0.0.1:${port}/compute/v1/`},
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
      const kill = setTimeout(() => child.kill('SIGKILL'), 30_000)
      child.on('close', (status) => {
        clearTimeout(kill)
        resolve({status, stdout, stderr, ms: Date.now() - started})
      })
    })
    assert.equal(hung.status, 3, hung.stderr)
    assert.match(hung.stderr, /did not answer in time while listing/)
    // the whole process: start-up and loading the clients come on top of --timeout (seconds on a loaded machine); without a deadline it would hang until the 30 s kill
    assert.ok(hung.ms < 3000 + 8000, `${hung.ms} ms`)
  })

  it('an unknown project and an unknown cluster are named (exit 2); no credentials says how to give them (exit 3)', () => {
    const project = xcc(['snapshot', '--project', 'no-such-project-42'])
    assert.equal(project.status, 2, project.stderr)
    assert.match(project.stderr, /no-such-project-42/)
    const cluster = xcc(['doctor', '--from', 'no-such-cluster', '--to', '10.193.0.3:32191'])
    assert.equal(cluster.status, 2, cluster.stderr)
    assert.match(cluster.stderr, /no-such-cluster/)
    const bare = xcc(['snapshot'], {CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: undefined, GOOGLE_APPLICATION_CREDENTIALS: undefined, CLOUDSDK_AUTH_ACCESS_TOKEN: undefined, GOOGLE_OAUTH_ACCESS_TOKEN: undefined})
    assert.equal(bare.status, 3, bare.stderr)
    assert.match(bare.stderr, /^Error: no Google Cloud credentials/m)
    for (const way of [/CLOUDSDK_AUTH_ACCESS_TOKEN/, /GOOGLE_OAUTH_ACCESS_TOKEN/, /GOOGLE_APPLICATION_CREDENTIALS/, /metadata server/]) assert.match(bare.stderr, way)
    assert.doesNotMatch(bare.stderr, STACK)
    // the live doctor of a user without cloud access still probes, and says what it lacks
    const live = xcc(['doctor', '--from', 'frontend', '--to', '10.193.0.3:32191', '--json'], {CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: undefined})
    assert.equal(live.status, 1, live.stderr)
    const notes = (JSON.parse(live.stdout) as {observations: {notes: string[]}}).observations.notes
    assert.ok(notes.some((n) => /could not be read, so the path beyond the nodes is not predicted: no Google Cloud credentials/.test(n)), notes.join('\n'))
  })
})
