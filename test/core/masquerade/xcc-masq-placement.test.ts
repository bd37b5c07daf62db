/**
 * Where templates/masquerade/xcc-masquerade.sh puts XCC-MASQ, checked with the repo's iptables
 * evaluator (decideNodeSnat, SNAT-14: the whole POSTROUTING chain in order, the first rule that
 * masquerades wins). The script's own `reconcile` runs in sh with recording stand-ins for
 * iptables-save/-restore/iptables; what it asks for is applied to real node dumps (GKE IP-MASQ
 * chain SNAT-11, kubenet SNAT-09, ip-masq-agent SNAT-05, and a POSTROUTING that RETURNs 10/8
 * first). The jump must take effect before any RETURN for 10.0.0.0/8.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {XCC_CHAIN} from '../../../src/core/masquerade/daemonset.js'
import {type Cidr, cidr, cidrContainsIp, formatCidr, formatIp, ip} from '../../../src/core/net/ipv4.js'
import {seededRng} from '../../support/random.js'
import {type PodNode, applyIptables, decidePod, decisionSummary, postroutingRules, quoteArgs, restoreNoflush} from './nat-table.js'

const SCRIPT = readFileSync('templates/masquerade/xcc-masquerade.sh', 'utf8')
const POD_NAME = 'xcc-masquerade-7xk2p'
const JUMP_COMMENT = /^jump_comment="([^"]+)"$/m.exec(SCRIPT)?.[1] as string

const work = mkdtempSync(join(tmpdir(), 'xcc-masq-placement-'))
after(() => rmSync(work, {recursive: true, force: true}))

type Op = {readonly kind: 'restore'; readonly args: string; readonly text: string} | {readonly kind: 'ipt'; readonly args: string[]; readonly ok: boolean}

/**
 * Runs the script's `reconcile` once against `table` (as iptables-save prints it) and returns what
 * it asked iptables-restore and iptables to do. `-D` succeeds as many times as the table holds
 * the jump, as iptables would.
 */
function reconcileOnce(table: string, cidrs: readonly string[]): {ops: Op[]; stdout: string} {
  const body = SCRIPT.slice(0, SCRIPT.indexOf('trap cleanup'))
  assert.ok(body.includes('#@flavour\n') && body.includes('reconcile()'), 'the script has its #@flavour line and reconcile()')
  const fakes = [
    'ipt=fake_ipt; save=fake_save; restore=fake_restore',
    'fake_save() { cat "$XCC_TEST_DIR/table"; }',
    'fake_restore() { printf \'=== restore %s\\n\' "$*" >> "$XCC_TEST_DIR/log"; cat >> "$XCC_TEST_DIR/log"; }',
    'fake_ipt() {',
    '  rc=0',
    '  case " $* " in *" -D "*) n=$(cat "$XCC_TEST_DIR/jumps"); if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$XCC_TEST_DIR/jumps"; else rc=1; fi;; esac',
    '  printf \'=== ipt %s\\n\' "$rc" >> "$XCC_TEST_DIR/log"; for a in "$@"; do printf \'%s\\n\' "$a" >> "$XCC_TEST_DIR/log"; done',
    '  return "$rc"',
    '}',
    '',
  ].join('\n')
  const program = `${body.replace('#@flavour\n', fakes)}\nreconcile\n`
  writeFileSync(join(work, 'table'), table)
  writeFileSync(join(work, 'log'), '')
  writeFileSync(join(work, 'jumps'), String(postroutingRules(table).filter((r) => r.includes(JUMP_COMMENT)).length))
  const run = spawnSync('sh', ['-c', program], {env: {PATH: process.env.PATH ?? '/usr/bin:/bin', XCC_MASQ_CIDRS: cidrs.join(','), XCC_POD_NAME: POD_NAME, XCC_TEST_DIR: work}, encoding: 'utf8'})
  assert.equal(run.status, 0, `reconcile failed: ${run.stderr}`)
  const ops: Op[] = []
  for (const line of readFileSync(join(work, 'log'), 'utf8').split('\n')) {
    if (line.startsWith('=== restore')) ops.push({kind: 'restore', args: line.slice('=== restore '.length), text: ''})
    else if (line.startsWith('=== ipt ')) ops.push({kind: 'ipt', args: [], ok: line === '=== ipt 0'})
    else {
      const last = ops[ops.length - 1]
      if (!last) continue
      if (last.kind === 'restore') ops[ops.length - 1] = {...last, text: `${last.text}${line}\n`}
      else last.args.push(line)
    }
  }
  // the trailing newline of the log made one empty argument/line
  return {ops: ops.map((o) => (o.kind === 'ipt' && o.args[o.args.length - 1] === '' ? {...o, args: o.args.slice(0, -1)} : o)), stdout: run.stdout}
}

