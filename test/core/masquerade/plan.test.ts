/**
 * src/core/masquerade/plan.ts over hand-built MasqueradeState objects: which way the cluster
 * does SNAT decides the mode (SNAT-01/09/11/12/15), and add/remove plan creates, updates and
 * deletes so that a second run plans nothing. SNAT-17: the cluster's own ranges are refused.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {XccError} from '../../../src/core/errors.js'
import {parseAgentConfig} from '../../../src/core/topology/ip-masq-agent.js'
import {ORIGINAL_ANNOTATION} from '../../../src/core/masquerade/agent-edit.js'
import {CIDRS_ANNOTATION, daemonSetCidrs} from '../../../src/core/masquerade/daemonset.js'
import {type AddOptions, type MasqueradePlan, type ObjectChange, SPEC_HASH_ANNOTATION, chooseMode, planAdd, planChanges, planRemove} from '../../../src/core/masquerade/plan.js'
import type {MasqueradeState} from '../../../src/core/masquerade/state.js'
import {agentFlagsOf} from '../../../src/core/masquerade/state.js'
import {cidr, ip} from '../../../src/core/net/ipv4.js'
import type {KubeConfigMap, KubeDaemonSet} from '../../../src/core/ports/kube.js'

const SETTINGS = {image: 'example.com/net:1', script: 'echo xcc-masquerade'}
const OPTIONS: AddOptions = {mode: 'auto', daemonSet: SETTINGS, force: false}

const baseState: MasqueradeState = {
  context: 'frontend',
  nodes: [
    {name: 'node-a', podCidr: cidr('10.132.0.0/24'), internalIp: ip('10.209.0.2'), ready: true},
    {name: 'node-b', podCidr: cidr('10.132.1.0/24'), internalIp: ip('10.209.0.3'), ready: true},
  ],
  own: {
    podRanges: [{cidr: cidr('10.132.0.0/24'), node: 'node-a'}, {cidr: cidr('10.132.1.0/24'), node: 'node-b'}],
    nodeAddresses: [{cidr: cidr('10.209.0.2/32'), node: 'node-a'}, {cidr: cidr('10.209.0.3/32'), node: 'node-b'}],
    serviceAddresses: [{cidr: cidr('10.135.240.1/32'), service: 'default/kubernetes'}],
  },
  anetd: false,
}

function agentDaemonSet(args: readonly string[]): KubeDaemonSet {
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet',
    metadata: {name: 'ip-masq-agent', namespace: 'kube-system'},
    spec: {selector: {matchLabels: {'k8s-app': 'ip-masq-agent'}}, template: {metadata: {labels: {'k8s-app': 'ip-masq-agent'}}, spec: {containers: [{name: 'ip-masq-agent', image: 'registry.k8s.io/networking/ip-masq-agent:v2.9.3', args}]}}},
  }
}

const agentConfigMap = (config: string, annotations?: Record<string, string>): KubeConfigMap => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'ip-masq-agent', namespace: 'kube-system', resourceVersion: '12', ...(annotations ? {annotations} : {})}, data: {config},
})

/** what the API server returns for an object xcc created: server fields and defaults added */
function live(ds: KubeDaemonSet, resourceVersion = '101'): KubeDaemonSet {
  return {
    ...ds,
    metadata: {...ds.metadata, uid: 'u-1', resourceVersion, generation: 1, creationTimestamp: '2026-01-01T00:00:00Z'},
    spec: {...ds.spec, template: {...ds.spec.template, spec: {...ds.spec.template.spec, restartPolicy: 'Always'}}},
    status: {desiredNumberScheduled: 2, numberReady: 2},
  }
}

const only = (plan: MasqueradePlan): ObjectChange => {
  assert.equal(plan.changes.length, 1, JSON.stringify(plan.changes.map((c) => `${c.kind} ${c.action}`)))
  return plan.changes[0] as ObjectChange
}

function dsAfter(change: ObjectChange): KubeDaemonSet {
  assert.equal(change.kind, 'DaemonSet')
  if (change.kind !== 'DaemonSet' || !change.after) assert.fail('no DaemonSet after the change')
  return change.after
}

