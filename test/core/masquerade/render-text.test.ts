/**
 * src/render/masquerade-text.ts on plans from src/core/masquerade/plan.ts: the dry-run diff, the
 * `-o yaml` manifests and the `list` table (goldens in test/golden/masquerade/, no colour), and
 * that server-side fields and defaults never show up as changes.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import type {MasqueradeListing} from '../../../src/core/masquerade/list.js'
import {type AddOptions, type MasqueradePlan, planAdd, planRemove} from '../../../src/core/masquerade/plan.js'
import type {MasqueradeState} from '../../../src/core/masquerade/state.js'
import {cidr, ip} from '../../../src/core/net/ipv4.js'
import type {KubeConfigMap, KubeDaemonSet} from '../../../src/core/ports/kube.js'
import {manifestOf, renderApplied, renderListing, renderPlanDiff, renderPlanYaml} from '../../../src/render/masquerade-text.js'
import {assertGoldenText} from '../../support/golden.js'

const SETTINGS = {image: 'nicolaka/netshoot:v0.13', script: 'echo xcc-masquerade'}
const OPTIONS: AddOptions = {mode: 'auto', daemonSet: SETTINGS, force: false}
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[/

const state: MasqueradeState = {
  context: 'frontend',
  nodes: [{name: 'node-a', podCidr: cidr('10.132.0.0/24'), internalIp: ip('10.209.0.2'), ready: true}],
  own: {podRanges: [{cidr: cidr('10.132.0.0/24'), node: 'node-a'}], nodeAddresses: [{cidr: cidr('10.209.0.2/32'), node: 'node-a'}], serviceAddresses: []},
  anetd: false,
}

/** the object as the API server returns it: server fields, defaults, status */
function live<T extends KubeDaemonSet | KubeConfigMap>(object: T): T {
  const withMeta = {...object, metadata: {...object.metadata, uid: 'a1b2', resourceVersion: '77', generation: 3, creationTimestamp: '2026-01-01T00:00:00Z', managedFields: [{manager: 'xcc'}]}}
  if (!('spec' in object)) return withMeta as T
  const ds = object as KubeDaemonSet
  return {...withMeta, spec: {...ds.spec, revisionHistoryLimit: 10, template: {...ds.spec.template, spec: {...ds.spec.template.spec, dnsPolicy: 'ClusterFirst', restartPolicy: 'Always'}}}, status: {numberReady: 1}} as unknown as T
}

const createPlan = planAdd(state, [cidr('10.193.0.0/16')], OPTIONS)
const createdDs = createPlan.changes[0]?.after as KubeDaemonSet
const updatePlan = planAdd({...state, xccDaemonSet: live(createdDs)}, [cidr('172.20.0.0/16')], OPTIONS)
const deletePlan = planRemove({...state, xccDaemonSet: live(createdDs)}, 'all', SETTINGS.script)
const nonePlan = planAdd({...state, xccDaemonSet: live(createdDs)}, [cidr('10.193.0.0/16')], OPTIONS)

const cm: KubeConfigMap = {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'ip-masq-agent', namespace: 'kube-system'}, data: {config: 'nonMasqueradeCIDRs:\n  - 10.0.0.0/8\n  - 192.168.0.0/16\nresyncInterval: 60s\n'}}
const agentState: MasqueradeState = {...state, agentConfigMap: live(cm), anetd: true}
const agentPlan = planAdd(agentState, [cidr('10.193.0.0/16'), cidr('35.199.192.0/19')], OPTIONS)

