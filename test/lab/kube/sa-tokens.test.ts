/**
 * ServiceAccount tokens over HTTPS as kube-apiserver issues and checks them: TokenRequest
 * (defaults, validation, audiences, bound Secret/Pod objects, the lifetime cap) gives RS256 JWTs
 * that verify with the cluster's published key (/openid/v1/jwks) and carry kube-apiserver's
 * claims; a token stops authenticating (401 Status) the moment its ServiceAccount, bound object or
 * legacy Secret is gone, when it expired, was meant for another audience, or was forged.
 */
import assert from 'node:assert/strict'
import {createPublicKey, generateKeyPairSync, randomUUID, verify} from 'node:crypto'
import {request} from 'node:https'
import {after, before, describe, it} from 'node:test'

import {signJwt, signingKey} from '../../../src/lab/kube/tokens/jwt.js'
import {type TestCluster, eventually, startTestCluster} from './cluster.js'

const ISSUER = 'https://container.googleapis.com/v1/projects/xcc-lab/locations/us-west1/clusters/test'
const CAP = 48 * 3600
const SIGNING_KEY = generateKeyPairSync('rsa', {modulusLength: 2048}).privateKey.export({type: 'pkcs8', format: 'pem'}) as string
const UNAUTHORIZED = {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401}

let cluster: TestCluster

// JSON bodies read as the tests read them
type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

interface Reply {
  code: number
  body: Json
}

