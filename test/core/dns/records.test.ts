/**
 * src/core/dns/records.ts and responder.ts: the records `xcc dns link` serves for cluster B (the
 * internal load-balancer address of each Service, ILB-01), their staleness, and the responder's
 * manifests (golden) rendered from templates/dns/responder.yaml.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {dump} from 'js-yaml'

import {parseCorefile} from '../../../src/core/dns/corefile.js'
import {type ForwardingRuleFacts, compareRecords, recordSet} from '../../../src/core/dns/records.js'
import {markOf} from '../../../src/core/link/names.js'
import {type ResponderLink, parseZoneFile, readResponderLinks, renderResponder, renderZoneFile} from '../../../src/core/dns/responder.js'
import type {KubeService} from '../../../src/core/ports/kube.js'
import {assertGoldenText} from '../../support/golden.js'
import {assertBadInput} from '../../support/xcc-error.js'

const TEMPLATE = readFileSync(fileURLToPath(new URL('../../../templates/dns/responder.yaml', import.meta.url)), 'utf8')

function service(ns: string, name: string, type: 'ClusterIP' | 'LoadBalancer' | 'NodePort', ip?: string, annotations?: Record<string, string>): KubeService {
  return {
    metadata: {name, namespace: ns, ...(annotations ? {annotations} : {})},
    spec: {type, clusterIP: '10.100.0.9', ports: [{port: 80}]},
    ...(ip ? {status: {loadBalancer: {ingress: [{ip}]}}} : {}),
  }
}

const INTERNAL = {'networking.gke.io/load-balancer-type': 'Internal'}
const SERVICES: KubeService[] = [
  service('shop', 'api', 'LoadBalancer', '10.128.0.42', INTERNAL),
  service('shop', 'legacy', 'LoadBalancer', '10.128.0.43', {'cloud.google.com/load-balancer-type': 'internal'}),
  service('shop', 'web', 'LoadBalancer', '34.77.1.2'),
  service('shop', 'pending', 'LoadBalancer', undefined, INTERNAL),
  service('shop', 'cache', 'ClusterIP'),
  service('shop', 'orders', 'NodePort'),
  service('ops', 'grafana', 'LoadBalancer', '10.128.0.50'),
]
const RULES: ForwardingRuleFacts[] = [
  {name: 'xcc-shop-orders-ilb', IPAddress: '10.130.0.7', loadBalancingScheme: 'INTERNAL', description: markOf('shop', 'fr', 'shop/orders')}, // as xcc link marks the rule it makes for --service shop/orders
  {name: 'a1b2c3', IPAddress: '10.128.0.50', loadBalancingScheme: 'INTERNAL'},
  {name: 'web', IPAddress: '34.77.1.2', loadBalancingScheme: 'EXTERNAL'},
]

const set = (only?: string[]) => recordSet({cluster: 'backend', domain: 'clusters.xcc.test', services: SERVICES, forwardingRules: RULES, ...(only ? {only} : {})})

describe('the record set of cluster B', () => {
  it('serves every Service with an internal load balancer (annotation, internal rule, or xcc link\'s rule)', () => {
    const {records, skipped} = set()
    assert.deepEqual(records.map((r) => [r.name, r.address, r.source]), [
      ['api.shop.backend.clusters.xcc.test', '10.128.0.42', 'service-load-balancer'],
      ['grafana.ops.backend.clusters.xcc.test', '10.128.0.50', 'service-load-balancer'],
      ['legacy.shop.backend.clusters.xcc.test', '10.128.0.43', 'service-load-balancer'],
      ['orders.shop.backend.clusters.xcc.test', '10.130.0.7', 'xcc-link-forwarding-rule'],
    ])
    assert.deepEqual(skipped, [
      {service: 'shop/web', why: 'its load balancer 34.77.1.2 is external, not internal (ILB-01)'},
      {service: 'shop/pending', why: 'its internal load balancer has no address yet'},
    ])
  })

  it('takes only the --service ones, refusing one without an internal address', () => {
    assert.deepEqual(set(['shop/orders']).records.map((r) => r.name), ['orders.shop.backend.clusters.xcc.test'])
    assertBadInput(() => set(['shop/web']), /--service shop\/web: its load balancer 34\.77\.1\.2 is external/)
    assertBadInput(() => set(['shop/cache']), /--service shop\/cache: it is a ClusterIP Service without an internal load balancer/)
    assertBadInput(() => set(['shop/nope']), /--service shop\/nope: no such Service in cluster backend/)
  })

  it('reports stale, gone and missing records against what is served', () => {
    const served = [
      {name: 'api.shop.backend.clusters.xcc.test', address: '10.128.0.42', service: 'shop/api'},
      {name: 'legacy.shop.backend.clusters.xcc.test', address: '10.128.0.99', service: 'shop/legacy'},
      {name: 'old.shop.backend.clusters.xcc.test', address: '10.128.0.77', service: 'shop/old'},
    ]
    const states = compareRecords(served, set(), true).map((s) => [s.name.split('.')[0], s.state, s.served, s.current])
    assert.deepEqual(states, [
      ['api', 'current', '10.128.0.42', '10.128.0.42'],
      ['grafana', 'missing', undefined, '10.128.0.50'],
      ['legacy', 'stale', '10.128.0.99', '10.128.0.43'],
      ['old', 'gone', '10.128.0.77', undefined],
      ['orders', 'missing', undefined, '10.130.0.7'],
    ])
    assert.ok(compareRecords(served, set(), false).every((s) => s.state !== 'missing'), 'a --service link misses nothing')
  })
})

describe('the responder', () => {
  const links: ResponderLink[] = [
    {zone: 'backend.clusters.xcc.test', cluster: 'backend', context: 'gke_p_europe-west1_backend', domain: 'clusters.xcc.test', services: 'all', records: set().records},
    {zone: 'payments.clusters.xcc.test', cluster: 'payments', context: 'payments', domain: 'clusters.xcc.test', services: ['pay/gateway'], records: [{name: 'gateway.pay.payments.clusters.xcc.test', service: 'pay/gateway', address: '10.140.0.3'}]},
  ]

  it('renders the manifests (golden), with a Corefile CoreDNS can load', () => {
    const objects = renderResponder(TEMPLATE, links, {image: 'registry.k8s.io/coredns/coredns:v1.11.3'})
    assertGoldenText('dns/responder.yaml', [objects.configMap, objects.deployment, objects.service].map((o) => dump(o, {lineWidth: -1, noRefs: true})).join('---\n'))
    for (const o of [objects.configMap, objects.deployment, objects.service]) assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'xcc')
    const corefile = parseCorefile(objects.configMap.data?.Corefile ?? '', 'responder')
    assert.deepEqual(corefile.servers.map((s) => s.keys[0]?.zone), ['.', 'backend.clusters.xcc.test', 'payments.clusters.xcc.test'])
    for (const s of corefile.servers.slice(1)) {
      const file = s.plugins.find((p) => p.name === 'file')?.args[0] ?? ''
      assert.ok(objects.configMap.data?.[file.replace('/etc/coredns/', '')], `${file} is in the ConfigMap`)
    }
  })

  it('gives the same bytes for the same records, a new serial for new ones, and reads them back', () => {
    const a = renderZoneFile(links[0] as ResponderLink)
    assert.equal(renderZoneFile(links[0] as ResponderLink), a)
    const moved = renderZoneFile({...(links[0] as ResponderLink), records: set().records.map((r) => (r.service === 'shop/api' ? {...r, address: '10.128.0.44'} : r))})
    const serial = (t: string) => /SOA \S+ \S+ (\d+)/.exec(t)?.[1]
    assert.notEqual(serial(moved), serial(a))
    assert.deepEqual(parseZoneFile(a, 'backend.clusters.xcc.test').map((r) => [r.name, r.address, r.service]), set().records.map((r) => [r.name, r.address, r.service]))
    const objects = renderResponder(TEMPLATE, links, {image: 'registry.k8s.io/coredns/coredns:v1.11.3'})
    const read = readResponderLinks(objects.configMap)
    assert.deepEqual(read.map((l) => [l.zone, l.context, l.services, l.records.length]), [
      ['backend.clusters.xcc.test', 'gke_p_europe-west1_backend', 'all', 4],
      ['payments.clusters.xcc.test', 'payments', ['pay/gateway'], 1],
    ])
  })

  it('refuses an image that is not an image reference', () => {
    assertBadInput(() => renderResponder(TEMPLATE, links, {image: 'coredns\n  evil: true'}), /not an image reference/)
  })
})
