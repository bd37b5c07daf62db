/** Facts the loader derives once (contracts.md §1 "Implied by a cluster", PEER-01…PEER-07). */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {formatCidr, ip} from '../../../src/core/net/ipv4.js'
import {parseTopology} from '../../../src/core/topology/parse.js'

const TOPO = `apiVersion: xcc/v1
kind: Topology
metadata: {name: derived}
networks:
  - name: vpc-a
    subnets:
      - {name: a-main, region: europe-west1, ipCidrRange: 10.1.0.0/16, secondaryIpRanges: [{rangeName: pods, ipCidrRange: 10.8.0.0/14}]}
      - {name: a-public, region: europe-west1, ipCidrRange: 34.100.0.0/24}
    peerings:
      - {name: a-to-b, network: vpc-b, exportCustomRoutes: true, importCustomRoutes: true}
      - {name: a-to-c, network: vpc-c}
  - name: vpc-b
    subnets: [{name: b-main, region: europe-west1, ipCidrRange: 10.2.0.0/16}]
    peerings:
      - {name: b-to-a, network: vpc-a, exportCustomRoutes: true, importCustomRoutes: false}
      - {name: b-to-d, network: vpc-d}
  - name: vpc-c
    subnets: [{name: c-main, region: europe-west1, ipCidrRange: 10.3.0.0/16}]
  - name: vpc-d
    subnets: [{name: d-main, region: europe-west1, ipCidrRange: 10.4.0.0/16}]
    peerings: [{name: d-to-b, network: vpc-b}]
routes:
  - {name: b-to-onprem, network: vpc-b, destRange: 192.168.0.0/16, nextHopIp: 10.2.0.9}
  - {name: b-tagged, network: vpc-b, destRange: 172.16.0.0/12, nextHopIp: 10.2.0.9, tags: [gw]}
  - {name: b-internet, network: vpc-b, destRange: 0.0.0.0/0, nextHopGateway: default-internet-gateway}
  - {name: a-to-lab, network: vpc-a, destRange: 192.0.2.0/24, nextHopIp: 10.1.0.9}
firewalls:
  - {name: allow-late, network: vpc-a, priority: 900, sourceRanges: [0.0.0.0/0], allowed: [{IPProtocol: tcp}]}
  - {name: deny-same, network: vpc-a, priority: 900, sourceRanges: [0.0.0.0/0], denied: [{IPProtocol: tcp}]}
  - {name: allow-first, network: vpc-a, priority: 100, sourceRanges: [0.0.0.0/0], allowed: [{IPProtocol: tcp}]}
  - {name: off, network: vpc-a, disabled: true, sourceRanges: [0.0.0.0/0], allowed: [{IPProtocol: all}]}
clusters:
  - name: native
    location: europe-west1-b
    network: vpc-a
    subnetwork: a-main
    mode: VPC_NATIVE
    clusterIpv4Cidr: 10.8.0.0/14
    servicesIpv4Cidr: 10.12.0.0/20
    nodes: [{name: n-native, networkIP: 10.1.0.2, podCidr: 10.8.0.0/24}]
  - name: routed
    location: europe-west1
    network: vpc-b
    subnetwork: b-main
    mode: ROUTES
    clusterIpv4Cidr: 10.132.0.0/14
    servicesIpv4Cidr: 10.135.240.0/20
    nodes:
      - {name: n-routed-1, zone: europe-west1-c, networkIP: 10.2.0.2, podCidr: 10.132.0.0/24, tags: [custom]}
      - {name: n-routed-2, zone: europe-west1-d, networkIP: 10.2.0.3, podCidr: 10.132.1.0/24}
`
const model = parseTopology(TOPO, 'derived.yaml')
const routes = (network: string) => model.networks.get(network)?.routes.routes ?? []
const names = (network: string, kind: string) => routes(network).filter((r) => r.kind === kind).map((r) => r.name).sort()

