/**
 * `xcc link list` and `xcc link verify` against a real lab of seed 001 (two-vpcs-unwired) with
 * the link `demo` applied — the planner's plan done to the topology as the Compute API's writes
 * do it (test/support/link-apply.ts), its masquerade step as the ip-masq-agent config — and
 * nothing but what `xcc lab env` prints: the link is found by its marks through the real Google
 * clients (xcc's adapters), complete, with its address; verify finds it reachable statically
 * and with real packets (--live), and writes a well-formed JUnit report. Then the allow firewall
 * is deleted through xcc's Compute writer: list says incomplete naming it, verify exits 1 with
 * the firewall diagnosis. Needs root (namespaces), iproute2, iptables.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {z} from 'zod'

import {openGcpWrites} from '../../../src/adapters/gcp/index.js'
import type {LinkRequest} from '../../../src/core/link/design.js'
import {planLink} from '../../../src/core/link/plan.js'
import {loadFixture} from '../../support/fixtures.js'
import {LabCli, STACK} from '../../support/lab-cli.js'
import {applyLinkPlan} from '../../support/link-apply.js'
import {requireLabTools} from '../../support/netns.js'

const REQUEST: LinkRequest = {link: 'demo', mode: 'peering', from: 'frontend', to: 'backend', service: {namespace: 'default', name: 'dummy-backend'}, gateways: 2, snat: true, project: 'p', contexts: {}}

const Address = z.strictObject({forwardingRule: z.string(), ip: z.ipv4(), port: z.number().int().min(1).max(65535), owned: z.boolean()})
const Link = z.strictObject({
  name: z.string(), mode: z.enum(['peering', 'gateway']), from: z.string().optional(), to: z.string().optional(), networks: z.array(z.string()),
  address: Address.optional(), resources: z.array(z.strictObject({kind: z.string(), name: z.string(), role: z.string(), parent: z.string().optional()})),
  counts: z.record(z.string(), z.number().int().min(1)), health: z.enum(['complete', 'incomplete']), missing: z.array(z.string()),
})
const ListJson = z.strictObject({schemaVersion: z.literal(1), project: z.string(), notes: z.array(z.string()), links: z.array(Link.extend({doctor: z.string()}))})
const Result = z.looseObject({schemaVersion: z.literal(1), verdict: z.enum(['reachable', 'unreachable', 'ambiguous', 'unknown']), diagnosis: z.looseObject({code: z.string(), summary: z.string()}).nullable()})
const VerifyJson = z.strictObject({
  schemaVersion: z.literal(1), project: z.string(), link: Link, live: z.boolean(), notes: z.array(z.string()), unverifiable: z.string().optional(),
  flows: z.array(z.strictObject({from: z.string(), to: z.string(), expect: z.literal('reachable'), met: z.boolean(), pool: z.string(), node: z.string(), chosen: z.string(), result: Result})),
})

/** a lab of seed 001 with the link demo applied (its masquerade step as the ip-masq-agent config, or left out); the variables of xcc lab env */
function labOfLink(cli: LabCli, home: string, lab: string, dir: string, kube: boolean): Record<string, string> {
  const model = loadFixture('two-vpcs-unwired')
  const plan = planLink(model, REQUEST)
  const file = join(dir, `${lab}.json`)
  writeFileSync(file, JSON.stringify(applyLinkPlan(model.topology, plan.changes, kube ? plan.kube : [])))
  const up = cli.run(home, ['lab', 'up', '--topology', file, '--name', lab], {timeoutMs: 300_000})
  assert.equal(up.status, 0, up.stderr)
  const printed = cli.run(home, ['lab', 'env', '--name', lab, '--json'])
  assert.equal(printed.status, 0, printed.stderr)
  return (JSON.parse(printed.stdout) as {variables: Record<string, string>}).variables
}

