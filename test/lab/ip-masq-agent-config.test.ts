/**
 * The lab's emulated ip-masq-agent without the kernel: the ConfigMap the lab derives from a
 * topology, what the agent makes of a ConfigMap (SNAT-01…04), which nodes it governs, and the
 * controller itself inside a real emulated API server with a recording ChainWriter — first sync,
 * edits, invalid configs kept out with a Warning Event, deletion back to the defaults,
 * serialized writes where the last config wins, and the bounded periodic resync.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {GKE_AGENT_FLAGS, RESERVED_RANGES, UPSTREAM_DEFAULT_NON_MASQUERADE, agentJumpRule, parseAgentConfig, renderAgentChain} from '../../src/core/topology/ip-masq-agent.js'
import type {MasqueradeSpec} from '../../src/core/topology/schema.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import {type AgentNode, type ChainWriter, INVALID_CONFIG_REASON, IpMasqAgent, RESYNC_BOUNDS_MS, agentNodes, decideAgentConfig, resyncDelayMs} from '../../src/lab/addons/ip-masq-agent.js'
import type {KubeObject} from '../../src/lab/kube/index.js'
import {compileLab} from '../../src/lab/compile/compile.js'
import {clusterObjects, ipMasqAgentConfig} from '../../src/lab/compile/kube-objects.js'
import {type TestCluster, eventually, startTestCluster} from './kube/cluster.js'

const GKE_DEFAULTS = [...UPSTREAM_DEFAULT_NON_MASQUERADE, ...RESERVED_RANGES]
const configMap = (config?: string): KubeObject => ({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'ip-masq-agent', namespace: 'kube-system'}, ...(config === undefined ? {} : {data: {config}})})

/** vpc-native-pair-works with a second node in cluster a that brings its own iptables */
function topology(masquerade?: unknown): string {
  const doc = yaml.load(readFileSync('templates/scenarios/vpc-native-pair-works.yaml', 'utf8')) as {clusters: Array<{masquerade?: unknown; nodes: unknown[]}>}
  const a = doc.clusters[0]!
  if (masquerade === undefined) delete a.masquerade
  else a.masquerade = masquerade
  a.nodes.push({name: 'gke-a-node-2', networkIP: '10.10.0.3', podCidr: '10.20.1.0/24', iptables: '*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n'})
  return yaml.dump(doc)
}

describe('the ConfigMap the lab derives from masquerade', () => {
  const spec = (ipMasq: Record<string, unknown>): MasqueradeSpec => ({ipMasq: {masqLinkLocal: false, cidrLimit: 64, ...ipMasq}}) as MasqueradeSpec

  it('without a list: no nonMasqueradeCIDRs, so the agent keeps its defaults (SNAT-03)', () => {
    const text = ipMasqAgentConfig(spec({}))!
    assert.equal(text, 'masqLinkLocal: false\nresyncInterval: 60s\n')
    const parsed = parseAgentConfig(text, GKE_AGENT_FLAGS)
    assert.ok(parsed.ok)
    assert.deepEqual(parsed.config.nonMasqueradeCIDRs, GKE_DEFAULTS)
  })

  it('with a list, an empty list, masqLinkLocal and a cidrLimit: read back as given', () => {
    for (const given of [{nonMasqueradeCIDRs: ['10.20.0.0/16', '10.11.0.0/20']}, {nonMasqueradeCIDRs: []}, {nonMasqueradeCIDRs: ['10.0.0.0/8'], masqLinkLocal: true, cidrLimit: 3}]) {
      const parsed = parseAgentConfig(ipMasqAgentConfig(spec(given)), GKE_AGENT_FLAGS)
      assert.ok(parsed.ok, JSON.stringify(given))
      assert.deepEqual(parsed.config, {nonMasqueradeCIDRs: given.nonMasqueradeCIDRs, cidrLimit: given.cidrLimit ?? 64, masqLinkLocal: given.masqLinkLocal ?? false, masqLinkLocalIPv6: false, resyncInterval: '60s'})
    }
    assert.doesNotMatch(ipMasqAgentConfig(spec({}))!, /cidrLimit/, 'the default limit is not written')
  })

  it('kubenet and disabled clusters get none; ipMasq clusters, also by default, get kube-system/ip-masq-agent', () => {
    assert.equal(ipMasqAgentConfig({kubenet: {nonMasqueradeCidr: '10.0.0.0/8'}}), undefined)
    assert.equal(ipMasqAgentConfig({disabled: true}), undefined)
    for (const masquerade of [undefined, {ipMasq: {}}]) {
      const model = parseTopology(topology(masquerade), 'x.yaml')
      const plan = compileLab(model, 'cfg')
      const objects = clusterObjects(model, plan, model.clusters.get('a')!, () => ['true'])
      const cm = objects.find((o) => o.kind === 'ConfigMap')
      assert.deepEqual(cm?.metadata, {name: 'ip-masq-agent', namespace: 'kube-system'})
      assert.equal((cm?.data as Record<string, string>).config, 'masqLinkLocal: false\nresyncInterval: 60s\n')
    }
  })
})

