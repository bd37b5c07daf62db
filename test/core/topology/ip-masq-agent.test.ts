/**
 * src/core/masquerade/agent-config.ts: the ip-masq-agent's config as the Go agent reads it
 * (gcp-network-semantics.md §1.1): SNAT-01 (YAML or JSON), SNAT-02 defaults, SNAT-03 overlay,
 * SNAT-04 validation, SNAT-05 the rendered chain, SNAT-06 the decision (checked by running the
 * rendered chain through the repo's iptables evaluator), SNAT-07 the agent's flags.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import {JSON_SCHEMA, dump} from 'js-yaml'

import {
  type AgentConfig, type AgentFlags, GKE_AGENT_FLAGS, RESERVED_RANGES, UPSTREAM_DEFAULT_NON_MASQUERADE,
  agentFlagsFromArgs, agentJumpRule, defaultAgentConfig, goDurationMs, nonMasqueradeRanges, parseAgentConfig, renderAgentChain, validateAgentConfig,
} from '../../../src/core/topology/ip-masq-agent.js'
import {type Cidr, cidr, cidrContainsIp, formatCidr, formatIp, ip, maskOf} from '../../../src/core/net/ipv4.js'
import {seededRng} from '../../support/random.js'
import {decidePod, quoteArgs} from '../masquerade/nat-table.js'

const UPSTREAM: AgentFlags = {masqChain: 'IP-MASQ-AGENT', nomasqAllReservedRanges: false}
/** SNAT-12: the GKE default non-masquerade destinations, in the agent's order */
const GKE_DEFAULT_LIST = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4']

function ok(text: string | undefined, flags: AgentFlags = GKE_AGENT_FLAGS) {
  const r = parseAgentConfig(text, flags)
  if (!r.ok) assert.fail(`expected ${JSON.stringify(text)} to parse, got: ${r.error}`)
  return r
}

function fails(text: string, pattern: RegExp, flags: AgentFlags = GKE_AGENT_FLAGS): void {
  const r = parseAgentConfig(text, flags)
  assert.equal(r.ok, false, `expected ${JSON.stringify(text)} to be rejected`)
  if (!r.ok) assert.match(r.error, pattern)
}

