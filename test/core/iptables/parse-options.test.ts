/**
 * The parser takes every rule iptables-restore takes (test/lab/iptables-kernel-restore.test.ts
 * checks the same forms against the real iptables-restore --test): value-less options, "!"
 * wherever iptables allows it, numbers and addresses as libxtables reads them, getopt's option
 * abbreviations, address lists, service names and case-insensitive names.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {parseIptablesSave} from '../../../src/core/iptables/index.js'
import {type CompiledRule, isCompiledRule} from '../../../src/core/iptables/compiled.js'
import {ip} from '../../../src/core/net/ipv4.js'

function parse(table: string, lines: readonly string[]): ReturnType<typeof parseIptablesSave> {
  return parseIptablesSave([`*${table}`, ':A - [0:0]', ...lines, 'COMMIT', ''].join('\n'), 't')
}

function errorsOf(table: string, lines: readonly string[]): string[] {
  return parse(table, lines).errors.map((e) => `${e.line - 2}: ${e.message}`)
}

/** the compiled rules of a one-chain dump, in order */
function rulesOf(table: string, chain: string, lines: readonly string[]): CompiledRule[] {
  const {ruleset, errors} = parse(table, lines)
  assert.deepEqual(errors, [])
  const rules = ruleset.tables.get(table as 'filter')?.chains.get(chain)?.rules ?? []
  return rules.map((rule) => {
    assert.ok(isCompiledRule(rule))
    return rule
  })
}