/** one request with a bearer token (undefined: the admin client certificate) */
function call(method: string, path: string, token: string | undefined, body?: unknown, host = '127.0.0.1', port = cluster.server.port): Promise<Reply> {
  const {pki} = cluster
  const auth = token === undefined ? {cert: pki.admin.cert, key: pki.admin.key} : {headers: {Authorization: `Bearer ${token}`}}
  return new Promise((resolve, reject) => {
    const req = request({host, port, path, method, ca: pki.ca.cert, ...auth, headers: {...('headers' in auth ? auth.headers : {}), 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json'}}, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => (text += chunk.toString()))
      res.on('end', () => resolve({code: res.statusCode ?? 0, body: text ? JSON.parse(text) : {}}))
    })
    req.on('error', reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

const admin = (method: string, path: string, body?: unknown) => call(method, path, undefined, body)
const whoami = (token: string) => call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', token, {apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview'})
const claimsOf = (token: string): Json => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())
const headerOf = (token: string): Json => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())

async function tokenRequest(sa: string, spec: Record<string, unknown>): Promise<Reply> {
  return admin('POST', `/api/v1/namespaces/default/serviceaccounts/${sa}/token`, {apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec})
}

async function createSa(name: string): Promise<string> {
  const created = await admin('POST', '/api/v1/namespaces/default/serviceaccounts', {metadata: {name}})
  assert.equal(created.code, 201)
  return created.body.metadata.uid as string
}

before(async () => {
  cluster = await startTestCluster({serviceAccounts: {signingKey: SIGNING_KEY, issuer: ISSUER, maxTokenExpirationSeconds: CAP}, extraHosts: ['127.0.0.2']})
})

after(async () => {
  await cluster?.close()
})

describe('TokenRequest', () => {
  it('issues an RS256 JWT signed by the cluster key (kid, jwks), with kube-apiserver claims and the 3600 s default', async () => {
    const uid = await createSa('robot')
    const before = Math.floor(Date.now() / 1000)
    const reply = await tokenRequest('robot', {})
    assert.equal(reply.code, 201)
    assert.deepEqual(reply.body.spec, {audiences: [ISSUER], expirationSeconds: 3600, boundObjectRef: null})
    const token = reply.body.status.token as string
    const header = headerOf(token)
    const claims = claimsOf(token)
    assert.deepEqual(Object.keys(claims).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'kubernetes.io', 'nbf', 'sub'])
    assert.equal(claims.iss, ISSUER)
    assert.equal(claims.sub, 'system:serviceaccount:default:robot')
    assert.deepEqual(claims.aud, [ISSUER])
    assert.ok(claims.iat >= before && claims.iat <= before + 5)
    assert.equal(claims.nbf, claims.iat)
    assert.equal(claims.exp, claims.iat + 3600)
    assert.match(claims.jti, /^[0-9a-f-]{36}$/)
    assert.deepEqual(claims['kubernetes.io'], {namespace: 'default', serviceaccount: {name: 'robot', uid}})
    assert.equal(reply.body.status.expirationTimestamp, new Date(claims.exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'))

    // the issuer discovery documents, readable by any ServiceAccount (system:service-account-issuer-discovery)
    const discovery = await call('GET', '/.well-known/openid-configuration', token)
    assert.equal(discovery.code, 200)
    assert.deepEqual(discovery.body, {issuer: ISSUER, jwks_uri: `${ISSUER}/openid/v1/jwks`, response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256']})
    const jwks = await call('GET', '/openid/v1/jwks', token)
    assert.equal(jwks.code, 200)
    const [jwk] = jwks.body.keys as Array<Record<string, string>>
    assert.deepEqual([header.alg, header.kid], ['RS256', jwk!.kid])
    assert.equal(jwk!.kid, (await signingKey(SIGNING_KEY)).kid)
    const [h, p, s] = token.split('.') as [string, string, string]
    assert.ok(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), createPublicKey({key: jwk as never, format: 'jwk'}), Buffer.from(s, 'base64url')), 'the signature verifies with the published key')

    const me = await whoami(token)
    assert.equal(me.code, 201)
    assert.deepEqual(me.body.status.userInfo, {
      username: 'system:serviceaccount:default:robot', uid,
      groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'],
      extra: {'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`]},
    })
  })

  it('refuses lifetimes below 10 minutes or above 2^32 s (422 Invalid, as the real API) and caps long ones to the configured maximum', async () => {
    const short = await tokenRequest('robot', {expirationSeconds: 599})
    assert.equal(short.code, 422)
    assert.equal(short.body.reason, 'Invalid')
    assert.equal(short.body.message, 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes')
    const long = await tokenRequest('robot', {expirationSeconds: 2 ** 32 + 1})
    assert.equal(long.code, 422)
    assert.match(long.body.message, /may not specify a duration larger than 2\^32 seconds/)
    assert.equal((await tokenRequest('robot', {expirationSeconds: 600})).code, 201)

    const year = await tokenRequest('robot', {expirationSeconds: 365 * 86400})
    assert.equal(year.code, 201)
    assert.equal(year.body.spec.expirationSeconds, CAP)
    const claims = claimsOf(year.body.status.token)
    assert.equal(claims.exp - claims.iat, CAP, 'the token says what was granted')
    assert.ok(Math.abs(Date.parse(year.body.status.expirationTimestamp) / 1000 - (Date.now() / 1000 + CAP)) < 5)
    const hour = await tokenRequest('robot', {expirationSeconds: 3600})
    assert.equal(claimsOf(hour.body.status.token).exp - claimsOf(hour.body.status.token).iat, 3600, 'below the cap, as asked')
    assert.equal((await tokenRequest('nobody', {})).code, 404)
  })

  it('binds to a Secret or a Pod that must exist (404), match the uid given (409), run as the ServiceAccount (400); other kinds are refused (400)', async () => {
    const secret = await admin('POST', '/api/v1/namespaces/default/secrets', {metadata: {name: 'robot-anchor'}})
    assert.equal(secret.code, 201)
    const bound = await tokenRequest('robot', {boundObjectRef: {apiVersion: 'v1', kind: 'Secret', name: 'robot-anchor'}})
    assert.equal(bound.code, 201)
    assert.deepEqual(claimsOf(bound.body.status.token)['kubernetes.io'].secret, {name: 'robot-anchor', uid: secret.body.metadata.uid})
    assert.equal((await tokenRequest('robot', {boundObjectRef: {apiVersion: 'v1', kind: 'Secret', name: 'robot-anchor', uid: secret.body.metadata.uid}})).code, 201)

    const missing = await tokenRequest('robot', {boundObjectRef: {apiVersion: 'v1', kind: 'Secret', name: 'nope'}})
    assert.deepEqual([missing.code, missing.body.message], [404, 'secrets "nope" not found'])
    const stale = await tokenRequest('robot', {boundObjectRef: {apiVersion: 'v1', kind: 'Secret', name: 'robot-anchor', uid: randomUUID()}})
    assert.equal(stale.code, 409)
    assert.match(stale.body.message, /^Operation cannot be fulfilled on Secret "robot-anchor": the UID in the bound object reference \(.+\) does not match the UID in record/)
    const other = await tokenRequest('robot', {boundObjectRef: {apiVersion: 'v1', kind: 'ConfigMap', name: 'x'}})
    assert.deepEqual([other.code, other.body.message], [400, 'cannot bind token for object of type /v1, Kind=ConfigMap'])

    await admin('POST', '/api/v1/namespaces/default/pods', {metadata: {name: 'not-robot'}, spec: {containers: [{name: 'main', command: ['sleep', '300']}]}})
    const wrongSa = await tokenRequest('robot', {boundObjectRef: {apiVersion: 'v1', kind: 'Pod', name: 'not-robot'}})
    assert.deepEqual([wrongSa.code, wrongSa.body.message], [400, 'cannot bind token for serviceaccount "robot" to pod running with different serviceaccount name.'])
  })
})

describe('validating tokens', () => {
  it('a Secret-bound token dies with its Secret (401 Status at once); a Node-bound one with its Node; a Pod-bound one with its Pod, and says which pod and node', async () => {
    await admin('POST', '/api/v1/namespaces/default/secrets', {metadata: {name: 'short-anchor'}})
    const token = (await tokenRequest('robot', {boundObjectRef: {apiVersion: 'v1', kind: 'Secret', name: 'short-anchor'}})).body.status.token as string
    assert.equal((await whoami(token)).code, 201)
    assert.equal((await admin('DELETE', '/api/v1/namespaces/default/secrets/short-anchor')).code, 200)
    const started = performance.now()
    const refused = await whoami(token)
    const ms = performance.now() - started
    assert.deepEqual([refused.code, refused.body], [401, UNAUTHORIZED])
    assert.ok(ms < 1000, `refused within a second (${ms.toFixed(0)} ms)`)
    // a Secret of the same name is another object
    await admin('POST', '/api/v1/namespaces/default/secrets', {metadata: {name: 'short-anchor'}})
    assert.equal((await whoami(token)).code, 401)

    const nodeC = (await admin('POST', '/api/v1/nodes', {metadata: {name: 'node-c'}})).body
    const nodeToken = (await tokenRequest('robot', {boundObjectRef: {apiVersion: 'v1', kind: 'Node', name: 'node-c'}})).body.status.token as string
    assert.deepEqual(claimsOf(nodeToken)['kubernetes.io'].node, {name: 'node-c', uid: nodeC.metadata.uid})
    assert.deepEqual((await whoami(nodeToken)).body.status.userInfo.extra['authentication.kubernetes.io/node-name'], ['node-c'])
    assert.equal((await admin('DELETE', '/api/v1/nodes/node-c')).code, 200)
    assert.equal((await whoami(nodeToken)).code, 401, 'a Node-bound token dies with its Node')

    await admin('POST', '/api/v1/namespaces/default/pods', {metadata: {name: 'robot-pod'}, spec: {serviceAccountName: 'robot', containers: [{name: 'main', command: ['sleep', '300']}]}})
    const pod = await eventually('robot-pod scheduled', async () => {
      const got = await admin('GET', '/api/v1/namespaces/default/pods/robot-pod')
      return got.body.spec?.nodeName ? got.body : undefined
    })
    const node = (await admin('GET', `/api/v1/nodes/${pod.spec.nodeName}`)).body
    const podToken = (await tokenRequest('robot', {boundObjectRef: {apiVersion: 'v1', kind: 'Pod', name: 'robot-pod'}})).body.status.token as string
    const k8s = claimsOf(podToken)['kubernetes.io']
    assert.deepEqual([k8s.pod, k8s.node], [{name: 'robot-pod', uid: pod.metadata.uid}, {name: node.metadata.name, uid: node.metadata.uid}])
    const me = await whoami(podToken)
    assert.deepEqual(me.body.status.userInfo.extra, {
      'authentication.kubernetes.io/credential-id': [`JTI=${claimsOf(podToken).jti}`],
      'authentication.kubernetes.io/node-name': [node.metadata.name], 'authentication.kubernetes.io/node-uid': [node.metadata.uid],
      'authentication.kubernetes.io/pod-name': ['robot-pod'], 'authentication.kubernetes.io/pod-uid': [pod.metadata.uid],
    })
    await admin('DELETE', '/api/v1/namespaces/default/pods/robot-pod?gracePeriodSeconds=0')
    await eventually('robot-pod gone', async () => (await admin('GET', '/api/v1/namespaces/default/pods/robot-pod')).code === 404)
    assert.equal((await whoami(podToken)).code, 401)
  })

  it('refuses another audience, an expired token, a forged one, and every token of a deleted (or recreated) ServiceAccount', async () => {
    const uid = await createSa('doomed')
    const other = (await tokenRequest('doomed', {audiences: ['vault']})).body.status.token as string
    assert.deepEqual(claimsOf(other).aud, ['vault'])
    assert.equal((await whoami(other)).code, 401, 'a token for another audience is not for the API')

    const key = await signingKey(SIGNING_KEY)
    const now = Math.floor(Date.now() / 1000)
    const claims = {aud: [ISSUER], iat: now - 7200, nbf: now - 7200, exp: now + 3600, iss: ISSUER, jti: randomUUID(), 'kubernetes.io': {namespace: 'default', serviceaccount: {name: 'doomed', uid}}, sub: 'system:serviceaccount:default:doomed'}
    assert.equal((await whoami(signJwt(key, claims))).code, 201, 'control: the same claims, unexpired, with the cluster key')
    assert.deepEqual(await whoami(signJwt(key, {...claims, exp: now - 1})), {code: 401, body: UNAUTHORIZED})
    assert.equal((await whoami(signJwt(key, {...claims, iss: 'https://elsewhere'}))).code, 401)
    assert.equal((await whoami(signJwt(await signingKey(), claims))).code, 401, 'signed by another key')
    const good = signJwt(key, claims)
    const [h, , s] = good.split('.')
    const tampered = `${h}.${Buffer.from(JSON.stringify({...claims, sub: 'system:serviceaccount:default:robot'})).toString('base64url')}.${s}`
    assert.equal((await whoami(tampered)).code, 401, 'claims changed after signing')

    const plain = (await tokenRequest('doomed', {})).body.status.token as string
    assert.equal((await whoami(plain)).code, 201)
    assert.equal((await admin('DELETE', '/api/v1/namespaces/default/serviceaccounts/doomed')).code, 200)
    assert.equal((await whoami(plain)).code, 401)
    await createSa('doomed')
    assert.equal((await whoami(plain)).code, 401, 'a new ServiceAccount of the same name has another uid')
  })
})

describe('legacy token Secrets', () => {
  it('the token controller fills a token Secret (legacy JWT, ca.crt, namespace); its use is labelled by date; it dies with the Secret or the ServiceAccount', async () => {
    const uid = await createSa('legacy')
    assert.equal((await admin('POST', '/api/v1/namespaces/default/secrets', {metadata: {name: 'legacy-token', annotations: {'kubernetes.io/service-account.name': 'legacy'}}, type: 'kubernetes.io/service-account-token'})).code, 201)
    const secret = await eventually('the Secret filled', async () => {
      const got = await admin('GET', '/api/v1/namespaces/default/secrets/legacy-token')
      return got.body.data?.token ? got.body : undefined
    })
    assert.equal(secret.metadata.annotations['kubernetes.io/service-account.uid'], uid)
    assert.equal(Buffer.from(secret.data['ca.crt'], 'base64').toString(), cluster.pki.ca.cert)
    assert.equal(Buffer.from(secret.data.namespace, 'base64').toString(), 'default')
    assert.equal(secret.metadata.labels?.['kubernetes.io/legacy-token-last-used'], undefined, 'not used yet')
    const token = Buffer.from(secret.data.token, 'base64').toString()
    assert.deepEqual(claimsOf(token), {
      iss: 'kubernetes/serviceaccount', 'kubernetes.io/serviceaccount/namespace': 'default', 'kubernetes.io/serviceaccount/secret.name': 'legacy-token',
      'kubernetes.io/serviceaccount/service-account.name': 'legacy', 'kubernetes.io/serviceaccount/service-account.uid': uid, sub: 'system:serviceaccount:default:legacy',
    })
    const me = await whoami(token)
    assert.equal(me.code, 201)
    assert.deepEqual(me.body.status.userInfo, {username: 'system:serviceaccount:default:legacy', uid, groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']})
    const labelled = await admin('GET', '/api/v1/namespaces/default/secrets/legacy-token')
    assert.equal(labelled.body.metadata.labels['kubernetes.io/legacy-token-last-used'], new Date().toISOString().slice(0, 10))

    // marked invalid (as the legacy token cleaner marks unused auto-generated tokens): refused until the label goes
    const invalidSince = (value: string | null) => call('PATCH', '/api/v1/namespaces/default/secrets/legacy-token', undefined, {metadata: {labels: {'kubernetes.io/legacy-token-invalid-since': value}}})
    assert.equal((await invalidSince('2026-01-01')).code, 200)
    assert.deepEqual(await whoami(token), {code: 401, body: UNAUTHORIZED})
    assert.equal((await invalidSince(null)).code, 200)
    assert.equal((await whoami(token)).code, 201)

    // a Secret holding another token no longer vouches for this one
    const patched = await call('PATCH', '/api/v1/namespaces/default/secrets/legacy-token', undefined, {data: {token: Buffer.from('replaced').toString('base64')}})
    assert.equal(patched.code, 200)
    assert.equal((await whoami(token)).code, 401)

    assert.equal((await admin('POST', '/api/v1/namespaces/default/secrets', {metadata: {name: 'legacy-token-2', annotations: {'kubernetes.io/service-account.name': 'legacy'}}, type: 'kubernetes.io/service-account-token'})).code, 201)
    const second = await eventually('the second Secret filled', async () => (await admin('GET', '/api/v1/namespaces/default/secrets/legacy-token-2')).body.data?.token as string | undefined)
    const token2 = Buffer.from(second, 'base64').toString()
    assert.equal((await whoami(token2)).code, 201)
    assert.equal((await admin('DELETE', '/api/v1/namespaces/default/secrets/legacy-token-2')).code, 200)
    assert.deepEqual(await whoami(token2), {code: 401, body: UNAUTHORIZED}, 'deleting the Secret invalidates its token at once')

    assert.equal((await admin('POST', '/api/v1/namespaces/default/secrets', {metadata: {name: 'legacy-token-3', annotations: {'kubernetes.io/service-account.name': 'legacy'}}, type: 'kubernetes.io/service-account-token'})).code, 201)
    const third = Buffer.from(await eventually('the third Secret filled', async () => (await admin('GET', '/api/v1/namespaces/default/secrets/legacy-token-3')).body.data?.token as string | undefined), 'base64').toString()
    assert.equal((await whoami(third)).code, 201)
    await admin('DELETE', '/api/v1/namespaces/default/serviceaccounts/legacy')
    assert.equal((await whoami(third)).code, 401)
    await eventually('the token controller deletes the orphaned Secret', async () => (await admin('GET', '/api/v1/namespaces/default/secrets/legacy-token-3')).code === 404)
  })
})

describe('a second listening address', () => {
  it('the same API answers on 127.0.0.2 (the private endpoint), same port, with a certificate valid for it', async () => {
    assert.deepEqual(cluster.server.extraEndpoints, [`127.0.0.2:${cluster.server.port}`])
    const reply = await call('GET', '/api/v1/namespaces/default/serviceaccounts/robot', undefined, undefined, '127.0.0.2')
    assert.equal(reply.code, 200)
    assert.equal(reply.body.metadata.name, 'robot')
  })
})
