import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import type {HostContext, IptPacket, PipelineInput, PipelineOutcome, RouteDecision, Ruleset} from '../../../src/core/iptables/index.js'
import {parseIptablesSave, runPipeline} from '../../../src/core/iptables/index.js'
import {cidr, cidrContainsIp, ip} from '../../../src/core/net/ipv4.js'
import {addressesOf, hitsOf, load, nodeHost, only, packet, table} from './builders.js'

const fixture = (name: string): Ruleset => {
  const {ruleset, errors} = parseIptablesSave(readFileSync(new URL(`../../fixtures/iptables/${name}`, import.meta.url), 'utf8'), name)
  assert.deepEqual(errors, [])
  return ruleset
}

/** GKE node: cbr0 10.132.0.0/24 (pods), metadata proxy 169.254.169.252 on lo, everything else via eth0. */
const nodeHostWithMetadata: HostContext = {
  isLocal: (address) => nodeHost.isLocal(address) || address === ip('169.254.169.252'),
  interfaceAddress: nodeHost.interfaceAddress,
}
function nodeRoute(dst: number): RouteDecision | undefined {
  if (nodeHostWithMetadata.isLocal(dst)) return {local: true, outIface: 'lo'}
  return {local: false, outIface: cidrContainsIp(cidr('10.132.0.0/24'), dst) ? 'cbr0' : 'eth0'}
}

/** Gateway: nic0 10.210.200.2/24 (default route), nic1 10.138.0.10/20 (+ 10.120.0.0/14), 192.0.2.0/24 blackholed. */
const gatewayHost: HostContext = {
  isLocal: (address) => address === ip('10.210.200.2') || address === ip('10.138.0.10') || address >>> 24 === 127,
  interfaceAddress: (iface) => ({nic0: ip('10.210.200.2'), nic1: ip('10.138.0.10')})[iface],
}
function gatewayRoute(dst: number): RouteDecision | undefined {
  if (gatewayHost.isLocal(dst)) return {local: true, outIface: 'lo'}
  if (cidrContainsIp(cidr('192.0.2.0/24'), dst)) return undefined
  if (cidrContainsIp(cidr('10.138.0.0/20'), dst) || cidrContainsIp(cidr('10.120.0.0/14'), dst)) return {local: false, outIface: 'nic1'}
  return {local: false, outIface: 'nic0'}
}

function node(p: IptPacket, extra: Partial<PipelineInput> = {}): PipelineOutcome[] {
  return runPipeline({ruleset: fixture('gke-node.txt'), host: nodeHostWithMetadata, origin: 'arriving', packet: p, ipForward: true, route: nodeRoute, ...extra})
}

function gateway(p: IptPacket, origin: 'arriving' | 'local' = 'arriving'): PipelineOutcome[] {
  return runPipeline({ruleset: fixture('gateway.txt'), host: gatewayHost, origin, packet: p, ipForward: true, route: gatewayRoute})
}

/** a forwarded or sent outcome */
type Passed = Extract<PipelineOutcome, {outIface: string}>

function kindOf(o: PipelineOutcome): string {
  if (o.kind === 'dropped') {
    const by = 'ipForwardDisabled' in o.by ? 'ip_forward=0' : 'index' in o.by ? `${o.by.chain}#${o.by.index}` : `${o.by.chain} policy`
    return `dropped in ${o.hook} by ${by}`
  }
  if (o.kind === 'unknown') return `unknown in ${o.hook} at ${o.rule.chain}#${o.rule.index}`
  return 'outIface' in o ? `${o.kind} via ${o.outIface}` : o.kind
}