describe('parsing the options iptables-restore accepts', () => {
  it('loads options that take no value: addrtype --limit-iface-in/out (Calico), tcp --syn, physdev flags, set --return-nomatch', () => {
    assert.deepEqual(errorsOf('nat', [
      '-A POSTROUTING -o vxlan.calico -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL -j MASQUERADE --random-fully',
      '-A PREROUTING -m addrtype --dst-type LOCAL --limit-iface-in -j A',
    ]), [])
    assert.deepEqual(errorsOf('filter', [
      '-A FORWARD -p tcp -m tcp ! --syn -j ACCEPT',
      '-A FORWARD -m physdev --physdev-is-bridged --physdev-out vethwe-bridge -j ACCEPT',
      '-A FORWARD -m physdev ! --physdev-is-in -j ACCEPT',
      '-A FORWARD -m set --match-set blocked src --return-nomatch ! --update-counters -j DROP',
    ]), [])
    const [masq] = rulesOf('nat', 'POSTROUTING', ['-A POSTROUTING -m addrtype ! --src-type LOCAL --limit-iface-out -j MASQUERADE'])
    assert.deepEqual(masq?.matches, [{kind: 'addrType', field: 'src', negated: true, types: ['LOCAL'], limit: 'out'}])
  })

  it('refuses what iptables refuses of those options: both limits at once, a limit without a type, a flag with a value', () => {
    assert.deepEqual(errorsOf('filter', [
      '-A FORWARD -m addrtype --dst-type LOCAL --limit-iface-in --limit-iface-out -j ACCEPT',
      '-A FORWARD -m addrtype --limit-iface-in -j ACCEPT',
      '-A FORWARD -p tcp -m tcp --syn yes -j ACCEPT',
      '-A FORWARD -m physdev -j ACCEPT',
    ]), [
      '1: -m addrtype: --limit-iface-in and --limit-iface-out exclude each other',
      '2: -m addrtype needs --src-type or --dst-type',
      '3: unexpected argument "yes" after --syn',
      '4: -m physdev needs one of its options',
    ])
  })

  it('lets "!" precede every conntrack option but --ctdir, and no option of -m comment', () => {
    assert.deepEqual(errorsOf('filter', [
      '-A FORWARD -m conntrack ! --ctorigdst 10.0.0.0/8 -j ACCEPT',
      '-A FORWARD -m conntrack ! --ctstatus ASSURED -j ACCEPT',
      '-A FORWARD -m conntrack ! --ctdir ORIGINAL -j ACCEPT',
      '-A FORWARD -m comment ! --comment x -j ACCEPT',
      '-A FORWARD ! -m comment --comment x -j ACCEPT',
    ]), ['3: -m conntrack: --ctdir cannot be negated', '4: -m comment: --comment cannot be negated', '5: -m cannot be negated with "!"'])
  })

  it('reads numbers as libxtables does: 0x hex and 0 octal for ports and marks, and "080" is no port', () => {
    const [hex, octal] = rulesOf('filter', 'FORWARD', ['-A FORWARD -p tcp -m tcp --dport 0x50 -j ACCEPT', '-A FORWARD -m mark --mark 010/0X18 -j ACCEPT'])
    assert.deepEqual(hex?.matches[1], {kind: 'ports', negated: false, protocol: 6, field: 'dst', ranges: [{lo: 80, hi: 80}]})
    assert.deepEqual(octal?.matches[0], {kind: 'mark', negated: false, value: 8, mask: 0x18})
    for (const fastPath of [true, false]) {
      const {errors} = parseIptablesSave('*filter\n-A FORWARD -p tcp -m tcp --dport 080 -j ACCEPT\nCOMMIT\n', 't', {fastPath})
      assert.deepEqual(errors.map((e) => e.message), ['--dport: "080" is not a port or port range'])
    }
  })

  it('reads addresses as iptables does: missing octets are zero, octets may be octal, 0/0 is any address, the mask may be octal', () => {
    const rules = rulesOf('filter', 'FORWARD', [
      '-A FORWARD -s 10.1 -j ACCEPT',
      '-A FORWARD -s 010.0.0.1 -j ACCEPT',
      '-A FORWARD -s 0/0 -j ACCEPT',
      '-A FORWARD -s 10.0.0.0/010 -j ACCEPT',
      '-A FORWARD -s 167772161 -j ACCEPT',
    ])
    assert.deepEqual(rules.map((r) => r.matches[0]), [
      {kind: 'address', field: 'src', negated: false, base: ip('10.1.0.0'), mask: 0xffffffff},
      {kind: 'address', field: 'src', negated: false, base: ip('8.0.0.1'), mask: 0xffffffff},
      {kind: 'address', field: 'src', negated: false, base: 0, mask: 0},
      {kind: 'address', field: 'src', negated: false, base: ip('10.0.0.0'), mask: 0xff000000},
      {kind: 'address', field: 'src', negated: false, base: ip('10.0.0.1'), mask: 0xffffffff},
    ])
    assert.deepEqual(errorsOf('filter', ['-A FORWARD -s 10.0.0.0/08 -j ACCEPT', '-A FORWARD -d 10.0.0.0/8 -d 10.1.0.0/16 -j ACCEPT']), [
      '1: -s: "10.0.0.0/08" is not an IPv4 address or CIDR',
      '2: multiple -d flags not allowed',
    ])
  })

  it('makes one rule per address of "-s a,b -d c,d", sources outer, each with the line and a position of its own', () => {
    const rules = rulesOf('filter', 'FORWARD', ['-A FORWARD -s 10.0.0.1,10.0.0.2 -d 1.1.1.1,2.2.2.2 -j ACCEPT', '-A FORWARD -j DROP'])
    const pairs = rules.map((r) => r.matches.filter((m) => m.kind === 'address').map((m) => (m.kind === 'address' ? `${m.field}=${m.base >>> 0}` : '')).join(' '))
    assert.deepEqual(pairs, [
      `src=${ip('10.0.0.1')} dst=${ip('1.1.1.1')}`, `src=${ip('10.0.0.1')} dst=${ip('2.2.2.2')}`,
      `src=${ip('10.0.0.2')} dst=${ip('1.1.1.1')}`, `src=${ip('10.0.0.2')} dst=${ip('2.2.2.2')}`, '',
    ])
    assert.deepEqual(rules.map((r) => [r.ref.index, r.ref.line]), [[1, 3], [2, 3], [3, 3], [4, 3], [5, 4]])
    assert.deepEqual(errorsOf('filter', ['-A FORWARD ! -s 10.0.0.1,10.0.0.2 -j ACCEPT']), ['1: -s: "!" not allowed with multiple source or destination addresses'])
  })

  it('resolves abbreviated options and --name=value as getopt does, and refuses an ambiguous abbreviation', () => {
    const [rule] = rulesOf('filter', 'FORWARD', ['-A FORWARD -p tcp --dpo 80 --sport=1000 -m addrtype --dst-ty LOCAL --jump ACCEPT'])
    assert.deepEqual(rule?.matches.map((m) => m.kind), ['protocol', 'ports', 'ports', 'addrType'])
    assert.deepEqual(rule?.target, {kind: 'verdict', verdict: 'ACCEPT'})
    const [snat] = rulesOf('nat', 'POSTROUTING', ['-A POSTROUTING -j SNAT --to 10.0.0.1'])
    assert.deepEqual(snat?.target, {kind: 'snat', address: ip('10.0.0.1'), random: false})
    assert.deepEqual(errorsOf('filter', ['-A FORWARD -m mark --mark 1 -m connmark --mar 2 -j ACCEPT']), ['1: option --mar is ambiguous (--mark, --mark)'])
  })

  it('takes service names for ports, and an unknown name makes the rule unsupported rather than the dump unloadable', () => {
    const [http, multi, unknown] = rulesOf('filter', 'FORWARD', [
      '-A FORWARD -p tcp -m tcp --dport http -j ACCEPT',
      '-A FORWARD -p tcp -m multiport --dports https,domain:5353 -j ACCEPT',
      '-A FORWARD -p tcp -m tcp --dport my-private-service -j ACCEPT',
    ])
    assert.deepEqual(http?.matches[1], {kind: 'ports', negated: false, protocol: 6, field: 'dst', ranges: [{lo: 80, hi: 80}]})
    assert.deepEqual(multi?.matches[1], {kind: 'ports', negated: false, protocol: 6, field: 'dst', ranges: [{lo: 443, hi: 443}, {lo: 53, hi: 5353}]})
    assert.match(unknown?.unsupported ?? '', /--dport my-private-service: a service name xcc does not know/)
  })

  it('reads connection states, TCP flags and address types case-insensitively, as the extensions do', () => {
    const [state, flags, type] = rulesOf('filter', 'FORWARD', [
      '-A FORWARD -m state --state new,established -j ACCEPT',
      '-A FORWARD -p tcp -m tcp --tcp-flags syn,ack syn -j ACCEPT',
      '-A FORWARD -m addrtype --dst-type local -j ACCEPT',
    ])
    assert.deepEqual(state?.matches[0], {kind: 'ctState', negated: false, states: ['NEW', 'ESTABLISHED']})
    assert.deepEqual(flags?.matches[1], {kind: 'tcpFlags', negated: false, mask: 0x12, comp: 0x02})
    assert.deepEqual(type?.matches[0], {kind: 'addrType', field: 'dst', negated: false, types: ['LOCAL']})
  })

  it('keeps rules iptables-restore --test takes but xcc cannot decide as unsupported: host names, a jump to a builtin chain', () => {
    const rules = rulesOf('filter', 'A', ['-A A -s localhost -j ACCEPT', '-A A -j FORWARD'])
    assert.deepEqual(rules.map((r) => r.unsupported), [
      '-s localhost: a host name, which iptables resolves when it loads the rule',
      'jump to the builtin chain FORWARD, which the kernel refuses',
    ])
  })

  it('refuses what iptables-restore refuses: a port match without its protocol, NAT ports without one, unknown reject types, stray statistic options', () => {
    assert.deepEqual(errorsOf('filter', [
      '-A FORWARD -m tcp --dport 80 -j ACCEPT',
      '-A FORWARD -p udp -m tcp --dport 80 -j ACCEPT',
      '-A FORWARD -j REJECT --reject-with bogus',
      '-A FORWARD -m statistic --mode nth --every 2 -j ACCEPT',
      '-A FORWARD -m comment -j ACCEPT',
      '-A FORWARD -m rt --rt-type 0 -j ACCEPT',
      '-A FORWARD -p tcp -m multiport --dports 1:2,3:4,5:6,7:8,9:10,11:12,13:14,15:16 -j ACCEPT',
    ]), [
      '1: -m tcp requires -p tcp',
      '2: -m tcp requires -p tcp',
      '3: --reject-with: unknown reject type "bogus"',
      '4: -m statistic --every n needs --packet p with 0 <= p <= n-1',
      '5: -m comment needs --comment',
      '6: -m rt is a match of ip6tables, which iptables cannot load',
      '7: --dports: too many ports (at most 15, a range counts as two)',
    ])
    for (const fastPath of [true, false]) {
      const {errors} = parseIptablesSave('*nat\n-A PREROUTING -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n', 't', {fastPath})
      assert.deepEqual(errors.map((e) => e.message), ['a port in a NAT target needs -p tcp, udp, sctp or dccp'])
    }
  })
})
