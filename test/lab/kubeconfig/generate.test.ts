/**
 * `xcc kubeconfig generate | list | revoke` against a lab (its GKE API and kube API), proved with
 * the real kubectl.1.32: a service-reader kubeconfig reads Services and is refused Secrets, and is
 * unauthorized at once after revoke; --ttl and the granted expiry; --merge into a kubectl-written
 * kubeconfig with three contexts (kept byte for byte, current-context unchanged, two merges at
 * once both land); the token and exec files work with kubectl; bad input (unknown cluster or
 * location, an unwritable path, a role file with an unknown verb, a caller without the RBAC
 * permission) is refused with nothing created; and the time of one generate end to end.
 */
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'

import {LabCli} from '../../support/lab-cli.js'
import {requireLabTools} from '../../support/netns.js'
import {CLOUD_TOPOLOGY, PROJECT, sdkSkip} from '../cloud/support.js'
import {type KubeconfigLab, jwtClaims, startKubeconfigLab} from './support.js'

const CLUSTER = 'c-native'
const OWNED = 'app.kubernetes.io/managed-by=xcc'
/** the lab's kube API of c-native grants tokens of at most 2 h (kube-apiserver's --service-account-max-token-expiration) */
const TOPOLOGY = CLOUD_TOPOLOGY.replace('  - name: c-native\n', '  - name: c-native\n    serviceAccountMaxTokenExpiration: 2h\n')

interface Generated {
  schemaVersion: number
  context: string
  expires?: string
  warnings: string[]
  created: string[]
  verification?: Array<{check: string; ok: boolean; detail: string}>
  verified?: boolean
  written?: {path: string; merged: boolean; preserved?: boolean; currentContext?: string}
  token?: string
}

