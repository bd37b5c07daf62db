/**
 * A lab VM's boot: its `startup-script` metadata runs inside its namespace, as root, once, for at
 * most STARTUP_SCRIPT_TIMEOUT_MS, in the background (unless all it does is the VM's guest, which
 * the data plane set up already: bootScript) (a boot does not hold up the change that
 * added the VM). What the boot and the script print is the VM's serial console, kept in the lab
 * directory (`serial/<instance>.log`, at most SERIAL_LIMIT bytes: what goes beyond is read and
 * dropped, so a talkative script is never stopped by it) and read back with readSerialPortOutput,
 * as `gcloud compute instances get-serial-port-output` reads GCE's. The script, the writer and
 * the time limit all run inside the namespace, so removing the VM (or the lab) ends them.
 */
import {spawn} from 'node:child_process'
import {closeSync, mkdirSync, openSync, readSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {isDeepStrictEqual} from 'node:util'

import {guestNics, isDefaultGuest, normalizeGuest, parseGuestScript, renderGuestScript} from '../../core/topology/guest-script.js'
import type {Topology} from '../../core/topology/schema.js'
import {writeAtomic} from './state.js'

export const STARTUP_SCRIPT_TIMEOUT_MS = 120_000
export const SERIAL_LIMIT = 1024 * 1024
export const STARTUP_SCRIPT_KEY = 'startup-script'

/** instance names are GCE names already; this keeps a file name a file name whatever they hold */
const fileName = (instance: string): string => instance.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || '_'

export function serialPath(dir: string, instance: string): string {
  return join(dir, 'serial', `${fileName(instance)}.log`)
}

function scriptPath(dir: string, instance: string): string {
  return join(dir, 'vms', fileName(instance), STARTUP_SCRIPT_KEY)
}

/**
 * argv: instance, script file (empty: none), serial file, byte limit, seconds, applied (non-empty:
 * the lab set up all the script does). Lines are tagged as GCE's guest agent tags them; a script
 * with `#!` runs as its own interpreter, else with bash (sh without bash), as the metadata script
 * runner does.
 */
const BOOT = `
name=$1 script=$2 out=$3 limit=$4 seconds=$5 applied=$6
{
  echo "xcc lab: booting instance $name"
  if [ -n "$script" ] && [ -n "$applied" ]; then
    echo "google_metadata_script_runner: Starting startup scripts."
    echo "google_metadata_script_runner: Found startup-script in metadata."
    echo "xcc lab: the startup-script sets up exactly the instance's guest (forwarding, routes, iptables), which the lab set up with the instance: not run again"
    echo "google_metadata_script_runner: Finished running startup scripts."
  elif [ -n "$script" ]; then
    echo "google_metadata_script_runner: Starting startup scripts."
    echo "google_metadata_script_runner: Found startup-script in metadata."
    if head -c 2 "$script" | grep -q '^#!'; then set -- "$script"
    elif command -v bash >/dev/null 2>&1; then set -- bash "$script"
    else set -- sh "$script"; fi
    { timeout -k 5 "$seconds" "$@" </dev/null 2>&1; echo "XCC_STATUS $?"; } |
      sed -u -e 's/^XCC_STATUS 124$/google_metadata_script_runner: startup-script timed out after '"$seconds"' s/;t' \
        -e 's/^XCC_STATUS \\([0-9]*\\)$/google_metadata_script_runner: startup-script exit status \\1/;t' \
        -e 's/^/google_metadata_script_runner: startup-script: /'
    echo "google_metadata_script_runner: Finished running startup scripts."
  fi
  echo "xcc lab: instance $name is up"
} 2>&1 | { head -c "$limit"; cat >/dev/null; } >>"$out"
`

export interface BootScript {
  /** the startup script as the instance's metadata shows it (a guest without one shows its canonical script) */
  readonly metadata?: Readonly<Record<string, string>>
  /**
   * The script sets up exactly the instance's guest (core/topology/guest-script.ts), which the
   * data plane set up with the namespace. Running it again would meet that state where a real VM
   * boots fresh (an `ip route add` of a route there is fails, an `iptables -A` adds a rule twice),
   * so the boot notes it on the console instead.
   */
  readonly applied: boolean
}

/** What instance `name` of `topology` boots with. */
export function bootScript(topology: Topology, name: string): BootScript {
  const instance = topology.instances.find((i) => i.name === name)
  if (!instance) return {applied: false}
  const nics = guestNics(topology, instance)
  const given = instance.metadata?.[STARTUP_SCRIPT_KEY]
  const script = given ?? (isDefaultGuest(instance.guest) ? undefined : renderGuestScript(instance.guest, nics))
  if (script === undefined) return {...(instance.metadata ? {metadata: instance.metadata} : {}), applied: false}
  const read = parseGuestScript(script, nics)
  const applied = 'guest' in read && isDeepStrictEqual(read.guest, normalizeGuest(instance.guest))
  return {metadata: {...instance.metadata, [STARTUP_SCRIPT_KEY]: script}, applied}
}

/** Starts the VM's boot (and its startup script, if it has one and it is not `applied` already) in the background; returns at once. */
export function bootInstance(dir: string, ns: string, instance: string, metadata: Readonly<Record<string, string>> | undefined, timeoutMs = STARTUP_SCRIPT_TIMEOUT_MS, options: {applied?: boolean} = {}): void {
  const out = serialPath(dir, instance)
  mkdirSync(join(dir, 'serial'), {recursive: true, mode: 0o700})
  writeAtomic(out, '')
  const script = metadata?.[STARTUP_SCRIPT_KEY]
  let file = ''
  if (script !== undefined) {
    file = scriptPath(dir, instance)
    mkdirSync(join(dir, 'vms', fileName(instance)), {recursive: true, mode: 0o700})
    writeAtomic(file, script, 0o700)
  }
  const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)))
  const child = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', BOOT, 'xcc-boot', instance, file, out, String(SERIAL_LIMIT), seconds, options.applied ? '1' : ''], {
    cwd: '/', detached: true, stdio: 'ignore', env: {PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C'},
  })
  child.unref()
}

/** Forgets a removed VM's serial console and script (a VM created again under its name starts afresh). */
export function forgetInstance(dir: string, instance: string): void {
  rmSync(serialPath(dir, instance), {force: true})
  rmSync(join(dir, 'vms', fileName(instance)), {recursive: true, force: true})
}

export interface SerialPortOutput {
  readonly contents: string
  /** the byte offset `contents` starts at */
  readonly start: number
  /** the offset to ask from next time */
  readonly next: number
}

/**
 * The VM's serial console from byte `start` (GCE's getSerialPortOutput: `start` and `next` are
 * byte offsets); undefined when the lab has no console for that instance.
 */
export function readSerialPortOutput(dir: string, instance: string, start = 0): SerialPortOutput | undefined {
  const path = serialPath(dir, instance)
  let size: number
  try {
    size = statSync(path).size
  } catch {
    return undefined
  }
  const from = Math.min(Math.max(0, start), size)
  const buffer = Buffer.alloc(size - from)
  const fd = openSync(path, 'r')
  try {
    const read = readSync(fd, buffer, 0, buffer.length, from)
    return {contents: buffer.subarray(0, read).toString('utf8'), start: from, next: from + read}
  } finally {
    closeSync(fd)
  }
}
