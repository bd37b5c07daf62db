/**
 * src/render/dns-text.ts and dns-json.ts: what `xcc dns` prints, as golden files — the dry-run
 * diff on a kube-dns cluster before the responder exists (its DNS name stands for its address),
 * the diff on a CoreDNS cluster once it exists (only the Corefile block and the records change),
 * the result of a run, `list` with a stale record, and the --json object.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {applyDnsPlan} from '../../src/core/dns/apply.js'
import {listDnsLinks} from '../../src/core/dns/list.js'
import {type LinkTarget, planLink} from '../../src/core/dns/plan.js'
import {recordSet} from '../../src/core/dns/records.js'
import {DEFAULT_RESPONDER_IMAGE} from '../../src/core/dns/responder.js'
import {loadDnsState} from '../../src/core/dns/state.js'
import type {KubeConfigMap, KubeService} from '../../src/core/ports/kube.js'
import {dnsJson} from '../../src/render/dns-json.js'
import {renderDnsApplied, renderDnsListing, renderDnsPlanDiff, renderDnsPlanYaml} from '../../src/render/dns-text.js'
import {FakeCluster, instantClock} from '../core/masquerade/fake-cluster.js'
import {assertGoldenJson, assertGoldenText} from '../support/golden.js'

const TEMPLATE = readFileSync(fileURLToPath(new URL('../../templates/dns/responder.yaml', import.meta.url)), 'utf8')
const KUBEADM = readFileSync(fileURLToPath(new URL('../fixtures/dns/corefiles/kubeadm.Corefile', import.meta.url)), 'utf8')
const B: LinkTarget = {cluster: 'backend', context: 'backend', domain: 'clusters.xcc.test', zone: 'backend.clusters.xcc.test'}

const lb = (ns: string, name: string, ip: string, internal = true): KubeService => ({
  metadata: {name, namespace: ns, ...(internal ? {annotations: {'networking.gke.io/load-balancer-type': 'Internal'}} : {})},
  spec: {type: 'LoadBalancer', ports: [{port: 443}]}, status: {loadBalancer: {ingress: [{ip}]}},
})
const SERVICES = [lb('shop', 'api', '10.128.0.42'), lb('shop', 'web', '34.77.1.2', false)]
const cm = (name: string, data: Record<string, string>): KubeConfigMap => ({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name, namespace: 'kube-system'}, data})

async function planOn(a: FakeCluster, services: readonly KubeService[]) {
  return planLink(await loadDnsState(a), B, {records: recordSet({...B, services}), services: 'all', template: TEMPLATE, image: DEFAULT_RESPONDER_IMAGE, force: false})
}
const quiet = {signal: new AbortController().signal, progress: () => {}, clock: instantClock(), timeoutMs: 60_000, canListPods: true}

describe('xcc dns text and JSON', () => {
  it('kube-dns: the dry-run diff, the YAML and the JSON before the responder exists', async () => {
    const a = new FakeCluster()
    await a.createConfigMap('kube-system', cm('kube-dns', {upstreamNameservers: '["8.8.8.8"]'}))
    const plan = await planOn(a, SERVICES)
    assertGoldenText('dns/plan-kube-dns.txt', renderDnsPlanDiff(plan, {color: false}))
    const yaml = renderDnsPlanYaml(plan)
    assert.equal(yaml.split(/^---$/m).length, 4)
    assertGoldenJson('dns/plan-kube-dns.json', dnsJson(plan, undefined))
  })

  it('CoreDNS: linking again after a load balancer moved changes only the records; the run and list say so', async () => {
    const a = new FakeCluster()
    await a.createConfigMap('kube-system', cm('coredns', {Corefile: KUBEADM}))
    const first = await planOn(a, SERVICES)
    const applied = await applyDnsPlan(first, {cluster: a, ...quiet})
    assertGoldenText('dns/applied-coredns.txt', renderDnsApplied(first, applied))
    const moved = [lb('shop', 'api', '10.128.0.77'), lb('shop', 'web', '34.77.1.2', false)]
    const listing = await listDnsLinks(await loadDnsState(a), async () => ({services: moved, forwardingRules: []}))
    assertGoldenText('dns/list-stale.txt', renderDnsListing(listing, {color: false}))
    const again = await planOn(a, moved)
    assertGoldenText('dns/plan-refresh.txt', renderDnsPlanDiff(again, {color: false}))
    assert.equal(renderDnsPlanDiff(await planOn(a, SERVICES), {color: false}).includes('No change'), true)
  })

  it('a new responder image: the Deployment diff shows the image, not the server\'s defaults', async () => {
    const a = new FakeCluster()
    await a.createConfigMap('kube-system', cm('kube-dns', {}))
    await applyDnsPlan(await planOn(a, SERVICES), {cluster: a, ...quiet})
    // the API server fills in defaults xcc never wrote
    const live = a.deployments.get('kube-system/xcc-dns-responder')
    a.deployments.set('kube-system/xcc-dns-responder', {...live!, spec: {...live!.spec, progressDeadlineSeconds: 600, revisionHistoryLimit: 10} as NonNullable<typeof live>['spec']})
    const plan = planLink(await loadDnsState(a), B, {records: recordSet({...B, services: SERVICES}), services: 'all', template: TEMPLATE, image: 'registry.k8s.io/coredns/coredns:v1.12.0', force: false})
    const diff = renderDnsPlanDiff(plan, {color: false})
    assert.match(diff, /^- +image: registry\.k8s\.io\/coredns\/coredns:v1\.11\.3$/m)
    assert.match(diff, /^\+ +image: registry\.k8s\.io\/coredns\/coredns:v1\.12\.0$/m)
    assert.doesNotMatch(diff, /progressDeadlineSeconds|revisionHistoryLimit/)
  })
})