describe('xcc link list and verify on a lab of seed 001 with the link applied', () => {
  requireLabTools()
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('lv')
  const dir = mkdtempSync(join(tmpdir(), 'xcc-link-verify-'))
  let env: Record<string, string> = {}
  after(() => cli.cleanup())
  before(() => {
    env = labOfLink(cli, home, lab, dir, true)
  })
  const xcc = (args: readonly string[], timeoutMs = 120_000) => cli.run(home, ['link', ...args], {env, timeoutMs})

  it('list: demo, complete, peering frontend → backend, its address, resources by kind, the doctor reachable (table and JSON)', () => {
    const r = xcc(['list', '--json'])
    assert.equal(r.status, 0, r.stderr)
    const out = ListJson.parse(JSON.parse(r.stdout))
    assert.deepEqual(out.notes, [])
    assert.equal(out.links.length, 1)
    const link = out.links[0]!
    assert.deepEqual([link.name, link.mode, link.from, link.to, link.health, link.doctor], ['demo', 'peering', 'frontend', 'backend', 'complete', 'reachable'], JSON.stringify(link))
    assert.deepEqual(link.counts, {backendService: 1, firewall: 2, forwardingRule: 1, healthCheck: 1, peering: 2})
    assert.deepEqual(link.networks, ['vpc-a', 'vpc-b'])
    assert.equal(link.address?.forwardingRule, 'xcc-demo-fr')
    assert.match(link.address?.ip ?? '', /^10\.193\./)
    const text = xcc(['list'])
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stdout, /^NAME +MODE +CLUSTERS +NETWORKS +ADDRESS +HEALTH +DOCTOR +RESOURCES\n/)
    assert.match(text.stdout, new RegExp(`^demo +peering +frontend → backend +vpc-a,vpc-b +${link.address?.ip.replace(/\./g, '\\.')}:${link.address?.port} +complete +reachable +1 backendService, 2 firewall, 1 forwardingRule, 1 healthCheck, 2 peering$`, 'm'))
  })

  it('verify demo: reachable statically (exit 0), one flow per node pool, saying what was chosen; JUnit well-formed', () => {
    const junit = join(dir, 'static.xml')
    const r = xcc(['verify', 'demo', '--json', '--junit', junit])
    assert.equal(r.status, 0, r.stderr)
    const out = VerifyJson.parse(JSON.parse(r.stdout))
    assert.equal(out.live, false)
    assert.ok(out.flows.length >= 1)
    for (const f of out.flows) {
      assert.equal(f.result.verdict, 'reachable', JSON.stringify(f.result.diagnosis))
      assert.equal(f.to, `${out.link.address?.ip}:${out.link.address?.port}`)
      assert.match(f.chosen, /on node \S+ \(pool default-pool/)
    }
    const xml = readFileSync(junit, 'utf8')
    assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="xcc doctor" tests="\d+" failures="0" errors="0"/)
    assert.equal((xml.match(/<testcase /g) ?? []).length, out.flows.length)
    assert.match(xml, /<testsuite name="xcc link verify demo" /)
    assert.match(xml, /<\/testsuites>\n$/)
    const text = xcc(['verify', 'demo'])
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stdout, /^Link demo \(peering, frontend → backend\) at 10\.193\.\S+: checked statically from the APIs, complete\.\n✓ /)
    assert.match(text.stdout, /Every flow \(\d+\) reaches 10\.193\./)
  })

  it('verify demo --live: real packets reach the address (exit 0), JUnit written', () => {
    const junit = join(dir, 'live.xml')
    const r = xcc(['verify', 'demo', '--live', '--json', '--junit', junit], 300_000)
    assert.equal(r.status, 0, `${r.stderr}\n${r.stdout.slice(0, 4000)}`)
    const out = VerifyJson.parse(JSON.parse(r.stdout))
    assert.equal(out.live, true)
    for (const f of out.flows) {
      assert.equal(f.result.verdict, 'reachable')
      assert.match(f.chosen, /^the doctor's probe pod on node \S+ \(pool default-pool\)$/)
    }
    const xml = readFileSync(junit, 'utf8')
    assert.match(xml, /<testsuite name="xcc link verify demo --live" tests="\d+" failures="0"/)
  })

  it('an unknown link is exit 2 naming it and listing the links; nothing on stdout', () => {
    const r = xcc(['verify', 'nope'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /no link named nope in project /)
    assert.match(r.stderr, /links: demo/)
    assert.equal(r.stdout, '')
    assert.doesNotMatch(r.stderr, STACK)
  })

  it('the allow firewall deleted: list says incomplete naming it; verify exits 1 with the firewall diagnosis (JUnit failure)', async () => {
    const {writer} = await openGcpWrites({env: {...env}, timeoutMs: 60_000})
    const deleted = await writer.delete({kind: 'firewall', scope: {kind: 'global'}, name: 'xcc-demo-allow'})
    assert.ok(deleted)
    const listed = xcc(['list', '--json'])
    assert.equal(listed.status, 0, listed.stderr)
    const link = ListJson.parse(JSON.parse(listed.stdout)).links[0]!
    assert.equal(link.health, 'incomplete')
    assert.deepEqual(link.missing, ['firewall xcc-demo-allow: frontend\'s nodes cannot reach backend\'s nodes (PEER-09)'])
    assert.match(link.doctor, /^unreachable \(FIREWALL_RULE\)$/)
    const text = xcc(['list'])
    assert.match(text.stdout, /demo is incomplete: run xcc link create again to finish it\. Missing:\n {2}- firewall xcc-demo-allow/)
    const junit = join(dir, 'broken.xml')
    const r = xcc(['verify', 'demo', '--junit', junit])
    assert.equal(r.status, 1, r.stderr)
    assert.match(r.stdout, /✗ .* unreachable \(FIREWALL_RULE\)/)
    assert.match(r.stdout, /FIREWALL_RULE: /)
    assert.match(readFileSync(junit, 'utf8'), /<failure message="expected reachable, got unreachable \(FIREWALL_RULE\)" type="FIREWALL_RULE">/)
    const json = xcc(['verify', 'demo', '--json'])
    assert.equal(json.status, 1)
    assert.ok(VerifyJson.parse(JSON.parse(json.stdout)).flows.every((f) => f.result.diagnosis?.code === 'FIREWALL_RULE'))
    // real packets: the SYN is dropped at the backend's nodes
    const live = xcc(['verify', 'demo', '--live', '--json'], 300_000)
    assert.equal(live.status, 1, live.stderr)
    const liveOut = VerifyJson.parse(JSON.parse(live.stdout))
    assert.ok(liveOut.flows.every((f) => !f.met && f.result.verdict !== 'reachable'))
    assert.deepEqual([...new Set(liveOut.flows.map((f) => f.result.diagnosis?.code))], ['FIREWALL_RULE'])
  })
})

