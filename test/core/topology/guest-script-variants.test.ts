/**
 * Startup scripts as people write them (src/core/topology/guest-script.ts): the common
 * equivalents of the canonical form read into the guest they leave, every other line refused at
 * its number, and the gateway fix the doctor prints (core/doctor/fixes.ts gatewaySnatScript)
 * readable: appended to a VM's script it gives the guest the fix means, once however often it is
 * appended, and the doctor then finds the flow reachable.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {CHECKS} from '../../../src/checks/index.js'
import {gatewaySnatScript} from '../../../src/core/doctor/fixes.js'
import {evaluateDoctor} from '../../../src/core/doctor/report.js'
import {guestNics, parseGuestScript, renderGuestScript, scriptExcerpt} from '../../../src/core/topology/guest-script.js'
import {parseTopology} from '../../../src/core/topology/parse.js'
import type {GuestSpec} from '../../../src/core/topology/schema.js'
import {resolveFlow} from '../../../src/core/trace/endpoints.js'

/** nic0 in 10.10.0.0/24 (gateway 10.10.0.1), nic1 in 10.20.1.0/24 (gateway 10.20.1.1) */
const NICS = [{ipCidrRange: '10.10.0.0/24'}, {ipCidrRange: '10.20.1.0/24'}]
const NAT = (...rules: string[]): string => ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ...rules, 'COMMIT'].join('\n')
const FILTER = (forward: string, ...rest: string[]): string => ['*filter', ':INPUT ACCEPT [0:0]', `:FORWARD ${forward} [0:0]`, ':OUTPUT ACCEPT [0:0]', ...rest, 'COMMIT'].join('\n')

const read = (script: string): GuestSpec => {
  const r = parseGuestScript(script, NICS)
  assert.ok('guest' in r, `readable, but: ${JSON.stringify(r)}`)
  return r.guest
}

