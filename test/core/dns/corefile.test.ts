/**
 * src/core/dns/corefile.ts and corefile-edit.ts: `xcc dns link` on CoreDNS clusters. Seven
 * Corefiles as their distributions ship them (test/fixtures/dns/corefiles: kubeadm, EKS, AKS with
 * `import custom/*.server`, k3s, GKE's NodeLocal DNSCache, one with existing stub zones — seed 004's
 * `xcc.test` block — and one edited by hand with comments, a snippet, tabs and no final newline):
 * after link they hold their own bytes plus xcc's block (golden files), after unlink exactly their
 * own bytes again.
 */
import assert from 'node:assert/strict'
import {readFileSync, readdirSync} from 'node:fs'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'

import {parseCorefile, parseKey} from '../../../src/core/dns/corefile.js'
import {type LinkBlock, corefileLinks, linkCorefile, unlinkCorefile, xccBlocks} from '../../../src/core/dns/corefile-edit.js'
import {assertGoldenText} from '../../support/golden.js'
import {assertBadInput} from '../../support/xcc-error.js'

const DIR = fileURLToPath(new URL('../../fixtures/dns/corefiles/', import.meta.url))
const FIXTURES = readdirSync(DIR).filter((f) => f.endsWith('.Corefile')).sort()
const read = (name: string): string => readFileSync(`${DIR}${name}`, 'utf8')
const WHERE = 'ConfigMap kube-system/coredns key "Corefile"'

const LINK: LinkBlock = {cluster: 'backend', domain: 'clusters.xcc.test', zone: 'backend.clusters.xcc.test', targets: ['10.64.5.10']}
const link = (text: string, l: LinkBlock = LINK) => linkCorefile(text, l, WHERE)

describe('Corefile parsing', () => {
  it('finds the server blocks, zones and ports of every fixture', () => {
    const zones = (name: string) => parseCorefile(read(name), name).servers.map((s) => s.keys.map((k) => `${k.zone}:${k.port}`).join(','))
    assert.deepEqual(zones('kubeadm.Corefile'), ['.:53'])
    assert.deepEqual(zones('aks.Corefile'), ['.:53'])
    assert.deepEqual(zones('gke-node-local-dns.Corefile'), ['cluster.local:53', 'in-addr.arpa:53', 'ip6.arpa:53', '.:53'])
    assert.deepEqual(zones('stub-zone.Corefile'), ['.:53', 'xcc.test:53', 'consul.local:53'])
    assert.deepEqual(zones('hand-edited.Corefile'), ['.:53', 'corp.example.com:53,ad.example.com:53'])
  })

  it('reads imports, snippets, plugins and comments', () => {
    const aks = parseCorefile(read('aks.Corefile'), 'aks')
    assert.deepEqual(aks.imports.map((i) => i.pattern), ['custom/*.server'])
    assert.ok(aks.servers[0]?.plugins.some((p) => p.name === 'import' && p.args[0] === 'custom/*.override'))
    const hand = parseCorefile(read('hand-edited.Corefile'), 'hand')
    assert.deepEqual(hand.snippets.map((s) => s.snippet), ['common'])
    assert.equal(hand.comments.length, 6)
    const plugins = hand.servers[0]?.plugins.map((p) => p.name)
    assert.deepEqual(plugins, ['import', 'health', 'ready', 'rewrite', 'kubernetes', 'hosts', 'forward', 'prometheus', 'loop', 'reload', 'loadbalance'])
    // the quoted log format is one token, its braces are not blocks
    assert.deepEqual(hand.snippets[0]?.plugins.find((p) => p.name === 'log')?.args, ['.', '{remote} {type} {name} {rcode}'])
  })

  it('parses keys with schemes, ports, reverse zones and environment variables', () => {
    assert.deepEqual(parseKey('.:53'), {raw: '.:53', scheme: 'dns', zone: '.', port: 53})
    assert.deepEqual(parseKey('Example.ORG.'), {raw: 'Example.ORG.', scheme: 'dns', zone: 'example.org', port: 53})
    assert.deepEqual(parseKey('tls://example.org'), {raw: 'tls://example.org', scheme: 'tls', zone: 'example.org', port: 853})
    assert.deepEqual(parseKey('dns://global:8053'), {raw: 'dns://global:8053', scheme: 'dns', zone: 'global', port: 8053})
    assert.deepEqual(parseKey('10.0.0.0/8:53'), {raw: '10.0.0.0/8:53', scheme: 'dns', zone: '10.in-addr.arpa', port: 53})
    assert.deepEqual(parseKey('172.16.0.0/16'), {raw: '172.16.0.0/16', scheme: 'dns', zone: '16.172.in-addr.arpa', port: 53})
    assert.deepEqual(parseKey('.:{$DNS_PORT}'), {raw: '.:{$DNS_PORT}', scheme: 'dns', zone: '.'})
  })

  it('refuses a Corefile CoreDNS could not load, naming the line', () => {
    assertBadInput(() => parseCorefile('.:53 {\n  errors\n', WHERE), /line 1: this "\{" is never closed/)
    assertBadInput(() => parseCorefile('.:53 {\n}\n}\n', WHERE), /line 3: a "\}" closes nothing/)
    assertBadInput(() => parseCorefile('.:53 {\n log "x\n}\n', WHERE), /line 2: a quoted token is never closed/)
  })
})

