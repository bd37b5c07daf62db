import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {podStatusReason} from '../../../src/lab/kube/printers.js'
import {humanDuration, toTable, wantsTable} from '../../../src/lab/kube/tables.js'
import type {KubeObject, Pod} from '../../../src/lab/kube/types.js'

const NOW = Date.parse('2026-01-01T12:00:00Z')
const created = '2026-01-01T11:59:15Z'

function pod(status: Pod['status'], extra: Partial<Pod['metadata']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {name: 'web', namespace: 'default', creationTimestamp: created, ...extra},
    spec: {nodeName: 'node-a', containers: [{name: 'main'}]},
    status,
  }
}

const running = (ready: boolean, restartCount = 0): NonNullable<Pod['status']>['containerStatuses'] => [
  {name: 'main', ready, restartCount, image: '', imageID: '', state: {running: {startedAt: created}}, lastState: {}},
]

describe('tables', () => {
  it('pods: NAME READY STATUS RESTARTS AGE, and IP NODE … with -o wide', () => {
    const table = toTable('Pod', [pod({phase: 'Running', podIP: '10.1.0.5', containerStatuses: running(true)})], {now: NOW})
    assert.equal(table.kind, 'Table')
    assert.equal(table.apiVersion, 'meta.k8s.io/v1')
    assert.deepEqual(table.columnDefinitions.map((c) => [c.name, c.priority]), [
      ['Name', 0],
      ['Ready', 0],
      ['Status', 0],
      ['Restarts', 0],
      ['Age', 0],
      ['IP', 1],
      ['Node', 1],
      ['Nominated Node', 1],
      ['Readiness Gates', 1],
    ])
    assert.deepEqual(table.rows[0]!.cells, ['web', '1/1', 'Running', '0', '45s', '10.1.0.5', 'node-a', '<none>', '<none>'])
    assert.deepEqual(table.rows[0]!.object, {kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: table.rows[0]!.object && (table.rows[0]!.object as KubeObject).metadata})
  })

  it('pod STATUS as kubectl computes it', () => {
    const terminated = (exitCode: number, reason?: string): Pod['status'] => ({
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: [{name: 'main', ready: false, restartCount: 0, image: '', imageID: '', state: {terminated: {exitCode, ...(reason ? {reason} : {})}}, lastState: {}}],
    })
    assert.equal(podStatusReason(pod(terminated(0, 'Completed'))).reason, 'Completed')
    assert.equal(podStatusReason(pod(terminated(3, 'Error'))).reason, 'Error')
    assert.equal(podStatusReason(pod(terminated(3))).reason, 'ExitCode:3')
    assert.equal(podStatusReason(pod({phase: 'Pending'})).reason, 'Pending')
    assert.equal(podStatusReason(pod({phase: 'Running', containerStatuses: running(true)}, {deletionTimestamp: created})).reason, 'Terminating')
    const crash = pod({
      phase: 'Running',
      containerStatuses: [{name: 'main', ready: false, restartCount: 2, image: '', imageID: '', state: {waiting: {reason: 'CrashLoopBackOff'}}, lastState: {terminated: {exitCode: 1, finishedAt: '2026-01-01T11:59:50Z'}}}],
    })
    const s = podStatusReason(crash)
    assert.deepEqual([s.reason, s.restarts, s.ready], ['CrashLoopBackOff', 2, 0])
    assert.equal(toTable('Pod', [crash], {now: NOW}).rows[0]!.cells[3], '2 (10s ago)')
    const init: Pod = {...pod({phase: 'Pending', initContainerStatuses: [{name: 'init', ready: false, restartCount: 0, image: '', imageID: '', state: {running: {}}, lastState: {}}]}), spec: {containers: [{name: 'main'}], initContainers: [{name: 'init'}]}}
    assert.equal(podStatusReason(init).reason, 'Init:0/1')
  })

  it('nodes: NAME STATUS ROLES AGE VERSION, INTERNAL-IP with -o wide', () => {
    const node: KubeObject = {
      metadata: {name: 'n1', creationTimestamp: created, labels: {'node-role.kubernetes.io/control-plane': ''}},
      spec: {unschedulable: true},
      status: {addresses: [{type: 'InternalIP', address: '10.0.0.2'}], conditions: [{type: 'Ready', status: 'True'}], nodeInfo: {kubeletVersion: 'v1.32.0'}},
    }
    const table = toTable('Node', [node], {now: NOW})
    assert.deepEqual(table.columnDefinitions.filter((c) => c.priority === 0).map((c) => c.name), ['Name', 'Status', 'Roles', 'Age', 'Version'])
    assert.deepEqual(table.rows[0]!.cells.slice(0, 6), ['n1', 'Ready,SchedulingDisabled', 'control-plane', '45s', 'v1.32.0', '10.0.0.2'])
  })

  it('services: TYPE CLUSTER-IP EXTERNAL-IP PORT(S)', () => {
    const svc: KubeObject = {metadata: {name: 's', creationTimestamp: created}, spec: {type: 'NodePort', clusterIP: '10.96.0.10', ports: [{port: 80, nodePort: 30080, protocol: 'TCP'}, {port: 53, protocol: 'UDP'}]}}
    assert.deepEqual(toTable('Service', [svc], {now: NOW}).rows[0]!.cells.slice(0, 6), ['s', 'NodePort', '10.96.0.10', '<none>', '80:30080/TCP,53/UDP', '45s'])
    const lb: KubeObject = {metadata: {name: 'lb'}, spec: {type: 'LoadBalancer', clusterIP: '10.96.0.11', ports: []}}
    assert.equal(toTable('Service', [lb]).rows[0]!.cells[3], '<pending>')
  })

  it('namespaces, daemonsets, and NAME AGE for the rest', () => {
    assert.deepEqual(toTable('Namespace', [{metadata: {name: 'default', creationTimestamp: created}, status: {phase: 'Active'}}], {now: NOW}).rows[0]!.cells, ['default', 'Active', '45s'])
    const ds: KubeObject = {metadata: {name: 'd', creationTimestamp: created}, spec: {template: {spec: {nodeSelector: {a: 'b'}, containers: []}}}, status: {desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2}}
    assert.deepEqual(toTable('DaemonSet', [ds], {now: NOW}).rows[0]!.cells.slice(0, 8), ['d', 3, 3, 2, 3, 2, 'a=b', '45s'])
    const lease = toTable('Whatever', [{metadata: {name: 'x', creationTimestamp: created}}], {now: NOW, include: 'None'})
    assert.deepEqual(lease.columnDefinitions.map((c) => c.name), ['Name', 'Age'])
    assert.deepEqual(lease.rows[0], {cells: ['x', '45s']})
  })

  it('ages like kubectl', () => {
    const s = 1000
    assert.equal(humanDuration(59 * s), '59s')
    assert.equal(humanDuration(119 * s), '119s')
    assert.equal(humanDuration(150 * s), '2m30s')
    assert.equal(humanDuration(17 * 60 * s), '17m')
    assert.equal(humanDuration((5 * 60 + 3) * 60 * s), '5h3m')
    assert.equal(humanDuration(20 * 3600 * s), '20h')
    assert.equal(humanDuration((3 * 24 + 4) * 3600 * s), '3d4h')
    assert.equal(humanDuration(12 * 24 * 3600 * s), '12d')
  })

  it('recognises the Accept header kubectl sends for tables', () => {
    assert.equal(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'), true)
    assert.equal(wantsTable('application/json'), false)
    assert.equal(wantsTable(undefined), false)
  })
})
