/**
 * The write path shared by the HTTP handlers and the controllers: admission (defaults,
 * validation), patches, and deletion as Kubernetes does it — pods bound to a node and
 * namespaces are deleted gracefully (a deletionTimestamp first; the kubelet or the namespace
 * controller removes them), objects with finalizers wait for them, everything else goes at once.
 */
import {admitCreate, admitUpdate, type AdmissionContext} from './admission.js'
import {admitEphemeralContainers} from './ephemeral.js'
import {ApiError, badRequest, conflict, notFound} from './errors.js'
import {applyJsonPatch} from './patch/json-patch.js'
import {applyMergePatch} from './patch/merge-patch.js'
import {strategicSchemaFor} from './patch/schemas.js'
import {applyStrategicMergePatch} from './patch/strategic.js'
import {admitPodSecurity, significantPodUpdate, warnPodTemplate} from './podsecurity/admission.js'
import {apiVersionOf, type ResourceType} from './resources.js'
import {type ObjectStore, randomSuffix} from './store.js'
import {type KubeObject, type Pod, clone, isPlainObject} from './types.js'

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply'

export const PATCH_CONTENT_TYPES: Readonly<Record<string, PatchType>> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
}

export interface DeleteOptions {
  gracePeriodSeconds?: number
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground'
  preconditions?: {uid?: string; resourceVersion?: string}
  dryRun?: boolean
}

export interface MutationOptions {
  dryRun?: boolean
  subresource?: 'status' | 'ephemeralcontainers'
  /** admission warnings for the response (PodSecurity's `warn` level) are added here */
  warnings?: string[]
  /** a last check of the admitted object before it is stored (the handlers' RBAC escalation check) */
  guard?: (object: KubeObject, current: KubeObject | undefined) => void
}

const isCore = (type: ResourceType, resource: string): boolean => type.group === '' && type.resource === resource
/** workloads with a pod template: pod security warns about the template as it would about the pods */
const isDaemonSets = (type: ResourceType): boolean => type.group === 'apps' && (type.resource === 'daemonsets' || type.resource === 'deployments')

export class ClusterApi {
  readonly store: ObjectStore
  private readonly admission: AdmissionContext

  constructor(store: ObjectStore, serviceCidr: {base: number; size: number}) {
    this.store = store
    this.admission = {store, serviceCidr}
  }

  private checkBody(type: ResourceType, body: unknown, namespace: string | undefined): KubeObject {
    if (!isPlainObject(body)) throw badRequest('the request body must be a JSON or YAML object')
    const object = clone(body) as KubeObject
    const expected = apiVersionOf(type)
    if (object.apiVersion !== undefined && object.apiVersion !== expected) {
      throw badRequest(`the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${expected})`)
    }
    if (object.kind !== undefined && object.kind !== type.kind) {
      throw badRequest(`the kind in the data (${String(object.kind)}) does not match the expected kind (${type.kind})`)
    }
    object.apiVersion = expected
    object.kind = type.kind
    object.metadata = isPlainObject(object.metadata) ? object.metadata : {}
    if (type.namespaced) {
      if (object.metadata.namespace && namespace && object.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
      }
      object.metadata.namespace = namespace ?? object.metadata.namespace
    }
    return object
  }

  create(type: ResourceType, namespace: string | undefined, body: unknown, options: MutationOptions = {}): KubeObject {
    const checked = this.checkBody(type, body, namespace)
    // the name is generated before admission, so that admission messages can name the object
    if (!checked.metadata.name && checked.metadata.generateName) {
      do checked.metadata.name = `${checked.metadata.generateName}${randomSuffix()}`
      while (this.store.get(type, checked.metadata.namespace, checked.metadata.name))
    }
    const object = admitCreate(checked, this.admission)
    if (isCore(type, 'pods')) admitPodSecurity(this.store, object as Pod, options.warnings)
    if (isDaemonSets(type)) warnPodTemplate(this.store, object, options.warnings)
    options.guard?.(object, undefined)
    return this.store.create(type, object, {dryRun: options.dryRun})
  }

  update(type: ResourceType, namespace: string | undefined, name: string, body: unknown, options: MutationOptions = {}): KubeObject {
    const object = this.checkBody(type, body, namespace)
    if (object.metadata.name && object.metadata.name !== name) {
      throw badRequest(`the name of the object (${object.metadata.name}) does not match the name on the URL (${name})`)
    }
    object.metadata.name = name
    const current = this.store.get(type, namespace, name)
    if (!current) throw notFound(type, name)
    // as the real server: a stale resourceVersion is a conflict before any validation
    const wanted = object.metadata.resourceVersion
    if (wanted !== undefined && wanted !== '' && wanted !== current.metadata.resourceVersion) throw conflict(type, name)
    let admitted: KubeObject
    if (options.subresource === 'status') admitted = object
    else if (options.subresource === 'ephemeralcontainers') admitted = admitEphemeralContainers(object, current as Pod)
    else admitted = admitUpdate(object, current, this.admission)
    if (options.subresource !== 'status') {
      if (isCore(type, 'pods') && significantPodUpdate(admitted as Pod, current as Pod)) admitPodSecurity(this.store, admitted as Pod, options.warnings)
      if (isDaemonSets(type)) warnPodTemplate(this.store, admitted, options.warnings)
      options.guard?.(admitted, current)
    }
    const updated = this.store.replace(type, admitted, {dryRun: options.dryRun, subresource: options.subresource === 'status' ? 'status' : undefined})
    return this.finishIfReleased(type, updated)
  }