describe('the derived model', () => {
  it('makes every GKE node an instance in its cluster network, canIpForward only for routes-based clusters', () => {
    const native = model.instances.get('n-native')
    const routed = model.instances.get('n-routed-1')
    assert.equal(native?.kind, 'node')
    assert.equal(native?.canIpForward, false)
    assert.equal(routed?.canIpForward, true)
    assert.deepEqual(native?.nics.map((n) => [n.network, n.subnet.name]), [['vpc-a', 'a-main']])
    assert.deepEqual(native?.tags, ['gke-native-node'], 'tags default to gke-<cluster>-node')
    assert.deepEqual(routed?.tags, ['custom'])
    assert.equal(native?.zone, 'europe-west1-b', 'a node in a zonal cluster takes the cluster zone')
    assert.equal(model.instances.get('n-routed-2')?.region, 'europe-west1', 'regions derive from zones')
  })

  it('ROUTES: one static route per node for its podCidr, next hop the node, priority 1000 (GKE-04)', () => {
    const pod = routes('vpc-b').filter((r) => r.impliedBy)
    assert.deepEqual(pod.map((r) => [formatCidr(r.destRange), r.nextHop, r.priority, r.kind]), [
      ['10.132.0.0/24', {type: 'INSTANCE', instance: 'n-routed-1'}, 1000, 'STATIC'],
      ['10.132.1.0/24', {type: 'INSTANCE', instance: 'n-routed-2'}, 1000, 'STATIC'],
    ])
  })

  it('VPC_NATIVE: the podCidr is an alias range of nic0, routed by the secondary range (GKE-02)', () => {
    assert.deepEqual(model.instances.get('n-native')?.nics[0]?.aliasRanges.map(formatCidr), ['10.8.0.0/24'])
    assert.equal(routes('vpc-a').some((r) => r.kind === 'STATIC' && r.impliedBy), false, 'no pod routes of its own')
    assert.deepEqual(model.ownerOf('vpc-a', ip('10.8.0.7')), {kind: 'alias', instance: 'n-native', nic: 0, range: {base: ip('10.8.0.0'), prefix: 24}})
  })

  it('PEER-01: a peering is ACTIVE only when both sides list each other', () => {
    const state = (network: string, name: string) => model.peerings.find((p) => p.network === network && p.spec.name === name)?.state
    assert.equal(state('vpc-a', 'a-to-b'), 'ACTIVE')
    assert.equal(state('vpc-a', 'a-to-c'), 'INACTIVE')
    assert.equal(state('vpc-b', 'b-to-d'), 'ACTIVE')
  })

  it('PEER-02: subnet routes, primary and secondary, always cross an ACTIVE peering; nothing crosses an inactive one', () => {
    assert.deepEqual(names('vpc-b', 'PEERING_SUBNET'), ['a-main', 'a-main/pods', 'd-main'])
    assert.deepEqual(names('vpc-a', 'PEERING_SUBNET'), ['b-main'], 'vpc-c is not reachable: a-to-c is inactive')
  })

  it('PEER-03: a privately used public range is exported by default but imported only on request', () => {
    assert.equal(routes('vpc-b').some((r) => r.name === 'a-public'), false)
  })

  it('PEER-04: custom routes cross only with export on the owner and import on the receiver', () => {
    // b exports and a imports: a learns b's static routes, including the per-node pod routes
    assert.deepEqual(names('vpc-a', 'PEERING_STATIC'), ['b-to-onprem', 'n-routed-1-pods', 'n-routed-2-pods'])
    // a exports but b does not import: b learns none of a's
    assert.equal(routes('vpc-b').some((r) => r.name === 'a-to-lab'), false)
  })

  it('PEER-05: tagged routes and routes to the internet gateway are never exchanged', () => {
    assert.equal(routes('vpc-a').some((r) => r.name === 'b-tagged' || r.name === 'b-internet'), false)
  })

  it('PEER-07: a network never passes on what it learned over another peering', () => {
    assert.equal(routes('vpc-a').some((r) => r.name === 'd-main'), false, 'vpc-a does not learn vpc-d through vpc-b')
    assert.equal(routes('vpc-d').some((r) => r.name === 'a-main'), false)
  })

  it('FW-01: firewalls in evaluation order — priority, then deny before allow; disabled rules are gone', () => {
    assert.deepEqual(model.networks.get('vpc-a')?.ingress.map((f) => f.name), ['allow-first', 'deny-same', 'allow-late'])
  })

  it('node rules derived from masquerade: GKE default IP-MASQ chain when masquerade is absent (SNAT-11, SNAT-13)', () => {
    const postrouting = model.instances.get('n-native')?.guest.ruleset?.tables.get('nat')?.chains.get('IP-MASQ')?.rules.map((r) => r.ref.text) ?? []
    assert.equal(postrouting.length, 13, 'link-local, 11 reserved ranges, then MASQUERADE')
    assert.match(postrouting[0] ?? '', /-d 169\.254\.0\.0\/16 .*-j RETURN/)
    assert.match(postrouting[12] ?? '', /-j MASQUERADE$/)
  })
})
