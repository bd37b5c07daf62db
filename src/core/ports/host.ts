/**
 * The host port: running a short script on a VM that is not a Kubernetes node (a gateway), for
 * captures. In a lab the VM is a network namespace (src/lab/instances.ts); in the cloud it would
 * be SSH, which xcc does not do yet (src/adapters/host).
 */

/** A capture (or any short script) running on a VM that is not a Kubernetes node. */
export interface RunningScript {
  /** everything the script printed so far (stdout and stderr interleaved) */
  output(): string
  /** resolves when the script has ended (by itself or stopped) */
  readonly done: Promise<{readonly code: number | null}>
  /** ends the script; idempotent */
  stop(): Promise<void>
}

/** Runs a script on an instance (a gateway VM): in the lab inside its namespace. */
export interface InstanceShell {
  /** why instances cannot be reached, or undefined when they can */
  readonly unavailable?: string
  start(instance: string, script: string, args: readonly string[]): Promise<RunningScript>
}
