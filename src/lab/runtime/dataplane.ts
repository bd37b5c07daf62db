/**
 * Builds a lab plan into the kernel and takes it down again. Every link is created inside a lab
 * namespace with both ends placed at once (`ip -n A link add X type veth peer name Y netns B`),
 * so nothing of the lab ever lands in the host's own network namespace.
 */
import {existsSync} from 'node:fs'
import {availableParallelism} from 'node:os'

import {InterruptedError, XccError} from '../../core/errors.js'
import {orderIpLines} from '../compile/ip-diff.js'
import {belongsToLab} from '../compile/names.js'
import type {LabPlan, NamespacePlan} from '../compile/types.js'
import {exec, inParallel, run} from './exec.js'
import {removeLabResolvConfs} from './dns-server.js'

const PARALLEL = Math.max(4, Math.min(16, availableParallelism() * 4))

/**
 * `signal` (Ctrl-C) stops the build between steps and between namespaces; what was created so far
 * stays for the caller to remove (destroyDataPlane).
 */
export async function buildDataPlane(plan: LabPlan, progress: (message: string) => void = () => {}, signal?: AbortSignal): Promise<void> {
  const stop = (): void => {
    if (signal?.aborted) throw new InterruptedError()
  }
  const withSets = plan.namespaces.find((n) => n.ipsets !== undefined)
  if (withSets) await requireIpset(withSets.ref)
  progress(`creating ${plan.namespaces.length} network namespaces`)
  await run('ip', ['-batch', '-'], {input: plan.namespaces.map((n) => `netns add ${n.name}\n`).join(''), what: 'creating the lab namespaces'})
  progress(`creating ${plan.links.length} links`)
  const byNs = new Map<string, string[]>()
  for (const l of plan.links) {
    const lines = byNs.get(l.a.ns) ?? []
    lines.push(`link add ${l.a.iface} type veth peer name ${l.b.iface} netns ${l.b.ns}`, `link set ${l.a.iface} alias ${l.alias}`)
    byNs.set(l.a.ns, lines)
  }
  stop()
  await inParallel([...byNs], PARALLEL, async ([ns, lines]) => {
    stop()
    await run('ip', ['-n', ns, '-batch', '-'], {input: `${lines.join('\n')}\n`, what: `creating links in ${ns}`})
  })
  stop()
  progress('configuring addresses, routes, sysctls and iptables')
  await inParallel(plan.namespaces, PARALLEL, async (n) => {
    stop()
    await configureNamespace(n)
  })
  stop()
}

/** One shell inside the namespace for its ip batch and sysctls, then its ipsets and iptables (also for a namespace a change adds). */
export async function configureNamespace(n: NamespacePlan): Promise<void> {
  const script = [
    'set -e',
    `ip -batch - <<'XCC_EOF'\n${orderIpLines(['link set lo up', ...n.ip]).join('\n')}\nXCC_EOF`,
    ...(n.sysctls.length ? [`sysctl -qw ${n.sysctls.map(([k, v]) => `${k}=${v}`).join(' ')}`] : []),
  ].join('\n')
  await run('ip', ['netns', 'exec', n.name, 'sh', '-c', script], {what: `configuring ${n.ref} (${n.name})`, timeoutMs: 60_000})
  // a node's ipsets first: iptables-restore refuses a -m set naming a set that does not exist
  if (n.ipsets !== undefined) {
    const created = await exec('ip', ['netns', 'exec', n.name, 'ipset', 'restore'], {input: `${n.ipsets.trimEnd()}\n`, timeoutMs: 60_000})
    if (created.code !== 0) {
      const why = (created.stderr.trim() || created.stdout.trim()).split('\n').filter(Boolean).slice(-3).join('; ')
      if (n.ipsetsPath) throw new RulesRefusedError(n.ipsetsPath, n.ref, why, 'ipset restore', 'ipsets')
      throw new Error(`restoring the ipsets of ${n.ref} (${n.name}) failed (exit ${created.code ?? 'killed'}): ${why}`)
    }
  }
  if (n.iptables !== undefined) await restoreIptables(n, n.iptables)
}

