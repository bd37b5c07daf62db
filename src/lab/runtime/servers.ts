/** Echo servers (templates/lab/echo-server.sh) and connection probes inside lab namespaces. */
import {type ChildProcess, spawn} from 'node:child_process'
import {copyFileSync, chmodSync, mkdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {exec} from './exec.js'

/** templates/ of the installed package (src/lab/runtime → ../../../templates, same from dist/) */
export const TEMPLATES_DIR = fileURLToPath(new URL('../../../templates/', import.meta.url))
export const ECHO_SERVER = `${TEMPLATES_DIR}lab/echo-server.sh`

/** The argv that runs an echo server for `name` on `ports` (for pods: their container command). */
export function echoCommand(name: string, ports: readonly number[], script = ECHO_SERVER): string[] {
  return ['sh', script, name, ...ports.map(String)]
}

/**
 * Copies the echo server's scripts to `dir` (root's, mode 0755) and returns the server's path: a
 * pod that is not root may not be able to read the installed package (a clone in a home of mode
 * 0700), but it can read these.
 */
export function installEchoServer(dir: string): string {
  mkdirSync(dir, {recursive: true, mode: 0o755})
  chmodSync(dir, 0o755)
  for (const file of ['echo-server.sh', 'echo-reply.sh']) {
    copyFileSync(`${TEMPLATES_DIR}lab/${file}`, join(dir, file))
    chmodSync(join(dir, file), 0o755)
  }
  return join(dir, 'echo-server.sh')
}

/** Starts an echo server inside a namespace in its own process group (stop it with stopProcessGroup). */
export function startEchoServer(ns: string, name: string, ports: readonly number[]): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, ...echoCommand(name, ports)], {detached: true, stdio: 'ignore'})
  child.unref()
  return child
}

/**
 * Stops the listeners of `ports` that an echo server for `ref` runs in `ns` (the socat that
 * listens on each port, found by its command line and XCC_ECHO_NAME), leaving the rest of the
 * namespace alone: other ports' listeners, connections being answered, a host-network pod's
 * server, a startup script's processes. The echo server ends by itself once none is left.
 */
export async function stopEchoListeners(ns: string, ref: string, ports: readonly number[]): Promise<number> {
  const pids = await exec('ip', ['netns', 'pids', ns])
  let stopped = 0
  for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
    let argv: string[]
    let environ: string[]
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
    } catch {
      continue
    }
    if (!(argv[0] ?? '').endsWith('socat') || !environ.includes(`XCC_ECHO_NAME=${ref}`)) continue
    if (!argv.some((a) => /^EXEC:.*echo-reply\.sh$/.test(a))) continue
    if (!ports.some((p) => argv.some((a) => a.startsWith(`TCP-LISTEN:${p},`)))) continue
    try {
      process.kill(Number(pid), 'SIGTERM')
      stopped++
    } catch {
      // gone already
    }
  }
  return stopped
}

/** Waits (bounded) until `ns` listens on every TCP port of `ports`; true when it does. */
export async function waitForListeners(ns: string, ports: readonly number[], timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const r = await exec('ip', ['netns', 'exec', ns, 'ss', '-Htln'])
    const listening = new Set([...r.stdout.matchAll(/:(\d+)\s/g)].map((m) => Number(m[1])))
    if (ports.every((p) => listening.has(p))) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return false
}

export function stopProcessGroup(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // gone already
  }
}

export interface ProbeResult {
  /** connected and got the echo server's answer */
  readonly connected: boolean
  /** curl's exit code: 0 ok, 7 refused, 28 timed out */
  readonly code: number | null
  /** the client address the server saw */
  readonly clientAddress?: string
  readonly server?: string
  readonly output: string
}

/** A TCP connection (an HTTP GET to the echo server) from inside a namespace, bounded by `timeoutMs`. */
export async function probeTcp(ns: string, dst: string, port: number, options: {timeoutMs?: number; bind?: string} = {}): Promise<ProbeResult> {
  const seconds = ((options.timeoutMs ?? 1500) / 1000).toFixed(1)
  const args = ['netns', 'exec', ns, 'curl', '-sS', '--max-time', seconds, '--connect-timeout', seconds, ...(options.bind ? ['--interface', options.bind] : []), `http://${dst}:${port}/`]
  const result = await exec('ip', args, {timeoutMs: (options.timeoutMs ?? 1500) + 5000})
  const client = /client_address=(\S+)/.exec(result.stdout)?.[1]
  const server = /server=(\S+)/.exec(result.stdout)?.[1]
  return {connected: result.code === 0 && client !== undefined, code: result.code, ...(client ? {clientAddress: client} : {}), ...(server ? {server} : {}), output: (result.stdout + result.stderr).trim()}
}
