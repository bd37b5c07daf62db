import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {CHECKS} from '../../../src/checks/index.js'
import {compareWithPrediction, expectationsOf} from '../../../src/core/probe/expect.js'
import {type LiveSituation, concludeFromObservations} from '../../../src/core/probe/live-diagnose.js'
import {classifyPackets} from '../../../src/core/probe/observe.js'
import {serviceDestination} from '../../../src/core/probe/targets.js'
import {topologyPrediction} from '../../../src/core/probe/topology-prediction.js'
import {parseCapture} from '../../../src/core/probe/tcpdump.js'
import type {CaptureObservation, ProbeObservation} from '../../../src/core/probe/types.js'
import type {KubeService} from '../../../src/core/ports/kube.js'
import {parseTopology} from '../../../src/core/topology/parse.js'

const SEED_001 = 'templates/scenarios/peered-vpcs-missing-snat.yaml'
const SRC_NODE = 'gke-frontend-cluster-default-pool-d65237bb-1c6s'
const DST_NODE = 'gke-backend-cluster-default-pool-25a13d18-fkw6'
const flow = {sourcePort: 45000, services: [{ip: '10.193.0.3', port: 32191}, {ip: '10.56.0.5', port: 80}]}

/** the typed host of a `node/<name>` or `instance/<name>` capture label (test shorthand) */
function hostOf(at: string): CaptureObservation['host'] {
  const [kind, name] = at.split('/') as ['node' | 'instance', string]
  return {kind, name}
}

function capture(at: string, lines: readonly string[]): CaptureObservation {
  return {at, host: hostOf(at), status: 'ok', packets: classifyPackets(parseCapture(lines.join('\n')).packets, flow).packets}
}

const probe = (result: ProbeObservation['result']): ProbeObservation => ({at: 'frontend/default/xcc-probe-abc123', pod: {context: 'frontend', namespace: 'default', name: 'xcc-probe-abc123'}, node: SRC_NODE, mode: 'pod', src: '10.132.0.10', srcPort: 45000, dst: '10.193.0.3', dstPort: 32191, result})

// what the lab shows for seed 001: the SYN leaves with the pod address, the backend answers (externalTrafficPolicy:
// Local, so the backend pod sees the pod address too), the answer never comes back
const seedSource = capture(`node/${SRC_NODE}`, [
  '1.00 cbr0 In  IP 10.132.0.10.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0',
  '1.00 eth0 Out IP 10.132.0.10.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0',
  '2.00 eth0 Out IP 10.132.0.10.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0',
])
const seedDestination = capture(`node/${DST_NODE}`, [
  '1.01 eth0 In  IP 10.132.0.10.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0',
  '1.01 cbr0 Out IP 10.132.0.10.45000 > 10.56.0.5.80: Flags [S], seq 1, win 1, length 0',
  '1.01 cbr0 In  IP 10.56.0.5.80 > 10.132.0.10.45000: Flags [S.], seq 9, ack 2, win 1, length 0',
  '1.01 eth0 Out IP 10.193.0.3.32191 > 10.132.0.10.45000: Flags [S.], seq 9, ack 2, win 1, length 0',
])

const situation = (captures: readonly CaptureObservation[], result: ProbeObservation['result'] = 'timeout'): LiveSituation => ({
  probe: probe(result), sourceNode: SRC_NODE, sourceNodeAddresses: ['10.209.0.2'], captures,
  source: {context: 'frontend', mechanism: 'iptables'}, destination: {how: 'given', context: 'backend'},
})

