/**
 * The lab's PodRuntime (src/lab/kube/runtime.ts): pods of the topology already have their
 * namespace (built with the data plane); pods created through the API get one at run time,
 * wired behind their node exactly like the topology's (podWiring), with the next free address
 * of the node's pod range. Containers run as processes inside the pod's namespace (the node's
 * for hostNetwork), each in its own process group so the whole container can be killed.
 *
 * Each process is who its identity says (setpriv from util-linux: uid, gid, groups, exactly the
 * capabilities it was given as inheritable, ambient and bounding sets, no_new_privs), never the
 * daemon's root. It starts in a directory of its own, `<sandboxes>/<pod uid>/<container>` (its
 * HOME unless the pod sets one; mode 0700, owned by it, inside root's directories of mode 0711
 * under /run), and writes its termination message through a file descriptor (3) the runtime
 * opens on the kubelet's file: the process reaches nothing of the lab's state directory. Pod
 * namespaces let unprivileged processes bind every port (net.ipv4.ip_unprivileged_port_start=0),
 * as container runtimes do, so that a pod that is not root still serves port 80.
 */
import {spawn} from 'node:child_process'
import {chmodSync, closeSync, fchmodSync, fchownSync, lchownSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync} from 'node:fs'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'

import {addIp, formatIp, parseIp, sizeOf} from '../../core/net/ipv4.js'
import type {Model} from '../../core/topology/model-types.js'
import {type ContainerIdentity, type ContainerStartSpec, type PodRuntime, type ProcessExit, type RunningProcess, TERMINATION_MESSAGE_ENV} from '../kube/runtime.js'
import {CAPABILITIES} from '../kube/controllers/security.js'
import type {KubeObject} from '../kube/types.js'
import {podWiring} from '../compile/hosts.js'
import {POD_IP_ANNOTATION, POD_NETNS_ANNOTATION} from '../compile/kube-objects.js'
import {linkAlias, namespaceName} from '../compile/names.js'
import type {LabPlan} from '../compile/types.js'
import {exec, run} from './exec.js'
import {removePodResolvConf, writePodResolvConf} from './dns-server.js'

/** pods created at run time get namespaces numbered from here (the topology's start at 0) */
const DYNAMIC_POD_BASE = 10_000
/** the fd through which a container writes its termination message */
const MESSAGE_FD = 3
const UNPRIVILEGED_PORTS = 'net.ipv4.ip_unprivileged_port_start=0'

/** the capabilities this process may hand on (its bounding set, /proc/self/status CapBnd) */
export function ownCapabilities(status = readFileSync('/proc/self/status', 'utf8')): Set<string> {
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0'
  const bits = BigInt(`0x${hex}`)
  return new Set(CAPABILITIES.filter((_, i) => (bits >> BigInt(i)) & 1n))
}

/**
 * setpriv's options for an identity (util-linux setpriv(1)). `grantable`: what this process has
 * to give (a capability it lacks cannot be granted, and asking setpriv for it fails).
 */
export function setprivArgs(identity: ContainerIdentity, grantable: ReadonlySet<string>): string[] {
  const args = [`--reuid=${identity.uid}`, `--regid=${identity.gid}`, identity.groups.length > 0 ? `--groups=${identity.groups.join(',')}` : '--clear-groups']
  // a privileged root keeps everything root has
  if (!(identity.privileged && identity.uid === 0)) {
    const caps = ['-all', ...identity.capabilities.filter((c) => grantable.has(c)).map((c) => `+${c.toLowerCase()}`)].join(',')
    args.push(`--inh-caps=${caps}`, `--bounding-set=${caps}`)
    // root's capabilities come from the bounding set at exec; anyone else's from the ambient set
    if (identity.uid !== 0) args.push(`--ambient-caps=${caps}`)
  }
  if (identity.noNewPrivileges) args.push('--no-new-privs')
  return args
}

/** root's directory under which each lab keeps its containers' own directories (emptied at boot, like /run/netns) */
export const SANDBOXES_DIR = '/run/xcc-pods'

export function sandboxesOf(lab: string): string {
  return join(SANDBOXES_DIR, lab)
}

