/**
 * src/core/masquerade/agent-edit.ts: `xcc masquerade` editing kube-system/ip-masq-agent.
 * SNAT-03 (writing a list replaces the defaults, so the first edit writes them explicitly),
 * SNAT-04 (a config the agent would reject is never written), SNAT-06 (a listed block holding
 * the range is split so only the range is masqueraded), SNAT-12 (GKE's default list), and the
 * bookkeeping that makes `remove` restore the ConfigMap exactly.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'

import {dump} from 'js-yaml'

import {XccError} from '../../../src/core/errors.js'
import {type AgentFlags, GKE_AGENT_FLAGS, defaultAgentConfig, parseAgentConfig, validateAgentConfig} from '../../../src/core/topology/ip-masq-agent.js'
import {type AgentEdit, ORIGINAL_ANNOTATION, planAgentAdd, planAgentRemove} from '../../../src/core/masquerade/agent-edit.js'
import {CIDRS_ANNOTATION} from '../../../src/core/masquerade/daemonset.js'
import {type Cidr, cidr, cidrContains, cidrContainsIp, cidrsOverlap, formatCidr, formatIp, maskOf, sizeOf} from '../../../src/core/net/ipv4.js'
import type {KubeConfigMap} from '../../../src/core/ports/kube.js'
import {seededRng} from '../../support/random.js'
import {assertBadInput} from '../../support/xcc-error.js'

const UPSTREAM: AgentFlags = {masqChain: 'IP-MASQ-AGENT', nomasqAllReservedRanges: false}
const GKE_DEFAULT_LIST = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4']
const PEER = cidr('10.193.0.0/16')

function configMap(config: string | undefined, meta: Partial<KubeConfigMap['metadata']> = {}, data: Record<string, string> = {}): KubeConfigMap {
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: {name: 'ip-masq-agent', namespace: 'kube-system', resourceVersion: '4711', ...meta},
    data: {...data, ...(config === undefined ? {} : {config})},
  }
}

const add = (configMap: KubeConfigMap | undefined, ranges: readonly string[], options: {flags?: AgentFlags; force?: boolean} = {}): AgentEdit =>
  planAgentAdd({...(configMap ? {configMap} : {}), flags: options.flags ?? GKE_AGENT_FLAGS, force: options.force ?? false}, ranges.map((r) => cidr(r)))
const remove = (configMap: KubeConfigMap | undefined, ranges: readonly string[] | 'all', flags: AgentFlags = GKE_AGENT_FLAGS): AgentEdit =>
  planAgentRemove({...(configMap ? {configMap} : {}), flags, force: false}, ranges === 'all' ? 'all' : ranges.map((r) => cidr(r)))

function listOf(edit: AgentEdit, flags: AgentFlags = GKE_AGENT_FLAGS): string[] {
  const r = parseAgentConfig(edit.after?.data?.config, flags)
  if (!r.ok) assert.fail(r.error)
  assert.deepEqual(validateAgentConfig(r.config, flags), [], 'xcc writes only configs the agent accepts (SNAT-04)')
  return [...r.config.nonMasqueradeCIDRs]
}

const inAny = (ranges: readonly Cidr[], address: number) => ranges.some((r) => cidrContainsIp(r, address))

/** SNAT-06 membership: after the edit, exactly the old list's addresses minus the managed ranges stay unmasqueraded */
function assertMembership(before: readonly string[], after: readonly string[], managed: readonly string[], seed: number): void {
  const b = before.map((c) => cidr(c))
  const a = after.map((c) => cidr(c))
  const m = managed.map((c) => cidr(c))
  const rng = seededRng(seed)
  const probes: number[] = []
  for (const r of [...b, ...m]) {
    probes.push(r.base, (r.base + sizeOf(r) - 1) >>> 0)
    for (let k = 0; k < 8; k++) probes.push((r.base + Math.floor(rng() * sizeOf(r))) >>> 0)
  }
  for (let k = 0; k < 200; k++) probes.push(Math.floor(rng() * 2 ** 32) >>> 0)
  for (const p of probes) assert.equal(inAny(a, p), inAny(b, p) && !inAny(m, p), `${formatIp(p)}: before ${before.join(',')} after ${after.join(',')} managed ${managed.join(',')}`)
}

