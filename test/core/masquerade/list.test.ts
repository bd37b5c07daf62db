/**
 * src/core/masquerade/list.ts: what `xcc masquerade list` concludes for one node and one range
 * from the node's `iptables-save -t nat` (SNAT-06/09/11/14 through the evaluator), and which
 * ranges xcc manages where.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {CIDRS_ANNOTATION} from '../../../src/core/masquerade/daemonset.js'
import {buildNodeRulesPod, evaluateRange, managedRanges} from '../../../src/core/masquerade/list.js'
import type {MasqueradeState, NodeInfo} from '../../../src/core/masquerade/state.js'
import {cidr, ip} from '../../../src/core/net/ipv4.js'
import {restoreNoflush} from './nat-table.js'

const node: NodeInfo = {name: 'gke-a-pool-1', podCidr: cidr('10.132.0.0/24'), internalIp: ip('10.209.0.2'), ready: true}
const fixture = (name: string) => readFileSync(`test/fixtures/iptables/${name}.txt`, 'utf8')
/** 1-based line of the first line of `text` that starts with `prefix` */
const lineOf = (text: string, prefix: string) => text.split('\n').findIndex((l) => l.startsWith(prefix)) + 1

const nat = (...rules: string[]) => ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ':IP-MASQ - [0:0]', '-A POSTROUTING -m addrtype ! --dst-type LOCAL -j IP-MASQ', ...rules, 'COMMIT', ''].join('\n')

