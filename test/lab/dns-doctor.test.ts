/**
 * The doctor's name resolution against the lab's real cluster DNS: for each DNS outcome, what a
 * pod of the lab resolves (getent through its own resolv.conf: search path, ndots:5, kube-dns
 * with the stub domains of its ConfigMap) and what the static doctor predicts for the same
 * topology must agree.
 *
 * The topology declares what `xcc dns link` leaves in a cluster (the responder's pod, Service and
 * ConfigMap, written by xcc's own responderData; the kube-dns stub domain), and a DNS server of
 * the zone in b (the same responder form): the lab loads them as declared. `unlink` is emulated
 * by taking the stub domain out of the kube-dns ConfigMap; then the stub domain points at b's
 * server, and the firewall rule admitting a's DNS pod goes. The static doctor gets the same
 * topology with the same edits. Needs root, iproute2, iptables, dnsmasq and kubectl.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {CHECKS} from '../../src/checks/index.js'
import {evaluateDoctorTo} from '../../src/core/doctor/dns.js'
import {RESPONDER_LINKS_ANNOTATION, RESPONDER_NAME, RESPONDER_NAMESPACE, responderData} from '../../src/core/dns/responder.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import {labDown, labUp} from '../../src/lab/lifecycle.js'
import type {LabState} from '../../src/lab/runtime/state.js'
import {Kubectl, findKubectl, kubectlSkip} from '../support/kubectl.js'
import {getent, query, until} from '../support/lab-dns.js'
import {requireLabTools} from '../support/netns.js'
import {DNS_TOPOLOGY} from './dns-topology.js'

const HOME = mkdtempSync(join(tmpdir(), 'xcc-dnsdoc-'))
process.env.XCC_HOME = HOME

const NAME = 'server.default.b.clusters.xcc.test'
/** a second record of the zone, first asked once the stub server is blocked (nothing cached for it) */
const LATER = 'later.default.b.clusters.xcc.test'
const ADDRESS = '10.21.0.10'
const ZONE = 'b.clusters.xcc.test'
/** a's responder Service, and b's DNS server pod */
const RESPONDER = '10.30.0.53'
const B_SERVER = '10.21.0.53'
/** a's kube-dns Service: every pod's nameserver */
const KUBE_DNS = '10.30.0.10'

type Cluster = {name: string; pods: unknown[]; services?: unknown[]; configMaps?: unknown[]}

/** a DNS server of the zone in `cluster` as `xcc dns link` makes it: pod, Service, ConfigMap */
function declareResponder(cluster: Cluster, node: string, podIP: string, serviceIP: string): void {
  const {data, annotation} = responderData([{zone: ZONE, cluster: 'b', context: 'b', domain: 'clusters.xcc.test', services: 'all', records: [{name: NAME, address: ADDRESS}, {name: LATER, address: ADDRESS}]}])
  cluster.pods.push({namespace: RESPONDER_NAMESPACE, name: RESPONDER_NAME, node, ip: podIP, ports: [53]})
  cluster.services = [...(cluster.services ?? []), {namespace: RESPONDER_NAMESPACE, name: RESPONDER_NAME, clusterIP: serviceIP, ports: [{name: 'dns', port: 53, protocol: 'UDP'}, {name: 'dns-tcp', port: 53, protocol: 'TCP'}], endpoints: [RESPONDER_NAME]}]
  cluster.configMaps = [...(cluster.configMaps ?? []), {namespace: RESPONDER_NAMESPACE, name: RESPONDER_NAME, annotations: {[RESPONDER_LINKS_ANNOTATION]: annotation}, data}]
}

/** the lab's topology (a linked to its responder) and, for the static doctor, the edits the test makes to the lab */
function topology(stubDomains: Record<string, string[]> = {[ZONE]: [RESPONDER]}, withoutFirewall?: string): string {
  const doc = yaml.load(DNS_TOPOLOGY) as {firewalls: Array<{name: string}>; clusters: [Cluster, Cluster]}
  const [a, b] = doc.clusters
  declareResponder(a, 'gke-a-node-2', '10.20.1.53', RESPONDER)
  a.configMaps?.push({namespace: 'kube-system', name: 'kube-dns', data: {stubDomains: JSON.stringify(stubDomains)}})
  declareResponder(b, 'gke-b-node-1', B_SERVER, '10.31.0.53')
  if (withoutFirewall) doc.firewalls = doc.firewalls.filter((f) => f.name !== withoutFirewall)
  return yaml.dump(doc)
}

function predict(name: string, stubDomains?: Record<string, string[]>, withoutFirewall?: string) {
  return evaluateDoctorTo(parseTopology(topology(stubDomains, withoutFirewall), 'dns-doctor-static.yaml'), 'a/default/client', `${name}:80`, undefined, CHECKS)
}

