/**
 * Where a lab keeps its state: `~/.xcc/labs/<name>/` (XCC_HOME overrides `~/.xcc`), private to
 * the user (0700), every file written atomically (temp file + rename) and secrets mode 0600.
 *
 * Root trusts a lab's state only when no one else could have written it (checkTrusted): the
 * state names processes that `lab down` stops and servers that `lab status` vouches for, so a
 * state another user could forge would make root's xcc their weapon. Every directory from `/` to
 * the lab's directory, and the state file, must be root's and not writable by group or others
 * (above XCC_HOME, a sticky directory such as /tmp is fine: nobody else may rename what root
 * keeps there). Otherwise root refuses: exit 3, naming the path and what is wrong.
 */
import {randomBytes} from 'node:crypto'
import {type Stats, accessSync, constants, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join, resolve} from 'node:path'

import {XccError} from '../../core/errors.js'
import type {LabPlan} from '../compile/types.js'

export const LAB_STATE_VERSION = 1

export interface LabClusterState {
  readonly name: string
  readonly context: string
  readonly server: string
  readonly port: number
}

/** where the lab's cloud (Compute Engine and GKE APIs) is, and the files that reach it (never the tokens themselves) */
export interface LabCloudState {
  /** `http://127.0.0.1:PORT` */
  readonly url: string
  readonly port: number
  readonly project: string
  /** 0600 files holding the admin and the viewer bearer token */
  readonly adminTokenFile: string
  readonly viewerTokenFile: string
  /** the isolated CLOUDSDK_CONFIG of the lab */
  readonly gcloudConfig: string
  /** fault injection for tests (src/lab/cloud/faults.ts); absent file: no faults */
  readonly faultsFile: string
}

export interface LabState {
  readonly schemaVersion: typeof LAB_STATE_VERSION
  readonly name: string
  readonly createdAt: string
  /** where the topology came from: `scenario:<name>` or the file path */
  readonly source: string
  readonly topologyName: string
  readonly phase: 'building' | 'starting' | 'running'
  readonly plan: LabPlan
  readonly daemonPid?: number
  /** the daemon's start time (/proc/<pid>/stat), so a reused pid is never taken for it */
  readonly daemonStart?: string
  /** the random token `lab up` put in the daemon's environment (XCC_LAB_TOKEN): the proof that it started it */
  readonly daemonToken?: string
  readonly clusters: readonly LabClusterState[]
  readonly kubeconfig: string
  /** absent in the state of an xcc without the lab's cloud */
  readonly cloud?: LabCloudState
}

/** absolute, so that the paths a lab prints and records work from any directory */
export function xccHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.XCC_HOME || join(homedir(), '.xcc'))
}

export function labDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(xccHome(env), 'labs', name)
}

const HOME_PROBLEMS: Readonly<Record<string, string>> = {
  ENOTDIR: 'is not a directory (or a directory on its path is not)',
  EEXIST: 'is not a directory',
  EACCES: 'is not writable (permission denied)',
  EPERM: 'is not writable (operation not permitted)',
  EROFS: 'is on a read-only file system',
  ENOSPC: 'is on a full file system',
}

/** An XCC_HOME that cannot hold lab state is the environment's fault (exit 3), named, without a stack. */
export function homeError(path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code ?? ''
  const problem = HOME_PROBLEMS[code]
  if (!problem) return error as Error
  return new XccError(`XCC_HOME cannot hold lab state: ${path} ${problem}`, {exitCode: 3, hint: 'set XCC_HOME to a writable directory that only root can write (default ~/.xcc of root)'})
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0

function mode(stat: Stats): string {
  return `mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')}`
}

/** what is wrong with a directory (or file) on the way to a lab's state, for root; undefined: fine */
function ownershipProblem(stat: Stats, options: {stickyOk: boolean}): string | undefined {
  if (stat.uid !== 0) return `is owned by uid ${stat.uid}, not root`
  const sticky = options.stickyOk && stat.isDirectory() && (stat.mode & 0o1000) !== 0
  if (stat.mode & 0o002 && !sticky) return `is writable by others (${mode(stat)})`
  if (stat.mode & 0o020 && !sticky) return `is writable by its group (${mode(stat)})`
  return undefined
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path)
  } catch {
    return undefined
  }
}

function ancestors(path: string): string[] {
  const out: string[] = []
  for (let at = dirname(path); ; at = dirname(at)) {
    out.unshift(at)
    if (at === dirname(at)) return out
  }
}

/**
 * The first reason root may not trust `home` (an XCC_HOME) and the paths `below` it, outermost
 * first (see the module comment), or undefined. Paths that do not exist yet are nothing to trust;
 * a home that is not a directory is left to the checks that say so (checkLabsDir).
 */
function homeTrustProblem(home: string, below: readonly string[]): string | undefined {
  let real = home
  try {
    real = realpathSync(home)
  } catch {
    // no home yet
  }
  // above XCC_HOME, both the path as given and where it leads: root's, sticky allowed
  for (const path of [...new Set([...ancestors(home), ...ancestors(real)])]) {
    const stat = lstatOrUndefined(path)
    if (!stat?.isDirectory()) continue
    const problem = ownershipProblem(stat, {stickyOk: true})
    if (problem) return `${path} ${problem}`
  }
  const homeStat = lstatOrUndefined(real)
  if (!homeStat?.isDirectory()) return undefined
  const problem = ownershipProblem(homeStat, {stickyOk: false})
  if (problem) return `${real} ${problem}`
  for (const path of below) {
    const stat = lstatOrUndefined(path)
    if (!stat) return undefined
    if (stat.isSymbolicLink()) return `${path} is a symbolic link`
    const problem = ownershipProblem(stat, {stickyOk: false})
    if (problem) return `${path} ${problem}`
  }
  return undefined
}

