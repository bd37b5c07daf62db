/**
 * Object lifecycle controllers:
 * - garbage collection: objects whose owners (ownerReferences) are all gone are deleted
 *   (background propagation); pods bound to a node that does not exist are deleted;
 * - namespaces: a namespace being deleted has everything in it deleted, then goes itself.
 */
import type {ClusterApi} from '../api.js'
import type {ResourceType} from '../resources.js'
import type {StoreEvent} from '../store.js'
import type {KubeObject, Pod} from '../types.js'
import {StoreController} from './store-controller.js'

function ignoreMissing(run: () => void): void {
  try {
    run()
  } catch (error) {
    if ((error as {code?: number}).code !== 404) throw error
  }
}

export class GarbageCollector extends StoreController {
  private readonly api: ClusterApi

  constructor(api: ClusterApi) {
    super(api.store)
    this.api = api
  }

  start(): void {
    this.watch((event: StoreEvent) => {
      if (event.type === 'DELETED') this.queue.add(`owner:${event.object.metadata.namespace ?? ''}`)
      if (event.resource.kind === 'Node' && event.resource.group === '' && event.type === 'DELETED') this.queue.add('orphans')
    })
    this.queue.add('owner:*')
    this.queue.add('orphans')
  }

  private stored(): ResourceType[] {
    return this.store.registry.all().filter((t) => !t.virtual)
  }

  /** Deletes dependents of objects that no longer exist, within one namespace ('' = all). */
  protected handle(key: string): void {
    if (key === 'orphans') return this.collectOrphanPods()
    const scope = key.slice('owner:'.length)
    const namespace = scope === '' || scope === '*' ? undefined : scope
    const uids = new Set<string>()
    for (const type of this.stored()) for (const object of this.store.list(type)) uids.add(object.metadata.uid!)
    for (const type of this.stored()) {
      for (const object of this.store.list(type, namespace)) {
        const owners = object.metadata.ownerReferences ?? []
        if (owners.length === 0 || object.metadata.deletionTimestamp) continue
        if (owners.every((owner) => !uids.has(owner.uid))) ignoreMissing(() => this.api.delete(type, object.metadata.namespace, object.metadata.name!))
      }
    }
  }

  private collectOrphanPods(): void {
    const nodes = new Set(this.store.list(this.store.registry.get('nodes')).map((n) => n.metadata.name))
    const pods = this.store.registry.get('pods')
    for (const pod of this.store.list(pods) as Pod[]) {
      if (pod.spec.nodeName && !nodes.has(pod.spec.nodeName)) ignoreMissing(() => this.api.delete(pods, pod.metadata.namespace, pod.metadata.name!, {gracePeriodSeconds: 0}))
    }
  }
}

export class NamespaceController extends StoreController {
  private readonly api: ClusterApi

  constructor(api: ClusterApi) {
    super(api.store)
    this.api = api
  }

  private get namespaces(): ResourceType {
    return this.store.registry.get('namespaces')
  }

  start(): void {
    this.watch((event: StoreEvent) => {
      if (event.resource === this.namespaces && event.object.metadata.deletionTimestamp) this.queue.add(event.object.metadata.name!)
      else if (event.type === 'DELETED' && event.resource.namespaced && event.object.metadata.namespace) {
        const ns = this.store.get(this.namespaces, undefined, event.object.metadata.namespace)
        if (ns?.metadata.deletionTimestamp) this.queue.add(ns.metadata.name!)
      }
    })
    for (const ns of this.store.list(this.namespaces)) if (ns.metadata.deletionTimestamp) this.queue.add(ns.metadata.name!)
  }

  protected handle(name: string): void {
    const ns = this.store.get(this.namespaces, undefined, name)
    if (!ns?.metadata.deletionTimestamp) return
    let remaining = 0
    for (const type of this.store.registry.all()) {
      if (!type.namespaced || type.virtual) continue
      for (const object of this.store.list(type, name) as KubeObject[]) {
        remaining++
        if (object.metadata.deletionTimestamp) continue
        ignoreMissing(() => this.api.delete(type, name, object.metadata.name!))
      }
    }
    if (remaining > 0) {
      // deleted at once: check again; graceful ones come back through their DELETED event
      const left = this.store.registry.all().some((t) => t.namespaced && !t.virtual && this.store.list(t, name).length > 0)
      if (left) return
    }
    if (this.store.get(this.namespaces, undefined, name)) this.store.remove(this.namespaces, undefined, name)
  }
}
