/**
 * The lab's emulated ip-masq-agent on real packets: `lab up` (the background process with its
 * API servers and agents, run from the sources), then the ConfigMap edited with the real kubectl.
 * Each edit must show in the node's `iptables-save -t nat` within well under a second, and a real
 * TCP connection from a pod must change its source address as the echo server sees it: kept
 * (pod IP) for a non-masquerade destination, the node's address otherwise (SNAT-01…05).
 * Needs root, iproute2, iptables, socat, curl and kubectl.1.32; every namespace is removed.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {parseTopology} from '../../src/core/topology/parse.js'
import {labDown, labUp} from '../../src/lab/lifecycle.js'
import {labNamespaces} from '../../src/lab/runtime/dataplane.js'
import {exec} from '../../src/lab/runtime/exec.js'
import {type ProbeResult, probeTcp} from '../../src/lab/runtime/servers.js'
import type {LabState} from '../../src/lab/runtime/state.js'
import {compare, describe as describeComparison} from '../support/lab-compare.js'
import {Kubectl, findKubectl, kubectlSkip} from '../support/kubectl.js'
import {requireLabTools} from '../support/netns.js'

const HOME = mkdtempSync(join(tmpdir(), 'xcc-ipmasq-'))
process.env.XCC_HOME = HOME
const GKE_DEFAULTS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4']
/** how soon an edit must be in the node's chain */
const PROPAGATION_LIMIT_MS = 1000

interface Chain {
  /** the RETURN destinations of IP-MASQ, in order */
  returns: string[]
  /** IP-MASQ ends in MASQUERADE */
  masquerades: boolean
  /** POSTROUTING jumps to IP-MASQ: the startup script's and the agent's (SNAT-11, SNAT-05) */
  jumps: string[]
}

