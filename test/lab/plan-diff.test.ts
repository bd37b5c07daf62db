/**
 * The pure half of incremental lab changes: names stay stable across compiles (name-map.ts), and
 * diffPlans names only what a change touches — per namespace, per table, per route.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {compileLab} from '../../src/lab/compile/compile.js'
import {diffPlans, isEmptyDiff} from '../../src/lab/compile/diff.js'
import {diffIpLines} from '../../src/lab/compile/ip-diff.js'
import {diffTables} from '../../src/lab/compile/iptables-diff.js'
import {namesFromPlan} from '../../src/lab/compile/name-map.js'
import {
  baseTopology, denyIntoServer, modelOf, withFirewall, withGateway, withGatewayRoutes, withNicMoved, withPeering, withoutInstance,
} from '../support/incremental-topology.js'

const LAB = 'pd'
const base = baseTopology()
const model0 = modelOf(base)
const plan0 = compileLab(model0, LAB)
/** the index a new instance takes: after every VM and node */
const NEXT_HOST = model0.instances.size

function nsOf(plan: ReturnType<typeof compileLab>, ref: string): string {
  return (plan.hosts[ref] as {ns: string}).ns
}

describe('stable lab names', () => {
  it('a first compile names by topology order, as lab up always did', () => {
    const expected = [
      ...[...model0.networks.keys()].map((_, i) => `net${i}`),
      ...[...model0.instances.values()].map((h, i) => `${h.kind}${i}`),
      'pod0',
    ]
    assert.deepEqual(plan0.namespaces.map((n) => n.name), expected.map((s) => `xcc-${LAB}-${s}`))
  })

  it('a VM inserted before another renames nothing: it takes the next index', () => {
    const plan = compileLab(modelOf(withGateway(base, '/nonexistent')), LAB, plan0.names)
    for (const ref of Object.keys(plan0.hosts)) assert.equal(nsOf(plan, ref), nsOf(plan0, ref), ref)
    assert.equal(nsOf(plan, 'instance/gw'), `xcc-${LAB}-vm${NEXT_HOST}`)
    // and an index is not handed out again after its VM is gone
    const without = compileLab(modelOf(base), LAB, plan.names)
    const again = compileLab(modelOf(withGateway(base, '/nonexistent')), LAB, without.names)
    assert.equal(nsOf(again, 'instance/gw'), `xcc-${LAB}-vm${NEXT_HOST + 1}`)
  })

  it('the name map of a plan written before maps were kept is read back from its namespaces', () => {
    const {names: _names, ...old} = plan0
    const names = namesFromPlan(old)
    assert.deepEqual(new Map(names.hosts), new Map(plan0.names.hosts))
    assert.deepEqual(new Map(names.networks), new Map(plan0.names.networks))
    assert.equal(names.next.hosts, NEXT_HOST)
  })
})

describe('diffPlans', () => {
  it('the same topology compiled again changes nothing', () => {
    assert.ok(isEmptyDiff(diffPlans(plan0, compileLab(modelOf(base), LAB, plan0.names))))
  })

  it('a deny rule replaces the filter table of its network\'s router, and nothing else', () => {
    const d = diffPlans(plan0, compileLab(modelOf(withFirewall(base, denyIntoServer)), LAB, plan0.names))
    assert.deepEqual(d.changedNamespaces.map((c) => c.ref), ['network/net-a'])
    const [c] = d.changedNamespaces
    assert.deepEqual(c?.tables.map((t) => t.table), ['filter'])
    assert.deepEqual([c?.ip.add, c?.ip.remove, c?.ip.rulesAdded], [[], [], []])
    assert.equal(d.addedNamespaces.length + d.removedNamespaces.length + d.addedLinks.length + d.removedLinks.length, 0)
  })

  it('a one-sided peering changes nothing; the second side links the routers', () => {
    const one = compileLab(modelOf(withPeering(base, 'net-a')), LAB, plan0.names)
    assert.ok(isEmptyDiff(diffPlans(plan0, one)))
    const both = compileLab(modelOf(withPeering(withPeering(base, 'net-a'), 'net-b')), LAB, one.names)
    const d = diffPlans(one, both)
    assert.equal(d.addedLinks.length, 1)
    assert.deepEqual(d.changedNamespaces.map((c) => c.ref).sort(), ['network/net-a', 'network/net-b'])
    // routes into the peer are replaced in place, not rebuilt
    assert.ok(d.changedNamespaces.every((c) => c.ip.add.some((l) => l.startsWith('route replace 10.'))))
    assert.ok(d.changedNamespaces.every((c) => c.ip.remove.length === 0))
  })

  it('a gateway VM: its namespace, its two links, both routers; removing it deletes only what the kernel keeps', () => {
    const withGw = compileLab(modelOf(withGateway(base, '/nonexistent')), LAB, plan0.names)
    const d = diffPlans(plan0, withGw)
    assert.deepEqual(d.addedNamespaces.map((n) => n.ref), ['instance/gw'])
    assert.equal(d.addedLinks.length, 2)
    assert.deepEqual(d.addedServers.map((s) => s.ref), ['instance/gw'])
    assert.deepEqual(d.changedNamespaces.map((c) => c.ref).sort(), ['network/net-a', 'network/net-b'])
    const routed = compileLab(modelOf(withGatewayRoutes(withGateway(base, '/nonexistent'))), LAB, withGw.names)
    const r = diffPlans(withGw, routed)
    assert.deepEqual(r.changedNamespaces.map((c) => c.ref).sort(), ['network/net-a', 'network/net-b'])
    for (const c of r.changedNamespaces) {
      assert.deepEqual(c.tables, [], 'a route leaves the firewall alone')
      assert.ok(c.ip.add.every((l) => l.startsWith('route replace ')), c.ip.add.join('\n'))
    }
    const gone = diffPlans(withGw, compileLab(modelOf(withoutInstance(withGateway(base, '/nonexistent'), 'gw')), LAB, withGw.names))
    assert.deepEqual(gone.removedNamespaces.map((n) => n.ref), ['instance/gw'])
    assert.equal(gone.removedLinks.length, 0, 'its links go with its namespace')
    for (const c of gone.changedNamespaces) {
      // routes and addresses on its router interfaces go with them; its rule and the table of its tags do not
      const dev = `h${NEXT_HOST}n`
      assert.ok(c.ip.remove.every((l) => !new RegExp(`^(route|addr) .*dev ${dev}`).test(l)), c.ip.remove.join('; '))
      assert.ok(c.ip.remove.some((l) => l.startsWith(`rule del iif ${dev}`)), c.ip.remove.join('; '))
    }
  })
})

