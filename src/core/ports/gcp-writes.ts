/**
 * The Google Cloud write port: what `xcc link` creates, changes and deletes in Compute Engine v1.
 * Implemented by src/adapters/gcp (against the real API or a lab's emulator); by plain objects in
 * unit tests.
 *
 * Every call waits for its operation to finish. Inserts carry a `requestId` that is the same for
 * every retry of one call, so a retried insert never creates twice; 429/5xx are retried with
 * backoff within the caller's deadline. A resource that already exists on insert, or is already
 * gone on delete, is an outcome, not an error: that is what lets an interrupted run be finished by
 * running it again. Other failures are XccErrors (403 names the permission, exit 3).
 */

/** where a resource lives, as the API's URL says: `global`, `regions/R` or `zones/Z` */
export type ResourceScope =
  | {readonly kind: 'global'}
  | {readonly kind: 'region'; readonly name: string}
  | {readonly kind: 'zone'; readonly name: string}

/**
 * The kinds xcc writes. `peering` is a network's peering (networks.addPeering/updatePeering/
 * removePeering): its `parent` is the network's name and its `name` the peering's.
 * `healthCheck`, `backendService` and `forwardingRule` are regional (internal load balancers);
 * `instanceGroup` is an unmanaged, zonal group whose members are part of its desired body
 * (`instances`: instance URLs), added and removed with addInstances/removeInstances.
 */
export type WritableKind =
  | 'network'
  | 'subnetwork'
  | 'firewall'
  | 'route'
  | 'instance'
  | 'instanceGroup'
  | 'healthCheck'
  | 'backendService'
  | 'forwardingRule'
  | 'peering'

export interface ResourceRef {
  readonly kind: WritableKind
  readonly scope: ResourceScope
  readonly name: string
  /** `peering` only: the network the peering belongs to */
  readonly parent?: string
}

/** a resource as its insert takes it: REST field names, references as URLs relative to the project or absolute */
export interface DesiredResource extends ResourceRef {
  readonly body: Readonly<Record<string, unknown>>
}

export type WriteResult = 'created' | 'updated' | 'deleted' | 'already-exists' | 'already-gone'

export interface WriteOutcome {
  readonly ref: ResourceRef
  readonly result: WriteResult
  /** the operation's name, when one ran */
  readonly operation?: string
  /** HTTP requests made, including retries and operation polls */
  readonly requests: number
  readonly retries: number
}

export interface WriteOptions {
  /** aborts between requests (Ctrl-C); the call rejects with the signal's reason */
  readonly signal?: AbortSignal
}

export interface ComputeWriter {
  readonly project: string
  insert(resource: DesiredResource, options?: WriteOptions): Promise<WriteOutcome>
  /**
   * Changes an existing resource to match `resource.body` in the fields the kind can change in
   * place (firewall: patch; subnetwork: patch; backendService: patch; healthCheck: patch;
   * forwardingRule: allowGlobalAccess only; peering: updatePeering; instanceGroup: membership).
   * Kinds that cannot change in place (network, route, instance) are replaced by the planner.
   */
  update(resource: DesiredResource, options?: WriteOptions): Promise<WriteOutcome>
  delete(ref: ResourceRef, options?: WriteOptions): Promise<WriteOutcome>
}

/**
 * What IAM says the caller may do in the project (Cloud Resource Manager
 * `projects.testIamPermissions`): the subset of `permissions` the caller holds. `unavailable`
 * when IAM could not be asked (the call itself refused, or not implemented where the API is): the
 * caller then learns of a missing permission from the first refused write.
 */
export type PermissionAnswer = {readonly held: readonly string[]} | {readonly unavailable: string}

export interface IamApi {
  readonly project: string
  testPermissions(permissions: readonly string[]): Promise<PermissionAnswer>
}