describe('planAgentAdd on a cluster without the ConfigMap (GKE agent: SNAT-12 defaults)', () => {
  const edit = add(undefined, ['10.193.0.0/16'])

  it('SNAT-03: creates the ConfigMap with the full GKE default list minus the range (the list would otherwise replace the defaults)', () => {
    assert.equal(edit.changed, true)
    assert.equal(edit.before, undefined)
    assert.deepEqual(edit.cidrs, ['10.193.0.0/16'])
    assert.deepEqual(edit.alreadyMasqueraded, [])
    const list = listOf(edit)
    // the pieces of 10/8 stand where 10/8 stood; the rest of the default list follows unchanged
    const pieces = list.filter((c) => cidrContains(cidr('10.0.0.0/8'), cidr(c)))
    assert.deepEqual(list.slice(pieces.length), GKE_DEFAULT_LIST.slice(1))
    assert.deepEqual(list.slice(0, pieces.length), pieces)
  })

  it('SNAT-06: the 10.0.0.0/8 pieces exactly cover 10/8 minus 10.193.0.0/16 (arithmetic: disjoint, inside, sizes sum, hole untouched, minimal)', () => {
    const pieces = listOf(edit).map((c) => cidr(c)).filter((c) => cidrContains(cidr('10.0.0.0/8'), c))
    for (const [i, p] of pieces.entries()) {
      assert.equal(p.base & ~maskOf(p.prefix), 0, `${formatCidr(p)} is a network address`)
      assert.equal(cidrsOverlap(p, PEER), false, `${formatCidr(p)} must not hold any of 10.193.0.0/16`)
      for (const q of pieces.slice(i + 1)) assert.equal(cidrsOverlap(p, q), false, `${formatCidr(p)} and ${formatCidr(q)} overlap`)
    }
    assert.equal(pieces.reduce((sum, p) => sum + sizeOf(p), 0), 2 ** 24 - 2 ** 16)
    // one piece per prefix length /9…/16: the fewest CIDRs that can express the difference
    assert.deepEqual(pieces.map((p) => p.prefix).sort((x, y) => x - y), [9, 10, 11, 12, 13, 14, 15, 16])
    // in address order
    assert.deepEqual(pieces, [...pieces].sort((x, y) => x.base - y.base))
  })

  it('SNAT-06: for any destination, pod IP is kept exactly when the defaults kept it and it is not in 10.193.0.0/16', () => {
    assertMembership(GKE_DEFAULT_LIST, listOf(edit), ['10.193.0.0/16'], 1)
  })

  it('bookkeeping: label managed-by xcc, the ranges and "did not exist" in annotations, only the config key', () => {
    const meta = edit.after?.metadata
    assert.equal(meta?.name, 'ip-masq-agent')
    assert.equal(meta?.namespace, 'kube-system')
    assert.deepEqual(meta?.labels, {'app.kubernetes.io/managed-by': 'xcc'})
    assert.deepEqual(meta?.annotations, {[CIDRS_ANNOTATION]: '10.193.0.0/16', [ORIGINAL_ANNOTATION]: '{"existed":false}'})
    assert.deepEqual(Object.keys(edit.after?.data ?? {}), ['config'])
    assert.equal(edit.after?.kind, 'ConfigMap')
  })

  it('SNAT-02/07: an upstream agent (no --nomasq-all-reserved-ranges) starts from the RFC 1918 list', () => {
    const upstream = add(undefined, ['10.193.0.0/16'], {flags: UPSTREAM})
    const list = listOf(upstream, UPSTREAM)
    assert.deepEqual(list.slice(-2), ['172.16.0.0/12', '192.168.0.0/16'])
    assert.equal(list.length, 10)
    assertMembership(defaultAgentConfig(UPSTREAM).nonMasqueradeCIDRs, list, ['10.193.0.0/16'], 2)
  })

  it('the ranges are kept in the order given; several ranges in one block and in different blocks', () => {
    const e = add(undefined, ['192.168.50.0/24', '10.193.0.0/16', '172.20.0.0/16'])
    assert.deepEqual(e.cidrs, ['192.168.50.0/24', '10.193.0.0/16', '172.20.0.0/16'])
    assertMembership(GKE_DEFAULT_LIST, listOf(e), e.cidrs, 3)
    assert.equal(e.after?.metadata.annotations?.[CIDRS_ANNOTATION], '192.168.50.0/24,10.193.0.0/16,172.20.0.0/16')
  })

  it('a range holding a whole listed block removes the block (192.168.0.0/16) and one wider than a block removes it and needs nothing else (10.0.0.0/7)', () => {
    const whole = add(undefined, ['192.168.0.0/16'])
    assert.deepEqual(listOf(whole), GKE_DEFAULT_LIST.filter((c) => c !== '192.168.0.0/16'))
    const wider = add(undefined, ['10.0.0.0/7'])
    assert.deepEqual(listOf(wider), GKE_DEFAULT_LIST.slice(1))
    assert.deepEqual(wider.cidrs, ['10.0.0.0/7'])
  })
})