  /** Applies a patch to the stored object and stores the result; `apply` creates a missing object. */
  patch(type: ResourceType, namespace: string | undefined, name: string, patchType: PatchType, patch: unknown, options: MutationOptions = {}): {object: KubeObject; created: boolean} {
    const current = this.store.get(type, namespace, name)
    if (!current) {
      if (patchType !== 'apply' || options.subresource) throw notFound(type, name)
      const body = isPlainObject(patch) ? {...patch, metadata: {...(isPlainObject(patch.metadata) ? patch.metadata : {}), name}} : patch
      return {object: this.create(type, namespace, body, options), created: true}
    }
    let patched: unknown
    switch (patchType) {
      case 'json':
        patched = applyJsonPatch(current, patch)
        break
      case 'merge':
      case 'apply':
        if (!isPlainObject(patch)) throw badRequest('a merge patch must be a JSON object')
        patched = applyMergePatch(current, patch)
        break
      case 'strategic':
        patched = applyStrategicMergePatch(current, patch, strategicSchemaFor(type.kind))
        break
    }
    if (!isPlainObject(patched) || !isPlainObject(patched.metadata)) throw new ApiError(422, 'Invalid', 'the patched object has no metadata')
    // patches share unchanged parts with the stored (frozen) object
    const object = clone(patched) as KubeObject
    // a resourceVersion in the patch is a precondition; without one the patch applies to the current object
    const patchMeta = isPlainObject(patch) && isPlainObject(patch.metadata) ? patch.metadata : undefined
    object.metadata.resourceVersion = typeof patchMeta?.resourceVersion === 'string' ? patchMeta.resourceVersion : current.metadata.resourceVersion
    if (object.metadata.name !== name) throw badRequest(`the name of the object (${String(object.metadata.name)}) does not match the name on the URL (${name})`)
    return {object: this.update(type, namespace, name, object, options), created: false}
  }

  /** Deletes (or starts deleting) an object and returns it as it now is. */
  /** delete, where an object already gone is done (a controller cleaning up after another writer) */
  deleteIfPresent(type: ResourceType, namespace: string | undefined, name: string): void {
    try {
      this.delete(type, namespace, name)
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404)) throw error
    }
  }

  delete(type: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions = {}): KubeObject {
    const current = this.store.get(type, namespace, name)
    if (!current) throw notFound(type, name)
    const preconditions = {uid: options.preconditions?.uid, resourceVersion: options.preconditions?.resourceVersion}
    if (options.dryRun) return this.store.remove(type, namespace, name, {...preconditions, dryRun: true})
    if (options.propagationPolicy === 'Orphan') this.orphanDependents(current)
    if (type.resource === 'pods' && type.group === '' && (current as Pod).spec?.nodeName) {
      const pod = current as Pod
      const grace = Math.max(0, options.gracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30)
      if (preconditions.uid || preconditions.resourceVersion) this.store.remove(type, namespace, name, {...preconditions, dryRun: true})
      const shorter = current.metadata.deletionGracePeriodSeconds === undefined || grace < current.metadata.deletionGracePeriodSeconds
      if (current.metadata.deletionTimestamp && !shorter) return current
      return this.markDeleted(type, current, grace) ?? current
    }
    if ((type.resource === 'namespaces' && type.group === '') || (current.metadata.finalizers ?? []).length > 0) {
      if (current.metadata.deletionTimestamp) return current
      this.store.remove(type, namespace, name, {...preconditions, dryRun: true})
      return this.markDeleted(type, current, 0) ?? current
    }
    return this.store.remove(type, namespace, name, preconditions)
  }

  private markDeleted(type: ResourceType, current: KubeObject, grace: number): KubeObject | undefined {
    const when = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    return this.store.mutate(
      type,
      current.metadata.namespace,
      current.metadata.name!,
      (draft) => {
        draft.metadata.deletionTimestamp = when
        draft.metadata.deletionGracePeriodSeconds = grace
        if (type.kind === 'Namespace') draft.status = {...(isPlainObject(draft.status) ? draft.status : {}), phase: 'Terminating'}
      },
      {allowServerFields: true},
    )
  }

  /** An object being deleted whose finalizers are all gone is removed (pods and namespaces excepted: their controllers do it). */
  private finishIfReleased(type: ResourceType, object: KubeObject): KubeObject {
    const waitsForController = (type.group === '' && (type.resource === 'pods' || type.resource === 'namespaces'))
    if (!object.metadata.deletionTimestamp || waitsForController || (object.metadata.finalizers ?? []).length > 0) return object
    if (!this.store.get(type, object.metadata.namespace, object.metadata.name!)) return object
    return this.store.remove(type, object.metadata.namespace, object.metadata.name!)
  }

  private orphanDependents(owner: KubeObject): void {
    const uid = owner.metadata.uid
    for (const type of this.store.registry.all()) {
      if (type.virtual) continue
      for (const object of this.store.list(type, owner.metadata.namespace)) {
        if (!(object.metadata.ownerReferences ?? []).some((ref) => ref.uid === uid)) continue
        this.store.mutate(type, object.metadata.namespace, object.metadata.name!, (draft) => {
          draft.metadata.ownerReferences = (draft.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== uid)
          if (draft.metadata.ownerReferences.length === 0) delete draft.metadata.ownerReferences
        })
      }
    }
  }
}
