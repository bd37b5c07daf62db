/**
 * A snapshot of a linked cluster brings the link back (issue 17 with issue 14's snapshot): in a
 * lab of seed 004's shape, `xcc dns link --from-context a --to-context b`, then `xcc snapshot`
 * with nothing but what `xcc lab env` prints. On the snapshot T' the static doctor resolves the
 * name as on the lab (the responder's pods are kept, with its Service's endpoints, ConfigMaps and
 * stub domain); and `xcc lab up T'` serves it again: its declared responder (pods named by their
 * Deployment) answers the zone, so a pod's `getent hosts` gets b's load-balancer address.
 * Needs root, iproute2, iptables, dnsmasq (dnsmasq-base) and the built CLI.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {CHECKS} from '../../src/checks/index.js'
import {evaluateDoctorTo} from '../../src/core/doctor/dns.js'
import {parseTopology} from '../../src/core/topology/parse.js'
import {LabCli} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'
import {KUARD_TOPOLOGY} from './dns-topology.js'

const NAME = 'kuard.default.b.clusters.xcc.test'
const LB = '10.11.0.100'

describe('a snapshot of a lab linked with xcc dns link', () => {
  requireLabTools([['dnsmasq', ['--version'], 'dnsmasq-base']])
  const cli = new LabCli()
  const home = cli.home()
  after(() => cli.cleanup())

  it('resolves the linked name in the static doctor and, brought up as a lab, in a pod', async (t) => {
    const file = join(home, 'linked.yaml')
    writeFileSync(file, KUARD_TOPOLOGY)
    const lab = cli.lab('dsnap')
    const ok = (args: readonly string[], env?: NodeJS.ProcessEnv) => {
      const r = cli.run(home, args, {...(env ? {env} : {}), timeoutMs: 120_000})
      assert.equal(r.status, 0, `xcc ${args.join(' ')}: ${r.stderr}${r.stdout}`)
      return r.stdout
    }
    ok(['lab', 'up', '--topology', file, '--name', lab])
    const env = (JSON.parse(ok(['lab', 'env', '--name', lab, '--json'])) as {variables: Record<string, string>}).variables
    ok(['dns', 'link', '--from-context', 'a', '--to-context', 'b'], env)
    const snapshot = ok(['snapshot'], env)
    ok(['lab', 'down', '--name', lab])

    const model = parseTopology(snapshot, 'snapshot.yaml')
    const responders = model.clusters.get('a')?.services.find((s) => s.namespace === 'kube-system' && s.name === 'xcc-dns-responder')
    assert.equal(responders?.endpoints.length, 2, 'the responder Service keeps its two pods')
    const report = evaluateDoctorTo(model, 'a/default/client', `${NAME}:80`, undefined, CHECKS)
    assert.equal(report.dns?.address, LB, `the static doctor on the snapshot: ${report.diagnosis?.code ?? report.verdict}`)
    assert.equal(report.verdict, 'reachable')

    const again = cli.lab('dsnap2')
    const snapFile = join(home, 'snapshot.yaml')
    writeFileSync(snapFile, snapshot)
    ok(['lab', 'up', '--topology', snapFile, '--name', again])
    let seen = ''
    const started = performance.now()
    // bounded: the responder's stand-in starts with the lab, a moment after its DNS
    while (performance.now() - started < 15_000) {
      const r = cli.run(home, ['lab', 'exec', '--name', again, 'pod/a/default/client', '--', 'getent', 'hosts', NAME], {timeoutMs: 20_000})
      seen = r.stdout.trim().split(/\s+/)[0] ?? ''
      if (r.status === 0) break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    t.diagnostic(`lab up of the snapshot: ${NAME} → ${seen || 'no answer'} after ${Math.round(performance.now() - started)} ms`)
    assert.equal(seen, LB)
    ok(['lab', 'down', '--name', again])
  })
})
