/**
 * The bundled DNS scenarios (templates/scenarios/dns-*.yaml) in the lab: each is brought up as it
 * is — its ConfigMaps loaded into the clusters' emulated APIs, its declared xcc responder serving
 * its zone file — and the flow's source pod resolves the name with glibc (`getent hosts`, through
 * its resolv.conf: search path, ndots:5, the cluster's kube-dns with the stub domains of the
 * declared ConfigMap). What the pod gets must be what the static doctor says about the same file:
 *
 * - dns-name-not-found, dns-stub-domain-missing: no answer (and the responder does serve its zone:
 *   the linked name resolves, or the responder answers it when asked directly);
 * - dns-server-unreachable: no answer, and once the firewall rule that blocks DNS is deleted through
 *   the lab's Compute Engine API the name resolves — the block is the only cause (FW-01);
 * - dns-record-stale: the stale address, which is not the Service's load-balancer address.
 *
 * And `xcc doctor --live` on the scenario's flow — its lookup made in the source pod itself — gives
 * the scenario's code, both with the file as --topology and with the facts read from the lab's APIs
 * (`xcc lab env`), the pod's answer agreeing with the prediction.
 *
 * Needs root, iproute2, iptables and dnsmasq (dnsmasq-base).
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {canonicalFlow} from '../../src/adapters/templates/scenarios.js'
import {CHECKS} from '../../src/checks/index.js'
import {splitNameTarget} from '../../src/core/dns/resolve.js'
import {evaluateDoctorTo} from '../../src/core/doctor/dns.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import {labDown, labUp} from '../../src/lab/lifecycle.js'
import type {LabState} from '../../src/lab/runtime/state.js'
import {ROOT} from '../support/lab-cli.js'
import {getent, query, until} from '../support/lab-dns.js'
import {requireLabTools} from '../support/netns.js'

const HOME = mkdtempSync(join(tmpdir(), 'xcc-dns-scen-'))
process.env.XCC_HOME = HOME

const LINKED = 'server.default.b.clusters.xcc.test'
/** b's Service default/server: its load balancer (b-ilb) now */
const LB = '10.11.0.100'
/** glibc gives up on a server that never answers after timeout × attempts per name tried */
const BLOCKED_MS = 45_000

interface Lab {
  readonly state: LabState
  /** the flow's source pod's namespace */
  readonly client: string
  readonly name: string
  /** a Compute Engine API call of the lab's cloud, as its admin */
  compute(method: string, path: string): Promise<{status: number; body: Record<string, unknown>}>
  /** `xcc doctor --live` on the scenario's flow: with the scenario file as --topology, or (`cloud`) with the facts read from the lab's APIs as `xcc lab env` points xcc at them */
  live(facts: 'topology' | 'cloud'): LiveRun
}

interface LiveRun {
  readonly status: number | null
  readonly code?: string
  readonly dns?: {result?: string; addresses?: string[]}
  readonly prediction?: string
  readonly ms: number
}

function scenario(name: string) {
  const path = join(ROOT, 'templates', 'scenarios', `${name}.yaml`)
  const text = readFileSync(path, 'utf8')
  const flow = canonicalFlow(text)
  assert.ok(flow, `${name} names its flow`)
  const target = splitNameTarget(flow.to)
  assert.ok(target, `${name}: the flow's destination is a name`)
  const model = parseTopology(text, path)
  return {path, text, flow, name: target.name, model, doctor: evaluateDoctorTo(model, flow.from, flow.to, undefined, CHECKS)}
}

