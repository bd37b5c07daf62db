/**
 * The iptables and ipsets texts of nodes and VMs are iptables-save and ipset save output: a control
 * character other than a tab (a NUL byte, an escape, a carriage return) is a load error naming the
 * line. Before, the doctor analysed such a rule while the lab's iptables-restore cut the line at
 * the NUL byte (dropping its target) or refused the dump.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {TopologyError, type TopologyIssue} from '../../../src/core/errors.js'
import {parseTopology} from '../../../src/core/topology/parse.js'

const HEAD = 'apiVersion: xcc/v1\nkind: Topology\nmetadata: {name: t}\n'

function refusal(text: string, file = 'topo.yaml'): {issues: readonly TopologyIssue[]} {
  try {
    parseTopology(text, file)
  } catch (error) {
    assert.ok(error instanceof TopologyError, `expected a TopologyError, got ${(error as Error).stack?.slice(0, 300)}`)
    assert.equal(error.exitCode, 2)
    return {issues: error.issues}
  }
  assert.fail('the topology loaded without error')
}

describe('control characters in iptables and ipsets text', () => {
  const nets = 'networks:\n  - name: vpc-a\n    subnets: [{name: a-main, region: us-west1, ipCidrRange: 10.1.0.0/16, secondaryIpRanges: [{rangeName: pods, ipCidrRange: 10.8.0.0/14}]}]\n'
  const cluster = (node: Record<string, string>): string => JSON.stringify({
    apiVersion: 'xcc/v1', kind: 'Topology', metadata: {name: 't'},
    networks: [{name: 'vpc-a', subnets: [{name: 'a-main', region: 'us-west1', ipCidrRange: '10.1.0.0/16', secondaryIpRanges: [{rangeName: 'pods', ipCidrRange: '10.8.0.0/14'}]}]}],
    clusters: [{name: 'c', location: 'us-west1-a', network: 'vpc-a', subnetwork: 'a-main', mode: 'VPC_NATIVE', clusterIpv4Cidr: '10.8.0.0/14', servicesIpv4Cidr: '10.12.0.0/20', nodes: [{name: 'n1', networkIP: '10.1.0.6', podCidr: '10.8.0.0/24', ...node}]}],
  })
  const rules = (line: string): string => `*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\n${line}\nCOMMIT\n`

  for (const [what, char] of [['a NUL byte', '\u0000'], ['an escape', '\u001b'], ['a carriage return', '\r'], ['a DEL', '\u007f'], ['a C1 control', '\u009b']] as const) {
    it(`${what} in a node's iptables is a load error naming the line (iptables-restore would cut or refuse it)`, () => {
      const {issues} = refusal(cluster({iptables: rules(`-A INPUT -s 10.0.0.2/32${char} -j DROP`)}), 't.json')
      assert.equal(issues.length, 1, JSON.stringify(issues))
      assert.equal(issues[0]?.path, 'clusters[0].nodes[0].iptables')
      assert.match(issues[0]?.message ?? '', /^iptables line 4: holds the control character U\+00[0-9A-F]{2} at column 24; /)
      assert.equal(issues[0]?.value, `-A INPUT -s 10.0.0.2/32${char} -j DROP`)
    })
  }

  it('in the ipsets text, and in a VM\'s guest.iptables', () => {
    const sets = refusal(cluster({ipsets: 'create pools hash:net\nadd pools 10.8.0.0/14\u0000\n'}), 't.json').issues
    assert.equal(sets[0]?.path, 'clusters[0].nodes[0].ipsets')
    assert.match(sets[0]?.message ?? '', /^ipset line 2: holds the control character U\+0000 at column 22; /)
    const vm = `${HEAD}${nets}instances:\n  - name: gw\n    zone: us-west1-a\n    networkInterfaces: [{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.5}]\n    guest:\n      iptables: "*nat\\n-A POSTROUTING -j MASQUERADE\\u0007\\nCOMMIT\\n"\n`
    const guest = refusal(vm).issues
    assert.equal(guest[0]?.path, 'instances[0].guest.iptables')
    assert.match(guest[0]?.message ?? '', /^iptables line 2: holds the control character U\+0007 at column 29; /)
  })

  it('tabs and newlines are fine', () => {
    const model = parseTopology(cluster({iptables: rules('-A INPUT\t-s 10.0.0.2/32 -j DROP')}), 't.json')
    assert.ok(model.nodes.get('n1'))
  })
})
