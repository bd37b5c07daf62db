/**
 * Who owns a lab name on this machine. Namespace names (`xcc-<lab>-…`) are system-wide while a
 * lab's state lives under XCC_HOME, so without this `XCC_HOME=B xcc lab up --name x` would take
 * apart the running lab x of XCC_HOME=A. `lab up` records its state directory in
 * /run/xcc/labs/<name>.json (root's alone; /run is emptied at boot, as the namespaces are) before
 * it creates anything, and `lab down` removes the record.
 *
 * A record naming another state directory is a lab that is *alive* while its `up` still runs, or
 * while its state exists and its background process runs: then the name is taken — up refuses,
 * down and status leave its namespaces alone. Otherwise (state gone, processes ended) it is a
 * leftover that anyone may clean. Processes are known by pid and start time, so a reused pid does
 * not keep a dead lab alive; a process is signalled only when it also carries the random token
 * `lab up` put in its environment (isOurs), so that no state, forged or stale, gets a stranger
 * killed.
 */
import {randomBytes} from 'node:crypto'
import {existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {XccError} from '../../core/errors.js'
import {type LabState, isAlive, paths, writeAtomic} from './state.js'

export const OWNERS_DIR = '/run/xcc/labs'
/** the environment variable that carries a lab process's token */
export const LAB_TOKEN_ENV = 'XCC_LAB_TOKEN'

/** a process as it was when recorded: its pid, its start time (clock ticks after boot) and, for the processes xcc started, its token */
export interface ProcessRef {
  readonly pid: number
  readonly start: string
  readonly token?: string
}

/** a new token for a process about to be started (hex, 32 characters) */
export function newToken(): string {
  return randomBytes(16).toString('hex')
}

export interface OwnerRecord {
  readonly schemaVersion: 1
  readonly name: string
  /** the owning lab's state directory, `<XCC_HOME>/labs/<name>` (absolute) */
  readonly stateDir: string
  readonly createdAt: string
  /** the `xcc lab up` that built it */
  readonly up: ProcessRef
  /** the lab's background process, once started */
  readonly daemon?: ProcessRef
}

export function processRef(pid: number): ProcessRef | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // fields after the command name (which may hold spaces): state is field 3, starttime field 22
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
    return start ? {pid, start} : undefined
  } catch {
    return undefined
  }
}

/** the very process that was recorded is still running */
export function isRunning(ref: ProcessRef | undefined): boolean {
  return ref !== undefined && isAlive(ref.pid) && processRef(ref.pid)?.start === ref.start
}

/** its environment as it started (/proc/<pid>/environ, readable by root and the process's owner) holds the token */
function carriesToken(pid: number, token: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${LAB_TOKEN_ENV}=${token}`)
  } catch {
    return false
  }
}

/** the very process xcc started and recorded: pid, start time and token all match; only such a process is ever signalled */
export function isOurs(ref: ProcessRef | undefined): boolean {
  return ref?.token !== undefined && ref.token.length >= 32 && isRunning(ref) && carriesToken(ref.pid, ref.token)
}

/** a lab's background process as its state records it; a state without start time or token (older xcc) names none */
export function daemonRef(state: LabState | undefined): ProcessRef | undefined {
  if (!state?.daemonPid || !state.daemonStart || !state.daemonToken) return undefined
  return {pid: state.daemonPid, start: state.daemonStart, token: state.daemonToken}
}

export function ownerPath(name: string): string {
  return join(OWNERS_DIR, `${name}.json`)
}

/** the XCC_HOME of the lab a record names */
export function xccHomeOf(record: OwnerRecord): string {
  return dirname(dirname(record.stateDir))
}

function ownersError(error: unknown): XccError {
  const e = error as NodeJS.ErrnoException
  const denied = e.code === 'EACCES' || e.code === 'EPERM'
  return new XccError(`cannot ${denied ? 'read' : 'use'} the lab owner records in ${OWNERS_DIR}: ${denied ? 'permission denied' : e.message}`, {
    exitCode: 3, hint: denied ? 'they belong to root: run it with sudo' : `${OWNERS_DIR} must be a directory root can write`,
  })
}

export function readOwner(name: string): OwnerRecord | undefined {
  let text: string
  try {
    text = readFileSync(ownerPath(name), 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw ownersError(error)
  }
  try {
    const record = JSON.parse(text) as OwnerRecord
    // a torn or foreign file names no owner: it is a leftover
    return record.schemaVersion === 1 && typeof record.stateDir === 'string' && record.up ? record : undefined
  } catch {
    return undefined
  }
}

/** the lab the record names is alive (see the module comment); its state is only looked for, never read */
export function ownerAlive(record: OwnerRecord): boolean {
  if (isRunning(record.up)) return true
  return existsSync(paths(record.stateDir).state) && isOurs(record.daemon)
}

/** the XCC_HOME of a live lab of this name under another state directory than `stateDir` */
export function ownedElsewhere(name: string, stateDir: string): string | undefined {
  const record = readOwner(name)
  return record && record.stateDir !== stateDir && ownerAlive(record) ? xccHomeOf(record) : undefined
}

/**
 * Records `stateDir` as the owner of `name`, only if no record exists (link(2) of a complete temp
 * file: readers never see half a record, and of two concurrent ups only one wins). Returns the
 * record, or the one that was there first.
 */
export function claimOwner(name: string, stateDir: string): {claimed: boolean; record: OwnerRecord} {
  const up = processRef(process.pid)
  if (!up) throw new XccError('cannot read /proc/self/stat: xcc lab needs Linux with /proc', {exitCode: 3})
  const record: OwnerRecord = {schemaVersion: 1, name, stateDir, createdAt: new Date().toISOString(), up}
  const path = ownerPath(name)
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  try {
    mkdirSync(OWNERS_DIR, {recursive: true, mode: 0o700})
    writeFileSync(temp, `${JSON.stringify(record)}\n`, {mode: 0o600})
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(temp, path)
        return {claimed: true, record}
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const first = readOwner(name)
        if (first) return {claimed: false, record: first}
        // a file there that names no owner (torn, or not ours): a leftover, replaced once
        if (attempt > 0) throw error
        rmSync(path, {force: true})
      }
    }
  } catch (error) {
    throw error instanceof XccError ? error : ownersError(error)
  } finally {
    rmSync(temp, {force: true})
  }
}

/** adds the background process to this lab's record */
export function recordDaemon(name: string, stateDir: string, daemon: ProcessRef): void {
  const record = readOwner(name)
  if (record?.stateDir !== stateDir) return
  try {
    writeAtomic(ownerPath(name), `${JSON.stringify({...record, daemon})}\n`)
  } catch (error) {
    throw ownersError(error)
  }
}

/** removes the record if it still names one of `stateDirs` (never one a newer lab wrote) */
export function releaseOwner(name: string, stateDirs: readonly string[]): void {
  const record = readOwner(name)
  if (!record || !stateDirs.includes(record.stateDir)) return
  try {
    rmSync(ownerPath(name), {force: true})
  } catch (error) {
    throw ownersError(error)
  }
}
