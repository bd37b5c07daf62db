/** RouteTable.lookup: ROUTE-03 tags, ROUTE-04 selection, ROUTE-06 subnet guard, ROUTE-08 ties kept. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {addIp, cidr, ip} from '../../../src/core/net/ipv4.js'
import type {RouteFacts, SubnetFacts} from '../../../src/core/topology/model-types.js'
import {RouteTable} from '../../../src/core/topology/route-table.js'

function subnetRoute(name: string, range: string, options: {kind?: 'SUBNET' | 'PEERING_SUBNET'; allowOverlap?: boolean} = {}): RouteFacts {
  const primary = cidr(range)
  const subnet: SubnetFacts = {name, network: 'n', region: 'us-west1', primary, secondary: [], allowSubnetCidrRoutesOverlap: options.allowOverlap ?? false, gateway: addIp(primary.base, 1)}
  const kind = options.kind ?? 'SUBNET'
  return {
    name, network: 'n', destRange: primary, priority: 0, tags: [], kind, nextHop: {type: 'NETWORK', network: kind === 'SUBNET' ? 'n' : 'peer'}, subnet,
    ...(kind === 'PEERING_SUBNET' ? {peering: {name: 'n-to-peer', peerNetwork: 'peer'}} : {}),
  }
}

function staticRoute(name: string, range: string, priority = 1000, tags: string[] = []): RouteFacts {
  return {name, network: 'n', destRange: cidr(range), priority, tags, kind: 'STATIC', nextHop: {type: 'INSTANCE', instance: 'gw'}}
}

function table(...routes: RouteFacts[]): RouteTable {
  const t = new RouteTable()
  for (const r of routes) t.add(r)
  return t
}

const names = (routes: readonly RouteFacts[]) => routes.map((r) => r.name).sort()

describe('RouteTable.lookup', () => {
  it('ROUTE-04: longest prefix, then lowest priority, and an equal-priority tie returns every candidate', () => {
    const t = table(staticRoute('wide', '10.0.0.0/8'), staticRoute('narrow-a', '10.1.0.0/16', 900), staticRoute('narrow-b', '10.1.0.0/16', 900), staticRoute('narrow-late', '10.1.0.0/16', 1000))
    assert.deepEqual(names(t.lookup(ip('10.1.2.3'), []).winners), ['narrow-a', 'narrow-b'])
    assert.deepEqual(names(t.lookup(ip('10.2.0.1'), []).winners), ['wide'])
    assert.deepEqual(t.lookup(ip('192.168.0.1'), []).winners, [])
  })

  it('ROUTE-03: a tagged route applies only to senders holding the tag', () => {
    const t = table(staticRoute('default', '0.0.0.0/0'), staticRoute('tagged', '10.0.0.0/8', 1000, ['gw']))
    assert.deepEqual(names(t.lookup(ip('10.1.0.1'), ['gw']).winners), ['tagged'])
    assert.deepEqual(names(t.lookup(ip('10.1.0.1'), ['other']).winners), ['default'])
  })

  it('ROUTE-04/ROUTE-08: two subnet routes of one range (local and peering, or two peers) are both winners', () => {
    const t = table(subnetRoute('local', '10.1.0.0/16'), subnetRoute('learned', '10.1.0.0/16', {kind: 'PEERING_SUBNET'}), staticRoute('default', '0.0.0.0/0'))
    assert.deepEqual(names(t.lookup(ip('10.1.0.5'), []).winners), ['learned', 'local'])
    const peers = table(subnetRoute('from-a', '10.1.0.0/16', {kind: 'PEERING_SUBNET'}), subnetRoute('from-c', '10.1.0.0/16', {kind: 'PEERING_SUBNET'}))
    assert.deepEqual(names(peers.lookup(ip('10.1.0.5'), []).winners), ['from-a', 'from-c'])
  })

  it('ROUTE-06(a): a more specific custom route inside a subnet range is shadowed; every tied subnet route still wins', () => {
    const one = table(subnetRoute('local', '10.1.0.0/16'), staticRoute('inside', '10.1.5.0/24'))
    const single = one.lookup(ip('10.1.5.1'), [])
    assert.deepEqual(names(single.winners), ['local'])
    assert.equal(single.shadowed?.name, 'inside')
    const two = table(subnetRoute('local', '10.1.0.0/16'), subnetRoute('learned', '10.1.0.0/16', {kind: 'PEERING_SUBNET'}), staticRoute('inside', '10.1.5.0/24'))
    const tied = two.lookup(ip('10.1.5.1'), [])
    assert.deepEqual(names(tied.winners), ['learned', 'local'])
    assert.equal(tied.shadowed?.name, 'inside')
  })

  it('ROUTE-06(c): with allowSubnetCidrRoutesOverlap a more specific custom route wins; an exact tie is undecided', () => {
    const t = table(subnetRoute('local', '10.1.0.0/16', {allowOverlap: true}), staticRoute('inside', '10.1.5.0/24'), staticRoute('same', '10.1.0.0/16'))
    const inside = t.lookup(ip('10.1.5.1'), [])
    assert.deepEqual(names(inside.winners), ['inside'])
    assert.equal(inside.shadowed, undefined)
    assert.deepEqual(names(t.lookup(ip('10.1.9.1'), []).winners), ['local', 'same'])
  })

  it('ROUTE-06: a custom route broader than the subnet never captures its traffic', () => {
    const t = table(subnetRoute('local', '10.1.0.0/16'), staticRoute('wide', '10.0.0.0/8', 0))
    const lookup = t.lookup(ip('10.1.0.9'), [])
    assert.deepEqual(names(lookup.winners), ['local'])
    assert.equal(lookup.shadowed, undefined)
  })
})
