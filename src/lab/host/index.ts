/**
 * The host port (src/core/ports/host.ts) for VMs of an xcc lab: a lab instance is a network
 * namespace, so the capture script runs there with `ip netns exec`. Which lab a kube context
 * belongs to is found from its API server address. Outside a lab, src/adapters/host answers.
 */
import {spawn} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'

import type {InstanceShell, RunningScript} from '../../core/ports/host.js'
import {readState, xccHome} from '../runtime/state.js'

export interface LabRef {
  readonly name: string
  /** `instance/<name>` → network namespace */
  readonly namespaces: ReadonlyMap<string, string>
}

/** the lab whose API server is at `server` (https://127.0.0.1:PORT), if any */
export function findLabByServer(server: string, env: NodeJS.ProcessEnv = process.env): LabRef | undefined {
  let names: string[]
  try {
    names = readdirSync(join(xccHome(env), 'labs'))
  } catch {
    return undefined
  }
  const wanted = server.replace(/\/+$/, '')
  for (const name of names) {
    const state = readState(join(xccHome(env), 'labs', name))
    if (!state || !state.clusters.some((c) => c.server.replace(/\/+$/, '') === wanted)) continue
    const namespaces = new Map<string, string>()
    for (const [ref, host] of Object.entries(state.plan.hosts)) namespaces.set(ref, host.ns)
    return {name: state.name, namespaces}
  }
  return undefined
}

const MAX_OUTPUT = 4 * 1024 * 1024

export function labInstanceShell(lab: LabRef): InstanceShell {
  return {
    async start(instance: string, script: string, args: readonly string[]): Promise<RunningScript> {
      const ns = lab.namespaces.get(`instance/${instance}`)
      if (!ns) throw new Error(`lab ${lab.name} has no instance ${instance}`)
      const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', script, 'xcc-capture', ...args], {detached: true, stdio: ['ignore', 'pipe', 'pipe']})
      let output = ''
      const append = (chunk: Buffer): void => {
        if (output.length < MAX_OUTPUT) output += chunk.toString('utf8')
      }
      child.stdout.on('data', append)
      child.stderr.on('data', append)
      const done = new Promise<{code: number | null}>((resolve) => {
        child.once('close', (code) => resolve({code}))
        child.once('error', (error) => {
          output += `xcc: cannot run ip netns exec: ${error.message}\n`
          resolve({code: null})
        })
      })
      let stopped = false
      return {
        output: () => output,
        done,
        async stop() {
          if (stopped) return
          stopped = true
          try {
            if (child.pid) process.kill(-child.pid, 'SIGTERM')
          } catch {
            // already gone
          }
          await Promise.race([done, new Promise((r) => setTimeout(r, 2000).unref())])
          // never let a straggler's open pipe keep xcc waiting
          child.stdout.destroy()
          child.stderr.destroy()
        },
      }
    },
  }
}