describe('hand-written startup scripts', () => {
  it('forwarding: sysctl with or without -w, echo into /proc, the last one wins; shebangs, comments, blank lines and set options change nothing', () => {
    assert.deepEqual(read('#!/bin/bash\n\n# a gateway\nset -eu\nsysctl net.ipv4.ip_forward=1\n'), {ipForward: true, routes: []})
    assert.deepEqual(read('set -e -x\nset -o nounset\necho 1 > /proc/sys/net/ipv4/ip_forward\n'), {ipForward: true, routes: []})
    assert.deepEqual(read('echo "1" >/proc/sys/net/ipv4/ip_forward   # on\n'), {ipForward: true, routes: []})
    assert.deepEqual(read('sysctl -w net.ipv4.ip_forward=1\nsysctl -qw net.ipv4.ip_forward=0\n'), {ipForward: false, routes: []})
    assert.deepEqual(read(''), {ipForward: false, routes: []}, 'an empty script leaves the default guest')
    assert.deepEqual(read('#!/bin/sh\nsysctl -w net.ipv4.ip_forward=1\nexit 0\n# done\n'), {ipForward: true, routes: []})
  })

  it('routes: add or replace, via the NIC\'s gateway with or without dev and onlink, default and bare addresses; replace changes the NIC in place', () => {
    assert.deepEqual(read([
      'ip route add 10.30.0.0/16 via 10.20.1.1 dev nic1',
      'ip route replace 10.40.0.0/16 via 10.20.1.1',
      'ip -4 route add 10.50.0.7 via 10.10.0.1 dev nic0 onlink',
      'ip route replace default dev nic1 via 10.20.1.1 onlink',
      'ip route replace 10.30.0.0/16 via 10.10.0.1 dev nic0',
    ].join('\n')).routes, [
      {destRange: '10.30.0.0/16', nic: 0}, {destRange: '10.40.0.0/16', nic: 1}, {destRange: '10.50.0.7/32', nic: 0}, {destRange: '0.0.0.0/0', nic: 1},
    ])
  })

  it('iptables: restores with and without --noflush, -A, -I with a position, -N, -P and -C || -A become one iptables-save text', () => {
    const guest = read([
      '#!/bin/sh',
      'iptables-restore -w 5 <<EOF',
      '*filter',
      ':FORWARD DROP [0:0]',
      '-A FORWARD -i nic0 -o nic1 -j ACCEPT',
      'COMMIT',
      'EOF',
      'iptables-restore --noflush <<-\'RULES\'',
      '\t*nat',
      '\t-A POSTROUTING -o nic1 -j MASQUERADE',
      '\tCOMMIT',
      '\tRULES',
      'iptables -w -t nat -I POSTROUTING 1 -d 10.10.0.0/24 -j RETURN',
      'iptables -N XCC-LOG',
      'iptables -A XCC-LOG -m comment --comment \'say "hi" $HOME\' -j RETURN',
      'iptables -A FORWARD -t filter \\',
      '  -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      'iptables -P INPUT ACCEPT',
      'iptables -t nat -C POSTROUTING -o nic1 -j MASQUERADE 2>/dev/null || iptables -t nat -A POSTROUTING -o nic1 -j MASQUERADE',
    ].join('\n'))
    assert.equal(guest.iptables, `${[
      FILTER('DROP', ':XCC-LOG - [0:0]', '-A FORWARD -i nic0 -o nic1 -j ACCEPT', '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-A XCC-LOG -m comment --comment "say \\"hi\\" $HOME" -j RETURN'),
      NAT('-A POSTROUTING -d 10.10.0.0/24 -j RETURN', '-A POSTROUTING -o nic1 -j MASQUERADE'),
    ].join('\n')}\n`)
  })

  it('iptables: a restore without --noflush replaces the tables it names; a single restore is kept as written', () => {
    const guest = read('iptables -t nat -A POSTROUTING -o nic0 -j MASQUERADE\niptables-restore <<\'X\'\n*nat\n-A POSTROUTING -o nic1 -j MASQUERADE\nCOMMIT\nX\n')
    assert.equal(guest.iptables, `${NAT('-A POSTROUTING -o nic1 -j MASQUERADE')}\n`)
    const text = '# as saved\n*nat\n-A POSTROUTING -o nic1 -j MASQUERADE\nCOMMIT\n'
    assert.equal(read(`iptables-restore <<'X'\n${text}X\n`).iptables, text)
  })

  it('listen: `# xcc-listen:` with protocol/port items, or none', () => {
    assert.deepEqual(read('# xcc-listen: tcp/80 udp/53\n').listen, [{protocol: 'tcp', port: 80}, {protocol: 'udp', port: 53}])
    assert.deepEqual(read('  # xcc-listen: none\n').listen, [])
    assert.equal(read('# xcc listens on 80\n').listen, undefined, 'other comments are comments')
  })

  it('refuses every other line, at its number, and guesses nothing', () => {
    const cases: Array<[string, number]> = [
      ['echo hello', 1],
      ['sysctl -w net.ipv4.ip_forward=1\nip route add 10.30.0.0/16 via 10.20.1.9 dev nic1', 2],
      ['ip route add 10.30.0.0/16 via 10.20.1.1 dev nic2', 1],
      ['ip route add 10.30.0.0/16 via 10.10.0.1 dev nic1', 1],
      ['ip route add 10.30.0.0/16 via 10.99.0.1', 1],
      ['ip route add 10.30.0.0/16 dev nic1', 1],
      ['ip route add 10.30.0.1/16 via 10.20.1.1', 1],
      ['ip route add 10.30.0.0/16 via 10.20.1.1 metric 5', 1],
      ['ip route add default via 10.20.1.1 dev nic1 onlink', 1],
      ['ip route add 10.20.1.0/24 via 10.20.1.1', 1],
      ['ip route add 10.30.0.0/16 via 10.20.1.1\nip route add 10.30.0.0/16 via 10.20.1.1', 2],
      ['sysctl -w net.ipv4.conf.all.forwarding=1', 1],
      ['sysctl -w net.ipv4.ip_forward=2', 1],
      ['echo 1 > /proc/sys/net/ipv4/conf/all/forwarding', 1],
      ['iptables-restore < /etc/iptables/rules.v4', 1],
      ['#!/bin/sh\niptables-restore <<EOF\n*nat\n-A POSTROUTING -o $IF -j MASQUERADE\nCOMMIT\nEOF', 4],
      ['iptables-restore <<\'EOF\'\n*nat\nCOMMIT', 1],
      ['iptables-restore <<\'EOF\'\n*nat\n-A POSTROUTING -o nic1 -j NOSUCHTARGET\nCOMMIT\nEOF', 3],
      ['iptables-restore <<\'EOF\'\n*nat\n-I POSTROUTING -j MASQUERADE\nCOMMIT\nEOF\niptables -A INPUT -j ACCEPT', 3],
      ['iptables -A NOPE -j ACCEPT', 1],
      ['iptables -t nat -A POSTROUTING -o nic1 -j MASQUERADE; echo done', 1],
      ['iptables -t nat -C POSTROUTING -j MASQUERADE || iptables -t nat -A POSTROUTING -o nic1 -j MASQUERADE', 1],
      ['iptables -F', 1],
      ['iptables -N XCC\niptables -N XCC', 2],
      ['set -e\n# xcc-listen: tcp/80 sctp/9', 2],
      ['# xcc-listen: tcp/80\n# xcc-listen: tcp/81', 2],
      ['exit 0\nsysctl -w net.ipv4.ip_forward=1', 2],
      ['sysctl -w net.ipv4.ip_forward=1\r', 1],
      ['FOO=bar sysctl -w net.ipv4.ip_forward=1', 1],
      ['sysctl -w "net.ipv4.ip_forward=$ON"', 1],
      ['ip route add 10.30.0.0/16 via 10.20.1.1 dev nic1 \'', 1],
      ['ip route add 10.30.0.0/16 via $(gateway)', 1],
      ['iptables -A INPUT -s 10.0.0.0/8 \\\n  -j ACCEPT\ncurl -s http://metadata/', 3],
    ]
    for (const [script, line] of cases) {
      const r = parseGuestScript(script, NICS)
      assert.deepEqual(r, {unreadable: {line, text: script.split('\n')[line - 1]}}, script)
    }
  })

  it('names a refused line by its first word only: a script may hold secrets', () => {
    assert.equal(scriptExcerpt('curl -H "Authorization: Bearer s3cr3t" https://example.com'), 'curl …')
    assert.equal(scriptExcerpt('TOKEN=s3cr3t ./run'), 'TOKEN …')
    assert.equal(scriptExcerpt('\u001b[31m'), '…')
    assert.equal(scriptExcerpt('reboot'), 'reboot')
    assert.equal(scriptExcerpt('   '), 'an empty line')
  })
})

