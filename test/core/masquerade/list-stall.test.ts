/**
 * `xcc masquerade list` when the API server stalls (issue 13): every wait is bounded (the pod's
 * start deadline, each call — create, poll, log read — and the cleanup), and on any failure,
 * timeout or interrupt the pods the run created are removed with a bounded delete; when that
 * delete fails too, the error names the exact command that removes them (the run's label
 * selector, quoted for the shell). Real timers: a stall is really waited out, briefly.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {InterruptedError, XccError} from '../../../src/core/errors.js'
import {CIDRS_ANNOTATION} from '../../../src/core/masquerade/daemonset.js'
import {type ListRequest, listMasquerade} from '../../../src/core/masquerade/list.js'
import {type MasqueradeState, loadMasqueradeState} from '../../../src/core/masquerade/state.js'
import {renderListing} from '../../../src/render/masquerade-text.js'
import {FakeCluster, answered, realClock, stall} from './fake-cluster.js'

const NAT = ['=== xcc:iptables-nat', '*nat', ':POSTROUTING ACCEPT [0:0]', ':XCC-MASQ - [0:0]', '-A POSTROUTING -j XCC-MASQ', '-A XCC-MASQ -d 10.193.0.0/16 -j MASQUERADE', 'COMMIT', '=== xcc:end 0', ''].join('\n')
const SCRIPTS = {daemon: 'echo daemon', nodeRules: 'echo rules'}
const CLEANUP = 'kubectl --context fake -n kube-system delete pod -l app.kubernetes.io/managed-by=xcc,xcc.dev/run-id=a1b2c3d4'
/** each test ends long before node:test's own timeout: a hang fails it instead of the suite */
const BOUNDED = {timeout: 8000}

/** a cluster whose xcc DaemonSet masquerades 10.193.0.0/16 on two nodes, and whose node-rules pods print NAT */
async function setup(): Promise<{cluster: FakeCluster; state: MasqueradeState}> {
  const cluster = new FakeCluster()
  cluster.daemonSets.set('kube-system/xcc-masquerade', {
    metadata: {name: 'xcc-masquerade', namespace: 'kube-system', generation: 1, annotations: {[CIDRS_ANNOTATION]: '10.193.0.0/16'}},
    spec: {selector: {matchLabels: {'app.kubernetes.io/name': 'xcc-masquerade'}}, template: {metadata: {labels: {'app.kubernetes.io/name': 'xcc-masquerade'}}, spec: {containers: [{name: 'masquerade', image: 'img'}]}}},
  })
  cluster.podLog = () => NAT
  return {cluster, state: await loadMasqueradeState(cluster)}
}

const request: ListRequest = {runId: 'a1b2c3d4', image: 'img', extra: [], startDeadlineMs: 300, callTimeoutMs: 200, cleanupTimeoutMs: 300}

function list(cluster: FakeCluster, state: MasqueradeState, signal = new AbortController().signal, req: ListRequest = request) {
  const deps = {cluster, clock: realClock, signal, scripts: SCRIPTS, progress: () => {}}
  return listMasquerade(state, deps, req)
}

const nodeRulesPods = (cluster: FakeCluster): string[] => [...cluster.pods.keys()].filter((k) => k.includes('xcc-node-rules-'))

async function rejection<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof type, `expected a ${type.name}, got ${String(error)}`)
    return error
  }
  assert.fail('expected a rejection')
}

