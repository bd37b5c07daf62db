/**
 * `xcc link create|delete` reusing GKE's internal load balancer from another region (scenario
 * ilb-cross-region-no-global-access: the client cluster in europe-west1, the Service's rule in
 * us-central1 without global access, ILB-03): create merge-patches the Service with
 * networking.gke.io/internal-load-balancer-allow-global-access=true and records in b's
 * kube-system/xcc-link-<link> that it had none; delete removes exactly that annotation (the
 * Service's others stay) and the record, and the project's snapshot is as before. The lab's GKE
 * has no service controller acting on the annotation, so the rule stays regional there and the
 * verification after create still names it (exit 1).
 * Needs root (namespaces), iproute2, iptables.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {after, before, describe, it} from 'node:test'

import {linkCreateJsonSchema, linkDeleteJsonSchema} from '../../../src/core/link/result-schema.js'
import {requireLabTools} from '../../support/netns.js'
import {LinkLab} from './link-cli.js'

const KEY = 'networking.gke.io/internal-load-balancer-allow-global-access'
const CREATE = ['link', 'create', 'xr', '--mode', 'peering', '--from', 'a', '--to', 'b', '--service', 'default/server', '--yes']

describe('xcc link: the global-access annotation of a reused GKE internal load balancer', () => {
  requireLabTools()
  const lab = new LinkLab('lcann', 'ilb-cross-region-no-global-access')
  let pristine = ''
  const kubectl = (args: string[]) => spawnSync('kubectl', ['--context', 'b', ...args], {encoding: 'utf8', timeout: 60_000, env: {...process.env, ...lab.env}})
  const annotations = (): Record<string, string> => {
    const r = kubectl(['-n', 'default', 'get', 'service', 'server', '-o', 'json'])
    assert.equal(r.status, 0, r.stderr)
    return (JSON.parse(r.stdout) as {metadata: {annotations?: Record<string, string>}}).metadata.annotations ?? {}
  }
  before(() => {
    lab.up()
    pristine = lab.snapshot()
  })
  after(() => lab.cleanup())

  it('create patches the Service and records that it had no such annotation; delete takes it off again', () => {
    const before = annotations()
    assert.equal(before[KEY], undefined)
    const plan = lab.xcc([...CREATE, '--dry-run'])
    assert.equal(plan.status, 0, plan.stderr)
    assert.match(plan.stdout, new RegExp(`default/server ${KEY.replace(/\./g, '\\.')}=true`))
    const created = lab.xcc([...CREATE, '--json'])
    const out = linkCreateJsonSchema.parse(JSON.parse(created.stdout))
    // GKE's service controller would now give b-ilb global access; the lab's GKE has no such
    // controller, so the rule stays regional and the doctor still names it (exit 1)
    assert.equal(created.status, 1, created.stderr)
    assert.deepEqual([out.verify?.verdict, out.verify?.diagnosis?.code], ['unreachable', 'FORWARDING_RULE_REGION_MISMATCH'])
    assert.deepEqual(out.plan.map((p) => p.name), ['xcc-xr-allow'], 'GKE\'s rule is reused: only the firewall is made')
    const step = out.kube.find((k) => k.kind === 'annotation')
    assert.deepEqual(step && [step.cluster, step.result], ['b', 'applied'], JSON.stringify(out.kube))
    assert.match(step?.detail ?? '', /patched; recorded no previous value in kube-system\/xcc-link-xr/)
    assert.deepEqual(annotations(), {...before, [KEY]: 'true'})
    const record = kubectl(['-n', 'kube-system', 'get', 'configmap', 'xcc-link-xr', '-o', 'json'])
    assert.equal(record.status, 0, record.stderr)
    assert.deepEqual(JSON.parse((JSON.parse(record.stdout) as {data: Record<string, string>}).data['service-annotations'] ?? '[]'), [{namespace: 'default', service: 'server', key: KEY, value: 'true', previous: null}])

    const again = lab.xcc([...CREATE, '--json'])
    assert.equal(again.status, 1, again.stderr)
    assert.match(linkCreateJsonSchema.parse(JSON.parse(again.stdout)).kube.find((k) => k.kind === 'annotation')?.detail ?? '', /already set/)

    const shown = lab.xcc(['link', 'delete', 'xr', '--dry-run'])
    assert.equal(shown.status, 0, shown.stderr)
    assert.match(shown.stdout, /annotation b: default\/server networking\.gke\.io\/internal-load-balancer-allow-global-access/)
    const deleted = lab.xcc(['link', 'delete', 'xr', '--yes', '--json'])
    assert.equal(deleted.status, 0, deleted.stderr)
    assert.deepEqual(linkDeleteJsonSchema.parse(JSON.parse(deleted.stdout)).annotations, [{context: 'b', service: 'default/server', key: KEY, previous: null, result: 'restored'}])
    assert.deepEqual(annotations(), before, 'the Service has what it had before')
    assert.notEqual(kubectl(['-n', 'kube-system', 'get', 'configmap', 'xcc-link-xr']).status, 0, 'the record is gone')
    assert.equal(lab.snapshot(), pristine)
  })
})