describe('the gateway fix the doctor prints', () => {
  const fix = gatewaySnatScript('10.120.0.0/16')
  const masquerade = '-A POSTROUTING -s 10.120.0.0/16 ! -d 10.120.0.0/16 -j MASQUERADE'

  it('is readable appended to no script (what describe prints then is an empty line), to the canonical one, and again: the rule once', () => {
    assert.deepEqual(read(`\n${fix}\n`), {ipForward: true, routes: [], iptables: `${NAT(masquerade)}\n`})
    const canonical = renderGuestScript({ipForward: false, routes: [{destRange: '10.120.0.0/16', nic: 1}], listen: [{protocol: 'tcp', port: 80}]}, NICS)
    const once = read(`${canonical}${fix}\n`)
    assert.deepEqual(once, {ipForward: true, routes: [{destRange: '10.120.0.0/16', nic: 1}], iptables: `${NAT(masquerade)}\n`, listen: [{protocol: 'tcp', port: 80}]})
    assert.deepEqual(read(`${canonical}${fix}\n${fix}\n`), once, 'appended twice: -C finds the rule the first one added')
  })

  it('makes the flow it was printed for reachable, read back from the startup script it builds', () => {
    const text = readFileSync(new URL('../../../templates/scenarios/gateways-missing-snat.yaml', import.meta.url), 'utf8')
    const model = parseTopology(text, 'gateways-missing-snat.yaml')
    const flow = (m: typeof model): ReturnType<typeof evaluateDoctor> => evaluateDoctor(m, resolveFlow(m, 'c1/default/ubuntu', 'lb/c2-forwarding-rules'), CHECKS)
    const before = flow(model)
    assert.equal(before.diagnosis?.code, 'GATEWAY_SNAT_MISSING')
    const printed = before.diagnosis?.fixes?.find((f) => f.script !== undefined)
    assert.ok(printed?.script, 'the diagnosis carries the script')
    // the file the fix's commands build: describe (the lab shows the guest as its canonical script), then the lines appended
    const gateway = model.topology.instances.find((m) => m.name === 'c1-gw-1')
    assert.ok(gateway)
    const nics = guestNics(model.topology, gateway)
    const file = `${renderGuestScript(gateway.guest, nics)}${printed.script}\n`
    const fixed = parseGuestScript(file, nics)
    assert.ok('guest' in fixed, JSON.stringify(fixed))
    const doc = structuredClone(model.topology)
    const target = doc.instances.find((m) => m.name === 'c1-gw-1')
    assert.ok(target)
    target.guest = fixed.guest
    const after = flow(parseTopology(JSON.stringify(doc), 'fixed.json'))
    assert.equal(after.verdict, 'reachable', JSON.stringify(after.diagnosis))
  })
})