describe('masquerade list: bounded waits, and no pod left behind', () => {
  it('the healthy path reads both nodes and removes its pods', BOUNDED, async () => {
    const {cluster, state} = await setup()
    const listing = await list(cluster, state)
    assert.deepEqual(listing.nodes.map((n) => n.cidrs.map((c) => c.decision)), [['masquerade'], ['masquerade']])
    assert.deepEqual(nodeRulesPods(cluster), [])
  })

  it('the API stalls while xcc polls its pods: exit 3 within the deadlines, the pods removed', BOUNDED, async () => {
    const {cluster, state} = await setup()
    cluster.once('getPod', stall).once('getPod', stall)
    const started = Date.now()
    const error = await rejection(list(cluster, state), XccError)
    assert.equal(error.exitCode, 3)
    assert.match(error.message, /^the API server did not answer within 0\.2 s while reading pod kube-system\/xcc-node-rules-a1b2c3d4-[01]$/)
    assert.ok(error.details.includes('the 2 pods of this run were removed'), error.details.join(' | '))
    assert.ok(Date.now() - started < 3000, `bounded: ${Date.now() - started} ms`)
    assert.deepEqual(nodeRulesPods(cluster), [])
  })

  it('the API stalls on everything after the pods were created, the deletes too: exit 3 naming the cleanup command', BOUNDED, async () => {
    const {cluster, state} = await setup()
    cluster.always('getPod', stall).always('deletePod', stall)
    const started = Date.now()
    const error = await rejection(list(cluster, state), XccError)
    assert.equal(error.exitCode, 3)
    assert.match(error.message, /did not answer within 0\.2 s/)
    assert.ok(error.details.some((d) => /^could not remove the pods of this run: kube-system\/xcc-node-rules-a1b2c3d4-0, kube-system\/xcc-node-rules-a1b2c3d4-1 \(/.test(d)), error.details.join(' | '))
    assert.equal(error.hint, `remove them with: ${CLEANUP}`)
    assert.ok(Date.now() - started < 3000, `bounded: ${Date.now() - started} ms`)
    assert.equal(nodeRulesPods(cluster).length, 2, 'they are still there: the command is the way out')
  })

  it('every node read, but the deletes stall: the listing, with the pods left and the command that removes them', BOUNDED, async () => {
    const {cluster, state} = await setup()
    cluster.always('deletePod', stall)
    const listing = await list(cluster, state)
    assert.equal(listing.drift, false)
    assert.deepEqual(listing.leftovers?.pods, ['kube-system/xcc-node-rules-a1b2c3d4-0', 'kube-system/xcc-node-rules-a1b2c3d4-1'])
    assert.equal(listing.leftovers?.command, CLEANUP)
    assert.match(listing.leftovers?.why ?? '', /did not answer within 0\.3 s while deleting pod/)
    assert.match(renderListing(listing, {color: false}), /^xcc could not remove the pods of this run: kube-system\/xcc-node-rules-a1b2c3d4-0, kube-system\/xcc-node-rules-a1b2c3d4-1 \(.*\); remove them with: kubectl --context fake -n kube-system delete pod -l app\.kubernetes\.io\/managed-by=xcc,xcc\.dev\/run-id=a1b2c3d4$/m)
  })

  it('the cleanup command names --kubeconfig when one was given, each word quoted for the shell', BOUNDED, async () => {
    const {cluster, state} = await setup()
    cluster.always('getPod', stall).always('deletePod', stall)
    const error = await rejection(list(cluster, state, undefined, {...request, kubeconfig: '/tmp/my configs/k;1'}), XccError)
    assert.equal(error.hint, `remove them with: kubectl --kubeconfig '/tmp/my configs/k;1' --context fake -n kube-system delete pod -l app.kubernetes.io/managed-by=xcc,xcc.dev/run-id=a1b2c3d4`)
  })

  it('a create whose answer never comes (the pod may exist): the run stops, and that pod is removed too', BOUNDED, async () => {
    const {cluster, state} = await setup()
    cluster.always('createPod', async (run) => {
      await run()
      return stall()
    })
    const error = await rejection(list(cluster, state), XccError)
    assert.match(error.message, /did not answer within 0\.2 s while creating pod kube-system\/xcc-node-rules-a1b2c3d4-[01]/)
    assert.deepEqual(nodeRulesPods(cluster), [])
  })

  it('the log read stalls (the read deadline): exit 3, the pods removed', BOUNDED, async () => {
    const {cluster, state} = await setup()
    cluster.always('readPodLog', stall)
    const error = await rejection(list(cluster, state), XccError)
    assert.match(error.message, /did not answer within 0\.2 s while reading the log of pod kube-system\/xcc-node-rules-a1b2c3d4-[01]/)
    assert.deepEqual(nodeRulesPods(cluster), [])
  })

  it('an API error while polling (500): exit 3 with that error, the pods removed', BOUNDED, async () => {
    const {cluster, state} = await setup()
    cluster.once('getPod', async () => {
      throw answered(500, 'InternalError', 'reading pod kube-system/xcc-node-rules-a1b2c3d4-0 in context "fake" failed: etcd is down')
    })
    const error = await rejection(list(cluster, state), XccError)
    assert.match(error.message, /etcd is down/)
    assert.deepEqual(nodeRulesPods(cluster), [])
  })

  it('a pod that never starts: that node is reported (start deadline), its pod removed, the other node read', BOUNDED, async () => {
    const {cluster, state} = await setup()
    cluster.podPhase = (name) => (name.endsWith('-0') ? 'Pending' : 'Succeeded')
    const listing = await list(cluster, state)
    assert.match(listing.nodes[0]?.error ?? '', /not ready in time \(phase Pending, ContainerCreating\)/)
    assert.deepEqual(listing.nodes[1]?.cidrs.map((c) => c.decision), ['masquerade'])
    assert.equal(listing.drift, true)
    assert.deepEqual(nodeRulesPods(cluster), [])
  })

  it('Ctrl-C while the API stalls: interrupted, the pods removed, and it says so', BOUNDED, async () => {
    const {cluster, state} = await setup()
    cluster.podPhase = () => 'Running'
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const error = await rejection(list(cluster, state, controller.signal, {...request, startDeadlineMs: 5000, callTimeoutMs: 5000}), InterruptedError)
    assert.equal(error.message, 'interrupted: the 2 pods of this run were removed')
    assert.deepEqual(nodeRulesPods(cluster), [])
  })

  it('Ctrl-C and the deletes stall: interrupted, naming the cleanup command', BOUNDED, async () => {
    const {cluster, state} = await setup()
    cluster.podPhase = () => 'Running'
    cluster.always('deletePod', stall)
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 100)
    const error = await rejection(list(cluster, state, controller.signal, {...request, startDeadlineMs: 5000, callTimeoutMs: 5000}), InterruptedError)
    assert.match(error.message, new RegExp(`^interrupted: could not remove the pods of this run: kube-system/xcc-node-rules-a1b2c3d4-0, kube-system/xcc-node-rules-a1b2c3d4-1 \\(.*\\); remove them with: ${CLEANUP.replace(/[.]/g, '\\.')}$`))
  })
})
