/**
 * Rules in the topology that the kernel refuses (a match it does not have) are bad input: the
 * loader accepts them (the doctor reports such a rule as not understood, INSUFFICIENT_INFO), but
 * `xcc lab up` exits 2 naming the file and the YAML path, and leaves nothing behind.
 */
import assert from 'node:assert/strict'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'

import {LabCli, ROOT, STACK, namespacesOf} from '../support/lab-cli.js'
import {requireLabTools} from '../support/netns.js'

const TOPOLOGY = `apiVersion: xcc/v1
kind: Topology
metadata: {name: bad-rules}
networks:
  - name: net
    subnets: [{name: main, region: us-west1, ipCidrRange: 10.1.0.0/24}]
instances:
  - name: ok
    zone: us-west1-a
    networkInterfaces: [{network: net, subnetwork: main, networkIP: 10.1.0.5}]
  - name: gw
    zone: us-west1-a
    networkInterfaces: [{network: net, subnetwork: main, networkIP: 10.1.0.6}]
    guest:
      iptables: |
        *nat
        :POSTROUTING ACCEPT [0:0]
        -A POSTROUTING -o nic0 -m nosuchmatch --foo -j MASQUERADE
        COMMIT
`

describe('xcc lab up with iptables rules the kernel refuses', () => {
  requireLabTools([['socat', ['-V'], 'socat'], ['curl', ['--version'], 'curl'], ['openssl', ['version'], 'openssl']])
  assert.ok(existsSync(join(ROOT, 'dist/commands/lab/up.js')), 'dist/ is missing: run npm run build (npm test does it)')
  const cli = new LabCli()
  const lab = cli.lab('br')
  after(() => cli.cleanup())

  it('exits 2 naming the file and instances[1].guest.iptables, without a stack, and leaves no namespace or state', () => {
    const home = cli.home()
    const file = join(home, 'bad-rules.yaml')
    writeFileSync(file, TOPOLOGY)
    const r = cli.run(home, ['lab', 'up', '--topology', file, '--name', lab])
    assert.equal(r.status, 2, `exit ${r.status}: ${r.stderr}`)
    assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: instances\\[1\\]\\.guest\\.iptables: the kernel's iptables-restore refuses the rules of instance/gw`))
    assert.match(r.stderr, /nosuchmatch/)
    assert.doesNotMatch(r.stderr, STACK)
    assert.deepEqual(namespacesOf(lab), [])
    assert.equal(existsSync(join(home, 'labs', lab)), false)
    const json = cli.run(home, ['lab', 'up', '--topology', file, '--name', lab, '--json'])
    assert.equal(json.status, 2)
    const parsed = JSON.parse(json.stdout) as {error: {kind: string; exitCode: number; message: string}}
    assert.deepEqual([parsed.error.kind, parsed.error.exitCode], ['usage', 2])
    assert.match(parsed.error.message, /instances\[1\]\.guest\.iptables/)
  })
})
