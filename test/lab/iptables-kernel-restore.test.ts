/**
 * What the kernel's iptables-restore takes, xcc loads: every rule below is first given to the
 * real `iptables-restore --test` in a fresh namespace (with the ipsets the `-m set` rules name),
 * and must be accepted there, then parsed by xcc without a load error. The rules it refuses
 * must be refused by both. The forms are the ones real node dumps and hand-written files use:
 * value-less options, "!" placements, abbreviations, number forms, address lists, marks,
 * connection marks, sets, bridges.
 *
 * Needs root, iproute2, iptables and ipset; fails with an install hint otherwise.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {describe, it} from 'node:test'

import {parseIpsetSave, parseIptablesSave} from '../../src/core/iptables/index.js'
import {NetnsLab, requireLabTools} from '../support/netns.js'

/** `table rule` lines the kernel takes */
const ACCEPTED: readonly string[] = [
  'nat -A POSTROUTING -o vxlan.calico -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL -j MASQUERADE --random-fully',
  'filter -A INPUT -m addrtype --dst-type LOCAL --limit-iface-in -j ACCEPT',
  'filter -A INPUT -m addrtype ! --dst-type LOCAL ! --src-type LOCAL -j ACCEPT',
  'filter -A INPUT -m addrtype --dst-type local -j ACCEPT',
  'mangle -A PREROUTING -i eth0 -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80',
  'mangle -A PREROUTING -i eni+ -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
  'mangle -A PREROUTING -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff',
  'mangle -A PREROUTING -j CONNMARK --save-mark --mask 0xff',
  'mangle -A PREROUTING -j CONNMARK --set-mark 0x10/0x30',
  'mangle -A PREROUTING -j CONNMARK --or-mark 0x4',
  'mangle -A PREROUTING -j CONNMARK --set-xmark 0x1 --ctmask 0x3 --nfmask 0x1',
  'mangle -A PREROUTING -j CONNMARK --and-mark 0x4',
  'mangle -A PREROUTING -j CONNMARK --xor-mark 0x4',
  'mangle -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff --left-shift-mark 2',
  'mangle -A PREROUTING -m connmark --mark 0x80/0x80 -j ACCEPT',
  'mangle -A PREROUTING -m connmark ! --mark 0x80 -j ACCEPT',
  'mangle -A PREROUTING -m mark ! --mark 0x80/0x80 -j ACCEPT',
  'filter -A FORWARD -m mark --mark 010/0X18 -j ACCEPT',
  'filter -A FORWARD ! -p tcp -j ACCEPT',
  'filter -A FORWARD -p tcp ! --dport 80 -j ACCEPT',
  'filter -A FORWARD -p tcp -m tcp ! --dport 80 -j ACCEPT',
  'filter -A FORWARD -p tcp -m tcp --destination-port 80 -j ACCEPT',
  'filter -A FORWARD -p tcp --sport 1024:65535 --dport 80 -j ACCEPT',
  'filter -A FORWARD -p tcp --dpo 80 -j ACCEPT',
  'filter -A FORWARD -p tcp --dport=80 -j ACCEPT',
  'filter -A FORWARD -p tcp -m tcp --dport 0x50 -j ACCEPT',
  'filter -A FORWARD -p tcp -m tcp --dport http -j ACCEPT',
  'filter -A FORWARD -p udp -m udp --dport domain -j ACCEPT',
  'filter -A FORWARD -p tcp -m multiport --dports 80,443,8000:8100 -j ACCEPT',
  'filter -A FORWARD -p tcp -m multiport ! --dports 80,443 -j ACCEPT',
  'filter -A FORWARD -p tcp -m multiport --dports http,https -j ACCEPT',
  'filter -A FORWARD -p tcp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14 -j ACCEPT',
  'filter -A FORWARD -p tcp -m tcp --tcp-flags syn,ack syn -j ACCEPT',
  'filter -A FORWARD -p tcp -m tcp ! --syn -j ACCEPT',
  'filter -A FORWARD -m comment --comment "with \\"quotes\\" and  spaces" -j ACCEPT',
  'filter -A FORWARD -m comment --comment cali:abc123 -m comment --comment second -j ACCEPT',
  'filter -A FORWARD -m statistic --mode random --probability 0.33333333349 -j ACCEPT',
  'filter -A FORWARD -m statistic --mode nth --every 3 --packet 1 -j ACCEPT',
  'filter -A FORWARD -m physdev --physdev-is-bridged --physdev-out vethwe-bridge -j ACCEPT',
  'filter -A FORWARD -m physdev --physdev-in vethwe-bridge -j ACCEPT',
  'filter -A FORWARD -m physdev ! --physdev-is-in -j ACCEPT',
  'filter -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  'filter -A FORWARD -m conntrack --ctstate new -j ACCEPT',
  'filter -A FORWARD -m conntrack ! --ctorigdst 10.0.0.0/8 -j ACCEPT',
  'filter -A FORWARD -m conntrack --ctdir ORIGINAL --ctstate NEW -j ACCEPT',
  'filter -A FORWARD -m state --state new,established -j ACCEPT',
  'filter -A FORWARD -m iprange --src-range 10.0.0.1-10.0.0.9 -j ACCEPT',
  'filter -A FORWARD -m iprange --src-range 10.0.0.1 -j ACCEPT',
  'filter -A FORWARD -s 10.1 -j ACCEPT',
  'filter -A FORWARD -s 010.0.0.1 -j ACCEPT',
  'filter -A FORWARD -s 0/0 -j ACCEPT',
  'filter -A FORWARD -s 10.0.0.0/010 -j ACCEPT',
  'filter -A FORWARD -s 10.0.0.1/32,10.0.0.2 -d 1.1.1.1,2.2.2.2 -j ACCEPT',
  'filter -A FORWARD -s localhost -j ACCEPT',
  'filter -A FORWARD -i eth0.100 -o vxlan.calico -j ACCEPT',
  'filter -A FORWARD -i cali+ ! -o flannel.1 -j ACCEPT',
  'filter -A FORWARD -m set --match-set xcct-ip src -j ACCEPT',
  'filter -A FORWARD -m set ! --match-set xcct-ip src,dst -j ACCEPT',
  'filter -A FORWARD -m set --match-set xcct-ipport dst,dst --return-nomatch ! --update-counters -j ACCEPT',
  'filter -A FORWARD -m set --match-set xcct-ipport dst,dst,src -j ACCEPT',
  'filter -A FORWARD -m set --set xcct-port dst -j ACCEPT',
  'filter -A FORWARD -m set --match-set xcct-ip src -m set ! --match-set xcct-net dst -j ACCEPT',
  'filter -A FORWARD -m set --match-set xcct-ipport dst --packets-gt 10 -j ACCEPT',
  'filter -A FORWARD -m limit --limit 5/min --limit-burst 10 -j LOG --log-prefix "x: " --log-level 4',
  'filter -A FORWARD -j NFLOG --nflog-group 100 --nflog-prefix p',
  'filter -A FORWARD -p tcp -j REJECT --reject-with TCP-RESET',
  'filter -A FORWARD -j REJECT --reject-with icmp-admin-prohibited',
  'nat -A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:8080',
  'nat -A PREROUTING -p tcp -j DNAT --to 10.0.0.1:80',
  'nat -A POSTROUTING -j SNAT --to-source 10.0.0.1 --random-fully',
  'nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1024-65535 --random',
  'raw -A PREROUTING -j CT --notrack',
  'mangle -A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu',
  'mangle -A POSTROUTING -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill',
  'filter -A A -j FORWARD',
]

