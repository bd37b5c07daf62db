/**
 * A VM's guest as its startup script (src/core/topology/guest-script.ts): the canonical form,
 * parse(render(g)) = normalize(g) over seeded random guests whose iptables text is hostile to a
 * shell (quotes, `$(…)`, backticks, here-document delimiters), and the rendered script run by the
 * real /bin/sh and bash with stand-ins for sysctl, ip and iptables-restore, which must receive
 * exactly the guest. Hand-written scripts and the lines xcc refuses: guest-script-variants.test.ts.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {formatIp, maskOf} from '../../../src/core/net/ipv4.js'
import {type GuestNic, isDefaultGuest, normalizeGuest, parseGuestScript, renderGuestScript} from '../../../src/core/topology/guest-script.js'
import type {GuestSpec} from '../../../src/core/topology/schema.js'
import {type Rng, seededRng} from '../../support/random.js'

const SEED = Number(process.env.XCC_GUEST_SEED ?? 20250611)
const COUNT = Number(process.env.XCC_GUEST_COUNT ?? 400)

const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1))
const one = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)] as T

/** pieces a shell or a here-document would trip on, in comments and in quoted rule arguments */
const HOSTILE = ['EOF', 'XCC_IPTABLES', 'XCC_IPTABLES_1', '\'EOF\'', '$(reboot)', '`id`', '${HOME}', '$1', '\\', '"', '\'', '<<\'X\'', '; rm -rf /', '&&', '|', '#', '\t', 'é→✓', '!', '*', '?', '~', '{a,b}', '\\n']

function hostile(rng: Rng): string {
  return Array.from({length: int(rng, 1, 4)}, () => one(rng, HOSTILE)).join(one(rng, ['', ' ', '-']))
}

/** iptables-save quoting of a comment: backslash and double quote escaped inside double quotes */
const quoted = (text: string): string => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

function randomCidr(rng: Rng, minPrefix = 0): string {
  const prefix = int(rng, minPrefix, 32)
  return `${formatIp((Math.floor(rng() * 2 ** 32) & maskOf(prefix)) >>> 0)}/${prefix}`
}