describe('the doctor resolves names as the lab\'s pods do', {skip: kubectlSkip()}, () => {
  before(() => requireLabTools([['dnsmasq', ['--version'], 'dnsmasq-base']]))
  after(() => rmSync(HOME, {recursive: true, force: true}))

  it('a linked name, a missing name, unlink (DNS_STUB_DOMAIN_MISSING), a blocked stub server (DNS_SERVER_UNREACHABLE)', async (t) => {
    const lab = `dd${process.pid}`
    const found = findKubectl()
    const kubectl = new Kubectl('path' in found ? found.path : 'kubectl-missing')
    let state: LabState | undefined
    try {
      await labDown(lab)
      const text = topology()
      state = await labUp({name: lab, model: parseTopology(text, 'dns-lab.yaml'), topologyText: text, source: 'test:dns-doctor'}, () => {})
      const s = state
      const stub = (domains: Record<string, string[]>) => kubectl.ok(s.kubeconfig, ['--context', 'a', '-n', 'kube-system', 'patch', 'configmap', 'kube-dns', '--type', 'merge', '-p', JSON.stringify({data: {stubDomains: JSON.stringify(domains)}})])
      const client = (s.plan.hosts['pod/a/default/client'] as {ns: string}).ns
      await until(() => getent(client, 'backend.default.svc.cluster.local'), (v) => v !== undefined)

      // linked as declared: the stub domain sends the zone to a's responder
      const seen = (await until(() => getent(client, NAME), (v) => v !== undefined)).value
      const working = predict(NAME)
      t.diagnostic(`lab: ${NAME} → ${seen}; static doctor: ${working.dns?.outcome} ${working.dns?.address}`)
      assert.equal(seen, ADDRESS)
      assert.equal(working.dns?.address, seen, 'the static doctor resolves it to what the pod got')
      assert.equal(working.flow.packet.dst, ADDRESS, 'and traces the path to that address')

      const missing = `nosuch.default.${ZONE}`
      assert.equal(await getent(client, missing), undefined)
      assert.equal(predict(missing).diagnosis?.code, 'DNS_NAME_NOT_FOUND')

      // unlink (emulated: the stub domain goes from the kube-dns ConfigMap; the responder stays)
      await stub({})
      const gone = await until(() => getent(client, `${NAME}.`), (v) => v === undefined)
      assert.equal(gone.value, undefined, 'after unlink the pod cannot resolve the name')
      assert.equal(predict(NAME, {}).diagnosis?.code, 'DNS_STUB_DOMAIN_MISSING')

      // the stub domain to b's DNS server, then the firewall rule that admitted a's DNS pod goes (FW-02: implied deny)
      const viaB = {[ZONE]: [B_SERVER]}
      await stub(viaB)
      assert.equal((await until(() => getent(client, `${NAME}.`), (v) => v !== undefined)).value, ADDRESS, 'the server in b answers while the firewall admits it')
      assert.equal(predict(NAME, viaB).findings.find((f) => f.check === 'dns.server-reachable')?.status, 'pass')
      const token = readFileSync(s.cloud!.adminTokenFile, 'utf8').trim()
      const deleted = await fetch(`${s.cloud!.url}/compute/v1/projects/${s.cloud!.project}/global/firewalls/b-allow-dns-from-a`, {method: 'DELETE', headers: {authorization: `Bearer ${token}`}})
      assert.equal(deleted.status, 200, await deleted.text())
      // a name the server holds, never asked before: no answer at all (not NXDOMAIN: the query is lost)
      const direct = await query(client, KUBE_DNS, LATER)
      const started = performance.now()
      const unanswered = await getent(client, `${LATER}.`, 30_000)
      t.diagnostic(`firewall rule deleted: ${LATER} through kube-dns → ${direct}; getent gives up after ${Math.round(performance.now() - started)} ms`)
      assert.notEqual(direct, 'ENOTFOUND', 'the server did not say NXDOMAIN: it was not reached')
      assert.notEqual(direct, ADDRESS)
      assert.equal(unanswered, undefined, 'the blocked stub server: the name does not resolve')
      const blocked = predict(LATER, viaB, 'b-allow-dns-from-a')
      assert.equal(blocked.diagnosis?.code, 'DNS_SERVER_UNREACHABLE')
      assert.equal(blocked.forward.at(-1)?.cause, 'FIREWALL_RULE', 'the DNS query\'s own path is the blocked one')
    } finally {
      kubectl.dispose()
      await labDown(lab)
    }
  })
})
