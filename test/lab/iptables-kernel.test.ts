/**
 * Proves the iptables evaluator against the kernel: each fixture is loaded with iptables-restore
 * into a fresh "host" namespace, randomised flows are sent through it from peer namespaces and
 * from the host itself, and for every flow the kernel's decision (conntrack) must be one of the
 * outcomes runPipeline predicts: dropped vs passed, and the post-NAT addresses and ports.
 *
 * Needs root, iproute2, iptables (nf_tables) and conntrack; fails with an install hint otherwise.
 * Reproduce a run with XCC_LAB_SEED=<seed printed on failure>.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {parseIpsetSave, parseIptablesSave} from '../../src/core/iptables/index.js'
import {NetnsLab, requireLabTools} from '../support/netns.js'
import {
  type DestinationChoice,
  type Rng,
  type Scenario,
  buildLab,
  describeOutcome,
  drawFlows,
  evaluateFlow,
  flowKey,
  judge,
  pick,
  randomIn,
  seededRng,
  sendFlows,
} from './iptables-lab.js'

const FIXTURES = new URL('../fixtures/iptables/', import.meta.url)
const FLOWS_PER_FIXTURE = 250

const publicOrReserved = (rng: Rng): DestinationChoice => ({
  dst: randomIn(rng, pick(rng, ['8.8.8.0/24', '35.0.0.0/8', '104.16.0.0/12', '151.101.0.0/16', '203.0.113.0/24', '100.64.0.0/10', '198.18.0.0/15'])),
})
const privateRanges = (rng: Rng): DestinationChoice => ({
  dst: randomIn(rng, pick(rng, ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'])),
})
const fixed = (dst: string, protocol?: 'tcp' | 'udp', port?: number) => (): DestinationChoice => ({dst, protocol, port})
const within = (block: string) => (rng: Rng): DestinationChoice => ({dst: randomIn(rng, block)})
const sourcesFrom = (weighted: ReadonlyArray<readonly [number, string]>) => (rng: Rng): string => {
  let roll = rng()
  for (const [weight, block] of weighted) {
    if (roll < weight) return randomIn(rng, block)
    roll -= weight
  }
  return randomIn(rng, (weighted[weighted.length - 1] as readonly [number, string])[1])
}

const gkeNodeLinks = [
  {hostIface: 'eth0', hostCidr: '10.209.0.2/24', peer: 'wan', peerIface: 'eth0', peerAddress: '10.209.0.1'},
  {hostIface: 'cbr0', hostCidr: '10.132.0.1/24', peer: 'pods', peerIface: 'eth0', peerAddress: '10.132.0.2'},
]

const SCENARIOS: readonly Scenario[] = [
  {
    label: 'gkenode',
    fixture: 'gke-node.txt',
    links: gkeNodeLinks,
    loAddresses: ['169.254.169.252/32'],
    routes: [{dst: 'default', via: '10.209.0.1', dev: 'eth0'}],
    sources: {
      pods: (rng) => (rng() < 0.15 ? pick(rng, ['10.132.0.5', '10.132.0.8', '10.132.0.11']) : sourcesFrom([[0.6, '10.132.0.0/24'], [0.1, '10.132.0.0/14'], [0.1, '192.168.0.0/16'], [0.2, '8.0.0.0/8']])(rng)),
      wan: sourcesFrom([[0.3, '10.209.0.0/24'], [0.3, '10.0.0.0/8'], [0.3, '35.0.0.0/8'], [0.1, '172.16.0.0/12']]),
    },
    hostSources: ['10.209.0.2', '10.132.0.1'],
    destinations: [
      fixed('10.135.240.1', 'tcp', 443),
      fixed('10.135.240.10', 'udp', 53),
      fixed('10.135.240.10', 'tcp', 53),
      fixed('10.135.242.17', 'tcp', 80),
      fixed('10.135.242.17', 'tcp', 80),
      fixed('10.135.244.30', 'tcp', 9000),
      fixed('10.135.240.99', 'tcp', 80),
      (rng) => ({dst: pick(rng, ['10.135.242.17', '10.135.240.10', '10.135.244.30'])}),
      fixed('10.209.0.2', 'tcp', 30080),
      fixed('10.209.0.2', 'tcp', 30080),
      fixed('10.209.0.2', 'tcp', 31000),
      fixed('10.209.0.2', 'tcp', 30099),
      fixed('10.132.0.1', 'tcp', 30080),
      fixed('169.254.169.254', 'tcp', 80),
      fixed('169.254.169.254'),
      (rng) => ({dst: pick(rng, ['10.209.0.2', '10.132.0.1', '169.254.169.252'])}),
      within('10.132.0.0/24'),
      within('10.132.0.0/14'),
      privateRanges,
      publicOrReserved,
      publicOrReserved,
    ],
    flowCount: FLOWS_PER_FIXTURE,
  },
  {
    label: 'kubenet',
    fixture: 'kubenet.txt',
    links: gkeNodeLinks,
    loAddresses: [],
    routes: [{dst: 'default', via: '10.209.0.1', dev: 'eth0'}],
    sources: {
      pods: sourcesFrom([[0.8, '10.132.0.0/24'], [0.2, '192.168.0.0/16']]),
      wan: sourcesFrom([[0.5, '10.209.0.0/24'], [0.5, '35.0.0.0/8']]),
    },
    hostSources: ['10.209.0.2'],
    destinations: [
      fixed('10.193.0.3', 'tcp', 32191),
      within('10.193.0.0/16'),
      within('10.132.0.0/24'),
      (rng) => ({dst: pick(rng, ['10.209.0.2', '10.132.0.1'])}),
      privateRanges,
      publicOrReserved,
      publicOrReserved,
    ],
    flowCount: FLOWS_PER_FIXTURE,
  },
  {
    label: 'ipmasq',
    fixture: 'ip-masq-agent.txt',
    links: [
      {hostIface: 'eth0', hostCidr: '10.209.0.2/24', peer: 'wan', peerIface: 'eth0', peerAddress: '10.209.0.1'},
      // VPC-native: pods behind a gke<hex> veth, the host end unnumbered (a /32 of its own)
      {hostIface: 'gke1a2b3c4d5e6', hostCidr: '169.254.123.1/32', peer: 'pods', peerIface: 'eth0', peerAddress: '10.132.0.2'},
    ],
    loAddresses: [],
    routes: [
      {dst: '10.132.0.0/24', dev: 'gke1a2b3c4d5e6'},
      {dst: 'default', via: '10.209.0.1', dev: 'eth0'},
    ],
    sources: {
      pods: sourcesFrom([[0.8, '10.132.0.0/24'], [0.2, '10.133.0.0/16']]),
      wan: sourcesFrom([[0.5, '10.209.0.0/24'], [0.5, '8.0.0.0/8']]),
    },
    hostSources: ['10.209.0.2'],
    destinations: [
      within('10.132.0.0/14'),
      within('10.209.0.0/16'),
      within('10.50.0.0/16'),
      within('192.168.0.0/16'),
      within('172.16.0.0/12'),
      within('169.254.0.0/16'),
      (rng) => ({dst: pick(rng, ['10.209.0.2', '169.254.123.1'])}),
      publicOrReserved,
      publicOrReserved,
    ],
    flowCount: FLOWS_PER_FIXTURE,
  },
  {
    label: 'gateway',
    fixture: 'gateway.txt',
    links: [
      {hostIface: 'nic0', hostCidr: '10.210.200.2/24', peer: 'shared', peerIface: 'eth0', peerAddress: '10.210.200.1'},
      {hostIface: 'nic1', hostCidr: '10.138.0.10/20', peer: 'cluster', peerIface: 'eth0', peerAddress: '10.138.0.1'},
    ],
    loAddresses: [],
    routes: [
      {dst: 'default', via: '10.210.200.1', dev: 'nic0'},
      {dst: '10.120.0.0/14', via: '10.138.0.1', dev: 'nic1'},
      {dst: '192.0.2.0/24', blackhole: true},
    ],
    sources: {
      cluster: sourcesFrom([[0.5, '10.120.0.0/14'], [0.3, '10.138.0.0/20'], [0.1, '192.168.0.0/16'], [0.1, '8.0.0.0/8']]),
      shared: sourcesFrom([[0.4, '10.210.200.0/24'], [0.2, '10.120.0.0/14'], [0.2, '35.0.0.0/8'], [0.2, '172.16.0.0/12']]),
    },
    hostSources: ['10.138.0.10', '10.210.200.2'],
    destinations: [
      fixed('10.138.0.10', 'tcp', 8080),
      fixed('10.138.0.10', 'tcp', 8080),
      fixed('10.138.0.10', 'udp', 5353),
      (rng) => ({dst: pick(rng, ['10.138.0.10', '10.210.200.2']), port: pick(rng, [9999, 22, 8080])}),
      (rng) => ({dst: pick(rng, ['10.210.200.7', '10.210.200.8']), port: pick(rng, [80, 443, 53, 5432, 8050, 25])}),
      within('10.210.200.0/24'),
      within('10.138.0.0/20'),
      within('10.120.0.0/14'),
      within('192.0.2.0/24'),
      privateRanges,
      publicOrReserved,
    ],
    flowCount: FLOWS_PER_FIXTURE,
  },
  {
    // kube-proxy IPVS + Calico VXLAN; the service IPs of kube-ipvs0 on lo (no IPVS in the lab)
    label: 'calicoipvs',
    fixture: 'kubeadm-calico-ipvs.txt',
    ipsets: 'kubeadm-calico-ipvs.ipset',
    links: [
      {hostIface: 'eth0', hostCidr: '192.168.56.11/24', peer: 'wan', peerIface: 'eth0', peerAddress: '192.168.56.1'},
      // Calico's workload link: no address on the host side but the 169.254.1.1 the pod routes to
      {hostIface: 'cali1a2b3c4d5e6', hostCidr: '169.254.1.1/32', peer: 'pods', peerIface: 'eth0', peerAddress: '10.244.123.130'},
      {hostIface: 'vxlan.calico', hostCidr: '10.244.123.128/32', peer: 'tunnel', peerIface: 'eth0', peerAddress: '10.244.7.1'},
    ],
    loAddresses: ['10.96.0.1/32', '10.96.0.10/32', '10.104.22.17/32', '192.168.56.240/32'],
    routes: [
      {dst: '10.244.123.128/26', dev: 'cali1a2b3c4d5e6'},
      {dst: '10.244.0.0/16', dev: 'vxlan.calico'},
      {dst: 'default', via: '192.168.56.1', dev: 'eth0'},
    ],
    sources: {
      pods: (rng) => (rng() < 0.1 ? '10.244.123.140' : sourcesFrom([[0.9, '10.244.123.128/26'], [0.1, '10.244.200.0/24']])(rng)),
      wan: (rng) => (rng() < 0.3 ? pick(rng, ['192.168.56.12', '192.168.56.13', '192.168.56.200']) : sourcesFrom([[0.5, '192.168.56.0/24'], [0.5, '8.0.0.0/8']])(rng)),
      tunnel: sourcesFrom([[0.3, '10.244.7.0/27'], [0.2, '10.244.7.16/28'], [0.5, '10.244.64.0/18']]),
    },
    hostSources: ['192.168.56.11', '10.244.123.128'],
    destinations: [
      fixed('10.96.0.1', 'tcp', 443),
      fixed('10.96.0.10', 'udp', 53),
      fixed('10.96.0.10', 'tcp', 53),
      fixed('10.96.0.10', 'tcp', 80),
      fixed('10.104.22.17', 'tcp', 80),
      fixed('10.104.22.17', 'udp', 80),
      fixed('192.168.56.240', 'tcp', 80),
      fixed('192.168.56.240', 'tcp', 80),
      fixed('192.168.56.240', 'tcp', 443),
      fixed('192.168.56.11', 'tcp', 30080),
      fixed('192.168.56.11', 'udp', 30053),
      fixed('192.168.56.11', 'tcp', 31000),
      fixed('192.168.56.11', 'tcp', 30443),
      fixed('192.168.56.11', 'udp', 4789),
      fixed('10.244.123.130', 'tcp', 8080),
      fixed('10.244.123.130', 'tcp', 9090),
      fixed('10.244.123.130'),
      within('10.244.123.128/26'),
      within('10.244.0.0/16'),
      privateRanges,
      publicOrReserved,
      publicOrReserved,
    ],
    flowCount: FLOWS_PER_FIXTURE,
  },
  {
    // EKS: aws-node's CONNMARK 0x80 for connections from the primary ENI and from pods to outside the VPC
    label: 'eks',
    fixture: 'eks-vpc-cni.txt',
    links: [
      {hostIface: 'eth0', hostCidr: '192.168.11.23/19', peer: 'vpc', peerIface: 'eth0', peerAddress: '192.168.0.1'},
      {hostIface: 'eni1a2b3c4d5e6', hostCidr: '169.254.1.1/32', peer: 'pods', peerIface: 'eth0', peerAddress: '192.168.20.37'},
    ],
    loAddresses: [],
    routes: [
      {dst: '192.168.20.32/27', dev: 'eni1a2b3c4d5e6'},
      {dst: 'default', via: '192.168.0.1', dev: 'eth0'},
    ],
    sources: {
      pods: sourcesFrom([[1, '192.168.20.32/27']]),
      vpc: sourcesFrom([[0.4, '192.168.0.0/19'], [0.3, '192.168.64.0/18'], [0.3, '8.0.0.0/8']]),
    },
    hostSources: ['192.168.11.23'],
    destinations: [
      fixed('10.100.0.1', 'tcp', 443),
      fixed('10.100.0.10', 'udp', 53),
      fixed('10.100.55.10', 'tcp', 80),
      fixed('10.100.55.10', 'tcp', 80),
      fixed('192.168.11.23', 'tcp', 30080),
      fixed('192.168.11.23', 'tcp', 30080),
      fixed('192.168.11.23', 'tcp', 10250),
      fixed('192.168.11.23', 'tcp', 10250),
      fixed('169.254.1.1', 'tcp', 10250),
      fixed('192.168.11.23'),
      within('192.168.20.32/27'),
      within('192.168.0.0/16'),
      privateRanges,
      publicOrReserved,
      publicOrReserved,
    ],
    flowCount: FLOWS_PER_FIXTURE,
  },
  {
    // flannel VXLAN: pods on cni0 (a veth here, not a bridge), the overlay behind flannel.1
    label: 'flannel',
    fixture: 'flannel.txt',
    links: [
      {hostIface: 'eth0', hostCidr: '172.31.5.10/24', peer: 'lan', peerIface: 'eth0', peerAddress: '172.31.5.1'},
      {hostIface: 'cni0', hostCidr: '10.244.1.1/24', peer: 'pods', peerIface: 'eth0', peerAddress: '10.244.1.5'},
      {hostIface: 'flannel.1', hostCidr: '10.244.1.0/32', peer: 'overlay', peerIface: 'eth0', peerAddress: '10.244.2.1'},
    ],
    loAddresses: [],
    routes: [
      {dst: '10.244.0.0/16', dev: 'flannel.1'},
      {dst: 'default', via: '172.31.5.1', dev: 'eth0'},
    ],
    sources: {
      pods: sourcesFrom([[1, '10.244.1.0/24']]),
      lan: sourcesFrom([[0.6, '172.31.5.0/24'], [0.4, '8.0.0.0/8']]),
      overlay: sourcesFrom([[0.5, '10.244.2.0/24'], [0.5, '10.244.3.0/24']]),
    },
    hostSources: ['172.31.5.10', '10.244.1.1'],
    destinations: [
      fixed('10.96.0.1', 'tcp', 443),
      fixed('10.96.0.10', 'udp', 53),
      fixed('10.99.12.34', 'tcp', 80),
      fixed('10.99.12.34', 'tcp', 80),
      fixed('10.101.7.9', 'tcp', 9090),
      fixed('172.31.5.10', 'tcp', 31080),
      fixed('172.31.5.10', 'tcp', 31090),
      fixed('172.31.5.10', 'tcp', 8443),
      fixed('172.31.5.10', 'tcp', 8443),
      fixed('10.244.1.1', 'tcp', 8443),
      within('10.244.1.0/24'),
      within('10.244.0.0/16'),
      within('172.31.5.0/24'),
      privateRanges,
      publicOrReserved,
      publicOrReserved,
    ],
    flowCount: FLOWS_PER_FIXTURE,
  },
  {
    // Weave Net: the pod network behind `weave` (a veth here, so no packet carries a bridge port)
    label: 'weave',
    fixture: 'weave.txt',
    ipsets: 'weave.ipset',
    links: [
      {hostIface: 'eth0', hostCidr: '10.128.0.4/24', peer: 'net', peerIface: 'eth0', peerAddress: '10.128.0.1'},
      {hostIface: 'weave', hostCidr: '10.32.0.1/12', peer: 'pods', peerIface: 'eth0', peerAddress: '10.32.0.3'},
    ],
    loAddresses: [],
    routes: [{dst: 'default', via: '10.128.0.1', dev: 'eth0'}],
    sources: {
      pods: (rng) => (rng() < 0.5 ? pick(rng, ['10.32.0.2', '10.32.0.4', '10.32.0.5', '10.32.0.6', '10.40.0.7', '10.40.0.9']) : sourcesFrom([[0.6, '10.32.0.0/27'], [0.4, '10.40.0.0/24']])(rng)),
      net: sourcesFrom([[0.6, '10.128.0.0/24'], [0.4, '8.0.0.0/8']]),
    },
    hostSources: ['10.128.0.4', '10.32.0.1'],
    destinations: [
      fixed('10.96.0.1', 'tcp', 443),
      fixed('10.103.4.5', 'tcp', 6379),
      fixed('10.103.4.5', 'tcp', 6379),
      fixed('10.32.0.3', 'tcp', 6379),
      fixed('10.32.0.3', 'tcp', 6379),
      fixed('10.32.0.3'),
      (rng) => ({dst: pick(rng, ['10.32.0.2', '10.32.0.4', '10.40.0.7'])}),
      fixed('10.128.0.4', 'tcp', 30379),
      fixed('10.128.0.4', 'tcp', 30379),
      (rng) => ({dst: pick(rng, ['10.128.0.4', '10.32.0.1'])}),
      within('10.32.0.0/12'),
      within('10.128.0.0/24'),
      privateRanges,
      publicOrReserved,
      publicOrReserved,
    ],
    flowCount: FLOWS_PER_FIXTURE,
  },
  {
    // k3s: flannel, the embedded kube-proxy (the API server is the node itself), kube-router's policies
    label: 'k3s',
    fixture: 'k3s.txt',
    ipsets: 'k3s.ipset',
    links: [
      {hostIface: 'eth0', hostCidr: '192.168.1.50/24', peer: 'lan', peerIface: 'eth0', peerAddress: '192.168.1.1'},
      {hostIface: 'cni0', hostCidr: '10.42.0.1/24', peer: 'pods', peerIface: 'eth0', peerAddress: '10.42.0.9'},
      {hostIface: 'flannel.1', hostCidr: '10.42.0.0/32', peer: 'overlay', peerIface: 'eth0', peerAddress: '10.42.1.1'},
    ],
    loAddresses: [],
    routes: [
      {dst: '10.42.0.0/16', dev: 'flannel.1'},
      {dst: 'default', via: '192.168.1.1', dev: 'eth0'},
    ],
    sources: {
      pods: (rng) => (rng() < 0.4 ? pick(rng, ['10.42.0.12', '10.42.0.4', '10.42.0.6']) : sourcesFrom([[1, '10.42.0.0/24']])(rng)),
      lan: sourcesFrom([[0.6, '192.168.1.0/24'], [0.4, '8.0.0.0/8']]),
      overlay: (rng) => (rng() < 0.4 ? '10.42.1.20' : sourcesFrom([[1, '10.42.1.0/24']])(rng)),
    },
    hostSources: ['192.168.1.50', '10.42.0.1'],
    destinations: [
      fixed('10.43.0.1', 'tcp', 443),
      fixed('10.43.0.10', 'udp', 53),
      fixed('10.43.121.9', 'tcp', 80),
      fixed('192.168.1.50', 'tcp', 30080),
      fixed('192.168.1.50', 'tcp', 6443),
      fixed('10.42.0.9', 'tcp', 5432),
      fixed('10.42.0.9', 'tcp', 5432),
      fixed('10.42.0.9', 'tcp', 5432),
      fixed('10.42.0.9'),
      within('10.42.0.0/24'),
      within('10.42.0.0/16'),
      (rng) => ({dst: pick(rng, ['192.168.1.50', '10.42.0.1'])}),
      privateRanges,
      publicOrReserved,
      publicOrReserved,
    ],
    flowCount: FLOWS_PER_FIXTURE,
  },
]

describe('the iptables evaluator agrees with the kernel', () => {
  for (const scenario of SCENARIOS) {
    it(`on ${scenario.fixture}: every flow's kernel verdict and NAT is one of the evaluator's outcomes`, {timeout: 180_000}, async (t) => {
      requireLabTools(scenario.ipsets ? [['ipset', ['--version'], 'ipset']] : [])
      const seed = Number(process.env.XCC_LAB_SEED ?? Math.floor(Math.random() * 2 ** 31))
      const fixtureText = readFileSync(new URL(scenario.fixture, FIXTURES), 'utf8')
      const {ruleset, errors} = parseIptablesSave(fixtureText, scenario.fixture)
      assert.deepEqual(errors, [], `${scenario.fixture} must parse cleanly`)
      const ipsetsText = scenario.ipsets === undefined ? undefined : readFileSync(new URL(scenario.ipsets, FIXTURES), 'utf8')
      const sets = ipsetsText === undefined ? undefined : parseIpsetSave(ipsetsText, scenario.ipsets as string)
      assert.deepEqual(sets?.errors ?? [], [], `${scenario.ipsets} must parse cleanly`)
      const flows = drawFlows(scenario, seededRng(seed))
      assert.ok(flows.length <= 300, 'flows per fixture are bounded')
      const lab = new NetnsLab(scenario.label)
      try {
        const host = buildLab(lab, scenario, fixtureText, flows, ipsetsText)
        const {kernel, socketErrors} = await sendFlows(lab, host, flows, (sender) => (sender === 'host' ? host : `${lab.prefix}-${sender}`))
        const disagreements: string[] = []
        const tally = {passed: 0, dropped: 0, natted: 0, marked: 0, branching: 0}
        const paths = new Map<string, number>()
        for (const flow of flows) {
          const key = flowKey(flow.protocol, flow.src, flow.sport, flow.dst, flow.dport)
          const entry = kernel.get(key)
          const outcomes = evaluateFlow(scenario, ruleset, flow, sets?.ipsets)
          if (entry) tally.passed++
          else tally.dropped++
          if (entry && (entry.src !== flow.src || entry.dst !== flow.dst)) tally.natted++
          if (entry?.mark) tally.marked++
          if (outcomes.length > 1) tally.branching++
          const path = `${flow.sender === 'host' ? 'local-origin' : 'arriving'} ${[...new Set(outcomes.map((o) => o.kind))].join('|')}`
          paths.set(path, (paths.get(path) ?? 0) + 1)
          const problem = judge(outcomes, entry, flow.sender === 'host')
          if (problem) {
            disagreements.push(
              [
                `seed ${seed} flow from ${flow.sender}: ${key}`,
                `  ${problem}`,
                `  kernel:    ${entry ? `passed as ${entry.src}:${entry.sport} > ${entry.dst}:${entry.dport}${entry.mark ? ` mark=${entry.mark}` : ''}` : `no conntrack entry (dropped)${socketErrors[key] ? `, socket error ${socketErrors[key]}` : ''}`}`,
                ...outcomes.map((o) => `  evaluator: ${describeOutcome(o)}`),
              ].join('\n'),
            )
          }
        }
        t.diagnostic(`${scenario.fixture}: seed ${seed}, ${flows.length} flows, kernel passed ${tally.passed} (NAT on ${tally.natted}, a connection mark on ${tally.marked}), dropped ${tally.dropped}; ${tally.branching} flows with statistic branches; ${flows.length - disagreements.length} agreements; evaluator paths: ${[...paths].map(([p, n]) => `${p} ${n}`).join(', ')}`)
        assert.ok(tally.passed > 0 && tally.dropped >= 0, 'the kernel passed some flows (the lab works)')
        assert.equal(disagreements.length, 0, `${disagreements.length} disagreements (XCC_LAB_SEED=${seed}):\n${disagreements.slice(0, 15).join('\n')}`)
      } finally {
        lab.destroy()
      }
    })
  }
})