describe('a NIC that moves to another network', () => {
  it('its link is replaced, and what the VM had on the device is set again on the new one', () => {
    const moved = withNicMoved(base, 'far', 'net-a', 'a', '10.0.0.30')
    const plan = compileLab(modelOf(moved), LAB, plan0.names)
    const d = diffPlans(plan0, plan)
    const farNs = nsOf(plan0, 'instance/far')
    assert.equal(nsOf(plan, 'instance/far'), farNs, 'the VM keeps its namespace')
    assert.deepEqual(d.removedLinks.map((l) => [l.a.ns, l.b.ns, l.b.iface]), [[nsOf(plan0, 'network/net-b'), farNs, 'nic0']])
    assert.deepEqual(d.addedLinks.map((l) => [l.a.ns, l.b.ns, l.b.iface]), [[nsOf(plan0, 'network/net-a'), farNs, 'nic0']])
    const vm = d.changedNamespaces.find((c) => c.name === farNs)
    assert.ok(vm?.ip.add.includes('link set nic0 up'), 'the new nic0 is brought up')
    assert.ok(vm?.ip.add.includes('addr replace 10.0.0.30/32 dev nic0'))
    assert.ok(vm?.ip.add.some((l) => /^route replace default via 10\.0\.0\.1 dev nic0/.test(l)), vm?.ip.add.join('; '))
    assert.deepEqual(vm?.ip.remove, [], 'what was on the old nic0 went with it')
  })
})

describe('ip and iptables deltas', () => {
  it('routes are keyed by table, destination and metric: a new next hop is one replace', () => {
    const d = diffIpLines(
      ['route add 10.1.0.0/24 table 1000 metric 1002 via 10.0.0.20 dev h5n0 onlink', 'addr add 10.0.0.1/32 dev h0n0', 'rule add iif h0n0 lookup 1000 pref 100'],
      ['route add blackhole 10.1.0.0/24 table 1000 metric 1002', 'addr add 10.0.0.1/32 dev h0n0', 'rule add iif h0n0 lookup 1001 pref 100'],
    )
    assert.deepEqual(d.add, ['route replace blackhole 10.1.0.0/24 table 1000 metric 1002'])
    assert.deepEqual(d.rulesAdded, ['rule add iif h0n0 lookup 1001 pref 100'])
    assert.deepEqual(d.remove, ['rule del iif h0n0 lookup 1000 pref 100'])
    const removed = diffIpLines(['route add 10.9.0.0/16 via 10.0.0.1 dev nic0 onlink', 'route add default table 7 metric 5 dev x'], [])
    assert.deepEqual(removed.remove, ['route del 10.9.0.0/16 table main metric 0', 'route del 0.0.0.0/0 table 7 metric 5'])
  })

  it('only tables whose rules differ are restored; a table that is gone is emptied', () => {
    const filter = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -j DROP\nCOMMIT\n'
    const nat = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n'
    assert.deepEqual(diffTables(`${filter}${nat}`, `# comment\n${filter.replace('[0:0]', '[5:300]')}${nat}`), [])
    const changed = diffTables(`${filter}${nat}`, filter.replace('DROP', 'ACCEPT'))
    assert.deepEqual(changed.map((t) => t.table), ['filter', 'nat'])
    assert.match(changed[1]?.text ?? '', /^\*nat\n:PREROUTING ACCEPT \[0:0\]\n.*COMMIT\n$/s)
    assert.doesNotMatch(changed[1]?.text ?? '', /MASQUERADE/)
  })
})
