/**
 * The live prediction of the source node's SNAT: from the node's `iptables-save -t nat` (SNAT-14),
 * and on GKE Dataplane V2 from the ip-masq-agent ConfigMap plus GKE's defaults, whatever the
 * node's iptables say (SNAT-15, SNAT-03 overlay, SNAT-04 invalid config, SNAT-12 default list).
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {type LiveSourceInput, traceLiveSource} from '../../../src/core/probe/live-trace.js'
import {ip} from '../../../src/core/net/ipv4.js'
import type {Step} from '../../../src/core/trace/types.js'

/** kubenet-like rules that masquerade everything: DPv2 must not believe them */
const MASQUERADE_ALL = ['*nat', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING -m addrtype ! --dst-type LOCAL -j MASQUERADE', 'COMMIT', ''].join('\n')

function input(dst: string, dataplaneV2?: {config?: string}, natRules: string | undefined = MASQUERADE_ALL): LiveSourceInput {
  return {
    pod: {context: 'ctx', namespace: 'default', name: 'probe'},
    node: {name: 'n1', addresses: [ip('10.1.0.2')], podCidr: '10.4.0.0/24', routes: ['default via 10.1.0.1 dev eth0', '10.4.0.0/24 dev cbr0'], ...(natRules ? {natRules} : {})},
    packet: {src: ip('10.4.0.9'), dst: ip(dst), protocol: 'tcp', srcPort: 45000, dstPort: 80},
    hostNetwork: false,
    ...(dataplaneV2 ? {dataplaneV2} : {}),
  }
}

const snat = (steps: readonly Step[]): Step => steps.find((s) => s.step === 'NAT' || s.step === 'SKIP_GKE_POD_IP_MASQUERADING' || s.step === 'ABORT') as Step

describe('SNAT-14: without Dataplane V2 the node\'s iptables decide', () => {
  it('a POSTROUTING MASQUERADE masquerades to the node address', () => {
    const s = snat(traceLiveSource(input('10.200.0.5')))
    assert.deepEqual([s.step, s.nat?.after.src], ['NAT', '10.1.0.2'])
  })
})

describe('SNAT-15: on GKE Dataplane V2 the ip-masq-agent ConfigMap decides, not iptables', () => {
  it('no ConfigMap: GKE\'s default list keeps 10/8 unmasqueraded (SNAT-12) although iptables would masquerade', () => {
    const s = snat(traceLiveSource(input('10.200.0.5', {})))
    assert.deepEqual([s.step, s.reason, s.nonMasqueradeRange], ['SKIP_GKE_POD_IP_MASQUERADING', 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE', '10.0.0.0/8'])
    assert.match(s.detail, /Dataplane V2/)
  })

  it('no ConfigMap: a destination outside the defaults is masqueraded to the node\'s InternalIP, source port unpredictable', () => {
    const steps = traceLiveSource(input('35.199.192.5', {}, undefined))
    const s = snat(steps)
    assert.deepEqual([s.step, s.nat?.type, s.nat?.before.src, s.nat?.after.src, s.nat?.randomPort], ['NAT', 'GKE_POD_IP_MASQUERADING', '10.4.0.9', '10.1.0.2', true])
    assert.equal(steps[steps.length - 1]?.step, 'ABORT', 'the VPC part stays unknown without cloud facts')
  })

  it('a listed range is CONFIGURED; a list that leaves the destination out masquerades it (SNAT-03: the list replaces the defaults)', () => {
    const listed = snat(traceLiveSource(input('10.200.0.5', {config: 'nonMasqueradeCIDRs: [10.200.0.0/16]\n'})))
    assert.deepEqual([listed.reason, listed.nonMasqueradeRange], ['DESTINATION_IP_IN_CONFIGURED_NON_MASQUERADE_RANGE', '10.200.0.0/16'])
    const replaced = snat(traceLiveSource(input('10.3.0.5', {config: 'nonMasqueradeCIDRs: [10.200.0.0/16]\n'})))
    assert.equal(replaced.step, 'NAT')
    const empty = snat(traceLiveSource(input('10.3.0.5', {config: 'nonMasqueradeCIDRs: []\n'})))
    assert.equal(empty.step, 'NAT')
  })

  it('a ConfigMap without nonMasqueradeCIDRs keeps the default list (SNAT-03 overlay)', () => {
    const s = snat(traceLiveSource(input('172.16.3.4', {config: 'resyncInterval: 30s\n'})))
    assert.deepEqual([s.reason, s.nonMasqueradeRange], ['DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE', '172.16.0.0/12'])
  })

  it('link-local stays unmasqueraded unless masqLinkLocal', () => {
    assert.equal(snat(traceLiveSource(input('169.254.169.254', {config: 'nonMasqueradeCIDRs: []\n'}))).reason, 'DESTINATION_IP_IN_DEFAULT_NON_MASQUERADE_RANGE')
    assert.equal(snat(traceLiveSource(input('169.254.169.254', {config: 'nonMasqueradeCIDRs: []\nmasqLinkLocal: true\n'}))).step, 'NAT')
  })

  it('an invalid ConfigMap is not guessed at: the agent keeps an earlier config (SNAT-04), the prediction aborts', () => {
    const s = snat(traceLiveSource(input('10.200.0.5', {config: 'nonMasqueradeCIDRs: [10.200.0.1/16]\n'})))
    assert.equal(s.step, 'ABORT')
    assert.match(s.detail, /invalid .*SNAT-04/)
  })
})