describe('running the netfilter pipeline of a host', () => {
  it('forwards a pod\'s packet to a ClusterIP: DNAT to each endpoint (one outcome per statistic branch), no SNAT from a pod', () => {
    const outcomes = node(packet({dst: '10.135.242.17', dstPort: 80}))
    assert.deepEqual(outcomes.map(kindOf), ['forwarded via cbr0', 'forwarded via eth0', 'forwarded via eth0'])
    assert.deepEqual(outcomes.map((o) => addressesOf(o.packet)), [
      '10.132.0.10:47162 > 10.132.0.5:8080',
      '10.132.0.10:47162 > 10.132.1.7:8080',
      '10.132.0.10:47162 > 10.132.2.9:8080',
    ])
    const first = outcomes[0] as Passed
    assert.deepEqual(first.nat.map((n) => `${n.kind} ${addressesOf(n.before)} → ${addressesOf(n.after)}`), [
      'DNAT 10.132.0.10:47162 > 10.135.242.17:80 → 10.132.0.10:47162 > 10.132.0.5:8080',
    ])
    assert.equal(first.assumptions.length, 1)
  })

  it('NodePort from outside: KUBE-MARK-MASQ\'s mark set in nat PREROUTING is seen by filter FORWARD and KUBE-POSTROUTING, which masquerades', () => {
    const outcomes = node(packet({src: '35.10.0.9', dst: '10.209.0.2', dstPort: 30080, inIface: 'eth0'}))
    assert.equal(outcomes.length, 3)
    const remote = outcomes[1] as Passed
    assert.equal(kindOf(remote), 'forwarded via eth0')
    assert.equal(addressesOf(remote.packet), '10.209.0.2:47162 > 10.132.1.7:8080')
    assert.deepEqual(remote.nat.map((n) => `${n.kind}${n.randomPort ? ' random port' : ''}`), ['DNAT', 'MASQUERADE random port'])
    assert.ok(hitsOf(remote).includes('KUBE-FORWARD#2'), 'accepted by the 0x4000 mark rule')
    // KUBE-POSTROUTING clears the bit again with --set-xmark 0x4000/0x0
    assert.equal(remote.packet.mark, 0)
    assert.ok(hitsOf(remote).includes('KUBE-POSTROUTING#3'))
  })

  it('delivers locally when DNAT points at the host (metadata proxy), through filter INPUT', () => {
    const outcome = only(node(packet({dst: '169.254.169.254', dstPort: 80})))
    assert.equal(kindOf(outcome), 'local')
    assert.equal(addressesOf(outcome.packet), '10.132.0.10:47162 > 169.254.169.252:988')
    assert.ok(outcome.hits.some((h) => h.table === 'filter' && h.chain === 'INPUT'))
  })

  it('rejects a ClusterIP without endpoints in filter FORWARD (kube-proxy\'s REJECT rule)', () => {
    assert.deepEqual(node(packet({dst: '10.135.240.99', dstPort: 80})).map(kindOf), ['dropped in FORWARD by KUBE-SERVICES#1'])
    const rejected = only(node(packet({dst: '10.135.240.99', dstPort: 80})))
    assert.equal(rejected.kind === 'dropped' && rejected.verdict, 'REJECT')
  })

  it('drops a packet that is not for the host when ip_forward is off', () => {
    const outcome = only(node(packet({dst: '8.8.8.8'}), {ipForward: false}))
    assert.equal(kindOf(outcome), 'dropped in FORWARD by ip_forward=0')
  })

  it('answers no-route when routing has nothing for the destination', () => {
    const outcome = only(gateway(packet({src: '10.120.0.9', dst: '192.0.2.10', inIface: 'nic1'})))
    assert.equal(outcome.kind, 'no-route')
  })

  it('applies the FORWARD policy of a gateway and its allow-list chain, with marks from mangle PREROUTING', () => {
    const from = (src: string, dport: number): string => kindOf(only(gateway(packet({src, dst: '10.210.200.7', dstPort: dport, inIface: 'nic1'}))))
    assert.equal(from('10.120.3.4', 22), 'forwarded via nic0')
    assert.equal(from('10.138.0.5', 8050), 'forwarded via nic0')
    assert.equal(from('10.138.0.5', 22), 'dropped in FORWARD by FORWARD policy')
    // 5432 is allowed only by the mark set in mangle PREROUTING for traffic entering on nic1
    assert.equal(from('192.168.1.1', 5432), 'forwarded via nic0')
    const fromShared = only(gateway(packet({src: '10.210.200.9', dst: '10.138.0.5', dstPort: 5432, inIface: 'nic0'})))
    assert.equal(kindOf(fromShared), 'dropped in FORWARD by FORWARD policy')
  })

  it('masquerades cluster-1 pods towards the shared VPC and DNATs the gateway\'s port 8080 to the load balancer', () => {
    const pod = only(gateway(packet({src: '10.120.3.4', dst: '10.138.0.10', dstPort: 8080, inIface: 'nic1'})))
    assert.equal(kindOf(pod), 'forwarded via nic0')
    assert.equal(addressesOf(pod.packet), '10.210.200.2:47162 > 10.210.200.7:80')
    assert.deepEqual(pod.kind === 'forwarded' && pod.nat.map((n) => n.kind), ['DNAT', 'MASQUERADE'])
  })

  it('re-routes a locally generated packet after a DNAT in nat OUTPUT, then SNATs it in POSTROUTING', () => {
    const outcome = only(gateway(packet({src: '10.138.0.10', dst: '10.138.0.10', dstPort: 8080, inIface: undefined}), 'local'))
    assert.equal(kindOf(outcome), 'sent via nic0')
    assert.equal(addressesOf(outcome.packet), '10.210.200.2:47162 > 10.210.200.7:80')
    assert.deepEqual(outcome.kind === 'sent' && outcome.nat.map((n) => n.kind), ['DNAT', 'SNAT'])
  })

  it('drops a locally generated packet rejected in filter OUTPUT', () => {
    const outcome = only(gateway(packet({src: '10.210.200.2', dst: '8.8.8.8', dstPort: 25, inIface: undefined}), 'local'))
    assert.equal(kindOf(outcome), 'dropped in OUTPUT by OUTPUT#1')
  })

  it('delivers a locally generated packet to a local address through the loopback path (no NAT there)', () => {
    const outcome = only(runPipeline({ruleset: fixture('kubenet.txt'), host: nodeHost, origin: 'local', packet: packet({src: '10.209.0.2', dst: '10.132.0.1', inIface: undefined}), ipForward: true, route: nodeRoute}))
    assert.equal(kindOf(outcome), 'local')
    assert.equal(outcome.packet.inIface, 'lo')
    assert.equal(addressesOf(outcome.packet), '10.209.0.2:47162 > 10.132.0.1:32191')
  })

  it('masquerades a node\'s own packet only as the IP-MASQ rules say (SNAT-06: no source match)', () => {
    const send = (dst: string): string => {
      const outcome = only(runPipeline({ruleset: fixture('ip-masq-agent.txt'), host: nodeHost, origin: 'local', packet: packet({src: '10.209.0.2', dst, inIface: undefined}), ipForward: true, route: nodeRoute}))
      return `${kindOf(outcome)} ${outcome.kind === 'sent' ? outcome.nat.map((n) => n.kind).join(',') : ''}`
    }
    assert.equal(send('8.8.8.8'), 'sent via eth0 MASQUERADE')
    assert.equal(send('10.209.5.5'), 'sent via eth0 ')
  })

  it('undoes NAT on a reply: the destination before routing, the source after POSTROUTING', () => {
    const reply = packet({src: '8.8.8.8', srcPort: 443, dst: '10.209.0.2', dstPort: 47162, inIface: 'eth0', ctstate: 'ESTABLISHED'})
    const outcome = only(node(reply, {reply: {restoreDst: {ip: ip('10.132.0.10'), port: 47162}}}))
    assert.equal(kindOf(outcome), 'forwarded via cbr0')
    assert.equal(addressesOf(outcome.packet), '8.8.8.8:443 > 10.132.0.10:47162')
    assert.ok(hitsOf(outcome).includes('KUBE-FORWARD#3'), 'accepted as ESTABLISHED')
    const dnatReply = only(node(packet({src: '10.132.0.5', srcPort: 8080, dst: '10.132.0.10', ctstate: 'ESTABLISHED'}), {reply: {restoreSrc: {ip: ip('10.135.242.17'), port: 80}}}))
    assert.equal(addressesOf(dnatReply.packet), '10.135.242.17:80 > 10.132.0.10:32191')
  })

  it('reports an undecidable rule with the hook it sits in', () => {
    const ruleset = load(table('filter', ['-A FORWARD -m physdev --physdev-is-bridged -j DROP']))
    const outcome = only(runPipeline({ruleset, host: nodeHost, origin: 'arriving', packet: packet(), ipForward: true, route: nodeRoute}))
    assert.equal(kindOf(outcome), 'unknown in FORWARD at FORWARD#1')
  })

  it('accepts everything when the host has no rules at all', () => {
    const outcome = only(runPipeline({ruleset: load(''), host: nodeHost, origin: 'arriving', packet: packet(), ipForward: true, route: nodeRoute}))
    assert.equal(kindOf(outcome), 'forwarded via eth0')
    assert.deepEqual(outcome.hits, [])
  })
})
