/**
 * How a write through the cloud APIs reaches the running lab. The store validates and persists
 * the new topology, then hands the data plane the models before and after; an operation is DONE
 * when `apply` resolves (and carries its error when it rejects). The incremental data plane
 * (src/lab/runtime) implements it: only what differs between the two models is touched.
 */
import type {Model} from '../../core/topology/model-types.js'
import type {Topology} from '../../core/topology/schema.js'

export interface DataPlaneHook {
  apply(before: Model, after: Model): Promise<void>
}

/** The top-level lists of the topology that differ between two models, for messages. */
export function changedParts(before: Model, after: Model): string[] {
  const keys = new Set([...Object.keys(before.topology), ...Object.keys(after.topology)]) as Set<keyof Topology>
  return [...keys].filter((key) => JSON.stringify(before.topology[key]) !== JSON.stringify(after.topology[key]))
}

/**
 * The hook of a lab without an incremental data plane: the topology changes (the APIs show it,
 * `topology.yaml` holds it), the namespaces and rules do not; the lab's log says so each time.
 */
export function unappliedDataPlane(log: (message: string) => void): DataPlaneHook & {readonly changes: ReadonlyArray<readonly string[]>} {
  const changes: string[][] = []
  return {
    changes,
    async apply(before, after) {
      const parts = changedParts(before, after)
      changes.push(parts)
      log(`cloud: the topology changed (${parts.join(', ') || 'nothing'}); the data plane was not updated (this lab has no incremental data plane)`)
    },
  }
}
