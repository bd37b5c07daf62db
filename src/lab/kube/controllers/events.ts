/**
 * Records core/v1 Events (what `kubectl describe` shows under Events). Repeats of the same
 * reason and message for the same object bump `count`; the number of Events kept is bounded.
 */
import type {ObjectStore} from '../store.js'
import {randomSuffix} from '../store.js'
import {type KubeObject, nowIso} from '../types.js'

const MAX_EVENTS = 1000

export class EventRecorder {
  private readonly store: ObjectStore
  private readonly recent = new Map<string, {namespace: string; name: string}>()
  private readonly created: Array<{namespace: string; name: string}> = []

  constructor(store: ObjectStore) {
    this.store = store
  }

  record(object: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string, fieldPath?: string): void {
    const events = this.store.registry.get('events')
    const namespace = object.metadata.namespace ?? 'default'
    const now = nowIso()
    const dedupe = `${object.metadata.uid}/${reason}/${message}/${fieldPath ?? ''}`
    const seen = this.recent.get(dedupe)
    if (seen && this.store.get(events, seen.namespace, seen.name)) {
      this.store.mutate(events, seen.namespace, seen.name, (event) => {
        event.count = ((event.count as number | undefined) ?? 1) + 1
        event.lastTimestamp = now
      })
      return
    }
    try {
      const event = this.store.create(events, {
        metadata: {name: `${object.metadata.name}.${randomSuffix(10)}`, namespace},
        involvedObject: {
          kind: object.kind,
          namespace: object.metadata.namespace,
          name: object.metadata.name,
          uid: object.metadata.uid,
          apiVersion: object.apiVersion,
          resourceVersion: object.metadata.resourceVersion,
          ...(fieldPath ? {fieldPath} : {}),
        },
        reason,
        message,
        source: {component},
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type,
        reportingComponent: component,
        reportingInstance: '',
      })
      const ref = {namespace, name: event.metadata.name!}
      this.recent.set(dedupe, ref)
      this.created.push(ref)
      if (this.recent.size > MAX_EVENTS * 2) this.recent.clear()
      while (this.created.length > MAX_EVENTS) {
        const old = this.created.shift()!
        if (this.store.get(events, old.namespace, old.name)) this.store.remove(events, old.namespace, old.name)
      }
    } catch {
      // the namespace is going away, or the name is taken: an event is best effort
    }
  }
}
