/**
 * Captures are about the probe's own connection only: its SYN is known by its initial sequence
 * number (tcpdump -S), which NAT never changes, so another client talking to the same host and
 * port — even from the same node, even after a MASQUERADE that changed the port — is left out.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {classifyPackets, probeIsn} from '../../../src/core/probe/observe.js'
import {parseCapture} from '../../../src/core/probe/tcpdump.js'

const flow = {sourcePort: 45000, services: [{ip: '10.193.0.3', port: 80}, {ip: '10.56.0.5', port: 8080}]}
const parse = (lines: readonly string[]) => parseCapture(lines.join('\n')).packets

// the source node: the probe pod 10.132.0.10:45000 is masqueraded to the node 10.209.0.2 with a random port
// (--random-fully); another pod of the node, 10.132.0.11, talks to the same service at the same time
const source = parse([
  '1.000 cbr0 In  IP 10.132.0.10.45000 > 10.193.0.3.80: Flags [S], seq 3000000001, win 64240, length 0',
  '1.000 eth0 Out IP 10.209.0.2.61234 > 10.193.0.3.80: Flags [S], seq 3000000001, win 64240, length 0',
  '1.001 cbr0 In  IP 10.132.0.11.51000 > 10.193.0.3.80: Flags [S], seq 77, win 64240, length 0',
  '1.001 eth0 Out IP 10.209.0.2.51000 > 10.193.0.3.80: Flags [S], seq 77, win 64240, length 0',
  '1.002 eth0 In  IP 10.193.0.3.80 > 10.209.0.2.51000: Flags [S.], seq 5, ack 78, win 64240, length 0',
  '1.003 eth0 In  IP 10.193.0.3.80 > 10.209.0.2.51000: Flags [.], ack 1, win 64240, length 0',
  '1.004 eth0 In  IP 10.193.0.3.80 > 10.209.0.2.61234: Flags [S.], seq 9, ack 3000000002, win 64240, length 0',
  '1.004 cbr0 Out IP 10.193.0.3.80 > 10.132.0.10.45000: Flags [S.], seq 9, ack 3000000002, win 64240, length 0',
  '1.005 eth0 In  IP 10.193.0.3.80 > 10.209.0.2.61234: Flags [.], ack 3000000002, win 64240, length 0',
])
// the destination node: it sees the node address and the random port, and the other client too
const destination = parse([
  '1.001 eth0 In  IP 10.209.0.2.51000 > 10.193.0.3.80: Flags [S], seq 77, win 64240, length 0',
  '1.002 eth0 In  IP 10.209.0.2.61234 > 10.193.0.3.80: Flags [S], seq 3000000001, win 64240, length 0',
  '1.002 cbr0 Out IP 10.209.0.2.61234 > 10.56.0.5.8080: Flags [S], seq 3000000001, win 64240, length 0',
  '1.003 cbr0 In  IP 10.56.0.5.8080 > 10.209.0.2.61234: Flags [S.], seq 9, ack 3000000002, win 64240, length 0',
  '1.003 cbr0 In  IP 10.56.0.5.8080 > 10.209.0.2.51000: Flags [R.], seq 0, ack 78, win 0, length 0',
  '1.004 eth0 In  IP 10.9.9.9 > 10.209.0.2: ICMP host 10.1.1.1 unreachable, length 36',
])

describe('the probe\'s own connection', () => {
  const isn = probeIsn([source, destination], flow)

  it('is known by the sequence number of the SYN that left the probe\'s port', () => {
    assert.equal(isn, 3000000001)
  })

  it('on the source node: its SYN before and after NAT, its SYN-ACK both ways, its segments — never the other client\'s', () => {
    const seen = classifyPackets(source, {...flow, ...(isn === undefined ? {} : {isn})}).packets
    assert.deepEqual(seen.map((p) => `${p.role} ${p.src}:${p.srcPort} > ${p.dst}:${p.dstPort}`), [
      'request 10.132.0.10:45000 > 10.193.0.3:80',
      'request 10.209.0.2:61234 > 10.193.0.3:80',
      'reply 10.193.0.3:80 > 10.209.0.2:61234',
      'reply 10.193.0.3:80 > 10.132.0.10:45000',
      'segment 10.193.0.3:80 > 10.209.0.2:61234',
    ])
  })

  it('on the destination node: through kube-proxy\'s DNAT too; the other client\'s SYN and reset, and an unrelated ICMP error, are left out', () => {
    const seen = classifyPackets(destination, {...flow, ...(isn === undefined ? {} : {isn})}).packets
    assert.deepEqual(seen.map((p) => `${p.role} ${p.dst}:${p.dstPort}`), ['request 10.193.0.3:80', 'request 10.56.0.5:8080', 'reply 10.209.0.2:61234'])
  })

  it('a reset that answers the probe\'s SYN, and an ICMP error about its destination, are the probe\'s', () => {
    const packets = parse([
      '1.0 eth0 Out IP 10.209.0.2.45000 > 10.193.0.3.80: Flags [S], seq 41, win 1, length 0',
      '1.1 eth0 In  IP 10.193.0.3.80 > 10.209.0.2.45000: Flags [R.], seq 0, ack 42, win 0, length 0',
      '1.2 eth0 In  IP 10.1.0.1 > 10.209.0.2: ICMP host 10.193.0.3 unreachable - admin prohibited filter, length 68',
    ])
    const seen = classifyPackets(packets, {...flow, isn: 41}).packets
    assert.deepEqual(seen.map((p) => p.role), ['request', 'reset', 'icmp'])
  })

  it('without a sequence number (no capture saw the probe\'s SYN): the probe\'s source port and the service decide', () => {
    const packets = parse([
      '1.0 eth0 In IP 10.132.0.10.45000 > 10.193.0.3.80: Flags [S], seq 1, win 1, length 0',
      '1.0 eth0 In IP 10.132.0.11.51000 > 10.193.0.3.80: Flags [S], seq 1, win 1, length 0',
    ])
    assert.deepEqual(classifyPackets(packets, flow).packets.map((p) => p.srcPort), [45000])
  })
})
