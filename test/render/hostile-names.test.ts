/**
 * Hostile names through every printer (issue: printed commands are safe to paste). Names come
 * from files and APIs — kube contexts, services, VMs, paths — and may hold shell syntax or
 * terminal escapes. Every command xcc prints must give the real shell back the name as one
 * literal word, running nothing, and no raw control character may reach the terminal.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {type FixFacts, buildFixes} from '../../src/core/doctor/fixes.js'
import {XccError} from '../../src/core/errors.js'
import {checkAccess, checkPodSecurity} from '../../src/core/kube/access.js'
import type {KubeCluster} from '../../src/core/ports/kube.js'
import {shellCommand, shellWord, visible} from '../../src/core/shell.js'
import {renderLabStatus, renderLabUp} from '../../src/render/lab-text.js'
import {renderApplied, renderListing} from '../../src/render/masquerade-text.js'
import {safeText} from '../../src/render/terminal.js'
import {seededRng} from '../support/random.js'

const DIR = mkdtempSync(join(tmpdir(), 'xcc-hostile-'))
const MARK = join(DIR, 'pwned')
after(() => rmSync(DIR, {recursive: true, force: true}))

/** names a topology file, a kubeconfig or an API could hold */
const FIXED = [
  `a;touch ${MARK}`, `$(touch ${MARK})`, `\`touch ${MARK}\``, `a|touch ${MARK}`, `a&&touch ${MARK}`, `a' ; touch ${MARK} ; '`,
  'it\'s', '"double"', 'with space', '--force', '-n', '*', '~root', '#comment', 'a\\b', '$HOME', '{a,b}', '!!', 'x=y',
  'esc\u001b[2Jclear', 'bell\u0007', 'new\nline', 'cr\rreturn', 'nul\u0000byte', 'del\u007f', 'c1\u009bcsi', 'tab\tbed', 'ünïcødé', '',
]
const ALPHABET = [...'abc-_.;|&$()`\'"\\ *?~#!{}[]<>=\n\t\u001b\u0007\u009b/:@%+,', 'é']

function randomNames(count: number, seed: number): string[] {
  const rng = seededRng(seed)
  return Array.from({length: count}, () => Array.from({length: 1 + Math.floor(rng() * 12)}, () => ALPHABET[Math.floor(rng() * ALPHABET.length)]).join(''))
}

const NAMES = [...FIXED, ...randomNames(60, 20261207)]
/** names a POSIX shell can carry as an argument (a NUL byte cannot be in an argv) */
const ARGUMENT_NAMES = NAMES.filter((n) => !n.includes('\u0000'))

/**
 * The words a real POSIX shell reads from a printed command line: its program word is swapped for
 * `printf '%s\0'`, so every other word comes back NUL-separated. Nothing of the line may run.
 */
function shellWords(line: string): string[] {
  const program = /^\S+/.exec(line)?.[0] ?? ''
  const r = spawnSync('sh', ['-c', `printf '%s\\0' ${line.slice(program.length)}`], {encoding: 'utf8', timeout: 5000})
  assert.equal(r.status, 0, `sh could not read: ${line}\n${r.stderr}`)
  return [program, ...r.stdout.split('\u0000').slice(0, -1)]
}

/** a control character other than a line break (terminal escapes, carriage return, NUL, C1) */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/

describe('shellWord and shellCommand', () => {
  it('every name comes back from the shell as one literal word, and nothing runs', () => {
    for (const name of ARGUMENT_NAMES) {
      assert.deepEqual(shellWords(shellCommand(['xcc', '--context', name, 'x'])), ['xcc', '--context', name, 'x'], JSON.stringify(name))
    }
    assert.equal(existsSync(MARK), false, 'no command in a name ran')
  })

  it('plain words stay bare; everything else is quoted', () => {
    assert.equal(shellWord('gke_p_europe-west1-c_frontend'), 'gke_p_europe-west1-c_frontend')
    assert.equal(shellWord('10.0.0.0/8,10.1.0.0/16'), '10.0.0.0/8,10.1.0.0/16')
    assert.equal(shellWord(''), "''")
    assert.equal(shellWord("it's"), `'it'\\''s'`)
  })

  it('visible escapes every control character and keeps the rest', () => {
    // eslint-disable-next-line no-control-regex
    for (const name of NAMES) assert.doesNotMatch(visible(name), /[\u0000-\u001f\u007f-\u009f]/, JSON.stringify(name))
    assert.equal(visible('esc\u001b[2J'), 'esc\\x1b[2J')
    assert.equal(visible('a\nb'), 'a\\nb')
    assert.equal(visible('ünïcødé'), 'ünïcødé')
  })
})

