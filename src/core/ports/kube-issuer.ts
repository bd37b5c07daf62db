/**
 * The Kubernetes port of `xcc kubeconfig`: what issuing, listing and revoking credentials needs
 * from a cluster (implemented by src/adapters/kube/issuer.ts on client-node), and what proving a
 * kubeconfig needs (version, who am I, access reviews). Failures are XccErrors as in kube.ts:
 * a 403 names the permission (exit 3), an unreachable server is exit 3; tokens never in messages.
 */
import type {ManifestObject} from '../kubeconfig/objects.js'
import type {AccessAnswer, AccessQuestion} from './kube.js'

export type IssuedKind = 'ServiceAccount' | 'Secret' | 'ClusterRole' | 'ClusterRoleBinding' | 'Role' | 'RoleBinding'

export interface IssuedObject {
  readonly kind: IssuedKind
  readonly metadata: {
    readonly name: string
    readonly namespace?: string
    readonly uid?: string
    readonly creationTimestamp?: string
    readonly labels?: Readonly<Record<string, string>>
    readonly annotations?: Readonly<Record<string, string>>
  }
  readonly type?: string
  /** a Secret's data (base64), for the legacy token */
  readonly data?: Readonly<Record<string, string>>
}

export interface IssuedToken {
  readonly token: string
  /** what the server granted (RFC 3339) */
  readonly expirationTimestamp: string
}

export interface KubeIssuer {
  readonly server: string
  create(object: ManifestObject): Promise<IssuedObject>
  /** undefined when it does not exist */
  read(kind: IssuedKind, namespace: string | undefined, name: string): Promise<IssuedObject | undefined>
  /** false when it was already gone */
  remove(kind: IssuedKind, namespace: string | undefined, name: string): Promise<boolean>
  /** every namespace when `namespace` is undefined (for namespaced kinds) */
  list(kind: IssuedKind, labelSelector: string, namespace?: string): Promise<IssuedObject[]>
  annotate(kind: IssuedKind, namespace: string | undefined, name: string, annotations: Readonly<Record<string, string>>): Promise<void>
  /** a TokenRequest, bound to a Secret when `boundSecret` is given */
  requestToken(namespace: string, serviceAccount: string, options: {readonly expirationSeconds: number; readonly boundSecret?: {readonly name: string; readonly uid: string}}): Promise<IssuedToken>
  canI(questions: readonly AccessQuestion[]): Promise<AccessAnswer[]>
  /** whether a namespace exists (a 403 counts as existing: creating in it will say what is missing) */
  namespaceExists(name: string): Promise<boolean>
}

export interface KubeProbe {
  /** gitVersion of /version */
  version(): Promise<string>
  /** SelfSubjectReview */
  whoami(): Promise<{readonly username: string; readonly groups: readonly string[]}>
  canI(questions: readonly AccessQuestion[]): Promise<AccessAnswer[]>
}
