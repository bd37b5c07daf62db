/**
 * The serial console of the lab's VMs: what `gcloud compute instances get-serial-port-output`
 * shows. A lab VM boots when its namespace exists; its `startup-script` metadata then runs inside
 * it, as root, once, for at most `timeoutMs`, and its output is written to the console as GCE's
 * guest agent writes it (`google_metadata_script_runner … startup-script: <line>`). Consoles are
 * files in the lab's state (`serial/<instance>.log`), bounded in size.
 */
import {spawn} from 'node:child_process'
import {appendFileSync, mkdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import type {InstanceSpec} from '../../core/topology/schema.js'
import type {DataPlaneHook} from '../cloud/dataplane-hook.js'

const MAX_CONSOLE = 1024 * 1024
export const STARTUP_TIMEOUT_MS = 120_000

function stamp(): string {
  const d = new Date()
  const month = d.toLocaleString('en-US', {month: 'short', timeZone: 'UTC'})
  return `${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`
}

export class SerialConsoles {
  private readonly ran = new Set<string>()

  constructor(private readonly dir: string) {
    mkdirSync(dir, {recursive: true, mode: 0o700})
  }

  private file(instance: string): string {
    return join(this.dir, `${instance}.log`)
  }

  write(instance: string, text: string): void {
    const file = this.file(instance)
    let size = 0
    try {
      size = statSync(file).size
    } catch {
      // a new console
    }
    if (size >= MAX_CONSOLE) return
    appendFileSync(file, text.slice(0, MAX_CONSOLE - size), {mode: 0o600})
  }

  /** bytes `start`… of the console, and where the next read starts */
  read(instance: string, start: number): {contents: string; start: number; next: number} {
    let all: Buffer
    try {
      all = readFileSync(this.file(instance))
    } catch {
      all = Buffer.alloc(0)
    }
    const from = Math.min(Math.max(0, start), all.length)
    return {contents: all.subarray(from).toString('utf8'), start: from, next: all.length}
  }

  /**
   * Boots `instance`: says so on its console and runs its startup script in `namespace` (once per
   * instance for the life of the lab). Resolves when the script has ended or timed out.
   */
  async boot(instance: InstanceSpec, namespace: string | undefined, timeoutMs = STARTUP_TIMEOUT_MS): Promise<void> {
    if (this.ran.has(instance.name)) return
    this.ran.add(instance.name)
    const line = (text: string): void => this.write(instance.name, `${stamp()} ${instance.name} ${text}\n`)
    if (!namespace) {
      line(`xcc-lab: the instance has no namespace: the lab's data plane did not create it, so it did not boot`)
      return
    }
    line(`xcc-lab: booted in network namespace ${namespace}`)
    const script = instance.metadata?.['startup-script']
    if (script === undefined) return
    line('google_metadata_script_runner[1]: Starting startup scripts.')
    line('google_metadata_script_runner[1]: Found startup-script in metadata.')
    const code = await new Promise<string>((resolve) => {
      const child = spawn('ip', ['netns', 'exec', namespace, 'sh', '-c', script], {detached: true, stdio: ['ignore', 'pipe', 'pipe']})
      let pending = ''
      const out = (chunk: Buffer): void => {
        pending += chunk.toString('utf8')
        const lines = pending.split('\n')
        pending = lines.pop() ?? ''
        for (const l of lines) line(`google_metadata_script_runner[1]: startup-script: ${l}`)
      }
      child.stdout.on('data', out)
      child.stderr.on('data', out)
      const timer = setTimeout(() => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL')
        } catch {
          // ended meanwhile
        }
      }, timeoutMs)
      child.once('error', (error) => {
        clearTimeout(timer)
        resolve(`could not start: ${error.message}`)
      })
      child.once('close', (exit, signal) => {
        clearTimeout(timer)
        if (pending) line(`google_metadata_script_runner[1]: startup-script: ${pending}`)
        resolve(signal ? `killed by ${signal}${signal === 'SIGKILL' ? ` after ${timeoutMs / 1000} s` : ''}` : `exit status ${exit ?? 0}`)
      })
    })
    line(`google_metadata_script_runner[1]: startup-script ${code}`)
    line('google_metadata_script_runner[1]: Finished running startup scripts.')
  }
}

/**
 * The data-plane hook of a lab with VMs: after `hook` has applied a change, every VM that the
 * change created boots (its namespace, if the data plane made one, runs its startup script).
 */
export function bootingNewInstances(hook: DataPlaneHook, consoles: SerialConsoles, namespaceOf: (instance: string) => string | undefined): DataPlaneHook {
  return {
    async apply(before, after) {
      await hook.apply(before, after)
      const existed = new Set(before.topology.instances.map((m) => m.name))
      // booting runs on after the operation: a startup script may take minutes, as on GCE
      for (const m of after.topology.instances) if (!existed.has(m.name)) void consoles.boot(m, namespaceOf(m.name))
    },
  }
}