/** the facts of every diagnosis code, with `name` wherever a name goes */
function everyFix(name: string): FixFacts[] {
  const ref = {cluster: name, context: name, known: true}
  const service = {...ref, namespace: name, name}
  const vm = {name, zone: name}
  const side = {network: name, peering: name}
  return [
    {code: 'POD_SNAT_MISSING', cluster: ref, cidrs: ['10.193.0.0/16'], mechanism: 'unknown', destinationOnly: false, exchange: {exporting: side, importing: side}, routesBased: true},
    {code: 'POD_SNAT_MISSING', cluster: {...ref, known: false}, cidrs: ['10.193.0.0/16'], mechanism: 'iptables', destinationOnly: true, routesBased: false},
    {code: 'FIREWALL_RULE', network: name, direction: 'INGRESS', priority: 999, protocol: 'tcp', port: 80, peer: '10.0.0.1', targetTag: name, at: name, detail: name},
    {code: 'PEERING_INACTIVE', network: name, peerNetwork: name},
    {code: 'PEERING_NOT_TRANSITIVE', from: name, to: name},
    {code: 'PEERING_CUSTOM_ROUTES_NOT_EXCHANGED', exporting: side, importing: side},
    {code: 'FORWARDING_RULE_REGION_MISMATCH', service, forwardingRule: {name, region: name}, region: name},
    {code: 'FORWARDING_RULE_REGION_MISMATCH', forwardingRule: {name, region: name}},
    {code: 'FORWARDING_RULE_MISMATCH', protocol: 'tcp', port: 81, forwardingRule: {name, region: name, network: name, subnet: name, backendService: name, served: ['80']}},
    {code: 'FORWARDING_RULE_NO_INSTANCES', forwardingRule: {name, region: name, network: name, backendService: name}, candidates: {zone: name, instances: [name]}},
    {code: 'FIREWALL_BLOCKING_LOAD_BALANCER_BACKEND_HEALTH_CHECK', network: name, backendService: name, port: 80},
    {code: 'FOREIGN_IP_DISALLOWED', vm},
    {code: 'GUEST_FORWARDING_DISABLED', vm, cause: 'ip-forward', src: '10.0.0.1', dst: '10.0.0.2'},
    {code: 'GUEST_FORWARDING_DISABLED', vm, cause: 'forward-chain', src: '10.0.0.1', dst: '10.0.0.2'},
    {code: 'CLUSTER_IP_FROM_OUTSIDE_CLUSTER', service},
    {code: 'DESTINATION_NOT_LISTENING', at: name, protocol: 'tcp', port: 80, service},
  ]
}