describe('ILB-03 from what the clusters tell (no topology)', () => {
  // the SYN leaves with the node address (masqueraded) and never reaches the backend node
  const left = capture(`node/${SRC_NODE}`, ['1.00 eth0 Out IP 10.209.0.2.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0', '2.00 eth0 Out IP 10.209.0.2.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0'])
  const silent = capture(`node/${DST_NODE}`, [])
  const lb = (globalAccess: boolean, region = 'us-central1') => ({service: 'default/server', globalAccess, region, context: 'backend'})
  const conclude = (extra: object) => concludeFromObservations({...situation([left, silent]), ...extra})

  it('an internal load balancer without global access in another region than the client node: FORWARDING_RULE_REGION_MISMATCH', () => {
    const c = conclude({loadBalancer: lb(false), sourceRegion: 'europe-west1'})
    assert.equal(c.verdict, 'unreachable')
    assert.equal(c.diagnosis?.code, 'FORWARDING_RULE_REGION_MISMATCH')
    assert.match(c.diagnosis?.summary ?? '', /in us-central1, without global access; the client node is in europe-west1/)
    assert.match(c.diagnosis?.fix[0] ?? '', /kubectl --context backend -n default annotate service server networking\.gke\.io\/internal-load-balancer-allow-global-access=true/)
  })

  it('not with global access, in the same region, or without region labels: the drop stays unexplained (INSUFFICIENT_INFO)', () => {
    for (const extra of [{loadBalancer: lb(true), sourceRegion: 'europe-west1'}, {loadBalancer: lb(false, 'europe-west1'), sourceRegion: 'europe-west1'}, {loadBalancer: lb(false)}, {}]) {
      assert.equal(conclude(extra).diagnosis?.code, 'INSUFFICIENT_INFO', JSON.stringify(extra))
    }
  })

  it('serviceDestination knows an internal load balancer by either annotation key (SVC-01) and global access only by "true" (SVC-02)', () => {
    const node = {metadata: {name: 'n', labels: {'topology.kubernetes.io/region': 'us-central1'}}, status: {addresses: [{type: 'InternalIP', address: '10.1.0.2'}]}}
    const service = (annotations: Record<string, string>): KubeService => ({
      metadata: {namespace: 'default', name: 'server', annotations},
      spec: {type: 'LoadBalancer', clusterIP: '10.8.0.10', ports: [{port: 80, protocol: 'TCP', nodePort: 30080}]},
      status: {loadBalancer: {ingress: [{ip: '10.1.0.100'}]}},
    })
    assert.deepEqual(serviceDestination(service({'networking.gke.io/load-balancer-type': 'Internal'}), undefined, [node]).loadBalancer, {service: 'default/server', globalAccess: false, region: 'us-central1'})
    assert.equal(serviceDestination(service({'cloud.google.com/load-balancer-type': 'internal', 'networking.gke.io/internal-load-balancer-allow-global-access': 'true'}), undefined, [node]).loadBalancer?.globalAccess, true)
    assert.equal(serviceDestination(service({'networking.gke.io/load-balancer-type': 'Internal', 'networking.gke.io/internal-load-balancer-allow-global-access': 'True'}), undefined, [node]).loadBalancer?.globalAccess, false)
    assert.equal(serviceDestination(service({}), undefined, [node]).loadBalancer, undefined, 'an external load balancer is not an ILB')
  })
})

