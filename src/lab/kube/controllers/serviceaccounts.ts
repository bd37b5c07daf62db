/**
 * The ServiceAccount and token controllers of kube-controller-manager (k8s ≥ 1.24):
 * - a `default` ServiceAccount in every namespace;
 * - a Secret of type `kubernetes.io/service-account-token` annotated
 *   `kubernetes.io/service-account.name` gets what is missing of `data.token` (a legacy,
 *   non-expiring JWT), `data.ca.crt` and `data.namespace`, and the annotation
 *   `kubernetes.io/service-account.uid`; no such Secret is made unasked (LegacyServiceAccountTokenNoAutoGeneration);
 * - a token Secret whose ServiceAccount is gone (or another one of the same name) is deleted.
 * Tokens themselves are issued and checked by tokens/service-account-tokens.ts.
 */
import type {ObjectStore, StoreEvent} from '../store.js'
import {type KubeObject, isPlainObject} from '../types.js'
import {SA_TOKEN_TYPE, type ServiceAccountTokens} from '../tokens/service-account-tokens.js'
import {StoreController} from './store-controller.js'

export {SA_TOKEN_TYPE}
export type {UserInfo} from '../tokens/service-account-tokens.js'
export const NAME_ANNOTATION = 'kubernetes.io/service-account.name'
export const UID_ANNOTATION = 'kubernetes.io/service-account.uid'

const b64 = (text: string): string => Buffer.from(text).toString('base64')

export class ServiceAccountController extends StoreController {
  private readonly caCert: string
  private readonly tokens: ServiceAccountTokens

  constructor(store: ObjectStore, caCert: string, tokens: ServiceAccountTokens) {
    super(store)
    this.caCert = caCert
    this.tokens = tokens
  }

  private type(name: 'namespaces' | 'serviceaccounts' | 'secrets') {
    return this.store.registry.get(name)
  }

  start(): void {
    this.watch((event: StoreEvent) => this.observe(event))
    for (const ns of this.store.list(this.type('namespaces'))) this.queue.add(`ns/${ns.metadata.name}`)
    for (const secret of this.store.list(this.type('secrets'))) this.queueSecret(secret)
  }

  private queueSecret(secret: KubeObject): void {
    if (secret.type === SA_TOKEN_TYPE) this.queue.add(`secret/${secret.metadata.namespace}/${secret.metadata.name}`)
  }

  private observe(event: StoreEvent): void {
    const {object} = event
    if (event.resource === this.type('namespaces') && event.type !== 'DELETED') this.queue.add(`ns/${object.metadata.name}`)
    else if (event.resource === this.type('serviceaccounts')) {
      // a ServiceAccount gone or replaced: its token Secrets go (or get filled, for a new one)
      for (const secret of this.store.list(this.type('secrets'), object.metadata.namespace)) {
        if (secret.metadata.annotations?.[NAME_ANNOTATION] === object.metadata.name) this.queueSecret(secret)
      }
    } else if (event.resource === this.type('secrets') && event.type !== 'DELETED') this.queueSecret(object)
  }

  protected handle(key: string): void {
    const [kind, namespace, name] = key.split('/') as [string, string, string?]
    if (kind === 'ns') this.ensureDefault(namespace)
    else this.syncSecret(namespace, name!)
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

  private syncSecret(namespace: string, name: string): void {
    const secrets = this.type('secrets')
    const secret = this.store.get(secrets, namespace, name)
    if (!secret || secret.type !== SA_TOKEN_TYPE || secret.metadata.deletionTimestamp) return
    const annotations = secret.metadata.annotations ?? {}
    const saName = annotations[NAME_ANNOTATION]
    if (!saName) return
    const sa = this.store.get(this.type('serviceaccounts'), namespace, saName)
    const wantUid = annotations[UID_ANNOTATION]
    if (!sa || sa.metadata.deletionTimestamp || (wantUid && wantUid !== sa.metadata.uid)) {
      try {
        this.store.remove(secrets, namespace, name)
      } catch {
        // gone already
      }
      return
    }
    const data = isPlainObject(secret.data) ? secret.data : {}
    const missing = (k: string): boolean => typeof data[k] !== 'string' || data[k] === ''
    if (!missing('token') && !missing('ca.crt') && !missing('namespace') && wantUid) return
    this.store.mutate(secrets, namespace, name, (draft) => {
      const current = isPlainObject(draft.data) ? {...draft.data} : {}
      if (missing('token')) current.token = b64(this.tokens.issueLegacy(sa, name))
      if (missing('ca.crt')) current['ca.crt'] = b64(this.caCert)
      if (missing('namespace')) current.namespace = b64(namespace)
      draft.data = current
      draft.metadata.annotations = {...(draft.metadata.annotations ?? {}), [UID_ANNOTATION]: sa.metadata.uid!}
    })
  }
}