describe('xcc kubeconfig against a lab, with kubectl', {skip: sdkSkip()}, () => {
  const cli = new LabCli()
  const home = cli.home()
  const lab = cli.lab('kc')
  const toolHome = mkdtempSync(join(tmpdir(), 'xcc-kc-home-'))
  const work = mkdtempSync(join(tmpdir(), 'xcc-kc-'))
  const kubeconfig = join(work, 'config')
  let t: KubeconfigLab

  before(() => {
    requireLabTools()
    assert.notEqual(TOPOLOGY, CLOUD_TOPOLOGY)
    t = startKubeconfigLab(cli, home, lab, toolHome, kubeconfig, TOPOLOGY)
  })
  after(() => {
    cli.cleanup()
    rmSync(toolHome, {recursive: true, force: true})
    rmSync(work, {recursive: true, force: true})
  })

  const generate = (args: readonly string[], extra?: Record<string, string>): {status: number | null; json: Generated; stderr: string; ms: number} => {
    const r = t.xcc(['kubeconfig', 'generate', ...(args.includes('--cluster') ? [] : ['--cluster', CLUSTER]), ...args, '--json'], extra)
    let json: Generated
    try {
      json = JSON.parse(r.stdout) as Generated
    } catch {
      throw new Error(`xcc printed no JSON (exit ${r.status}):\n${r.stdout}\n${r.stderr}`)
    }
    return {status: r.status, json, stderr: r.stderr, ms: r.ms}
  }
  const owned = async (): Promise<string> => {
    const kinds = ['serviceaccounts', 'secrets', 'clusterroles', 'clusterrolebindings', 'roles', 'rolebindings']
    const r = await t.admin(CLUSTER, ['get', kinds.join(','), '-A', '-l', OWNED, '-o', 'name'])
    assert.equal(r.code, 0, r.stderr)
    return r.stdout.trim()
  }
  /** the text without the list items that name `context` (an item: a `- ` line at column 0 and the indented lines after it) */
  const withoutItemsOf = (text: string, context: string): string => {
    const out: string[] = []
    let item: string[] | undefined
    const flush = (): void => {
      if (item && !item.some((l) => l.includes(context))) out.push(...item)
      item = undefined
    }
    for (const line of text.split('\n')) {
      if (line.startsWith('- ')) {
        flush()
        item = [line]
      } else if (item && line.startsWith(' ')) item.push(line)
      else {
        flush()
        out.push(line)
      }
    }
    flush()
    return out.join('\n')
  }
  const tokenOf = (file: string): string => /\n {4}token: (\S+)\n/.exec(readFileSync(file, 'utf8'))?.[1] ?? ''

  it('service-account + service-reader: kubectl reads Services, is refused Secrets; revoke makes the same read unauthorized at once', async () => {
    const file = join(work, 'gateway.kubeconfig')
    const r = generate(['--auth', 'service-account', '--role', 'service-reader', '--service-account', 'default/nginx-gw', '-o', file])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(r.json.verified, true)
    assert.deepEqual(r.json.verification?.filter((v) => !v.ok), [])
    assert.ok(r.json.verification?.some((v) => v.check === 'may not get secrets (cluster-wide)' && v.ok))
    assert.equal(r.json.verification?.find((v) => v.check.startsWith('who am I'))?.detail, 'system:serviceaccount:default:nginx-gw')
    const token = tokenOf(file)
    assert.ok(token.length > 20)
    assert.ok(!JSON.stringify(r.json).includes(token), '--json carries no token')
    assert.ok(!r.stderr.includes(token))
    assert.match(await owned(), /serviceaccount\/nginx-gw[\s\S]*secret\/xcc-kc-nginx-gw[\s\S]*clusterrole\.rbac\.authorization\.k8s\.io\/xcc-kc-default-nginx-gw/)

    const services = await t.kubectl(['--kubeconfig', file, 'get', 'services', '-A'])
    assert.equal(services.code, 0, services.stderr)
    const secrets = await t.kubectl(['--kubeconfig', file, 'get', 'secrets'])
    assert.notEqual(secrets.code, 0)
    assert.match(secrets.stderr, /Forbidden[\s\S]*system:serviceaccount:default:nginx-gw/)

    const list = t.xcc(['kubeconfig', 'list', '--cluster', CLUSTER, '--json'])
    assert.equal(list.status, 0, list.stderr)
    const entries = (JSON.parse(list.stdout) as {entries: Array<{serviceAccount: string; role: string; expires?: string}>}).entries
    assert.deepEqual(entries.map((e) => [e.serviceAccount, e.role, e.expires]), [['default/nginx-gw', 'service-reader', r.json.expires]])

    const revoke = t.xcc(['kubeconfig', 'revoke', '--cluster', CLUSTER, '--service-account', 'default/nginx-gw'])
    assert.equal(revoke.status, 0, revoke.stderr)
    const revokedAt = Date.now()
    const after = await t.kubectl(['--kubeconfig', file, 'get', 'services', '-A'])
    const within = Date.now() - revokedAt
    assert.notEqual(after.code, 0)
    assert.match(after.stderr, /Unauthorized/)
    assert.ok(within < 1000, `refused ${within} ms after revoke`)
    assert.equal(await owned(), '', 'revoke left nothing of xcc\'s')
    const again = t.xcc(['kubeconfig', 'revoke', '--cluster', CLUSTER, '--service-account', 'default/nginx-gw'])
    assert.equal(again.status, 2)
    assert.match(again.stderr, /no kubeconfig issued by xcc for serviceaccount default\/nginx-gw/)
  })

  it('revoke touches nothing it did not create', async () => {
    assert.equal((await t.admin(CLUSTER, ['create', 'serviceaccount', 'someone-else', '-n', 'default'])).code, 0)
    const r = t.xcc(['kubeconfig', 'revoke', '--cluster', CLUSTER, '--service-account', 'default/someone-else'])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /was not created by xcc kubeconfig generate/)
    assert.equal((await t.admin(CLUSTER, ['get', 'serviceaccount', 'someone-else', '-n', 'default'])).code, 0)
  })

  it('--ttl 1h: the token\'s exp is an hour away; a lab that caps tokens at 2 h makes --ttl 24h a warning with the granted expiry', async () => {
    const file = join(work, 'ttl.kubeconfig')
    const r = generate(['--auth', 'service-account', '--role', 'view', '--service-account', 'ttl-check', '--ttl', '1h', '-o', file])
    assert.equal(r.status, 0, r.stderr)
    const expires = Date.parse(r.json.expires ?? '')
    assert.ok(Math.abs(expires - (Date.now() + 3600_000)) < 120_000, `expires ${r.json.expires}`)
    assert.equal((jwtClaims(tokenOf(file))?.exp ?? 0) * 1000, expires, 'the printed expiry is the token\'s exp')
    assert.deepEqual(r.json.warnings, [])
    // this lab's kube API grants at most 2 h
    const long = generate(['--auth', 'service-account', '--role', 'view', '--service-account', 'ttl-check', '--ttl', '24h', '--force', '-o', file])
    assert.equal(long.status, 0, long.stderr)
    const granted = Date.parse(long.json.expires ?? '')
    assert.ok(Math.abs(granted - (Date.now() + 2 * 3600_000)) < 120_000, `granted ${long.json.expires}`)
    assert.equal((jwtClaims(tokenOf(file))?.exp ?? 0) * 1000, granted)
    assert.match(long.json.warnings.join('\n'), new RegExp(`granted a shorter token than asked: it expires at ${long.json.expires}`))
    assert.equal(t.xcc(['kubeconfig', 'revoke', '--cluster', CLUSTER, '--service-account', 'ttl-check']).status, 0)
  })

  it('--ttl never: a legacy token Secret, said so; list shows it never expires and when it was last used; revoke ends it', async () => {
    const file = join(work, 'never.kubeconfig')
    const r = generate(['--auth', 'service-account', '--role', 'service-reader', '--service-account', 'forever', '--ttl', 'never', '-o', file])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.json.expires, 'never')
    assert.match(r.json.warnings.join(), /never expires/)
    assert.match(r.json.created.join(), /secret kube-system\/xcc-kc-forever-token/)
    assert.equal((await t.kubectl(['--kubeconfig', file, 'get', 'services', '-A'])).code, 0)
    const list = t.xcc(['kubeconfig', 'list', '--cluster', CLUSTER, '--json'])
    const entry = (JSON.parse(list.stdout) as {entries: Array<{serviceAccount: string; expires?: string; lastUsed?: string}>}).entries.find((e) => e.serviceAccount === 'kube-system/forever')
    assert.equal(entry?.expires, 'never')
    assert.match(entry?.lastUsed ?? '', /^\d{4}-\d{2}-\d{2}$/, 'kubernetes.io/legacy-token-last-used')
    assert.equal(t.xcc(['kubeconfig', 'revoke', '--cluster', CLUSTER, '--service-account', 'forever']).status, 0)
    assert.match((await t.kubectl(['--kubeconfig', file, 'get', 'services', '-A'])).stderr, /Unauthorized/)
  })

  it('--merge into a kubectl-written kubeconfig with three contexts: they stay byte for byte, current-context unchanged; two merges at once both land', async () => {
    const file = join(work, 'merged.config')
    const other = join(work, 'second.config')
    writeFileSync(other, '')
    const k = (args: string[]): Promise<unknown> => t.kubectl(['--kubeconfig', file, 'config', ...args])
    for (const n of ['one', 'two', 'three']) {
      await k(['set-cluster', n, `--server=https://10.0.0.${n.length}:443`, '--insecure-skip-tls-verify=true'])
      await k(['set-credentials', n, `--token=token-${n}`])
      await k(['set-context', n, `--cluster=${n}`, `--user=${n}`, '--namespace=ns-' + n])
    }
    await k(['use-context', 'two'])
    const before = readFileSync(file, 'utf8')
    const context = `gke_${PROJECT}_us-west1-a_${CLUSTER}`
    const views = async (): Promise<string[]> => Promise.all(['one', 'two', 'three'].map(async (c) => (await t.kubectl(['--kubeconfig', file, 'config', 'view', '--raw', '--minify', '--context', c])).stdout))
    const viewsBefore = await views()
    // the first file of KUBECONFIG is the one merged into
    const r = generate(['--auth', 'token', '--merge'], {KUBECONFIG: `${file}:${other}`})
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.json.written?.path, file)
    assert.equal(r.json.written?.preserved, true)
    assert.equal(r.json.written?.currentContext, 'two')
    assert.equal(readFileSync(other, 'utf8'), '')
    const after = readFileSync(file, 'utf8')
    assert.equal(statSync(file).mode & 0o777, 0o600)
    assert.equal(withoutItemsOf(after, context), before, 'the old file, byte for byte, once the new items are taken out')
    assert.deepEqual(await views(), viewsBefore)
    assert.equal((await t.kubectl(['--kubeconfig', file, 'config', 'current-context'])).stdout.trim(), 'two')
    const works = await t.kubectl(['--kubeconfig', file, '--context', context, 'get', 'namespaces'])
    assert.equal(works.code, 0, works.stderr)

    const collision = generate(['--auth', 'token', '--merge', file])
    assert.equal(collision.status, 2)
    assert.equal(readFileSync(file, 'utf8'), after)
    const saCollision = generate(['--auth', 'service-account', '--role', 'view', '--merge', file])
    assert.equal(saCollision.status, 2)
    assert.match(JSON.stringify(saCollision.json), /already has cluster/)
    assert.equal(await owned(), '', 'refused before anything was created')

    const [a, b] = await Promise.all(['ci-a', 'ci-b'].map((name) => t.xccAsync(['kubeconfig', 'generate', '--cluster', CLUSTER, '--auth', 'token', '--merge', file, '--context-name', name, '--no-verify'])))
    assert.equal(a?.code, 0, a?.stderr)
    assert.equal(b?.code, 0, b?.stderr)
    const names = (await t.kubectl(['--kubeconfig', file, 'config', 'get-contexts', '-o', 'name'])).stdout.trim().split('\n').sort()
    assert.deepEqual(names, ['ci-a', 'ci-b', context, 'one', 'three', 'two'].sort())
    assert.deepEqual(await views(), viewsBefore)

    const use = generate(['--auth', 'token', '--merge', file, '--context-name', 'ci-c', '--use-context', '--no-verify'])
    assert.equal(use.status, 0, use.stderr)
    assert.equal((await t.kubectl(['--kubeconfig', file, 'config', 'current-context'])).stdout.trim(), 'ci-c')
  })

  it('--auth token and --auth exec files work with kubectl (the exec one through gke-gcloud-auth-plugin)', async () => {
    for (const auth of ['token', 'exec']) {
      const file = join(work, `${auth}.kubeconfig`)
      const r = generate(['--auth', auth, '-o', file])
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.json.verified, true)
      const nodes = await t.kubectl(['--kubeconfig', file, 'get', 'nodes', '-o', 'name'])
      assert.equal(nodes.code, 0, nodes.stderr)
      assert.match(nodes.stdout, /node\/native-node-1/)
    }
    assert.match(readFileSync(join(work, 'exec.kubeconfig'), 'utf8'), /command: gke-gcloud-auth-plugin/)
    const missing = generate(['--auth', 'exec', '-o', join(work, 'exec2.kubeconfig'), '--no-verify'], {PATH: join(work, 'no-such-bin')})
    assert.equal(missing.status, 0, missing.stderr)
    assert.match(missing.json.warnings.join(), /gke-gcloud-auth-plugin is not on the PATH/)
  })

  it('--endpoint internal is the private endpoint (it works with kubectl); --endpoint dns has no CA, and an unreachable server fails the verification clearly', async () => {
    const file = join(work, 'internal.kubeconfig')
    const internal = generate(['--auth', 'token', '--endpoint', 'internal', '-o', file])
    assert.equal(internal.status, 0, internal.stderr)
    assert.match(readFileSync(file, 'utf8'), /server: https:\/\/127\.0\.0\.2:\d+\n/)
    assert.equal((await t.kubectl(['--kubeconfig', file, 'get', 'namespaces'])).code, 0)
    const dnsFile = join(work, 'dns.kubeconfig')
    const dns = generate(['--auth', 'token', '--endpoint', 'dns', '-o', dnsFile])
    const text = readFileSync(dnsFile, 'utf8')
    assert.doesNotMatch(text, /certificate-authority/)
    assert.match(text, /server: https:\/\/gke-[0-9a-f]+-[a-z0-9-]+\.us-west1\.gke\.goog:\d+\n/)
    // the lab does not resolve the DNS endpoint: the verification says the server cannot be reached
    assert.equal(dns.status, 1)
    assert.equal(dns.json.verified, false)
    assert.match(dns.json.verification?.[0]?.detail ?? '', /cannot reach/)
  })

  it('--namespace grants the role there only; ingress-nginx verifies every rule, its leader lease by name included', async () => {
    const file = join(work, 'ns.kubeconfig')
    const r = generate(['--auth', 'service-account', '--role', 'service-reader', '--namespace', 'default', '--service-account', 'ns-reader', '-o', file])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.json.created.join(), /role default\/xcc-kc-ns-reader,rolebinding default\/xcc-kc-ns-reader/)
    assert.equal((await t.kubectl(['--kubeconfig', file, 'get', 'services'])).code, 0, 'the context\'s namespace is the first --namespace')
    assert.match((await t.kubectl(['--kubeconfig', file, 'get', 'services', '-n', 'kube-system'])).stderr, /Forbidden/)
    assert.equal(t.xcc(['kubeconfig', 'revoke', '--cluster', CLUSTER, '--service-account', 'ns-reader']).status, 0)
    const nginx = generate(['--auth', 'service-account', '--role', 'ingress-nginx', '--service-account', 'ingress/nginx', '-o', join(work, 'nginx.kubeconfig')])
    assert.equal(nginx.status, 2)
    assert.match(JSON.stringify(nginx.json), /namespace ingress does not exist/)
    assert.equal(await owned(), '')
    const controller = generate(['--auth', 'service-account', '--role', 'ingress-nginx', '--service-account', 'nginx', '-o', join(work, 'nginx.kubeconfig')])
    assert.equal(controller.status, 0, controller.stderr)
    assert.equal(controller.json.verified, true, JSON.stringify(controller.json.verification?.filter((v) => !v.ok)))
    assert.ok(controller.json.verification?.some((v) => v.check.includes('ingress-nginx-leader') && v.ok))
    assert.equal(t.xcc(['kubeconfig', 'revoke', '--cluster', CLUSTER, '--service-account', 'nginx']).status, 0)
    const out = t.xcc(['kubeconfig', 'generate', '--cluster', CLUSTER, '--auth', 'token', '-o', '-', '--no-verify', '--json'])
    const json = JSON.parse(out.stdout) as {kubeconfig: string}
    assert.match(json.kubeconfig, /token: '?<redacted/)
  })

  it('--dry-run -o yaml prints the objects and creates nothing; --show-token lets the token into --json', async () => {
    const r = t.xcc(['kubeconfig', 'generate', '--cluster', CLUSTER, '--auth', 'service-account', '--role', 'ingress-nginx', '--namespace', 'ingress', '--dry-run', '-o', 'yaml'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /kind: ServiceAccount[\s\S]*kind: Role\n[\s\S]*namespace: ingress[\s\S]*kind: RoleBinding/)
    assert.equal(await owned(), '')
    const shown = generate(['--auth', 'token', '-o', join(work, 'shown.kubeconfig'), '--show-token', '--no-verify'])
    assert.equal(shown.json.token, tokenOf(join(work, 'shown.kubeconfig')))
  })

  it('bad input is exit 2 naming it, a caller without the RBAC permission exit 3 naming it; nothing is created', async () => {
    const unknown = generate(['--cluster', 'nope'])
    assert.equal(unknown.status, 2)
    assert.match(JSON.stringify(unknown.json), /no GKE cluster \\"nope\\"/)
    const location = generate(['--location', 'us-east1-b'])
    assert.equal(location.status, 2)
    assert.match(JSON.stringify(location.json), /us-east1-b/)
    const sa = ['--auth', 'service-account', '--role', 'service-reader']
    const unwritable = generate([...sa, '-o', join(work, 'no-such-dir', 'x.kubeconfig')])
    assert.equal(unwritable.status, 2)
    assert.match(JSON.stringify(unwritable.json), /its directory does not exist/)
    writeFileSync(join(work, 'rules.yaml'), '- apiGroups: [""]\n  resources: [pods]\n  verbs: [get, lisst]\n')
    const verb = generate(['--auth', 'service-account', '--role', join(work, 'rules.yaml')])
    assert.equal(verb.status, 2)
    assert.match(JSON.stringify(verb.json), /rules\[0\]\.verbs: unknown verb \\"lisst\\"/)
    const viewer = generate([...sa, '-o', join(work, 'viewer.kubeconfig')], {CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(t.cloud.dir, 'cloud-viewer.token')})
    assert.equal(viewer.status, 3)
    assert.match(JSON.stringify(viewer.json), /missing permission: create serviceaccounts in namespace kube-system/)
    assert.equal(await owned(), '', 'nothing half-created')
  })

  it('a failure after some objects exist (RBAC refuses a role the caller does not hold) deletes them again', async () => {
    // the viewer may create and delete what a kubeconfig needs, but may not delete configmaps: granting it is an escalation
    const grant = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kc-issuer}
rules:
- {apiGroups: [""], resources: [serviceaccounts, secrets], verbs: [create, delete, get, patch]}
- {apiGroups: [""], resources: [serviceaccounts/token], verbs: [create]}
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles, clusterrolebindings], verbs: [create, delete, get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kc-issuer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kc-issuer}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: lab-viewer@${PROJECT}.iam.gserviceaccount.com}]
`
    writeFileSync(join(work, 'grant.yaml'), grant)
    const applied = await t.admin(CLUSTER, ['apply', '-f', join(work, 'grant.yaml')])
    assert.equal(applied.code, 0, applied.stderr)
    writeFileSync(join(work, 'configmap-deleter.yaml'), '- {apiGroups: [""], resources: [configmaps], verbs: [delete]}\n')
    const r = generate(['--auth', 'service-account', '--role', join(work, 'configmap-deleter.yaml'), '--service-account', 'escalated', '-o', join(work, 'escalated.kubeconfig')], {CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(t.cloud.dir, 'cloud-viewer.token')})
    assert.equal(r.status, 3)
    assert.match(JSON.stringify(r.json), /creating clusterrole(binding)? xcc-kc-kube-system-escalated in context [^ ]+ is forbidden/)
    assert.equal(await owned(), '', 'the objects created before the refusal were deleted again')
    assert.equal((await t.admin(CLUSTER, ['delete', '-f', join(work, 'grant.yaml')])).code, 0)
  })

  it('points out legacy auth in the kubeconfig with the command that replaces it', () => {
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters:\n- {name: gw, cluster: {server: "https://10.1.2.3"}}\ncontexts:\n- {name: gke_${PROJECT}_us-west1-a_gw, context: {cluster: gw, user: cert}}\nusers:\n- {name: cert, user: {client-certificate-data: QQ==, client-key-data: QQ==}}\n`)
    const r = t.xcc(['kubeconfig', 'generate', '--cluster', CLUSTER, '--auth', 'token', '-o', join(work, 'legacy.kubeconfig'), '--no-verify'])
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stderr, new RegExp(`legacy auth in ${kubeconfig}: context "gke_${PROJECT}_us-west1-a_gw" authenticates to a GKE cluster with a client certificate[^\\n]*replace it with: xcc kubeconfig generate --cluster gw --location us-west1-a --project ${PROJECT} --auth service-account`))
    rmSync(kubeconfig, {force: true})
  })

  it('benchmark: generate --auth service-account end to end, verification included', () => {
    const runs: number[] = []
    for (let i = 0; i < 3; i++) {
      const r = generate(['--auth', 'service-account', '--role', 'service-reader', '--service-account', 'bench', '--force', '-o', join(work, 'bench.kubeconfig')])
      assert.equal(r.status, 0, r.stderr)
      runs.push(r.ms)
    }
    const best = Math.min(...runs)
    process.stderr.write(`kubeconfig generate --auth service-account (verified), end to end: ${runs.join(' ms, ')} ms (best ${best} ms)\n`)
    assert.ok(best < 10_000)
    assert.equal(t.xcc(['kubeconfig', 'revoke', '--cluster', CLUSTER, '--service-account', 'bench']).status, 0)
  })
})