/** `table rule` lines the kernel refuses */
const REFUSED: readonly string[] = [
  'filter -A FORWARD -p tcp -m tcp --dport ! 80 -j ACCEPT',
  'filter -A FORWARD -s ! 10.0.0.0/8 -j ACCEPT',
  'filter -A FORWARD -p tcp -m tcp --dport 080 -j ACCEPT',
  'filter -A FORWARD -s 10.0.0.0/08 -j ACCEPT',
  'filter -A FORWARD -d 10.0.0.0/8 -d 10.1.0.0/16 -j ACCEPT',
  'filter -A FORWARD -m comment ! --comment x -j ACCEPT',
  'filter -A FORWARD -m comment -j ACCEPT',
  "filter -A FORWARD -m comment --comment 'single quoted' -j ACCEPT",
  'filter -A FORWARD -m addrtype --dst-type LOCAL --limit-iface-in --limit-iface-out -j ACCEPT',
  'filter -A FORWARD -m conntrack ! --ctdir ORIGINAL -j ACCEPT',
  'filter -A FORWARD -m tcp --dport 80 -j ACCEPT',
  'filter -A FORWARD -m physdev -j ACCEPT',
  'filter -A FORWARD -m statistic --mode nth --every 2 -j ACCEPT',
  'filter -A FORWARD -p tcp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15:16 -j ACCEPT',
  'filter -A FORWARD -m set --match-set xcct-ip -j ACCEPT',
  'filter -A FORWARD -j REJECT --reject-with bogus',
  'filter -A FORWARD -j LOG --bogus',
  'nat -A PREROUTING -j DNAT --to-destination 10.0.0.1:80',
  'mangle -A PREROUTING -j CONNMARK --save-mark --mask 0x3 --nfmask 0x1',
  'mangle -A PREROUTING -m mark --mark 1 -m connmark --mar 2 -j ACCEPT',
]

