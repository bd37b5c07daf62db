/**
 * The live doctor follows names (issue 17): `xcc doctor --live --to NAME:PORT` resolves the name
 * in the source pod's own resolver (getent through its resolv.conf: search path, ndots:5, the
 * lab's kube-dns with the stub domains of its ConfigMap), captures the DNS packets, compares the
 * answer with the static doctor's on the same topology, and probes the resolved address.
 * Cases: a short name through the search path (reached), a name that does not exist
 * (DNS_NAME_NOT_FOUND), the stub domain taken out (DNS_STUB_DOMAIN_MISSING), and b's firewall
 * no longer admitting a's DNS pod to b's stub server (DNS_SERVER_UNREACHABLE, FW-02: implied
 * deny), with the forwarded query captured and no answer. Needs root, iproute2, iptables,
 * tcpdump, curl, dnsmasq and kubectl; runs the built CLI (npm run build).
 */
import assert from 'node:assert/strict'
import {type SpawnSyncReturns, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import yaml from 'js-yaml'

import {CHECKS} from '../../src/checks/index.js'
import {evaluateDoctorTo} from '../../src/core/doctor/dns.js'
import {liveReportSchema} from '../../src/core/probe/report-schema.js'
import type {LiveReport} from '../../src/core/probe/report.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import {labDown, labUp} from '../../src/lab/lifecycle.js'
import type {LabState} from '../../src/lab/runtime/state.js'
import {Kubectl, findKubectl, kubectlSkip} from '../support/kubectl.js'
import {requireLabTools} from '../support/netns.js'
import {DNS_TOPOLOGY} from './dns-topology.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const HOME = mkdtempSync(join(tmpdir(), 'xcc-dnslive-'))
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

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const started = performance.now()
  for (;;) {
    const value = await probe()
    if (done(value) || performance.now() - started > timeoutMs) return value
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

interface Extra {
  readonly responderIp: string
  readonly stubDomains?: Record<string, string[]>
  readonly stubPodIp?: string
  readonly withoutFirewall?: string
}

/** the lab's topology as the doctor gets it with --topology: plus the pods the test made and a's ConfigMaps */
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

describe('the live doctor resolves names in the pod, as the static doctor predicts', {skip: kubectlSkip()}, () => {
  requireLabTools([['dnsmasq', ['--version'], 'dnsmasq-base'], ['tcpdump', ['--version'], 'tcpdump'], ['curl', ['--version'], 'curl']])
  after(() => rmSync(HOME, {recursive: true, force: true}))

  it('a short name is reached; a missing name, unlink and a blocked stub server are diagnosed, live and static alike', async (t) => {
    const lab = `dl${process.pid}`
    const found = findKubectl()
    const kubectl = new Kubectl('path' in found ? found.path : 'kubectl-missing')
    let state: LabState | undefined
    try {
      await labDown(lab)
      state = await labUp({name: lab, model: parseTopology(DNS_TOPOLOGY, 'dns-lab.yaml'), topologyText: DNS_TOPOLOGY, source: 'test:dns-live-doctor'}, () => {})
      const s = state
      const env = {...process.env, XCC_HOME: HOME, KUBECONFIG: s.kubeconfig, NO_COLOR: '1'}
      const xcc = (args: readonly string[], extra: Record<string, string> = {}): SpawnSyncReturns<string> => spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: {...env, ...extra}})
      // the cloud-read path (contracts §7): no --topology, the model read from the lab's cloud and clusters as xcc lab env says
      const printed = xcc(['lab', 'env', '--name', lab, '--json'])
      assert.equal(printed.status, 0, printed.stderr)
      const cloudEnv = {...(JSON.parse(printed.stdout) as {variables: Record<string, string>}).variables, HOME: mkdtempSync(join(HOME, 'no-credentials-'))}
      const k = (context: string, args: readonly string[], input?: string) => kubectl.ok(s.kubeconfig, ['--context', context, ...args], input === undefined ? {} : {input})
      const podIP = async (context: string, name: string, namespace: string): Promise<string> => {
        const v = await until(() => k(context, ['-n', namespace, 'get', 'pod', name, '-o', 'jsonpath={.status.phase} {.status.podIP}']), (x) => x.startsWith('Running '))
        assert.match(v, /^Running \d+\.\d+\.\d+\.\d+$/)
        return v.split(' ')[1] as string
      }
      const topologyFile = (extra: Extra): string => {
        const path = join(HOME, `topology-${Date.now()}.yaml`)
        writeFileSync(path, staticTopology(extra))
        return path
      }
      /** the live doctor by name (with or without the topology), its report checked against the schema */
      const live = (to: string, expectExit: number, extra?: Extra | 'cloud', from = 'a/default/client'): LiveReport => {
        const started = performance.now()
        const r = xcc(['doctor', '--live', '--from', from, '--to', to, '--timeout', '2s', '--json', ...(extra && extra !== 'cloud' ? ['--topology', topologyFile(extra)] : [])], extra === 'cloud' ? cloudEnv : {})
        t.diagnostic(`xcc doctor --live --from ${from} --to ${to}${extra === 'cloud' ? ' (cloud facts)' : extra ? ' --topology' : ''}: exit ${r.status} in ${Math.round(performance.now() - started)} ms`)
        assert.equal(r.status, expectExit, `stdout: ${r.stdout.slice(0, 4000)}\nstderr: ${r.stderr.slice(-3000)}`)
        const report = JSON.parse(r.stdout) as LiveReport
        const parsed = liveReportSchema.safeParse(report)
        assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 5)))
        assert.deepEqual(report.observations.cleanup.failed, [], 'every pod of the run is removed')
        return report
      }
      const predict = (extra: Extra, name: string) => evaluateDoctorTo(parseTopology(staticTopology(extra), 'static.yaml'), 'a/default/client', `${name}:80`, undefined, CHECKS)

      // the responder of a and the stub domain that points kube-dns at it
      await k('a', ['apply', '-f', '-'], dnsmasqPod('xcc-dns-responder', 'kube-system', 'gke-a-node-2', [`--host-record=${NAME},${ADDRESS}`]))
      const responderIp = await podIP('a', 'xcc-dns-responder', 'kube-system')
      const linked = {[ZONE]: [responderIp]}
      await k('a', ['-n', 'kube-system', 'patch', 'configmap', 'kube-dns', '--type', 'merge', '-p', JSON.stringify({data: {stubDomains: JSON.stringify(linked)}})])

      // 1. a short name through the search path (ndots:5), in the client pod itself: reached
      const short = live('backend:80', 0, {responderIp, stubDomains: linked})
      const dns = short.observations.dns
      assert.equal(dns?.mode, 'ephemeral')
      assert.equal(dns?.result, 'resolved')
      assert.deepEqual(dns?.addresses, ['10.30.0.20'], 'backend.default.svc.cluster.local, the ClusterIP')
      assert.deepEqual(dns?.resolver.search.slice(0, 1), ['default.svc.cluster.local'])
      assert.equal(dns?.resolver.ndots, 5)
      assert.equal(short.dns?.address, '10.30.0.20')
      assert.equal(short.verdict, 'reachable')
      assert.equal(short.observations.probe.result, 'connected')
      assert.equal(short.observations.probe.dst, '10.30.0.20', 'the path probe goes to the resolved address')
      const source = dns?.captures[0]
      assert.equal(source?.status, 'ok')
      assert.ok(source?.packets.some((p) => p.role === 'request' && p.line.includes('A? backend.default.svc.cluster.local.')), 'the pod\'s query is captured')
      assert.ok(source?.packets.some((p) => p.role === 'reply' && p.line.includes('A 10.30.0.20')), 'and its answer')
      assert.equal(short.findings.find((f) => f.check === 'probe.matches-prediction')?.status, 'pass')
      assert.equal(predict({responderIp, stubDomains: linked}, 'backend').verdict, 'reachable', 'the static doctor agrees')
      if (process.env.XCC_KEEP_REPORTS) writeFileSync(join(process.env.XCC_KEEP_REPORTS, 'dns-live-resolved.json'), JSON.stringify(short, null, 2))

      // a name of b through the stub domain, with the cloud's facts read from the lab's APIs (the
      // prediction is the snapshot's): it resolves as predicted, and then the path to b's pod is
      // the problem — net-b admits only DNS from a's pods (FW-02: the implied deny for tcp 80)
      const viaCloud = live(`${NAME}:80`, 1, 'cloud')
      assert.ok(viaCloud.observations.notes.some((n) => n.startsWith('the cloud facts come from project')), viaCloud.observations.notes.join('\n'))
      assert.equal(viaCloud.observations.dns?.addresses[0], ADDRESS, 'the responder\'s record, through the stub domain')
      assert.equal(viaCloud.observations.checks?.[0]?.status, 'match', 'the snapshot\'s prediction agrees')
      assert.equal(viaCloud.diagnosis?.code, 'FIREWALL_RULE')
      assert.equal(viaCloud.observations.probe.dst, ADDRESS, 'the path probe went to the resolved address')

      // the full name without --topology (no prediction): from a probe pod of a
      const fqdn = live('backend.default.svc.cluster.local:80', 0, undefined, 'a')
      assert.equal(fqdn.observations.dns?.mode, 'pod')
      assert.equal(fqdn.verdict, 'reachable')
      assert.equal(fqdn.dns?.steps[0]?.query, 'backend.default.svc.cluster.local.default.svc.cluster.local.', 'four dots < ndots:5: the search path first, as the pod\'s resolver does')

      // 2. a name that does not exist: DNS_NAME_NOT_FOUND, live and static
      const missing = `nosuch.default.${ZONE}`
      const nf = live(`${missing}:80`, 1, {responderIp, stubDomains: linked})
      assert.equal(nf.observations.dns?.result, 'not-found')
      assert.equal(nf.diagnosis?.code, 'DNS_NAME_NOT_FOUND')
      assert.equal(nf.observations.probe.result, 'not-run')
      assert.equal(predict({responderIp, stubDomains: linked}, missing).diagnosis?.code, 'DNS_NAME_NOT_FOUND')
      assert.equal(live(`${missing}:80`, 1).diagnosis?.code, 'DNS_NAME_NOT_FOUND', 'without --topology too')

      // 3. unlink (the stub domain goes; the responder stays): DNS_STUB_DOMAIN_MISSING
      await k('a', ['-n', 'kube-system', 'patch', 'configmap', 'kube-dns', '--type', 'merge', '-p', JSON.stringify({data: {stubDomains: '{}'}})])
      await new Promise((resolve) => setTimeout(resolve, 1500))
      const unlinked = live(`${NAME}:80`, 1, {responderIp, stubDomains: {}})
      assert.equal(unlinked.observations.dns?.result, 'not-found')
      assert.equal(unlinked.diagnosis?.code, 'DNS_STUB_DOMAIN_MISSING')
      assert.equal(predict({responderIp, stubDomains: {}}, NAME).diagnosis?.code, 'DNS_STUB_DOMAIN_MISSING')
      // a --topology that still has the stub domain: the pod's answer contradicts it, and the packets decide
      const stale = live(`${NAME}:80`, 1, {responderIp, stubDomains: linked})
      assert.equal(stale.observations.checks?.[0]?.status, 'mismatch')
      assert.equal(stale.findings.find((f) => f.check === 'probe.matches-prediction')?.status, 'fail')
      assert.equal(stale.diagnosis?.code, 'DNS_NAME_NOT_FOUND')
      assert.ok(stale.diagnosis?.evidence.some((e) => e.startsWith(`contradiction: predicted ${NAME} → ${ADDRESS}; observed ${NAME}: not found`)), stale.diagnosis?.evidence.join('\n'))
      if (process.env.XCC_KEEP_REPORTS) writeFileSync(join(process.env.XCC_KEEP_REPORTS, 'dns-live-mismatch.json'), JSON.stringify(stale, null, 2))

      // 4. a stub server in b, then b's firewall no longer admits a's DNS pod (FW-02: implied deny)
      await k('b', ['apply', '-f', '-'], dnsmasqPod('stub-dns', 'default', 'gke-b-node-1', [`--address=/${ZONE}/${ADDRESS}`]))
      const stubPodIp = await podIP('b', 'stub-dns', 'default')
      const viaB = {[ZONE]: [stubPodIp]}
      await k('a', ['-n', 'kube-system', 'patch', 'configmap', 'kube-dns', '--type', 'merge', '-p', JSON.stringify({data: {stubDomains: JSON.stringify(viaB)}})])
      await new Promise((resolve) => setTimeout(resolve, 1500))
      const token = readFileSync(s.cloud!.adminTokenFile, 'utf8').trim()
      const deleted = await fetch(`${s.cloud!.url}/compute/v1/projects/${s.cloud!.project}/global/firewalls/b-allow-dns-from-a`, {method: 'DELETE', headers: {authorization: `Bearer ${token}`}})
      assert.equal(deleted.status, 200, await deleted.text())
      const blockedTopology = {responderIp, stubDomains: viaB, stubPodIp, withoutFirewall: 'b-allow-dns-from-a'}
      const blocked = live(`fresh-${Date.now()}.${ZONE}:80`, 1, blockedTopology)
      if (process.env.XCC_KEEP_REPORTS) writeFileSync(join(process.env.XCC_KEEP_REPORTS, 'dns-live-blocked.json'), JSON.stringify(blocked, null, 2))
      assert.ok(blocked.observations.dns?.result === 'timeout' || blocked.observations.dns?.result === 'servfail', blocked.observations.dns?.result)
      assert.equal(blocked.diagnosis?.code, 'DNS_SERVER_UNREACHABLE')
      const forwarded = blocked.observations.dns?.captures.flatMap((c) => c.packets).filter((p) => p.role === 'request' && p.dst === stubPodIp) ?? []
      assert.ok(forwarded.length > 0, `the cluster DNS pod's forwarded query to ${stubPodIp}:53 is captured`)
      assert.ok(!blocked.observations.dns?.captures.flatMap((c) => c.packets).some((p) => p.role === 'reply' && p.src === stubPodIp), 'and no answer from it')
      assert.ok(blocked.diagnosis?.evidence.some((e) => e.includes(stubPodIp) && e.includes('tcpdump: ')), 'the captured query is evidence')
      assert.equal(predict(blockedTopology, NAME).diagnosis?.code, 'DNS_SERVER_UNREACHABLE', 'the static doctor agrees')
      const blockedCloud = live(`again-${Date.now()}.${ZONE}:80`, 1, 'cloud')
      assert.equal(blockedCloud.diagnosis?.code, 'DNS_SERVER_UNREACHABLE')
      assert.equal(blockedCloud.observations.checks?.[0]?.status, 'match', 'the cloud\'s facts predict it too')
      assert.equal(blockedCloud.forward.at(-1)?.cause, 'FIREWALL_RULE', 'the forwarded query\'s own path, from the cloud\'s firewall rules')
    } finally {
      kubectl.dispose()
      await labDown(lab)
    }
  })
})
