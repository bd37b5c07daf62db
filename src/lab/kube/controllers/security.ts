/**
 * Who a container's process is on the host, from the pod's and the container's securityContext
 * as Kubernetes merges them (the container's field wins): runAsUser, runAsGroup,
 * supplementalGroups and fsGroup, the capabilities it adds (privileged: all of them), and
 * no_new_privs when allowPrivilegeEscalation is false.
 *
 * The lab runs a pod's command with the host's binaries on the host's filesystem, without a user,
 * PID or mount namespace of its own, so an identity that is harmless inside a container's own
 * image is not harmless here: uid 0 owns the host's files, a host group such as `disk` or
 * `shadow` reads what it guards, CHOWN or DAC_OVERRIDE reach every file. Hence:
 *
 * - An image's user is unknown in the lab: a container that sets no runAsUser runs as nobody
 *   (65534), unless it is privileged (uid 0, as a privileged container is node root anyway). Its
 *   group is runAsGroup, else the user's own (0 for root, nogroup 65534 otherwise).
 * - Capabilities are only those the container adds (`ALL` is every one, minus those it drops);
 *   there is no default set. A container that is not root gets them as ambient capabilities.
 * - Outside namespaces whose Pod Security `enforce` level is `privileged` (a namespace without the
 *   label is, as in Kubernetes), a container that would be host root or a host account does not
 *   start (CreateContainerConfigError, naming why): privileged, host namespaces, uid or gid 0, a
 *   uid or gid that is an account or group of the host (nobody and nogroup excepted), or a
 *   capability other than NET_BIND_SERVICE and AUDIT_WRITE. Pod Security admits several of those
 *   in `baseline` (and host groups even in `restricted`); the lab's kubelet is the last line.
 * - runAsNonRoot with a resolved uid 0 does not start either, as on a real kubelet.
 */
import {readFileSync} from 'node:fs'

import type {Level} from '../podsecurity/checks.js'
import type {ContainerIdentity} from '../runtime.js'
import {type Container, type Pod, isPlainObject} from '../types.js'
import {ContainerConfigError} from './pod-env.js'

export const NOBODY = 65534
const MAX_ID = 2_147_483_647

/** Linux capabilities by number (capability.h), as Kubernetes names them (without CAP_) */
export const CAPABILITIES: readonly string[] = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE',
  'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE',
  'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
]

/** what a pod outside a privileged namespace may be granted: nothing that reaches beyond the pod */
const HARMLESS_CAPABILITIES = new Set(['NET_BIND_SERVICE', 'AUDIT_WRITE'])

/** the host's accounts and groups by id, with their names */
export interface HostAccounts {
  readonly users: ReadonlyMap<number, string>
  readonly groups: ReadonlyMap<number, string>
}

/** /etc/passwd and /etc/group as HostAccounts; a user's primary group counts as a host group */
export function parseAccounts(passwd: string, group: string): HostAccounts {
  const users = new Map<number, string>()
  const groups = new Map<number, string>()
  for (const line of group.split('\n')) {
    const [name, , gid] = line.split(':')
    if (name && gid && /^\d+$/.test(gid)) groups.set(Number(gid), name)
  }
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid] = line.split(':')
    if (name && uid && /^\d+$/.test(uid)) users.set(Number(uid), name)
    if (name && gid && /^\d+$/.test(gid) && !groups.has(Number(gid))) groups.set(Number(gid), `${name}'s primary group`)
  }
  return {users, groups}
}

let cached: {at: number; accounts: HostAccounts} | undefined

/** The host's accounts (/etc/passwd, /etc/group), read again at most every few seconds. */
export function hostAccounts(): HostAccounts {
  if (cached && Date.now() - cached.at < 5000) return cached.accounts
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8')
    } catch {
      return ''
    }
  }
  cached = {at: Date.now(), accounts: parseAccounts(read('/etc/passwd'), read('/etc/group'))}
  return cached.accounts
}

type Fields = Record<string, unknown>

function context(value: unknown): Fields {
  return isPlainObject(value) ? value : {}
}