describe('renderPlanDiff (no colour)', () => {
  it('golden: create the DaemonSet', () => {
    const text = renderPlanDiff(createPlan, {color: false, verb: 'add'})
    assert.doesNotMatch(text, ANSI)
    assertGoldenText('masquerade/plan-create-daemonset.txt', text)
  })

  it('golden: update the DaemonSet for one more range — server fields, defaults and status are not shown as removals', () => {
    const text = renderPlanDiff(updatePlan, {color: false, verb: 'add'})
    for (const hidden of ['uid', 'managedFields', 'creationTimestamp', 'revisionHistoryLimit', 'dnsPolicy', 'restartPolicy', 'numberReady', 'generation']) {
      assert.ok(!text.includes(hidden), `${hidden} must not show in the diff`)
    }
    const changed = text.split('\n').filter((l) => /^[+-] /.test(l))
    // only the ranges (annotation and env) and the spec hash change
    assert.ok(changed.every((l) => /masquerade-cidrs|spec-hash|value: 10\.193\.0\.0\/16/.test(l)), changed.join('\n'))
    assertGoldenText('masquerade/plan-update-daemonset.txt', text)
  })

  it('golden: remove --all deletes the DaemonSet (every line removed)', () => {
    const text = renderPlanDiff(deletePlan, {color: false, verb: 'remove'})
    assert.match(text, /^delete DaemonSet kube-system\/xcc-masquerade$/m)
    assert.match(text, /^\+\+\+ \(deleted\)$/m)
    assert.ok(!text.split('\n').some((l) => l.startsWith('+ ')))
    assertGoldenText('masquerade/plan-delete-daemonset.txt', text)
  })

  it('the ip-masq-agent ConfigMap edit names the range the agent already masquerades', () => {
    assert.match(renderPlanDiff(agentPlan, {color: false, verb: 'add'}), /^ {2}35\.199\.192\.0\/19: already masqueraded by the ip-masq-agent's config/m)
  })

  it('the real DaemonSet script is folded to one line; an --image change shows only the image and the spec hash', () => {
    const script = readFileSync('templates/masquerade/xcc-masquerade.sh', 'utf8')
    const real = planAdd(state, [cidr('10.193.0.0/16')], {...OPTIONS, daemonSet: {...SETTINGS, script}})
    const text = renderPlanDiff(real, {color: false, verb: 'add'})
    assert.match(text, /^\+ +- '?<sh script: \d+ lines, \d+ bytes>'?$/m)
    assert.ok(!text.includes('reconcile()'))
    const running = live(real.changes[0]?.after as KubeDaemonSet)
    const image = planAdd({...state, xccDaemonSet: running}, [cidr('10.193.0.0/16')], {...OPTIONS, daemonSet: {script, image: 'nicolaka/netshoot:v0.14'}})
    const changed = renderPlanDiff(image, {color: false, verb: 'add'}).split('\n').filter((l) => /^[+-] /.test(l))
    assert.equal(changed.length, 4, changed.join('\n'))
    assert.ok(changed.every((l) => /image: nicolaka\/netshoot:v0\.1[34]$|spec-hash/.test(l)), changed.join('\n'))
  })

  it('no change: says what xcc already masquerades', () => {
    assert.equal(renderPlanDiff(nonePlan, {color: false, verb: 'add'}), `Context frontend: daemonset (xcc's DaemonSet kube-system/xcc-masquerade already runs in this cluster).\nNo change: xcc already masquerades 10.193.0.0/16.\n`)
  })

  it('colour only when asked', () => {
    assert.match(renderPlanDiff(createPlan, {color: true, verb: 'add'}), ANSI)
  })
})

describe('renderPlanYaml', () => {
  it('golden: the manifest to create, without server fields', () => {
    const text = renderPlanYaml(updatePlan)
    assert.ok(!/uid|managedFields|resourceVersion|status:/.test(text), text)
    assertGoldenText('masquerade/plan-update-daemonset.yaml', text)
  })

  it('a delete is a comment; no change at all says so; several changes are a YAML stream', () => {
    assert.equal(renderPlanYaml(deletePlan), '# DaemonSet kube-system/xcc-masquerade: delete\n')
    assert.equal(renderPlanYaml({...createPlan, changes: []}), '# nothing to change\n')
    const two: MasqueradePlan = {...createPlan, changes: [...createPlan.changes, ...agentPlan.changes]}
    assert.equal(renderPlanYaml(two).split('\n').filter((l) => l === '---').length, 1)
  })

  it('manifestOf strips status and server metadata only', () => {
    const m = manifestOf(live(createdDs)) as {metadata: Record<string, unknown>; status?: unknown; spec: unknown}
    assert.equal(m.status, undefined)
    for (const f of ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields']) assert.equal(m.metadata[f], undefined, f)
    assert.equal(m.metadata.name, 'xcc-masquerade')
  })
})

describe('regressions (src/render/masquerade-text.ts)', () => {
  it('the ip-masq-agent ConfigMap diff must show the config lines (nonMasqueradeCIDRs), not fold them as an "sh script"', () => {
    const text = renderPlanDiff(agentPlan, {color: false, verb: 'add'})
    assert.ok(!text.includes('<sh script'), text)
    assert.match(text, /^- +- 10\.0\.0\.0\/8$/m)
    assert.match(text, /^\+ +- 10\.0\.0\.0\/9$/m)
    assert.match(text, /^\+ +- 10\.194\.0\.0\/15$/m)
    // create it with UPDATE_GOLDEN=1 once fixed, and review it
    assertGoldenText('masquerade/plan-update-configmap.txt', text)
  })
})

describe('renderApplied', () => {
  it('what was done and how to check it', () => {
    const text = renderApplied(createPlan, [{kind: 'DaemonSet', namespace: 'kube-system', name: 'xcc-masquerade', action: 'create'}], {verb: 'add'})
    assert.match(text, /^created DaemonSet kube-system\/xcc-masquerade$/m)
    assert.match(text, /xcc now masquerades 10\.193\.0\.0\/16 in context frontend \(daemonset\)\./)
    assert.match(text, /xcc masquerade list --context frontend/)
    assert.match(renderApplied(nonePlan, [], {verb: 'add'}), /^No change in context frontend: xcc masquerades 10\.193\.0\.0\/16\.$/m)
  })

  it('a change whose answer was lost but which was read back in place: the warning under it', () => {
    const warning = 'the API\'s answer to the create was lost (socket hang up); read again, DaemonSet kube-system/xcc-masquerade holds what xcc wrote'
    const text = renderApplied(createPlan, [{kind: 'DaemonSet', namespace: 'kube-system', name: 'xcc-masquerade', action: 'create', rolledOut: true, detail: '1 of 1 nodes updated, 1 ready', warning}], {verb: 'add'})
    assert.match(text, /^created DaemonSet kube-system\/xcc-masquerade: 1 of 1 nodes updated, 1 ready\nwarning: the API's answer to the create was lost \(socket hang up\); read again, DaemonSet kube-system\/xcc-masquerade holds what xcc wrote\n/m)
  })
})

describe('renderListing (no colour)', () => {
  const listing: MasqueradeListing = {
    context: 'frontend',
    managedBy: ['daemonset'],
    cidrs: ['10.193.0.0/16', '172.20.0.0/16'],
    drift: true,
    nodes: [
      {node: 'node-a', ready: true, podIp: '10.132.0.10', daemonPod: {name: 'xcc-masquerade-abcde', phase: 'Running'}, cidrs: [
        {cidr: '10.193.0.0/16', decision: 'masquerade', rule: {chain: 'XCC-MASQ', line: 7, text: '-d 10.193.0.0/16 -m comment --comment "xcc-masquerade: 10.193.0.0/16" -j MASQUERADE --random-fully'}, detail: 'masqueraded'},
        {cidr: '172.20.0.0/16', decision: 'masquerade', rule: {chain: 'XCC-MASQ', line: 8, text: '-d 172.20.0.0/16 -m comment --comment "xcc-masquerade: 172.20.0.0/16" -j MASQUERADE --random-fully'}, detail: 'masqueraded'},
      ]},
      {node: 'node-b', ready: true, podIp: '10.132.1.10', cidrs: [
        {cidr: '10.193.0.0/16', decision: 'pod-ip', rule: {chain: 'IP-MASQ', line: 95, text: '-d 10.0.0.0/8 -j RETURN'}, detail: 'leaves with the pod address'},
        {cidr: '172.20.0.0/16', decision: 'partial', detail: 'only part of the range is masqueraded (172.20.255.254 is)'},
      ]},
      {node: 'node-c', ready: false, error: 'pod kube-system/xcc-node-rules-r-2: not scheduled', cidrs: [
        {cidr: '10.193.0.0/16', decision: 'unknown', detail: 'not read'},
        {cidr: '172.20.0.0/16', decision: 'unknown', detail: 'not read'},
      ]},
    ],
  }

  it('golden: per node and range, the decision and the rule that decided; drift, unreadable nodes and missing pods called out', () => {
    const text = renderListing(listing, {color: false})
    assert.doesNotMatch(text, ANSI)
    assert.match(text, /POD IP KEPT/)
    assert.match(text, /Drift: some nodes do not masquerade every range \(exit 1\)\./)
    assert.match(text, /node node-b: no xcc-masquerade pod runs there/)
    assert.match(text, /node node-c: its rules could not be read/)
    assertGoldenText('masquerade/list.txt', text)
  })

  it('no drift, and nothing managed', () => {
    const clean: MasqueradeListing = {...listing, drift: false, nodes: [listing.nodes[0]!]}
    assert.match(renderListing(clean, {color: false}), /Every node masquerades every range\.\n$/)
    assert.equal(renderListing({context: 'x', managedBy: [], cidrs: [], nodes: [], drift: false}, {color: false}), 'Context x: xcc masquerades nothing.\n')
  })
})