describe('SNAT-02 defaults', () => {
  it('SNAT-02: the upstream default list is RFC 1918; --nomasq-all-reserved-ranges adds the reserved ranges in the agent order (= the SNAT-12 GKE list)', () => {
    assert.deepEqual([...UPSTREAM_DEFAULT_NON_MASQUERADE], ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'])
    assert.deepEqual(defaultAgentConfig(UPSTREAM).nonMasqueradeCIDRs, ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'])
    assert.deepEqual(defaultAgentConfig(GKE_AGENT_FLAGS).nonMasqueradeCIDRs, GKE_DEFAULT_LIST)
    assert.deepEqual([...RESERVED_RANGES], GKE_DEFAULT_LIST.slice(3))
    assert.deepEqual(defaultAgentConfig(UPSTREAM), {nonMasqueradeCIDRs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], cidrLimit: 64, masqLinkLocal: false, masqLinkLocalIPv6: false, resyncInterval: '60s'})
  })

  it('SNAT-12: GKE runs the agent with --masq-chain=IP-MASQ --nomasq-all-reserved-ranges', () => {
    assert.equal(GKE_AGENT_FLAGS.masqChain, 'IP-MASQ')
    assert.equal(GKE_AGENT_FLAGS.nomasqAllReservedRanges, true)
  })
})

describe('SNAT-01/SNAT-03 parseAgentConfig: the file laid over the defaults', () => {
  for (const [name, flags, list] of [['upstream', UPSTREAM, ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']], ['--nomasq-all-reserved-ranges', GKE_AGENT_FLAGS, GKE_DEFAULT_LIST]] as const) {
    it(`SNAT-03 (${name}): no file, an empty file, or a file without nonMasqueradeCIDRs keeps the default list`, () => {
      assert.deepEqual(ok(undefined, flags).config, defaultAgentConfig(flags))
      assert.deepEqual(ok(undefined, flags).fields, {})
      assert.deepEqual(ok('', flags).config, defaultAgentConfig(flags))
      assert.deepEqual(ok('# only a comment\n', flags).config, defaultAgentConfig(flags))
      const r = ok('resyncInterval: 30s\n', flags)
      assert.deepEqual(r.config.nonMasqueradeCIDRs, list)
      assert.equal(r.config.resyncInterval, '30s')
      assert.deepEqual(ok('{"masqLinkLocal": true}', flags).config, {...defaultAgentConfig(flags), masqLinkLocal: true})
    })
  }

  it('SNAT-03: nonMasqueradeCIDRs: [] replaces the list with an empty one (YAML and JSON)', () => {
    assert.deepEqual(ok('nonMasqueradeCIDRs: []\n').config.nonMasqueradeCIDRs, [])
    assert.deepEqual(ok('{"nonMasqueradeCIDRs": []}').config.nonMasqueradeCIDRs, [])
    // and then only link-local is kept unmasqueraded (SNAT-03/06)
    assert.deepEqual(nonMasqueradeRanges(ok('nonMasqueradeCIDRs: []').config).map(formatCidr), ['169.254.0.0/16'])
    assert.deepEqual(nonMasqueradeRanges(ok('nonMasqueradeCIDRs: []\nmasqLinkLocal: true').config), [])
  })

  it('SNAT-03: a given list replaces the defaults in its own order; the other fields keep their defaults', () => {
    const r = ok('nonMasqueradeCIDRs:\n  - 192.168.0.0/16\n  - 10.132.0.0/14\n')
    assert.deepEqual(r.config, {...defaultAgentConfig(GKE_AGENT_FLAGS), nonMasqueradeCIDRs: ['192.168.0.0/16', '10.132.0.0/14']})
  })

  it('SNAT-02/03: every field is read (YAML), fields it does not give are not touched', () => {
    const r = ok('nonMasqueradeCIDRs: [10.0.0.0/8]\ncidrLimit: 10\nmasqLinkLocal: true\nmasqLinkLocalIPv6: true\nresyncInterval: 1m30s\n')
    assert.deepEqual(r.config, {nonMasqueradeCIDRs: ['10.0.0.0/8'], cidrLimit: 10, masqLinkLocal: true, masqLinkLocalIPv6: true, resyncInterval: '1m30s'})
    assert.deepEqual(ok('cidrLimit: 3').config, {...defaultAgentConfig(GKE_AGENT_FLAGS), cidrLimit: 3})
  })

  it('SNAT-03: unknown fields are ignored (as Go json.Unmarshal does) but reported in fields', () => {
    const r = ok('nonMasqueradeCIDRs: [10.0.0.0/8]\nfoo: bar\nnested: {a: [1, 2]}\nmasqLinkLocalIPv4: true\n')
    assert.deepEqual(r.config, {...defaultAgentConfig(GKE_AGENT_FLAGS), nonMasqueradeCIDRs: ['10.0.0.0/8']})
    assert.deepEqual(r.fields, {nonMasqueradeCIDRs: ['10.0.0.0/8'], foo: 'bar', nested: {a: [1, 2]}, masqLinkLocalIPv4: true})
    // an unknown field of any type does not fail
    assert.deepEqual(ok('other: 12\nlist: []\n').config, defaultAgentConfig(GKE_AGENT_FLAGS))
  })

  it('SNAT-03: field names match case-insensitively (Go encoding/json)', () => {
    const r = ok('NonMasqueradeCidrs: [172.16.0.0/12]\nCIDRLIMIT: 5\nmasqlinklocal: true\nMasqLinkLocalIpv6: true\nRESYNCINTERVAL: 10s\n')
    assert.deepEqual(r.config, {nonMasqueradeCIDRs: ['172.16.0.0/12'], cidrLimit: 5, masqLinkLocal: true, masqLinkLocalIPv6: true, resyncInterval: '10s'})
    // the file's own spelling is kept in fields (agent-edit writes it back that way)
    assert.deepEqual(Object.keys(r.fields), ['NonMasqueradeCidrs', 'CIDRLIMIT', 'masqlinklocal', 'MasqLinkLocalIpv6', 'RESYNCINTERVAL'])
  })

  it('SNAT-01: YAML and JSON of the same document give the same config (random documents)', () => {
    const rng = seededRng(20260301)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T
    for (let n = 0; n < 200; n++) {
      const doc: Record<string, unknown> = {}
      if (rng() < 0.7) doc[pick(['nonMasqueradeCIDRs', 'nonmasqueradecidrs'])] = Array.from({length: Math.floor(rng() * 5)}, () => pick(GKE_DEFAULT_LIST))
      if (rng() < 0.5) doc.cidrLimit = Math.floor(rng() * 100)
      if (rng() < 0.5) doc.masqLinkLocal = rng() < 0.5
      if (rng() < 0.3) doc.masqLinkLocalIPv6 = rng() < 0.5
      if (rng() < 0.5) doc.resyncInterval = pick(['60s', '1m', '0', '1h30m', '250ms'])
      if (rng() < 0.3) doc.extra = pick(['x', 1, true, null])
      const fromJson = ok(JSON.stringify(doc))
      const fromYaml = ok(dump(doc, {schema: JSON_SCHEMA}))
      assert.deepEqual(fromYaml.config, fromJson.config, JSON.stringify(doc))
      // and the config is the defaults overwritten by exactly the given fields
      const expected: Record<string, unknown> = {...defaultAgentConfig(GKE_AGENT_FLAGS)}
      for (const [k, v] of Object.entries(doc)) {
        const field = Object.keys(expected).find((f) => f.toLowerCase() === k.toLowerCase())
        if (field) expected[field] = v
      }
      assert.deepEqual(fromJson.config, expected, JSON.stringify(doc))
    }
  })

  it('SNAT-01: CIDRs and durations stay strings (no YAML 1.1 sexagesimal or timestamp surprises)', () => {
    const r = ok('nonMasqueradeCIDRs: [10.0.0.0/8, 1:20]\nresyncInterval: 60s\n')
    assert.deepEqual(r.config.nonMasqueradeCIDRs, ['10.0.0.0/8', '1:20'])
    assert.equal(r.config.resyncInterval, '60s')
  })

  it('SNAT-02: a field of the wrong type fails, naming the field', () => {
    fails('nonMasqueradeCIDRs: 10.0.0.0/8', /nonMasqueradeCIDRs must be a list of strings/)
    fails('nonMasqueradeCIDRs: [10.0.0.0/8, 7]', /nonMasqueradeCIDRs must be a list of strings/)
    fails('{"nonMasqueradeCIDRs": {"a": "10.0.0.0/8"}}', /nonMasqueradeCIDRs must be a list of strings/)
    fails('cidrLimit: "64"', /cidrLimit must be an integer/)
    fails('cidrLimit: 1.5', /cidrLimit must be an integer/)
    fails('cidrLimit: [64]', /cidrLimit must be an integer/)
    fails('masqLinkLocal: "true"', /masqLinkLocal must be true or false/)
    fails('masqLinkLocal: 1', /masqLinkLocal must be true or false/)
    fails('masqLinkLocalIPv6: "false"', /masqLinkLocalIPv6 must be true or false/)
    fails('resyncInterval: 60', /resyncInterval must be a Go duration/)
    fails('{"resyncInterval": true}', /resyncInterval must be a Go duration/)
  })

  it('SNAT-01: text that is neither YAML nor JSON fails; so does a document that is not a mapping', () => {
    fails('nonMasqueradeCIDRs: [', /not valid YAML or JSON/)
    fails('{"nonMasqueradeCIDRs": ["10.0.0.0/8"]', /not valid YAML or JSON/)
    fails('a: b\n  c: d\n', /not valid YAML or JSON/)
    fails('key: [a\nother', /not valid YAML or JSON/)
    fails('- 10.0.0.0/8\n', /must be a mapping/)
    fails('just a string', /must be a mapping/)
    fails('42', /must be a mapping/)
  })

  it('SNAT-02: resyncInterval accepts exactly Go time.ParseDuration syntax', () => {
    const valid: Array<[string, number]> = [
      ['60s', 60_000], ['1m30s', 90_000], ['1.5h', 5_400_000], ['300ms', 300], ['0', 0], ['-1s', -1000], ['+5m', 300_000],
      ['1h2m3s4ms', 3_723_004], ['.5s', 500], ['1.s', 1000], ['2us', 0.002], ['3µs', 0.003], ['1000000ns', 1], ['-0', 0], ['0s', 0],
    ]
    for (const [text, ms] of valid) {
      const got = goDurationMs(text)
      assert.ok(got !== undefined && Math.abs(got - ms) < 1e-9, `${text}: expected ${ms} ms, got ${got}`)
      assert.equal(ok(`resyncInterval: "${text}"`).config.resyncInterval, text)
    }
    for (const text of ['60', '', ' 60s', '60 s', 's', '1d', '1.5', '1m30', '--1s', '.s', 'ms', '1sm', '1w', 'infinity', '1e3s', '0x10s']) {
      assert.equal(goDurationMs(text), undefined, `${JSON.stringify(text)} must be rejected`)
      fails(`resyncInterval: "${text}"`, /resyncInterval must be a Go duration/)
    }
  })
})

describe('SNAT-04 validateAgentConfig: what the agent rejects', () => {
  const config = (list: readonly string[], extra: Partial<AgentConfig> = {}): AgentConfig => ({...defaultAgentConfig(GKE_AGENT_FLAGS), nonMasqueradeCIDRs: list, ...extra})

  it('SNAT-04: the GKE and upstream defaults are valid', () => {
    assert.deepEqual(validateAgentConfig(defaultAgentConfig(GKE_AGENT_FLAGS), GKE_AGENT_FLAGS), [])
    assert.deepEqual(validateAgentConfig(defaultAgentConfig(UPSTREAM), UPSTREAM), [])
    assert.deepEqual(validateAgentConfig(config([]), GKE_AGENT_FLAGS), [])
  })

  it('SNAT-04: more than cidrLimit CIDRs fails; exactly cidrLimit is fine (for several limits)', () => {
    const blocks = (n: number) => Array.from({length: n}, (_, i) => `10.${i}.0.0/16`)
    for (const limit of [0, 1, 3, 11, 64]) {
      assert.deepEqual(validateAgentConfig(config(blocks(limit), {cidrLimit: limit}), GKE_AGENT_FLAGS), [], `limit ${limit}`)
      const errors = validateAgentConfig(config(blocks(limit + 1), {cidrLimit: limit}), GKE_AGENT_FLAGS)
      assert.equal(errors.length, 1, `limit ${limit}`)
      assert.match(errors[0] as string, new RegExp(`${limit + 1} CIDRs, more than cidrLimit ${limit}`))
    }
    // the default limit is 64
    assert.equal(validateAgentConfig(config(blocks(65)), GKE_AGENT_FLAGS).length, 1)
    assert.equal(validateAgentConfig(config(blocks(64)), GKE_AGENT_FLAGS).length, 0)
  })

  it('SNAT-04: a CIDR whose address is not its network address fails (10.0.0.1/8), naming the network address', () => {
    const errors = validateAgentConfig(config(['10.0.0.0/8', '10.0.0.1/8']), GKE_AGENT_FLAGS)
    assert.equal(errors.length, 1)
    assert.match(errors[0] as string, /nonMasqueradeCIDRs\[1\] 10\.0\.0\.1\/8/)
    assert.match(errors[0] as string, /10\.0\.0\.0\/8/)
    for (const bad of ['192.168.1.0/16', '172.16.0.1/31', '10.193.0.3/16']) {
      assert.equal(validateAgentConfig(config([bad]), GKE_AGENT_FLAGS).length, 1, bad)
    }
  })

  it('SNAT-04: an IPv6 CIDR fails without --enable-ipv6, passes with it', () => {
    const errors = validateAgentConfig(config(['10.0.0.0/8', 'fd00::/8']), GKE_AGENT_FLAGS)
    assert.equal(errors.length, 1)
    assert.match(errors[0] as string, /fd00::\/8.*--enable-ipv6/)
    assert.deepEqual(validateAgentConfig(config(['10.0.0.0/8', 'fd00::/8']), {...GKE_AGENT_FLAGS, enableIpv6: true}), [])
  })

  it('SNAT-04: text that is not a CIDR fails, one error per bad entry', () => {
    const bad = ['banana', '10.0.0.0', '10.0.0.0/33', '256.0.0.0/8', '10.0.0/8', '', '10.0.0.0/-1', '010.0.0.0/8']
    const errors = validateAgentConfig(config(['10.0.0.0/8', ...bad]), GKE_AGENT_FLAGS)
    assert.equal(errors.length, bad.length, errors.join('\n'))
    bad.forEach((b, i) => assert.ok((errors[i] as string).includes(`nonMasqueradeCIDRs[${i + 1}] ${b}`), errors[i]))
  })

  it('SNAT-04: errors accumulate (limit and bad entries together)', () => {
    const errors = validateAgentConfig(config(['10.0.0.1/8', 'x', 'fd00::/8'], {cidrLimit: 2}), GKE_AGENT_FLAGS)
    assert.equal(errors.length, 4)
  })
})

describe('SNAT-07 agentFlagsFromArgs', () => {
  it('SNAT-07: defaults when no flag is given', () => {
    assert.deepEqual(agentFlagsFromArgs([]), {masqChain: 'IP-MASQ-AGENT', nomasqAllReservedRanges: false, enableIpv6: false})
    assert.deepEqual(agentFlagsFromArgs(['/ip-masq-agent', '--v=2', '--logtostderr']), {masqChain: 'IP-MASQ-AGENT', nomasqAllReservedRanges: false, enableIpv6: false})
  })

  it('SNAT-12: the GKE agent\'s command line (--flag=value form)', () => {
    assert.deepEqual(agentFlagsFromArgs(['/ip-masq-agent', '--masq-chain=IP-MASQ', '--nomasq-all-reserved-ranges']), {masqChain: 'IP-MASQ', nomasqAllReservedRanges: true, enableIpv6: false})
  })

  it('SNAT-07: separate-value form, single dash, =true/=false, any order', () => {
    assert.deepEqual(agentFlagsFromArgs(['--nomasq-all-reserved-ranges', '--masq-chain', 'IP-MASQ']), {masqChain: 'IP-MASQ', nomasqAllReservedRanges: true, enableIpv6: false})
    assert.deepEqual(agentFlagsFromArgs(['-masq-chain', 'CUSTOM', '-enable-ipv6']), {masqChain: 'CUSTOM', nomasqAllReservedRanges: false, enableIpv6: true})
    assert.deepEqual(agentFlagsFromArgs(['-masq-chain=X', '--nomasq-all-reserved-ranges=true', '--enable-ipv6=false']), {masqChain: 'X', nomasqAllReservedRanges: true, enableIpv6: false})
    assert.equal(agentFlagsFromArgs(['--nomasq-all-reserved-ranges=false']).nomasqAllReservedRanges, false)
    assert.equal(agentFlagsFromArgs(['--nomasq-all-reserved-ranges=0']).nomasqAllReservedRanges, false)
    assert.equal(agentFlagsFromArgs(['--nomasq-all-reserved-ranges=1']).nomasqAllReservedRanges, true)
    // a flag whose name only starts like another one is not it
    assert.equal(agentFlagsFromArgs(['--masq-chain-extra=Y']).masqChain, 'IP-MASQ-AGENT')
  })
})

/** the agent's POSTROUTING jump plus its rendered chain as one nat table (SNAT-05) */
function agentNatTable(config: AgentConfig, chain: string, randomFully = true): string {
  const rendered = renderAgentChain(config, chain, randomFully).split('\n').filter((l) => l !== '' && l !== '*nat' && l !== 'COMMIT')
  return [
    '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    ...rendered.filter((l) => l.startsWith(':')),
    `-A POSTROUTING ${quoteArgs(agentJumpRule(chain))}`,
    ...rendered.filter((l) => l.startsWith('-A ')),
    'COMMIT', '',
  ].join('\n')
}

describe('SNAT-05 renderAgentChain', () => {
  const local = '-m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE"'
  const last = '-m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE'

  it('SNAT-05: declares (flushes) the chain, link-local RETURN first while masqLinkLocal is false, the list in order, MASQUERADE --random-fully last', () => {
    const text = renderAgentChain({...defaultAgentConfig(UPSTREAM), nonMasqueradeCIDRs: ['192.168.0.0/16', '10.0.0.0/8']}, 'IP-MASQ-AGENT')
    assert.equal(text, [
      '*nat',
      ':IP-MASQ-AGENT - [0:0]',
      `-A IP-MASQ-AGENT ${local} -d 169.254.0.0/16 -j RETURN`,
      `-A IP-MASQ-AGENT ${local} -d 192.168.0.0/16 -j RETURN`,
      `-A IP-MASQ-AGENT ${local} -d 10.0.0.0/8 -j RETURN`,
      `-A IP-MASQ-AGENT ${last} --random-fully`,
      'COMMIT',
      '',
    ].join('\n'))
  })

  it('SNAT-05: masqLinkLocal true leaves the link-local RETURN out; randomFully false drops --random-fully; IPv6 entries are not in the IPv4 chain', () => {
    const text = renderAgentChain({...defaultAgentConfig(UPSTREAM), nonMasqueradeCIDRs: ['fd00::/8', '10.0.0.0/8'], masqLinkLocal: true}, 'IP-MASQ', false)
    assert.equal(text, ['*nat', ':IP-MASQ - [0:0]', `-A IP-MASQ ${local} -d 10.0.0.0/8 -j RETURN`, `-A IP-MASQ ${last}`, 'COMMIT', ''].join('\n'))
  })

  it('SNAT-05: the rules for random configs: one RETURN per IPv4 entry in config order, MASQUERADE exactly once and last', () => {
    const rng = seededRng(5)
    for (let n = 0; n < 50; n++) {
      const list = Array.from({length: Math.floor(rng() * 8)}, () => `${Math.floor(rng() * 224)}.${Math.floor(rng() * 256)}.0.0/16`)
      const masqLinkLocal = rng() < 0.5
      const rules = renderAgentChain({...defaultAgentConfig(UPSTREAM), nonMasqueradeCIDRs: list, masqLinkLocal}, 'C').split('\n').filter((l) => l.startsWith('-A '))
      const returns = rules.filter((r) => r.endsWith('-j RETURN')).map((r) => /-d (\S+)/.exec(r)?.[1])
      assert.deepEqual(returns, [...(masqLinkLocal ? [] : ['169.254.0.0/16']), ...list])
      assert.equal(rules.filter((r) => r.includes('-j MASQUERADE')).length, 1)
      assert.match(rules[rules.length - 1] as string, /-j MASQUERADE --random-fully$/)
      assert.ok(rules.every((r) => r.startsWith('-A C ')))
    }
  })

  it('SNAT-05: agentJumpRule is the agent\'s POSTROUTING rule exactly as iptables-save shows it on a node (fixture)', () => {
    const fixture = readFileSync('test/fixtures/iptables/ip-masq-agent.txt', 'utf8')
    assert.ok(fixture.includes(`-A POSTROUTING ${quoteArgs(agentJumpRule('IP-MASQ-AGENT'))}\n`))
    assert.deepEqual(agentJumpRule('IP-MASQ').slice(-6), ['-m', 'addrtype', '!', '--dst-type', 'LOCAL', '-j', 'IP-MASQ'].slice(-6))
    assert.equal(agentJumpRule('IP-MASQ').at(-1), 'IP-MASQ')
  })

  it('SNAT-05/06: the rendered default GKE chain in the evaluator: 10.193.0.3 returns (pod IP kept) at the 10.0.0.0/8 RETURN, 8.8.8.8 is masqueraded by the last rule', () => {
    const table = agentNatTable(defaultAgentConfig(GKE_AGENT_FLAGS), 'IP-MASQ')
    const node = {address: ip('10.209.0.2'), podCidr: cidr('10.132.0.0/24')}
    const kept = decidePod(table, node, ip('10.193.0.3'))
    assert.equal(kept.kind, 'kept')
    if (kept.kind === 'kept') {
      assert.equal(kept.decisive?.range, '10.0.0.0/8')
      assert.equal(kept.decisive?.rule.chain, 'IP-MASQ')
      assert.equal(kept.decisive?.how, 'return')
    }
    const masq = decidePod(table, node, ip('8.8.8.8'))
    assert.equal(masq.kind, 'masquerade')
    if (masq.kind === 'masquerade') {
      assert.equal(masq.rule.chain, 'IP-MASQ')
      assert.match(masq.rule.text, /MASQUERADE --random-fully/)
      assert.equal(masq.after.src, ip('10.209.0.2'))
    }
    assert.equal(decidePod(table, node, ip('10.209.0.2')).kind, 'local')
  })
})

describe('SNAT-06 the rendered chain decides as the agent\'s decision function (evaluator, random configs and destinations)', () => {
  // masq = dst not LOCAL && !(masqLinkLocal==false && dst∈169.254/16) && !(∃c∈list: dst∈c)
  const linkLocal = cidr('169.254.0.0/16')
  const rng = seededRng(0x5a7_06)
  const randomCidr = (): Cidr => {
    const prefix = 4 + Math.floor(rng() * 25)
    const base = (Math.floor(rng() * 2 ** 32) & maskOf(prefix)) >>> 0
    return {base, prefix}
  }
  const node = {address: ip('10.209.0.2'), podCidr: cidr('10.132.0.0/24')}

  for (let n = 0; n < 25; n++) {
    const list: Cidr[] = Array.from({length: Math.floor(rng() * 7)}, randomCidr)
    const masqLinkLocal = rng() < 0.4
    const useGke = n < 3
    const config: AgentConfig = useGke ? {...defaultAgentConfig(GKE_AGENT_FLAGS), masqLinkLocal} : {...defaultAgentConfig(UPSTREAM), nonMasqueradeCIDRs: list.map(formatCidr), masqLinkLocal}
    const chain = n % 2 === 0 ? 'IP-MASQ' : 'IP-MASQ-AGENT'
    it(`SNAT-06 config #${n} (${config.nonMasqueradeCIDRs.length} CIDRs, masqLinkLocal ${masqLinkLocal}, chain ${chain})`, () => {
      const table = agentNatTable(config, chain)
      const ranges = [...(masqLinkLocal ? [] : [linkLocal]), ...config.nonMasqueradeCIDRs.map((c) => cidr(c))]
      assert.deepEqual(nonMasqueradeRanges(config), ranges)
      const destinations: number[] = []
      for (let k = 0; k < 40; k++) {
        // half inside a listed range (or link-local), half anywhere
        const inside = ranges.length > 0 && rng() < 0.5 ? ranges[Math.floor(rng() * ranges.length)] : undefined
        const dst = inside ? (inside.base + Math.floor(rng() * 2 ** (32 - inside.prefix))) >>> 0 : Math.floor(rng() * 2 ** 32) >>> 0
        if (dst >>> 24 === 127 || dst === node.address) continue
        destinations.push(dst)
      }
      destinations.push(ip('169.254.169.254'), ip('8.8.8.8'), ip('10.193.0.3'))
      for (const dst of destinations) {
        const holder = ranges.find((r) => cidrContainsIp(r, dst))
        const d = decidePod(table, node, dst)
        const what = `${formatIp(dst)} with ${JSON.stringify(config)}`
        if (holder) {
          assert.equal(d.kind, 'kept', what)
          // the first RETURN in chain order that holds the destination decides
          if (d.kind === 'kept') assert.equal(d.decisive?.range, formatCidr(holder), what)
        } else {
          assert.equal(d.kind, 'masquerade', what)
          if (d.kind === 'masquerade') {
            assert.equal(d.rule.chain, chain, what)
            assert.equal(d.after.src, node.address, what)
          }
        }
      }
    })
  }
})

describe('regressions (src/core/masquerade/agent-config.ts): no divergence from how the Go agent reads its file', () => {
  // The agent (kubernetes-sigs/ip-masq-agent cmd/ip-masq-agent/ip-masq-agent.go) converts the
  // file with k8s.io/apimachinery util/yaml.ToJSON (sigs.k8s.io/yaml, go-yaml v2, YAML 1.1) and
  // then encoding/json.Unmarshal over the defaults.
  it('SNAT-03: nonMasqueradeCIDRs: null (or an empty YAML value) is provided — encoding/json sets the slice to nil, so the list is empty, not the defaults', () => {
    for (const text of ['nonMasqueradeCIDRs: null\n', 'nonMasqueradeCIDRs:\n', '{"nonMasqueradeCIDRs": null}']) {
      assert.deepEqual(ok(text).config.nonMasqueradeCIDRs, [], text)
    }
  })

  it('SNAT-02/04: resyncInterval: null fails — the agent\'s Duration.UnmarshalJSON rejects anything but a string', () => {
    fails('resyncInterval: null\n', /resyncInterval/)
    fails('{"resyncInterval": null}', /resyncInterval/)
  })

  it('SNAT-01: YAML 1.1 booleans (go-yaml v2) are booleans: masqLinkLocal: yes / on / no / off', () => {
    assert.equal(ok('masqLinkLocal: yes').config.masqLinkLocal, true)
    assert.equal(ok('masqLinkLocal: on').config.masqLinkLocal, true)
    assert.equal(ok('masqLinkLocal: no').config.masqLinkLocal, false)
    assert.equal(ok('masqLinkLocal: off').config.masqLinkLocal, false)
  })

  it('SNAT-04: with --enable-ipv6 an IPv6 CIDR is still validated (net.ParseCIDR, network address)', () => {
    const flags = {...GKE_AGENT_FLAGS, enableIpv6: true}
    const config = (list: string[]) => ({...defaultAgentConfig(flags), nonMasqueradeCIDRs: list})
    assert.equal(validateAgentConfig(config(['fd00::1/8']), flags).length, 1, 'fd00::1/8 has host bits set')
    assert.equal(validateAgentConfig(config(['zz::/8']), flags).length, 1, 'zz::/8 is not a CIDR')
    assert.equal(validateAgentConfig(config(['fd00::/129']), flags).length, 1, '/129 is not a prefix length')
  })

  it('SNAT-07: boolean flags follow Go\'s flag package (strconv.ParseBool; a bool flag never takes a separate value)', () => {
    for (const v of ['False', 'FALSE', 'f', 'F']) assert.equal(agentFlagsFromArgs([`--nomasq-all-reserved-ranges=${v}`]).nomasqAllReservedRanges, false, v)
    for (const v of ['True', 'TRUE', 't', 'T']) assert.equal(agentFlagsFromArgs([`--nomasq-all-reserved-ranges=${v}`]).nomasqAllReservedRanges, true, v)
    // `-flag false` sets the flag and stops parsing at the positional "false"
    assert.equal(agentFlagsFromArgs(['--nomasq-all-reserved-ranges', 'false']).nomasqAllReservedRanges, true)
  })
})