function cmAfter(change: ObjectChange): KubeConfigMap {
  assert.equal(change.kind, 'ConfigMap')
  if (change.kind !== 'ConfigMap' || !change.after) assert.fail('no ConfigMap after the change')
  return change.after
}

describe('chooseMode (auto): how the cluster does SNAT decides', () => {
  const annotatedCm = agentConfigMap('nonMasqueradeCIDRs: [10.0.0.0/9]\n', {[ORIGINAL_ANNOTATION]: '{"existed":false}', [CIDRS_ANNOTATION]: '10.193.0.0/16'})
  const full: MasqueradeState = {
    ...baseState,
    xccDaemonSet: live({apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: {name: 'xcc-masquerade', namespace: 'kube-system'}, spec: agentDaemonSet([]).spec}),
    agentConfigMap: annotatedCm,
    agentDaemonSet: agentDaemonSet(['--masq-chain=IP-MASQ']),
    anetd: true,
  }
  const steps: Array<[string, MasqueradeState, 'daemonset' | 'ip-masq-agent', RegExp]> = [
    ['xcc\'s DaemonSet runs', full, 'daemonset', /xcc's DaemonSet kube-system\/xcc-masquerade already runs/],
    ['xcc already edits the ConfigMap', {...full, xccDaemonSet: undefined}, 'ip-masq-agent', /xcc already edits kube-system\/ip-masq-agent/],
    ['the ip-masq-agent DaemonSet (SNAT-12)', {...full, xccDaemonSet: undefined, agentConfigMap: agentConfigMap('resyncInterval: 60s\n')}, 'ip-masq-agent', /SNAT-12/],
    ['anetd: Dataplane V2 reads the ConfigMap (SNAT-15)', {...full, xccDaemonSet: undefined, agentConfigMap: agentConfigMap('resyncInterval: 60s\n'), agentDaemonSet: undefined}, 'ip-masq-agent', /SNAT-15/],
    ['a ConfigMap alone (SNAT-01)', {...full, xccDaemonSet: undefined, agentConfigMap: agentConfigMap('resyncInterval: 60s\n'), agentDaemonSet: undefined, anetd: false}, 'ip-masq-agent', /SNAT-01/],
    ['nothing: the node rules (SNAT-09/11) → xcc\'s DaemonSet', baseState, 'daemonset', /SNAT-09\/SNAT-11/],
  ]
  for (const [name, state, mode, why] of steps) {
    it(`${name} → ${mode}`, () => {
      const chosen = chooseMode(state, 'auto')
      assert.equal(chosen.mode, mode)
      assert.match(chosen.why, why)
    })
  }

  it('an explicit --mode wins over every signal', () => {
    for (const [, state] of steps) {
      assert.deepEqual(chooseMode(state, 'daemonset'), {mode: 'daemonset', why: '--mode daemonset'})
      assert.deepEqual(chooseMode(state, 'ip-masq-agent'), {mode: 'ip-masq-agent', why: '--mode ip-masq-agent'})
    }
  })
})

describe('planAdd / planRemove with xcc\'s DaemonSet', () => {
  it('a cluster without any SNAT object: create the DaemonSet with the range, hash annotation', () => {
    const plan = planAdd(baseState, [cidr('10.193.0.0/16')], OPTIONS)
    assert.equal(plan.mode, 'daemonset')
    assert.deepEqual(plan.cidrs, ['10.193.0.0/16'])
    assert.deepEqual(plan.alreadyMasqueraded, [])
    const change = only(plan)
    assert.equal(change.action, 'create')
    assert.equal(change.before, undefined)
    assert.equal(change.namespace, 'kube-system')
    assert.equal(change.name, 'xcc-masquerade')
    const ds = dsAfter(change)
    assert.deepEqual(daemonSetCidrs(ds), ['10.193.0.0/16'])
    assert.match(ds.metadata.annotations?.[SPEC_HASH_ANNOTATION] ?? '', /^\S+$/)
    assert.equal(ds.spec.template.spec.containers[0]?.image, SETTINGS.image)
    assert.equal(ds.spec.template.spec.containers[0]?.command?.[2], SETTINGS.script)
    assert.deepEqual(planChanges(plan), plan.changes)
  })

  it('a second add with the same ranges plans nothing (server fields and defaults on the live object do not matter)', () => {
    const first = dsAfter(only(planAdd(baseState, [cidr('10.193.0.0/16'), cidr('10.194.0.0/16')], OPTIONS)))
    const state = {...baseState, xccDaemonSet: live(first)}
    for (const again of [['10.193.0.0/16', '10.194.0.0/16'], ['10.194.0.0/16'], ['10.193.0.0/16']]) {
      const plan = planAdd(state, again.map((c) => cidr(c)), OPTIONS)
      assert.equal(only(plan).action, 'none', again.join(','))
      assert.deepEqual(plan.cidrs, ['10.193.0.0/16', '10.194.0.0/16'])
      assert.deepEqual(planChanges(plan), [])
    }
  })

  it('adding another range updates the DaemonSet, keeping the live resourceVersion (optimistic replace) and the order', () => {
    const first = dsAfter(only(planAdd(baseState, [cidr('10.193.0.0/16')], OPTIONS)))
    const state = {...baseState, xccDaemonSet: live(first, '555')}
    const plan = planAdd(state, [cidr('172.20.0.0/16')], OPTIONS)
    const change = only(plan)
    assert.equal(change.action, 'update')
    assert.equal(change.before, state.xccDaemonSet)
    const ds = dsAfter(change)
    assert.equal(ds.metadata.resourceVersion, '555')
    assert.deepEqual(daemonSetCidrs(ds), ['10.193.0.0/16', '172.20.0.0/16'])
    assert.deepEqual(plan.cidrs, ['10.193.0.0/16', '172.20.0.0/16'])
    assert.equal(ds.spec.template.spec.containers[0]?.env?.find((e) => e.name === 'XCC_MASQ_CIDRS')?.value, '10.193.0.0/16,172.20.0.0/16')
    assert.notEqual(ds.metadata.annotations?.[SPEC_HASH_ANNOTATION], first.metadata.annotations?.[SPEC_HASH_ANNOTATION])
  })

  it('--image (or a new script) changes the spec: update, even with the same ranges', () => {
    const first = dsAfter(only(planAdd(baseState, [cidr('10.193.0.0/16')], OPTIONS)))
    const state = {...baseState, xccDaemonSet: live(first)}
    const image = only(planAdd(state, [cidr('10.193.0.0/16')], {...OPTIONS, daemonSet: {...SETTINGS, image: 'example.com/net:2'}}))
    assert.equal(image.action, 'update')
    assert.equal(dsAfter(image).spec.template.spec.containers[0]?.image, 'example.com/net:2')
    const script = only(planAdd(state, [cidr('10.193.0.0/16')], {...OPTIONS, daemonSet: {...SETTINGS, script: 'echo v2'}}))
    assert.equal(script.action, 'update')
  })

  it('remove one of two ranges updates; removing the last deletes; remove --all deletes', () => {
    const first = dsAfter(only(planAdd(baseState, [cidr('10.193.0.0/16'), cidr('172.20.0.0/16')], OPTIONS)))
    const state = {...baseState, xccDaemonSet: live(first, '9')}
    const one = planRemove(state, [cidr('10.193.0.0/16')], SETTINGS.script)
    assert.equal(one.mode, 'daemonset')
    assert.equal(only(one).action, 'update')
    assert.deepEqual(daemonSetCidrs(dsAfter(only(one))), ['172.20.0.0/16'])
    assert.deepEqual(one.cidrs, ['172.20.0.0/16'])
    assert.equal(dsAfter(only(one)).metadata.resourceVersion, '9')

    const afterOne = {...baseState, xccDaemonSet: live(dsAfter(only(one)), '10')}
    const last = planRemove(afterOne, [cidr('172.20.0.0/16')], SETTINGS.script)
    assert.equal(only(last).action, 'delete')
    assert.equal(only(last).after, undefined)
    assert.deepEqual(last.cidrs, [])

    const all = planRemove(state, 'all', SETTINGS.script)
    assert.equal(only(all).action, 'delete')
  })

  it('remove keeps the image the DaemonSet runs (not the default image of this xcc)', () => {
    const first = dsAfter(only(planAdd(baseState, [cidr('10.193.0.0/16'), cidr('172.20.0.0/16')], {...OPTIONS, daemonSet: {...SETTINGS, image: 'mirror.local/net:7'}})))
    const plan = planRemove({...baseState, xccDaemonSet: live(first)}, [cidr('10.193.0.0/16')], SETTINGS.script)
    assert.equal(dsAfter(only(plan)).spec.template.spec.containers[0]?.image, 'mirror.local/net:7')
  })

  it('remove of a range xcc does not masquerade is exit 2 naming it and what xcc manages', () => {
    const first = dsAfter(only(planAdd(baseState, [cidr('10.193.0.0/16')], OPTIONS)))
    assert.throws(() => planRemove({...baseState, xccDaemonSet: live(first)}, [cidr('10.50.0.0/16')], SETTINGS.script), (e: unknown) =>
      e instanceof XccError && e.exitCode === 2 && /--cidr 10\.50\.0\.0\/16/.test(e.message) && /it masquerades 10\.193\.0\.0\/16/.test(e.message) && /"frontend"/.test(e.message))
    assert.throws(() => planRemove(baseState, [cidr('10.50.0.0/16')], SETTINGS.script), (e: unknown) => e instanceof XccError && /masquerades no ranges there/.test(e.message))
  })

  it('remove --all where xcc manages nothing plans nothing', () => {
    const plan = planRemove(baseState, 'all', SETTINGS.script)
    assert.deepEqual(plan.changes, [])
    assert.deepEqual(plan.cidrs, [])
  })
})

describe('xcc\'s bookkeeping edited by hand', () => {
  it('a range annotation that is not a CIDR is bad input naming the object (exit 2), not a crash', () => {
    const ds = live(dsAfter(only(planAdd(baseState, [cidr('10.193.0.0/16')], OPTIONS))))
    const tampered: KubeDaemonSet = {...ds, metadata: {...ds.metadata, annotations: {...ds.metadata.annotations, [CIDRS_ANNOTATION]: '10.193.0.0/16,banana'}}}
    const state = {...baseState, xccDaemonSet: tampered}
    for (const run of [() => planAdd(state, [cidr('10.194.0.0/16')], OPTIONS), () => planRemove(state, 'all', SETTINGS.script)]) {
      assert.throws(run, (e: unknown) => e instanceof XccError && e.exitCode === 2 && /DaemonSet kube-system\/xcc-masquerade: annotation xcc.dev\/masquerade-cidrs holds "banana", not a CIDR/.test(e.message))
    }
    const cm: KubeConfigMap = {metadata: {name: 'ip-masq-agent', namespace: 'kube-system', annotations: {[CIDRS_ANNOTATION]: '10.193.0.1/16', [ORIGINAL_ANNOTATION]: '{"existed":false}'}}, data: {config: 'nonMasqueradeCIDRs: []\n'}}
    assert.throws(() => planRemove({...baseState, agentConfigMap: cm}, 'all', SETTINGS.script), (e: unknown) => e instanceof XccError && e.exitCode === 2 && /ConfigMap kube-system\/ip-masq-agent: annotation .* holds "10\.193\.0\.1\/16"/.test(e.message))
  })
})

describe('planAdd / planRemove through the ip-masq-agent ConfigMap', () => {
  it('SNAT-07/12: the ConfigMap is created from the defaults of the flags the agent runs with', () => {
    const upstream = planAdd({...baseState, agentDaemonSet: agentDaemonSet(['--masq-chain=IP-MASQ-AGENT'])}, [cidr('10.193.0.0/16')], OPTIONS)
    assert.equal(upstream.mode, 'ip-masq-agent')
    const change = only(upstream)
    assert.equal(change.kind, 'ConfigMap')
    assert.equal(change.action, 'create')
    const state = {...baseState, agentDaemonSet: agentDaemonSet(['--masq-chain=IP-MASQ-AGENT'])}
    const parsed = parseAgentConfig(cmAfter(change).data?.config, agentFlagsOf(state))
    assert.ok(parsed.ok)
    if (parsed.ok) assert.deepEqual(parsed.config.nonMasqueradeCIDRs.slice(-2), ['172.16.0.0/12', '192.168.0.0/16'])
    if (parsed.ok) assert.equal(parsed.config.nonMasqueradeCIDRs.length, 10)
    // anetd (no agent DaemonSet to read flags from): GKE's flags, the 11-range list
    const gke = only(planAdd({...baseState, anetd: true}, [cidr('10.193.0.0/16')], OPTIONS))
    assert.equal(gke.action, 'create')
    assert.match(cmAfter(gke).data?.config ?? '', /240\.0\.0\.0\/4/)
  })

  it('an existing ConfigMap is updated; the same add again plans none; a range already masqueraded is reported', () => {
    const cm = agentConfigMap('nonMasqueradeCIDRs: [10.0.0.0/8, 192.168.0.0/16]\n')
    const state = {...baseState, agentConfigMap: cm, agentDaemonSet: agentDaemonSet(['--masq-chain=IP-MASQ', '--nomasq-all-reserved-ranges'])}
    const first = planAdd(state, [cidr('10.193.0.0/16')], OPTIONS)
    const change = only(first)
    assert.equal(change.action, 'update')
    assert.equal(change.before, cm)
    assert.equal(change.after?.metadata.resourceVersion, '12')
    const again = planAdd({...state, agentConfigMap: change.after as KubeConfigMap}, [cidr('10.193.0.0/16')], OPTIONS)
    assert.equal(only(again).action, 'none')
    const already = planAdd(state, [cidr('35.199.192.0/19')], OPTIONS)
    assert.equal(only(already).action, 'none')
    assert.deepEqual(already.alreadyMasqueraded, ['35.199.192.0/19'])
  })

  it('remove through the ConfigMap: one of two updates, the last restores the original (update), a created one is deleted', () => {
    const cm = agentConfigMap('nonMasqueradeCIDRs: [10.0.0.0/8, 192.168.0.0/16]\n', {team: 'net'})
    const state = {...baseState, agentConfigMap: cm, agentDaemonSet: agentDaemonSet(['--masq-chain=IP-MASQ', '--nomasq-all-reserved-ranges'])}
    const added = only(planAdd(state, [cidr('10.193.0.0/16'), cidr('192.168.50.0/24')], OPTIONS)).after as KubeConfigMap
    const withBoth = {...state, agentConfigMap: added}
    const one = planRemove(withBoth, [cidr('10.193.0.0/16')], SETTINGS.script)
    assert.equal(one.mode, 'ip-masq-agent')
    assert.equal(only(one).action, 'update')
    assert.deepEqual(one.cidrs, ['192.168.50.0/24'])
    const all = planRemove(withBoth, 'all', SETTINGS.script)
    assert.equal(only(all).action, 'update')
    assert.equal(cmAfter(only(all)).data?.config, cm.data?.config)
    const created = only(planAdd({...baseState, anetd: true}, [cidr('10.193.0.0/16')], OPTIONS)).after as KubeConfigMap
    const del = planRemove({...baseState, anetd: true, agentConfigMap: created}, [cidr('10.193.0.0/16')], SETTINGS.script)
    assert.equal(only(del).action, 'delete')
  })
})

describe('SNAT-17 own-range refusal in planAdd (before any mode is chosen)', () => {
  const cases: Array<[string, RegExp]> = [
    ['10.132.0.0/16', /pod range 10\.132\.0\.0\/24 of node node-a/],
    ['10.132.1.128/25', /overlaps the pod range 10\.132\.1\.0\/24/],
    ['10.209.0.0/24', /contains node node-a/],
    ['10.135.240.0/24', /ClusterIP 10\.135\.240\.1\/32 of service default\/kubernetes/],
  ]
  for (const [range, pattern] of cases) {
    it(`SNAT-17: --cidr ${range} is refused in both modes`, () => {
      for (const state of [baseState, {...baseState, anetd: true}]) {
        assert.throws(() => planAdd(state, [cidr('10.193.0.0/16'), cidr(range)], OPTIONS), (e: unknown) => e instanceof XccError && e.exitCode === 2 && pattern.test(e.message) && /"frontend"/.test(e.message))
      }
    })
  }
})
