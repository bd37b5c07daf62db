/**
 * The doctor's name resolution against the lab's real cluster DNS: for each DNS outcome, what a
 * pod of the lab resolves (getent through its own resolv.conf: search path, ndots:5, kube-dns
 * with the stub domains of its ConfigMap) and what the static doctor predicts for the same
 * topology (the lab's, with the ConfigMaps and the pods the test made) must agree.
 *
 * The responder is a dnsmasq pod in kube-system of a standing in for `xcc dns link`'s (its
 * records given as a zone file in the static topology); `unlink` is emulated by taking the stub
 * domain out of the kube-dns ConfigMap. Needs root, iproute2, iptables, dnsmasq and kubectl.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import yaml from 'js-yaml'

import {CHECKS} from '../../src/checks/index.js'
import {evaluateDoctorTo} from '../../src/core/doctor/dns.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import {labDown, labUp} from '../../src/lab/lifecycle.js'
import {exec} from '../../src/lab/runtime/exec.js'
import type {LabState} from '../../src/lab/runtime/state.js'
import {Kubectl, findKubectl, kubectlSkip} from '../support/kubectl.js'
import {requireLabTools} from '../support/netns.js'
import {DNS_TOPOLOGY} from './dns-topology.js'

const HOME = mkdtempSync(join(tmpdir(), 'xcc-dnsdoc-'))
process.env.XCC_HOME = HOME

const NAME = 'server.default.b.clusters.xcc.test'
const ADDRESS = '10.21.0.10'
const ZONE = 'b.clusters.xcc.test'

const dnsmasqPod = (name: string, namespace: string, node: string, args: readonly string[]): string => yaml.dump({
  apiVersion: 'v1', kind: 'Pod', metadata: {name, namespace, labels: {app: name}},
  spec: {
    nodeName: node, securityContext: {runAsUser: 65534, runAsGroup: 65534},
    containers: [{name: 'dnsmasq', image: 'dnsmasq', command: ['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--port=53', '--pid-file=', '--log-facility=-', ...args]}],
  },
})

async function getent(ns: string, name: string): Promise<string | undefined> {
  const out = await exec('ip', ['netns', 'exec', ns, 'getent', 'hosts', name], {timeoutMs: 15_000})
  return out.code === 0 ? out.stdout.trim().split(/\s+/)[0] : undefined
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 8000): Promise<T> {
  const started = performance.now()
  for (;;) {
    const value = await probe()
    if (done(value) || performance.now() - started > timeoutMs) return value
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

interface Extra {
  readonly responderIp: string
  readonly stubDomains?: Record<string, string[]>
  readonly stubPodIp?: string
  readonly withoutFirewall?: string
}

/** the lab's topology as the static doctor gets it: plus the pods the test made and a's ConfigMaps */
function staticTopology(extra: Extra): string {
  const doc = yaml.load(DNS_TOPOLOGY) as {firewalls: Array<{name: string}>; clusters: Array<{name: string; pods: unknown[]; services?: unknown[]; configMaps?: unknown[]}>}
  const [a, b] = doc.clusters as [typeof doc.clusters[number], typeof doc.clusters[number]]
  a.pods.push({namespace: 'kube-system', name: 'xcc-dns-responder', node: 'gke-a-node-2', ip: extra.responderIp, ports: [53]})
  a.services = [...(a.services ?? []), {namespace: 'kube-system', name: 'xcc-dns-responder', clusterIP: '10.30.0.53', ports: [{name: 'dns', port: 53, protocol: 'UDP'}], endpoints: ['xcc-dns-responder']}]
  const zone = `$ORIGIN ${ZONE}.\n@ 30 IN SOA ns.${ZONE}. hostmaster.${ZONE}. 1 7200 1800 86400 30\nserver.default 30 IN A ${ADDRESS} ; default/client\n`
  a.configMaps = [
    ...(extra.stubDomains ? [{namespace: 'kube-system', name: 'kube-dns', data: {stubDomains: JSON.stringify(extra.stubDomains)}}] : []),
    {namespace: 'kube-system', name: 'xcc-dns-responder', annotations: {'xcc.dev/dns-responder-links': JSON.stringify({[ZONE]: {cluster: 'b', context: 'b', domain: 'clusters.xcc.test', services: 'all'}})}, data: {[`${ZONE}.db`]: zone}},
  ]
  if (extra.stubPodIp) b.pods.push({namespace: 'default', name: 'stub-dns', node: 'gke-b-node-1', ip: extra.stubPodIp, ports: [53]})
  if (extra.withoutFirewall) doc.firewalls = doc.firewalls.filter((f) => f.name !== extra.withoutFirewall)
  return yaml.dump(doc)
}