describe('SNAT-03/06 random edits (seeded): membership, limit, already-masqueraded', () => {
  const rng = seededRng(0xed17)
  const bases: Array<[string, KubeConfigMap | undefined, readonly string[]]> = [
    ['no ConfigMap (GKE defaults)', undefined, GKE_DEFAULT_LIST],
    ['explicit list', configMap('nonMasqueradeCIDRs: [10.132.0.0/14, 10.209.0.0/16, 192.168.0.0/16, 172.16.0.0/12]\nmasqLinkLocal: false\n'), ['10.132.0.0/14', '10.209.0.0/16', '192.168.0.0/16', '172.16.0.0/12']],
    ['only resyncInterval (defaults kept, SNAT-03)', configMap('resyncInterval: 30s\n'), GKE_DEFAULT_LIST],
  ]
  for (const [name, cm, original] of bases) {
    it(`SNAT-06 ${name}: 150 random range sets`, () => {
      const listed = original.map((c) => cidr(c))
      let succeeded = 0
      let limited = 0
      for (let n = 0; n < 150; n++) {
        const ranges: Cidr[] = []
        const count = 1 + Math.floor(rng() * 6)
        for (let k = 0; k < count; k++) {
          // mostly long prefixes: they split the most and reach cidrLimit
          const prefix = 30 - Math.floor(rng() * rng() * 25)
          const inside = rng() < 0.75 ? listed[Math.floor(rng() * listed.length)] : undefined
          const seed = inside ? (inside.base + Math.floor(rng() * sizeOf(inside))) >>> 0 : Math.floor(rng() * 2 ** 32) >>> 0
          const c = {base: (seed & maskOf(prefix)) >>> 0, prefix}
          if (cidrsOverlap(c, cidr('169.254.0.0/16')) || ranges.some((r) => cidrsOverlap(r, c))) continue
          ranges.push(c)
        }
        const texts = ranges.map(formatCidr)
        let edit: AgentEdit
        try {
          edit = add(cm, texts)
        } catch (error) {
          assert.ok(error instanceof XccError, String(error))
          assert.match(error.message, /SNAT-04/)
          assert.match(error.message, /more than cidrLimit 64/)
          limited++
          continue
        }
        succeeded++
        const expectedManaged = texts.filter((t) => listed.some((l) => cidrsOverlap(l, cidr(t))))
        assert.deepEqual(edit.cidrs, expectedManaged)
        assert.deepEqual(edit.alreadyMasqueraded, texts.filter((t) => !expectedManaged.includes(t)))
        if (expectedManaged.length === 0) {
          assert.equal(edit.changed, false)
          if (cm) assert.equal(edit.after?.data?.config, cm.data?.config)
          continue
        }
        assert.equal(edit.changed, true)
        const list = listOf(edit)
        assert.ok(list.length <= 64)
        assertMembership(original, list, expectedManaged, n)
        // the same request again changes nothing
        assert.equal(add(edit.after, texts).changed, false)
      }
      assert.ok(succeeded > 50 && limited > 0, `${succeeded} succeeded, ${limited} refused: the generator should exercise both`)
    })
  }
})

