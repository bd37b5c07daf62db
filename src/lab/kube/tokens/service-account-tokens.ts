/**
 * ServiceAccount tokens as kube-apiserver issues and checks them (pkg/serviceaccount):
 * - bound tokens (TokenRequest): `iss` the cluster's issuer, `sub`
 *   `system:serviceaccount:NS:NAME`, `aud`, `iat`/`nbf`/`exp`, `jti`, and the `kubernetes.io`
 *   claim naming the namespace, the ServiceAccount and the object the token is bound to (a
 *   Secret, a Pod with its Node, or a Node), each with its uid;
 * - legacy tokens (the token controller's Secrets): `iss` `kubernetes/serviceaccount`, no expiry,
 *   the `kubernetes.io/serviceaccount/*` claims.
 * A token authenticates only while it is signed by this cluster's key, unexpired, meant for this
 * API (one of its audiences), and while its ServiceAccount and bound object still exist with the
 * uids it names; a legacy token only while its Secret exists and still holds it. A legacy token's
 * use labels its Secret `kubernetes.io/legacy-token-last-used: <UTC date>` (k8s ≥ 1.29).
 */
import {randomUUID, timingSafeEqual} from 'node:crypto'

import type {ObjectStore} from '../store.js'
import {type KubeObject, isPlainObject} from '../types.js'
import {type Claims, type SigningKey, signJwt, verifyJwt} from './jwt.js'

export const SA_TOKEN_TYPE = 'kubernetes.io/service-account-token'
export const LEGACY_ISSUER = 'kubernetes/serviceaccount'
export const LAST_USED_LABEL = 'kubernetes.io/legacy-token-last-used'
export const INVALID_SINCE_LABEL = 'kubernetes.io/legacy-token-invalid-since'
/** kube-apiserver's default issuer and API audience */
export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local'
/** leeway for iat/nbf, as kube-apiserver allows clock skew */
const LEEWAY_SECONDS = 60

export interface UserInfo {
  username: string
  uid?: string
  groups: string[]
  extra?: Record<string, string[]>
}

export type BoundKind = 'Secret' | 'Pod' | 'Node'

export interface BoundTokenRequest {
  readonly audiences: readonly string[]
  readonly expirationSeconds: number
  /** the object the token lives and dies with, and (for a Pod) the Node it runs on */
  readonly bound?: {readonly kind: BoundKind; readonly object: KubeObject; readonly node?: KubeObject}
}

const ref = (o: KubeObject): {name: string; uid: string} => ({name: o.metadata.name!, uid: o.metadata.uid!})
const str = (value: unknown): string => (typeof value === 'string' ? value : '')
const today = (offsetDays = 0): string => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10)

export class ServiceAccountTokens {
  readonly issuer: string
  readonly apiAudiences: readonly string[]
  private readonly store: ObjectStore
  private readonly key: SigningKey

  constructor(store: ObjectStore, key: SigningKey, options: {issuer?: string; apiAudiences?: readonly string[]} = {}) {
    this.store = store
    this.key = key
    this.issuer = options.issuer ?? DEFAULT_ISSUER
    this.apiAudiences = options.apiAudiences && options.apiAudiences.length > 0 ? options.apiAudiences : [this.issuer]
  }

  private live(resource: 'serviceaccounts' | 'secrets' | 'pods' | 'nodes', namespace: string | undefined, name: string, uid: string): KubeObject | undefined {
    const object = this.store.get(this.store.registry.get(resource), namespace, name)
    return object && !object.metadata.deletionTimestamp && object.metadata.uid === uid ? object : undefined
  }

  /** `/.well-known/openid-configuration`, as kube-apiserver serves it (ServiceAccountIssuerDiscovery) */
  openidConfiguration(): Record<string, unknown> {
    return {
      issuer: this.issuer, jwks_uri: `${this.issuer.replace(/\/+$/, '')}/openid/v1/jwks`,
      response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'],
    }
  }

  /** `/openid/v1/jwks`: the public key that verifies this cluster's tokens */
  jwks(): {keys: Array<Record<string, unknown>>} {
    const jwk = this.key.publicKey.export({format: 'jwk'})
    return {keys: [{use: 'sig', kty: 'RSA', kid: this.key.kid, alg: 'RS256', n: jwk.n, e: jwk.e}]}
  }

  /** A bound token (TokenRequest); `exp` is now + expirationSeconds. */
  issueBound(sa: KubeObject, request: BoundTokenRequest): {token: string; expires: Date} {
    const now = Math.floor(Date.now() / 1000)
    const k8s: Record<string, unknown> = {namespace: sa.metadata.namespace, serviceaccount: ref(sa)}
    const bound = request.bound
    if (bound?.kind === 'Secret') k8s.secret = ref(bound.object)
    if (bound?.kind === 'Pod') {
      k8s.pod = ref(bound.object)
      if (bound.node) k8s.node = ref(bound.node)
    }
    if (bound?.kind === 'Node') k8s.node = ref(bound.object)
    const exp = now + request.expirationSeconds
    const claims: Claims = {
      aud: [...request.audiences], exp, iat: now, iss: this.issuer, jti: randomUUID(),
      'kubernetes.io': k8s, nbf: now, sub: `system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}`,
    }
    return {token: signJwt(this.key, claims), expires: new Date(exp * 1000)}
  }