function predict(extra: Extra, name: string) {
  const model = parseTopology(staticTopology(extra), 'dns-doctor-static.yaml')
  return evaluateDoctorTo(model, 'a/default/client', `${name}:80`, undefined, CHECKS)
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
      state = await labUp({name: lab, model: parseTopology(DNS_TOPOLOGY, 'dns-lab.yaml'), topologyText: DNS_TOPOLOGY, source: 'test:dns-doctor'}, () => {})
      const s = state
      const k = (context: string, args: readonly string[], input?: string) => kubectl.ok(s.kubeconfig, ['--context', context, ...args], input === undefined ? {} : {input})
      const podIP = async (context: string, name: string, namespace: string): Promise<string> => {
        const v = await until(() => k(context, ['-n', namespace, 'get', 'pod', name, '-o', 'jsonpath={.status.phase} {.status.podIP}']), (x) => x.startsWith('Running '), 15_000)
        assert.match(v, /^Running \d+\.\d+\.\d+\.\d+$/)
        return v.split(' ')[1] as string
      }
      const client = (s.plan.hosts['pod/a/default/client'] as {ns: string}).ns
      await until(() => getent(client, 'backend.default.svc.cluster.local'), (v) => v !== undefined)

      // the responder of a (its zone: one record), and the stub domain that points kube-dns at it
      await k('a', ['apply', '-f', '-'], dnsmasqPod('xcc-dns-responder', 'kube-system', 'gke-a-node-2', [`--host-record=${NAME},${ADDRESS}`]))
      const responderIp = await podIP('a', 'xcc-dns-responder', 'kube-system')
      const linked = {[ZONE]: [responderIp]}
      await k('a', ['-n', 'kube-system', 'patch', 'configmap', 'kube-dns', '--type', 'merge', '-p', JSON.stringify({data: {stubDomains: JSON.stringify(linked)}})])

      const seen = await until(() => getent(client, NAME), (v) => v !== undefined)
      const working = predict({responderIp, stubDomains: linked}, NAME)
      t.diagnostic(`lab: ${NAME} → ${seen}; static doctor: ${working.dns?.outcome} ${working.dns?.address}`)
      assert.equal(seen, ADDRESS)
      assert.equal(working.dns?.address, seen, 'the static doctor resolves it to what the pod got')
      assert.equal(working.flow.packet.dst, ADDRESS, 'and traces the path to that address')

      const missing = `nosuch.default.${ZONE}`
      assert.equal(await getent(client, missing), undefined)
      assert.equal(predict({responderIp, stubDomains: linked}, missing).diagnosis?.code, 'DNS_NAME_NOT_FOUND')

      // unlink (emulated: the stub domain goes from the kube-dns ConfigMap; the responder stays)
      await k('a', ['-n', 'kube-system', 'patch', 'configmap', 'kube-dns', '--type', 'merge', '-p', JSON.stringify({data: {stubDomains: '{}'}})])
      const gone = await until(() => getent(client, `${NAME}.`), (v) => v === undefined)
      assert.equal(gone, undefined, 'after unlink the pod cannot resolve the name')
      assert.equal(predict({responderIp, stubDomains: {}}, NAME).diagnosis?.code, 'DNS_STUB_DOMAIN_MISSING')

      // a stub server in b, then the firewall rule that admitted a's DNS pod goes (FW-02: implied deny)
      await k('b', ['apply', '-f', '-'], dnsmasqPod('stub-dns', 'default', 'gke-b-node-1', [`--address=/${ZONE}/${ADDRESS}`, '--log-queries']))
      const stubPodIp = await podIP('b', 'stub-dns', 'default')
      const viaB = {[ZONE]: [stubPodIp]}
      await k('a', ['-n', 'kube-system', 'patch', 'configmap', 'kube-dns', '--type', 'merge', '-p', JSON.stringify({data: {stubDomains: JSON.stringify(viaB)}})])
      assert.equal(await until(() => getent(client, `${NAME}.`), (v) => v !== undefined), ADDRESS, 'the stub server in b answers while the firewall admits it')
      const open = predict({responderIp, stubDomains: viaB, stubPodIp}, NAME)
      assert.equal(open.findings.find((f) => f.check === 'dns.server-reachable')?.status, 'pass')
      const token = readFileSync(s.cloud!.adminTokenFile, 'utf8').trim()
      const deleted = await fetch(`${s.cloud!.url}/compute/v1/projects/${s.cloud!.project}/global/firewalls/b-allow-dns-from-a`, {method: 'DELETE', headers: {authorization: `Bearer ${token}`}})
      assert.equal(deleted.status, 200, await deleted.text())
      assert.equal(await until(() => getent(client, `fresh-${Date.now()}.${ZONE}.`), (v) => v === undefined), undefined, 'the blocked stub server: the name does not resolve')
      const blocked = predict({responderIp, stubDomains: viaB, stubPodIp, withoutFirewall: 'b-allow-dns-from-a'}, NAME)
      assert.equal(blocked.diagnosis?.code, 'DNS_SERVER_UNREACHABLE')
      assert.equal(blocked.forward.at(-1)?.cause, 'FIREWALL_RULE', 'the DNS query\'s own path is the blocked one')
      const logs = await k('b', ['logs', 'stub-dns'])
      t.diagnostic(`the DNS query's source as the stub server saw it: ${/from (\S+)/.exec(logs)?.[1] ?? '(not logged)'}; the doctor's: ${blocked.flow.packet.src}`)
    } finally {
      kubectl.dispose()
      await labDown(lab)
    }
  })
})
