/**
 * A PodRuntime without namespaces: every container is a plain local process (in its own
 * process group, so that killing it kills its children), and pod IPs are only labels — the
 * `lab.xcc.dev/pod-ip` annotation when present, else the next address of the node's podCIDR.
 * For tests, and for running the control plane without root: processes run as the invoking
 * user, so a container's identity (runAsUser, capabilities) is not applied — the lab's own
 * runtime (src/lab/runtime/pod-runtime.ts) applies it.
 */
import {spawn} from 'node:child_process'
import {PassThrough} from 'node:stream'

import {type ContainerStartSpec, POD_IP_ANNOTATION, type PodRuntime, type ProcessExit, type RunningProcess} from './runtime.js'
import type {KubeObject, NodeObject} from './types.js'

export interface LocalProcessRuntimeOptions {
  /** working directory of containers without workingDir (default `/`) */
  readonly defaultWorkingDir?: string
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0)
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')
}

export class LocalProcessRuntime implements PodRuntime {
  private readonly nextHost = new Map<string, number>()
  private readonly options: LocalProcessRuntimeOptions
  /** every process started and not yet exited, for `killAll` */
  private readonly live = new Set<RunningProcess>()

  constructor(options: LocalProcessRuntimeOptions = {}) {
    this.options = options
  }

  async setupPodNetwork(pod: KubeObject, node: KubeObject): Promise<{podIP: string}> {
    const chosen = pod.metadata.annotations?.[POD_IP_ANNOTATION]
    if (chosen) return {podIP: chosen}
    const cidr = (node as NodeObject).spec?.podCIDR ?? '10.244.0.0/24'
    const [base = '10.244.0.0'] = cidr.split('/')
    const host = (this.nextHost.get(cidr) ?? 1) + 1
    this.nextHost.set(cidr, host)
    return {podIP: intToIp(ipToInt(base) + host)}
  }

  async teardownPodNetwork(): Promise<void> {}

  start(spec: ContainerStartSpec): RunningProcess {
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    const [file, ...args] = spec.command
    let resolveExit!: (exit: ProcessExit) => void
    const exited = new Promise<ProcessExit>((resolve) => (resolveExit = resolve))
    if (!file) {
      stderr.end('no command to run\n')
      stdout.end()
      resolveExit({code: 127, signal: null})
      return {pid: 0, stdout, stderr, exited, kill: () => {}}
    }
    const child = spawn(file, args, {
      cwd: spec.workingDir ?? this.options.defaultWorkingDir ?? '/',
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    child.stdout.pipe(stdout)
    child.stderr.pipe(stderr)
    let done = false
    const running: RunningProcess = {
      pid: child.pid ?? 0,
      stdout,
      stderr,
      exited,
      kill: (signal) => {
        if (done || child.pid === undefined) return
        try {
          process.kill(-child.pid, signal)
        } catch {
          child.kill(signal)
        }
      },
    }
    this.live.add(running)
    const finish = (exit: ProcessExit): void => {
      if (done) return
      done = true
      this.live.delete(running)
      resolveExit(exit)
    }
    child.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ENOENT' ? `${file}: not found` : error.code === 'EACCES' ? `${file}: permission denied` : error.message
      stderr.write(`exec: ${reason}\n`)
      stdout.end()
      stderr.end()
      finish({code: error.code === 'EACCES' ? 126 : 127, signal: null})
    })
    child.once('exit', (code, signal) => finish({code, signal}))
    return running
  }

  /** Kills every process this runtime started that is still running (SIGKILL, whole groups). */
  killAll(): void {
    for (const running of this.live) running.kill('SIGKILL')
  }
}
