/**
 * `xcc dns link` end to end in the lab, on real DNS queries and real packets (seed 004's flow):
 * cluster b's `kuard` Service in default is behind an internal load balancer that pods of a
 * reach; `xcc dns link --from-context a --to-context b` deploys the responder in a (a Deployment
 * of the CoreDNS image, which the lab runs as its stand-in, behind a ClusterIP Service that the
 * lab's kube-proxy serves), waits until it is ready — when link returns, every responder pod is
 * Ready and kube-proxy sends the responder's ClusterIP to them, so the queries kube-dns forwards
 * have a server from the start — and points a's kube-dns at it (stubDomains). Then from a pod of a,
 * `getent hosts kuard.default.b.clusters.xcc.test` gives b's load-balancer address and curl is
 * answered by b's pod; `dns list` is current, goes STALE (exit 1) when b's load-balancer address
 * changes, and is current again after another `dns link`; seed 002's `--domain global` is refused
 * (exit 2, nothing written) without --allow-public-domain and works with it; `dns unlink` gives
 * back a's kube-dns ConfigMap byte for byte and the names stop resolving. The live doctor, with
 * the facts read from the lab's APIs, reaches kuard by name once linked, and after unlink it — and
 * the static doctor on a snapshot of the lab — says DNS_STUB_DOMAIN_MISSING. On a CoreDNS cluster, a
 * responder image that does not run is exit 3 naming the pod's reason with the Corefile untouched,
 * and the right image rolls the crashing pods out before the Corefile points at the responder.
 * Needs root, iproute2, iptables, conntrack, curl, dnsmasq (dnsmasq-base), kubectl and the built CLI.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {parseTopology} from '../../src/core/topology/parse.js'
import {labDown, labUp} from '../../src/lab/lifecycle.js'
import {labNamespaces} from '../../src/lab/runtime/dataplane.js'
import {exec} from '../../src/lab/runtime/exec.js'
import type {LabState} from '../../src/lab/runtime/state.js'
import {Kubectl, findKubectl, kubectlSkip} from '../support/kubectl.js'
import {ROOT} from '../support/lab-cli.js'
import {getent, query, until} from '../support/lab-dns.js'
import {requireLabTools} from '../support/netns.js'
import {KUARD_TOPOLOGY as TOPOLOGY} from './dns-topology.js'

const HOME = mkdtempSync(join(tmpdir(), 'xcc-dns-link-'))
process.env.XCC_HOME = HOME

const NAME = 'kuard.default.b.clusters.xcc.test'

/** the responder's pods (Ready?) and where kube-proxy on `node` sends its ClusterIP's port 53 */
async function responderServed(state: LabState, k: (context: string, args: readonly string[]) => Promise<string>, node: string): Promise<{clusterIP: string; pods: Array<{name: string; ip: string; ready: boolean}>; dnat: string[]}> {
  const clusterIP = await k('a', ['-n', 'kube-system', 'get', 'service', 'xcc-dns-responder', '-o', 'jsonpath={.spec.clusterIP}'])
  const list = JSON.parse(await k('a', ['-n', 'kube-system', 'get', 'pods', '-l', 'app.kubernetes.io/name=xcc-dns-responder', '-o', 'json'])) as {items: Array<{metadata: {name: string; deletionTimestamp?: string}; status?: {podIP?: string; conditions?: Array<{type: string; status: string}>}}>}
  const pods = list.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => ({name: p.metadata.name, ip: p.status?.podIP ?? '', ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')}))
  const nat = await exec('ip', ['netns', 'exec', state.plan.hosts[`node/${node}`]?.ns as string, 'iptables-save', '-t', 'nat'])
  assert.equal(nat.code, 0, nat.stderr)
  // the Service's chains (KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-… DNAT), followed from its ClusterIP
  const lines = nat.stdout.split('\n')
  const svcChains = new Set(lines.filter((l) => l.startsWith('-A KUBE-SERVICES ') && l.includes(`-d ${clusterIP}/32`) && /--dport 53\b/.test(l)).map((l) => /-j (\S+)/.exec(l)?.[1] ?? ''))
  const sepChains = new Set(lines.filter((l) => svcChains.has(l.split(' ')[1] ?? '')).map((l) => /-j (\S+)/.exec(l)?.[1] ?? ''))
  const dnat = lines.filter((l) => sepChains.has(l.split(' ')[1] ?? '')).map((l) => /--to-destination (\S+)/.exec(l)?.[1]).filter((d): d is string => d !== undefined)
  return {clusterIP, pods, dnat: [...new Set(dnat)].sort()}
}

describe('xcc dns link in the lab, on real packets', {skip: kubectlSkip()}, () => {
  const lab = `dl${process.pid}`
  const found = findKubectl()
  const kubectl = new Kubectl('path' in found ? found.path : 'kubectl-missing')
  after(async () => {
    kubectl.dispose()
    await labDown(lab)
    rmSync(HOME, {recursive: true, force: true})
  })

  it('link, resolve, curl, list (current, STALE, refreshed), public domain, unlink restoring kube-dns', async (t) => {
    requireLabTools([['curl', ['--version'], 'curl'], ['dnsmasq', ['--version'], 'dnsmasq-base']])
    await labDown(lab)
    const state: LabState = await labUp({name: lab, model: parseTopology(TOPOLOGY, 'dns-link.yaml'), topologyText: TOPOLOGY, source: 'test:dns-link'}, () => {})
    const xcc = (args: readonly string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args, '--kubeconfig', state.kubeconfig], {cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: {...process.env, XCC_HOME: HOME, NO_COLOR: '1'}})
    // the doctor with the facts read from the lab's APIs (contracts §7): only what `xcc lab env` prints
    const printed = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'lab', 'env', '--name', lab, '--json'], {cwd: ROOT, encoding: 'utf8', env: {...process.env, XCC_HOME: HOME}})
    assert.equal(printed.status, 0, printed.stderr)
    const cloudEnv = {...process.env, ...(JSON.parse(printed.stdout) as {variables: Record<string, string>}).variables, XCC_HOME: HOME, HOME: mkdtempSync(join(HOME, 'home-')), NO_COLOR: '1'}
    const withCloud = (args: readonly string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args, '--json'], {cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: cloudEnv})
    const diagnosisOf = (r: ReturnType<typeof withCloud>): string | undefined => (JSON.parse(r.stdout) as {diagnosis?: {code?: string} | null}).diagnosis?.code
    const k = (context: string, args: readonly string[]) => kubectl.ok(state.kubeconfig, ['--context', context, ...args])
    const client = state.plan.hosts['pod/a/default/client']?.ns as string
    const kubeDnsBefore = await k('a', ['-n', 'kube-system', 'get', 'configmap', 'kube-dns', '-o', 'json'])
    const pick = (json: string): unknown => {
      const cm = JSON.parse(json) as {data?: unknown; metadata: {annotations?: unknown}}
      return {data: cm.data, annotations: cm.metadata.annotations}
    }

    // link: the responder runs (a Deployment the lab's API now serves), a's kube-dns forwards the zone to it
    const started = performance.now()
    const linked = xcc(['dns', 'link', '--from-context', 'a', '--to-context', 'b', '--json'])
    assert.equal(linked.status, 0, `dns link: ${linked.stderr}${linked.stdout}`)
    // when link returns, the responder answers: its pods are Ready and kube-proxy sends its ClusterIP to them (state, not time)
    const responding = await responderServed(state, k, 'gke-a-node-2')
    assert.equal(responding.pods.length, 2, 'two responder pods')
    assert.deepEqual(responding.pods.filter((p) => !p.ready), [], 'every responder pod is Ready when dns link returns')
    for (const p of responding.pods) assert.ok(responding.dnat.includes(`${p.ip}:53`), `kube-proxy on gke-a-node-2 sends ${responding.clusterIP}:53 to ${p.ip}:53 when dns link returns: ${responding.dnat.join(', ')}`)
    // the API says so too: the endpoints controller lists the responder pods in the Service's Endpoints (as `xcc snapshot` reads them)
    const endpoints = await until(async () => JSON.parse(await k('a', ['-n', 'kube-system', 'get', 'endpoints', 'xcc-dns-responder', '-o', 'json'])) as {subsets?: Array<{addresses?: Array<{ip: string; targetRef?: {kind: string; name: string}}>; ports?: Array<{port: number; protocol: string}>}>},
      (ep) => (ep.subsets ?? []).flatMap((s) => s.addresses ?? []).length === responding.pods.length, 5000)
    t.diagnostic(`the responder's Endpoints listed its pods ${Math.round(endpoints.ms)} ms after dns link returned`)
    const listedPods = (endpoints.value.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => `${a.targetRef?.kind}/${a.targetRef?.name}@${a.ip}`)).sort()
    assert.deepEqual(listedPods, responding.pods.map((p) => `Pod/${p.name}@${p.ip}`).sort(), 'the Endpoints of kube-system/xcc-dns-responder list the ready responder pods')
    assert.ok((endpoints.value.subsets ?? []).every((s) => (s.ports ?? []).some((p) => p.port === 53 && p.protocol === 'UDP')), 'with their DNS port')
    assert.match(linked.stderr, /waiting for the responder .* to be ready before the cluster DNS points at it/)
    assert.deepEqual((JSON.parse(linked.stdout) as {responder?: unknown}).responder, {ready: true, detail: '2 of 2 pods ready'})
    const firstStarted = performance.now()
    const first = await getent(client, NAME)
    t.diagnostic(`the first getent after dns link returned ${first ?? 'nothing'} in ${Math.round(performance.now() - firstStarted)} ms`)
    // (not asserted: whether kube-dns has taken the new stubDomains in yet is its own reload, as on GKE)
    const resolved = await until(() => getent(client, NAME), (v) => v === '10.11.0.100', 20_000)
    assert.equal(resolved.value, '10.11.0.100', `getent hosts ${NAME} from a/default/client`)
    t.diagnostic(`dns link took ${Math.round(resolved.ms + 0)} ms until the name resolved (${Math.round(performance.now() - started)} ms with the link)`)
    const ready = await k('a', ['-n', 'kube-system', 'get', 'deployment', 'xcc-dns-responder', '-o', 'jsonpath={.status.readyReplicas}/{.spec.replicas}'])
    assert.equal(ready, '2/2')
    const curl = await exec('ip', ['netns', 'exec', client, 'curl', '-s', '-m', '5', `http://${NAME}/`], {timeoutMs: 10_000})
    assert.match(curl.stdout, /server=b\/default\/kuard/, `curl http://${NAME}/ from a/default/client: ${curl.stdout}${curl.stderr}`)
    // the live doctor follows the name from the client pod itself, and reaches b's pod through the load balancer
    const reached = withCloud(['doctor', '--live', '--from', 'a/default/client', '--to', `${NAME}:80`, '--timeout', '5s'])
    assert.equal(reached.status, 0, `xcc doctor --live --to ${NAME}:80 once linked: ${reached.stdout.slice(0, 3000)}${reached.stderr.slice(-2000)}`)
    assert.equal(await getent(client, 'other.default.b.clusters.xcc.test'), undefined, 'a name of the zone without a record does not resolve')
    // the responder itself, through its ClusterIP (the lab's kube-proxy): as CoreDNS's file plugin answers
    const responder = await k('a', ['-n', 'kube-system', 'get', 'service', 'xcc-dns-responder', '-o', 'jsonpath={.spec.clusterIP}'])
    assert.match(responder, /^10\.30\.(\d|1[0-5])\.\d+$/, 'its ClusterIP is from a\'s services range 10.30.0.0/20, as GKE allocates it')
    assert.equal(await query(client, responder, NAME), '10.11.0.100')
    assert.equal(await query(client, responder, 'other.default.b.clusters.xcc.test'), 'ENOTFOUND', 'NXDOMAIN in the zone')
    assert.equal(await query(client, responder, 'example.com'), 'EREFUSED', 'outside every zone')

    // list: current; b's load balancer moves: STALE (exit 1); link again: current
    const listed = xcc(['dns', 'list', '--context', 'a'])
    assert.equal(listed.status, 0, `dns list: ${listed.stderr}${listed.stdout}`)
    await k('b', ['-n', 'default', 'patch', 'service', 'kuard', '--subresource=status', '--type=merge', '-p', '{"status":{"loadBalancer":{"ingress":[{"ip":"10.11.0.101"}]}}}'])
    const stale = xcc(['dns', 'list', '--context', 'a'])
    assert.equal(stale.status, 1, `dns list after the move: ${stale.stderr}${stale.stdout}`)
    assert.match(stale.stdout, /STALE/)
    const relinked = xcc(['dns', 'link', '--from-context', 'a', '--to-context', 'b'])
    assert.equal(relinked.status, 0, relinked.stderr)
    assert.doesNotMatch(relinked.stderr, /waiting for the responder/, 'a responder already ready is not waited for')
    const served = await until(() => query(client, responder, NAME), (v) => v === '10.11.0.101', 5000)
    assert.equal(served.value, '10.11.0.101', 'the responder serves the refreshed record (the ConfigMap change reloads it)')
    t.diagnostic(`the responder served the refreshed record ${Math.round(served.ms)} ms after dns link returned`)
    // a's kube-dns keeps the old answer for its TTL (RECORD_TTL, 30 s), as a real cache does
    const through = await until(() => getent(client, NAME), (v) => v === '10.11.0.101', 40_000)
    assert.equal(through.value, '10.11.0.101', 'pods see the refreshed record once the cached one expired')
    t.diagnostic(`pods resolved the refreshed record ${Math.round(through.ms + served.ms)} ms after dns link returned`)
    assert.equal(xcc(['dns', 'list', '--context', 'a']).status, 0)

    // seed 002: --domain global is a public TLD
    const cmLinked = await k('a', ['-n', 'kube-system', 'get', 'configmap', 'kube-dns', '-o', 'json'])
    const refused = xcc(['dns', 'link', '--from-context', 'a', '--to-context', 'b', '--domain', 'global'])
    assert.equal(refused.status, 2, refused.stderr)
    assert.match(refused.stderr, /global/)
    assert.match(refused.stderr, /--allow-public-domain/)
    assert.deepEqual(pick(await k('a', ['-n', 'kube-system', 'get', 'configmap', 'kube-dns', '-o', 'json'])), pick(cmLinked), 'nothing written')
    const publicLink = xcc(['dns', 'link', '--from-context', 'a', '--to-context', 'b', '--domain', 'global', '--allow-public-domain'])
    assert.equal(publicLink.status, 0, publicLink.stderr)
    assert.equal((await until(() => getent(client, 'kuard.default.b.global'), (v) => v === '10.11.0.101', 20_000)).value, '10.11.0.101')

    // unlink both: kube-dns as it was, byte for byte; the names stop resolving
    for (const domain of ['global', 'clusters.xcc.test']) {
      const unlinked = xcc(['dns', 'unlink', '--from-context', 'a', '--to-context', 'b', '--domain', domain])
      assert.equal(unlinked.status, 0, `dns unlink --domain ${domain}: ${unlinked.stderr}${unlinked.stdout}`)
    }
    assert.deepEqual(pick(await k('a', ['-n', 'kube-system', 'get', 'configmap', 'kube-dns', '-o', 'json'])), pick(kubeDnsBefore))
    assert.equal((await until(() => getent(client, NAME), (v) => v === undefined, 20_000)).value, undefined, 'the name no longer resolves')
    // and the doctor says why: b's zone has no stub domain in a any more — live (the pod's own lookup) and on a snapshot of the lab
    const live = withCloud(['doctor', '--live', '--from', 'a/default/client', '--to', `${NAME}:80`, '--timeout', '5s'])
    assert.equal(live.status, 1, live.stderr.slice(-2000))
    assert.equal(diagnosisOf(live), 'DNS_STUB_DOMAIN_MISSING')
    const snapshotFile = join(HOME, 'unlinked.yaml')
    const snapshot = withCloud(['snapshot', '-o', snapshotFile])
    assert.equal(snapshot.status, 0, snapshot.stderr.slice(-2000))
    const fromSnapshot = withCloud(['doctor', '--topology', snapshotFile, '--from', 'a/default/client', '--to', `${NAME}:80`])
    assert.equal(fromSnapshot.status, 1, fromSnapshot.stderr.slice(-2000))
    assert.equal(diagnosisOf(fromSnapshot), 'DNS_STUB_DOMAIN_MISSING')

    await labDown(lab)
    assert.deepEqual(await labNamespaces(lab), [], 'every namespace of the lab is gone')
  })

  it('a CoreDNS cluster: link resolves through a forward block, unlink gives the Corefile back byte for byte', async () => {
    const text = TOPOLOGY.replace('  servicesIpv4Cidr: 10.30.0.0/20\n', '  servicesIpv4Cidr: 10.30.0.0/20\n  dnsProvider: CoreDNS\n')
    assert.notEqual(text, TOPOLOGY)
    await labDown(lab)
    const state: LabState = await labUp({name: lab, model: parseTopology(text, 'dns-link-coredns.yaml'), topologyText: text, source: 'test:dns-link'}, () => {})
    const xcc = (args: readonly string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), ...args, '--kubeconfig', state.kubeconfig], {cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: {...process.env, XCC_HOME: HOME, NO_COLOR: '1'}})
    const corefile = () => kubectl.ok(state.kubeconfig, ['--context', 'a', '-n', 'kube-system', 'get', 'configmap', 'coredns', '-o', 'jsonpath={.data.Corefile}'])
    const client = state.plan.hosts['pod/a/default/client']?.ns as string
    const before = await corefile()
    assert.match(before, /kubernetes cluster\.local/)
    // a responder image that does not run: exit 3 naming the pod and its reason; the Corefile untouched
    const broken = xcc(['dns', 'link', '--from-context', 'a', '--to-context', 'b', '--responder-image', 'registry.example/not-coredns:1', '--timeout', '60s'])
    assert.equal(broken.status, 3, `dns link with a broken responder: ${broken.stderr}${broken.stdout}`)
    assert.match(broken.stderr, /the DNS responder \(Deployment kube-system\/xcc-dns-responder in context "a"\) is not ready: pod xcc-dns-responder-\S+: CrashLoopBackOff: back-off \d+s restarting failed container=coredns/)
    assert.match(broken.stderr, /the cluster DNS configuration was not changed/)
    assert.equal(await corefile(), before, 'the Corefile is not touched while the responder is not ready')
    // the right image: a rollout over the crashing pods (a new generation), then the Corefile points at it
    const linked = xcc(['dns', 'link', '--from-context', 'a', '--to-context', 'b', '--responder-image', 'registry.k8s.io/coredns/coredns:v1.11.3'])
    assert.equal(linked.status, 0, `dns link: ${linked.stderr}${linked.stdout}`)
    assert.match(await corefile(), /b\.clusters\.xcc\.test:53 \{[\s\S]*forward \. \d+\.\d+\.\d+\.\d+/)
    const responding = await responderServed(state, (context, args) => kubectl.ok(state.kubeconfig, ['--context', context, ...args]), 'gke-a-node-2')
    assert.deepEqual(responding.pods.map((p) => p.ready), [true, true], 'the new pods are Ready (the crashing ones gone) when dns link returns')
    assert.equal(await kubectl.ok(state.kubeconfig, ['--context', 'a', '-n', 'kube-system', 'get', 'deployment', 'xcc-dns-responder', '-o', 'jsonpath={.metadata.generation}/{.status.observedGeneration}']), '2/2')
    assert.equal((await until(() => getent(client, NAME), (v) => v === '10.11.0.100', 20_000)).value, '10.11.0.100')
    const curl = await exec('ip', ['netns', 'exec', client, 'curl', '-s', '-m', '5', `http://${NAME}/`], {timeoutMs: 10_000})
    assert.match(curl.stdout, /server=b\/default\/kuard/, `${curl.stdout}${curl.stderr}`)
    const unlinked = xcc(['dns', 'unlink', '--from-context', 'a', '--to-context', 'b'])
    assert.equal(unlinked.status, 0, unlinked.stderr)
    assert.equal(await corefile(), before, 'the Corefile is byte-identical after unlink')
    assert.equal((await until(() => getent(client, NAME), (v) => v === undefined, 20_000)).value, undefined, 'the name no longer resolves')
    await labDown(lab)
    assert.deepEqual(await labNamespaces(lab), [], 'every namespace of the lab is gone')
  })
})
