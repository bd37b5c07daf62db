/**
 * One run of one container: starts the process through the runtime, writes its stdout and
 * stderr to `<logDir>/<ns>_<pod>_<container>.log` (the previous run's log moves to
 * `….previous.log`), and when it ends reports its exit code, reason and termination message.
 *
 * Termination messages: every container gets XCC_TERMINATION_MESSAGE_PATH, a file
 * `<logDir>/<ns>_<pod>_<container>.termination-log` emptied before each start. Whatever the
 * process (or a probe script) writes there becomes `state.terminated.message` (at most 4096
 * bytes); when it is empty, the policy is FallbackToLogsOnError and the exit code is not 0, the
 * last 80 lines (at most 2048 bytes) of the log are used instead.
 */
import {closeSync, createWriteStream, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {constants} from 'node:os'
import {join} from 'node:path'

import {type ContainerIdentity, type PodRuntime, type RunningProcess, TERMINATION_MESSAGE_ENV} from '../runtime.js'
import {type Container, type KubeObject, nowIso} from '../types.js'

const MESSAGE_LIMIT = 4096
const FALLBACK_BYTES = 2048
const FALLBACK_LINES = 80
/** how long to wait for stdout/stderr to close after the process exited (a background child may hold them) */
const DRAIN_MS = 1000
export const PAUSE_COMMAND = ['sleep', 'infinity']

export interface ContainerPaths {
  log: string
  previousLog: string
  terminationMessage: string
}

export function containerPaths(logDir: string, namespace: string, pod: string, container: string): ContainerPaths {
  const base = join(logDir, `${namespace}_${pod}_${container}`)
  return {log: `${base}.log`, previousLog: `${base}.previous.log`, terminationMessage: `${base}.termination-log`}
}

export interface ContainerExit {
  exitCode: number
  signal?: number
  reason: string
  message?: string
  startedAt: string
  finishedAt: string
}

export interface ContainerRunSpec {
  runtime: PodRuntime
  pod: KubeObject
  node: KubeObject
  container: Container
  /** undefined: nothing to run (a pause container) */
  command: string[] | undefined
  env: Record<string, string>
  paths: ContainerPaths
  /** 0 on the first start: the log starts empty; later starts keep the last run as the previous log */
  restartCount: number
  /** who the process is on the host (security.ts) */
  identity?: ContainerIdentity
}

function tail(text: string, lines: number, bytes: number): string {
  const kept = text.split('\n')
  if (kept[kept.length - 1] === '') kept.pop()
  let out = kept.slice(-lines).join('\n')
  if (Buffer.byteLength(out) > bytes) out = Buffer.from(out).subarray(-bytes).toString('utf8')
  return out
}

/** Resolves when the stream ends (watching from the start, so an early end is not missed). */
function ended(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    stream.once('end', resolve)
    stream.once('close', resolve)
    stream.once('error', resolve)
  })
}

function within(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    void promise.then(() => {
      clearTimeout(timer)
      resolve()
    })
  })
}

export class ContainerRun {
  readonly startedAt: string
  readonly pid: number
  readonly done: Promise<ContainerExit>
  private readonly process: RunningProcess

  /** Throws when the runtime cannot start the process. */
  constructor(spec: ContainerRunSpec) {
    const {paths} = spec
    if (spec.restartCount > 0) {
      try {
        renameSync(paths.log, paths.previousLog)
      } catch {
        // no log yet
      }
    } else rmSync(paths.previousLog, {force: true})
    writeFileSync(paths.terminationMessage, '', {mode: 0o666})
    const fd = openSync(paths.log, 'w', 0o644)
    const log = createWriteStream('', {fd})
    let command = spec.command
    if (!command) {
      log.write(`xcc lab: container ${spec.container.name} has no command or args; it runs as a pause container (${PAUSE_COMMAND.join(' ')})\n`)
      command = PAUSE_COMMAND
    }
    let running: RunningProcess
    try {
      running = spec.runtime.start({
        pod: spec.pod,
        node: spec.node,
        container: spec.container.name,
        command,
        env: {...spec.env, [TERMINATION_MESSAGE_ENV]: paths.terminationMessage},
        ...(spec.container.workingDir ? {workingDir: spec.container.workingDir} : {}),
        ...(spec.identity ? {identity: spec.identity} : {}),
      })
    } catch (error) {
      log.end()
      throw error
    }
    this.process = running
    this.pid = running.pid
    this.startedAt = nowIso()
    const forward = (chunk: Buffer | string): void => void log.write(chunk)
    const outputClosed = Promise.all([ended(running.stdout), ended(running.stderr)]).then(() => undefined)
    running.stdout.on('data', forward)
    running.stderr.on('data', forward)
    this.done = this.finish(spec, running, log, outputClosed)
  }

  private async finish(spec: ContainerRunSpec, running: RunningProcess, log: NodeJS.WritableStream, outputClosed: Promise<void>): Promise<ContainerExit> {
    const exit = await running.exited
    await within(outputClosed, DRAIN_MS)
    running.stdout.removeAllListeners('data')
    running.stderr.removeAllListeners('data')
    await new Promise<void>((resolve) => log.end(resolve))
    const finishedAt = nowIso()
    const signalNumber = exit.signal ? (constants.signals as Record<string, number>)[exit.signal] : undefined
    const exitCode = exit.code ?? (signalNumber !== undefined ? 128 + signalNumber : 1)
    const result: ContainerExit = {exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: this.startedAt, finishedAt}
    if (signalNumber !== undefined) result.signal = signalNumber
    const message = this.terminationMessage(spec, exitCode)
    if (message) result.message = message
    return result
  }

  private terminationMessage(spec: ContainerRunSpec, exitCode: number): string | undefined {
    let written = ''
    try {
      const fd = openSync(spec.paths.terminationMessage, 'r')
      try {
        const buffer = Buffer.alloc(MESSAGE_LIMIT)
        written = buffer.subarray(0, readSync(fd, buffer, 0, MESSAGE_LIMIT, 0)).toString('utf8')
      } finally {
        closeSync(fd)
      }
    } catch {
      written = ''
    }
    if (written.length > 0) return written
    if (spec.container.terminationMessagePolicy === 'FallbackToLogsOnError' && exitCode !== 0) {
      try {
        const text = tail(readFileSync(spec.paths.log, 'utf8'), FALLBACK_LINES, FALLBACK_BYTES)
        return text.length > 0 ? text : undefined
      } catch {
        return undefined
      }
    }
    return undefined
  }

  kill(signal: NodeJS.Signals): void {
    try {
      this.process.kill(signal)
    } catch {
      // already gone
    }
  }
}
