/**
 * A plan diff (compile/diff.ts) into the kernel, touching nothing the diff does not name. The
 * order keeps traffic that the change does not concern flowing, and what it does concern off the
 * air as briefly as the kernel allows:
 *  1. new namespaces; links that a new link replaces under the same name are deleted; new links;
 *  2. new namespaces configured in full (as `lab up` does); in the namespaces that stay, what is
 *     added or changed: sysctls, ipsets, each changed iptables table restored on its own (one
 *     transaction per table), then links up, addresses, `route replace` (atomic), new rules;
 *  3. links that are gone deleted (their addresses and routes go with them), then what else is
 *     gone: rules, routes, addresses, bridges;
 *  4. namespaces that are gone: their processes killed, the namespaces deleted.
 * Every link is created inside lab namespaces with both ends placed at once, as in dataplane.ts.
 * Steps that add are strict (a failure stops the change and is reported); deletions of what is
 * already gone are no error, so that a change retried after a failure converges.
 */
import {availableParallelism} from 'node:os'

import type {NamespaceChange, PlanDiff} from '../compile/diff.js'
import type {VethPlan} from '../compile/types.js'
import {configureNamespace, restoreIptables} from './dataplane.js'
import {exec, inParallel, run} from './exec.js'

const PARALLEL = Math.max(4, Math.min(16, availableParallelism() * 4))

export interface KernelApplyReport {
  /** deletions the kernel refused (what they named was gone already): kept for the record */
  readonly warnings: readonly string[]
}

async function existingNamespaces(): Promise<Set<string>> {
  const r = await exec('ip', ['netns', 'list'])
  return new Set(r.stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean))
}

async function linkNames(ns: string): Promise<Set<string>> {
  const r = await exec('ip', ['-n', ns, '-o', 'link', 'show'])
  return new Set([...r.stdout.matchAll(/^\d+: ([^:@]+)[:@]/gm)].map((m) => m[1] as string))
}

/** `ip -batch` with -force: every line is tried; what failed is returned, not thrown. */
async function tryBatch(ns: string, lines: readonly string[]): Promise<string[]> {
  if (lines.length === 0) return []
  const r = await exec('ip', ['-n', ns, '-force', '-batch', '-'], {input: `${lines.join('\n')}\n`, timeoutMs: 60_000})
  return r.code === 0 ? [] : r.stderr.trim().split('\n').filter(Boolean).map((l) => `${ns}: ${l}`)
}

async function createLinks(links: readonly VethPlan[]): Promise<void> {
  const byNs = new Map<string, VethPlan[]>()
  for (const l of links) byNs.set(l.a.ns, [...(byNs.get(l.a.ns) ?? []), l])
  await inParallel([...byNs], PARALLEL, async ([ns, list]) => {
    // a change retried after a failure finds some links made already
    const present = await linkNames(ns)
    const lines = list.filter((l) => !present.has(l.a.iface)).flatMap((l) => [`link add ${l.a.iface} type veth peer name ${l.b.iface} netns ${l.b.ns}`, `link set ${l.a.iface} alias ${l.alias}`])
    if (lines.length) await run('ip', ['-n', ns, '-batch', '-'], {input: `${lines.join('\n')}\n`, what: `creating links in ${ns}`})
  })
}

async function deleteLinks(links: readonly VethPlan[]): Promise<string[]> {
  const byNs = new Map<string, string[]>()
  for (const l of links) byNs.set(l.a.ns, [...(byNs.get(l.a.ns) ?? []), `link del ${l.a.iface}`])
  const warnings: string[] = []
  await inParallel([...byNs], PARALLEL, async ([ns, lines]) => void warnings.push(...(await tryBatch(ns, lines))))
  return warnings
}

/**
 * What a namespace that stays gains or changes: sysctls, ipsets, each changed table, then ip
 * lines. Tables first: a router's chains for a new NIC (its firewall) are in place before any
 * route leads to it, so its first packet is already filtered.
 */
