/**
 * What the lab's controllers share: the store they watch, a work queue of keys whose `handle`
 * reconciles one, and the subscription that feeds it; stop() ends both.
 */
import type {ObjectStore, StoreEvent} from '../store.js'
import {objectKey} from '../types.js'
import {type Backoff, WorkQueue} from './queue.js'

export abstract class StoreController {
  protected readonly store: ObjectStore
  protected readonly queue: WorkQueue
  private unsubscribe?: () => void

  constructor(store: ObjectStore, backoff?: Backoff) {
    this.store = store
    this.queue = new WorkQueue((key) => this.handle(key), undefined, backoff)
  }

  /** reconciles the object (or whatever the controller keys by) of one key */
  protected abstract handle(key: string): void | Promise<void>

  /** follows every store event until stop() */
  protected watch(listener: (event: StoreEvent) => void): void {
    this.unsubscribe = this.store.subscribe(listener)
  }

  /** an event of a pod (or any object) reconciles its controlling owner of this kind, if it has one */
  protected enqueueOwner(event: StoreEvent, kind: string): void {
    const owner = (event.object.metadata.ownerReferences ?? []).find((r) => r.controller && r.kind === kind)
    if (owner) this.queue.add(objectKey(event.object.metadata.namespace, owner.name))
  }

  stop(): void {
    this.unsubscribe?.()
    this.queue.stop()
  }
}