describe('planAgentAdd on an existing ConfigMap', () => {
  const text = 'nonMasqueradeCIDRs:\n  - 192.168.0.0/16\n  - 10.0.0.0/8\n  - 172.16.0.0/12\nmasqLinkLocal: true\nresyncInterval: 30s\nfutureField: {a: 1}\n'
  const cm = configMap(text, {labels: {team: 'net'}, annotations: {'kubectl.kubernetes.io/last-applied-configuration': '{}'}}, {other: 'kept'})

  it('SNAT-03: the other fields (masqLinkLocal, resyncInterval, an unknown field) are kept with their spelling and order; the list keeps its order', () => {
    const edit = add(cm, ['10.193.0.0/16'])
    const r = parseAgentConfig(edit.after?.data?.config, GKE_AGENT_FLAGS)
    assert.ok(r.ok)
    if (!r.ok) return
    assert.deepEqual(Object.keys(r.fields), ['nonMasqueradeCIDRs', 'masqLinkLocal', 'resyncInterval', 'futureField'])
    assert.equal(r.config.masqLinkLocal, true)
    assert.equal(r.config.resyncInterval, '30s')
    assert.deepEqual(r.fields.futureField, {a: 1})
    const list = r.config.nonMasqueradeCIDRs
    assert.equal(list[0], '192.168.0.0/16')
    assert.equal(list[list.length - 1], '172.16.0.0/12')
    assert.ok(list.slice(1, -1).every((c) => cidrContains(cidr('10.0.0.0/8'), cidr(c))))
    assertMembership(['192.168.0.0/16', '10.0.0.0/8', '172.16.0.0/12'], list, ['10.193.0.0/16'], 4)
  })

  it('metadata and other data keys are kept (resourceVersion for the optimistic replace, labels, annotations)', () => {
    const edit = add(cm, ['10.193.0.0/16'])
    assert.equal(edit.before, cm)
    assert.equal(edit.after?.metadata.resourceVersion, '4711')
    assert.deepEqual(edit.after?.metadata.labels, {team: 'net'})
    assert.equal(edit.after?.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], '{}')
    assert.equal(edit.after?.metadata.annotations?.[CIDRS_ANNOTATION], '10.193.0.0/16')
    assert.deepEqual(JSON.parse(edit.after?.metadata.annotations?.[ORIGINAL_ANNOTATION] ?? ''), {existed: true, config: text})
    assert.equal(edit.after?.data?.other, 'kept')
  })

  it('SNAT-01: a JSON config stays JSON (with its other fields)', () => {
    const json = configMap('{"nonMasqueradeCIDRs": ["10.0.0.0/8", "192.168.0.0/16"], "resyncInterval": "10s", "cidrLimit": 20}')
    const edit = add(json, ['10.193.0.0/16'])
    const parsed = JSON.parse(edit.after?.data?.config ?? '') as Record<string, unknown>
    assert.deepEqual(Object.keys(parsed), ['nonMasqueradeCIDRs', 'resyncInterval', 'cidrLimit'])
    assert.equal(parsed.resyncInterval, '10s')
    assert.equal(parsed.cidrLimit, 20)
    assertMembership(['10.0.0.0/8', '192.168.0.0/16'], parsed.nonMasqueradeCIDRs as string[], ['10.193.0.0/16'], 5)
  })

  it('SNAT-03: a config without the list (only resyncInterval) gets the default list written explicitly, minus the range', () => {
    const edit = add(configMap('resyncInterval: 30s\n'), ['10.193.0.0/16'])
    assert.match(edit.after?.data?.config ?? '', /^nonMasqueradeCIDRs:\n/)
    assert.match(edit.after?.data?.config ?? '', /\nresyncInterval: 30s\n$/)
    assertMembership(GKE_DEFAULT_LIST, listOf(edit), ['10.193.0.0/16'], 6)
  })

  it('adding the same range twice: the second time changes nothing', () => {
    for (const start of [undefined, cm, configMap('{"nonMasqueradeCIDRs": ["10.0.0.0/8"]}')]) {
      const first = add(start, ['10.193.0.0/16'])
      const second = add(first.after, ['10.193.0.0/16'])
      assert.equal(second.changed, false)
      assert.deepEqual(second.after, first.after)
      assert.deepEqual(second.cidrs, ['10.193.0.0/16'])
    }
  })

  it('add A, then B, then remove A equals adding B only (config, annotations, metadata)', () => {
    for (const start of [undefined, cm, configMap('{"nonMasqueradeCIDRs": ["10.0.0.0/8"], "resyncInterval": "10s"}', {annotations: {keep: 'me'}})]) {
      const a = add(start, ['10.193.0.0/16'])
      const ab = add(a.after, ['10.50.0.0/16'])
      assert.deepEqual(ab.cidrs, ['10.193.0.0/16', '10.50.0.0/16'])
      const b = remove(ab.after, ['10.193.0.0/16'])
      const bOnly = add(start, ['10.50.0.0/16'])
      assert.deepEqual(b.after, bOnly.after)
      assert.deepEqual(b.cidrs, ['10.50.0.0/16'])
      assert.equal(b.changed, true)
    }
  })

  it('SNAT-06: a range no listed block holds is already masqueraded: no change, reported', () => {
    const edit = add(cm, ['35.199.192.0/19'])
    assert.equal(edit.changed, false)
    assert.deepEqual(edit.cidrs, [])
    assert.deepEqual(edit.alreadyMasqueraded, ['35.199.192.0/19'])
    assert.equal(edit.after?.data?.config, text)
    const none = add(undefined, ['35.199.192.0/19'])
    assert.equal(none.changed, false)
    assert.equal(none.after, undefined)
    assert.deepEqual(none.alreadyMasqueraded, ['35.199.192.0/19'])
    const mixed = add(undefined, ['35.199.192.0/19', '10.193.0.0/16'])
    assert.deepEqual(mixed.cidrs, ['10.193.0.0/16'])
    assert.deepEqual(mixed.alreadyMasqueraded, ['35.199.192.0/19'])
  })

  it('SNAT-04: a cidrLimit exceeded after splitting is refused (XccError, nothing returned), naming the count and the limit', () => {
    // 11 defaults − 10/8 + 8 pieces = 18 > 12
    const limited = configMap('cidrLimit: 12\n')
    const e = assertBadInput(() => add(limited, ['10.193.0.0/16']), /would reject/, /SNAT-04/, /18 CIDRs, more than cidrLimit 12/)
    assert.match(e.hint ?? '', /cidrLimit/)
    // 17 fits a limit of 17; two ranges that each fit can exceed together
    const seventeen = configMap('cidrLimit: 17\nnonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]\n')
    assert.equal(listOf(add(seventeen, ['10.193.0.0/16'])).length, 10)
    assert.equal(listOf(add(seventeen, ['172.20.0.0/24'])).length, 14)
    assertBadInput(() => add(seventeen, ['10.193.0.0/16', '172.20.0.0/24']), /21 CIDRs, more than cidrLimit 17/)
  })

  it('SNAT-04: an invalid current config is refused with exit 2 (the agent ignores it; xcc does not build on it)', () => {
    assertBadInput(() => add(configMap('nonMasqueradeCIDRs: ['), ['10.193.0.0/16']), /ConfigMap kube-system\/ip-masq-agent key "config"/, /invalid/, /not valid YAML or JSON/)
    assertBadInput(() => add(configMap('masqLinkLocal: "no"'), ['10.193.0.0/16']), /masqLinkLocal must be true or false/)
    assertBadInput(() => add(configMap('- 10.0.0.0/8'), ['10.193.0.0/16']), /must be a mapping/)
  })

  it('SNAT-04: the current config is invalid after xcc edited it (someone broke it): refused', () => {
    const first = add(cm, ['10.193.0.0/16'])
    const broken = {...first.after!, data: {...first.after!.data, config: 'nonMasqueradeCIDRs: [\n'}}
    assertBadInput(() => add(broken, ['10.50.0.0/16']), /invalid/)
    assertBadInput(() => remove(broken, 'all'), /invalid/)
  })

  it('SNAT-06: link-local destinations are refused while masqLinkLocal is false; with masqLinkLocal true they are masqueraded already', () => {
    for (const r of ['169.254.0.0/16', '169.254.169.254/32', '169.0.0.0/8']) {
      assertBadInput(() => add(undefined, [r]), new RegExp(`--cidr ${r.replace(/\./g, '\\.')}`), /link-local/, /masqLinkLocal: false/)
    }
    const edit = add(configMap('masqLinkLocal: true\n'), ['169.254.169.254/32'])
    assert.deepEqual(edit.alreadyMasqueraded, ['169.254.169.254/32'])
    assert.equal(edit.changed, false)
  })

  it('the list edited by someone after xcc: refused unless --force, which takes the ConfigMap as it is now as the state to restore', () => {
    const first = add(cm, ['10.193.0.0/16'])
    const editedText = (first.after?.data?.config ?? '').replace('  - 172.16.0.0/12\n', '  - 172.16.0.0/12\n  - 100.64.0.0/10\n')
    assert.notEqual(editedText, first.after?.data?.config)
    const edited = {...first.after!, data: {...first.after!.data, config: editedText}}
    assertBadInput(() => add(edited, ['10.50.0.0/16']), /edited after xcc masqueraded 10\.193\.0\.0\/16/)
    assertBadInput(() => remove(edited, ['10.193.0.0/16']), /edited after xcc/)
    const forced = add(edited, ['10.50.0.0/16'], {force: true})
    assert.deepEqual(forced.cidrs, ['10.50.0.0/16'])
    assert.deepEqual(JSON.parse(forced.after?.metadata.annotations?.[ORIGINAL_ANNOTATION] ?? ''), {existed: true, config: editedText})
    const editedList = parseAgentConfig(editedText, GKE_AGENT_FLAGS)
    assert.ok(editedList.ok)
    if (editedList.ok) assertMembership(editedList.config.nonMasqueradeCIDRs, listOf(forced), ['10.50.0.0/16'], 7)
  })

  it('an original annotation that is not what xcc wrote is refused (hint: --force)', () => {
    const first = add(cm, ['10.193.0.0/16'])
    for (const bad of ['not json', '{"existed":"yes"}', '{"existed":true,"config":5}']) {
      const tampered = {...first.after!, metadata: {...first.after!.metadata, annotations: {...first.after!.metadata.annotations, [ORIGINAL_ANNOTATION]: bad}}}
      const e = assertBadInput(() => add(tampered, ['10.50.0.0/16']), new RegExp(ORIGINAL_ANNOTATION.replace(/\./g, '\\.')))
      assert.match(e.hint ?? '', /--force/)
    }
  })
})

