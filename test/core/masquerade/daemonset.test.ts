/**
 * src/core/masquerade/daemonset.ts: the xcc-masquerade DaemonSet (golden manifest and its
 * security properties) and the ConfigMap planAgentAdd writes on a cluster with GKE's default
 * list (golden; SNAT-03/12).
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {JSON_SCHEMA, dump} from 'js-yaml'

import {GKE_AGENT_FLAGS} from '../../../src/core/topology/ip-masq-agent.js'
import {planAgentAdd} from '../../../src/core/masquerade/agent-edit.js'
import {CIDRS_ANNOTATION, DEFAULT_RESYNC_SECONDS, XCC_CHAIN, buildXccDaemonSet, cidrList, daemonSetCidrs} from '../../../src/core/masquerade/daemonset.js'
import {cidr} from '../../../src/core/net/ipv4.js'
import type {KubeDaemonSet} from '../../../src/core/ports/kube.js'
import {assertGoldenText} from '../../support/golden.js'

/** as src/render/masquerade-text.ts writes manifests */
const yaml = (object: unknown) => dump(object, {schema: JSON_SCHEMA, lineWidth: -1, noRefs: true, sortKeys: false})

const SCRIPT = 'echo "xcc-masquerade test script"'
const ds = buildXccDaemonSet({namespace: 'kube-system', cidrs: [cidr('10.193.0.0/16'), cidr('172.20.0.0/16')], image: 'nicolaka/netshoot:v0.13', script: SCRIPT})
const container = ds.spec.template.spec.containers[0]!

describe('buildXccDaemonSet', () => {
  it('golden manifest (test/golden/masquerade/daemonset.yaml)', () => {
    assertGoldenText('masquerade/daemonset.yaml', yaml(ds))
  })

  it('runs on the host network of every node: hostNetwork, tolerations Exists (every taint), node-critical priority', () => {
    assert.equal(ds.spec.template.spec.hostNetwork, true)
    assert.deepEqual(ds.spec.template.spec.tolerations, [{operator: 'Exists'}])
    assert.equal(ds.spec.template.spec.priorityClassName, 'system-node-critical')
    assert.equal(ds.spec.template.spec.nodeName, undefined)
  })

  it('least privilege: only NET_ADMIN is added, not privileged, no privilege escalation, no API token, one container', () => {
    assert.equal(ds.spec.template.spec.containers.length, 1)
    assert.deepEqual(container.securityContext?.capabilities, {add: ['NET_ADMIN']})
    assert.notEqual(container.securityContext?.privileged, true)
    assert.equal(container.securityContext?.allowPrivilegeEscalation, false)
    assert.equal(ds.spec.template.spec.automountServiceAccountToken, false)
    assert.equal(ds.spec.template.spec.enableServiceLinks, false)
    assert.ok(container.resources?.limits?.memory, 'a memory limit')
  })

  it('rolls without a gap: RollingUpdate with maxSurge 1 and maxUnavailable 0 (the new pod writes the chain before the old one stops)', () => {
    assert.deepEqual(ds.spec.updateStrategy, {type: 'RollingUpdate', rollingUpdate: {maxSurge: 1, maxUnavailable: 0}})
  })

  it('labels: managed-by xcc on the object and its pods; the selector selects the pod template', () => {
    assert.equal(ds.metadata.labels?.['app.kubernetes.io/managed-by'], 'xcc')
    assert.equal(ds.spec.template.metadata.labels['app.kubernetes.io/managed-by'], 'xcc')
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) assert.equal(ds.spec.template.metadata.labels[k], v)
    assert.equal(ds.metadata.name, 'xcc-masquerade')
    assert.equal(ds.metadata.namespace, 'kube-system')
  })

  it('the script runs as `sh -c script xcc-masquerade` with the ranges, resync and pod name in the environment', () => {
    assert.deepEqual(container.command, ['sh', '-c', SCRIPT, 'xcc-masquerade'])
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef.fieldPath]))
    assert.deepEqual(env, {XCC_MASQ_CIDRS: '10.193.0.0/16,172.20.0.0/16', XCC_MASQ_RESYNC_SECONDS: String(DEFAULT_RESYNC_SECONDS), XCC_POD_NAME: 'metadata.name'})
    const custom = buildXccDaemonSet({namespace: 'net', cidrs: [cidr('10.1.0.0/16')], image: 'i', script: 's', resyncSeconds: 5})
    assert.equal(custom.spec.template.spec.containers[0]?.env?.find((e) => e.name === 'XCC_MASQ_RESYNC_SECONDS')?.value, '5')
    assert.equal(custom.metadata.namespace, 'net')
  })

  it('the real script keeps the chain the module names (XCC-MASQ) and reads the same environment', () => {
    const script = readFileSync('templates/masquerade/xcc-masquerade.sh', 'utf8')
    assert.match(script, new RegExp(`^chain=${XCC_CHAIN}$`, 'm'))
    for (const name of ['XCC_MASQ_CIDRS', 'XCC_MASQ_RESYNC_SECONDS', 'XCC_POD_NAME']) assert.ok(script.includes(name), name)
  })

  it('daemonSetCidrs: the annotation, else the environment; cidrList joins in order', () => {
    assert.equal(ds.metadata.annotations?.[CIDRS_ANNOTATION], '10.193.0.0/16,172.20.0.0/16')
    assert.deepEqual(daemonSetCidrs(ds), ['10.193.0.0/16', '172.20.0.0/16'])
    const noAnnotation: KubeDaemonSet = {...ds, metadata: {...ds.metadata, annotations: {}}}
    assert.deepEqual(daemonSetCidrs(noAnnotation), ['10.193.0.0/16', '172.20.0.0/16'])
    const spaced: KubeDaemonSet = {...ds, metadata: {...ds.metadata, annotations: {[CIDRS_ANNOTATION]: ' 10.1.0.0/16 ,, 10.2.0.0/16 '}}}
    assert.deepEqual(daemonSetCidrs(spaced), ['10.1.0.0/16', '10.2.0.0/16'])
    assert.equal(cidrList([cidr('10.2.0.0/16'), cidr('10.1.0.0/16')]), '10.2.0.0/16,10.1.0.0/16')
  })
})

describe('the ConfigMap planAgentAdd writes on a GKE cluster with the default list', () => {
  it('SNAT-03/12: golden (test/golden/masquerade/ip-masq-agent-configmap.yaml)', () => {
    const edit = planAgentAdd({flags: GKE_AGENT_FLAGS, force: false}, [cidr('10.193.0.0/16')])
    assert.ok(edit.after)
    assertGoldenText('masquerade/ip-masq-agent-configmap.yaml', yaml(edit.after))
  })
})
