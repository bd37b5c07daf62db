/**
 * src/core/dns/kube-dns.ts: `xcc dns link` editing `kube-system/kube-dns` on kube-dns clusters.
 * Only `stubDomains` changes; kube-dns' own validation (kubernetes/dns pkg/dns/config) is applied
 * before anything is written; unlink gives back the exact text, "key absent" and "{}" alike.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {LINKS_ANNOTATION, type KubeDnsLink, kubeDnsLinks, linkKubeDns, parseKubeDnsConfig, stubServerProblem, unlinkKubeDns} from '../../../src/core/dns/kube-dns.js'
import type {KubeConfigMap} from '../../../src/core/ports/kube.js'
import {assertBadInput} from '../../support/xcc-error.js'

/** GKE's kube-dns ConfigMap as the add-on manager creates it (EnsureExists, no data) */
function gkeConfigMap(data?: Record<string, string>): KubeConfigMap {
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: {name: 'kube-dns', namespace: 'kube-system', resourceVersion: '311', labels: {'addonmanager.kubernetes.io/mode': 'EnsureExists'}},
    ...(data ? {data} : {}),
  }
}

const B: KubeDnsLink = {cluster: 'backend', domain: 'clusters.xcc.test', zone: 'backend.clusters.xcc.test', targets: ['10.64.7.20']}
const C: KubeDnsLink = {cluster: 'payments', domain: 'clusters.xcc.test', zone: 'payments.clusters.xcc.test', targets: ['10.64.7.20:53']}

describe('kube-dns ConfigMap: validation as kube-dns does it', () => {
  it('refuses invalid JSON in stubDomains, naming the key and the JSON error', () => {
    const e = assertBadInput(() => linkKubeDns(gkeConfigMap({stubDomains: '{"acme.local": ["1.2.3.4"],}'}), B), /ConfigMap kube-system\/kube-dns key "stubDomains": invalid JSON: /)
    assert.match(e.message, /JSON|position|Expected/)
  })

  it('refuses more than three upstream nameservers', () => {
    assertBadInput(() => linkKubeDns(gkeConfigMap({upstreamNameservers: '["8.8.8.8", "8.8.4.4", "1.1.1.1", "9.9.9.9"]'}), B), /key "upstreamNameservers": 4 upstream nameservers; kube-dns takes at most 3/)
    assert.equal(linkKubeDns(gkeConfigMap({upstreamNameservers: '["8.8.8.8", "8.8.4.4:53", "1.1.1.1"]'}), B).action, 'update')
    assertBadInput(() => linkKubeDns(gkeConfigMap({upstreamNameservers: '["dns.google"]'}), B), /bad IP address: "dns\.google"/)
    assertBadInput(() => linkKubeDns(gkeConfigMap({upstreamNameservers: '["8.8.8.8:99999"]'}), B), /bad port number/)
  })

  it('checks stub domains and their servers as config.go does', () => {
    assertBadInput(() => parseKubeDnsConfig(gkeConfigMap({stubDomains: '{"Acme_Local": ["1.2.3.4"]}'})), /invalid domain name: "Acme_Local"/)
    assertBadInput(() => parseKubeDnsConfig(gkeConfigMap({stubDomains: '{"acme.local": "1.2.3.4"}'})), /"acme\.local": not a list of nameserver strings/)
    assertBadInput(() => parseKubeDnsConfig(gkeConfigMap({stubDomains: '["acme.local"]'})), /not a JSON object/)
    assert.equal(stubServerProblem('1.2.3.4'), undefined)
    assert.equal(stubServerProblem('1.2.3.4:5353'), undefined)
    assert.equal(stubServerProblem('[fd00::53]:53'), undefined)
    assert.equal(stubServerProblem('dns.kube-system.svc.cluster.local'), undefined, 'newer kube-dns resolves names once')
    assert.match(stubServerProblem('1.2.3.4:70000') ?? '', /invalid nameserver/)
    assert.match(stubServerProblem('not a server') ?? '', /invalid nameserver/)
  })

  it('refuses a target that is not IP[:port]', () => {
    assertBadInput(() => linkKubeDns(gkeConfigMap(), {...B, targets: ['responder.kube-system']}), /"responder\.kube-system" is not IP\[:port\]/)
  })
})

