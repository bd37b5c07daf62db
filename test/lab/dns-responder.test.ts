/**
 * The lab's stand-in for the `xcc dns link` responder (src/lab/addons/dns/responder.ts): the
 * ConfigMap xcc writes (made here with src/core/dns, read by the lab with its own parsers) turns
 * into a dnsmasq that answers as CoreDNS's `file` plugin would: the zone's A records, NXDOMAIN for
 * other names of the zone, REFUSED outside; a changed ConfigMap is served after a SIGHUP. Real
 * dnsmasq on a loopback address and port, queried with Node's resolver (c-ares).
 */
import assert from 'node:assert/strict'
import {type ChildProcess, spawn} from 'node:child_process'
import {Resolver} from 'node:dns/promises'
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {responderData} from '../../src/core/dns/responder.js'
import {responderConfig, responderDnsmasqConf, responderHosts} from '../../src/lab/addons/dns/responder.js'
import {parseZoneText} from '../../src/lab/addons/dns/zone-file.js'
import {corefileSource} from '../../src/lab/runtime/responder-standin.js'

const ZONE = 'b.clusters.xcc.test'
const link = (address: string) => ({zone: ZONE, cluster: 'b', context: 'ctx-b', domain: 'clusters.xcc.test', services: 'all' as const, records: [{name: `kuard.default.${ZONE}`, address, service: 'default/kuard'}]})

describe('zone files, read by the lab', () => {
  it('honours $ORIGIN, $TTL, @, relative and absolute names, a blank owner and parentheses', () => {
    const text = ['$TTL 60', '$ORIGIN z.test.', '@ IN SOA ns hostmaster ( 1 7200', '  1800 86400 30 ) ; multi-line', 'a 30 IN A 10.0.0.1', '  IN 40 A 10.0.0.2', 'b.z.test. A 10.0.0.3', 'c IN AAAA ::1', ''].join('\n')
    assert.deepEqual(parseZoneText(text, 'ignored'), {ok: true, records: [
      {name: 'a.z.test', ttl: 30, address: '10.0.0.1'}, {name: 'a.z.test', ttl: 40, address: '10.0.0.2'}, {name: 'b.z.test', ttl: 60, address: '10.0.0.3'},
    ]})
  })

  it('refuses a bad address, an unknown type and an unclosed parenthesis, naming the line', () => {
    assert.deepEqual(parseZoneText('x IN A 10.0.0.300\n', 'z'), {ok: false, error: 'line 1: A record of x.z: "10.0.0.300" is not one IPv4 address'})
    assert.deepEqual(parseZoneText('\nx IN BOGUS 1\n', 'z'), {ok: false, error: 'line 2: unknown or missing record type "BOGUS"'})
    assert.equal(parseZoneText('@ SOA a b ( 1 2\n', 'z').ok, false)
  })

  it('reads the ConfigMap xcc writes: the zone of each file block and its records', () => {
    const {data} = responderData([link('10.20.0.7')])
    const config = responderConfig(data, '/etc/coredns')
    assert.deepEqual(config, {ok: true, zones: [{zone: ZONE, records: [{name: `kuard.default.${ZONE}`, ttl: 30, address: '10.20.0.7'}]}]})
    assert.ok(config.ok)
    assert.equal(responderHosts(config.zones), `10.20.0.7 kuard.default.${ZONE}\n`)
    const broken = responderConfig({...data, [`${ZONE}.db`]: 'x IN A nope\n'}, '/etc/coredns')
    assert.ok(broken.ok)
    assert.match(broken.zones[0]?.error ?? '', /line 1: A record of x\.b\.clusters\.xcc\.test/)
    assert.deepEqual(responderConfig({}, '/etc/coredns'), {ok: false, error: '/etc/coredns/Corefile: no such file (the ConfigMap has no key Corefile)'})
  })
})

describe('the stand-in dnsmasq answers as the file plugin', () => {
  let dir: string
  let server: ChildProcess
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  const resolver = new Resolver({timeout: 1000, tries: 1})
  resolver.setServers([`127.0.0.1:${port}`])
  const write = (address: string): void => {
    const config = responderConfig(responderData([link(address)]).data, '/etc/coredns')
    assert.ok(config.ok)
    writeFileSync(join(dir, 'hosts'), responderHosts(config.zones), {mode: 0o644})
    writeFileSync(join(dir, 'dnsmasq.conf'), responderDnsmasqConf(dir, config.zones, {port, listen: '127.0.0.1'}))
  }
  const code = async (name: string): Promise<string> => {
    try {
      return (await resolver.resolve4(name)).join(',')
    } catch (error) {
      return (error as {code: string}).code
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xcc-responder-'))
    // dnsmasq reads its hosts file as nobody once it has dropped root
    chmodSync(dir, 0o755)
    write('10.20.0.7')
    server = spawn('dnsmasq', ['--keep-in-foreground', `--conf-file=${join(dir, 'dnsmasq.conf')}`], {stdio: 'ignore'})
    for (let i = 0; i < 50 && (await code(`kuard.default.${ZONE}`)) !== '10.20.0.7'; i++) await new Promise((r) => setTimeout(r, 100))
  })
  after(() => {
    server?.kill('SIGKILL')
    rmSync(dir, {recursive: true, force: true})
  })

  it('answers the A record, NXDOMAIN in the zone, REFUSED outside', async () => {
    assert.equal(await code(`kuard.default.${ZONE}`), '10.20.0.7')
    assert.equal(await code(`KUARD.Default.${ZONE}`), '10.20.0.7', 'names are case-insensitive')
    assert.equal(await code(`nope.default.${ZONE}`), 'ENOTFOUND', 'NXDOMAIN')
    assert.equal(await code('example.com'), 'EREFUSED')
  })

  it('serves a changed ConfigMap after a SIGHUP', async () => {
    write('10.20.0.9')
    server.kill('SIGHUP')
    let seen = ''
    for (let i = 0; i < 30 && (seen = await code(`kuard.default.${ZONE}`)) !== '10.20.0.9'; i++) await new Promise((r) => setTimeout(r, 100))
    assert.equal(seen, '10.20.0.9')
  })
})

describe('which pods the stand-in runs', () => {
  it('a CoreDNS-image container reading -conf from a mounted ConfigMap, nothing else', () => {
    const pod = {apiVersion: 'v1', kind: 'Pod', metadata: {name: 'r'}, spec: {containers: [], volumes: [{name: 'config', configMap: {name: 'xcc-dns-responder'}}]}}
    const container = {name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3', args: ['-conf', '/etc/coredns/Corefile'], volumeMounts: [{name: 'config', mountPath: '/etc/coredns'}]}
    assert.deepEqual(corefileSource(pod, container), {configMap: 'xcc-dns-responder', mountDir: '/etc/coredns', corefileKey: 'Corefile'})
    assert.equal(corefileSource(pod, {...container, image: 'busybox'}), undefined)
    assert.equal(corefileSource(pod, {...container, command: ['sh']}), undefined, 'a command of its own runs as given')
    assert.equal(corefileSource(pod, {...container, volumeMounts: []}), undefined)
  })
})
