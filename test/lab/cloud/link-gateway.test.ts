/**
 * `xcc link create|delete` on a lab of seed 000 unwired (two clusters whose ranges overlap): --mode
 * auto picks gateway and says it is because of the overlap; a pod of c1 then reaches c2's Service
 * through the gateway VMs (real TCP: curl to the echo server); delete restores the project's
 * snapshot byte for byte and the connection fails again. Peering is refused with exit 2, as is a
 * --via-range that overlaps a cluster, and neither writes anything. Needs root, iproute2, iptables.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {linkCreateJsonSchema, linkDeleteJsonSchema} from '../../../src/core/link/result-schema.js'
import {STACK} from '../../support/lab-cli.js'
import {requireLabTools} from '../../support/netns.js'
import {LinkLab} from './link-cli.js'

const BASE = ['link', 'create', 'c1-c2', '--from', 'c1', '--to', 'c2', '--service', 'default/echoheaders', '--yes']
const POD = 'pod/c1/default/ubuntu'

describe('xcc link create|delete --mode gateway|auto on seed 000 unwired', () => {
  requireLabTools()
  const lab = new LinkLab('lc000', 'overlapping-clusters-unwired')
  let pristine = ''
  before(() => {
    lab.up()
    pristine = lab.snapshot()
  })
  after(() => lab.cleanup())

  it('peering across the overlap, and a --via-range that overlaps a cluster, exit 2 and write nothing', () => {
    const peering = lab.xcc([...BASE, '--mode', 'peering'])
    assert.equal(peering.status, 2, peering.stderr)
    assert.match(peering.stderr, /cannot be peered: 10\.138\.0\.0\/20 .* \(PEER-08\)/)
    assert.doesNotMatch(peering.stderr, STACK)
    const via = lab.xcc([...BASE, '--mode', 'gateway', '--via-range', '10.120.0.0/24', '--json'])
    assert.equal(via.status, 2, via.stderr)
    assert.match((JSON.parse(via.stdout) as {error: {message: string}}).error.message, /--via-range 10\.120\.0\.0\/24/)
    assert.equal(lab.snapshot(), pristine, 'nothing was written')
  })

  it('auto picks gateway because of the overlap; c1\'s pod reaches c2\'s Service through the gateways; delete restores the snapshot', () => {
    const created = lab.xcc([...BASE, '--json'])
    assert.equal(created.status, 0, created.stderr)
    const out = linkCreateJsonSchema.parse(JSON.parse(created.stdout))
    assert.equal(out.mode, 'gateway')
    assert.match(out.modeReason, /^gateway: 10\.138\.0\.0\/20 .* overlaps .*, so the networks cannot be peered \(PEER-08\)$/)
    assert.equal(out.applied.length, 18)
    assert.equal(out.verify?.verdict, 'reachable')
    assert.equal(out.address, '10.210.200.253:80')
    const answer = lab.connect(POD, out.address!)
    assert.ok(answer, `a pod of c1 connects to ${out.address}`)
    assert.match(answer, /^server=c2\/default\/echoheaders/m)
    const again = lab.xcc([...BASE, '--mode', 'gateway'])
    assert.equal(again.status, 0, again.stderr)
    assert.match(again.stdout, /No changes/)

    const deleted = lab.xcc(['link', 'delete', 'c1-c2', '--yes', '--json'])
    assert.equal(deleted.status, 0, deleted.stderr)
    assert.equal(linkDeleteJsonSchema.parse(JSON.parse(deleted.stdout)).applied.length, 18)
    assert.equal(lab.snapshot(), pristine, 'the project is as it was before create')
    assert.equal(lab.connect(POD, out.address!), undefined, 'the connection fails again')
  })
})