async function chainOf(ns: string): Promise<Chain> {
  const r = await exec('ip', ['netns', 'exec', ns, 'iptables-save', '-t', 'nat'])
  assert.equal(r.code, 0, r.stderr)
  const lines = r.stdout.split('\n')
  const rules = lines.filter((l) => l.startsWith('-A IP-MASQ '))
  return {
    returns: rules.filter((l) => l.endsWith('-j RETURN')).map((l) => /-d (\S+)/.exec(l)?.[1] ?? '?'),
    masquerades: rules.at(-1)?.includes('-j MASQUERADE') ?? false,
    jumps: lines.filter((l) => l.startsWith('-A POSTROUTING ') && l.endsWith('-j IP-MASQ')).map((l) => /--comment "([^:]+):/.exec(l)?.[1] ?? '?'),
  }
}

/** polls the node's chain until `wanted` holds; returns how long it took */
async function waitForChain(ns: string, wanted: (c: Chain) => boolean, what: string, timeoutMs = 5000): Promise<number> {
  const started = performance.now()
  for (;;) {
    const chain = await chainOf(ns)
    if (wanted(chain)) return performance.now() - started
    if (performance.now() - started > timeoutMs) assert.fail(`${what}: the chain is still ${JSON.stringify(chain)}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function probeUntil(ns: string, dst: string, port: number, done: (p: ProbeResult) => boolean, timeoutMs = 10_000): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const p = await probeTcp(ns, dst, port, {timeoutMs: 1500})
    if (done(p) || Date.now() > deadline) return p
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** the address the replies of the node's connections to `dst`:`port` come back to (conntrack's reply tuple): the source after NAT */
async function natSources(ns: string, dst: string, port: number): Promise<string[]> {
  const r = await exec('ip', ['netns', 'exec', ns, 'conntrack', '-L', '-p', 'tcp', '-d', dst, '--dport', String(port)])
  assert.equal(r.code, 0, r.stderr)
  return [...new Set(r.stdout.split('\n').map((l) => /src=\S+ dst=\S+ sport=\d+ dport=\d+ .*?src=\S+ dst=(\S+)/.exec(l)?.[1]).filter((a): a is string => a !== undefined))]
}

const manifest = (config: string): string => yaml.dump({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'ip-masq-agent', namespace: 'kube-system'}, data: {config}})

class LabUnderTest {
  state!: LabState
  readonly kubectl: Kubectl
  timings: Array<{what: string; applyMs: number; chainMs: number}> = []

  constructor(readonly name: string, readonly context: string) {
    const found = findKubectl()
    this.kubectl = new Kubectl('path' in found ? found.path : 'kubectl-missing')
  }

  async up(scenario: string): Promise<void> {
    const path = `templates/scenarios/${scenario}.yaml`
    const text = readFileSync(path, 'utf8')
    await labDown(this.name)
    this.state = await labUp({name: this.name, model: parseTopology(text, path), topologyText: text, source: `scenario:${scenario}`}, () => {})
  }

  ns(ref: string): string {
    const host = this.state.plan.hosts[ref]
    assert.ok(host, `the lab has ${ref}`)
    return host.ns
  }

  kubectlRun(args: readonly string[], input?: string) {
    return this.kubectl.run(this.state.kubeconfig, ['--context', this.context, ...args], input === undefined ? {} : {input})
  }

  /** applies a config and waits for `wanted` in the node's chain, recording how long it took */
  async apply(config: string, node: string, wanted: (c: Chain) => boolean, what: string): Promise<void> {
    const started = performance.now()
    const r = await this.kubectlRun(['apply', '-f', '-'], manifest(config))
    assert.equal(r.code, 0, r.stderr)
    const applyMs = performance.now() - started
    const chainMs = await waitForChain(node, wanted, what)
    this.timings.push({what, applyMs: Math.round(applyMs), chainMs: Math.round(chainMs)})
    assert.ok(chainMs < PROPAGATION_LIMIT_MS, `${what}: the chain changed ${Math.round(chainMs)} ms after kubectl apply returned`)
  }

  async down(): Promise<void> {
    this.kubectl.dispose()
    await labDown(this.name)
    assert.deepEqual(await labNamespaces(this.name), [], 'every namespace of the lab is gone')
  }
}

describe('the emulated ip-masq-agent on real packets', {skip: kubectlSkip()}, () => {
  before(() => requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl']]))
  after(() => rmSync(HOME, {recursive: true, force: true}))

  it('vpc-native-pair-works: edits, invalid configs, [] and deletion change what the server sees', async (t) => {
    const lab = new LabUnderTest(`ia${process.pid}`, 'a')
    try {
      await lab.up('vpc-native-pair-works')
      const node = lab.ns('node/gke-a-node-1')
      const client = lab.ns('pod/a/default/client')
      const seen = async (wanted: string): Promise<void> => {
        const p = await probeUntil(client, '10.21.0.5', 8080, (r) => r.clientAddress === wanted)
        assert.equal(p.clientAddress, wanted, `pod a/default/client → pod b/default/server: ${p.output}`)
      }

      // the ConfigMap of an ipMasq cluster without a list: the agent's defaults (SNAT-03, SNAT-12)
      const cm = await lab.kubectlRun(['-n', 'kube-system', 'get', 'configmap', 'ip-masq-agent', '-o', 'jsonpath={.data.config}'])
      assert.equal(cm.code, 0, cm.stderr)
      assert.equal(cm.stdout, 'masqLinkLocal: false\nresyncInterval: 60s\n')
      const initial = await chainOf(node)
      assert.deepEqual(initial.returns, ['169.254.0.0/16', ...GKE_DEFAULTS], 'the agent wrote its chain at lab up')
      assert.ok(initial.masquerades)
      assert.deepEqual(initial.jumps, ['ip-masq', 'ip-masq-agent'], 'the startup script\'s jump, then the agent\'s appended one (SNAT-05, SNAT-11)')
      await seen('10.20.0.10')

      // [] empties the list: everything but link-local is masqueraded, to the node's address
      await lab.apply('nonMasqueradeCIDRs: []\n', node, (c) => c.returns.join() === '169.254.0.0/16' && c.masquerades, 'nonMasqueradeCIDRs: []')
      await seen('10.10.0.2')
      assert.equal((await chainOf(node)).jumps.length, 2, 'the jump is ensured, not added again')

      // a list with the peer's pod range keeps the pod address again
      await lab.apply('nonMasqueradeCIDRs: [10.21.0.0/16, 10.11.0.0/20]\nmasqLinkLocal: true\n', node, (c) => c.returns.join() === '10.21.0.0/16,10.11.0.0/20', 'a list with masqLinkLocal')
      await seen('10.20.0.10')

      // invalid configs: the previous chain stays, a Warning Event tells (SNAT-04)
      const kept = await chainOf(node)
      for (const bad of ['nonMasqueradeCIDRs: [10.0.0.1/8]\n', `cidrLimit: 2\nnonMasqueradeCIDRs: [10.21.0.0/16, 10.11.0.0/20, 10.99.0.0/16]\n`, 'nonMasqueradeCIDRs: [10.21.0.0/16\n']) {
        const r = await lab.kubectlRun(['apply', '-f', '-'], manifest(bad))
        assert.equal(r.code, 0, r.stderr)
      }
      let events = ''
      for (let i = 0; i < 50 && !/more than cidrLimit 2/.test(events); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        events = (await lab.kubectlRun(['-n', 'kube-system', 'get', 'events'])).stdout
      }
      for (const why of [/Warning\s+InvalidConfig\s+configmap\/ip-masq-agent\s+.*10\.0\.0\.1\/8/, /InvalidConfig.*more than cidrLimit 2/, /InvalidConfig.*not valid YAML/]) assert.match(events, why)
      t.diagnostic(events.split('\n').filter((l) => l.includes('InvalidConfig')).join('\n'))
      assert.deepEqual(await chainOf(node), kept, 'the chain is untouched')
      await seen('10.20.0.10')

      // deleting the ConfigMap brings back the defaults (SNAT-03): the peer range is non-masqueraded (10/8)
      await lab.apply('nonMasqueradeCIDRs: []\n', node, (c) => c.returns.length === 1, 'back to []')
      await seen('10.10.0.2')
      const deleted = await lab.kubectlRun(['-n', 'kube-system', 'delete', 'configmap', 'ip-masq-agent'])
      assert.equal(deleted.code, 0, deleted.stderr)
      const ms = await waitForChain(node, (c) => c.returns.join() === ['169.254.0.0/16', ...GKE_DEFAULTS].join(), 'the defaults after deletion')
      assert.ok(ms < PROPAGATION_LIMIT_MS, `deletion took ${Math.round(ms)} ms to reach the chain`)
      await seen('10.20.0.10')
      t.diagnostic(`kubectl apply duration and apply → chain latency: ${lab.timings.map((x) => `${x.what}: apply ${x.applyMs} ms, chain ${x.chainMs} ms`).join('; ')}; delete → chain ${Math.round(ms)} ms`)
    } finally {
      await lab.down()
    }
  })

  it('peered-vpcs-ip-masq-agent: seed 001 fails with 10.0.0.0/8 listed, and the ConfigMap fix makes it connect from the node address', async (t) => {
    const lab = new LabUnderTest(`ib${process.pid}`, 'frontend')
    try {
      await lab.up('peered-vpcs-ip-masq-agent')
      const node = lab.ns('node/gke-frontend-cluster-default-pool-d65237bb-1c6s')
      const before = await chainOf(node)
      assert.deepEqual(before.returns, ['169.254.0.0/16', ...GKE_DEFAULTS], 'the scenario\'s explicit list, written by the agent')

      // the static doctor and the lab agree: POD_SNAT_MISSING, the SYN leaves with the pod address
      const path = 'templates/scenarios/peered-vpcs-ip-masq-agent.yaml'
      const failing = await compare({plan: lab.state.plan, model: parseTopology(readFileSync(path, 'utf8'), path), destroy: async () => {}}, 'frontend', 'lb/backend-ilb')
      t.diagnostic(describeComparison(failing))
      assert.equal(failing.code, 'POD_SNAT_MISSING')
      assert.equal(failing.lab.connected, false)
      assert.ok(failing.agree)
      assert.deepEqual(await natSources(node, '10.193.0.3', 32191), ['10.132.0.10'], 'the SYN left the node with the pod address')
      await exec('ip', ['netns', 'exec', node, 'conntrack', '-F'])

      // the fix: 10.0.0.0/8 replaced by the ranges that must keep pod IPs
      const fixed = ['10.132.0.0/14', '10.209.0.0/16', ...GKE_DEFAULTS.slice(1)]
      await lab.apply(`nonMasqueradeCIDRs:\n${fixed.map((c) => `  - ${c}`).join('\n')}\n`, node, (c) => c.returns.join() === ['169.254.0.0/16', ...fixed].join(), 'the fixed list')
      const doc = yaml.load(readFileSync(path, 'utf8')) as {clusters: Array<{name: string; masquerade: {ipMasq: {nonMasqueradeCIDRs: string[]}}}>}
      doc.clusters.find((c) => c.name === 'frontend')!.masquerade.ipMasq.nonMasqueradeCIDRs = fixed
      const model = parseTopology(yaml.dump(doc), 'fixed.yaml')
      let working = await compare({plan: lab.state.plan, model, destroy: async () => {}}, 'frontend', 'lb/backend-ilb')
      for (let i = 0; i < 20 && !working.lab.connected; i++) working = await compare({plan: lab.state.plan, model, destroy: async () => {}}, 'frontend', 'lb/backend-ilb')
      t.diagnostic(describeComparison(working))
      assert.equal(working.doctor, 'reachable')
      assert.equal(working.lab.connected, true, describeComparison(working))
      assert.ok(working.agree, describeComparison(working))
      assert.deepEqual(await natSources(node, '10.193.0.3', 32191), ['10.209.0.2'], 'masqueraded to the node address')
      t.diagnostic(`apply → chain: ${lab.timings.map((x) => `${x.chainMs} ms`).join(', ')}`)
    } finally {
      await lab.down()
    }
  })
})