async function applyAdditions(c: NamespaceChange, iptablesPath: string | undefined): Promise<void> {
  if (c.sysctls.length) await run('ip', ['netns', 'exec', c.name, 'sysctl', '-qw', ...c.sysctls.map(([k, v]) => `${k}=${v}`)], {what: `setting sysctls of ${c.ref}`})
  if (c.ipsets !== undefined) await run('ip', ['netns', 'exec', c.name, 'ipset', 'restore', '-exist'], {input: `${c.ipsets.trimEnd()}\n`, what: `adding the ipsets of ${c.ref}`})
  for (const t of c.tables) await restoreIptables({name: c.name, ref: c.ref, ...(iptablesPath ? {iptablesPath} : {})}, t.text)
  if (c.ip.rulesAdded.length) await tryBatch(c.name, c.ip.rulesAdded.map((l) => l.replace(/^rule add /, 'rule del ')))
  const lines = [...c.ip.add, ...c.ip.rulesAdded]
  if (lines.length) await run('ip', ['-n', c.name, '-batch', '-'], {input: `${lines.join('\n')}\n`, what: `changing the addresses, routes and rules of ${c.ref} (${c.name})`})
}

/** Kills every process in the namespaces, then deletes them (their links go with them). */
export async function removeNamespaces(names: readonly string[]): Promise<number> {
  if (names.length === 0) return 0
  let killed = 0
  await inParallel(names, PARALLEL, async (ns) => {
    const pids = await exec('ip', ['netns', 'pids', ns])
    for (const pid of pids.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL')
        killed++
      } catch {
        // gone already
      }
    }
  })
  if (names.length) await exec('ip', ['-force', '-batch', '-'], {input: names.map((n) => `netns del ${n}\n`).join('')})
  const left = [...(await existingNamespaces())].filter((n) => names.includes(n))
  if (left.length) throw new Error(`could not delete namespaces ${left.slice(0, 3).join(', ')}`)
  return killed
}

export async function applyPlanDiff(diff: PlanDiff, iptablesPaths: ReadonlyMap<string, string>, progress: (message: string) => void = () => {}): Promise<KernelApplyReport> {
  const warnings: string[] = []
  // a namespace to add that exists already is the half-built leftover of a failed change (or a
  // name that now stands for something else): it is built again from nothing
  const present = await existingNamespaces()
  await removeNamespaces(diff.addedNamespaces.filter((n) => present.has(n.name)).map((n) => n.name))
  if (diff.addedNamespaces.length) {
    progress(`creating ${diff.addedNamespaces.length} network namespaces`)
    await run('ip', ['-batch', '-'], {input: diff.addedNamespaces.map((n) => `netns add ${n.name}\n`).join(''), what: 'creating namespaces'})
  }
  // a link re-created under the same name (a NIC moved to another network) must be gone first
  const newEnds = new Set(diff.addedLinks.flatMap((l) => [`${l.a.ns} ${l.a.iface}`, `${l.b.ns} ${l.b.iface}`]))
  const collides = (l: VethPlan): boolean => newEnds.has(`${l.a.ns} ${l.a.iface}`) || newEnds.has(`${l.b.ns} ${l.b.iface}`)
  warnings.push(...(await deleteLinks(diff.removedLinks.filter(collides))))
  if (diff.addedLinks.length) {
    progress(`creating ${diff.addedLinks.length} links`)
    await createLinks(diff.addedLinks)
  }
  await inParallel(diff.addedNamespaces, PARALLEL, configureNamespace)
  await inParallel(diff.changedNamespaces, PARALLEL, (c) => applyAdditions(c, iptablesPaths.get(c.name)))
  warnings.push(...(await deleteLinks(diff.removedLinks.filter((l) => !collides(l)))))
  await inParallel(diff.changedNamespaces, PARALLEL, async (c) => void warnings.push(...(await tryBatch(c.name, c.ip.remove))))
  const removed = diff.removedNamespaces.filter((n) => !diff.addedNamespaces.some((a) => a.name === n.name))
  if (removed.length) {
    progress(`removing ${removed.length} network namespaces`)
    await removeNamespaces(removed.map((n) => n.name))
  }
  return {warnings}
}