describe('xcc link verify on seed 001 with the link\'s masquerade left to xcc masquerade\'s DaemonSet', () => {
  requireLabTools()
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('lm')
  const dir = mkdtempSync(join(tmpdir(), 'xcc-link-verify-'))
  let env: Record<string, string> = {}
  after(() => cli.cleanup())
  before(() => {
    env = labOfLink(cli, home, lab, dir, false)
  })
  const xcc = (args: readonly string[], timeoutMs = 120_000) => cli.run(home, args, {env, timeoutMs})

  it('before the masquerade: the frontend\'s pods keep their address, verify exits 1 with POD_SNAT_MISSING (ILB-07)', () => {
    const r = xcc(['link', 'verify', 'demo', '--json'])
    assert.equal(r.status, 1, r.stderr)
    const out = VerifyJson.parse(JSON.parse(r.stdout))
    assert.equal(out.link.health, 'complete')
    assert.deepEqual(out.notes, [])
    assert.ok(out.flows.every((f) => f.result.diagnosis?.code === 'POD_SNAT_MISSING'), JSON.stringify(out.flows.map((f) => f.result.diagnosis?.code)))
  })

  it('after xcc masquerade add: the DaemonSet\'s rules (not in the APIs) are counted, reachable statically and live', () => {
    const added = xcc(['masquerade', 'add', '--context', 'frontend', '--cidr', '10.193.0.0/16', '--json'], 180_000)
    assert.equal(added.status, 0, added.stderr)
    const r = xcc(['link', 'verify', 'demo', '--json'])
    assert.equal(r.status, 0, r.stdout.slice(0, 3000))
    const out = VerifyJson.parse(JSON.parse(r.stdout))
    assert.deepEqual(out.notes, ['frontend\'s xcc-masquerade DaemonSet masquerades 10.193.0.0/16: its rules (on the nodes, which the APIs do not show) are counted'])
    const live = xcc(['link', 'verify', 'demo', '--live'], 300_000)
    assert.equal(live.status, 0, `${live.stderr}\n${live.stdout}`)
    assert.match(live.stdout, /probed live, complete\.\n/)
  })
})

describe('xcc link list and verify on seed 000 with a gateway link applied', () => {
  requireLabTools()
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('lg')
  const dir = mkdtempSync(join(tmpdir(), 'xcc-link-verify-'))
  let env: Record<string, string> = {}
  after(() => cli.cleanup())
  before(() => {
    const model = loadFixture('overlapping-clusters-unwired')
    const plan = planLink(model, {link: 'c1-c2', mode: 'gateway', from: 'c1', to: 'c2', service: {namespace: 'default', name: 'echoheaders'}, gateways: 2, snat: true, project: 'p', contexts: {}})
    const file = join(dir, 'gateway.json')
    writeFileSync(file, JSON.stringify(applyLinkPlan(model.topology, plan.changes, plan.kube)))
    const up = cli.run(home, ['lab', 'up', '--topology', file, '--name', lab], {timeoutMs: 300_000})
    assert.equal(up.status, 0, up.stderr)
    const printed = cli.run(home, ['lab', 'env', '--name', lab, '--json'])
    assert.equal(printed.status, 0, printed.stderr)
    env = (JSON.parse(printed.stdout) as {variables: Record<string, string>}).variables
  })
  const xcc = (args: readonly string[], timeoutMs = 120_000) => cli.run(home, ['link', ...args], {env, timeoutMs})

  it('list: c1-c2, gateway c1 → c2, complete, its address in the shared subnet, the doctor reachable', () => {
    const r = xcc(['list', '--json'])
    assert.equal(r.status, 0, r.stderr)
    const link = ListJson.parse(JSON.parse(r.stdout)).links[0]
    assert.deepEqual([link?.name, link?.mode, link?.from, link?.to, link?.health, link?.doctor], ['c1-c2', 'gateway', 'c1', 'c2', 'complete', 'reachable'], JSON.stringify(link))
    assert.equal(link?.address?.forwardingRule, 'xcc-c1-c2-c2-fr')
    assert.equal(link?.counts.instance, 4)
  })

  it('verify c1-c2: reachable statically and live, through both clusters\' gateways', () => {
    const r = xcc(['verify', 'c1-c2', '--json'])
    assert.equal(r.status, 0, r.stdout.slice(0, 3000))
    const live = xcc(['verify', 'c1-c2', '--live', '--json'], 300_000)
    assert.equal(live.status, 0, `${live.stderr}\n${live.stdout.slice(0, 3000)}`)
    assert.ok(VerifyJson.parse(JSON.parse(live.stdout)).flows.every((f) => f.result.verdict === 'reachable'))
  })
})
