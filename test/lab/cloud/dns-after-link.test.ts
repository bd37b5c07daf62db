/**
 * Seed 004's flow from nothing, with the real CLI on a lab of seed 001 unwired (two routes-based
 * clusters in VPCs that nothing joins): `xcc link create` makes the backend's Service reachable at
 * an internal load balancer of its own (no LoadBalancer Service: the forwarding rule xcc made is
 * the record's source), `xcc dns link` gives the Service a name in the frontend cluster, and from
 * the frontend's pod `getent hosts dummy-backend.default.backend.clusters.xcc.test` is the link's
 * address and curl by that name is answered by the backend's pod. The live doctor follows the
 * name to the backend. `xcc dns unlink` and `xcc link delete` then leave the project and its
 * clusters as the snapshot saw them before. Needs root, iproute2, iptables, curl and dnsmasq.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {requireLabTools} from '../../support/netns.js'
import {LinkLab} from './link-cli.js'

const POD = 'pod/frontend/default/curl'
const NAME = 'dummy-backend.default.backend.clusters.xcc.test'
const CREATE = ['link', 'create', 'named', '--mode', 'peering', '--from', 'frontend', '--to', 'backend', '--service', 'default/dummy-backend', '--yes', '--json']

describe('xcc link create, then xcc dns link: the linked Service by name (seed 004 on seed 001)', () => {
  requireLabTools([['curl', ['--version'], 'curl'], ['dnsmasq', ['--version'], 'dnsmasq-base']])
  const lab = new LinkLab('dal', 'two-vpcs-unwired')
  let pristine = ''
  before(() => {
    lab.up()
    pristine = lab.snapshot()
  })
  after(() => lab.cleanup())

  /** `getent hosts NAME` in the frontend's pod (its resolv.conf: kube-dns, search path, ndots:5), polled for up to 20 s */
  function resolveInPod(name: string, want: (address: string | undefined) => boolean): string | undefined {
    const deadline = Date.now() + 20_000
    for (;;) {
      const r = lab.xcc(['lab', 'exec', '--name', lab.name, POD, '--', 'getent', 'hosts', name], 30_000)
      const address = r.status === 0 ? r.stdout.trim().split(/\s+/)[0] : undefined
      if (want(address) || Date.now() > deadline) return address
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200)
    }
  }

  it('link create makes the address, dns link names it: getent and curl by name from the frontend\'s pod; unlink and delete restore the project', () => {
    const created = lab.xcc(CREATE)
    assert.equal(created.status, 0, `link create: ${created.stderr}`)
    const address = (JSON.parse(created.stdout) as {address?: string}).address ?? ''
    const [ip, port] = address.split(':')
    assert.match(address, /^10\.193\.0\.\d+:32191$/, 'the internal load balancer link create made, at the Service\'s node port')

    const linked = lab.xcc(['dns', 'link', '--from-context', 'frontend', '--to-context', 'backend', '--json'])
    assert.equal(linked.status, 0, `dns link: ${linked.stderr}${linked.stdout}`)
    const records = (JSON.parse(linked.stdout) as {records?: Array<{name: string; address: string; source: string}>}).records ?? []
    assert.deepEqual(records.map((r) => [r.name, r.address, r.source]), [[NAME, ip, 'xcc-link-forwarding-rule']], 'the record is the forwarding rule xcc link made for the Service')

    assert.equal(resolveInPod(NAME, (a) => a === ip), ip, `getent hosts ${NAME} in ${POD}`)
    const answer = lab.connect(POD, `${NAME}:${port}`)
    assert.match(answer ?? 'no answer', /server=backend\/default\/backend-5d4f9/, `curl http://${NAME}:${port}/ from ${POD}`)

    const live = lab.xcc(['doctor', '--live', '--from', 'frontend/default/curl', '--to', `${NAME}:${port}`, '--timeout', '5s', '--json'])
    assert.equal(live.status, 0, `the live doctor by name: ${live.stdout.slice(0, 3000)}${live.stderr.slice(-2000)}`)
    const report = JSON.parse(live.stdout) as {verdict: string; observations: {dns?: {addresses?: string[]}}}
    assert.equal(report.verdict, 'reachable')
    assert.deepEqual(report.observations.dns?.addresses, [ip], 'the pod\'s own lookup')

    const unlinked = lab.xcc(['dns', 'unlink', '--from-context', 'frontend', '--to-context', 'backend'])
    assert.equal(unlinked.status, 0, `dns unlink: ${unlinked.stderr}`)
    assert.equal(resolveInPod(NAME, (a) => a === undefined), undefined, 'the name no longer resolves')
    const deleted = lab.xcc(['link', 'delete', 'named', '--yes'])
    assert.equal(deleted.status, 0, `link delete: ${deleted.stderr}`)
    assert.equal(lab.snapshot(), pristine, 'the project and the clusters\' DNS ConfigMaps are as before')
  })
})
