/**
 * Bad topology input: every load error names the file, the YAML path and the value, and all
 * problems of a phase are reported together.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {TopologyError, type TopologyIssue} from '../../../src/core/errors.js'
import {parseTopology} from '../../../src/core/topology/parse.js'

const HEAD = 'apiVersion: xcc/v1\nkind: Topology\nmetadata: {name: t}\n'
const NETS = `networks:
  - name: vpc-a
    subnets:
      - {name: a-main, region: us-west1, ipCidrRange: 10.1.0.0/16, secondaryIpRanges: [{rangeName: pods, ipCidrRange: 10.8.0.0/14}]}
    peerings: [{name: a-to-b, network: vpc-b}]
  - name: vpc-b
    subnets:
      - {name: b-main, region: us-west1, ipCidrRange: 10.2.0.0/16}
    peerings: [{name: b-to-a, network: vpc-a}]
`

function issuesOf(text: string, file = 'topo.yaml'): readonly TopologyIssue[] {
  try {
    parseTopology(text, file)
  } catch (error) {
    assert.ok(error instanceof TopologyError, `expected a TopologyError, got ${(error as Error).stack}`)
    assert.equal(error.file, file)
    assert.equal(error.exitCode, 2)
    assert.ok(error.details.every((d) => d.startsWith(file)), 'every detail line starts with the file name')
    return error.issues
  }
  assert.fail('the topology loaded without error')
}

function expectIssue(text: string, path: string, message: RegExp, value?: unknown): void {
  const issues = issuesOf(text)
  const issue = issues.find((i) => i.path === path)
  assert.ok(issue, `no issue at ${path}; got ${JSON.stringify(issues)}`)
  assert.match(issue.message, message)
  if (value !== undefined) assert.deepEqual(issue.value, value)
}

describe('parseTopology rejects bad input with the file, the YAML path and the value', () => {
  it('malformed YAML, with line and column', () => {
    const [issue] = issuesOf(`${HEAD}networks: [{name: a\n`)
    assert.match(issue?.message ?? '', /^malformed YAML/)
    assert.equal(issue?.line, 5)
  })

  it('duplicate YAML keys are malformed YAML', () => {
    assert.match(issuesOf(`${HEAD}networks: []\nnetworks: []\n`)[0]?.message ?? '', /malformed YAML: duplicated mapping key/)
  })

  it('empty documents around the Topology are ignored, as kubectl does; a second Topology is not', () => {
    const doc = `${HEAD}networks: [{name: a}]\n`
    for (const text of [`${doc}---\n`, `---\n${doc}---\n`, `---\n${doc}`, `${doc}---\n---\n`]) {
      assert.ok(parseTopology(text, 'topo.yaml').networks.has('a'), JSON.stringify(text))
    }
    assert.match(issuesOf('---\n---\n')[0]?.message ?? '', /^the file is empty$/)
    assert.deepEqual(issuesOf(`${doc}---\n${doc}`).map((i) => [i.path, i.message]), [['', 'expected a single document, found 2 (separated by ---); a file holds one Topology']])
  })

  it('malformed JSON, with a position', () => {
    const [issue] = issuesOf('{"apiVersion": "xcc/v1", }', 'topo.json')
    assert.match(issue?.message ?? '', /^malformed JSON/)
    assert.equal(issue?.line, 1)
  })

  it('JSON: an empty file says so, and duplicated keys are rejected as in YAML, with their path and position', () => {
    assert.deepEqual(issuesOf('', 'topo.json').map((i) => i.message), ['the file is empty'])
    assert.deepEqual(issuesOf(' \n', 'topo.json').map((i) => i.message), ['the file is empty'])
    const dup = '{"apiVersion": "xcc/v1", "kind": "Topology", "metadata": {"name": "x"},\n "metadata": {"name": "y"},\n "networks": [{"name": "a"}, {"name": "b", "\\u006eame": "c"}]}'
    assert.deepEqual(issuesOf(dup, 'topo.json').map((i) => [i.path, i.message, i.line, i.column]), [
      ['metadata', 'malformed JSON: duplicated key "metadata"', 2, 2],
      ['networks[1].name', 'malformed JSON: duplicated key "name"', 3, 44],
    ])
    const sameKeysApart = {apiVersion: 'xcc/v1', kind: 'Topology', metadata: {name: 't', description: '{"name": 1, "name": 2}'}, networks: [{name: 'a'}, {name: 'b'}]}
    assert.deepEqual([...parseTopology(JSON.stringify(sameKeysApart, null, 2), 'topo.json').networks.keys()], ['a', 'b'])
  })

  it('an empty file and a document that is not a mapping', () => {
    assert.match(issuesOf('')[0]?.message ?? '', /empty/)
    assert.match(issuesOf('- a\n- b\n')[0]?.message ?? '', /expected a Topology object/)
  })

  it('a wrong apiVersion or kind', () => {
    expectIssue('apiVersion: xcc/v2\nkind: Topology\nmetadata: {name: t}\n', 'apiVersion', /must be xcc\/v1/, 'xcc/v2')
    expectIssue('apiVersion: xcc/v1\nkind: Cluster\nmetadata: {name: t}\n', 'kind', /must be Topology/, 'Cluster')
  })

  it('an unknown field, with a suggestion', () => {
    expectIssue(`${HEAD}${NETS}routes:\n  - {name: r, network: vpc-a, destRange: 10.9.0.0/16, nextHopInstanse: vm}\n`, 'routes[0].nextHopInstanse', /unknown field "nextHopInstanse" \(did you mean "nextHopInstance"\?\)/)
  })

  it('a field of the wrong type and a missing required field', () => {
    expectIssue(`${HEAD}networks: [{name: a, subnets: {name: s}}]\n`, 'networks[0].subnets', /must be a list, not a mapping/)
    expectIssue(`${HEAD}networks: [{subnets: []}]\n`, 'networks[0].name', /is required/)
  })

  it('a value of the wrong type says what the field expects, never zod\'s bare "Invalid input"', () => {
    const nic = (extra: string) => `${HEAD}${NETS}instances:\n  - {name: vm, zone: us-west1-a, networkInterfaces: [{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.5${extra}}]}\n`
    const alias = /^must be a CIDR string like 10\.1\.5\.0\/24 or a mapping \{ipCidrRange, subnetworkRangeName\}$/
    expectIssue(nic(', aliasIpRanges: [123]'), 'instances[0].networkInterfaces[0].aliasIpRanges[0]', alias, 123)
    expectIssue(nic(', aliasIpRanges: [{}]'), 'instances[0].networkInterfaces[0].aliasIpRanges[0]', alias, {})
    expectIssue(nic(', aliasIpRanges: [{ipCidrRange: 5}]'), 'instances[0].networkInterfaces[0].aliasIpRanges[0].ipCidrRange', /^must be a CIDR string like 10\.0\.0\.0\/8, not a number$/, 5)
    expectIssue(`${HEAD}${NETS}instances:\n  - {name: vm, zone: 5, networkInterfaces: [{network: vpc-a, subnetwork: a-main, networkIP: 10}]}\n`, 'instances[0].networkInterfaces[0].networkIP', /^must be an IPv4 address string like 10\.1\.0\.5, not a number$/, 10)
    expectIssue(`${HEAD}${NETS}instances:\n  - {name: vm, zone: 5, networkInterfaces: [{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.5}]}\n`, 'instances[0].zone', /^must be a zone like us-west1-a, not a number$/, 5)
    const firewall = (fields: string) => `${HEAD}${NETS}firewalls:\n  - {name: f, network: vpc-a, ${fields}}\n`
    expectIssue(firewall('allowed: [{IPProtocol: tcp, ports: [true]}]'), 'firewalls[0].allowed[0].ports[0]', /^must be a port \(80\) or a port range \("30000-32767"\)$/, true)
    expectIssue(firewall('allowed: [{IPProtocol: tcp, ports: [1.5]}]'), 'firewalls[0].allowed[0].ports[0]', /^must be a port/, 1.5)
    expectIssue(firewall('allowed: [{IPProtocol: [tcp]}]'), 'firewalls[0].allowed[0].IPProtocol', /^must be a protocol name \(tcp, udp, icmp, …\) or number$/, ['tcp'])
    expectIssue(firewall('priority: 1.5, allowed: [{IPProtocol: tcp}]'), 'firewalls[0].priority', /^must be an integer$/, 1.5)
    expectIssue(`${HEAD}${NETS}routes:\n  - {name: "", network: vpc-a, destRange: 10.9.0.0/16, nextHopIlb: 5}\n`, 'routes[0].nextHopIlb', /^must be a forwarding rule name or its IPv4 address, not a number$/, 5)
    assert.equal(issuesOf(`${HEAD}${NETS}routes:\n  - {name: "", network: vpc-a, destRange: 10.9.0.0/16, nextHopIp: 10.1.0.5}\n`).length, 1, 'an empty name is one problem, not two')
  })

  it('bad CIDRs: host bits, prefix out of range, not an address', () => {
    const net = (range: string) => `${HEAD}networks: [{name: a, subnets: [{name: s, region: us-west1, ipCidrRange: ${range}}]}]\n`
    expectIssue(net('10.0.0.1/8'), 'networks[0].subnets[0].ipCidrRange', /host bits are set \(the network address is 10\.0\.0\.0\/8\)/, '10.0.0.1/8')
    expectIssue(net('10.0.0.0/33'), 'networks[0].subnets[0].ipCidrRange', /prefix length must be 0\.\.32/, '10.0.0.0/33')
    expectIssue(net('10.0.0/8'), 'networks[0].subnets[0].ipCidrRange', /not an IPv4 CIDR/, '10.0.0/8')
    expectIssue(net('10.0.0.0'), 'networks[0].subnets[0].ipCidrRange', /missing prefix length/, '10.0.0.0')
  })

  it('a bad IP address', () => {
    expectIssue(`${HEAD}${NETS}instances:\n  - {name: vm, zone: us-west1-a, networkInterfaces: [{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.300}]}\n`, 'instances[0].networkInterfaces[0].networkIP', /invalid IPv4 address/, '10.1.0.300')
  })

  it('a route whose nextHopIlb is a malformed address; a well-formed one no rule has is left to the tracer (ROUTE-09)', () => {
    const route = (hop: string) => `${HEAD}${NETS}routes:\n  - {name: r, network: vpc-a, destRange: 10.9.0.0/24, nextHopIlb: ${hop}}\n`
    expectIssue(route('10.1.0.999'), 'routes[0].nextHopIlb', /invalid IPv4 address/, '10.1.0.999')
    expectIssue(route('10.1.0'), 'routes[0].nextHopIlb', /invalid IPv4 address/, '10.1.0')
    expectIssue(route('ghost-ilb'), 'routes[0].nextHopIlb', /forwarding rule "ghost-ilb" does not exist/, 'ghost-ilb')
    assert.doesNotThrow(() => parseTopology(route('10.1.0.77'), 'topo.yaml'))
  })

  it('duplicate names, also between instances and GKE nodes', () => {
    expectIssue(`${HEAD}networks: [{name: a}, {name: a}]\n`, 'networks[1].name', /duplicate network name "a" \(first defined at networks\[0\]\.name\)/, 'a')
    const clash = `${HEAD}${NETS}instances:\n  - {name: n1, zone: us-west1-a, networkInterfaces: [{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.5}]}\nclusters:\n  - {name: c, location: us-west1-a, network: vpc-a, subnetwork: a-main, mode: ROUTES, clusterIpv4Cidr: 10.64.0.0/14, servicesIpv4Cidr: 10.68.0.0/20, nodes: [{name: n1, networkIP: 10.1.0.6, podCidr: 10.64.0.0/24}]}\n`
    expectIssue(clash, 'clusters[0].nodes[0].name', /duplicate instance or node name "n1"/)
  })

  it('subnet names are unique per network: the same name in two networks is two subnets, each reference takes its network\'s', () => {
    const twoMains = (subnetB = 'main', regionB = 'us-east1') => `${HEAD}networks:
  - {name: a, subnets: [{name: main, region: us-west1, ipCidrRange: 10.1.0.0/16}], peerings: [{name: a-b, network: b}]}
  - {name: b, subnets: [{name: ${subnetB}, region: ${regionB}, ipCidrRange: 10.2.0.0/16}], peerings: [{name: b-a, network: a}]}
instances:
  - {name: vm-a, zone: us-west1-a, networkInterfaces: [{network: a, subnetwork: main, networkIP: 10.1.0.10}]}
  - {name: vm-b, zone: us-east1-b, networkInterfaces: [{network: b, subnetwork: main, networkIP: 10.2.0.10}]}
`
    const model = parseTopology(twoMains(), 'topo.yaml')
    assert.deepEqual(['vm-a', 'vm-b'].map((m) => model.instances.get(m)?.nics[0]?.subnet).map((s) => [s?.network, s?.name, s?.region]), [['a', 'main', 'us-west1'], ['b', 'main', 'us-east1']])
    assert.deepEqual(model.networks.get('b')?.subnets.map((s) => s.region), ['us-east1'])
    expectIssue(twoMains('other'), 'instances[1].networkInterfaces[0].subnetwork', /subnet "main" belongs to network "a", not "b"/, 'main')
    expectIssue(twoMains('main', 'us-west1'), 'instances[1].networkInterfaces[0].subnetwork', /subnet "main" is in us-west1 but the instance is in us-east1-b/)
    expectIssue(`${HEAD}networks: [{name: a, subnets: [{name: s, region: us-west1, ipCidrRange: 10.1.0.0/16}, {name: s, region: us-west1, ipCidrRange: 10.2.0.0/16}]}]\n`, 'networks[0].subnets[1].name', /duplicate subnet name "s" \(first defined at networks\[0\]\.subnets\[0\]\.name\)/, 's')
  })

  it('dangling references', () => {
    expectIssue(`${HEAD}${NETS}routes:\n  - {name: r, network: vpc-a, destRange: 10.9.0.0/16, nextHopInstance: ghost}\n`, 'routes[0].nextHopInstance', /instance "ghost" does not exist/, 'ghost')
    expectIssue(`${HEAD}${NETS}routes:\n  - {name: r, network: vpc-z, destRange: 10.9.0.0/16, nextHopGateway: default-internet-gateway}\n`, 'routes[0].network', /network "vpc-z" does not exist/, 'vpc-z')
    expectIssue(`${HEAD}${NETS}instances:\n  - {name: vm, zone: us-west1-a, networkInterfaces: [{network: vpc-a, subnetwork: b-main, networkIP: 10.2.0.5}]}\n`, 'instances[0].networkInterfaces[0].subnetwork', /subnet "b-main" belongs to network "vpc-b", not "vpc-a"/)
    expectIssue(`${HEAD}${NETS}forwardingRules:\n  - {name: fr, region: us-west1, network: vpc-a, subnetwork: a-main, IPAddress: 10.1.0.9, ports: ["80"], backendService: ghost}\n`, 'forwardingRules[0].backendService', /backend service "ghost" does not exist/)
    expectIssue(`${HEAD}${NETS}backendServices:\n  - {name: bs, region: us-west1, backends: [ghost], healthCheck: {port: 80}}\n`, 'backendServices[0].backends[0]', /instance "ghost" does not exist/)
    expectIssue(`${HEAD}networks: [{name: a, peerings: [{name: p, network: nowhere}]}]\n`, 'networks[0].peerings[0].network', /network "nowhere" does not exist/)
  })

  it('exactly one next hop on a route, exactly one of allowed/denied on a firewall', () => {
    expectIssue(`${HEAD}${NETS}routes:\n  - {name: r, network: vpc-a, destRange: 10.9.0.0/16}\n`, 'routes[0]', /exactly one of nextHopInstance, nextHopIp, nextHopIlb, nextHopGateway \(has none\)/)
    expectIssue(`${HEAD}${NETS}firewalls:\n  - {name: f, network: vpc-a, allowed: [{IPProtocol: tcp}], denied: [{IPProtocol: udp}]}\n`, 'firewalls[0]', /exactly one of allowed or denied/)
    expectIssue(`${HEAD}${NETS}firewalls:\n  - {name: f, network: vpc-a, direction: EGRESS, sourceRanges: [10.0.0.0/8], allowed: [{IPProtocol: tcp}]}\n`, 'firewalls[0].sourceRanges', /INGRESS rules only/)
    expectIssue(`${HEAD}${NETS}firewalls:\n  - {name: f, network: vpc-a, allowed: [{IPProtocol: icmp, ports: ["80"]}]}\n`, 'firewalls[0].allowed[0].ports', /tcp, udp and sctp only/)
  })

  it('a NIC whose address is outside its subnet, or a reserved address of it', () => {
    expectIssue(`${HEAD}${NETS}instances:\n  - {name: vm, zone: us-west1-a, networkInterfaces: [{network: vpc-a, subnetwork: a-main, networkIP: 10.3.0.5}]}\n`, 'instances[0].networkInterfaces[0].networkIP', /nic0 address is outside subnet a-main \(10\.1\.0\.0\/16\)/, '10.3.0.5')
    expectIssue(`${HEAD}${NETS}instances:\n  - {name: vm, zone: us-west1-a, networkInterfaces: [{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.1}]}\n`, 'instances[0].networkInterfaces[0].networkIP', /reserved in subnet a-main/, '10.1.0.1')
  })

  it('alias ranges in one network: no overlap with another alias range or pod range, no address in use inside', () => {
    const vms = (alias1: string, alias2: string) => `${HEAD}${NETS}instances:
  - {name: vm1, zone: us-west1-a, networkInterfaces: [{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.10, aliasIpRanges: [${alias1}]}]}
  - {name: vm2, zone: us-west1-a, networkInterfaces: [{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.11, aliasIpRanges: [${alias2}]}]}
`
    expectIssue(vms('10.1.5.0/24', '10.1.5.0/24'), 'instances[1].networkInterfaces[0].aliasIpRanges[0].ipCidrRange', /alias range 10\.1\.5\.0\/24 of instance vm2 nic0 overlaps alias range 10\.1\.5\.0\/24 of instance vm1 nic0 in network vpc-a/, '10.1.5.0/24')
    expectIssue(vms('10.1.4.0/22', '10.1.5.8/29'), 'instances[1].networkInterfaces[0].aliasIpRanges[0].ipCidrRange', /alias range 10\.1\.5\.8\/29 of instance vm2 nic0 overlaps alias range 10\.1\.4\.0\/22 of instance vm1/, '10.1.5.8/29')
    assert.deepEqual(issuesOf(vms('10.1.0.8/30', '10.1.5.0/24')).map((i) => [i.path, i.message, i.value]), [10, 11].map((host) => [
      'instances[0].networkInterfaces[0].aliasIpRanges[0].ipCidrRange',
      `alias range 10.1.0.8/30 of instance vm1 nic0 holds 10.1.0.${host}, the address of instance vm${host - 9} nic0 in network vpc-a; an alias IP range must not contain an address in use`,
      '10.1.0.8/30',
    ]))
    expectIssue(vms('10.1.5.0/24', '10.1.0.10/32'), 'instances[1].networkInterfaces[0].aliasIpRanges[0].ipCidrRange', /holds 10\.1\.0\.10, the address of instance vm1 nic0/)
    assert.doesNotThrow(() => parseTopology(vms('10.1.5.0/24', '10.1.6.0/24'), 'topo.yaml'))
    const native = `${vms('{ipCidrRange: 10.8.0.0/24, subnetworkRangeName: pods}', '10.1.6.0/24')}clusters:
  - {name: c, location: us-west1-a, network: vpc-a, subnetwork: a-main, mode: VPC_NATIVE, clusterIpv4Cidr: 10.8.0.0/14, servicesIpv4Cidr: 10.12.0.0/20, nodes: [{name: n1, networkIP: 10.1.0.6, podCidr: 10.8.0.0/24}, {name: n2, networkIP: 10.1.0.7, podCidr: 10.8.0.0/24}]}
`
    // n1 and n2 clash with vm1's alias; with each other only by the cluster's own check
    assert.deepEqual(issuesOf(native).map((i) => [i.path, i.message]).sort(), [
      ['clusters[0].nodes[0].podCidr', 'the podCidr 10.8.0.0/24 of node n1 (an alias range of its nic0) overlaps alias range 10.8.0.0/24 of instance vm1 nic0 in network vpc-a; alias IP ranges cannot overlap'],
      ['clusters[0].nodes[1].podCidr', 'the podCidr 10.8.0.0/24 of node n2 (an alias range of its nic0) overlaps alias range 10.8.0.0/24 of instance vm1 nic0 in network vpc-a; alias IP ranges cannot overlap'],
      ['clusters[0].nodes[1].podCidr', 'the podCidr of node n2 (10.8.0.0/24) overlaps the podCidr of node n1 (10.8.0.0/24) in cluster c'],
    ])
  })

  it('two NICs of one VM in one network (ROUTE-11)', () => {
    expectIssue(`${HEAD}${NETS}instances:\n  - {name: vm, zone: us-west1-a, networkInterfaces: [{network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.5}, {network: vpc-a, subnetwork: a-main, networkIP: 10.1.0.6}]}\n`, 'instances[0].networkInterfaces[1].network', /same network as nic0/)
  })

  it('overlapping subnet ranges inside one network, primary or secondary', () => {
    expectIssue(`${HEAD}networks: [{name: a, subnets: [{name: s1, region: us-west1, ipCidrRange: 10.0.0.0/16}, {name: s2, region: us-west1, ipCidrRange: 10.0.128.0/17}]}]\n`, 'networks[0].subnets[1].ipCidrRange', /subnet s2 \(10\.0\.128\.0\/17\) overlaps subnet s1 \(10\.0\.0\.0\/16\) in network a/)
    expectIssue(`${HEAD}networks: [{name: a, subnets: [{name: s1, region: us-west1, ipCidrRange: 10.0.0.0/16, secondaryIpRanges: [{rangeName: p, ipCidrRange: 10.0.4.0/22}]}]}]\n`, 'networks[0].subnets[0].secondaryIpRanges[0].ipCidrRange', /overlaps subnet s1/)
  })

  it('overlapping ranges across an ACTIVE peering (PEER-08), but not across a one-sided one', () => {
    const overlapping = NETS.replace('10.2.0.0/16', '10.9.0.0/16')
    expectIssue(`${HEAD}${overlapping}`, 'networks[1].subnets[0].ipCidrRange', /subnet b-main \(10\.9\.0\.0\/16\) overlaps secondary range a-main\/pods .*across the active peering of vpc-a and vpc-b \(PEER-08\)/, '10.9.0.0/16')
    const oneSided = overlapping.replace('    peerings: [{name: b-to-a, network: vpc-a}]\n', '')
    assert.doesNotThrow(() => parseTopology(`${HEAD}${oneSided}`, 'topo.yaml'))
  })

  it('a network peered (ACTIVE) with two networks whose ranges overlap each other (PEER-08)', () => {
    const hub = (cPeersBack: boolean, cRange = '10.1.0.0/16') => `${HEAD}networks:
  - name: hub
    subnets: [{name: hub-s, region: us-west1, ipCidrRange: 10.2.0.0/16}]
    peerings: [{name: h-a, network: a}, {name: h-c, network: c}]
  - name: a
    subnets: [{name: a-s, region: us-west1, ipCidrRange: 10.1.0.0/16}]
    peerings: [{name: a-h, network: hub}]
  - name: c
    subnets: [{name: c-s, region: us-west1, ipCidrRange: ${cRange}}]
${cPeersBack ? '    peerings: [{name: c-h, network: hub}]\n' : ''}`
    expectIssue(hub(true), 'networks[0].peerings[1]', /peering h-c to c: subnet c-s \(10\.1\.0\.0\/16\) of c overlaps subnet a-s \(10\.1\.0\.0\/16\) of a, which hub also peers with \(peering h-a\).*\(PEER-08\)/, '10.1.0.0/16')
    expectIssue(hub(true, '10.1.128.0/17'), 'networks[0].peerings[1]', /subnet c-s \(10\.1\.128\.0\/17\) of c overlaps subnet a-s/, '10.1.128.0/17')
    assert.doesNotThrow(() => parseTopology(hub(false), 'topo.yaml'), 'h-c is not ACTIVE: c never peers back')
    assert.doesNotThrow(() => parseTopology(hub(true, '10.3.0.0/16'), 'topo.yaml'))
  })

  it('a VPC-native cluster whose pod range is not a secondary range of its subnet', () => {
    expectIssue(`${HEAD}${NETS}clusters:\n  - {name: c, location: us-west1-a, network: vpc-b, subnetwork: b-main, mode: VPC_NATIVE, clusterIpv4Cidr: 10.64.0.0/14, servicesIpv4Cidr: 10.68.0.0/20, nodes: [{name: n1, networkIP: 10.2.0.6, podCidr: 10.64.0.0/24}]}\n`, 'clusters[0].clusterIpv4Cidr', /must lie in a secondary range of subnet b-main/)
  })

  it('a masquerade with no key, or more than one, says it needs exactly one (at the masquerade, not at a key)', () => {
    const cluster = (masquerade: string) => `${HEAD}${NETS}clusters:\n  - {name: c, location: us-west1-a, network: vpc-a, subnetwork: a-main, mode: ROUTES, clusterIpv4Cidr: 10.64.0.0/14, servicesIpv4Cidr: 10.68.0.0/20, masquerade: ${masquerade}, nodes: [{name: n1, networkIP: 10.1.0.6, podCidr: 10.64.0.0/24}]}\n`
    expectIssue(cluster('{}'), 'clusters[0].masquerade', /^must have exactly one key: kubenet, ipMasq or disabled \(has none\)$/, {})
    expectIssue(cluster('{kubenet: {nonMasqueradeCidr: 10.0.0.0/8}, disabled: true}'), 'clusters[0].masquerade', /^must have exactly one key: kubenet, ipMasq or disabled \(has kubenet, disabled\)$/)
    expectIssue(cluster('kubenet'), 'clusters[0].masquerade', /^must have exactly one key: kubenet, ipMasq or disabled$/, 'kubenet')
    expectIssue(cluster('{kubenet: {}}'), 'clusters[0].masquerade.kubenet.nonMasqueradeCidr', /is required/)
    assert.equal(issuesOf(cluster('{}')).length, 1, 'no follow-on "kubenet: is required"')
  })

  it('an iptables dump with a syntax error names the line', () => {
    const dump = '        iptables: |\n          *nat\n          -A POSTROUTING -j MASQUERADE\n'
    expectIssue(`${HEAD}${NETS}clusters:\n  - name: c\n    location: us-west1-a\n    network: vpc-a\n    subnetwork: a-main\n    mode: VPC_NATIVE\n    clusterIpv4Cidr: 10.8.0.0/14\n    servicesIpv4Cidr: 10.12.0.0/20\n    nodes:\n      - name: n1\n        networkIP: 10.1.0.6\n        podCidr: 10.8.0.0/24\n${dump}`, 'clusters[0].nodes[0].iptables', /^iptables line \d+: /)
  })

  it('a node\'s ipsets with a malformed line name the file, the YAML path and the line', () => {
    const node = '        ipsets: |\n          create pools hash:net\n          add pools 10.8.0.0/33\n'
    expectIssue(`${HEAD}${NETS}clusters:\n  - name: c\n    location: us-west1-a\n    network: vpc-a\n    subnetwork: a-main\n    mode: VPC_NATIVE\n    clusterIpv4Cidr: 10.8.0.0/14\n    servicesIpv4Cidr: 10.12.0.0/20\n    nodes:\n      - name: n1\n        networkIP: 10.1.0.6\n        podCidr: 10.8.0.0/24\n${node}`,
      'clusters[0].nodes[0].ipsets', /^ipset line 2: 10\.8\.0\.0\/33: not an IPv4 network/, 'add pools 10.8.0.0/33')
  })

  it('a -m set rule naming a set that the node\'s ipsets do not define is a load error that names the set and the rule', () => {
    const node = [
      '        iptables: |', '          *nat', '          -A POSTROUTING -m set --match-set cali40masq-ipam-pools src -j MASQUERADE', '          COMMIT',
      '        ipsets: |', '          create cali40all-ipam-pools hash:net', '          add cali40all-ipam-pools 10.8.0.0/14', '',
    ].join('\n')
    expectIssue(`${HEAD}${NETS}clusters:\n  - name: c\n    location: us-west1-a\n    network: vpc-a\n    subnetwork: a-main\n    mode: VPC_NATIVE\n    clusterIpv4Cidr: 10.8.0.0/14\n    servicesIpv4Cidr: 10.12.0.0/20\n    nodes:\n      - name: n1\n        networkIP: 10.1.0.6\n        podCidr: 10.8.0.0/24\n${node}`,
      'clusters[0].nodes[0].iptables', /^iptables line 2: -m set names set cali40masq-ipam-pools, which clusters\[0\]\.nodes\[0\]\.ipsets does not define$/,
      '-m set --match-set cali40masq-ipam-pools src -j MASQUERADE')
  })

  it('reports every problem of a phase together', () => {
    const issues = issuesOf(`${HEAD}${NETS}routes:\n  - {name: r, network: vpc-z, destRange: 10.9.0.0/16, nextHopInstance: ghost}\n  - {name: r, network: vpc-a, destRange: 10.9.0.0/16, nextHopGateway: default-internet-gateway}\n`)
    assert.deepEqual(issues.map((i) => i.path).sort(), ['routes[0].network', 'routes[0].nextHopInstance', 'routes[1].name'])
  })

  it('accepts JSON as well as YAML', () => {
    const model = parseTopology(JSON.stringify({apiVersion: 'xcc/v1', kind: 'Topology', metadata: {name: 't'}, networks: [{name: 'a'}]}), 'topo.json')
    assert.ok(model.networks.has('a'))
  })
})