describe('live diagnosis from captured packets', () => {
  it('names POD_SNAT_MISSING when the SYN leaves with the pod address and the answer never comes back (seed 001)', () => {
    const c = concludeFromObservations(situation([seedSource, seedDestination]))
    assert.equal(c.verdict, 'unreachable')
    assert.equal(c.diagnosis?.code, 'POD_SNAT_MISSING')
    assert.ok(c.diagnosis?.evidence.some((e) => e.includes('SYN 10.132.0.10:45000 > 10.193.0.3:32191 (eth0 Out)')), 'the SYN leaving the node is evidence')
    assert.ok(c.diagnosis?.evidence.some((e) => e.includes('no SYN-ACK came back')))
    // the shared fix builder: xcc's own command, naming the probe's real context and the destination
    assert.deepEqual(c.diagnosis?.fix, ['xcc masquerade add --context frontend --cidr 10.193.0.3/32'])
    assert.equal(c.diagnosis?.fixes[0]?.applies, 'xcc')
    assert.match(c.diagnosis?.fixes[0]?.summary ?? '', /give the whole peer range instead/)
  })

  it('answers unknown, not a guess, when only the source side was captured', () => {
    const c = concludeFromObservations(situation([seedSource]))
    assert.equal(c.verdict, 'unknown')
    assert.equal(c.diagnosis?.code, 'INSUFFICIENT_INFO')
    assert.match(c.diagnosis?.summary ?? '', /without a capture on the destination side/)
  })

  it('does not blame SNAT when the node masqueraded and the reply still got lost', () => {
    const masq = capture(`node/${SRC_NODE}`, ['1.00 eth0 Out IP 10.209.0.2.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0'])
    const dst = capture(`node/${DST_NODE}`, ['1.01 eth0 In  IP 10.209.0.2.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0', '1.01 eth0 Out IP 10.193.0.3.32191 > 10.209.0.2.45000: Flags [S.], seq 9, ack 2, win 1, length 0'])
    assert.equal(concludeFromObservations(situation([masq, dst])).diagnosis?.code, 'INSUFFICIENT_INFO')
  })

  it('names GATEWAY_SNAT_MISSING when a gateway passes the SYN on with the client address', () => {
    const gw = capture('instance/gw-1', ['1.00 nic1 In  IP 10.132.0.10.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0', '1.00 nic0 Out IP 10.132.0.10.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0'])
    const c = concludeFromObservations(situation([seedSource, gw, seedDestination]))
    assert.equal(c.diagnosis?.code, 'GATEWAY_SNAT_MISSING')
    const fix = c.diagnosis?.fixes[0]
    assert.equal(fix?.applies, 'gcloud')
    assert.match(fix?.script ?? '', /-s 10\.132\.0\.10\/32 ! -d 10\.132\.0\.10\/32 -j MASQUERADE/)
    // with --topology the client's whole pod range and the gateway's zone are known
    const known = concludeFromObservations({...situation([seedSource, gw, seedDestination]), clientRange: '10.132.0.0/14', vmZones: new Map([['gw-1', 'us-west1-a']])})
    assert.match(known.diagnosis?.fixes[0]?.script ?? '', /-s 10\.132\.0\.0\/14 /)
    assert.ok(known.diagnosis?.fix.some((l) => l.startsWith('gcloud compute instances add-metadata gw-1 --zone us-west1-a ')))
  })

  it('names DESTINATION_NOT_LISTENING on a reset from the destination', () => {
    const src = capture(`node/${SRC_NODE}`, ['1.00 eth0 Out IP 10.209.0.2.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0', '1.01 eth0 In IP 10.193.0.3.32191 > 10.209.0.2.45000: Flags [R.], seq 0, ack 2, win 0, length 0'])
    assert.equal(concludeFromObservations(situation([src], 'failed')).diagnosis?.code, 'DESTINATION_NOT_LISTENING')
  })

  it('reports a broken capture as such, never as a drop', () => {
    const broken: CaptureObservation = {at: `node/${SRC_NODE}`, host: {kind: 'node', name: SRC_NODE}, status: 'broken', reason: 'ErrImagePull', packets: []}
    const c = concludeFromObservations(situation([broken]))
    assert.equal(c.verdict, 'unknown')
    assert.ok(c.diagnosis?.evidence.some((e) => e.includes('capture broken: ErrImagePull')))
  })

  it('is reachable when the probe connected', () => {
    assert.deepEqual(concludeFromObservations(situation([seedSource], 'connected')), {verdict: 'reachable', diagnosis: null})
  })
})