describe('xcc dns link on a Corefile', () => {
  for (const name of FIXTURES) {
    it(`${name}: link adds only xcc's block, again changes nothing, unlink gives back every byte`, () => {
      const original = read(name)
      const linked = link(original)
      assert.equal(linked.action, 'add')
      assertGoldenText(`dns/corefiles/${name}.linked`, linked.text)
      const prefix = original.endsWith('\n') ? original : `${original}\n`
      assert.ok(linked.text.startsWith(prefix), 'the original bytes come first, untouched')
      assert.deepEqual(xccBlocks(linked.text, WHERE).map((b) => linked.text.slice(b.start, b.end).trimEnd()), [linked.text.slice(prefix.length).trimEnd()])
      // the edited Corefile still parses, with one more server block
      assert.equal(parseCorefile(linked.text, name).servers.length, parseCorefile(original, name).servers.length + 1)
      assert.deepEqual(link(linked.text), {text: linked.text, changed: false, action: 'none'})
      const moved = link(linked.text, {...LINK, targets: ['10.64.5.11']})
      assert.equal(moved.action, 'replace')
      assert.equal(xccBlocks(moved.text, WHERE).length, 1)
      assert.deepEqual(corefileLinks(moved.text, WHERE), [{cluster: 'backend', domain: 'clusters.xcc.test', zone: 'backend.clusters.xcc.test', targets: ['10.64.5.11']}])
      const unlinked = unlinkCorefile(moved.text, LINK, WHERE)
      assert.equal(unlinked.action, 'remove')
      assert.equal(unlinked.text, original)
      assert.deepEqual(unlinkCorefile(original, LINK, WHERE), {text: original, changed: false, action: 'none'})
    })
  }

  it('keeps CRLF line endings and gives the CRLF bytes back', () => {
    const original = read('kubeadm.Corefile').replace(/\n/g, '\r\n')
    const linked = link(original)
    assert.ok(!/[^\r]\n/.test(linked.text), 'every line of the block ends with CRLF')
    assert.equal(unlinkCorefile(linked.text, LINK, WHERE).text, original)
  })

  it('links two clusters as two blocks and unlinks them in any order', () => {
    const original = read('eks.Corefile')
    const other: LinkBlock = {cluster: 'payments', domain: 'clusters.xcc.test', zone: 'payments.clusters.xcc.test', targets: ['10.64.5.10:5353']}
    const both = link(link(original).text, other).text
    assert.equal(xccBlocks(both, WHERE).length, 2)
    assert.equal(unlinkCorefile(unlinkCorefile(both, LINK, WHERE).text, other, WHERE).text, original)
    assert.equal(unlinkCorefile(unlinkCorefile(both, other, WHERE).text, LINK, WHERE).text, original)
  })

  it('keeps what someone added after xcc\'s block when unlinking', () => {
    const linked = link(read('kubeadm.Corefile')).text
    const later = `${linked}example.org:53 {\n    whoami\n}\n`
    assert.equal(unlinkCorefile(later, LINK, WHERE).text, `${read('kubeadm.Corefile')}example.org:53 {\n    whoami\n}\n`)
  })

  it('an empty Corefile gets just the block', () => {
    const linked = link('')
    assert.match(linked.text, /^# xcc:begin dns-link backend clusters\.xcc\.test\n/)
    assert.equal(unlinkCorefile(linked.text, LINK, WHERE).text, '')
  })

  it('refuses a block of someone else for the zone, under it, or in the domain, naming it', () => {
    const base = read('kubeadm.Corefile')
    for (const key of ['backend.clusters.xcc.test:53', 'backend.clusters.xcc.test', 'api.backend.clusters.xcc.test', 'clusters.xcc.test:53', 'other.clusters.xcc.test']) {
      const text = `${base}${key} {\n    forward . 10.1.2.3\n}\n`
      assertBadInput(() => link(text), /another server block already serves names in clusters\.xcc\.test/)
      try {
        link(text)
      } catch (error) {
        assert.match((error as {details: string[]}).details.join('\n'), new RegExp(`line 21: the server block "${key.replace(/\./g, '\\.')}" serves`))
      }
    }
    // a parent zone (seed 004's xcc.test) and other ports are not in the way: the longest zone wins
    assert.equal(link(read('stub-zone.Corefile')).action, 'add')
    assert.equal(link(`${base}backend.clusters.xcc.test:5353 {\n    whoami\n}\n`).action, 'add')
  })

  it('looks into the files the Corefile imports (AKS coredns-custom)', () => {
    const custom = {name: 'ConfigMap kube-system/coredns-custom key "team.server"', text: 'backend.clusters.xcc.test:53 {\n  forward . 10.9.9.9\n}\n'}
    assertBadInput(() => linkCorefile(read('aks.Corefile'), LINK, WHERE, [custom]), /another server block/)
  })

  it('refuses a Corefile without braces and a begin marker without its end', () => {
    assertBadInput(() => link('.:53\nwhoami\n'), /single server block without braces/)
    const broken = `${read('kubeadm.Corefile')}# xcc:begin dns-link backend clusters.xcc.test\nbackend.clusters.xcc.test:53 {\n}\n`
    assertBadInput(() => link(broken), /line 21: xcc's block for backend clusters\.xcc\.test has no "# xcc:end" line/)
  })
})
