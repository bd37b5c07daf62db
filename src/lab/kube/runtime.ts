/**
 * The port through which the emulated kubelet runs pods. The lab implements it with network
 * namespaces (src/lab/runtime); `LocalProcessRuntime` (local-runtime.ts) runs plain local
 * processes for tests. Images are ignored: the host's binaries stand in for every image.
 *
 * Contract:
 * - `setupPodNetwork` is called once per pod that is not `hostNetwork`, before any container
 *   starts. A pod may carry the annotation `lab.xcc.dev/pod-ip` (POD_IP_ANNOTATION), an address
 *   the lab chose: the runtime must give the pod that address. It returns the pod IP.
 * - `teardownPodNetwork` is called once when the pod is deleted, after all its processes exited
 *   (also when `setupPodNetwork` failed halfway; it must tolerate a half-built pod).
 * - `start` starts one container process (init, regular or ephemeral container alike): in the
 *   node's network namespace when the pod is `hostNetwork`, else in the pod's. `env` is the container's whole environment (the runtime
 *   adds nothing from the host). The process must be killable as a whole (its children
 *   included) with `kill`. A command that cannot be executed should surface as a process that
 *   exits 127 with the reason on stderr, as a shell does.
 *   `identity` (controllers/security.ts) is who the process must be on the host: its uid, gid,
 *   groups and capabilities. A runtime that runs processes as root must apply it; one that runs
 *   them as the invoking user (LocalProcessRuntime) cannot and ignores it. A runtime may set
 *   HOME (when `env` has none) to a directory of the container's own, start the process there
 *   when `workingDir` is absent, and point TERMINATION_MESSAGE_ENV elsewhere (the kubelet still
 *   reads the file it named) — nothing else.
 * - `releasePod` (optional) is called once when the pod is gone: what the runtime kept for it
 *   (the containers' own directories) may go.
 * - `nodeAddress` (optional) is the node's own address, used as `status.hostIP` and as the
 *   pod IP of `hostNetwork` pods; without it the node's first InternalIP is used.
 */
import type {KubeObject} from './types.js'

export {POD_IP_ANNOTATION} from '../compile/kube-objects.js'

/** Set in every container's environment: the file whose contents become the termination message. */
export const TERMINATION_MESSAGE_ENV = 'XCC_TERMINATION_MESSAGE_PATH'

/** who a container's process is on the host (controllers/security.ts decides it) */
export interface ContainerIdentity {
  readonly uid: number
  readonly gid: number
  /** supplementary groups */
  readonly groups: readonly number[]
  /** capability names (NET_ADMIN, …): the process has these and no others */
  readonly capabilities: readonly string[]
  /** every capability, and the host's devices as root sees them */
  readonly privileged: boolean
  /** no_new_privs: exec never gains privileges (allowPrivilegeEscalation: false) */
  readonly noNewPrivileges: boolean
}

export interface ContainerStartSpec {
  pod: KubeObject
  node: KubeObject
  container: string
  command: string[]
  env: Record<string, string>
  workingDir?: string
  identity?: ContainerIdentity
}

export interface ProcessExit {
  code: number | null
  signal: string | null
}

export interface RunningProcess {
  readonly pid: number
  readonly stdout: NodeJS.ReadableStream
  readonly stderr: NodeJS.ReadableStream
  readonly exited: Promise<ProcessExit>
  kill(signal: NodeJS.Signals): void
}

export interface PodRuntime {
  setupPodNetwork(pod: KubeObject, node: KubeObject): Promise<{podIP: string}>
  teardownPodNetwork(pod: KubeObject, node: KubeObject): Promise<void>
  start(spec: ContainerStartSpec): RunningProcess
  releasePod?(pod: KubeObject): Promise<void>
  nodeAddress?(node: KubeObject): string | undefined
}