/** a valid iptables-save text (the evaluator takes it) with hostile comments and quoted arguments */
function randomIptables(rng: Rng): string {
  const tables = {raw: ['PREROUTING', 'OUTPUT'], mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'], nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], filter: ['INPUT', 'FORWARD', 'OUTPUT']}
  const names = (Object.keys(tables) as Array<keyof typeof tables>).filter(() => rng() < 0.5)
  const lines: string[] = []
  for (const name of names) {
    if (rng() < 0.3) lines.push(`# ${hostile(rng)}`)
    lines.push(`*${name}`)
    const builtins = tables[name]
    for (const chain of builtins) if (rng() < 0.7) lines.push(`:${chain} ${name === 'filter' && rng() < 0.3 ? 'DROP' : 'ACCEPT'} [0:0]`)
    const user = rng() < 0.4 ? [`XCC-${int(rng, 0, 99)}`] : []
    for (const chain of user) lines.push(`:${chain} - [0:0]`)
    for (let k = int(rng, 0, 5); k > 0; k--) {
      const chain = one(rng, [...builtins, ...user])
      const target = user.length && rng() < 0.3 ? (user[0] as string) : name === 'nat' && chain === 'POSTROUTING' && rng() < 0.5 ? 'MASQUERADE' : one(rng, ['ACCEPT', 'RETURN', ...(name === 'nat' ? [] : ['DROP'])])
      const match = one(rng, [`-s ${randomCidr(rng)}`, `! -d ${randomCidr(rng, 1)}`, `-m comment --comment ${quoted(hostile(rng))}`, '-p tcp -m tcp --dport 80', ''])
      lines.push(`-A ${chain}${match ? `${rng() < 0.2 ? '\t' : ' '}${match}` : ''} -j ${target}`)
      if (rng() < 0.15) lines.push('')
    }
    lines.push('COMMIT')
  }
  const text = lines.join('\n')
  return rng() < 0.15 ? text : `${text}\n`
}

function randomNics(rng: Rng): GuestNic[] {
  const count = int(rng, 1, 4)
  // distinct, non-overlapping subnets: 10.<k>.x.0/prefix
  return Array.from({length: count}, (_, k) => {
    const prefix = int(rng, 16, 29)
    return {ipCidrRange: `${formatIp((((10 << 24) | ((k * 40 + int(rng, 0, 39)) << 16) | int(rng, 0, 65535)) & maskOf(prefix)) >>> 0)}/${prefix}`}
  })
}

function randomGuest(rng: Rng, nics: readonly GuestNic[]): GuestSpec {
  const routes = Array.from({length: int(rng, 0, 3)}, () => ({destRange: randomCidr(rng), nic: int(rng, 0, nics.length - 1)}))
  if (routes.length && rng() < 0.1) routes.push({...(routes[0] as GuestSpec['routes'][number]), nic: int(rng, 0, nics.length - 1)})
  const iptables = rng() < 0.3 ? undefined : rng() < 0.07 ? '' : randomIptables(rng)
  const listen = rng() < 0.5 ? undefined : rng() < 0.15 ? [] : Array.from({length: int(rng, 1, 3)}, () => ({protocol: one(rng, ['tcp', 'udp'] as const), port: int(rng, 1, 65535)}))
  return {ipForward: rng() < 0.5, routes, ...(iptables !== undefined ? {iptables} : {}), ...(listen ? {listen} : {})}
}

const NICS: GuestNic[] = [{ipCidrRange: '10.210.200.0/24'}, {ipCidrRange: '10.138.0.0/20'}]

describe('the canonical guest script', () => {
  it('is a POSIX sh script: shebang, set -e, forwarding, routes via the NIC\'s subnet gateway, the rules in a quoted here-document, listen as a comment', () => {
    const guest: GuestSpec = {
      ipForward: true, routes: [{destRange: '10.120.0.0/16', nic: 1}], listen: [{protocol: 'tcp', port: 80}, {protocol: 'udp', port: 53}],
      iptables: '*nat\n-A POSTROUTING -s 10.120.0.0/16 -o nic0 -j MASQUERADE\nCOMMIT\n',
    }
    assert.equal(renderGuestScript(guest, NICS), [
      '#!/bin/sh',
      '# xcc: this VM\'s guest (forwarding, routes, iptables); xcc snapshot reads it back',
      'set -e',
      '# xcc-listen: tcp/80 udp/53',
      'sysctl -w net.ipv4.ip_forward=1',
      'ip route replace 10.120.0.0/16 via 10.138.0.1 dev nic1 onlink',
      'iptables-restore <<\'XCC_IPTABLES\'',
      '*nat',
      '-A POSTROUTING -s 10.120.0.0/16 -o nic0 -j MASQUERADE',
      'COMMIT',
      'XCC_IPTABLES',
      '',
    ].join('\n'))
    assert.deepEqual(parseGuestScript(renderGuestScript(guest, NICS), NICS), {guest})
  })

  it('says "serves nothing" as `# xcc-listen: none`, and leaves out what the guest does not have', () => {
    const script = renderGuestScript({ipForward: false, routes: [], listen: []}, NICS)
    assert.match(script, /^# xcc-listen: none$/m)
    assert.match(script, /^sysctl -w net\.ipv4\.ip_forward=0$/m)
    assert.doesNotMatch(script, /^(ip route|iptables-restore)/m)
    assert.deepEqual(parseGuestScript(script, NICS), {guest: {ipForward: false, routes: [], listen: []}})
    assert.ok(isDefaultGuest({ipForward: false, routes: []}))
    assert.ok(!isDefaultGuest({ipForward: false, routes: [], listen: []}), 'an empty listen says something: nothing is served')
  })

  it('picks a here-document delimiter no line of the rules is', () => {
    const iptables = '*filter\nXCC_IPTABLES\nXCC_IPTABLES_1\nCOMMIT\n'
    const script = renderGuestScript({ipForward: false, routes: [], iptables}, NICS)
    assert.match(script, /^iptables-restore <<'XCC_IPTABLES_2'\n\*filter\nXCC_IPTABLES\nXCC_IPTABLES_1\nCOMMIT\nXCC_IPTABLES_2\n$/m)
    // read as the shell reads it: the here-document ends at its own delimiter, and the evaluator then refuses line 2 of the rules
    assert.deepEqual(parseGuestScript(script, NICS), {unreadable: {line: 7, text: 'XCC_IPTABLES'}})
    assert.equal(runScript(script, 'sh').restored, iptables, 'the shell hands iptables-restore exactly the text')
  })

  it(`reads back every guest it writes: ${COUNT} seeded guests (seed ${SEED}), hostile iptables text included`, () => {
    const rng = seededRng(SEED)
    for (let k = 0; k < COUNT; k++) {
      const nics = randomNics(rng)
      const guest = randomGuest(rng, nics)
      const script = renderGuestScript(guest, nics)
      const read = parseGuestScript(script, nics)
      assert.deepEqual(read, {guest: normalizeGuest(guest)}, `guest ${k} (seed ${SEED}):\n${script}`)
      assert.equal(renderGuestScript((read as {guest: GuestSpec}).guest, nics), script, `guest ${k}: the rendering is canonical`)
    }
  })
})

const stubs = mkdtempSync(join(tmpdir(), 'xcc-guest-sh-'))
after(() => rmSync(stubs, {recursive: true, force: true}))
for (const [name, body] of [
  ['sysctl', 'printf \'sysctl %s\\n\' "$*" >>"$XCC_LOG"'],
  ['ip', 'printf \'ip %s\\n\' "$*" >>"$XCC_LOG"'],
  ['iptables-restore', 'printf \'iptables-restore %s\\n\' "$*" >>"$XCC_LOG"; cat >>"$XCC_RESTORED"'],
] as const) {
  writeFileSync(join(stubs, name), `#!/bin/sh\n${body}\n`)
  chmodSync(join(stubs, name), 0o755)
}

/** the script run by a real shell, with sysctl, ip and iptables-restore stand-ins that record what they get */
function runScript(script: string, shell: 'sh' | 'bash'): {log: string[]; restored: string | undefined} {
  const dir = mkdtempSync(join(stubs, 'run-'))
  try {
    const file = join(dir, 'startup-script')
    writeFileSync(file, script)
    const env = {PATH: `${stubs}:/usr/bin:/bin`, XCC_LOG: join(dir, 'log'), XCC_RESTORED: join(dir, 'restored'), HOME: dir}
    const r = spawnSync(shell, [file], {env, encoding: 'utf8', timeout: 10_000})
    assert.equal(r.status, 0, `${shell} ran the script: ${r.stderr}`)
    const read = (path: string): string | undefined => {
      try {
        return readFileSync(path, 'utf8')
      } catch {
        return undefined
      }
    }
    return {log: (read(env.XCC_LOG) ?? '').split('\n').filter((l) => l !== ''), restored: read(env.XCC_RESTORED)}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

describe('the rendered script, run by the real shells', () => {
  it('hands sysctl, ip and iptables-restore exactly the guest, under sh and bash', () => {
    const rng = seededRng(SEED + 1)
    for (let k = 0; k < 60; k++) {
      const nics = randomNics(rng)
      const guest = normalizeGuest(randomGuest(rng, nics))
      const script = renderGuestScript(guest, nics)
      const want = [
        `sysctl -w net.ipv4.ip_forward=${guest.ipForward ? 1 : 0}`,
        ...guest.routes.map((r) => `ip route replace ${r.destRange} via ${formatIp((Number(nicBase(nics[r.nic])) + 1) >>> 0)} dev nic${r.nic} onlink`),
        ...(guest.iptables !== undefined ? ['iptables-restore '] : []),
      ]
      for (const shell of ['sh', 'bash'] as const) {
        const ran = runScript(script, shell)
        assert.deepEqual(ran.log, want, `${shell}, guest ${k}:\n${script}`)
        assert.equal(ran.restored ?? undefined, guest.iptables === undefined ? undefined : guest.iptables, `${shell}, guest ${k}: the rules arrive as written`)
      }
    }
  })
})

function nicBase(nic: GuestNic | undefined): number {
  const [address] = (nic?.ipCidrRange ?? '').split('/')
  return (address ?? '').split('.').reduce((n, part) => n * 256 + Number(part), 0)
}