const FIXTURES = new URL('../fixtures/iptables/', import.meta.url)

function dumpOf(entry: string): string {
  const space = entry.indexOf(' ')
  return `*${entry.slice(0, space)}\n:A - [0:0]\n${entry.slice(space + 1)}\nCOMMIT\n`
}

describe('xcc loads what the kernel\'s iptables-restore takes', () => {
  it('every rule iptables-restore --test accepts parses without a load error, and the ones it refuses are refused by both', {timeout: 120_000}, () => {
    requireLabTools([['ipset', ['--version'], 'ipset']])
    const lab = new NetnsLab('restore')
    try {
      const ns = lab.namespace('host')
      lab.exec(ns, 'ipset', ['restore'], {
        input: ['create xcct-ip hash:ip', 'create xcct-net hash:net', 'create xcct-ipport hash:ip,port,ip', 'create xcct-port bitmap:port range 0-65535', ''].join('\n'),
      })
      const kernelTakes = (entry: string): boolean => {
        try {
          lab.exec(ns, 'iptables-restore', ['--test'], {input: dumpOf(entry)})
          return true
        } catch {
          return false
        }
      }
      const problems: string[] = []
      for (const entry of ACCEPTED) {
        if (!kernelTakes(entry)) problems.push(`iptables-restore --test refuses a rule listed as accepted: ${entry}`)
        const {errors} = parseIptablesSave(dumpOf(entry), 'kernel-accepts')
        if (errors.length > 0) problems.push(`xcc refuses a rule the kernel accepts: ${entry}: ${errors[0]?.message}`)
      }
      for (const entry of REFUSED) {
        if (kernelTakes(entry)) problems.push(`iptables-restore --test accepts a rule listed as refused: ${entry}`)
        if (parseIptablesSave(dumpOf(entry), 'kernel-refuses').errors.length === 0) problems.push(`xcc loads a rule the kernel refuses: ${entry}`)
      }
      assert.deepEqual(problems, [])
    } finally {
      lab.destroy()
    }
  })

  it('every fixture passes iptables-restore --test, with the ipsets beside it restored first, and parses without errors', {timeout: 120_000}, () => {
    requireLabTools([['ipset', ['--version'], 'ipset']])
    const fixtures = readdirSync(FIXTURES).filter((name) => name.endsWith('.txt')).sort()
    assert.ok(fixtures.length >= 9, `${fixtures.length} fixtures`)
    const lab = new NetnsLab('fixtures')
    try {
      fixtures.forEach((name, i) => {
        const ns = lab.namespace(`f${i}`)
        const sets = name.replace(/\.txt$/, '.ipset')
        if (existsSync(new URL(sets, FIXTURES))) {
          const text = readFileSync(new URL(sets, FIXTURES), 'utf8')
          lab.exec(ns, 'ipset', ['restore'], {input: text})
          assert.deepEqual(parseIpsetSave(text, sets).errors, [], sets)
        }
        const text = readFileSync(new URL(name, FIXTURES), 'utf8')
        lab.exec(ns, 'iptables-restore', ['--test'], {input: text})
        assert.deepEqual(parseIptablesSave(text, name).errors, [], name)
      })
    } finally {
      lab.destroy()
    }
  })
})