describe('evaluateRange', () => {
  it('SNAT-05/06 masquerade: the upstream agent\'s last rule decides (ip-masq-agent.txt, 10.193.0.0/16 not listed)', () => {
    const table = fixture('ip-masq-agent')
    const d = evaluateRange(node, table, cidr('10.193.0.0/16'))
    assert.equal(d.decision, 'masquerade')
    assert.equal(d.cidr, '10.193.0.0/16')
    assert.equal(d.rule?.chain, 'IP-MASQ-AGENT')
    assert.equal(d.rule?.line, lineOf(table, '-A IP-MASQ-AGENT -m comment --comment "ip-masq-agent: outbound'))
    assert.match(d.rule?.text ?? '', /-j MASQUERADE --random-fully$/)
    assert.match(d.detail, /IP-MASQ-AGENT rule 5/)
  })

  it('SNAT-11 pod-ip: GKE\'s IP-MASQ RETURN for 10.0.0.0/8 decides (gke-node.txt)', () => {
    const table = fixture('gke-node')
    const d = evaluateRange(node, table, cidr('10.193.0.0/16'))
    assert.equal(d.decision, 'pod-ip')
    assert.equal(d.rule?.chain, 'IP-MASQ')
    assert.equal(d.rule?.line, lineOf(table, '-A IP-MASQ -d 10.0.0.0/8 '))
    assert.match(d.detail, /IP-MASQ rule 2 returns for 10\.0\.0\.0\/8/)
    // 192.168.0.0/16 is listed later in the same chain
    const other = evaluateRange(node, table, cidr('192.168.7.0/24'))
    assert.equal(other.decision, 'pod-ip')
    assert.equal(other.rule?.line, lineOf(table, '-A IP-MASQ -d 192.168.0.0/16 '))
    // and outside every listed range: masquerade by the chain's last rule
    assert.equal(evaluateRange(node, table, cidr('35.199.192.0/19')).decision, 'masquerade')
  })

  it('SNAT-09 pod-ip: the kubenet rule masquerades only outside 10.0.0.0/8 (kubenet.txt)', () => {
    const table = fixture('kubenet')
    const d = evaluateRange(node, table, cidr('10.193.0.0/16'))
    assert.equal(d.decision, 'pod-ip')
    assert.equal(d.rule?.chain, 'POSTROUTING')
    assert.equal(d.rule?.line, lineOf(table, '-A POSTROUTING ! -d 10.0.0.0/8'))
    assert.match(d.detail, /masquerades only outside 10\.0\.0\.0\/8/)
    assert.equal(evaluateRange(node, table, cidr('172.20.0.0/16')).decision, 'masquerade')
  })

  it('SNAT-14: XCC-MASQ inserted first turns the kubenet pod-ip into masquerade by the XCC-MASQ rule', () => {
    const table = restoreNoflush(fixture('kubenet').replace('-A POSTROUTING ! -d', '-A POSTROUTING -m addrtype ! --dst-type LOCAL -j XCC-MASQ\n-A POSTROUTING ! -d'),
      '*nat\n:XCC-MASQ - [0:0]\n-A XCC-MASQ -d 10.193.0.0/16 -m comment --comment "xcc-masquerade: 10.193.0.0/16" -j MASQUERADE --random-fully\nCOMMIT\n')
    const d = evaluateRange(node, table, cidr('10.193.0.0/16'))
    assert.equal(d.decision, 'masquerade')
    assert.equal(d.rule?.chain, 'XCC-MASQ')
  })

  it('partial: a RETURN for half of the range (the probes at the first and last host disagree)', () => {
    const table = nat('-A IP-MASQ -d 10.193.0.0/17 -j RETURN', '-A IP-MASQ -j MASQUERADE')
    const d = evaluateRange(node, table, cidr('10.193.0.0/16'))
    assert.equal(d.decision, 'partial')
    assert.equal(d.rule, undefined)
    assert.match(d.detail, /only part of the range is masqueraded \(10\.193\.128\.0, 10\.193\.255\.254 are; 10\.193\.0\.1 keeps the pod address\)/)
    const upper = evaluateRange(node, nat('-A IP-MASQ -d 10.193.128.0/17 -j RETURN', '-A IP-MASQ -j MASQUERADE'), cidr('10.193.0.0/16'))
    assert.equal(upper.decision, 'partial')
    assert.match(upper.detail, /\(10\.193\.0\.1 is; 10\.193\.128\.0, 10\.193\.255\.254 keep the pod address\)/)
  })

  it('unknown: a node without podCIDR has no pod address to evaluate', () => {
    const {podCidr: _none, ...rest} = node
    const d = evaluateRange(rest, fixture('kubenet'), cidr('10.193.0.0/16'))
    assert.equal(d.decision, 'unknown')
    assert.match(d.detail, /no podCIDR/)
  })

  it('unknown: an unparsable table, a rule the evaluator does not model, a drop, the node\'s own address', () => {
    const bad = evaluateRange(node, '*nat\n-A NOPE -j RETURN\nCOMMIT\n', cidr('10.193.0.0/16'))
    assert.equal(bad.decision, 'unknown')
    assert.match(bad.detail, /does not parse \(line 2/)
    const odd = evaluateRange(node, nat('-A IP-MASQ -m foo --bar -j MASQUERADE'), cidr('10.193.0.0/16'))
    assert.equal(odd.decision, 'unknown')
    assert.match(odd.detail, /not understood/)
    const dropped = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -d 10.193.0.0/16 -j DROP\nCOMMIT\n' + nat('-A IP-MASQ -j MASQUERADE')
    assert.match(evaluateRange(node, dropped, cidr('10.193.0.0/16')).detail, /drops the packet in FORWARD/)
    const own = evaluateRange(node, fixture('kubenet'), cidr('10.209.0.2/32'))
    assert.equal(own.decision, 'unknown')
    assert.match(own.detail, /address of the node itself/)
  })

  it('the pod source evaluated is podCIDR + 10: a RETURN for that source only keeps the pod IP', () => {
    const table = nat('-A IP-MASQ -s 10.132.0.10/32 -d 10.193.0.0/16 -j RETURN', '-A IP-MASQ -j MASQUERADE')
    assert.equal(evaluateRange(node, table, cidr('10.193.0.0/16')).decision, 'pod-ip')
    const elsewhere = {...node, podCidr: cidr('10.132.5.0/24')}
    assert.equal(evaluateRange(elsewhere, table, cidr('10.193.0.0/16')).decision, 'masquerade')
  })

  it('/32 and /31 ranges are probed at their own address', () => {
    assert.equal(evaluateRange(node, nat('-A IP-MASQ -d 10.193.0.3/32 -j RETURN', '-A IP-MASQ -j MASQUERADE'), cidr('10.193.0.3/32')).decision, 'pod-ip')
    assert.equal(evaluateRange(node, nat('-A IP-MASQ -d 10.193.0.4/32 -j RETURN', '-A IP-MASQ -j MASQUERADE'), cidr('10.193.0.4/31')).decision, 'pod-ip')
  })
})

describe('managedRanges and the node-rules pod', () => {
  it('the ranges come from xcc\'s DaemonSet and the ConfigMap annotation, without duplicates, and say where', () => {
    const base: MasqueradeState = {context: 'c', nodes: [node], own: {podRanges: [], nodeAddresses: [], serviceAddresses: []}, anetd: false}
    assert.deepEqual(managedRanges(base), {cidrs: [], managedBy: []})
    const ds = {metadata: {name: 'xcc-masquerade', annotations: {[CIDRS_ANNOTATION]: '10.193.0.0/16,172.20.0.0/16'}}, spec: {selector: {matchLabels: {}}, template: {metadata: {labels: {}}, spec: {containers: []}}}}
    const cm = {metadata: {name: 'ip-masq-agent', annotations: {[CIDRS_ANNOTATION]: '172.20.0.0/16,192.168.50.0/24'}}}
    assert.deepEqual(managedRanges({...base, xccDaemonSet: ds, agentConfigMap: cm}), {cidrs: ['10.193.0.0/16', '172.20.0.0/16', '192.168.50.0/24'], managedBy: ['daemonset', 'ip-masq-agent']})
    assert.deepEqual(managedRanges({...base, agentConfigMap: {metadata: {name: 'ip-masq-agent'}}}), {cidrs: [], managedBy: []})
  })

  it('the node-rules pod is pinned to the node, host network, NET_ADMIN only, never restarted, labelled for cleanup', () => {
    const pod = buildNodeRulesPod('r1', 3, 'gke-a-pool-1', 'img', 'echo rules')
    assert.equal(pod.spec.nodeName, 'gke-a-pool-1')
    assert.equal(pod.spec.hostNetwork, true)
    assert.equal(pod.spec.restartPolicy, 'Never')
    assert.deepEqual(pod.spec.tolerations, [{operator: 'Exists'}])
    assert.deepEqual(pod.spec.containers[0]?.securityContext, {capabilities: {add: ['NET_ADMIN']}, allowPrivilegeEscalation: false})
    assert.deepEqual(pod.spec.containers[0]?.command, ['sh', '-c', 'echo rules', 'xcc-node-rules'])
    assert.equal(pod.metadata.name, 'xcc-node-rules-r1-3')
    assert.equal(pod.metadata.labels?.['app.kubernetes.io/managed-by'], 'xcc')
    assert.ok(pod.spec.activeDeadlineSeconds && pod.spec.activeDeadlineSeconds > 0)
  })
})

describe('regressions (src/core/masquerade/list.ts)', () => {
  it('SNAT-06: a RETURN for a block strictly inside the range (not touching its first or last host) makes it partial, not masquerade', () => {
    // the agent keeps the pod IP for 10.193.64.0/18, a quarter of 10.193.0.0/16: list must not say the whole range is masqueraded
    const table = nat('-A IP-MASQ -d 10.193.64.0/18 -j RETURN', '-A IP-MASQ -j MASQUERADE')
    assert.equal(evaluateRange(node, table, cidr('10.193.0.0/16')).decision, 'partial')
  })
})