describe('what the agent makes of the ConfigMap', () => {
  it('no ConfigMap, no config key, an empty file: the defaults (SNAT-01, SNAT-03, SNAT-12)', () => {
    for (const cm of [undefined, configMap(), configMap('')]) {
      const d = decideAgentConfig(cm)
      assert.ok(d.ok)
      assert.deepEqual(d.config.nonMasqueradeCIDRs, GKE_DEFAULTS)
      assert.equal(d.restore, renderAgentChain(d.config, 'IP-MASQ'))
    }
    assert.equal((decideAgentConfig(configMap('masqLinkLocal: true')) as {fromFile: boolean}).fromFile, true)
  })

  it('an empty list masquerades everything but link-local', () => {
    const d = decideAgentConfig(configMap('nonMasqueradeCIDRs: []'))
    assert.ok(d.ok)
    const rules = d.restore.split('\n').filter((l) => l.startsWith('-A IP-MASQ'))
    assert.equal(rules.length, 2)
    assert.match(rules[0]!, /-d 169\.254\.0\.0\/16 -j RETURN/)
    assert.match(rules[1]!, /-j MASQUERADE --random-fully$/)
  })

  it('invalid configs are refused with the reason (SNAT-04)', () => {
    const cases: Array<[string, RegExp]> = [
      ['nonMasqueradeCIDRs: [10.0.0.1/8]', /10\.0\.0\.1\/8.*(host bits are set|not the network address)/],
      ['cidrLimit: 1\nnonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12]', /more than cidrLimit 1/],
      ['nonMasqueradeCIDRs: [10.0.0.0/8', /not valid YAML/],
      ['resyncInterval: soon', /Go duration/],
      ['nonMasqueradeCIDRs: [fd00::/8]', /IPv6/],
    ]
    for (const [text, why] of cases) {
      const d = decideAgentConfig(configMap(text))
      assert.equal(d.ok, false, text)
      assert.match((d as {error: string}).error, why)
    }
  })

  it('the resync period is the config\'s, held within bounds', () => {
    const at = (resyncInterval: string) => resyncDelayMs({nonMasqueradeCIDRs: [], cidrLimit: 64, masqLinkLocal: false, masqLinkLocalIPv6: false, resyncInterval})
    assert.equal(at('60s'), 60_000)
    assert.equal(at('1m30s'), 90_000)
    assert.equal(at('0'), RESYNC_BOUNDS_MS.min)
    assert.equal(at('-5s'), RESYNC_BOUNDS_MS.min)
    assert.equal(at('100h'), RESYNC_BOUNDS_MS.max)
  })

  it('governs the ipMasq nodes without their own iptables, none of other clusters', () => {
    const model = parseTopology(topology({ipMasq: {}}), 'x.yaml')
    const plan = compileLab(model, 'cfg')
    assert.deepEqual(agentNodes(model, plan, 'a'), [{name: 'gke-a-node-1', ns: plan.hosts['node/gke-a-node-1']!.ns}])
    assert.deepEqual(agentNodes(model, plan, 'nope'), [])
    const kubenet = parseTopology(topology({kubenet: {nonMasqueradeCidr: '10.0.0.0/8'}}), 'x.yaml')
    assert.deepEqual(agentNodes(kubenet, compileLab(kubenet, 'cfg'), 'a'), [])
  })
})

/** Records every write; a write can be held until released, and concurrent writes of a node are noticed. */
class RecordingWriter implements ChainWriter {
  readonly writes: Array<{node: string; restore: string; jump: readonly string[]}> = []
  readonly inFlight = new Map<string, number>()
  overlapped = false
  delayMs = 0
  failNext = false

