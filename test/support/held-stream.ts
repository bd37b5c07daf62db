/**
 * A long-lived TCP connection inside a lab: a client in one namespace writes a line every 200 ms
 * over one socat connection to a `socat … EXEC:cat` server in another, which echoes it back; the
 * test reads when each echo arrived. Bounded: the client stops after `seconds`, and stop() kills
 * both sides' process groups (lab down would kill them with their namespaces anyway).
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {createInterface} from 'node:readline'

import {waitForListeners} from '../../src/lab/runtime/servers.js'

const TICK_MS = 200

function kill(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL')
  } catch {
    // gone already
  }
}

/** An echo server for held streams: `socat TCP-LISTEN:port,fork EXEC:cat` in `ns`. */
export async function startStreamServer(ns: string, port: number): Promise<{stop(): void}> {
  const child = spawn('ip', ['netns', 'exec', ns, 'socat', `TCP-LISTEN:${port},fork,reuseaddr`, 'EXEC:cat'], {stdio: 'ignore', detached: true})
  if (!(await waitForListeners(ns, [port]))) {
    kill(child)
    throw new Error(`the stream server in ${ns} does not listen on ${port}`)
  }
  return {stop: () => kill(child)}
}

export class HeldStream {
  /** when each echo came back (ms since the epoch) */
  readonly arrivals: number[] = []
  private readonly child: ChildProcess
  private ended = false

  constructor(readonly label: string, ns: string, dst: string, port: number, seconds: number) {
    const ticks = Math.ceil((seconds * 1000) / TICK_MS)
    const writer = `i=0; while [ $i -lt ${ticks} ]; do echo tick-$i; i=$((i+1)); sleep ${TICK_MS / 1000}; done`
    this.child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', `${writer} | socat - TCP:${dst}:${port},connect-timeout=3`], {stdio: ['ignore', 'pipe', 'ignore'], detached: true})
    createInterface({input: this.child.stdout as NodeJS.ReadableStream}).on('line', () => this.arrivals.push(Date.now()))
    this.child.once('exit', () => (this.ended = true))
  }

  /** the same connection is still open (socat would end if the server reset it) */
  get alive(): boolean {
    return !this.ended
  }

  echoesSince(t: number, until = Date.now()): number {
    return this.arrivals.filter((a) => a >= t && a < until).length
  }

  /** the longest wait between echoes since `t` (up to now) */
  longestGapSince(t: number): number {
    const times = [t, ...this.arrivals.filter((a) => a >= t), Date.now()]
    return times.slice(1).reduce((gap, a, i) => Math.max(gap, a - (times[i] as number)), 0)
  }

  /** waits (bounded) for `count` echoes after `t`; true when they came */
  async waitForEchoes(t: number, count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (this.echoesSince(t) >= count) return true
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return this.echoesSince(t) >= count
  }

  stop(): void {
    kill(this.child)
  }
}