/** brings the scenario's lab up, runs `body`, and always takes it down */
async function inLab(lab: string, s: ReturnType<typeof scenario>, body: (lab: Lab) => Promise<void>): Promise<void> {
  try {
    await labDown(lab)
    const state = await labUp({name: lab, model: s.model, topologyText: s.text, source: 'test:dns-scenarios'}, () => {})
    const client = (state.plan.hosts[`pod/${s.flow.from}`] as {ns: string} | undefined)?.ns
    assert.ok(client, `the lab runs ${s.flow.from}`)
    // the pod's cluster DNS answers before anything is concluded from a missing answer
    const own = await until(() => getent(client, 'kube-dns.kube-system.svc.cluster.local'), (v) => v !== undefined, 15_000)
    assert.equal(own.value, '10.30.0.10', 'the cluster DNS answers the pod')
    const cloud = state.cloud
    assert.ok(cloud, 'the lab serves its cloud')
    const token = readFileSync(cloud.adminTokenFile, 'utf8').trim()
    const compute = async (method: string, path: string) => {
      const r = await fetch(`${cloud.url}/compute/v1/projects/${cloud.project}/${path}`, {method, headers: {authorization: `Bearer ${token}`}})
      return {status: r.status, body: (await r.json()) as Record<string, unknown>}
    }
    const xcc = (args: readonly string[], env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: {...process.env, XCC_HOME: HOME, KUBECONFIG: state.kubeconfig, NO_COLOR: '1', ...env}})
    const printed = xcc(['lab', 'env', '--name', lab, '--json'])
    assert.equal(printed.status, 0, printed.stderr)
    // the cloud-read path (contracts §7): only what `xcc lab env` prints, and no gcloud credentials of the machine
    const cloudEnv = {...(JSON.parse(printed.stdout) as {variables: Record<string, string>}).variables, HOME: mkdtempSync(join(HOME, 'home-'))}
    const live = (facts: 'topology' | 'cloud'): LiveRun => {
      const started = performance.now()
      const r = xcc(['doctor', '--live', '--from', s.flow.from, '--to', s.flow.to, '--timeout', '5s', '--json', ...(facts === 'topology' ? ['--topology', s.path] : [])], facts === 'cloud' ? cloudEnv : {})
      const ms = performance.now() - started
      let report: {diagnosis?: {code?: string} | null; observations?: {dns?: {result?: string; addresses?: string[]}; checks?: Array<{status?: string}>}}
      try {
        report = JSON.parse(r.stdout) as typeof report
      } catch {
        assert.fail(`xcc doctor --live (${facts}) printed no report, exit ${r.status}: ${r.stderr.slice(-2000)}`)
      }
      return {status: r.status, ms, ...(report.diagnosis?.code ? {code: report.diagnosis.code} : {}), ...(report.observations?.dns ? {dns: report.observations.dns} : {}), ...(report.observations?.checks?.[0]?.status ? {prediction: report.observations.checks[0].status} : {})}
    }
    await body({state, client, name: s.name, compute, live})
  } finally {
    await labDown(lab)
  }
}

/**
 * The live doctor on the scenario's lab gives the scenario's code — with the scenario file as its
 * topology, and with the facts read from the lab's own APIs — and the pod's answer is the one
 * predicted (probe.matches-prediction).
 */
function liveAgrees(t: {diagnostic(message: string): void}, lab: Lab, code: string): void {
  for (const facts of ['topology', 'cloud'] as const) {
    const r = lab.live(facts)
    t.diagnostic(`xcc doctor --live (${facts} facts): exit ${r.status}, ${r.code ?? 'no diagnosis'}; the pod's lookup: ${r.dns?.result ?? '-'} ${(r.dns?.addresses ?? []).join(',')}; prediction ${r.prediction ?? '-'}; ${Math.round(r.ms)} ms`)
    assert.equal(r.code, code, `xcc doctor --live with the ${facts} facts`)
    assert.equal(r.status, 1, 'a failed check: exit 1')
    assert.equal(r.prediction, 'match', 'what the pod got is what was predicted')
  }
}

