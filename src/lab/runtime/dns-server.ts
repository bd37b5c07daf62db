/**
 * The host side of a cluster's DNS (src/lab/addons/dns): dnsmasq's files under the lab's
 * sandboxes directory (root's, readable by the DNS pod's unprivileged user), the SIGHUP that
 * makes the running dnsmasq re-read them, the kube-proxy rules of the kube-dns Service inside
 * every node of the cluster, and each pod's resolver: `ip netns exec NS` bind-mounts
 * `/etc/netns/NS/resolv.conf` over `/etc/resolv.conf` for whatever runs in a pod's namespace, so
 * a pod's processes (and `kubectl exec`) resolve through the cluster DNS.
 */
import {mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {writeAtomic} from './state.js'

import {shellWord} from '../../core/shell.js'
import type {DnsFiles, DnsServerHost} from '../addons/dns/cluster-dns.js'
import {dnsmasqConf} from '../addons/dns/records.js'
import {type ClusterDnsPlan, dnsServiceRules} from '../compile/dns.js'
import {belongsToLab} from '../compile/names.js'
import {exec, inParallel, run} from './exec.js'

const NETNS_ETC = '/etc/netns'
/** nodes whose rules are written at once (a 50-node cluster must not start 50 shells together) */
const RULE_WRITERS = 4


/** where a cluster's DNS files live: `<sandboxes>/.dns/<cluster>` */
export function dnsDirOf(sandboxes: string, cluster: string): string {
  return join(sandboxes, '.dns', cluster)
}

/** the DNS pod's command: dnsmasq in the foreground on its configuration */
export function dnsmasqCommand(dir: string): string[] {
  return ['dnsmasq', '--keep-in-foreground', `--conf-file=${dir}/dnsmasq.conf`]
}

/** SIGHUP is caught (bit 0 of SigCgt): the process is past its start and will re-read, not die */
function catchesHangup(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const hex = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1]
    return hex !== undefined && (BigInt(`0x${hex}`) & 1n) === 1n
  } catch {
    return false
  }
}

export class NetnsDnsServer implements DnsServerHost {
  readonly dir: string

  /**
   * `nodes`: the namespaces of the cluster's nodes; `podNamespace`: the DNS pod's namespace once
   * it has one. Makes the directory and the files dnsmasq reads at start (empty records).
   */
  constructor(sandboxes: string, private readonly plan: ClusterDnsPlan, private readonly nodes: readonly string[], private readonly podNamespace: () => string | undefined) {
    this.dir = dnsDirOf(sandboxes, plan.cluster)
    mkdirSync(this.dir, {recursive: true, mode: 0o755})
    writeAtomic(join(this.dir, 'dnsmasq.conf'), dnsmasqConf(this.dir), 0o644)
    writeAtomic(join(this.dir, 'hosts'), '', 0o644)
    writeAtomic(join(this.dir, 'servers'), '', 0o644)
  }

  async write(files: DnsFiles): Promise<void> {
    writeAtomic(join(this.dir, 'servers'), files.servers, 0o644)
    writeAtomic(join(this.dir, 'hosts'), files.hosts, 0o644)
  }

  /** the server found last time, while it is still that one (no exec on the frequent path) */
  private known?: {pid: number; ns: string}

  /** the dnsmasq processes of the DNS pod that are past their start (they catch SIGHUP) */
  private async servers(): Promise<number[]> {
    const ns = this.podNamespace()
    if (!ns) return []
    const isServer = (pid: number): boolean => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dnsmasq' && catchesHangup(pid)
      } catch {
        return false
      }
    }
    // still in that namespace: a pid reused by another dnsmasq elsewhere is not it
    const inNs = (pid: number): boolean => {
      try {
        return readlinkSync(`/proc/${pid}/ns/net`) === `net:[${statSync(`/run/netns/${ns}`).ino}]`
      } catch {
        return false
      }
    }
    if (this.known && this.known.ns === ns && isServer(this.known.pid) && inNs(this.known.pid)) return [this.known.pid]
    const pids = await exec('ip', ['netns', 'pids', ns])
    const found = pids.stdout.split(/\s+/).filter(Boolean).map(Number).filter(isServer)
    this.known = found[0] === undefined ? undefined : {pid: found[0], ns}
    return found
  }

  async serving(): Promise<boolean> {
    return (await this.servers()).length > 0
  }

  async reload(): Promise<boolean> {
    let signalled = false
    for (const pid of await this.servers()) {
      try {
        process.kill(pid, 'SIGHUP')
        signalled = true
      } catch {
        // gone meanwhile: the next one reads the files at start
      }
    }
    return signalled
  }

  /**
   * Two iptables runs per node: a dump, then one `iptables-restore --noflush` with the Service's
   * chains (declaring them flushes only them) and, where missing, KUBE-SERVICES (with kube-proxy's
   * jumps from PREROUTING and OUTPUT) and the Service's matches inserted first in it.
   */
  async ensureServiceRules(): Promise<void> {
    const {chains, rules, services} = dnsServiceRules(this.plan)
    const lines = (words: readonly string[]): string => `printf '%s\\n' ${words.map(shellWord).join(' ')}`
    const has = (text: string): string => `printf '%s\\n' "$dump" | grep -qF -- ${shellWord(text)}`
    const script = [
      'dump=$(iptables-save -t nat) || exit 1',
      '{',
      `  ${lines(['*nat', ...chains])}`,
      `  ${has(':KUBE-SERVICES ')} || ${lines([':KUBE-SERVICES - [0:0]', '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'])}`,
      `  ${lines(rules)}`,
      ...services.map((rule) => {
        // iptables-save's own quoting: only the comment has spaces
        const text = rule.map((w) => (/\s/.test(w) ? `"${w}"` : w)).join(' ')
        return `  ${has(`--comment "${rule[rule.indexOf('--comment') + 1] as string}"`)} || ${lines([`-I KUBE-SERVICES 1 ${text}`])}`
      }),
      `  ${lines(['COMMIT'])}`,
      '} | iptables-restore -w 5 --noflush',
    ].join('\n')
    await inParallel(this.nodes, RULE_WRITERS, (ns) => run('ip', ['netns', 'exec', ns, 'sh', '-c', script], {timeoutMs: 15_000, what: `writing the kube-dns Service rules of ${this.plan.cluster} in ${ns}`}).then(() => undefined))
  }
}

/** Gives the pod namespace `ns` its resolv.conf (root's, 0644). */
export function writePodResolvConf(ns: string, text: string): void {
  const dir = join(NETNS_ETC, ns)
  mkdirSync(dir, {recursive: true, mode: 0o755})
  writeAtomic(join(dir, 'resolv.conf'), text, 0o644)
}

export function removePodResolvConf(ns: string): void {
  rmSync(join(NETNS_ETC, ns), {recursive: true, force: true})
}

/** Removes the resolver files of every namespace of the lab (lab down). */
export function removeLabResolvConfs(lab: string): void {
  let entries: string[]
  try {
    entries = readdirSync(NETNS_ETC)
  } catch {
    return
  }
  for (const ns of entries) if (belongsToLab(lab, ns)) removePodResolvConf(ns)
}