/** Makes the lab's directory for its containers (root's, 0711: each container reaches only its own) and returns it. */
export function prepareSandboxes(lab: string): string {
  const dir = sandboxesOf(lab)
  for (const path of [SANDBOXES_DIR, dir]) {
    mkdirSync(path, {recursive: true, mode: 0o711})
    const stat = lstatSync(path)
    if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) throw new Error(`${path} must be a directory of root's that only root can write`)
    chmodSync(path, 0o711)
  }
  return dir
}

/** Removes the lab's containers' directories (lab down, once the lab's processes are gone). */
export async function removeSandboxes(lab: string): Promise<void> {
  await exec('rm', ['-rf', '--one-file-system', '--', sandboxesOf(lab)], {timeoutMs: 30_000})
}

/** lets every user bind every port in a pod's namespace; a kernel without the setting (before 4.11) keeps its default */
async function lowPortsForAll(ns: string): Promise<void> {
  await exec('ip', ['netns', 'exec', ns, 'sysctl', '-qw', UNPRIVILEGED_PORTS])
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
/** the fd through which the container's environment arrives */
const ENV_FD = 4

/**
 * What the container's process runs first, as the pod's user (argv: workingDir, how many env
 * assignments follow, the assignments, the command): it enters the working directory, takes the
 * environment from ENV_FD and becomes the command. Names a shell variable cannot have (`a.b`,
 * which Kubernetes allows) are the assignments, given to env(1) in argv.
 */
const ENTER = [
  'cd -P -- "$1" || exit 127',
  'if [ "$2" = 0 ]; then shift 2; else shift 2; set -- env -- "$@"; fi',
  'eval "$(cat <&4)" || exit 127',
  'exec 4<&-',
  'exec "$@"',
].join('\n')

/** the container's environment as a script of `export NAME='value'` lines, and the names a shell cannot hold as env(1) assignments */
export function shellEnv(env: Readonly<Record<string, string>>): {script: string; env: string[]} {
  const lines: string[] = []
  const other: string[] = []
  for (const [name, value] of Object.entries(env)) {
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) lines.push(`export ${name}='${value.replace(/'/g, "'\\''")}'`)
    else if (!name.includes('=') && !name.includes('\0')) other.push(`${name}=${value}`)
  }
  return {script: `${lines.join('\n')}\n`, env: other}
}

/** a path segment from a pod uid or container name (both are plain already; this keeps them so) */
const segment = (text: string): string => text.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || '_'

export class NetnsPodRuntime implements PodRuntime {
  private readonly used = new Set<number>()
  private readonly dynamic = new Map<string, {ns: string; ip: string}>()
  private next = DYNAMIC_POD_BASE
  private readonly grantable = ownCapabilities()

  /**
   * `sandboxes`: root's directory (0711) for the containers' own directories; `resolvConf`: the
   * /etc/resolv.conf a pod's namespace gets (the cluster DNS), undefined to keep the node's.
   */
  constructor(private readonly lab: string, private readonly model: Model, private readonly plan: LabPlan, private readonly sandboxes: string, private readonly resolvConf: (pod: KubeObject, node: KubeObject) => string | undefined = () => undefined) {
    for (const p of plan.pods) this.used.add(parseIp(p.ip) ?? 0)
  }

  /** the pod's network namespace once it has one (the node's for hostNetwork), else undefined */
  podNamespace(pod: KubeObject, node: KubeObject): string | undefined {
    try {
      return this.podNs(pod, node)
    } catch {
      return undefined
    }
  }

  /** the pod's resolver (docs/lab.md: `ip netns exec` bind-mounts /etc/netns/NS/resolv.conf); a host-network pod keeps its node's */
  private setResolver(pod: KubeObject, node: KubeObject, ns: string): void {
    const text = this.resolvConf(pod, node)
    if (text === undefined) removePodResolvConf(ns)
    else writePodResolvConf(ns, text)
  }

  private key(pod: KubeObject): string {
    return `${pod.metadata.namespace}/${pod.metadata.name}/${pod.metadata.uid}`
  }

  private nodeNs(node: KubeObject): string {
    const entry = this.plan.hosts[`node/${node.metadata.name}`]
    if (!entry) throw new Error(`node ${node.metadata.name} is not part of lab ${this.lab}`)
    return entry.ns
  }

  nodeAddress(node: KubeObject): string | undefined {
    return this.plan.hosts[`node/${node.metadata.name}`]?.address
  }

