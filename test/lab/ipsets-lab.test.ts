/**
 * A node whose iptables masquerade by ipsets (Calico's cali-nat-outgoing): the lab creates the
 * node's ipsets inside its namespace (ipset restore) before it loads the rules, and a real TCP
 * connection agrees with the doctor, down to the source address the server sees.
 *
 * Needs root, iproute2, iptables, ipset, socat and curl; fails with an install hint otherwise.
 */
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'

import {destroyDataPlane} from '../../src/lab/runtime/dataplane.js'
import {nic, subnet, topology} from '../builders/topology.js'
import {compare, describe as describeComparison, startLab} from '../support/lab-compare.js'
import {requireLabTools} from '../support/netns.js'

const LAB = `is${process.pid}`

const RULES = [
  '*nat',
  ':cali-nat-outgoing - [0:0]',
  '-A POSTROUTING -m comment --comment "cali:O3lYWMrLQYEMJtB5" -j cali-nat-outgoing',
  '-A cali-nat-outgoing -m comment --comment "cali:flqWnvo8yq4ULQLa" -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE --random-fully',
  'COMMIT',
  '',
].join('\n')

const IPSETS = [
  'create cali40masq-ipam-pools hash:net family inet hashsize 1024 maxelem 1048576',
  'add cali40masq-ipam-pools 10.4.0.0/14',
  'create cali40all-ipam-pools hash:net family inet hashsize 1024 maxelem 1048576',
  'add cali40all-ipam-pools 10.4.0.0/14',
  '',
].join('\n')

const model = topology('ipsets')
  .network('vpc-a', subnet('a-main', 'us-west1', '10.0.0.0/24', {pods: '10.4.0.0/14', services: '10.8.0.0/20'}))
  .allowIngress('vpc-a', ['10.0.0.0/8'])
  .vm('server', 'us-west1-a', nic('vpc-a', 'a-main', '10.0.0.50'), {guest: {ipForward: false, routes: [], listen: [{protocol: 'tcp', port: 80}]}})
  .cluster({
    name: 'c1', location: 'us-west1-a', network: 'vpc-a', subnetwork: 'a-main', mode: 'VPC_NATIVE', clusterIpv4Cidr: '10.4.0.0/14', servicesIpv4Cidr: '10.8.0.0/20',
    masquerade: {disabled: true},
    nodes: [{name: 'n1', networkIP: '10.0.0.2', podCidr: '10.4.0.0/24', iptables: RULES, ipsets: IPSETS}, {name: 'n2', networkIP: '10.0.0.3', podCidr: '10.4.1.0/24'}],
    pods: [{name: 'client', node: 'n1', ip: '10.4.0.10'}, {name: 'far', node: 'n2', ip: '10.4.1.10', ports: [8080]}],
  })
  .load()

describe('a node\'s ipsets in the lab', () => {
  requireLabTools([['ipset', ['--version'], 'ipset'], ['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl']])
  after(async () => {
    await destroyDataPlane(LAB)
  })

  it('are created in the node\'s namespace before its rules, and the lab masquerades as the doctor predicts from them', {timeout: 120_000}, async (t) => {
    const lab = await startLab(model, LAB)
    try {
      const out = await compare(lab, 'c1/default/client', '10.0.0.50:80')
      t.diagnostic(describeComparison(out))
      assert.equal(out.doctor, 'reachable')
      assert.equal(out.deliveredSrc, '10.0.0.2', 'out of the IP pools: masqueraded to the node')
      assert.ok(out.agree, describeComparison(out))
      const inside = await compare(lab, 'c1/default/client', '10.4.1.10:8080')
      t.diagnostic(describeComparison(inside))
      assert.equal(inside.deliveredSrc, '10.4.0.10', 'inside the IP pools: the pod address is kept')
      assert.ok(inside.agree, describeComparison(inside))
    } finally {
      await lab.destroy()
    }
  })
})
