/**
 * `xcc snapshot` from what the APIs return: a topology the loader takes, derived things left to the
 * loader (subnet routes, GKE's per-node pod routes), what the format cannot hold listed as skipped,
 * and the same bytes whatever order the APIs answer in.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {load} from 'js-yaml'

import type {ComputeInventory, GkeCluster} from '../../../src/core/ports/gcp.js'
import type {KubePod} from '../../../src/core/ports/kube.js'
import type {KubeFacts} from '../../../src/core/snapshot/index.js'
import {buildSnapshot, renderSnapshotYaml} from '../../../src/core/snapshot/index.js'
import {parseTopology, topologyFromDocument} from '../../../src/core/topology/parse.js'
import {renderGuestScript} from '../../../src/core/topology/guest-script.js'
import type {GuestSpec, InstanceSpec} from '../../../src/core/topology/schema.js'
import type {Doc} from '../../../src/core/snapshot/docs.js'

const P = 'https://www.googleapis.com/compute/v1/projects/acme-prod'
const net = (n: string): string => `${P}/global/networks/${n}`
const zone = (z: string): string => `${P}/zones/${z}`
const region = (r: string): string => `${P}/regions/${r}`

const inventory: ComputeInventory = {
  networks: [
    {name: 'vpc-b', peerings: [{name: 'b-to-a', network: net('vpc-a'), state: 'ACTIVE'}, {name: 'b-to-other', network: 'https://www.googleapis.com/compute/v1/projects/other-proj/global/networks/x', state: 'ACTIVE'}]},
    {name: 'vpc-a', peerings: [{name: 'a-to-b', network: net('vpc-b'), state: 'ACTIVE', exportCustomRoutes: true}]},
  ],
  subnetworks: [
    {name: 'b-main', region: region('europe-west1'), network: net('vpc-b'), ipCidrRange: '10.209.0.0/16'},
    {name: 'a-main', region: region('europe-west1'), network: net('vpc-a'), ipCidrRange: '10.193.0.0/16', secondaryIpRanges: [{rangeName: 'pods', ipCidrRange: '10.56.0.0/14'}, {rangeName: 'services', ipCidrRange: '10.60.0.0/20'}]},
  ],
  firewalls: [
    {name: 'b-allow-ssh', network: net('vpc-b'), direction: 'INGRESS', priority: 1000, sourceRanges: ['35.235.240.0/20'], allowed: [{IPProtocol: 'tcp', ports: ['22']}]},
    {name: 'a-allow-b', network: net('vpc-a'), direction: 'INGRESS', priority: 900, sourceRanges: ['10.209.0.0/16'], targetTags: ['gke-backend-node'], allowed: [{IPProtocol: 'tcp', ports: ['32191']}]},
    {name: 'a-by-sa', network: net('vpc-a'), sourceRanges: ['0.0.0.0/0'], allowed: [{IPProtocol: 'tcp'}], targetServiceAccounts: ['x@y'] } as ComputeInventory['firewalls'][number],
  ],
  routes: [
    {name: 'default-route-1', network: net('vpc-b'), destRange: '10.209.0.0/16', nextHopNetwork: net('vpc-b')},
    {name: 'peering-route-1', network: net('vpc-b'), destRange: '10.193.0.0/16', nextHopPeering: 'b-to-a'},
    {name: 'gke-frontend-abc-1', network: net('vpc-b'), destRange: '10.132.0.0/24', nextHopInstance: `${zone('europe-west1-c')}/instances/gke-frontend-n1`, priority: 1000},
    {name: 'b-default-internet', network: net('vpc-b'), destRange: '0.0.0.0/0', nextHopGateway: `${P}/global/gateways/default-internet-gateway`, priority: 1000},
    {name: 'b-via-vpn', network: net('vpc-b'), destRange: '192.168.0.0/16', priority: 1000},
  ],
  instances: [
    {name: 'gke-frontend-n1', zone: zone('europe-west1-c'), tags: {items: ['gke-frontend-node']}, canIpForward: true, networkInterfaces: [{network: net('vpc-b'), subnetwork: `${region('europe-west1')}/subnetworks/b-main`, networkIP: '10.209.0.2'}]},
    {name: 'gke-backend-default-pool-1a2b3c4d-x1y2', zone: zone('europe-west1-c'), tags: {items: ['gke-backend-node']}, networkInterfaces: [{network: net('vpc-a'), subnetwork: `${region('europe-west1')}/subnetworks/a-main`, networkIP: '10.193.0.2', aliasIpRanges: [{ipCidrRange: '10.56.0.0/24', subnetworkRangeName: 'pods'}]}]},
    {name: 'bastion', zone: zone('europe-west1-b'), labels: {team: 'net', 'Bad Key': 'x'}, description: 'jump host', networkInterfaces: [{network: net('vpc-b'), subnetwork: `${region('europe-west1')}/subnetworks/b-main`, networkIP: '10.209.0.9'}], metadata: {items: [{key: 'ssh-keys', value: 'u:ssh-ed25519 AAAA'}, {key: 'startup-script', value: 'echo hi'}]}},
  ],
  instanceGroups: [
    {name: 'bastions', zone: zone('europe-west1-b'), instances: [`${zone('europe-west1-b')}/instances/bastion`], namedPorts: [{name: 'ssh', port: 22}], description: 'the way in'},
    {name: 'gke-frontend-pool-grp', zone: zone('europe-west1-c'), instances: [`${zone('europe-west1-c')}/instances/gke-frontend-n1`]},
    {name: 'gke-backend-default-pool-1a2b3c4d-grp', zone: zone('europe-west1-c'), instances: [`${zone('europe-west1-c')}/instances/gke-backend-default-pool-1a2b3c4d-x1y2`]},
  ],
  healthChecks: [
    {name: 'web-hc', selfLink: `${P}/global/healthChecks/web-hc`, type: 'HTTP', httpHealthCheck: {port: 8080, requestPath: '/healthz'}},
    {name: 'named-hc', selfLink: `${P}/global/healthChecks/named-hc`, type: 'TCP', tcpHealthCheck: {portSpecification: 'USE_NAMED_PORT'}},
    {name: 'backend-hc', region: region('europe-west1'), selfLink: `${region('europe-west1')}/healthChecks/backend-hc`, type: 'TCP', tcpHealthCheck: {port: 32191}},
  ],
  backendServices: [
    {name: 'backend-bs', region: region('europe-west1'), loadBalancingScheme: 'INTERNAL', description: 'to the backend nodes', backends: [{group: `${zone('europe-west1-c')}/instanceGroups/gke-backend-default-pool-1a2b3c4d-grp`}], healthChecks: [`${region('europe-west1')}/healthChecks/backend-hc`]},
    {name: 'bastion-bs', region: region('europe-west1'), loadBalancingScheme: 'INTERNAL', backends: [{group: `${zone('europe-west1-b')}/instanceGroups/bastions`}, {group: `${zone('europe-west1-c')}/instanceGroups/gke-frontend-pool-grp`}], healthChecks: [`${P}/global/healthChecks/web-hc`]},
    {name: 'named-bs', region: region('europe-west1'), loadBalancingScheme: 'INTERNAL', backends: [{group: `${zone('europe-west1-b')}/instanceGroups/bastions`}], healthChecks: [`${P}/global/healthChecks/named-hc`]},
  ],
  forwardingRules: [
    {name: 'backend-ilb', region: region('europe-west1'), loadBalancingScheme: 'INTERNAL', labels: {owner: 'xcc'}, IPAddress: '10.193.0.3', IPProtocol: 'TCP', ports: ['32191'], network: net('vpc-a'), subnetwork: `${region('europe-west1')}/subnetworks/a-main`, backendService: `${region('europe-west1')}/backendServices/backend-bs`},
    {name: 'web-external', region: region('europe-west1'), loadBalancingScheme: 'EXTERNAL', IPAddress: '34.1.2.3'},
  ],
}

const clusters: GkeCluster[] = [
  {name: 'frontend', location: 'europe-west1-c', network: 'vpc-b', subnetwork: 'b-main', clusterIpv4Cidr: '10.132.0.0/14', servicesIpv4Cidr: '10.135.240.0/20', endpoint: '34.0.0.1', nodePools: [{name: 'default-pool', instanceGroupUrls: [`${zone('europe-west1-c')}/instanceGroupManagers/gke-frontend-pool-grp`]}]},
  {name: 'backend', location: 'europe-west1-c', network: 'vpc-a', subnetwork: 'a-main', clusterIpv4Cidr: '10.56.0.0/14', servicesIpv4Cidr: '10.60.0.0/20', endpoint: '34.0.0.2', ipAllocationPolicy: {useIpAliases: true}, nodePools: [{name: 'default-pool', instanceGroupUrls: [`${zone('europe-west1-c')}/instanceGroupManagers/gke-backend-default-pool-1a2b3c4d-grp`]}]},
]

const backendKube: KubeFacts = {
  context: 'gke_acme-prod_europe-west1-c_backend',
  nodes: [],
  pods: [{metadata: {namespace: 'default', name: 'server-0'}, spec: {nodeName: 'gke-backend-default-pool-1a2b3c4d-x1y2', containers: []}, status: {phase: 'Running', podIP: '10.56.0.5'}}],
  services: [
    {metadata: {namespace: 'default', name: 'server'}, spec: {type: 'NodePort', clusterIP: '10.60.0.10', ports: [{port: 80, targetPort: 8080, nodePort: 32191, protocol: 'TCP'}]}},
    {metadata: {namespace: 'default', name: 'headless'}, spec: {clusterIP: 'None', ports: [{port: 80}]}},
  ],
  endpoints: new Map([['default/server', {metadata: {name: 'server'}, subsets: [{addresses: [{ip: '10.56.0.5', targetRef: {kind: 'Pod', name: 'server-0'}}]}]}]]),
  masqConfig: {metadata: {name: 'ip-masq-agent'}, data: {config: 'nonMasqueradeCIDRs: [10.0.0.0/8]\nmasqLinkLocal: false\n'}},
  dnsConfigMaps: [{metadata: {namespace: 'kube-system', name: 'kube-dns', annotations: {'kubectl.kubernetes.io/last-applied-configuration': '{}'}}, data: {stubDomains: '{"frontend.clusters.xcc.test": ["10.60.0.53"]}'}}],
}

const input = {project: 'acme-prod', inventory, clusters, kubeOf: (c: GkeCluster) => (c.name === 'backend' ? backendKube : undefined)}

describe('a snapshot', () => {
  const {document, skipped} = buildSnapshot(input)
  const yaml = renderSnapshotYaml(document)

  it('is a topology the loader takes, with the clusters\' nodes, pod ranges, workloads and masquerade', () => {
    const model = parseTopology(yaml, 'snapshot.yaml')
    assert.equal(model.topology.metadata.project, 'acme-prod')
    const frontend = model.clusters.get('frontend')
    assert.equal(frontend?.mode, 'ROUTES')
    assert.deepEqual(frontend?.nodes.map((n) => [n.name, n.podCidr.base]), [['gke-frontend-n1', model.nodes.get('gke-frontend-n1')?.podCidr.base]])
    assert.equal(model.topology.clusters.find((c) => c.name === 'frontend')?.nodes[0]?.podCidr, '10.132.0.0/24', 'a routes-based node\'s range comes from its pod route')
    assert.equal(model.topology.clusters.find((c) => c.name === 'backend')?.nodes[0]?.podCidr, '10.56.0.0/24', 'a VPC-native node\'s from its alias range')
    assert.deepEqual(model.topology.clusters.find((c) => c.name === 'backend')?.masquerade, {ipMasq: {nonMasqueradeCIDRs: ['10.0.0.0/8'], masqLinkLocal: false, cidrLimit: 64}})
    assert.deepEqual(model.topology.clusters.find((c) => c.name === 'backend')?.services.map((s) => [s.name, s.type, s.endpoints]), [['server', 'NodePort', ['server-0']]])
    assert.deepEqual(model.topology.backendServices.map((b) => [b.name, b.backends, b.healthCheck.port]), [['backend-bs', ['gke-backend-default-pool-1a2b3c4d-x1y2'], 32191], ['bastion-bs', ['bastion', 'gke-frontend-n1'], 8080]])
  })

  it('loads back as the very data it renders, so checking the document is checking the file (the snapshot does not parse its YAML again)', () => {
    assert.deepEqual(load(yaml), JSON.parse(JSON.stringify(document)))
    assert.deepEqual(topologyFromDocument(document, 'snapshot.yaml').topology, parseTopology(yaml, 'snapshot.yaml').topology)
  })

  it('renders strings YAML would read as something else quoted, and they load back as the same strings', () => {
    const tricky = ['yes', 'no', 'on', 'null', '~', '', ' lead', 'trail ', '0x1F', '1e3', '8080', '010', '.inf', '-', 'a: b', '# c', '- d', '[e]', '{f}', '&g', '*h', '!i', '%j', '@k', '`l', '"m"', "'n'", 'o\nnewline', 'tab\there', '\u00e9t\u00e9', '2026-12-07', '12:30:00', '=', '<<']
    const doc = {apiVersion: 'xcc/v1', kind: 'Topology', metadata: {name: 'x', labels: Object.fromEntries(tricky.map((t, i) => [`k${i}`, t]))}, list: tricky}
    assert.deepEqual(load(renderSnapshotYaml(doc as unknown as Doc)), doc)
  })

  it('holds the DNS ConfigMaps the doctor resolves names with (kube-dns), without annotations it does not read', () => {
    const model = parseTopology(yaml, 'snapshot.yaml')
    assert.deepEqual(model.clusters.get('backend')?.spec.configMaps, [{namespace: 'kube-system', name: 'kube-dns', data: {stubDomains: '{"frontend.clusters.xcc.test": ["10.60.0.53"]}'}}])
  })

  it('names the health checks, unmanaged groups and node pool groups the backend services use, with descriptions and labels', () => {
    const model = parseTopology(yaml, 'snapshot.yaml')
    const t = model.topology
    assert.deepEqual(t.healthChecks.map((h) => [h.name, h.region, h.type, h.port, h.requestPath]), [['backend-hc', 'europe-west1', 'TCP', 32191, undefined], ['web-hc', undefined, 'HTTP', 8080, '/healthz']])
    assert.deepEqual(t.instanceGroups, [{name: 'bastions', zone: 'europe-west1-b', instances: ['bastion'], namedPorts: [{name: 'ssh', port: 22}], description: 'the way in'}], 'node pool groups are the loader\'s to derive')
    const backend = t.backendServices.find((b) => b.name === 'backend-bs')
    assert.deepEqual([backend?.groups, backend?.healthCheck, backend?.description], [['gke-backend-default-pool-1a2b3c4d-grp'], {name: 'backend-hc', protocol: 'TCP', port: 32191}, 'to the backend nodes'])
    const bastion = t.backendServices.find((b) => b.name === 'bastion-bs')
    assert.deepEqual([bastion?.groups, bastion?.healthCheck], [['bastions'], {name: 'web-hc', protocol: 'HTTP', port: 8080, requestPath: '/healthz'}], 'a node pool group the loader would name otherwise is left out of groups, its members kept')
    assert.deepEqual(t.instances.find((m) => m.name === 'bastion')?.labels, {team: 'net'})
    assert.equal(t.instances.find((m) => m.name === 'bastion')?.description, 'jump host')
    assert.deepEqual(t.forwardingRules[0]?.labels, {owner: 'xcc'})
  })

  it('leaves to the loader what it derives: subnet and peering routes, GKE\'s per-node pod routes', () => {
    assert.deepEqual((document.routes as Array<{name: string}>).map((r) => r.name), ['b-default-internet'])
    assert.deepEqual((document.instances as Array<{name: string}>).map((i) => i.name), ['bastion'], 'GKE nodes are listed under their clusters, not as instances')
  })

  it('keeps of a VM\'s metadata only its startup script', () => {
    assert.deepEqual((document.instances as Array<{metadata?: unknown}>)[0]?.metadata, {'startup-script': 'echo hi'})
  })

  it('lists what the format cannot hold, with the reason, and drops nothing silently', () => {
    assert.deepEqual(skipped.map((s) => `${s.kind} ${s.name}`), [
      'backendGroup bastion-bs/gke-frontend-pool-grp', 'backendService named-bs', 'cluster-workloads frontend', 'firewall a-by-sa', 'forwardingRule web-external',
      'guest bastion', 'healthCheck named-hc', 'label instance/bastion/Bad Key', 'peering vpc-b/b-to-other', 'route b-via-vpn', 'service default/headless',
    ])
    assert.match(skipped.find((s) => s.kind === 'healthCheck')?.reason ?? '', /USE_NAMED_PORT; only fixed ports/)
    assert.match(skipped.find((s) => s.kind === 'peering')?.reason ?? '', /is in project other-proj/)
    assert.equal(skipped.find((s) => s.kind === 'guest')?.reason, 'its startup script line 1 (echo …) is not one xcc reads; the VM\'s forwarding, routes and iptables are left out')
  })

  it('is the same bytes whatever order the APIs list things in', () => {
    const shuffle = <T>(list: readonly T[]): T[] => [...list].reverse()
    const shuffled: ComputeInventory = Object.fromEntries(Object.entries(inventory).map(([k, v]) => [k, shuffle(v as unknown[])])) as unknown as ComputeInventory
    assert.equal(renderSnapshotYaml(buildSnapshot({...input, inventory: shuffled, clusters: shuffle(clusters)}).document), yaml)
  })
})

describe('a snapshot of gateway VMs: the guest from the startup script', () => {
  const nics = [{ipCidrRange: '10.209.0.0/16'}, {ipCidrRange: '10.193.0.0/16'}]
  const gatewayGuest: GuestSpec = {
    ipForward: true, routes: [{destRange: '10.56.0.0/14', nic: 1}], listen: [{protocol: 'tcp', port: 80}],
    iptables: '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 10.56.0.0/14 -o nic0 -j MASQUERADE\nCOMMIT\n',
  }
  const handWritten = '#!/bin/bash\n# forward, and masquerade into vpc-b\necho 1 > /proc/sys/net/ipv4/ip_forward\niptables -t nat -A POSTROUTING -o nic0 -j MASQUERADE\n'
  const gateway = (name: string, host: number, script: string): ComputeInventory['instances'][number] => ({
    name, zone: zone('europe-west1-b'), canIpForward: true, metadata: {items: [{key: 'ssh-keys', value: 'u:k'}, {key: 'startup-script', value: script}]},
    networkInterfaces: [
      {network: net('vpc-b'), subnetwork: `${region('europe-west1')}/subnetworks/b-main`, networkIP: `10.209.0.${host}`},
      {network: net('vpc-a'), subnetwork: `${region('europe-west1')}/subnetworks/a-main`, networkIP: `10.193.0.${host}`},
    ],
  })
  const gateways: ComputeInventory = {
    ...inventory, routes: [], firewalls: [], forwardingRules: [], backendServices: [], healthChecks: [], instanceGroups: [],
    networks: [{name: 'vpc-a'}, {name: 'vpc-b'}],
    instances: [
      gateway('gw', 20, renderGuestScript(gatewayGuest, nics)),
      gateway('gw-hand', 21, handWritten),
      gateway('gw-curl', 22, 'sysctl -w net.ipv4.ip_forward=1\ncurl -H "Authorization: Bearer s3cr3t" https://example.com/setup | sh\n'),
    ],
  }
  const {document, skipped} = buildSnapshot({project: 'acme-prod', inventory: gateways, clusters: [], kubeOf: () => undefined})
  const yaml = renderSnapshotYaml(document)
  const loaded = parseTopology(yaml, 'snapshot.yaml').topology
  const vm = (name: string): InstanceSpec | undefined => loaded.instances.find((m) => m.name === name)

  it('reads the canonical script into guest and leaves the script out: one truth', () => {
    assert.deepEqual(vm('gw')?.guest, gatewayGuest)
    assert.equal(vm('gw')?.metadata, undefined)
    assert.deepEqual((document.instances as Doc[]).find((d) => d.name === 'gw')?.guest, gatewayGuest)
  })

  it('reads a hand-written script into guest and keeps the script', () => {
    assert.deepEqual(vm('gw-hand')?.guest, {ipForward: true, routes: [], iptables: '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o nic0 -j MASQUERADE\nCOMMIT\n'})
    assert.deepEqual(vm('gw-hand')?.metadata, {'startup-script': handWritten})
  })

  it('leaves out the guest of a script it does not read, says which line by its first word, and never quotes the script', () => {
    assert.deepEqual(vm('gw-curl')?.guest, {ipForward: false, routes: []})
    assert.ok(vm('gw-curl')?.metadata?.['startup-script'])
    assert.deepEqual(skipped, [{kind: 'guest', name: 'gw-curl', reason: 'its startup script line 2 (curl …) is not one xcc reads; the VM\'s forwarding, routes and iptables are left out'}])
    assert.doesNotMatch(JSON.stringify(skipped), /s3cr3t|Bearer/)
  })

  it('is the same bytes whatever order the instances come in, and its model has the gateway forwarding', () => {
    const again = buildSnapshot({project: 'acme-prod', inventory: {...gateways, instances: [...gateways.instances].reverse()}, clusters: [], kubeOf: () => undefined})
    assert.equal(renderSnapshotYaml(again.document), yaml, 'the same bytes whatever the order')
    assert.ok(parseTopology(yaml, 'snapshot.yaml').instances.get('gw')?.guest.ipForward)
  })
})

describe('a snapshot of a cluster linked with xcc dns link', () => {
  const labels = (more: Record<string, string>) => ({'app.kubernetes.io/managed-by': 'xcc', ...more})
  const pod = (name: string, ip: string, podLabels: Record<string, string>): KubePod => ({metadata: {namespace: 'kube-system', name, labels: podLabels}, spec: {nodeName: 'gke-backend-default-pool-1a2b3c4d-x1y2', containers: []}, status: {phase: 'Running', podIP: ip}})
  const kube: KubeFacts = {
    ...backendKube,
    pods: [
      ...backendKube.pods,
      pod('xcc-dns-responder-6f7d9c-q2w3e', '10.56.0.53', labels({'app.kubernetes.io/name': 'xcc-dns-responder', 'pod-template-hash': '6f7d9c'})),
      pod('xcc-probe-1a2b3c', '10.56.0.60', labels({'xcc.dev/run-id': '1a2b3c4d', 'app.kubernetes.io/name': 'xcc-doctor'})),
    ],
    services: [...backendKube.services, {metadata: {namespace: 'kube-system', name: 'xcc-dns-responder'}, spec: {type: 'ClusterIP', clusterIP: '10.60.0.53', ports: [{name: 'dns', port: 53, protocol: 'UDP'}]}}],
    endpoints: new Map([...backendKube.endpoints, ['kube-system/xcc-dns-responder', {metadata: {name: 'xcc-dns-responder'}, subsets: [{addresses: [{ip: '10.56.0.53', targetRef: {kind: 'Pod', name: 'xcc-dns-responder-6f7d9c-q2w3e'}}]}]}]]),
  }
  const {document} = buildSnapshot({...input, kubeOf: (c: GkeCluster) => (c.name === 'backend' ? kube : undefined)})
  const model = parseTopology(renderSnapshotYaml(document), 'snapshot.yaml')
  const backend = model.clusters.get('backend')

  it('keeps the responder\'s pods (xcc manages them, but they serve the cluster\'s names) and drops xcc\'s probes', () => {
    assert.deepEqual(backend?.pods.map((p) => p.name).sort(), ['server-0', 'xcc-dns-responder-6f7d9c-q2w3e'])
    assert.deepEqual(backend?.services.find((s) => s.name === 'xcc-dns-responder')?.endpoints.map((p) => p.name), ['xcc-dns-responder-6f7d9c-q2w3e'], 'the stub server has its endpoint')
  })
})
