/**
 * Cluster DNS in the lab on real packets: `lab up` of two clusters in peered VPCs (a: kube-dns,
 * the GKE default; b: `dnsProvider: CoreDNS`), then queries from inside pod namespaces, through
 * the resolver every pod gets (`ip netns exec` bind-mounts its resolv.conf, as the lab's runtime
 * runs containers) and straight to the kube-dns ClusterIP (Node's c-ares, which tells NXDOMAIN,
 * REFUSED, SERVFAIL and timeouts apart). Every query crosses the data plane: the DNS pod sits on
 * another node than the client, behind the kube-proxy rules of the kube-dns Service.
 *
 * Covered: Service names (FQDN, short name through the search path, headless, pod names); a
 * Service made with kubectl appears and a deleted one disappears within seconds; a kube-dns stub
 * domain pointing at a DNS server pod of the other cluster resolves, and stops resolving once the
 * VPC firewall rule that admitted its packets is deleted through the lab's Compute API (FW-*);
 * a CoreDNS cluster honours a forward zone and inline hosts added to its Corefile; names outside
 * the cluster are REFUSED, never forwarded to the host's resolver.
 * Needs root, iproute2, iptables, conntrack, curl, dnsmasq (dnsmasq-base) and kubectl.1.32.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {parseTopology} from '../../src/core/topology/parse.js'
import {labDown, labUp} from '../../src/lab/lifecycle.js'
import {labNamespaces} from '../../src/lab/runtime/dataplane.js'
import {exec} from '../../src/lab/runtime/exec.js'
import type {LabState} from '../../src/lab/runtime/state.js'
import {Kubectl, findKubectl, kubectlSkip} from '../support/kubectl.js'
import {getent, until} from '../support/lab-dns.js'
import {requireLabTools} from '../support/netns.js'
import {DECLARED_DNS_TOPOLOGY, DNS_TOPOLOGY} from './dns-topology.js'

const HOME = mkdtempSync(join(tmpdir(), 'xcc-dns-'))
process.env.XCC_HOME = HOME


/** a DNS server for the zones xcc.test and other.test, as a pod of cluster b (nobody, port 53) */
const STUB_SERVER = yaml.dump({
  apiVersion: 'v1', kind: 'Pod', metadata: {name: 'stub-dns', namespace: 'default', labels: {app: 'stub-dns'}},
  spec: {
    nodeName: 'gke-b-node-1', securityContext: {runAsUser: 65534, runAsGroup: 65534},
    containers: [{name: 'dnsmasq', image: 'dnsmasq', command: ['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--port=53', '--pid-file=', '--log-facility=-', '--log-queries', '--address=/xcc.test/10.99.0.7']}],
  },
})

type Answer = {addresses: string[]} | {code: string}

/** one A query from inside `ns` straight to `server` (c-ares: ENOTFOUND = NXDOMAIN, EREFUSED, ESERVFAIL, ETIMEOUT) */
async function query(ns: string, server: string, name: string): Promise<Answer> {
  const script = `const {Resolver} = require('node:dns').promises
const r = new Resolver({timeout: 1500, tries: 1}); r.setServers([process.argv[1]])
r.resolve4(process.argv[2]).then((a) => console.log(JSON.stringify({addresses: a.sort()})), (e) => console.log(JSON.stringify({code: e.code})))`
  const out = await exec('ip', ['netns', 'exec', ns, process.execPath, '-e', script, server, name], {timeoutMs: 10_000})
  assert.equal(out.code, 0, out.stderr)
  return JSON.parse(out.stdout) as Answer
}

/** the pod's own resolver (its resolv.conf: search path, ndots:5): getent's answer, or undefined when the name does not resolve */
class DnsLab {
  state!: LabState
  readonly kubectl: Kubectl
  upMs = 0

  constructor(readonly name: string) {
    const found = findKubectl()
    this.kubectl = new Kubectl('path' in found ? found.path : 'kubectl-missing')
  }

  async up(text = DNS_TOPOLOGY): Promise<void> {
    await labDown(this.name)
    const started = performance.now()
    this.state = await labUp({name: this.name, model: parseTopology(text, 'dns-lab.yaml'), topologyText: text, source: 'test:dns-lab'}, () => {})
    this.upMs = performance.now() - started
  }

