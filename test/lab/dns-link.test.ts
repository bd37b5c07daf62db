/**
 * `xcc dns link` end to end in the lab, on real DNS queries and real packets (seed 004's flow):
 * cluster b's `kuard` Service in default is behind an internal load balancer that pods of a
 * reach; `xcc dns link --from-context a --to-context b` deploys the responder in a (a Deployment
 * of the CoreDNS image, which the lab runs as its stand-in, behind a ClusterIP Service that the
 * lab's kube-proxy serves) and points a's kube-dns at it (stubDomains). Then from a pod of a,
 * `getent hosts kuard.default.b.clusters.xcc.test` gives b's load-balancer address and curl is
 * answered by b's pod; `dns list` is current, goes STALE (exit 1) when b's load-balancer address
 * changes, and is current again after another `dns link`; seed 002's `--domain global` is refused
 * (exit 2, nothing written) without --allow-public-domain and works with it; `dns unlink` gives
 * back a's kube-dns ConfigMap byte for byte and the names stop resolving.
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
    const resolved = await until(() => getent(client, NAME), (v) => v === '10.11.0.100', 20_000)
    assert.equal(resolved.value, '10.11.0.100', `getent hosts ${NAME} from a/default/client`)
    t.diagnostic(`dns link took ${Math.round(resolved.ms + 0)} ms until the name resolved (${Math.round(performance.now() - started)} ms with the link)`)
    const ready = await k('a', ['-n', 'kube-system', 'get', 'deployment', 'xcc-dns-responder', '-o', 'jsonpath={.status.readyReplicas}/{.spec.replicas}'])
    assert.equal(ready, '2/2')
    const curl = await exec('ip', ['netns', 'exec', client, 'curl', '-s', '-m', '5', `http://${NAME}/`], {timeoutMs: 10_000})
    assert.match(curl.stdout, /server=b\/default\/kuard/, `curl http://${NAME}/ from a/default/client: ${curl.stdout}${curl.stderr}`)
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
    const linked = xcc(['dns', 'link', '--from-context', 'a', '--to-context', 'b'])
    assert.equal(linked.status, 0, `dns link: ${linked.stderr}${linked.stdout}`)
    assert.match(await corefile(), /b\.clusters\.xcc\.test:53 \{[\s\S]*forward \. \d+\.\d+\.\d+\.\d+/)
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
