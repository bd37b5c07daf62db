/**
 * `xcc link create` and `xcc link delete` on a lab of seed 001 unwired (two VPCs, the backend's
 * Service behind a node port, the frontend routes-based), with real packets: after create, a pod
 * of the frontend reaches the printed address (curl to the echo server); after delete, the
 * project's snapshot is byte-equal to the one before create and the connection fails again. The
 * real gcloud sees what xcc made (names, descriptions, labels) and nothing after delete. Bad input
 * writes nothing (exit 2, snapshot unchanged). Interrupted (SIGKILL, SIGINT), failed (a denied
 * permission the preflight could not see, exit 3) or slowed by 503s, a create is finished by running it again, and a further
 * create plans nothing. A masquerade range the user had before the link stays after delete. A
 * permission IAM says the token lacks stops create and delete before any write (exit 3). A
 * deny rule of the user's makes an applied link unreachable: exit 1, the doctor naming the rule.
 * Needs root (namespaces), iproute2, iptables.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {linkCreateJsonSchema, linkDeleteJsonSchema} from '../../../src/core/link/result-schema.js'
import {ROOT, STACK} from '../../support/lab-cli.js'
import {requireLabTools} from '../../support/netns.js'
import {LinkLab} from './link-cli.js'
import {sdkSkip} from './support.js'

const CREATE = ['link', 'create', 'demo', '--mode', 'peering', '--from', 'frontend', '--to', 'backend', '--service', 'default/dummy-backend', '--yes']
const POD = 'pod/frontend/default/curl'

describe('xcc link create|delete --mode peering on seed 001 unwired', () => {
  requireLabTools()
  const lab = new LinkLab('lc001', 'two-vpcs-unwired')
  let pristine = ''
  before(() => {
    lab.up()
    // a headless Service without ports, for the bad-input case
    const svc = spawnSync('kubectl', ['--context', 'backend', 'apply', '-f', '-'], {input: 'apiVersion: v1\nkind: Service\nmetadata: {name: noports, namespace: default}\nspec: {clusterIP: None, selector: {app: x}}\n', encoding: 'utf8', env: {...process.env, ...lab.env}})
    assert.equal(svc.status, 0, svc.stderr)
    pristine = lab.snapshot()
  })
  after(() => lab.cleanup())

  it('bad input exits 2 naming it, and writes nothing', () => {
    const cases: Array<[string[], RegExp]> = [
      [['link', 'create', 'demo', '--mode', 'peering', '--from', 'nowhere', '--to', 'backend', '--service', 'default/dummy-backend', '--yes'], /--from nowhere: no such GKE cluster in the project/],
      [['link', 'create', 'demo', '--mode', 'peering', '--from', 'frontend', '--to', 'backend', '--service', 'default/nope', '--yes'], /--service default\/nope: no such Service in cluster backend/],
      [['link', 'create', 'demo', '--mode', 'peering', '--from', 'frontend', '--to', 'backend', '--service', 'default/noports', '--yes'], /--service default\/noports: no such Service in cluster backend \(or it has no ports/],
      [['link', 'create', 'a-link-name-that-is-far-too-long-for-the-resource-names-gcp-takes', '--mode', 'peering', '--from', 'frontend', '--to', 'backend', '--service', 'default/dummy-backend', '--yes'], /is too long: it makes the resource name xcc-a-link-name-that-is-far-too-long-for-the-resource-names-gcp-takes-/],
      [['link', 'create', 'Demo', '--from', 'frontend', '--to', 'backend', '--yes'], /link name "Demo": must be lowercase/],
      [['link', 'create', 'demo', '--mode', 'peering', '--from', 'frontend', '--to', 'backend', '--service', 'default/dummy-backend', '-o', 'yaml'], /-o yaml needs --dry-run/],
    ]
    for (const [args, message] of cases) {
      const r = lab.xcc(args)
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.doesNotMatch(r.stderr, STACK)
    }
    assert.equal(lab.snapshot(), pristine, 'nothing was written')
  })

  it('in a terminal it asks; any answer but yes writes nothing and exits 1', {skip: spawnSync('script', ['--version']).status === 0 ? false : 'util-linux script (a pseudo-terminal) is missing'}, () => {
    const command = ['node', 'bin/run.js', ...CREATE.filter((a) => a !== '--yes')].join(' ')
    const r = spawnSync('script', ['-qec', command, '/dev/null'], {cwd: ROOT, input: 'no\n', encoding: 'utf8', timeout: 120_000, env: {...process.env, XCC_HOME: lab.home, NO_COLOR: '1', ...lab.env}})
    assert.equal(r.status, 1, r.stdout)
    assert.match(r.stdout, /Only 'yes' will be accepted:/)
    assert.match(r.stdout, /not applied \(declined\); nothing was written/)
    assert.equal(lab.snapshot(), pristine)
  })

  it('--dry-run shows the plan and writes nothing; -o json prints the bodies', () => {
    const r = lab.xcc([...CREATE, '--dry-run'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /Plan: 8 to create, 0 to update, 0 to delete\./)
    const bodies = lab.xcc([...CREATE, '--dry-run', '-o', 'json'])
    assert.equal(bodies.status, 0, bodies.stderr)
    const doc = JSON.parse(bodies.stdout) as {resources: Array<{kind: string; name: string; body: {description?: string}}>}
    assert.equal(doc.resources.length, 7)
    const fw = doc.resources.find((x) => x.name === 'xcc-demo-allow')
    assert.deepEqual(JSON.parse(fw?.body.description ?? '{}'), {'managed-by': 'xcc', link: 'demo', role: 'allow', v: 1})
    assert.equal(lab.snapshot(), pristine)
  })

  it('create: the frontend\'s pods reach the printed address (real TCP); again: no changes; gcloud sees the marks; delete restores the snapshot byte for byte', {skip: sdkSkip()}, async () => {
    assert.equal(lab.connect(POD, '10.193.0.3:32191'), undefined, 'unwired: no connection before')
    const created = lab.xcc([...CREATE, '--json'])
    assert.equal(created.status, 0, created.stderr)
    const out = linkCreateJsonSchema.parse(JSON.parse(created.stdout))
    assert.equal(out.mode, 'peering')
    assert.equal(out.plan.length, 7)
    assert.deepEqual(out.applied.map((a) => a.result), out.plan.map(() => 'created'))
    assert.deepEqual(out.kube.map((k) => [k.kind, k.cluster, k.name, k.result]), [['masquerade', 'frontend', '10.193.0.0/16', 'applied']])
    assert.equal(out.verify?.verdict, 'reachable')
    assert.match(out.address ?? '', /^10\.193\.0\.\d+:32191$/)
    const answer = lab.connect(POD, out.address!)
    assert.ok(answer, `a pod of frontend connects to ${out.address}`)
    assert.match(answer, /^server=backend\/default\//m)

    const again = lab.xcc(CREATE)
    assert.equal(again.status, 0, again.stderr)
    assert.match(again.stdout, /No changes: the project already holds what the link wants\./)
    assert.match(again.stdout, new RegExp(`the Service is at ${out.address!.replace(/\./g, '\\.')}`))

    // the real gcloud: what xcc made, with its marks
    const fw = await lab.gcloud(['compute', 'firewall-rules', 'list', '--filter', 'name~^xcc-demo-', '--format', 'json'])
    assert.equal(fw.code, 0, fw.stderr)
    const rules = JSON.parse(fw.stdout) as Array<{name: string; description: string}>
    assert.deepEqual(rules.map((x) => x.name).sort(), ['xcc-demo-allow', 'xcc-demo-allow-hc'])
    for (const x of rules) assert.equal(JSON.parse(x.description).link, 'demo')
    const fr = await lab.gcloud(['compute', 'forwarding-rules', 'list', '--filter', 'labels.xcc-link=demo', '--format', 'json'])
    assert.equal(fr.code, 0, fr.stderr)
    const frs = JSON.parse(fr.stdout) as Array<{name: string; labels: Record<string, string>; IPAddress: string}>
    assert.deepEqual(frs.map((x) => [x.name, x.labels, `${x.IPAddress}:32191`]), [['xcc-demo-fr', {'managed-by': 'xcc', 'xcc-link': 'demo'}, out.address]])

    const shown = lab.xcc(['link', 'delete', 'demo', '--dry-run', '--json'])
    assert.equal(shown.status, 0, shown.stderr)
    const dry = linkDeleteJsonSchema.parse(JSON.parse(shown.stdout))
    assert.deepEqual([dry.dryRun, dry.plan.length, dry.applied.length], [true, 7, 0])
    assert.ok(lab.connect(POD, out.address!), 'a dry run deletes nothing')
    const deleted = lab.xcc(['link', 'delete', 'demo', '--yes', '--json'])
    assert.equal(deleted.status, 0, deleted.stderr)
    const gone = linkDeleteJsonSchema.parse(JSON.parse(deleted.stdout))
    assert.equal(gone.applied.length, 7)
    assert.deepEqual(gone.masquerade, [{context: 'frontend', cidrs: ['10.193.0.0/16']}])
    assert.equal(lab.snapshot(), pristine, 'the project is as it was before create')
    assert.equal(lab.connect(POD, out.address!), undefined, 'the connection fails again')
    const after = await lab.gcloud(['compute', 'firewall-rules', 'list', '--filter', 'name~^xcc-demo-', '--format', 'value(name)'])
    assert.equal(after.stdout.trim(), '')
    const none = lab.xcc(['link', 'delete', 'demo', '--yes'])
    assert.equal(none.status, 0, none.stderr)
    assert.match(none.stdout, /Nothing to delete/)
  })

  it('a masquerade range the user had before the link stays after delete', () => {
    const mine = lab.xcc(['masquerade', 'add', '--context', 'frontend', '--cidr', '10.193.0.0/16'])
    assert.equal(mine.status, 0, mine.stderr)
    const created = lab.xcc([...CREATE, '--json'])
    assert.equal(created.status, 0, created.stderr)
    assert.deepEqual(linkCreateJsonSchema.parse(JSON.parse(created.stdout)).kube, [], 'already masqueraded: no step')
    const deleted = lab.xcc(['link', 'delete', 'demo', '--yes', '--json'])
    assert.equal(deleted.status, 0, deleted.stderr)
    assert.deepEqual(linkDeleteJsonSchema.parse(JSON.parse(deleted.stdout)).masquerade, [])
    const ds = lab.cli.run(lab.home, ['masquerade', 'remove', '--context', 'frontend', '--cidr', '10.193.0.0/16'], {env: lab.env})
    assert.equal(ds.status, 0, `the user's range was still there: ${ds.stderr}`)
    assert.equal(lab.snapshot(), pristine)
  })

  it('applied, but a deny rule of the user blocks the way: exit 1, the doctor names the rule, and the connection really fails', {skip: sdkSkip()}, async () => {
    const deny = await lab.gcloud(['compute', 'firewall-rules', 'create', 'user-deny', '--network', 'vpc-a', '--action', 'deny', '--rules', 'tcp', '--source-ranges', '10.209.0.0/16', '--priority', '100'])
    assert.equal(deny.code, 0, deny.stderr)
    const created = lab.xcc([...CREATE, '--json'])
    assert.equal(created.status, 1, created.stderr)
    const out = linkCreateJsonSchema.parse(JSON.parse(created.stdout))
    assert.equal(out.verify?.verdict, 'unreachable')
    assert.equal(out.verify?.diagnosis?.code, 'FIREWALL_RULE')
    assert.match(out.verify?.diagnosis?.summary ?? '', /user-deny/)
    assert.equal(lab.connect(POD, out.address!), undefined)
    assert.equal(lab.xcc(['link', 'delete', 'demo', '--yes']).status, 0)
    const removed = await lab.gcloud(['compute', 'firewall-rules', 'delete', 'user-deny', '--quiet'])
    assert.equal(removed.code, 0, removed.stderr)
    assert.equal(lab.snapshot(), pristine)
  })

  it('preflight: a permission the token lacks is exit 3 naming it and a role before anything is written (create and delete)', () => {
    const faults = join(lab.dir, 'cloud-faults.json')
    try {
      writeFileSync(faults, JSON.stringify({denied: ['compute.firewalls.create', 'compute.networks.addPeering']}))
      const denied = lab.xcc(CREATE)
      assert.equal(denied.status, 3, denied.stderr)
      assert.match(denied.stderr, /missing permissions in project \S+: compute\.firewalls\.create, compute\.networks\.addPeering; nothing was written/)
      assert.match(denied.stderr, /compute\.firewalls\.create \(granted by roles\/compute\.securityAdmin\), needed by firewall\/global\/xcc-demo-allow/)
      assert.match(denied.stderr, /compute\.networks\.addPeering \(granted by roles\/compute\.networkAdmin\)/)
      assert.doesNotMatch(denied.stderr, STACK)
      assert.doesNotMatch(denied.stderr, /run the same xcc link create again/)
      assert.equal(lab.snapshot(), pristine, 'nothing was written')
      // delete: the link's resources stay when one of their deletes is not allowed
      writeFileSync(faults, '{}')
      assert.equal(lab.xcc(CREATE).status, 0)
      const created = lab.snapshot()
      writeFileSync(faults, JSON.stringify({denied: ['compute.regionBackendServices.delete']}))
      const kept = lab.xcc(['link', 'delete', 'demo', '--yes'])
      assert.equal(kept.status, 3, kept.stderr)
      assert.match(kept.stderr, /missing permission in project \S+: compute\.regionBackendServices\.delete; nothing was written/)
      assert.equal(lab.snapshot(), created, 'nothing was deleted')
    } finally {
      rmSync(faults, {force: true})
    }
    assert.equal(lab.xcc(['link', 'delete', 'demo', '--yes']).status, 0)
    assert.equal(lab.snapshot(), pristine)
  })

  it('interrupted (SIGKILL, then SIGINT), denied a permission (exit 3), slowed by 503s: each re-run finishes the job, and then nothing is left to do', async () => {
    const killed = await lab.killAfter(CREATE, 2, 'SIGKILL')
    assert.equal(killed.signal, 'SIGKILL', killed.stderr)
    // the forwarding rule comes last (after the health check and the backend service): not made yet.
    // IAM cannot be asked here (404 on projects.testIamPermissions): the write's 403 says it
    const faults = join(lab.dir, 'cloud-faults.json')
    writeFileSync(faults, JSON.stringify({denied: ['compute.forwardingRules.create'], faults: [{status: 404, path: ':testIamPermissions'}]}))
    const denied = lab.xcc(CREATE)
    assert.equal(denied.status, 3, denied.stderr)
    assert.match(denied.stderr, /could not ask IAM which permissions you hold .*404/)
    assert.match(denied.stderr, /missing permission compute\.forwardingRules\.create/)
    assert.match(denied.stderr, /run the same xcc link create again to finish the job/)
    writeFileSync(faults, '{}')
    const interrupted = await lab.killAfter(CREATE, 1, 'SIGINT')
    assert.equal(interrupted.code, 130, interrupted.stderr)
    assert.match(interrupted.stderr, /interrupted/)
    // the answers to inserts lost after the change was made (what the requestId is for), then a retry
    writeFileSync(faults, JSON.stringify({faults: [{status: 503, method: 'POST', times: 2, afterServing: true}]}))
    const finished = lab.xcc([...CREATE, '--json'])
    rmSync(faults, {force: true})
    assert.equal(finished.status, 0, finished.stderr)
    const done = linkCreateJsonSchema.parse(JSON.parse(finished.stdout))
    assert.equal(done.verify?.verdict, 'reachable')
    assert.ok(lab.connect(POD, done.address!), 'reachable after the resumed create')
    const nothing = linkCreateJsonSchema.parse(JSON.parse(lab.xcc([...CREATE, '--json']).stdout))
    assert.deepEqual([nothing.plan, nothing.kube], [[], []], 'a further create plans nothing')
    const snapshot = lab.snapshot()
    for (const name of ['xcc-demo-allow', 'xcc-demo-allow-hc', 'xcc-demo-hc', 'xcc-demo-bs', 'xcc-demo-fr', 'xcc-demo-peer-from', 'xcc-demo-peer-to']) {
      assert.equal(snapshot.split(`- name: ${name}\n`).length - 1, 1, `${name} exists once`)
    }
    assert.equal(lab.xcc(['link', 'delete', 'demo', '--yes']).status, 0)
    assert.equal(lab.snapshot(), pristine)
  })
})