  async write(node: AgentNode, restore: string, jump: readonly string[]): Promise<void> {
    const n = (this.inFlight.get(node.name) ?? 0) + 1
    this.inFlight.set(node.name, n)
    if (n > 1) this.overlapped = true
    try {
      if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs))
      if (this.failNext) {
        this.failNext = false
        throw new Error('iptables-restore: line 3 failed')
      }
      this.writes.push({node: node.name, restore, jump})
    } finally {
      this.inFlight.set(node.name, (this.inFlight.get(node.name) ?? 1) - 1)
    }
  }

  last(node: string): string | undefined {
    return this.writes.filter((w) => w.node === node).at(-1)?.restore
  }
}

describe('the agent controller in an emulated API server', () => {
  let cluster: TestCluster
  let agent: IpMasqAgent
  const writer = new RecordingWriter()
  const nodes: AgentNode[] = [{name: 'node-a', ns: 'ns-a'}, {name: 'node-b', ns: 'ns-b'}]
  const cms = () => cluster.server.store.registry.get('configmaps')
  const setConfig = (config: string) => cluster.server.api.patch(cms(), 'kube-system', 'ip-masq-agent', 'merge', {data: {config}})
  const warnings = () => cluster.server.store.list(cluster.server.store.registry.get('events'), 'kube-system').filter((e) => e.reason === INVALID_CONFIG_REASON && e.type === 'Warning')
  const rendered = (text: string | undefined) => {
    const d = decideAgentConfig(text === undefined ? undefined : configMap(text))
    assert.ok(d.ok)
    return d.restore
  }

  before(async () => {
    cluster = await startTestCluster({
      objects: [configMap('nonMasqueradeCIDRs: [10.0.0.0/8]\nresyncInterval: 60s\n')],
      addons: [(context) => (agent = new IpMasqAgent(context, {nodes, writer}))],
    })
  })
  after(async () => {
    await cluster?.close()
  })

  it('has written every governed node once the server is up, with the POSTROUTING jump (SNAT-05)', () => {
    assert.deepEqual(writer.writes.map((w) => w.node).sort(), ['node-a', 'node-b'])
    for (const w of writer.writes) {
      assert.equal(w.restore, rendered('nonMasqueradeCIDRs: [10.0.0.0/8]'))
      assert.deepEqual(w.jump, agentJumpRule('IP-MASQ'))
    }
  })

  it('an edit rewrites each node once; the same config again writes nothing', async () => {
    const before = writer.writes.length
    setConfig('nonMasqueradeCIDRs: [10.20.0.0/16]\n')
    await eventually('the new chain on both nodes', () => writer.writes.length === before + 2)
    assert.equal(writer.last('node-a'), rendered('nonMasqueradeCIDRs: [10.20.0.0/16]'))
    assert.deepEqual(agent.current.nonMasqueradeCIDRs, ['10.20.0.0/16'])
    setConfig('nonMasqueradeCIDRs: ["10.20.0.0/16"]   # same list, other text\n')
    await agent.idle()
    await new Promise((resolve) => setTimeout(resolve, 50))
    await agent.idle()
    assert.equal(writer.writes.length, before + 2)
  })

  it('an invalid config keeps the previous one, writes nothing and leaves a Warning Event (SNAT-04)', async () => {
    const before = writer.writes.length
    for (const [text, why] of [['nonMasqueradeCIDRs: [10.0.0.1/8]', /10\.0\.0\.1\/8.*(host bits are set|not the network address)/], ['nonMasqueradeCIDRs: [10.0.0.0/8', /not valid YAML/]] as const) {
      setConfig(text)
      const event = await eventually(`a Warning for ${text}`, () => warnings().find((e) => why.test(String(e.message))))
      assert.match(String(event.message), /keeping the previous configuration \(nonMasqueradeCIDRs \[10\.20\.0\.0\/16\]/)
      const involved = event.involvedObject as Record<string, unknown>
      assert.deepEqual([involved.kind, involved.namespace, involved.name, involved.uid], ['ConfigMap', 'kube-system', 'ip-masq-agent', cluster.server.store.get(cms(), 'kube-system', 'ip-masq-agent')!.metadata.uid])
      assert.equal(event.source && (event.source as {component: string}).component, 'ip-masq-agent')
    }
    await agent.idle()
    assert.equal(writer.writes.length, before)
    assert.deepEqual(agent.current.nonMasqueradeCIDRs, ['10.20.0.0/16'])
  })

  it('deleting the ConfigMap brings back the defaults (SNAT-03)', async () => {
    const before = writer.writes.length
    cluster.server.api.delete(cms(), 'kube-system', 'ip-masq-agent')
    await eventually('the default chain', () => writer.writes.length === before + 2)
    assert.equal(writer.last('node-b'), rendered(undefined))
    assert.deepEqual(agent.current.nonMasqueradeCIDRs, GKE_DEFAULTS)
  })

  it('updates in a burst are written one sync at a time, never two writes of a node at once, and the last one wins', async () => {
    cluster.server.api.create(cms(), 'kube-system', configMap('nonMasqueradeCIDRs: []'))
    await eventually('the empty list written', () => writer.last('node-a') === rendered('nonMasqueradeCIDRs: []'))
    writer.delayMs = 40
    try {
      for (let i = 1; i <= 12; i++) {
        setConfig(`nonMasqueradeCIDRs: [10.${i}.0.0/16]`)
        await new Promise((resolve) => setTimeout(resolve, 7))
      }
      await eventually('the last list on both nodes', () => writer.last('node-a') === rendered('nonMasqueradeCIDRs: [10.12.0.0/16]') && writer.last('node-b') === rendered('nonMasqueradeCIDRs: [10.12.0.0/16]'))
      await agent.idle()
    } finally {
      writer.delayMs = 0
    }
    assert.equal(writer.overlapped, false)
    assert.deepEqual(agent.current.nonMasqueradeCIDRs, ['10.12.0.0/16'])
  })

  it('a failed write is retried at the next sync; a Warning tells', async () => {
    writer.failNext = true
    setConfig('nonMasqueradeCIDRs: [10.99.0.0/16]')
    await eventually('a SyncFailed event', () => cluster.server.store.list(cluster.server.store.registry.get('events'), 'kube-system').some((e) => e.reason === 'SyncFailed' && /line 3 failed/.test(String(e.message))))
    await agent.idle()
    const failed = nodes.find((n) => writer.last(n.name) !== rendered('nonMasqueradeCIDRs: [10.99.0.0/16]'))
    assert.ok(failed, 'one node missed the write')
    setConfig('nonMasqueradeCIDRs: [10.99.0.0/16]\nmasqLinkLocal: false')
    await eventually('the missed node written', () => writer.last(failed.name) === rendered('nonMasqueradeCIDRs: [10.99.0.0/16]'))
  })
})

describe('the periodic resync', () => {
  it('rewrites every chain each resyncInterval of the config in effect (bounded), and stops with the server', async () => {
    const writer = new RecordingWriter()
    let agent: IpMasqAgent | undefined
    const cluster = await startTestCluster({
      objects: [configMap('resyncInterval: 50ms')],
      addons: [(context) => (agent = new IpMasqAgent(context, {nodes: [{name: 'node-a', ns: 'ns-a'}], writer, resyncBounds: {min: 100, max: 200}}))],
    })
    try {
      const first = writer.writes.length
      assert.equal(first, 1)
      await new Promise((resolve) => setTimeout(resolve, 650))
      const resyncs = writer.writes.length - first
      assert.ok(resyncs >= 3 && resyncs <= 7, `about one write per 100 ms (the lower bound), got ${resyncs}`)
      // an invalid config: the chain is not rewritten any more, the old interval stays
      cluster.server.api.patch(cluster.server.store.registry.get('configmaps'), 'kube-system', 'ip-masq-agent', 'merge', {data: {config: 'resyncInterval: soon'}})
      await new Promise((resolve) => setTimeout(resolve, 30))
      const frozen = writer.writes.length
      await new Promise((resolve) => setTimeout(resolve, 350))
      assert.equal(writer.writes.length, frozen, 'syncConfig fails, so syncMasqRules does not run')
      assert.equal(agent!.current.resyncInterval, '50ms')
    } finally {
      await cluster.close()
    }
    const stopped = writer.writes.length
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(writer.writes.length, stopped, 'no resync after close')
  })
})