describe('observation against the --topology prediction', () => {
  const model = parseTopology(readFileSync(SEED_001, 'utf8'), SEED_001)
  const prediction = topologyPrediction(model, CHECKS)
  const predicted = prediction.predict({cluster: 'frontend', node: SRC_NODE, pod: {namespace: 'default', name: 'xcc-probe-abc123', ip: '10.132.0.11'}, dst: '10.193.0.3', port: 32191})

  it('traces the probe pod itself, added to the topology with its live address', () => {
    assert.equal(predicted.report.forward[0]?.at, 'frontend/default/xcc-probe-abc123')
    assert.equal(predicted.report.forward[0]?.packet.src, '10.132.0.11')
    assert.equal(predicted.report.diagnosis?.code, 'POD_SNAT_MISSING')
  })

  it('expects the SYN to leave the source node and reach the backend node, and the SYN-ACK to leave the backend node', () => {
    const e = expectationsOf(predicted.paths[0] as never).map((x) => `${x.direction} ${x.way} ${x.host} ${x.packet.src}`)
    assert.deepEqual(e, [
      `forward In node/${SRC_NODE} 10.132.0.11`, `forward Out node/${SRC_NODE} 10.132.0.11`,
      `forward In node/${DST_NODE} 10.132.0.11`, `forward Out node/${DST_NODE} 10.132.0.11`,
      `return In node/${DST_NODE} 10.56.0.5`, `return Out node/${DST_NODE} 10.193.0.3`,
    ])
  })

  it('finds no contradiction when the lab behaves as predicted', () => {
    const at11 = (c: CaptureObservation): CaptureObservation => ({...c, packets: c.packets.map((p) => ({...p, src: p.src.replace('10.132.0.10', '10.132.0.11'), dst: p.dst.replace('10.132.0.10', '10.132.0.11')}))})
    const checks = compareWithPrediction(predicted.paths, [at11(seedSource), at11(seedDestination)], false)
    assert.deepEqual(checks.filter((c) => c.status !== 'match'), [])
    assert.equal(checks.length, 6)
  })

  it('names the NAT step when the node masqueraded although the file says it does not', () => {
    const masq = capture(`node/${SRC_NODE}`, ['1.00 cbr0 In  IP 10.132.0.11.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0', '1.00 eth0 Out IP 10.209.0.2.45000 > 10.193.0.3.32191: Flags [S], seq 1, win 1, length 0', '1.02 eth0 In IP 10.193.0.3.32191 > 10.209.0.2.45000: Flags [S.], seq 1, ack 2, win 1, length 0'])
    const checks = compareWithPrediction(predicted.paths, [masq], true)
    const mismatch = checks.find((c) => c.status === 'mismatch')
    assert.equal(mismatch?.step, 'SKIP_GKE_POD_IP_MASQUERADING')
    assert.equal(mismatch?.at, `node/${SRC_NODE}`)
    assert.ok(checks.some((c) => c.status === 'unexpected' && c.direction === 'return'), 'a SYN-ACK the trace says never comes back')
  })

  it('flags a packet seen beyond a predicted drop', () => {
    const dropped = prediction.predict({cluster: 'frontend', node: SRC_NODE, dst: '10.59.240.20', port: 80})
    const line = '1.01 eth0 In  IP 10.209.0.2.45000 > 10.59.240.20.80: Flags [S], seq 1, win 1, length 0'
    const dst: CaptureObservation = {at: `node/${DST_NODE}`, host: {kind: 'node', name: DST_NODE}, status: 'ok', packets: classifyPackets(parseCapture(line).packets, {sourcePort: 45000, services: [{ip: '10.59.240.20', port: 80}]}).packets}
    const checks = compareWithPrediction(dropped.paths, [dst], false)
    assert.equal(checks[0]?.status, 'unexpected')
    assert.equal(checks[0]?.step, 'DROP')
  })

  it('lists the gateway VMs on the path of seed 000', () => {
    const seed000 = parseTopology(readFileSync('templates/scenarios/gateways-missing-snat.yaml', 'utf8'), 'seed000')
    assert.deepEqual(topologyPrediction(seed000, CHECKS).instancesOnPath({cluster: 'c1', node: 'gke-c1-default-pool-1', dst: '10.210.200.7', port: 80}).sort(), ['c1-gw-1', 'c2-gw-1', 'c2-gw-2'], 'the gateway the route picks and both backends of the load balancer')
  })
})