  ns(ref: string): string {
    const host = this.state.plan.hosts[ref]
    assert.ok(host, `the lab has ${ref}`)
    return host.ns
  }

  kubectlOk(context: string, args: readonly string[], input?: string): Promise<string> {
    return this.kubectl.ok(this.state.kubeconfig, ['--context', context, ...args], input === undefined ? {} : {input})
  }

  async podIP(context: string, name: string, namespace = 'default'): Promise<string> {
    const {value} = await until(() => this.kubectlOk(context, ['-n', namespace, 'get', 'pod', name, '-o', 'jsonpath={.status.phase} {.status.podIP}']), (v) => v.startsWith('Running '), 15_000)
    assert.match(value, /^Running \d+\.\d+\.\d+\.\d+$/, `pod ${namespace}/${name} of ${context} runs`)
    return value.split(' ')[1] as string
  }

  async down(): Promise<void> {
    this.kubectl.dispose()
    await labDown(this.name)
    assert.deepEqual(await labNamespaces(this.name), [], 'every namespace of the lab is gone')
  }
}

describe('cluster DNS in the lab, on real packets', {skip: kubectlSkip()}, () => {
  before(() => requireLabTools([['curl', ['--version'], 'curl'], ['dnsmasq', ['--version'], 'dnsmasq-base']]))
  after(() => rmSync(HOME, {recursive: true, force: true}))

  it('kube-dns and CoreDNS clusters: records, search path, changes, stub domains, forward zones, firewalls, no way out', async (t) => {
    const lab = new DnsLab(`dn${process.pid}`)
    try {
      await lab.up()
      const upDone = performance.now()
      const clientA = lab.ns('pod/a/default/client')
      const clientB = lab.ns('pod/b/default/client')
      // how soon after lab up a pod resolves: the DNS pod starts once the API servers run
      const first = await until(() => getent(clientA, 'backend.default.svc.cluster.local'), (v) => v !== undefined)
      assert.equal(first.value, '10.30.0.20')
      t.diagnostic(`lab up: ${Math.round(lab.upMs)} ms; the first name resolved ${Math.round(performance.now() - upDone)} ms after it returned`)

      // the kube-dns Service: the services range's tenth address, backed by a pod on another node than the client
      const svc = await lab.kubectlOk('a', ['-n', 'kube-system', 'get', 'service', 'kube-dns', '-o', 'jsonpath={.spec.clusterIP}'])
      assert.equal(svc, '10.30.0.10')
      assert.equal(await lab.kubectlOk('b', ['-n', 'kube-system', 'get', 'service', 'kube-dns', '-o', 'jsonpath={.spec.clusterIP}']), '10.31.0.10')
      const dnsPod = await lab.kubectlOk('a', ['-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns', '-o', 'jsonpath={.items[0].spec.nodeName}'])
      assert.equal(dnsPod, 'gke-a-node-1')
      await lab.podIP('a', 'kube-dns-lab', 'kube-system')
      await lab.podIP('b', 'coredns-lab', 'kube-system')

      // every pod's resolver: the cluster DNS, Kubernetes' search path, ndots:5
      const resolv = await exec('ip', ['netns', 'exec', clientA, 'cat', '/etc/resolv.conf'])
      assert.equal(resolv.stdout, 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.30.0.10\noptions ndots:5\n')

      // Service names: FQDN and short name through the search path, pod names; a real connection by name
      assert.equal(await getent(clientA, 'backend'), '10.30.0.20', 'the short name through the search path')
      assert.equal(await getent(clientA, 'backend.default'), '10.30.0.20')
      assert.equal(await getent(clientA, '10-20-0-5.default.pod.cluster.local'), '10.20.0.5')
      assert.deepEqual(await query(clientA, '10.30.0.10', 'kube-dns.kube-system.svc.cluster.local'), {addresses: ['10.30.0.10']})
      assert.deepEqual(await query(clientA, '10.30.0.10', 'nothere.default.svc.cluster.local'), {code: 'ENOTFOUND'}, 'NXDOMAIN inside the cluster domain')
      const curl = await exec('ip', ['netns', 'exec', clientA, 'curl', '-s', '-m', '5', 'http://backend/'], {timeoutMs: 10_000})
      assert.match(curl.stdout, /server=a\/default\/backend/, `curl http://backend/ from a/default/client: ${curl.stdout}${curl.stderr}`)

      // a Service made through the API appears within seconds, a headless one resolves to its pods, a deleted one disappears
      await lab.kubectlOk('a', ['create', 'service', 'clusterip', 'late', '--tcp=80:8080'])
      const lateIp = await lab.kubectlOk('a', ['get', 'service', 'late', '-o', 'jsonpath={.spec.clusterIP}'])
      const appeared = await until(() => getent(clientA, 'late'), (v) => v === lateIp)
      assert.equal(appeared.value, lateIp, 'the new Service resolves')
      await lab.kubectlOk('a', ['apply', '-f', '-'], yaml.dump({apiVersion: 'v1', kind: 'Service', metadata: {name: 'backends', namespace: 'default'}, spec: {clusterIP: 'None', selector: {'app.kubernetes.io/name': 'backend'}, ports: [{port: 8080}]}}))
      assert.equal((await until(() => getent(clientA, 'backends'), (v) => v !== undefined)).value, '10.20.0.5', 'a headless Service resolves to its pod')
      await lab.kubectlOk('a', ['delete', 'service', 'late'])
      const gone = await until(() => query(clientA, '10.30.0.10', 'late.default.svc.cluster.local'), (v) => 'code' in v)
      assert.deepEqual(gone.value, {code: 'ENOTFOUND'}, 'the deleted Service is NXDOMAIN')
      t.diagnostic(`a new Service resolved after ${Math.round(appeared.ms)} ms, a deleted one was gone after ${Math.round(gone.ms)} ms`)
      assert.ok(appeared.ms < 3000 && gone.ms < 3000)

      // nothing leaves the lab: names outside the cluster are REFUSED (no upstream, never the host's resolver)
      assert.deepEqual(await query(clientA, '10.30.0.10', 'example.com'), {code: 'EREFUSED'})
      assert.equal(await getent(clientA, 'example.com'), undefined)

      // a stub domain in kube-system/kube-dns pointing at a DNS server pod of cluster b, across the peering
      await lab.kubectlOk('b', ['apply', '-f', '-'], STUB_SERVER)
      const stubIp = await lab.podIP('b', 'stub-dns')
      assert.deepEqual(await query(clientA, '10.30.0.10', 'web.xcc.test'), {code: 'EREFUSED'}, 'no stub domain yet')
      await lab.kubectlOk('a', ['-n', 'kube-system', 'patch', 'configmap', 'kube-dns', '--type', 'merge', '-p', JSON.stringify({data: {stubDomains: JSON.stringify({'xcc.test': [stubIp]})}})])
      const stub = await until(() => getent(clientA, 'web.xcc.test'), (v) => v !== undefined)
      assert.equal(stub.value, '10.99.0.7', 'the stub domain resolves through the other cluster\'s DNS server')
      t.diagnostic(`the stub domain took effect after ${Math.round(stub.ms)} ms`)
      assert.ok(stub.ms < 3000)
      const logs = await lab.kubectlOk('b', ['logs', 'stub-dns'])
      // GKE's default non-masquerade list holds 10.0.0.0/8 (SNAT-11): the stub sees a's DNS pod itself
      assert.match(logs, /query\[A\] web\.xcc\.test from 10\.20\.0\.254/, 'the query reached the stub server from a\'s DNS pod, unmasqueraded')

      // the firewall rule that admitted those packets goes: b's implied deny-ingress (FW-02) now drops
      // them at b's node, which a pod's traffic is evaluated as (FW-05); resolution fails (timeout or
      // SERVFAIL), as on GCP
      const token = readFileSync(lab.state.cloud!.adminTokenFile, 'utf8').trim()
      const deleted = await fetch(`${lab.state.cloud!.url}/compute/v1/projects/${lab.state.cloud!.project}/global/firewalls/b-allow-dns-from-a`, {method: 'DELETE', headers: {authorization: `Bearer ${token}`}})
      assert.equal(deleted.status, 200, await deleted.text())
      const blocked = await until(() => query(clientA, '10.30.0.10', `fresh-${Date.now()}.xcc.test`), (v) => 'code' in v)
      assert.ok('code' in blocked.value && ['ETIMEOUT', 'ESERVFAIL'].includes(blocked.value.code), `a fresh name under the stub domain: ${JSON.stringify(blocked.value)}`)
      assert.equal(await getent(clientA, `other-${Date.now()}.xcc.test`), undefined)
      // the server itself still answers inside its own VPC
      assert.deepEqual(await query(clientB, stubIp, 'web.xcc.test'), {addresses: ['10.99.0.7']})

      // an invalid stubDomains keeps the previous configuration, with a Warning Event
      await lab.kubectlOk('a', ['-n', 'kube-system', 'patch', 'configmap', 'kube-dns', '--type', 'merge', '-p', JSON.stringify({data: {stubDomains: '{"cluster.local": ["10.0.0.1"]}'}})])
      const events = await until(() => lab.kubectlOk('a', ['-n', 'kube-system', 'get', 'events']), (v) => /InvalidConfig/.test(v))
      assert.match(events.value, /Warning\s+InvalidConfig\s+configmap\/kube-dns\s+.*cluster domain/)

      // CoreDNS: a forward zone and inline hosts added to the Corefile take effect; other plugins are ignored with a warning
      assert.deepEqual(await query(clientB, '10.31.0.10', 'web.xcc.test'), {code: 'EREFUSED'}, 'kubeadm\'s Corefile forwards only to /etc/resolv.conf, which leads out of the lab')
      const corefile = await lab.kubectlOk('b', ['-n', 'kube-system', 'get', 'configmap', 'coredns', '-o', 'jsonpath={.data.Corefile}'])
      const edited = corefile.replace('    cache 30\n', '    hosts {\n       10.98.0.1 legacy.example\n       fallthrough\n    }\n    cache 30\n') +
        `# xcc:begin xcc.test\nxcc.test:53 {\n    errors\n    cache 30\n    forward . ${stubIp}\n    rewrite name foo.xcc.test web.xcc.test\n}\n# xcc:end\n`
      await lab.kubectlOk('b', ['-n', 'kube-system', 'patch', 'configmap', 'coredns', '--type', 'merge', '-p', JSON.stringify({data: {Corefile: edited}})])
      const forwarded = await until(() => getent(clientB, 'web.xcc.test'), (v) => v !== undefined)
      assert.equal(forwarded.value, '10.99.0.7', 'the forward zone of the Corefile')
      assert.equal(await getent(clientB, 'legacy.example'), '10.98.0.1', 'the hosts plugin\'s inline entry')
      assert.equal(await getent(clientB, 'client.default.svc.cluster.local'), undefined, 'no such Service')
      const bEvents = await until(() => lab.kubectlOk('b', ['-n', 'kube-system', 'get', 'events']), (v) => /NotEmulated/.test(v))
      assert.match(bEvents.value, /NotEmulated\s+configmap\/coredns\s+.*plugin rewrite/)
      t.diagnostic(`the Corefile edit took effect after ${Math.round(forwarded.ms)} ms`)
    } finally {
      await lab.down()
    }
  })

  it('a topology that lists kube-system/kube-dns (a snapshot does): its pod runs the server, its Service\'s rules carry the queries', async () => {
    const lab = new DnsLab(`dd${process.pid}`)
    try {
      await lab.up(DECLARED_DNS_TOPOLOGY)
      const client = lab.ns('pod/c/default/client')
      assert.equal((await exec('ip', ['netns', 'exec', client, 'cat', '/etc/resolv.conf'])).stdout, 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.32.0.10\noptions ndots:5\n')
      assert.equal((await until(() => getent(client, 'kube-dns.kube-system'), (v) => v !== undefined)).value, '10.32.0.10')
      assert.equal(await getent(client, '10-22-0-7.kube-system.pod.cluster.local'), '10.22.0.7')
      assert.deepEqual(await query(client, '10.32.0.10', 'example.com'), {code: 'EREFUSED'})
      assert.equal(await lab.kubectlOk('c', ['-n', 'kube-system', 'get', 'pods', '-o', 'jsonpath={.items[*].metadata.name}']), 'kube-dns-5b8f7c9d4-x2x7q', 'no second DNS pod')
    } finally {
      await lab.down()
    }
  })
})