describe('the DNS scenarios: the lab\'s pods resolve as the static doctor says', () => {
  before(() => requireLabTools([['dnsmasq', ['--version'], 'dnsmasq-base']]))
  after(() => rmSync(HOME, {recursive: true, force: true}))

  it('dns-name-not-found: the responder serves its zone, but not the name', async (t) => {
    const s = scenario('dns-name-not-found')
    assert.equal(s.doctor.diagnosis?.code, 'DNS_NAME_NOT_FOUND')
    await inLab(`dsnf${process.pid}`, s, async (lab) => {
      const linked = await until(() => getent(lab.client, LINKED), (v) => v !== undefined)
      assert.equal(linked.value, LB, 'the declared stub domain and responder serve the linked name')
      const missing = await getent(lab.client, lab.name)
      t.diagnostic(`lab: ${LINKED} → ${linked.value} (${Math.round(linked.ms)} ms), ${lab.name} → ${missing ?? 'no answer'}; doctor: ${s.doctor.diagnosis?.code}`)
      assert.equal(missing, undefined)
      liveAgrees(t, lab, 'DNS_NAME_NOT_FOUND')
    })
  })

  it('dns-stub-domain-missing: the responder answers when asked, kube-dns does not ask it', async (t) => {
    const s = scenario('dns-stub-domain-missing')
    assert.equal(s.doctor.diagnosis?.code, 'DNS_STUB_DOMAIN_MISSING')
    await inLab(`dssm${process.pid}`, s, async (lab) => {
      const direct = await until(() => query(lab.client, '10.30.0.53', LINKED), (v) => v === LB)
      assert.equal(direct.value, LB, 'the responder (its Service 10.30.0.53) serves the zone')
      const seen = await getent(lab.client, lab.name)
      t.diagnostic(`lab: responder → ${direct.value}; ${lab.name} through kube-dns → ${seen ?? 'no answer'}; doctor: ${s.doctor.diagnosis?.code}`)
      assert.equal(seen, undefined, 'without the stub domain the pod gets no answer')
      liveAgrees(t, lab, 'DNS_STUB_DOMAIN_MISSING')
    })
  })

  it('dns-server-unreachable: blocked, and resolving once the firewall rule is deleted', async (t) => {
    const s = scenario('dns-server-unreachable')
    assert.equal(s.doctor.diagnosis?.code, 'DNS_SERVER_UNREACHABLE')
    const rule = 'b-deny-dns-from-a'
    assert.equal(s.doctor.forward.at(-1)?.firewall?.name, rule, 'the doctor names the rule')
    await inLab(`dssu${process.pid}`, s, async (lab) => {
      // kube-dns gets no answer at all (not NXDOMAIN: the server, which holds the name, is not reached)
      const direct = await query(lab.client, '10.30.0.10', lab.name)
      assert.notEqual(direct, 'ENOTFOUND')
      assert.notEqual(direct, LB)
      const started = performance.now()
      const blocked = await getent(lab.client, lab.name, BLOCKED_MS)
      const blockedMs = Math.round(performance.now() - started)
      assert.equal(blocked, undefined, 'the stub server is blocked: no answer')
      liveAgrees(t, lab, 'DNS_SERVER_UNREACHABLE')
      const deleted = await lab.compute('DELETE', `global/firewalls/${rule}`)
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body))
      const open = await until(() => getent(lab.client, lab.name), (v) => v !== undefined, 20_000)
      const doc = yaml.load(s.text) as {firewalls: Array<{name: string}>}
      const without = parseTopology(yaml.dump({...doc, firewalls: doc.firewalls.filter((f) => f.name !== rule)}), 'without-rule.yaml')
      const after = evaluateDoctorTo(without, s.flow.from, s.flow.to, undefined, CHECKS)
      t.diagnostic(`lab: blocked → ${direct} from kube-dns, getent gives up after ${blockedMs} ms; rule deleted → ${open.value} (${Math.round(open.ms)} ms); doctor without it: ${after.dns?.outcome} ${after.dns?.address}`)
      assert.equal(open.value, LB, 'without the rule the server in b answers')
      assert.equal(after.dns?.address, open.value, 'and the static doctor agrees')
    })
  })

  it('dns-record-stale: the pod gets the old address, not the load balancer\'s', async (t) => {
    const s = scenario('dns-record-stale')
    assert.equal(s.doctor.diagnosis?.code, 'DNS_RECORD_STALE')
    await inLab(`dsrs${process.pid}`, s, async (lab) => {
      const seen = await until(() => getent(lab.client, lab.name), (v) => v !== undefined)
      const rule = await lab.compute('GET', 'regions/us-central1/forwardingRules/b-ilb')
      assert.equal(rule.status, 200, JSON.stringify(rule.body))
      t.diagnostic(`lab: ${lab.name} → ${seen.value}; b-ilb is ${String(rule.body.IPAddress)}; doctor: ${s.doctor.diagnosis?.code}, ${s.doctor.dns?.address}`)
      assert.equal(seen.value, s.doctor.dns?.address, 'the pod gets the address the doctor says the responder serves')
      assert.equal(seen.value, '10.11.0.99')
      assert.notEqual(seen.value, rule.body.IPAddress, 'which is no longer the load balancer\'s')
      liveAgrees(t, lab, 'DNS_RECORD_STALE')
    })
  })
})