/**
 * iptables-restore of `text` in the namespace: each table the text names is replaced in one
 * transaction, the tables it does not name are left alone.
 */
export async function restoreIptables(n: Pick<NamespacePlan, 'name' | 'ref' | 'iptablesPath'>, text: string): Promise<void> {
  const restored = await exec('ip', ['netns', 'exec', n.name, 'iptables-restore', '-w', '10'], {input: `${text.trimEnd()}\n`, timeoutMs: 60_000})
  if (restored.code === 0) return
  const why = (restored.stderr.trim() || restored.stdout.trim()).split('\n').filter(Boolean).slice(-3).join('; ')
  // rules the topology gave that the kernel refuses are bad input (exit 2), not a broken machine
  if (n.iptablesPath) throw new RulesRefusedError(n.iptablesPath, n.ref, why)
  throw new Error(`restoring the iptables of ${n.ref} (${n.name}) failed (exit ${restored.code ?? 'killed'}): ${why}`)
}

/** The kernel's iptables-restore (or ipset restore) refuses rules (sets) of the topology. */
export class RulesRefusedError extends XccError {
  constructor(readonly path: string, ref: string, why: string, tool = 'iptables-restore', what = 'rules') {
    super(`${path}: the kernel's ${tool} refuses the ${what} of ${ref}: ${why}`, {
      exitCode: 2,
      hint: what === 'rules' ? 'fix those rules (iptables-restore --test checks a file without applying it); xcc doctor --topology analyses them as written'
        : 'fix those sets (the text is what `ipset save` prints and `ipset restore` reads)',
    })
  }
}

/** ipset is needed only by a lab whose nodes have ipsets; it is not part of iproute2 or iptables. */
async function requireIpset(ref: string): Promise<void> {
  const found = await exec('ipset', ['--version']).then((r) => r.code === 0, () => false)
  if (!found) throw new XccError(`xcc lab needs ipset (package ipset) to create the ipsets of ${ref}`, {exitCode: 3, hint: 'apt-get install -y ipset'})
}

/** The lab's namespaces that exist right now (also those of a half-built or crashed lab). */
export async function labNamespaces(lab: string): Promise<string[]> {
  const result = await exec('ip', ['netns', 'list'])
  if (result.code !== 0) return []
  return result.stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => belongsToLab(lab, n))
}

/**
 * Kills every process inside the lab's namespaces, then deletes the namespaces (their links go
 * with them). Counts what it really removed: a namespace the state names but that is gone
 * already (deleted by hand, or a half-built lab) is not counted.
 */
export async function destroyDataPlane(lab: string, extra: readonly string[] = []): Promise<{namespaces: number; processes: number}> {
  const listed = await labNamespaces(lab)
  // `ip netns list` reads /run/netns; a named namespace missing from the list is checked there too
  const namespaces = [...new Set([...listed, ...extra.filter((n) => belongsToLab(lab, n) && existsSync(`/run/netns/${n}`))])]
  let processes = 0
  await inParallel(namespaces, PARALLEL, async (ns) => {
    const pids = await exec('ip', ['netns', 'pids', ns])
    for (const pid of pids.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL')
        processes++
      } catch {
        // already gone
      }
    }
  })
  // their resolvers (pod-runtime.ts, dns-server.ts) go with them
  removeLabResolvConfs(lab)
  if (namespaces.length > 0) {
    const result = await exec('ip', ['-force', '-batch', '-'], {input: namespaces.map((n) => `netns del ${n}\n`).join('')})
    const left = await labNamespaces(lab)
    if (left.length > 0) throw new Error(`could not delete ${left.length} lab namespaces (${left.slice(0, 3).join(', ')}): ${result.stderr.trim()}`)
  }
  return {namespaces: namespaces.length, processes}
}
