/**
 * ServiceAccounts and their tokens:
 * - a `default` ServiceAccount in every namespace;
 * - a `kubernetes.io/service-account-token` Secret per ServiceAccount (`<sa>-token-<random>`,
 *   data: token, ca.crt, namespace), also filling in such Secrets created empty by users;
 * - TokenRequests (`POST …/serviceaccounts/<name>/token`): short-lived tokens kept in memory;
 * - `authenticate(token)`: the user a bearer token stands for, while its ServiceAccount exists.
 * Tokens are random opaque strings (not JWTs); only their SHA-256 digests are used as keys.
 */
import {createHash, randomBytes} from 'node:crypto'

import type {ObjectStore, StoreEvent} from '../store.js'
import {randomSuffix} from '../store.js'
import {type KubeObject, isPlainObject} from '../types.js'
import {WorkQueue} from './queue.js'

export const SA_TOKEN_TYPE = 'kubernetes.io/service-account-token'
const NAME_ANNOTATION = 'kubernetes.io/service-account.name'
const UID_ANNOTATION = 'kubernetes.io/service-account.uid'

export interface UserInfo {
  username: string
  uid?: string
  groups: string[]
}

interface TokenOwner {
  namespace: string
  name: string
  uid: string
  /** epoch ms; undefined for Secret-based tokens */
  expires?: number
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

export class ServiceAccountController {
  private readonly store: ObjectStore
  private readonly caCert: string
  private readonly queue: WorkQueue
  private readonly secretTokens = new Map<string, TokenOwner>()
  private readonly requestedTokens = new Map<string, TokenOwner>()
  private unsubscribe?: () => void

  constructor(store: ObjectStore, caCert: string) {
    this.store = store
    this.caCert = caCert
    this.queue = new WorkQueue((key) => this.sync(key))
  }

  private type(name: 'namespaces' | 'serviceaccounts' | 'secrets') {
    return this.store.registry.get(name)
  }

  start(): void {
    this.unsubscribe = this.store.subscribe((event: StoreEvent) => this.observe(event))
    for (const ns of this.store.list(this.type('namespaces'))) this.queue.add(`ns/${ns.metadata.name}`)
    for (const sa of this.store.list(this.type('serviceaccounts'))) this.queue.add(`sa/${sa.metadata.namespace}/${sa.metadata.name}`)
    for (const secret of this.store.list(this.type('secrets'))) this.indexSecret(secret, false)
  }

  stop(): void {
    this.unsubscribe?.()
    this.queue.stop()
  }

  private observe(event: StoreEvent): void {
    const {object} = event
    if (event.resource === this.type('namespaces') && event.type !== 'DELETED') this.queue.add(`ns/${object.metadata.name}`)
    else if (event.resource === this.type('serviceaccounts')) {
      if (event.type === 'DELETED') this.queue.add(`gone/${object.metadata.namespace}/${object.metadata.name}/${object.metadata.uid}`)
      else this.queue.add(`sa/${object.metadata.namespace}/${object.metadata.name}`)
    } else if (event.resource === this.type('secrets')) {
      if (event.previous) this.indexSecret(event.previous, true)
      if (event.type !== 'DELETED') this.indexSecret(object, false)
      if (event.type !== 'DELETED' && object.type === SA_TOKEN_TYPE && !this.secretToken(object)) {
        const sa = object.metadata.annotations?.[NAME_ANNOTATION]
        if (sa) this.queue.add(`sa/${object.metadata.namespace}/${sa}`)
      }
    }
  }

  private secretToken(secret: KubeObject): string | undefined {
    const encoded = isPlainObject(secret.data) ? secret.data.token : undefined
    return typeof encoded === 'string' && encoded !== '' ? Buffer.from(encoded, 'base64').toString('utf8') : undefined
  }

  private indexSecret(secret: KubeObject, remove: boolean): void {
    if (secret.type !== SA_TOKEN_TYPE) return
    const token = this.secretToken(secret)
    const name = secret.metadata.annotations?.[NAME_ANNOTATION]
    if (!token || !name) return
    if (remove) this.secretTokens.delete(digest(token))
    else this.secretTokens.set(digest(token), {namespace: secret.metadata.namespace!, name, uid: secret.metadata.annotations?.[UID_ANNOTATION] ?? ''})
  }

  private sync(key: string): void {
    const [kind, namespace, name, uid] = key.split('/') as [string, string, string?, string?]
    if (kind === 'ns') return this.ensureDefault(namespace)
    if (kind === 'gone') return this.deleteTokens(namespace, name!, uid!)
    const sa = this.store.get(this.type('serviceaccounts'), namespace, name!)
    if (sa) this.ensureTokenSecret(sa)
  }