describe('planAgentRemove', () => {
  it('remove --all deletes a ConfigMap xcc created', () => {
    const created = add(undefined, ['10.193.0.0/16', '172.20.0.0/16'])
    const removed = remove(created.after, 'all')
    assert.equal(removed.changed, true)
    assert.equal(removed.after, undefined)
    assert.equal(removed.before, created.after)
    assert.deepEqual(removed.cidrs, [])
    // removing each range one by one ends the same way
    const one = remove(created.after, ['10.193.0.0/16'])
    assert.deepEqual(one.cidrs, ['172.20.0.0/16'])
    const two = remove(one.after, ['172.20.0.0/16'])
    assert.equal(two.after, undefined)
    assert.equal(two.changed, true)
  })

  it('remove --all restores exactly the original config text (byte-equal: comments, quoting, layout) and the other keys', () => {
    const originals = [
      '# managed by the platform team\nnonMasqueradeCIDRs:\n- "10.0.0.0/8"   # RFC 1918\n- 192.168.0.0/16\nresyncInterval: "60s"\n',
      '{ "nonMasqueradeCIDRs" : [ "10.0.0.0/8" ], "masqLinkLocal": true }',
      'resyncInterval: 30s   # no list: the defaults\n',
      '',
    ]
    for (const original of originals) {
      const cm = configMap(original, {annotations: {'team': 'net'}}, {other: 'x'})
      const added = add(cm, ['10.193.0.0/16'])
      assert.equal(added.changed, true, original)
      const restored = remove(added.after, 'all')
      assert.equal(restored.after?.data?.config, original, JSON.stringify(original))
      assert.equal(restored.after?.data?.other, 'x')
      assert.deepEqual(restored.after?.metadata.annotations, {team: 'net'})
      assert.deepEqual(restored.cidrs, [])
      assert.equal(restored.changed, true)
    }
  })

  it('remove --all on a ConfigMap without annotations of its own drops xcc\'s bookkeeping annotations (else xcc would still claim the range)', () => {
    const cm = configMap('nonMasqueradeCIDRs: [10.0.0.0/8, 192.168.0.0/16]\n')
    const added = add(cm, ['10.193.0.0/16'])
    const restored = remove(added.after, 'all')
    assert.equal(restored.after?.data?.config, cm.data?.config)
    const annotations = restored.after?.metadata.annotations ?? {}
    assert.equal(annotations[CIDRS_ANNOTATION], undefined, `still annotated: ${JSON.stringify(annotations)}`)
    assert.equal(annotations[ORIGINAL_ANNOTATION], undefined)
    // and then a second remove --all has nothing to do
    assert.equal(remove(restored.after, 'all').changed, false)
  })

  it('remove --all on a ConfigMap that had no config key removes the key again', () => {
    const cm = configMap(undefined, {annotations: {team: 'net'}}, {other: 'x'})
    const added = add(cm, ['10.193.0.0/16'])
    const restored = remove(added.after, 'all')
    assert.deepEqual(restored.after?.data, {other: 'x'})
  })

  it('edits of the other fields made after xcc survive remove --all (the list goes back to the original)', () => {
    const cm = configMap('resyncInterval: 30s\n', {annotations: {team: 'net'}})
    const added = add(cm, ['10.193.0.0/16'])
    const later = {...added.after!, data: {config: (added.after?.data?.config ?? '').replace('resyncInterval: 30s', 'resyncInterval: 10s')}}
    const restored = remove(later, 'all')
    const r = parseAgentConfig(restored.after?.data?.config, GKE_AGENT_FLAGS)
    assert.ok(r.ok)
    if (!r.ok) return
    assert.equal(r.config.resyncInterval, '10s')
    // SNAT-03: the original had no list, so the restored config has none either (defaults again)
    assert.ok(!('nonMasqueradeCIDRs' in r.fields))
    assert.deepEqual(r.config.nonMasqueradeCIDRs, GKE_DEFAULT_LIST)
  })

  it('remove of a range xcc does not manage is refused naming it and what xcc manages', () => {
    const added = add(undefined, ['10.193.0.0/16'])
    assertBadInput(() => remove(added.after, ['10.50.0.0/16']), /--cidr 10\.50\.0\.0\/16: not masqueraded by xcc/, /xcc manages 10\.193\.0\.0\/16/)
    assertBadInput(() => remove(added.after, ['10.193.0.0/17']), /10\.193\.0\.0\/17/)
    assertBadInput(() => remove(configMap('resyncInterval: 30s\n'), ['10.193.0.0/16']), /xcc manages no ranges there/)
    assertBadInput(() => remove(undefined, ['10.193.0.0/16']), /xcc manages no ranges there/)
  })

  it('remove --all where xcc manages nothing changes nothing', () => {
    const cm = configMap('resyncInterval: 30s\n')
    const r = remove(cm, 'all')
    assert.equal(r.changed, false)
    assert.equal(r.after, cm)
    assert.equal(remove(undefined, 'all').changed, false)
  })
})