describe('kube-dns ConfigMap: link and unlink', () => {
  it('adds the zone to an absent key and unlink removes the key again', () => {
    const cm = gkeConfigMap({upstreamNameservers: '["8.8.8.8"]'})
    const linked = linkKubeDns(cm, B)
    assert.equal(linked.action, 'update')
    assert.equal(linked.after?.data?.stubDomains, '{"backend.clusters.xcc.test":["10.64.7.20"]}')
    assert.equal(linked.after?.data?.upstreamNameservers, '["8.8.8.8"]')
    assert.deepEqual(linked.after?.metadata.labels, cm.metadata.labels)
    assert.equal(linked.after?.metadata.resourceVersion, '311', 'the write is conditional on the version read')
    const unlinked = unlinkKubeDns(linked.after, B)
    assert.deepEqual(unlinked.after?.data, cm.data)
    assert.equal(unlinked.after?.metadata.annotations, undefined)
  })

  it('keeps "{}" as "{}" and a formatted value byte for byte', () => {
    for (const original of ['{}', '{}\n', '{\n  "acme.local": [\n    "1.2.3.4"\n  ]\n}\n', '{"acme.local": ["1.2.3.4"], "corp.example": ["10.0.0.2:5353"]}\n']) {
      const cm = gkeConfigMap({stubDomains: original, federations: '{"myfed": "example.com"}'})
      const linked = linkKubeDns(cm, B)
      const map = JSON.parse(linked.after?.data?.stubDomains ?? '') as Record<string, string[]>
      assert.deepEqual(map['backend.clusters.xcc.test'], ['10.64.7.20'])
      assert.equal(Object.keys(map).length, Object.keys(JSON.parse(original) as object).length + 1, 'every other entry kept')
      assert.equal(linked.after?.data?.federations, '{"myfed": "example.com"}')
      assert.equal(unlinkKubeDns(linked.after, B).after?.data?.stubDomains, original)
    }
  })

  it('is idempotent, refreshes a moved target, and keeps the first original across links', () => {
    const cm = gkeConfigMap({stubDomains: '{"acme.local": ["1.2.3.4"]}'})
    const first = linkKubeDns(cm, B).after as KubeConfigMap
    assert.deepEqual(linkKubeDns(first, B).action, 'none')
    const moved = linkKubeDns(first, {...B, targets: ['10.64.7.21']})
    assert.equal(moved.action, 'update')
    assert.deepEqual(JSON.parse(moved.after?.data?.stubDomains ?? '')['backend.clusters.xcc.test'], ['10.64.7.21'])
    const both = linkKubeDns(moved.after, C).after as KubeConfigMap
    assert.deepEqual(kubeDnsLinks(both).map((l) => [l.zone, l.targets]), [['backend.clusters.xcc.test', ['10.64.7.21']], ['payments.clusters.xcc.test', ['10.64.7.20:53']]])
    const oneLeft = unlinkKubeDns(both, B).after as KubeConfigMap
    assert.deepEqual(kubeDnsLinks(oneLeft).map((l) => l.zone), ['payments.clusters.xcc.test'])
    assert.equal(unlinkKubeDns(oneLeft, C).after?.data?.stubDomains, '{"acme.local": ["1.2.3.4"]}')
    assert.equal(unlinkKubeDns(oneLeft, B).action, 'none', 'unlinking what is not linked changes nothing')
  })

  it('keeps an entry someone added meanwhile when unlinking', () => {
    const linked = linkKubeDns(gkeConfigMap({stubDomains: '{}'}), B).after as KubeConfigMap
    const edited: KubeConfigMap = {...linked, data: {stubDomains: '{"backend.clusters.xcc.test":["10.64.7.20"],"team.internal":["10.3.0.9"]}'}}
    assert.equal(unlinkKubeDns(edited, B).after?.data?.stubDomains, '{"team.internal":["10.3.0.9"]}')
  })

  it('refuses an entry xcc did not write unless --force, and gives it back on unlink', () => {
    const cm = gkeConfigMap({stubDomains: '{"backend.clusters.xcc.test": ["10.9.9.9"]}'})
    assertBadInput(() => linkKubeDns(cm, B), /already sends backend\.clusters\.xcc\.test to \["10\.9\.9\.9"\], which xcc did not write/)
    const forced = linkKubeDns(cm, B, {force: true}).after as KubeConfigMap
    assert.deepEqual(JSON.parse(forced.data?.stubDomains ?? '')['backend.clusters.xcc.test'], ['10.64.7.20'])
    assert.equal(unlinkKubeDns(forced, B).after?.data?.stubDomains, '{"backend.clusters.xcc.test": ["10.9.9.9"]}')
  })

  it('refuses an entry of someone else in the domain (it would take part of its names)', () => {
    for (const key of ['clusters.xcc.test', 'other.clusters.xcc.test', 'api.backend.clusters.xcc.test']) {
      assertBadInput(() => linkKubeDns(gkeConfigMap({stubDomains: `{"${key}": ["10.9.9.9"]}`}), B, {force: true}), /already sends names in clusters\.xcc\.test elsewhere/)
    }
    assert.equal(linkKubeDns(gkeConfigMap({stubDomains: '{"xcc.test": ["10.9.9.9"]}'}), B).action, 'update', 'a stub domain above the domain is not in the way')
    const both = linkKubeDns(linkKubeDns(gkeConfigMap(), B).after, C).after as KubeConfigMap
    assert.equal(linkKubeDns(both, {...B, targets: ['10.64.7.22']}).action, 'update', 'xcc\'s own links in the domain are not in the way')
  })

  it('creates the ConfigMap when the cluster has none, and deletes only what it created', () => {
    const created = linkKubeDns(undefined, B)
    assert.equal(created.action, 'create')
    assert.equal(created.after?.metadata.labels?.['app.kubernetes.io/managed-by'], 'xcc')
    assert.equal(unlinkKubeDns(created.after, B).action, 'delete')
    const withOther: KubeConfigMap = {...(created.after as KubeConfigMap), data: {...created.after?.data, upstreamNameservers: '["8.8.8.8"]'}}
    const kept = unlinkKubeDns(withOther, B)
    assert.equal(kept.action, 'update')
    assert.deepEqual(kept.after?.data, {upstreamNameservers: '["8.8.8.8"]'})
  })

  it('refuses an annotation xcc did not write', () => {
    const cm: KubeConfigMap = {...gkeConfigMap({}), metadata: {...gkeConfigMap().metadata, annotations: {[LINKS_ANNOTATION]: 'nope'}}}
    assertBadInput(() => linkKubeDns(cm, B), /annotation xcc\.dev\/dns-links is not what xcc wrote/)
  })
})