  async setupPodNetwork(pod: KubeObject, node: KubeObject): Promise<{podIP: string}> {
    const pinned = pod.metadata.annotations?.[POD_NETNS_ANNOTATION]
    const pinnedIp = pod.metadata.annotations?.[POD_IP_ANNOTATION]
    if (pinned && pinnedIp && this.plan.pods.some((p) => p.ns === pinned && p.ip === pinnedIp)) {
      await lowPortsForAll(pinned)
      this.setResolver(pod, node, pinned)
      return {podIP: pinnedIp}
    }
    const facts = this.model.nodes.get(node.metadata.name as string)
    const cluster = facts ? this.model.clusters.get(facts.cluster) : undefined
    if (!facts || !cluster) throw new Error(`node ${node.metadata.name} is not part of lab ${this.lab}`)
    const ip = pinnedIp ? parseIp(pinnedIp) : this.allocate(facts.podCidr)
    if (ip === undefined) throw new Error(`no free address left in ${node.metadata.name}'s pod range`)
    this.used.add(ip)
    const index = this.next++
    const ns = namespaceName(this.lab, 'pod', index)
    const wiring = podWiring(cluster.mode, facts, ip, index)
    const nodeNs = this.nodeNs(node)
    this.dynamic.set(this.key(pod), {ns, ip: formatIp(ip)})
    await run('ip', ['netns', 'add', ns], {what: `creating the namespace of pod ${pod.metadata.namespace}/${pod.metadata.name}`})
    await run('ip', ['-n', nodeNs, 'link', 'add', wiring.nodeIface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
    await run('ip', ['-n', nodeNs, 'link', 'set', wiring.nodeIface, 'alias', linkAlias(this.lab, `pod ${pod.metadata.namespace}/${pod.metadata.name}`)])
    await run('ip', ['-n', ns, '-batch', '-'], {input: `${['link set lo up', ...wiring.podLines].join('\n')}\n`, what: 'wiring the pod'})
    await lowPortsForAll(ns)
    await run('ip', ['-n', nodeNs, '-batch', '-'], {input: `${wiring.nodeLines.join('\n')}\n`, what: 'wiring the pod on its node'})
    this.setResolver(pod, node, ns)
    return {podIP: formatIp(ip)}
  }

  private allocate(range: {base: number; prefix: number}): number | undefined {
    // .0 network, .1 gateway, .10 the implicit pod: start at .2 and skip what is taken
    for (let i = 2; i < sizeOf(range) - 1; i++) {
      const candidate = addIp(range.base, i)
      if (i !== 10 && !this.used.has(candidate)) return candidate
    }
    return undefined
  }

  async teardownPodNetwork(pod: KubeObject): Promise<void> {
    const entry = this.dynamic.get(this.key(pod))
    if (!entry) return
    this.dynamic.delete(this.key(pod))
    this.used.delete(parseIp(entry.ip) ?? -1)
    removePodResolvConf(entry.ns)
    await exec('ip', ['netns', 'del', entry.ns])
  }

  private podNs(pod: KubeObject, node: KubeObject): string {
    if ((pod.spec as {hostNetwork?: unknown} | undefined)?.hostNetwork === true) return this.nodeNs(node)
    const dynamic = this.dynamic.get(this.key(pod))
    if (dynamic) return dynamic.ns
    const pinned = pod.metadata.annotations?.[POD_NETNS_ANNOTATION]
    if (pinned && this.plan.pods.some((p) => p.ns === pinned)) return pinned
    throw new Error(`pod ${pod.metadata.namespace}/${pod.metadata.name} has no network`)
  }

  private podDir(pod: KubeObject): string {
    return join(this.sandboxes, segment(String(pod.metadata.uid ?? `${pod.metadata.namespace}_${pod.metadata.name}`)))
  }

  /** the container's own directory, owned by its uid and gid (0700), inside root's pod directory (0711) */
  private containerDir(spec: ContainerStartSpec, identity: ContainerIdentity): string {
    const podDir = this.podDir(spec.pod)
    mkdirSync(podDir, {recursive: true, mode: 0o711})
    const dir = join(podDir, segment(spec.container))
    try {
      mkdirSync(dir, {mode: 0o700})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    // root's pod directory: nobody else can have put anything but a directory there
    if (!lstatSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`)
    lchownSync(dir, identity.uid, identity.gid)
    return dir
  }

  /** the kubelet's termination message file, opened for the process as MESSAGE_FD (it cannot reach the file's directory) */
  private messageFd(spec: ContainerStartSpec, identity: ContainerIdentity): number | undefined {
    const path = spec.env[TERMINATION_MESSAGE_ENV]
    if (!path) return undefined
    const fd = openSync(path, 'r+')
    try {
      fchownSync(fd, identity.uid, identity.gid)
      fchmodSync(fd, 0o600)
    } catch (error) {
      closeSync(fd)
      throw error
    }
    return fd
  }

  start(spec: ContainerStartSpec): RunningProcess {
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    let resolveExit!: (exit: ProcessExit) => void
    const exited = new Promise<ProcessExit>((resolve) => (resolveExit = resolve))
    const fail = (message: string): RunningProcess => {
      stderr.end(`${message}\n`)
      stdout.end()
      resolveExit({code: 127, signal: null})
      return {pid: 0, stdout, stderr, exited, kill: () => {}}
    }
    // no identity given: the least there is (nobody, nothing), never the daemon's root
    const identity: ContainerIdentity = spec.identity ?? {uid: 65534, gid: 65534, groups: [], capabilities: [], privileged: false, noNewPrivileges: true}
    let ns: string
    let home: string
    let messageFd: number | undefined
    try {
      ns = this.podNs(spec.pod, spec.node)
      home = this.containerDir(spec, identity)
      messageFd = this.messageFd(spec, identity)
    } catch (error) {
      return fail((error as Error).message)
    }
    // `ip` and setpriv run as root: they get the lab's own environment, never the pod's (its PATH
    // or LD_PRELOAD would choose what root runs); the pod's reaches the command only once it is
    // the pod's user, through a pipe (not argv, which every user may read)
    const base: Record<string, string> = {PATH: process.env.PATH ?? DEFAULT_PATH, HOME: home}
    const {env: podEnv, script: envScript} = shellEnv({...spec.env, ...(messageFd !== undefined ? {[TERMINATION_MESSAGE_ENV]: `/dev/fd/${MESSAGE_FD}`} : {})})
    let child: ReturnType<typeof spawn>
    try {
      child = spawn('ip', ['netns', 'exec', ns, 'setpriv', ...setprivArgs(identity, this.grantable), '--', '/bin/sh', '-c', ENTER, 'xcc-container', spec.workingDir ?? home, String(podEnv.length), ...podEnv, ...spec.command], {
        env: base, cwd: home, detached: true, stdio: ['ignore', 'pipe', 'pipe', messageFd ?? 'ignore', 'pipe'],
      })
    } finally {
      if (messageFd !== undefined) closeSync(messageFd)
    }
    const envPipe = child.stdio[ENV_FD] as NodeJS.WritableStream & {on(event: 'error', listener: () => void): void}
    envPipe.on('error', () => {})
    envPipe.end(envScript)
    child.stdout!.pipe(stdout)
    child.stderr!.pipe(stderr)
    child.once('error', (error) => {
      stderr.write(`${error.message}\n`)
      resolveExit({code: 127, signal: null})
    })
    child.once('exit', (code, signal) => resolveExit({code, signal}))
    return {
      pid: child.pid ?? 0, stdout, stderr, exited,
      kill: (signal) => {
        try {
          if (child.pid) process.kill(-child.pid, signal)
        } catch {
          // already gone
        }
      },
    }
  }

  /**
   * Removes the pod's directory. Each container's directory is emptied as its own uid (so that
   * whatever the pod put there, links included, is removed with no more rights than the pod
   * had), then root removes the empty directories.
   */
  async releasePod(pod: KubeObject): Promise<void> {
    const podDir = this.podDir(pod)
    let entries: string[]
    try {
      entries = readdirSync(podDir)
    } catch {
      return
    }
    for (const entry of entries) {
      const dir = join(podDir, entry)
      const stat = lstatSync(dir)
      if (!stat.isDirectory()) continue
      await exec('setpriv', [`--reuid=${stat.uid}`, `--regid=${stat.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--', 'find', dir, '-mindepth', '1', '-delete'], {timeoutMs: 10_000})
      try {
        rmdirSync(dir)
      } catch {
        // not empty: lab down removes it
      }
    }
    try {
      rmdirSync(podDir)
    } catch {
      // lab down removes it
    }
  }
}