/** what the script installs: its reconcile's requests applied to the table */
function installXccMasq(table: string, cidrs: readonly string[]): {table: string; ops: Op[]} {
  const {ops} = reconcileOnce(table, cidrs)
  let out = table
  for (const op of ops) {
    if (op.kind === 'restore') {
      assert.equal(op.args, '--noflush')
      out = restoreNoflush(out, op.text)
    } else if (!op.ok) {
      continue
    } else if (op.args.includes('-D')) {
      const i = op.args.indexOf('-D')
      const rule = quoteArgs(op.args.slice(i + 2).filter((a) => a !== ''))
      const lines = out.split('\n')
      const at = lines.indexOf(`-A POSTROUTING ${rule}`)
      assert.ok(at >= 0, `-D of a rule the table does not hold: ${rule}`)
      lines.splice(at, 1)
      out = lines.join('\n')
    } else out = applyIptables(out, op.args)
  }
  return {table: out, ops}
}

const RETURN_FIRST = [
  '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
  '-A POSTROUTING -d 10.0.0.0/8 -j RETURN',
  '-A POSTROUTING -m addrtype ! --dst-type LOCAL -j MASQUERADE',
  'COMMIT', '',
].join('\n')

interface Fixture {
  readonly name: string
  readonly table: string
  readonly node: PodNode
  /** the decision for each peer destination before XCC-MASQ */
  readonly before: Readonly<Record<string, RegExp>>
}

