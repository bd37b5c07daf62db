/**
 * The lab's cluster DNS, its pure parts (no root): where the kube-dns Service and pod go
 * (compile/dns.ts), each pod's resolv.conf, the kube-dns ConfigMap and the CoreDNS Corefile as
 * dnsmasq server lines and hosts (addons/dns/config.ts, corefile.ts), and the records the
 * emulated API's objects make (addons/dns/records.ts). The lab test (dns.test.ts) proves the same
 * on real packets.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {parseTopology} from '../../src/core/topology/parse.js'
import {corednsConfig, kubeDnsConfig} from '../../src/lab/addons/dns/config.js'
import {parseCorefile} from '../../src/lab/addons/dns/corefile.js'
import {clusterRecords, dnsmasqConf} from '../../src/lab/addons/dns/records.js'
import {DEFAULT_COREFILE, clusterDnsPlan, dnsServiceRules, podResolvConf} from '../../src/lab/compile/dns.js'
import {compileLab} from '../../src/lab/compile/compile.js'
import {clusterObjects, dnsObjects} from '../../src/lab/compile/kube-objects.js'
import type {KubeObject} from '../../src/lab/kube/types.js'
import {DECLARED_DNS_TOPOLOGY, DNS_TOPOLOGY} from './dns-topology.js'

describe('cluster DNS placement (compile/dns.ts)', () => {
  const model = parseTopology(DNS_TOPOLOGY, 'dns-lab.yaml')

  it('the services range\'s tenth address, a pod at the top of the first node\'s range, the provider from dnsProvider', () => {
    assert.deepEqual(clusterDnsPlan(model.clusters.get('a')!), {cluster: 'a', provider: 'kube-dns', serviceIP: '10.30.0.10', node: 'gke-a-node-1', podIP: '10.20.0.254', podName: 'kube-dns-lab'})
    assert.deepEqual(clusterDnsPlan(model.clusters.get('b')!), {cluster: 'b', provider: 'CoreDNS', serviceIP: '10.31.0.10', node: 'gke-b-node-1', podIP: '10.21.0.254', podName: 'coredns-lab'})
  })

  it('skips addresses the topology took, and adds nothing when the topology declares kube-system/kube-dns', () => {
    const taken = DNS_TOPOLOGY.replace('clusterIP: 10.30.0.20', 'clusterIP: 10.30.0.10').replace('ip: 10.20.0.5', 'ip: 10.20.0.254')
    assert.deepEqual(clusterDnsPlan(parseTopology(taken, 'x.yaml').clusters.get('a')!), {cluster: 'a', provider: 'kube-dns', serviceIP: '10.30.0.11', node: 'gke-a-node-1', podIP: '10.20.0.253', podName: 'kube-dns-lab'})
    const declared = DNS_TOPOLOGY.replace('{namespace: default, name: backend, type: ClusterIP', '{namespace: kube-system, name: kube-dns, type: ClusterIP').replace('endpoints: [backend]', 'endpoints: []')
    assert.equal(clusterDnsPlan(parseTopology(declared, 'x.yaml').clusters.get('a')!), undefined, 'a declared kube-dns without an endpoint pod: nothing to run the server in')
  })

  it('a declared kube-dns with an endpoint pod is adopted: the server runs in that pod, the ConfigMap is added', () => {
    const model = parseTopology(DECLARED_DNS_TOPOLOGY, 'declared.yaml')
    const plan = clusterDnsPlan(model.clusters.get('c')!)
    assert.deepEqual(plan, {cluster: 'c', provider: 'kube-dns', serviceIP: '10.32.0.10', podName: 'kube-dns-5b8f7c9d4-x2x7q', node: 'gke-c-node-1', podIP: '10.22.0.7', adopted: true})
    const lab = compileLab(model, 'unit')
    const objects = clusterObjects(model, lab, model.clusters.get('c')!, () => ['echo'], {plan: plan!, command: ['dnsmasq', '-k']})
    assert.deepEqual(objects.filter((o) => o.metadata.namespace === 'kube-system').map((o) => `${o.kind}/${o.metadata.name}`).sort(), ['ConfigMap/ip-masq-agent', 'ConfigMap/kube-dns', 'Endpoints/kube-dns', 'Pod/kube-dns-5b8f7c9d4-x2x7q', 'Service/kube-dns'])
    const pod = objects.find((o) => o.kind === 'Pod' && o.metadata.name === 'kube-dns-5b8f7c9d4-x2x7q') as unknown as {spec: {containers: Array<{command: string[]}>; securityContext: {runAsUser: number}}}
    assert.deepEqual(pod.spec.containers.map((c) => c.command), [['dnsmasq', '-k']])
    assert.equal(pod.spec.securityContext.runAsUser, 65534)
  })

  it('dnsProvider accepts kube-dns and CoreDNS only', () => {
    assert.throws(() => parseTopology(DNS_TOPOLOGY.replace('dnsProvider: CoreDNS', 'dnsProvider: bind'), 'bad.yaml'), (error: Error & {details?: string[]}) => {
      assert.deepEqual(error.details, ['bad.yaml: clusters[1].dnsProvider: must be one of kube-dns, CoreDNS (value: "bind")'])
      return true
    })
  })

  it('kube-proxy rules: KUBE-SERVICES → KUBE-SVC → KUBE-SEP DNAT to the pod, per protocol', () => {
    const rules = dnsServiceRules(clusterDnsPlan(model.clusters.get('a')!)!)
    assert.equal(rules.chains.length, 4)
    assert.ok(rules.rules.some((r) => /-p udp .* -j DNAT --to-destination 10\.20\.0\.254:53$/.test(r)))
    assert.deepEqual(rules.services.map((s) => s.slice(0, 4)), [['-d', '10.30.0.10/32', '-p', 'udp'], ['-d', '10.30.0.10/32', '-p', 'tcp']])
  })

  it('the API objects: Service, Endpoints, a pod running as nobody, and the provider\'s ConfigMap', () => {
    const objects = dnsObjects(clusterDnsPlan(model.clusters.get('b')!)!, ['dnsmasq'])
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), ['Service/kube-dns', 'Endpoints/kube-dns', 'Pod/coredns-lab', 'ConfigMap/coredns'])
    assert.equal((objects[3] as unknown as {data: Record<string, string>}).data.Corefile, DEFAULT_COREFILE)
    assert.equal(dnsObjects(clusterDnsPlan(model.clusters.get('a')!)!, ['dnsmasq'])[3]?.metadata.name, 'kube-dns')
  })
})

describe('a pod\'s resolv.conf', () => {
  it('ClusterFirst: the cluster DNS, the search path of its namespace, ndots:5', () => {
    assert.equal(podResolvConf({namespace: 'shop', hostNetwork: false}, '10.30.0.10'), 'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.30.0.10\noptions ndots:5\n')
  })
  it('Default and host-network pods keep the node\'s; ClusterFirstWithHostNet and dnsConfig as the kubelet merges them', () => {
    assert.equal(podResolvConf({namespace: 'a', hostNetwork: false, dnsPolicy: 'Default'}, '10.0.0.10'), undefined)
    assert.equal(podResolvConf({namespace: 'a', hostNetwork: true}, '10.0.0.10'), undefined)
    assert.match(podResolvConf({namespace: 'a', hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet'}, '10.0.0.10') ?? '', /nameserver 10\.0\.0\.10/)
    assert.equal(
      podResolvConf({namespace: 'a', hostNetwork: false, dnsConfig: {searches: ['corp.example'], options: [{name: 'ndots', value: '2'}, {name: 'edns0'}]}}, '10.0.0.10'),
      'search a.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.0.0.10\noptions ndots:2 edns0\n',
    )
    assert.equal(podResolvConf({namespace: 'a', hostNetwork: false, dnsPolicy: 'None', dnsConfig: {nameservers: ['10.9.9.9']}}, '10.0.0.10'), 'nameserver 10.9.9.9\n')
  })
})

describe('kube-system/kube-dns → dnsmasq servers', () => {
  it('stubDomains and upstreamNameservers, ports as #port', () => {
    const r = kubeDnsConfig({stubDomains: '{"xcc.test": ["10.99.0.2", "10.99.0.3:5353"], "acme.local.": ["1.2.3.4"]}', upstreamNameservers: '["8.8.8.8"]'})
    assert.deepEqual(r, {ok: true, config: {servers: ['server=/acme.local/1.2.3.4', 'server=/xcc.test/10.99.0.2', 'server=/xcc.test/10.99.0.3#5353', 'server=8.8.8.8'], hosts: [], notes: []}})
    assert.deepEqual(kubeDnsConfig(undefined), {ok: true, config: {servers: [], hosts: [], notes: []}})
  })
  it('refuses what kube-dns refuses: bad JSON, the cluster domain, names as targets, more than 3 upstreams', () => {
    for (const [data, why] of [
      [{stubDomains: '{"xcc.test": ['}, /stubDomains: invalid JSON/],
      [{stubDomains: '{"cluster.local": ["10.0.0.1"]}'}, /cluster domain/],
      [{stubDomains: '{"Bad_Zone": ["10.0.0.1"]}'}, /not a valid domain name/],
      [{stubDomains: '{"xcc.test": ["dns-server.capi-dns"]}'}, /not an IP address or IP:port/],
      [{upstreamNameservers: '["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"]'}, /at most 3/],
    ] as const) {
      const r = kubeDnsConfig(data)
      assert.ok(!r.ok && why.test(r.error), JSON.stringify(r))
    }
  })
})

describe('the CoreDNS Corefile → dnsmasq servers and hosts', () => {
  it('kubeadm\'s default: nothing forwarded (a resolv.conf leads out of the lab), the note says so', () => {
    const r = corednsConfig(DEFAULT_COREFILE)
    assert.ok(r.ok)
    assert.deepEqual(r.config.servers, [])
    assert.deepEqual(r.config.notes, ['forward . /etc/resolv.conf: a resolv.conf would lead out of the lab; not forwarded'])
  })
  it('forward zones (block zone or FROM), inline hosts, unsupported plugins noted', () => {
    const corefile = `${DEFAULT_COREFILE.replace('    cache 30\n', '    hosts {\n      10.98.0.1 legacy.example legacy\n      fallthrough\n    }\n    forward corp.example 10.7.0.1:5353\n    cache 30\n')}# xcc:begin xcc.test
xcc.test:53 {
    errors
    forward . 10.21.0.2 dns://10.21.0.3
    rewrite name a.xcc.test b.xcc.test
}
# xcc:end
`
    const r = corednsConfig(corefile)
    assert.ok(r.ok, JSON.stringify(r))
    assert.deepEqual(r.config.servers, ['server=/corp.example/10.7.0.1#5353', 'server=/xcc.test/10.21.0.2', 'server=/xcc.test/10.21.0.3'])
    assert.deepEqual(r.config.hosts, ['10.98.0.1 legacy.example legacy'])
    assert.ok(r.config.notes.some((n) => /plugin rewrite/.test(n)))
  })
  it('a repeated zone:port or unbalanced braces is invalid (CoreDNS keeps the running configuration)', () => {
    const dup = corednsConfig('xcc.test:53 {\n forward . 10.0.0.1\n}\nxcc.test {\n forward . 10.0.0.2\n}\n')
    assert.ok(!dup.ok && /defined more than once/.test(dup.error))
    const open = corednsConfig('.:53 {\n errors\n')
    assert.ok(!open.ok && /not closed/.test(open.error))
  })
  it('parses comments, quotes and nested blocks', () => {
    const r = parseCorefile('# top\n.:53 { # inline\n  hosts "/etc/hosts" {\n    fallthrough\n  }\n}\n')
    assert.deepEqual(r, {ok: true, blocks: [{keys: ['.:53'], directives: [{name: 'hosts', args: ['/etc/hosts'], body: [{name: 'fallthrough', args: []}]}]}]})
  })
})

describe('records from the emulated API', () => {
  const svc = (name: string, spec: Record<string, unknown>): KubeObject => ({apiVersion: 'v1', kind: 'Service', metadata: {name, namespace: 'shop'}, spec})
  const pod = (name: string, ip: string, phase = 'Running', labels: Record<string, string> = {}): KubeObject => ({apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace: 'shop', labels}, spec: {}, status: {phase, podIP: ip}})

  it('ClusterIP Services, headless ones (Endpoints, else selector), pods; not ExternalName, not pods that do not run', () => {
    const records = clusterRecords({
      services: [svc('web', {clusterIP: '10.30.0.40'}), svc('db', {clusterIP: 'None', selector: {app: 'db'}}), svc('ext', {type: 'ExternalName', externalName: 'x.example'}), svc('cache', {clusterIP: 'None'})],
      endpoints: [{apiVersion: 'v1', kind: 'Endpoints', metadata: {name: 'cache', namespace: 'shop'}, subsets: [{addresses: [{ip: '10.20.0.9'}]}]} as KubeObject],
      pods: [pod('db-0', '10.20.0.7', 'Running', {app: 'db'}), pod('db-1', '10.20.0.8', 'Pending', {app: 'db'})],
    })
    assert.deepEqual(records, [
      '10.20.0.7 10-20-0-7.shop.pod.cluster.local',
      '10.20.0.7 db.shop.svc.cluster.local',
      '10.20.0.9 cache.shop.svc.cluster.local',
      '10.30.0.40 web.shop.svc.cluster.local',
    ])
  })

  it('dnsmasq never reads the host\'s resolver or hosts file', () => {
    const conf = dnsmasqConf('/run/x')
    for (const line of ['no-resolv', 'no-hosts', 'local=/cluster.local/', 'servers-file=/run/x/servers', 'addn-hosts=/run/x/hosts']) assert.ok(conf.split('\n').includes(line), line)
    assert.doesNotMatch(conf, /resolv-file|^server=/m)
  })
})