describe('planAgentRemove on a list edited since xcc wrote it', () => {
  const forced = (cm: KubeConfigMap, ranges: readonly string[] | 'all'): AgentEdit =>
    planAgentRemove({configMap: cm, flags: GKE_AGENT_FLAGS, force: true}, ranges === 'all' ? 'all' : ranges.map((r) => cidr(r)))
  /** xcc masquerades 10.193.0.0/16 and 10.194.0.0/16, then someone drops 172.16.0.0/12 from the list by hand */
  const edited = (): KubeConfigMap => {
    const after = add(configMap('nonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12]\n'), ['10.193.0.0/16', '10.194.0.0/16']).after as KubeConfigMap
    const list = listOf({after, changed: true, cidrs: [], alreadyMasqueraded: []}).filter((c) => c !== '172.16.0.0/12')
    return {...after, data: {config: dump({nonMasqueradeCIDRs: list})}}
  }

  it('is refused without --force, naming the ranges and saying what --force does', () => {
    assert.throws(() => remove(edited(), 'all'), (e: XccError) => /was edited after xcc masqueraded 10\.193\.0\.0\/16,10\.194\.0\.0\/16/.test(e.message) && /--force/.test(e.hint ?? ''))
  })

  it('--force gives the removed ranges back to the list as it is now and keeps the hand edit (SNAT-06 membership)', () => {
    const cm = edited()
    const before = listOf({after: cm, changed: true, cidrs: [], alreadyMasqueraded: []})
    const r = forced(cm, 'all')
    assert.deepEqual(r.cidrs, [])
    const after = listOf(r)
    assertMembership([...before, '10.193.0.0/16', '10.194.0.0/16'], after, [], 7)
    assert.ok(!inAny(after.map((c) => cidr(c)), 0xac100001), 'the hand edit (172.16/12 masqueraded) stays')
    assert.equal(r.after?.metadata.annotations?.[ORIGINAL_ANNOTATION], undefined, 'nothing is managed any more: no bookkeeping left')
  })

  it('--force on one range keeps the other managed, and a later plain remove of it restores the list without it', () => {
    const r = forced(edited(), ['10.193.0.0/16'])
    assert.deepEqual(r.cidrs, ['10.194.0.0/16'])
    const after = r.after as KubeConfigMap
    assert.ok(inAny(listOf(r).map((c) => cidr(c)), 0x0ac10001), '10.193.0.1 is unmasqueraded again')
    assert.ok(!inAny(listOf(r).map((c) => cidr(c)), 0x0ac20001), '10.194.0.1 is still masqueraded')
    const rest = remove({...after, metadata: {...after.metadata, resourceVersion: '4712'}}, 'all')
    assert.ok(inAny(listOf(rest).map((c) => cidr(c)), 0x0ac20001), 'then 10.194.0.1 is unmasqueraded again too')
    assert.ok(!inAny(listOf(rest).map((c) => cidr(c)), 0xac100001), 'and the hand edit still stands')
  })
})

describe('regressions (src/core/masquerade/agent-edit.ts)', () => {
  it('SNAT-04: a current list entry the agent rejects (10.0.0.1/8, "banana") must be an XccError (exit 2), not a crash', () => {
    for (const entry of ['10.0.0.1/8', 'banana']) {
      assertBadInput(() => add(configMap(`nonMasqueradeCIDRs: [${entry}, 192.168.0.0/16]\n`), ['10.193.0.0/16']), new RegExp(entry.replace(/\./g, '\\.')))
    }
  })
})
