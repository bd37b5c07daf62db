/**
 * GCP runs one peering operation at a time on a network and its peer, and refuses a second with
 * "There is a peering operation in progress on the local or peer network" (wiring-anchors B1, B3;
 * terraform-provider-google#3026). Every peering call of this process (add, update, remove, each
 * until its operation is DONE) goes through this one queue, whichever writer makes it.
 */
let tail: Promise<unknown> = Promise.resolve()

/** runs `task` once every peering call queued before it has settled */
export function oneAtATime<T>(task: () => Promise<T>): Promise<T> {
  const run = tail.then(task, task)
  tail = run.catch(() => undefined)
  return run
}