describe('every fix builder, with hostile names', () => {
  it('prints commands whose every name the shell reads back as a literal word; nothing runs', () => {
    // (a name that starts with `-` reads back literally too, but a flag scanner cannot tell it from a flag)
    for (const name of ARGUMENT_NAMES.filter((n) => n !== '' && !n.startsWith('-'))) {
      for (const facts of everyFix(name)) {
        for (const fix of buildFixes(facts)) {
          for (const line of fix.commands) {
            // a line that writes a file (`> f`, `>> f`) is read as the shell would, without the redirection
            const words = shellWords(line.replace(/ >>? (\S+|'[^']*(?:'\\''[^']*)*')$/, ''))
            // the value of every flag that carries a name is that name, exactly
            for (let i = 0; i < words.length; i++) {
              if (!['--context', '--network', '--zone', '--region', '-n', '--peer-network', '--target-tags', '--instance-group-zone'].includes(words[i] as string)) continue
              assert.equal(words[i + 1], name, `${facts.code}: ${line}`)
              i += 1
            }
          }
        }
      }
    }
    assert.equal(existsSync(MARK), false, 'no command in a name ran')
  })
})

const cluster = (context: string): KubeCluster => ({context, server: 'https://127.0.0.1:1', canI: async (qs: readonly unknown[]) => qs.map(() => ({allowed: false})), getNamespace: async () => ({metadata: {name: 'ns', labels: {'pod-security.kubernetes.io/enforce': 'baseline'}}})} as unknown as KubeCluster)

describe('hints and other printers, with hostile names', () => {
  it('the grant commands of a missing permission and the Pod Security hint quote the context and namespace', async () => {
    // one hint line per command: names that break a line are checked by the shellCommand property above
    for (const name of ARGUMENT_NAMES.filter((n) => n !== '' && !n.includes('\n')).slice(0, 40)) {
      const denied = await checkAccess(cluster(name), [{verb: 'create', resource: 'pods', namespace: name, why: 'w', required: true}]).catch((e: unknown) => e)
      assert.ok(denied instanceof XccError)
      const security = await checkPodSecurity(cluster(name), name, true).catch((e: unknown) => e)
      assert.ok(security instanceof XccError)
      for (const hint of [denied.hint ?? '', security.hint ?? '']) {
        for (const line of hint.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('kubectl '))) {
          const words = shellWords(line.replace(/ --user=<you>$/, ''))
          assert.ok(words.includes(name), `${JSON.stringify(name)} in ${line}`)
        }
      }
    }
    assert.equal(existsSync(MARK), false)
  })

  it('lab and masquerade views quote names in their commands and never send a control character', () => {
    for (const name of NAMES) {
      const lab = {name: 'xcc', defaultName: true, source: name, kubeconfig: `/home/${name}/kubeconfig`, clusters: [{name, context: name, server: name}], hosts: {[`pod/${name}/default/p`]: {namespace: name}}}
      const up = renderLabUp({...lab, elapsedMs: 1, doctor: {topology: `/t/${name}.yaml`, flow: {from: name, to: name}}})
      const status = renderLabStatus({name: 'xcc', exists: true, healthy: false, problems: [name], lab: {...lab, createdAt: name, daemonPid: null, namespaces: {present: 1, expected: 2}}})
      const plan = {context: name, mode: 'daemonset' as const, why: name, cidrs: ['10.0.0.0/8'], alreadyMasqueraded: [], changes: []}
      const applied = renderApplied(plan, [{kind: 'DaemonSet', namespace: 'kube-system', name, action: 'create'}] as never, {verb: 'add'})
      const listing = renderListing({context: name, managedBy: ['daemonset'], cidrs: ['10.0.0.0/8'], drift: true, nodes: [{node: name, cidrs: [{cidr: '10.0.0.0/8', decision: 'pod-ip', detail: name}], error: name}]} as never, {color: false})
      for (const text of [up, status, applied, listing]) assert.doesNotMatch(text, CONTROL, `${JSON.stringify(name)}: ${JSON.stringify(text)}`)
      if (!name.includes('\u0000') && !CONTROL.test(name) && !name.includes('\n')) {
        const tryLines = up.split('\n').filter((l) => /^ {2}(kubectl|xcc) /.test(l)).map((l) => l.trim())
        for (const line of tryLines) shellWords(line)
        const check = applied.split('\n').find((l) => l.startsWith('Check every node: '))?.slice('Check every node: '.length) ?? ''
        assert.deepEqual(shellWords(check), ['xcc', 'masquerade', 'list', '--context', name])
      }
    }
    assert.equal(existsSync(MARK), false)
  })

  it('error messages keep their line breaks and escape everything else', () => {
    assert.equal(safeText('line one\nesc\u001b]0;title\u0007'), 'line one\nesc\\x1b]0;title\\x07')
  })
})