/** The first reason root may not trust the state in lab directory `dir`, or undefined. */
export function trustProblem(dir: string): string | undefined {
  const labs = dirname(dir)
  return homeTrustProblem(dirname(labs), [labs, dir, paths(dir).state])
}

function refuse(dir: string, problem: string, where: 'in' | 'under' = 'in'): XccError {
  return new XccError(`refusing the lab state ${where} ${dir}: ${problem}`, {
    exitCode: 3,
    details: ['another user could write a lab state there and make root stop processes of their choice or report their lab healthy'],
    hint: 'keep XCC_HOME root\'s alone (default ~/.xcc of root): chown root and chmod go-w every directory named, or choose another XCC_HOME',
  })
}

/** Root refuses lab state another user could have written (exit 3); other users are not checked. */
export function checkTrusted(dir: string): void {
  if (!isRoot()) return
  const problem = trustProblem(dir)
  if (problem) throw refuse(dir, problem)
}

/**
 * Checked before a lab is built or removed, so that an unusable XCC_HOME (a regular file, a
 * read-only or unwritable directory) changes nothing. `create`: make `<home>/labs` (lab up);
 * otherwise only what exists is checked (lab down creates nothing).
 */
export function checkLabsDir(options: {create: boolean}, env: NodeJS.ProcessEnv = process.env): void {
  const labs = join(xccHome(env), 'labs')
  let at = xccHome(env)
  // what root is about to create or remove there must be root's alone
  if (isRoot()) {
    const problem = homeTrustProblem(at, [labs])
    if (problem) throw refuse(labs, problem, 'under')
  }
  try {
    if (options.create) {
      mkdirSync(labs, {recursive: true, mode: 0o700})
      at = labs
      // root passes permission checks, so only a real write tells about read-only or immutable directories
      const probe = join(labs, `.probe-${process.pid}-${randomBytes(4).toString('hex')}`)
      writeFileSync(probe, '')
      rmSync(probe)
      return
    }
    if (existsSync(at) && !statSync(at).isDirectory()) throw Object.assign(new Error(`${at}: not a directory`), {code: 'ENOTDIR'})
    if (!existsSync(labs)) return
    at = labs
    if (!statSync(labs).isDirectory()) throw Object.assign(new Error(`${labs}: not a directory`), {code: 'ENOTDIR'})
    accessSync(labs, constants.W_OK)
  } catch (error) {
    throw homeError(at, error)
  }
}

export const paths = (dir: string) => ({
  state: join(dir, 'state.json'),
  topology: join(dir, 'topology.yaml'),
  kubeconfig: join(dir, 'kubeconfig'),
  pki: join(dir, 'pki.json'),
  ready: join(dir, 'daemon.ready.json'),
  daemonLog: join(dir, 'daemon.log'),
  logs: join(dir, 'logs'),
  cloudAdminToken: join(dir, 'cloud-admin.token'),
  cloudViewerToken: join(dir, 'cloud-viewer.token'),
  gcloudConfig: join(dir, 'gcloud'),
  cloudFaults: join(dir, 'cloud-faults.json'),
  serial: join(dir, 'serial'),
})

export function ensureLabDir(dir: string): void {
  mkdirSync(dir, {recursive: true, mode: 0o700})
  mkdirSync(paths(dir).logs, {recursive: true, mode: 0o700})
}

/** temp file in the same directory, then rename: readers never see half a file */
export function writeAtomic(path: string, content: string, mode = 0o600): void {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`
  try {
    writeFileSync(temp, content, {mode})
    renameSync(temp, path)
  } catch (error) {
    rmSync(temp, {force: true})
    throw error
  }
}

/** The lab's state; root refuses (exit 3) a state another user could have written (checkTrusted). */
export function readState(dir: string): LabState | undefined {
  checkTrusted(dir)
  try {
    const state = JSON.parse(readFileSync(paths(dir).state, 'utf8')) as LabState
    return state.schemaVersion === LAB_STATE_VERSION ? state : undefined
  } catch {
    return undefined
  }
}

/**
 * readState for commands that report on a lab: a state the user may not read (root's lab, read
 * without root) is exit 3 saying so — not "no lab named …".
 */
export function readStateOrRefuse(dir: string): LabState | undefined {
  try {
    accessSync(paths(dir).state, constants.R_OK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EACCES' || code === 'EPERM') {
      throw new XccError(`cannot read the lab's state in ${dir}: permission denied`, {exitCode: 3, hint: 'a lab belongs to root (xcc lab up needs root): run it with sudo'})
    }
  }
  return readState(dir)
}

export function writeState(dir: string, state: LabState): void {
  writeAtomic(paths(dir).state, `${JSON.stringify(state, null, 2)}\n`)
}

/** True when the process exists and is not a zombie (a killed daemon whose parent never reaps it). */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true
  }
}
