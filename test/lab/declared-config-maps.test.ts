/**
 * A topology's `configMaps` as the lab's emulated API gets them (compile/kube-objects.ts, pure):
 * loaded as given, in place of the lab's own ConfigMap of the same name, and a declared xcc
 * responder's pods running the responder's CoreDNS container, which the lab's stand-in
 * (runtime/responder-standin.ts) recognises and serves from the ConfigMap's zone files.
 * test/lab/dns-scenarios.test.ts proves the effect on real queries.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {parseTopology} from '../../src/core/topology/parse.js'
import {responderConfig} from '../../src/lab/addons/dns/responder.js'
import {compileLab} from '../../src/lab/compile/compile.js'
import {clusterDnsPlan} from '../../src/lab/compile/dns.js'
import {type LabObject, clusterObjects} from '../../src/lab/compile/kube-objects.js'
import {corefileSource} from '../../src/lab/runtime/responder-standin.js'
import type {Container, KubeObject} from '../../src/lab/kube/types.js'
import {DNS_TOPOLOGY} from './dns-topology.js'

function objectsOf(text: string, cluster: string): LabObject[] {
  const model = parseTopology(text, 'declared.yaml')
  const facts = model.clusters.get(cluster)!
  const plan = clusterDnsPlan(facts)!
  return clusterObjects(model, compileLab(model, 'unit'), facts, () => ['echo'], {plan, command: ['dnsmasq', '-k']})
}

const configMaps = (objects: readonly LabObject[]) => objects.filter((o) => o.kind === 'ConfigMap').map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()

describe('declared ConfigMaps in the lab\'s API', () => {
  const declared = DNS_TOPOLOGY.replace('  services:\n  - {namespace: default, name: backend', `  configMaps:
  - namespace: kube-system
    name: kube-dns
    labels: {addonmanager.kubernetes.io/mode: EnsureExists}
    data: {stubDomains: '{"corp.example": ["10.10.0.9"]}'}
  - {namespace: shop, name: settings, annotations: {owner: team-a}, data: {mode: blue}}
  services:
  - {namespace: default, name: backend`)

  it('are loaded as given, in place of the lab\'s own of the same name, their namespaces made', () => {
    const objects = objectsOf(declared, 'a')
    assert.deepEqual(configMaps(objects), ['kube-system/ip-masq-agent', 'kube-system/kube-dns', 'shop/settings'], 'one kube-dns: the declared one')
    const kubeDns = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kube-dns')
    assert.deepEqual(kubeDns, {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'kube-dns', namespace: 'kube-system', labels: {'addonmanager.kubernetes.io/mode': 'EnsureExists'}}, data: {stubDomains: '{"corp.example": ["10.10.0.9"]}'}})
    assert.deepEqual(objects.find((o) => o.metadata.name === 'settings'), {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'settings', namespace: 'shop', annotations: {owner: 'team-a'}}, data: {mode: 'blue'}})
    assert.ok(objects.some((o) => o.kind === 'Namespace' && o.metadata.name === 'shop'))
  })

  it('a CoreDNS cluster\'s declared Corefile replaces kubeadm\'s', () => {
    const corefile = '.:53 {\n    forward corp.example 10.11.0.9\n}\n'
    const text = DNS_TOPOLOGY.replace('  dnsProvider: CoreDNS\n', `  dnsProvider: CoreDNS\n  configMaps:\n  - {namespace: kube-system, name: coredns, data: {Corefile: ${JSON.stringify(corefile)}}}\n`)
    const cms = objectsOf(text, 'b').filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'coredns')
    assert.deepEqual(cms.map((o) => (o as unknown as {data: {Corefile: string}}).data.Corefile), [corefile])
  })

  it('the same ConfigMap twice is refused, naming the second', () => {
    const twice = declared.replace('  - {namespace: shop, name: settings', '  - {namespace: kube-system, name: kube-dns}\n  - {namespace: shop, name: settings')
    assert.throws(() => parseTopology(twice, 'twice.yaml'), (error: Error & {details?: string[]}) => {
      assert.ok(error.details?.some((d) => d.includes('clusters[0].configMaps[1].name') && d.includes('duplicate ConfigMap "kube-system/kube-dns"')), JSON.stringify(error.details))
      return true
    })
  })

  it('the pods behind a declared xcc responder run its CoreDNS container, which the stand-in serves from the ConfigMap', () => {
    const text = readFileSync('templates/scenarios/dns-name-not-found.yaml', 'utf8')
    const objects = objectsOf(text, 'a')
    const pod = objects.find((o) => o.kind === 'Pod' && o.metadata.name === 'xcc-dns-responder') as unknown as KubeObject
    const containers = (pod.spec as {containers: Container[]}).containers
    assert.deepEqual(containers.map((c) => c.image), ['registry.k8s.io/coredns/coredns:v1.11.3'])
    const source = corefileSource(pod, containers[0]!)
    assert.deepEqual(source, {configMap: 'xcc-dns-responder', mountDir: '/etc/coredns', corefileKey: 'Corefile'})
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'xcc-dns-responder') as unknown as {data: Record<string, string>}
    const config = responderConfig(cm.data, source.mountDir, source.corefileKey)
    assert.ok(config.ok)
    assert.deepEqual(config.zones.map((z) => [z.zone, z.records.map((r) => `${r.name} ${r.address}`)]), [['b.clusters.xcc.test', ['server.default.b.clusters.xcc.test 10.11.0.100']]])
    // any other pod keeps its echo server
    const client = objects.find((o) => o.kind === 'Pod' && o.metadata.name === 'client') as unknown as {spec: {containers: Container[]}}
    assert.deepEqual(client.spec.containers.map((c) => c.image), ['xcc-lab/echoserver'])
  })

  it('a snapshot\'s responder pods (named by their Deployment) are found through the Service\'s endpoints', () => {
    const text = readFileSync('templates/scenarios/dns-name-not-found.yaml', 'utf8')
      .replace('name: xcc-dns-responder, node: gke-a-node-1', 'name: xcc-dns-responder-6f7d9c-q2w3e, node: gke-a-node-1')
      .replace('endpoints: [xcc-dns-responder]', 'endpoints: [xcc-dns-responder-6f7d9c-q2w3e]')
    const pod = objectsOf(text, 'a').find((o) => o.kind === 'Pod' && o.metadata.name === 'xcc-dns-responder-6f7d9c-q2w3e') as unknown as {spec: {containers: Container[]}}
    assert.deepEqual(pod.spec.containers.map((c) => c.image), ['registry.k8s.io/coredns/coredns:v1.11.3'])
  })

  it('without its ConfigMap the responder\'s pod keeps its echo server (on a cluster it could not start either)', () => {
    const text = readFileSync('templates/scenarios/dns-name-not-found.yaml', 'utf8')
    const start = text.indexOf('  - namespace: kube-system\n    name: xcc-dns-responder\n    annotations')
    const without = text.slice(0, start) + text.slice(text.indexOf('- name: b\n'))
    const pod = objectsOf(without, 'a').find((o) => o.kind === 'Pod' && o.metadata.name === 'xcc-dns-responder') as unknown as {spec: {containers: Container[]}}
    assert.deepEqual(pod.spec.containers.map((c) => c.image), ['xcc-lab/echoserver'])
  })
})