function id(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ID) {
    throw new ContainerConfigError(`securityContext.${field} must be an integer between 0 and ${MAX_ID}, not ${JSON.stringify(value)}`)
  }
  return value
}

function ids(value: unknown, field: string): number[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw new ContainerConfigError(`securityContext.${field} must be a list of integers`)
  return value.map((v, i) => id(v, `${field}[${i}]`) as number)
}

function capabilityNames(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw new ContainerConfigError(`securityContext.capabilities.${field} must be a list of capability names`)
  return value.map((raw) => {
    const name = String(raw).toUpperCase().replace(/^CAP_/, '')
    if (name !== 'ALL' && !CAPABILITIES.includes(name)) throw new ContainerConfigError(`unknown capability ${JSON.stringify(raw)} in securityContext.capabilities.${field}`)
    return name
  })
}

/** add (ALL: every one), minus what is dropped when everything was added; the lab has no default set to drop from */
function capabilitiesOf(container: Fields): string[] {
  const caps = context(container.capabilities)
  const add = capabilityNames(caps.add, 'add')
  const drop = capabilityNames(caps.drop, 'drop')
  if (add.includes('ALL')) return CAPABILITIES.filter((c) => !drop.includes(c))
  return CAPABILITIES.filter((c) => add.includes(c))
}

export interface IdentityContext {
  /** the enforce level of the pod's namespace now */
  readonly level: Level
  readonly accounts: HostAccounts
}

/** The identity `container` of `pod` runs with (see the module comment); throws ContainerConfigError when it may not start. */
export function containerIdentity(pod: Pod, container: Container, where: IdentityContext): ContainerIdentity {
  const podContext = context(pod.spec.securityContext)
  const own = context(container.securityContext)
  const privileged = own.privileged === true
  const uid = id(own.runAsUser, 'runAsUser') ?? id(podContext.runAsUser, 'runAsUser') ?? (privileged ? 0 : NOBODY)
  const gid = id(own.runAsGroup, 'runAsGroup') ?? id(podContext.runAsGroup, 'runAsGroup') ?? (uid === 0 ? 0 : NOBODY)
  const fsGroup = id(podContext.fsGroup, 'fsGroup')
  const groups = [...new Set([...ids(podContext.supplementalGroups, 'supplementalGroups'), ...(fsGroup === undefined ? [] : [fsGroup])])]
  const capabilities = privileged ? [...CAPABILITIES] : capabilitiesOf(own)
  const runAsNonRoot = own.runAsNonRoot ?? podContext.runAsNonRoot
  if (runAsNonRoot === true && uid === 0) {
    throw new ContainerConfigError(`container has runAsNonRoot and image will run as root (pod: "${pod.metadata.namespace}/${pod.metadata.name}", container: ${container.name})`)
  }
  if (where.level !== 'privileged') {
    const reasons: string[] = []
    if (privileged) reasons.push('privileged')
    for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (pod.spec[field] === true) reasons.push(`${field}`)
    if (uid === 0) reasons.push('uid 0 (root)')
    else if (uid !== NOBODY && where.accounts.users.has(uid)) reasons.push(`uid ${uid} is the host account ${where.accounts.users.get(uid)}`)
    for (const g of [gid, ...groups]) {
      if (g === 0) reasons.push('gid 0 (root)')
      else if (g !== NOBODY && where.accounts.groups.has(g)) reasons.push(`gid ${g} is the host group ${where.accounts.groups.get(g)}`)
    }
    const powerful = capabilities.filter((c) => !HARMLESS_CAPABILITIES.has(c))
    if (powerful.length > 0) reasons.push(`${powerful.length === 1 ? 'capability' : 'capabilities'} ${powerful.join(', ')}`)
    if (reasons.length > 0) {
      throw new ContainerConfigError(
        `container ${container.name} may not run with ${[...new Set(reasons)].join(', ')} in namespace "${pod.metadata.namespace}" (Pod Security level "${where.level}"): ` +
          'lab pods share the host\'s filesystem and processes, where that is host access; only a namespace at level "privileged" grants it',
      )
    }
  }
  return {uid, gid, groups, capabilities, privileged, noNewPrivileges: own.allowPrivilegeEscalation === false && !privileged}
}
