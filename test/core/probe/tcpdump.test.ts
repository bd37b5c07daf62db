import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {parseCaptureLog, buildCaptureFilter} from '../../../src/core/probe/capture-log.js'
import {parseCapture, parseTcpdumpLine} from '../../../src/core/probe/tcpdump.js'
import {formatIp} from '../../../src/core/net/ipv4.js'

describe('tcpdump line parser', () => {
  it('reads interface, direction, addresses, ports and flags of a SYN', () => {
    const p = parseTcpdumpLine('1795252709.330537 eth0  Out IP 10.132.0.10.43210 > 10.193.0.3.32191: Flags [S], seq 3460270898, win 65495, options [mss 65495,sackOK,TS val 1827299043 ecr 0,nop,wscale 10], length 0')
    assert.ok(p)
    assert.equal(p.iface, 'eth0')
    assert.equal(p.direction, 'Out')
    assert.equal(formatIp(p.src), '10.132.0.10')
    assert.equal(p.srcPort, 43210)
    assert.equal(formatIp(p.dst), '10.193.0.3')
    assert.equal(p.dstPort, 32191)
    assert.deepEqual(p.flags, {syn: true, ack: false, rst: false, fin: false})
    assert.equal(p.time, 1795252709.330537)
  })

  it('tells SYN-ACK, RST-ACK and FIN segments apart', () => {
    assert.deepEqual(parseTcpdumpLine('1.5 cbr0  In  IP 10.56.0.5.80 > 10.56.0.1.40000: Flags [S.], seq 1, ack 2, win 1, length 0')?.flags, {syn: true, ack: true, rst: false, fin: false})
    assert.deepEqual(parseTcpdumpLine('1.5 lo    In  IP 127.0.0.1.80 > 127.0.0.1.43210: Flags [R.], seq 0, ack 1, win 0, length 0')?.flags, {syn: false, ack: true, rst: true, fin: false})
    assert.deepEqual(parseTcpdumpLine('1.5 eth0 Out IP 10.0.0.1.80 > 10.0.0.2.4000: Flags [F.], seq 1, ack 1, win 1, length 0')?.flags, {syn: false, ack: true, rst: false, fin: true})
  })

  it('reads UDP and ICMP lines, and lines without an interface column (older tcpdump)', () => {
    const udp = parseTcpdumpLine('1795252709.309844 lo    In  IP 127.0.0.1.53199 > 127.0.0.1.34999: UDP, length 1')
    assert.equal(udp?.protocol, 'udp')
    assert.equal(udp?.dstPort, 34999)
    const icmp = parseTcpdumpLine('17.0 eth0  In  IP 10.0.0.1 > 10.0.0.2: ICMP host 10.0.0.9 unreachable, length 36')
    assert.equal(icmp?.protocol, 'icmp')
    assert.match(icmp?.icmp ?? '', /unreachable/)
    const old = parseTcpdumpLine('17.25 IP 10.0.0.1.5 > 10.0.0.2.80: Flags [S], seq 1, win 1, length 0')
    assert.equal(old?.iface, undefined)
    assert.equal(old?.protocol, 'tcp')
  })

  it('is not fooled by banners, counters, IPv6 or garbage', () => {
    for (const line of ['listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes', '3 packets captured', '1.0 eth0 Out IP6 ::1.5 > ::1.6: Flags [S], length 0', 'IP 1.2.3.4.5 > 1.2.3.4.6: Flags [S]', '1.0 eth0 Out IP 300.1.1.1.5 > 1.2.3.4.6: Flags [S], length 0', '']) {
      assert.equal(parseTcpdumpLine(line), undefined, line)
    }
  })

  it('collects packets, notices the listening banner and tcpdump errors', () => {
    const parsed = parseCapture('tcpdump: verbose output suppressed\nlistening on any, link-type LINUX_SLL2\n1.0 eth0 Out IP 10.0.0.1.5 > 10.0.0.2.80: Flags [S], seq 1, win 1, length 0\n')
    assert.equal(parsed.listening, true)
    assert.equal(parsed.packets.length, 1)
    assert.deepEqual(parseCapture('tcpdump: any: You don\'t have permission to capture on that device (socket: Operation not permitted)\n').errors.length, 1)
  })
})

describe('capture log', () => {
  it('splits the node NAT rules, routes and capture of templates/probe/capture.sh', () => {
    const log = parseCaptureLog(['=== xcc:iptables-nat', '*nat', ':POSTROUTING ACCEPT [0:0]', '-A POSTROUTING ! -d 10.0.0.0/8 -j MASQUERADE', 'COMMIT', '=== xcc:ip-route', 'default via 10.209.0.1 dev eth0 onlink', '=== xcc:tcpdump', 'listening on any', '1.0 eth0 Out IP 10.0.0.1.5 > 10.0.0.2.80: Flags [S], seq 1, win 1, length 0', '=== xcc:end 0'].join('\n'))
    assert.match(log.natRules ?? '', /-A POSTROUTING ! -d 10.0.0.0\/8 -j MASQUERADE/)
    assert.deepEqual(log.routes, ['default via 10.209.0.1 dev eth0 onlink'])
    assert.equal(log.capture.packets.length, 1)
    assert.equal(log.ended, 0)
    assert.equal(log.started, true)
  })

  it('reports a NAT table that could not be read instead of treating it as empty', () => {
    const log = parseCaptureLog('=== xcc:iptables-nat\niptables-save v1.8.9: Permission denied (you must be root)\nxcc: iptables-save failed with exit code 1\n=== xcc:ip-route\n=== xcc:tcpdump\n')
    assert.equal(log.natRules, undefined)
    assert.match(log.natError ?? '', /failed/)
  })

  it('builds one filter term per distinct address:port, plus ICMP errors', () => {
    assert.equal(buildCaptureFilter([{ip: '10.193.0.3', port: 32191}, {ip: '10.193.0.3', port: 32191}, {ip: '10.56.0.5', port: 80}]), '(host 10.193.0.3 and port 32191) or (host 10.56.0.5 and port 80) or (icmp and (icmp[0] == 3 or icmp[0] == 11))')
  })
})