  private ensureDefault(namespace: string): void {
    const ns = this.store.get(this.type('namespaces'), undefined, namespace)
    if (!ns || ns.metadata.deletionTimestamp) return
    if (this.store.get(this.type('serviceaccounts'), namespace, 'default')) return
    try {
      this.store.create(this.type('serviceaccounts'), {metadata: {name: 'default', namespace}})
    } catch {
      // created meanwhile, or the namespace is going away
    }
  }

  private tokenData(namespace: string, token: string): Record<string, string> {
    return {
      token: Buffer.from(token).toString('base64'),
      'ca.crt': Buffer.from(this.caCert).toString('base64'),
      namespace: Buffer.from(namespace).toString('base64'),
    }
  }

  private ensureTokenSecret(sa: KubeObject): void {
    const namespace = sa.metadata.namespace!
    const secrets = this.type('secrets')
    const mine = this.store
      .list(secrets, namespace)
      .filter((s) => s.type === SA_TOKEN_TYPE && s.metadata.annotations?.[NAME_ANNOTATION] === sa.metadata.name)
    for (const secret of mine) {
      if (this.secretToken(secret)) continue
      // a token Secret created by a user: fill it in
      this.store.mutate(secrets, namespace, secret.metadata.name!, (draft) => {
        draft.data = {...(isPlainObject(draft.data) ? draft.data : {}), ...this.tokenData(namespace, newToken())}
        draft.metadata.annotations = {...(draft.metadata.annotations ?? {}), [UID_ANNOTATION]: sa.metadata.uid!}
      })
    }
    let secretName = mine.find((s) => s.metadata.annotations?.[UID_ANNOTATION] === sa.metadata.uid)?.metadata.name
    if (!secretName) {
      try {
        secretName = this.store.create(secrets, {
          metadata: {
            name: `${sa.metadata.name}-token-${randomSuffix()}`,
            namespace,
            annotations: {[NAME_ANNOTATION]: sa.metadata.name!, [UID_ANNOTATION]: sa.metadata.uid!},
          },
          type: SA_TOKEN_TYPE,
          data: this.tokenData(namespace, newToken()),
        }).metadata.name
      } catch {
        return
      }
    }
    const listed = Array.isArray(sa.secrets) ? (sa.secrets as Array<{name?: string}>) : []
    if (!listed.some((s) => s.name === secretName)) {
      this.store.mutate(this.type('serviceaccounts'), namespace, sa.metadata.name!, (draft) => {
        draft.secrets = [...(Array.isArray(draft.secrets) ? draft.secrets : []), {name: secretName}]
      })
    }
  }

  private deleteTokens(namespace: string, name: string, uid: string): void {
    const secrets = this.type('secrets')
    for (const secret of this.store.list(secrets, namespace)) {
      const annotations = secret.metadata.annotations ?? {}
      if (secret.type === SA_TOKEN_TYPE && annotations[NAME_ANNOTATION] === name && (annotations[UID_ANNOTATION] ?? uid) === uid) {
        this.store.remove(secrets, namespace, secret.metadata.name!)
      }
    }
    for (const [key, owner] of this.requestedTokens) if (owner.uid === uid) this.requestedTokens.delete(key)
  }

  /** A TokenRequest: a new token for the ServiceAccount, valid for `seconds`. */
  requestToken(sa: KubeObject, seconds: number): {token: string; expirationTimestamp: string} {
    for (const [key, owner] of this.requestedTokens) if (owner.expires! < Date.now()) this.requestedTokens.delete(key)
    const token = newToken()
    const expires = Date.now() + seconds * 1000
    this.requestedTokens.set(digest(token), {namespace: sa.metadata.namespace!, name: sa.metadata.name!, uid: sa.metadata.uid!, expires})
    return {token, expirationTimestamp: new Date(expires).toISOString().replace(/\.\d{3}Z$/, 'Z')}
  }

  authenticate(token: string): UserInfo | undefined {
    const key = digest(token)
    const owner = this.secretTokens.get(key) ?? this.requestedTokens.get(key)
    if (!owner || (owner.expires !== undefined && owner.expires < Date.now())) return undefined
    const sa = this.store.get(this.type('serviceaccounts'), owner.namespace, owner.name)
    if (!sa || (owner.uid && sa.metadata.uid !== owner.uid)) return undefined
    return {
      username: `system:serviceaccount:${owner.namespace}:${owner.name}`,
      uid: sa.metadata.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${owner.namespace}`, 'system:authenticated'],
    }
  }
}
