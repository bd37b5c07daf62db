/** What every request handler of the emulated API server works with. */
import type {ClusterApi} from '../api.js'
import type {RbacAuthorizer} from '../rbac/authorizer.js'
import type {ObjectStore} from '../store.js'
import type {TokenRequestOptions} from '../tokens/token-request.js'

export interface ServerContext {
  readonly api: ClusterApi
  readonly store: ObjectStore
  readonly authorizer: RbacAuthorizer
  /** ServiceAccount tokens: issuing (TokenRequest) and the lifetime cap */
  readonly tokenRequests: TokenRequestOptions
  readonly logDir: string
  /** closers of open streams (watches, followed logs), run when the server closes */
  readonly streams: Set<() => void>
}
