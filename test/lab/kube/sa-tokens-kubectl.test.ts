/**
 * ServiceAccount tokens with the real kubectl 1.32, the way `xcc kubeconfig generate
 * --auth service-account` uses them: a ServiceAccount with a service-reading role, `kubectl
 * create token --bound-object-kind Secret --duration 1h`, then `kubectl --token`: services
 * readable everywhere, secrets forbidden, `auth whoami` / `auth can-i` agreeing; revoking (the
 * anchor Secret, the bindings, the ServiceAccount) makes the same call Unauthorized at once; a
 * legacy token Secret works until deleted and records its last use; the lab's lifetime cap.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'

import {Kubectl, findKubectl, kubectlSkip} from '../../support/kubectl.js'
import {type TestCluster, eventually, startTestCluster} from './cluster.js'

const skip = kubectlSkip()
const CAP_SECONDS = 2 * 3600

describe('ServiceAccount tokens with kubectl 1.32', {skip}, () => {
  let cluster: TestCluster
  let kubectl: Kubectl
  let admin: string
  const k = (args: string[]): Promise<string> => kubectl.ok(admin, args)
  const claims = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>

  before(async () => {
    const found = findKubectl()
    if (!('path' in found)) throw new Error(found.missing)
    kubectl = new Kubectl(found.path)
    cluster = await startTestCluster({serviceAccounts: {maxTokenExpirationSeconds: CAP_SECONDS}})
    admin = cluster.kubeconfig()
    await k(['create', 'namespace', 'apps'])
    await k(['-n', 'apps', 'create', 'service', 'clusterip', 'web', '--tcp=80:8080'])
    await k(['-n', 'apps', 'create', 'secret', 'generic', 'db-password', '--from-literal=password=hunter2'])
  })

  after(async () => {
    await cluster?.close()
    kubectl?.dispose()
  })

  it('a bound token with a service-reader role: services everywhere, secrets forbidden; revoking makes the same call Unauthorized within a second', async (t) => {
    await k(['-n', 'kube-system', 'create', 'serviceaccount', 'reader'])
    await k(['create', 'clusterrole', 'service-reader', '--verb=get,list,watch', '--resource=services,endpoints'])
    await k(['create', 'clusterrolebinding', 'reader-services', '--clusterrole=service-reader', '--serviceaccount=kube-system:reader'])
    await k(['-n', 'kube-system', 'create', 'secret', 'generic', 'reader-anchor'])
    const token = (await k(['-n', 'kube-system', 'create', 'token', 'reader', '--bound-object-kind=Secret', '--bound-object-name=reader-anchor', '--duration=1h'])).trim()
    const c = claims(token)
    assert.equal((c.exp as number) - (c.iat as number), 3600, '--duration 1h: exp an hour after iat')
    assert.equal(((c['kubernetes.io'] as Record<string, Record<string, string>>).secret!).name, 'reader-anchor')
    const asReader = cluster.kubeconfig({token})

    const services = await kubectl.ok(asReader, ['get', 'services', '-A', '-o', 'name'])
    assert.match(services, /^service\/web$/m)
    const secrets = await kubectl.run(asReader, ['-n', 'apps', 'get', 'secrets'])
    assert.notEqual(secrets.code, 0)
    assert.match(secrets.stderr, /Error from server \(Forbidden\): secrets is forbidden: User "system:serviceaccount:kube-system:reader" cannot list resource "secrets" in API group "" in the namespace "apps"/)
    assert.equal(await kubectl.ok(asReader, ['auth', 'can-i', 'list', 'services', '-A']), 'yes\n')
    assert.equal((await kubectl.run(asReader, ['-n', 'apps', 'auth', 'can-i', 'get', 'secrets'])).stdout, 'no\n')
    const whoami = JSON.parse(await kubectl.ok(asReader, ['auth', 'whoami', '-o', 'json'])) as {status: {userInfo: Record<string, unknown>}}
    assert.equal(whoami.status.userInfo.username, 'system:serviceaccount:kube-system:reader')
    assert.deepEqual(whoami.status.userInfo.extra, {'authentication.kubernetes.io/credential-id': [`JTI=${c.jti as string}`]})

    // revoke as `xcc kubeconfig revoke` does: the anchor Secret (its tokens die at once), the binding, the ServiceAccount
    await k(['-n', 'kube-system', 'delete', 'secret', 'reader-anchor'])
    const refused = await kubectl.run(asReader, ['get', 'services', '-A'])
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /error: You must be logged in to the server \(Unauthorized\)/)
    assert.ok(refused.ms < 1000, `Unauthorized within a second of the revocation (${refused.ms.toFixed(0)} ms, kubectl included)`)
    t.diagnostic(`the first call after deleting the anchor Secret: Unauthorized in ${refused.ms.toFixed(0)} ms (kubectl run included)`)
    await k(['delete', 'clusterrolebinding', 'reader-services'])
    await k(['-n', 'kube-system', 'delete', 'serviceaccount', 'reader'])
    assert.match((await kubectl.run(asReader, ['get', 'services', '-A'])).stderr, /\(Unauthorized\)/)
  })

  it('the lab caps lifetimes (kube-apiserver --service-account-max-token-expiration) and kubectl refuses none below 10 minutes silently', async () => {
    await k(['-n', 'apps', 'create', 'serviceaccount', 'ci'])
    const long = (await k(['-n', 'apps', 'create', 'token', 'ci', '--duration=24h'])).trim()
    const c = claims(long)
    assert.equal((c.exp as number) - (c.iat as number), CAP_SECONDS, 'asked 24 h, granted the cap')
    const short = await kubectl.run(admin, ['-n', 'apps', 'create', 'token', 'ci', '--duration=5m'])
    assert.notEqual(short.code, 0)
    assert.match(short.stderr, /may not specify a duration less than 10 minutes/)
  })

  it('a legacy token Secret: kubectl applies it, the token controller fills it, the token works and its use is recorded; deleting the Secret ends it', async () => {
    await k(['-n', 'apps', 'create', 'serviceaccount', 'old-style'])
    await k(['-n', 'apps', 'create', 'rolebinding', 'old-style-view', '--clusterrole=view', '--serviceaccount=apps:old-style'])
    const manifest = {apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: {name: 'old-style-token', namespace: 'apps', annotations: {'kubernetes.io/service-account.name': 'old-style'}}}
    assert.match(await kubectl.ok(admin, ['apply', '-f', '-'], {input: JSON.stringify(manifest)}), /secret\/old-style-token created/)
    const encoded = await eventually('the token filled', async () => (await k(['-n', 'apps', 'get', 'secret', 'old-style-token', '-o', 'jsonpath={.data.token}'])) || undefined)
    const token = Buffer.from(encoded, 'base64').toString()
    assert.equal(claims(token).exp, undefined, 'a legacy token does not expire')
    const asOld = cluster.kubeconfig({token})
    assert.match(await kubectl.ok(asOld, ['-n', 'apps', 'get', 'services', '-o', 'name']), /^service\/web$/m)
    const label = await k(['-n', 'apps', 'get', 'secret', 'old-style-token', '-o', 'jsonpath={.metadata.labels.kubernetes\\.io/legacy-token-last-used}'])
    assert.equal(label, new Date().toISOString().slice(0, 10))
    await k(['-n', 'apps', 'delete', 'secret', 'old-style-token'])
    assert.match((await kubectl.run(asOld, ['-n', 'apps', 'get', 'services'])).stderr, /\(Unauthorized\)/)
  })
})