  /** A legacy token for a token Secret of the ServiceAccount (no expiry). */
  issueLegacy(sa: KubeObject, secretName: string): string {
    const namespace = sa.metadata.namespace!
    return signJwt(this.key, {
      iss: LEGACY_ISSUER,
      'kubernetes.io/serviceaccount/namespace': namespace,
      'kubernetes.io/serviceaccount/secret.name': secretName,
      'kubernetes.io/serviceaccount/service-account.name': sa.metadata.name,
      'kubernetes.io/serviceaccount/service-account.uid': sa.metadata.uid,
      sub: `system:serviceaccount:${namespace}:${sa.metadata.name}`,
    })
  }

  /** The user a token stands for, or undefined (→ 401) when it does not (or no longer) authenticate. */
  authenticate(token: string): UserInfo | undefined {
    const claims = verifyJwt(this.key, token)
    if (!claims) return undefined
    if (claims.iss === LEGACY_ISSUER) return this.legacy(token, claims)
    if (claims.iss === this.issuer) return this.bound(claims)
    return undefined
  }

  private user(namespace: string, sa: KubeObject, extra?: Record<string, string[]>): UserInfo {
    return {
      username: `system:serviceaccount:${namespace}:${sa.metadata.name}`,
      uid: sa.metadata.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
      ...(extra && Object.keys(extra).length > 0 ? {extra} : {}),
    }
  }

  private bound(claims: Claims): UserInfo | undefined {
    const now = Math.floor(Date.now() / 1000)
    if (typeof claims.exp !== 'number' || now >= claims.exp) return undefined
    if (typeof claims.nbf === 'number' && claims.nbf > now + LEEWAY_SECONDS) return undefined
    if (typeof claims.iat === 'number' && claims.iat > now + LEEWAY_SECONDS) return undefined
    const aud = Array.isArray(claims.aud) ? claims.aud : typeof claims.aud === 'string' ? [claims.aud] : []
    if (!aud.some((a) => this.apiAudiences.includes(str(a)))) return undefined
    const k8s = isPlainObject(claims['kubernetes.io']) ? claims['kubernetes.io'] : undefined
    const namespace = str(k8s?.namespace)
    const named = (value: unknown): {name: string; uid: string} | undefined =>
      isPlainObject(value) && str(value.name) && str(value.uid) ? {name: str(value.name), uid: str(value.uid)} : undefined
    const saRef = named(k8s?.serviceaccount)
    if (!namespace || !saRef || claims.sub !== `system:serviceaccount:${namespace}:${saRef.name}`) return undefined
    const sa = this.live('serviceaccounts', namespace, saRef.name, saRef.uid)
    if (!sa) return undefined
    const extra: Record<string, string[]> = {}
    const secret = named(k8s?.secret)
    if (k8s?.secret !== undefined && (!secret || !this.live('secrets', namespace, secret.name, secret.uid))) return undefined
    const pod = named(k8s?.pod)
    if (k8s?.pod !== undefined && (!pod || !this.live('pods', namespace, pod.name, pod.uid))) return undefined
    const node = named(k8s?.node)
    // a token bound to a Node dies with it; a Pod's Node is only information (as kube-apiserver)
    if (k8s?.node !== undefined && k8s?.pod === undefined && (!node || !this.live('nodes', undefined, node.name, node.uid))) return undefined
    if (pod) {
      extra['authentication.kubernetes.io/pod-name'] = [pod.name]
      extra['authentication.kubernetes.io/pod-uid'] = [pod.uid]
    }
    if (typeof claims.jti === 'string' && claims.jti) extra['authentication.kubernetes.io/credential-id'] = [`JTI=${claims.jti}`]
    if (node) {
      extra['authentication.kubernetes.io/node-name'] = [node.name]
      extra['authentication.kubernetes.io/node-uid'] = [node.uid]
    }
    return this.user(namespace, sa, extra)
  }

  private legacy(token: string, claims: Claims): UserInfo | undefined {
    const namespace = str(claims['kubernetes.io/serviceaccount/namespace'])
    const secretName = str(claims['kubernetes.io/serviceaccount/secret.name'])
    const saName = str(claims['kubernetes.io/serviceaccount/service-account.name'])
    const saUid = str(claims['kubernetes.io/serviceaccount/service-account.uid'])
    if (!namespace || !secretName || !saName || !saUid || claims.sub !== `system:serviceaccount:${namespace}:${saName}`) return undefined
    const secrets = this.store.registry.get('secrets')
    const secret = this.store.get(secrets, namespace, secretName)
    if (!secret || secret.metadata.deletionTimestamp) return undefined
    const stored = isPlainObject(secret.data) ? Buffer.from(str(secret.data.token), 'base64') : Buffer.alloc(0)
    const given = Buffer.from(token)
    if (stored.length !== given.length || !timingSafeEqual(stored, given)) return undefined
    const sa = this.live('serviceaccounts', namespace, saName, saUid)
    if (!sa) return undefined
    const invalid = secret.metadata.labels?.[INVALID_SINCE_LABEL]
    this.markUsed(secret)
    if (invalid) return undefined
    return this.user(namespace, sa)
  }

  /** `kubernetes.io/legacy-token-last-used: <today>` on the Secret, unless already today's (or tomorrow's) */
  private markUsed(secret: KubeObject): void {
    const last = secret.metadata.labels?.[LAST_USED_LABEL]
    if (last === today() || last === today(1)) return
    try {
      this.store.mutate(this.store.registry.get('secrets'), secret.metadata.namespace, secret.metadata.name!, (draft) => {
        draft.metadata.labels = {...(draft.metadata.labels ?? {}), [LAST_USED_LABEL]: today()}
      })
    } catch {
      // deleted meanwhile: the next use finds it gone
    }
  }
}