const fixtures: Fixture[] = [
  {name: 'GKE node, IP-MASQ chain after KUBE-POSTROUTING (SNAT-11, gke-node.txt)', table: readFileSync('test/fixtures/iptables/gke-node.txt', 'utf8'), node: {address: ip('10.128.0.2'), podCidr: cidr('10.132.0.0/24')},
    before: {'10.193.0.3': /^kept \(return 10\.0\.0\.0\/8 in IP-MASQ/, '192.168.50.7': /^kept \(return 192\.168\.0\.0\/16 in IP-MASQ/}},
  {name: 'kubenet rule ! -d 10.0.0.0/8 MASQUERADE (SNAT-09, kubenet.txt)', table: readFileSync('test/fixtures/iptables/kubenet.txt', 'utf8'), node: {address: ip('10.209.0.2'), podCidr: cidr('10.132.0.0/24')},
    before: {'10.193.0.3': /^kept \(negated-masquerade 10\.0\.0\.0\/8 in POSTROUTING/, '192.168.50.7': /^masquerade by POSTROUTING/}},
  {name: 'upstream ip-masq-agent chain (SNAT-05, ip-masq-agent.txt)', table: readFileSync('test/fixtures/iptables/ip-masq-agent.txt', 'utf8'), node: {address: ip('10.209.0.2'), podCidr: cidr('10.132.0.0/24')},
    before: {'10.193.0.3': /^masquerade by IP-MASQ-AGENT/, '192.168.50.7': /^kept \(return 192\.168\.0\.0\/16 in IP-MASQ-AGENT/}},
  {name: 'POSTROUTING whose first rule RETURNs 10.0.0.0/8', table: RETURN_FIRST, node: {address: ip('10.209.0.2'), podCidr: cidr('10.132.0.0/24')},
    before: {'10.193.0.3': /^kept \(return 10\.0\.0\.0\/8 in POSTROUTING/, '192.168.50.7': /^masquerade by POSTROUTING/}},
]

const PEER_RANGES = ['10.193.0.0/16', '192.168.50.0/24']
const peer: Cidr[] = PEER_RANGES.map((c) => cidr(c))

describe('XCC-MASQ placement: the script\'s reconcile on real node tables (SNAT-09/11/14)', () => {
  it('the script asks for: the chain via iptables-restore --noflush (one MASQUERADE per range, the owner RETURN last), then the jump inserted at position 1', () => {
    const {ops} = reconcileOnce(RETURN_FIRST, PEER_RANGES)
    assert.equal(ops[0]?.kind, 'restore')
    assert.equal(ops[0]?.kind === 'restore' && ops[0].text, [
      '*nat',
      `:${XCC_CHAIN} - [0:0]`,
      `-A ${XCC_CHAIN} -d 10.193.0.0/16 -m comment --comment "xcc-masquerade: 10.193.0.0/16" -j MASQUERADE --random-fully`,
      `-A ${XCC_CHAIN} -d 192.168.50.0/24 -m comment --comment "xcc-masquerade: 192.168.50.0/24" -j MASQUERADE --random-fully`,
      `-A ${XCC_CHAIN} -m comment --comment "xcc-masquerade owner=${POD_NAME}" -j RETURN`,
      'COMMIT',
      '',
    ].join('\n'))
    const ipt = ops.filter((o) => o.kind === 'ipt').map((o) => (o.kind === 'ipt' ? o.args : []))
    // no jump to delete, then the insert at 1
    assert.deepEqual(ipt.map((a) => a.slice(0, 5)), [['-t', 'nat', '-D', 'POSTROUTING', '-m'], ['-t', 'nat', '-I', 'POSTROUTING', '1']])
    assert.deepEqual(ipt[1]?.slice(5), ['-m', 'comment', '--comment', JUMP_COMMENT, '-m', 'addrtype', '!', '--dst-type', 'LOCAL', '-j', XCC_CHAIN])
  })

  for (const f of fixtures) {
    describe(f.name, () => {
      const installed = installXccMasq(f.table, PEER_RANGES).table

      it('SNAT-14: the jump to XCC-MASQ is the first POSTROUTING rule; the rest of the table is untouched', () => {
        const rules = postroutingRules(installed)
        assert.equal(rules[0], quoteArgs(['-m', 'comment', '--comment', JUMP_COMMENT, '-m', 'addrtype', '!', '--dst-type', 'LOCAL', '-j', XCC_CHAIN]))
        assert.deepEqual(rules.slice(1), postroutingRules(f.table))
        const withoutXcc = installed.split('\n').filter((l) => !l.includes(XCC_CHAIN)).join('\n').replace(/\n+$/, '')
        assert.equal(withoutXcc, f.table.replace(/\n+$/, ''))
      })

      for (const [dst, before] of Object.entries(f.before)) {
        it(`SNAT-06/14: a pod packet to ${dst}: before ${before.source.replace(/\\/g, '')}, after masqueraded by the XCC-MASQ rule for its range`, () => {
          assert.match(decisionSummary(decidePod(f.table, f.node, ip(dst))), before)
          const d = decidePod(installed, f.node, ip(dst))
          assert.equal(d.kind, 'masquerade', decisionSummary(d))
          if (d.kind !== 'masquerade') return
          const range = peer.find((r) => cidrContainsIp(r, ip(dst))) as Cidr
          assert.equal(d.rule.chain, XCC_CHAIN)
          assert.ok(d.rule.text.includes(`-d ${formatCidr(range)} `), d.rule.text)
          assert.equal(d.after.src, f.node.address, 'the node address (MASQUERADE on the uplink)')
          assert.equal(d.rule.index, peer.indexOf(range) + 1)
        })
      }

      it('SNAT-06/14: every address of the ranges (first, last, random) is masqueraded after insertion', () => {
        const rng = seededRng(0x0c1)
        for (const r of peer) {
          const size = 2 ** (32 - r.prefix)
          for (const dst of [r.base, r.base + size - 1, ...Array.from({length: 10}, () => r.base + Math.floor(rng() * size))]) {
            const d = decidePod(installed, f.node, dst >>> 0)
            assert.equal(d.kind === 'masquerade' && d.rule.chain, XCC_CHAIN, `${formatIp(dst)}: ${decisionSummary(d)}`)
          }
        }
      })

      it('SNAT-14: destinations outside the ranges keep their previous decision (fixed and random, seeded)', () => {
        const rng = seededRng(0x0c2)
        const fixed = ['8.8.8.8', '10.194.255.255', '10.192.255.255', '10.132.1.5', '10.209.0.9', '169.254.169.254', '172.16.0.2', '192.168.49.255', '192.168.51.0', '35.199.192.1', '100.64.0.1', formatIp(f.node.address)]
        const random = Array.from({length: 80}, () => formatIp(Math.floor(rng() * 2 ** 32) >>> 0))
        // and random addresses near the ranges, in the 10/8 and 192.168/16 blocks
        const near = Array.from({length: 40}, () => formatIp(((rng() < 0.5 ? ip('10.0.0.0') : ip('192.168.0.0')) + Math.floor(rng() * 2 ** (rng() < 0.5 ? 24 : 16))) >>> 0))
        let checked = 0
        for (const dst of [...fixed, ...random, ...near]) {
          if (peer.some((r) => cidrContainsIp(r, ip(dst)))) continue
          checked++
          assert.equal(decisionSummary(decidePod(installed, f.node, ip(dst))), decisionSummary(decidePod(f.table, f.node, ip(dst))), dst)
        }
        assert.ok(checked > 100)
        assert.equal(decidePod(installed, f.node, f.node.address).kind, 'local')
      })

      it('idempotent: a second reconcile on the installed table asks for no iptables change and rewrites the same chain', () => {
        const again = reconcileOnce(installed, PEER_RANGES)
        assert.deepEqual(again.ops.filter((o) => o.kind === 'ipt'), [])
        assert.equal(installXccMasq(installed, PEER_RANGES).table, installed)
      })
    })
  }

  it('a jump that is no longer first (a rule was inserted before it) is deleted and put first again', () => {
    const installed = installXccMasq(RETURN_FIRST, PEER_RANGES).table
    const pushedDown = applyIptables(installed, ['-t', 'nat', '-I', 'POSTROUTING', '1', '-d', '10.0.0.0/8', '-m', 'comment', '--comment', 'someone else', '-j', 'RETURN'])
    assert.equal(decidePod(pushedDown, fixtures[3]!.node, ip('10.193.0.3')).kind, 'kept')
    const {table, ops} = installXccMasq(pushedDown, PEER_RANGES)
    assert.deepEqual(ops.filter((o) => o.kind === 'ipt').map((o) => (o.kind === 'ipt' ? o.args[2] : '')), ['-D', '-D', '-I'])
    assert.match(postroutingRules(table)[0] as string, new RegExp(`-j ${XCC_CHAIN}$`))
    assert.equal(postroutingRules(table).filter((r) => r.endsWith(`-j ${XCC_CHAIN}`)).length, 1)
    const d = decidePod(table, fixtures[3]!.node, ip('10.193.0.3'))
    assert.equal(d.kind === 'masquerade' && d.rule.chain, XCC_CHAIN)
  })

  it('changing the ranges replaces the chain (no stale range stays masqueraded)', () => {
    const first = installXccMasq(RETURN_FIRST, PEER_RANGES).table
    const second = installXccMasq(first, ['172.20.0.0/16']).table
    const node = fixtures[3]!.node
    assert.equal(decisionSummary(decidePod(second, node, ip('10.193.0.3'))), decisionSummary(decidePod(RETURN_FIRST, node, ip('10.193.0.3'))))
    const d = decidePod(second, node, ip('172.20.1.1'))
    assert.equal(d.kind === 'masquerade' && d.rule.chain, XCC_CHAIN)
    assert.equal(second.split('\n').filter((l) => l.startsWith(`-A ${XCC_CHAIN} `)).length, 2)
  })
})
