/**
 * `xcc snapshot` of a generated topology served by the lab's cloud emulator, for bench/cloud.ts.
 *
 * The emulator runs in this process on 127.0.0.1 (CloudStore + the `unappliedDataPlane` hook +
 * startCloudServer, as test/lab/cloud/support.ts starts it: no data plane, no root); the
 * snapshot is a child `node bin/run.js snapshot -o FILE --json` with the variables `xcc lab env`
 * prints (src/lab/cloud/lab-files.ts), except KUBECONFIG, which names a file that does not exist:
 * no kube API is read. Its wall time is the whole process, spawn to exit.
 *
 * Every run is watched through Node's HTTP diagnostics channels on both sides: the HTTP requests
 * (pages) the emulator served per list, and in the child (bench/http-in-flight.mjs, preloaded)
 * the requests it made and the most in flight at once. The snapshot each run wrote is loaded back
 * and checked against the input (checkSnapshot): a fast wrong answer is worth nothing.
 */
import {spawn} from 'node:child_process'
import {subscribe, unsubscribe} from 'node:diagnostics_channel'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'

import {GCP_REQUESTS_AT_ONCE} from '../src/adapters/gcp/compute.js'
import {cidr, formatCidr} from '../src/core/net/ipv4.js'
import type {Model} from '../src/core/topology/model-types.js'
import {parseTopology} from '../src/core/topology/parse.js'
import {unappliedDataPlane} from '../src/lab/cloud/dataplane-hook.js'
import {cloudEnvironment} from '../src/lab/cloud/lab-files.js'
import {startCloudServer} from '../src/lab/cloud/server.js'
import {CloudStore} from '../src/lab/cloud/store.js'
import {labSerialConsoles} from '../src/lab/compute/serial.js'

export interface SnapshotRun {
  readonly ms: number
  /** what the --json output says: withRetries calls (one per list, whatever its pages) and retries */
  readonly requests: number
  readonly retries: number
  /** HTTP requests the emulator served, by list (`routes`, `aggregated/instances`, `instanceGroups/…/listInstances`, `clusters`) */
  readonly pages: ReadonlyMap<string, number>
  readonly httpRequests: number
  /** the client's side (bench/http-in-flight.mjs in the child): HTTP requests it made, the most in flight at once */
  readonly clientRequests: number
  readonly maxInFlight: number
  /** the bound the adapter puts on requests in flight (GCP_REQUESTS_AT_ONCE) */
  readonly bound: number
  /** the child's user + system CPU time, when /proc says (Linux) */
  readonly cpuMs?: number
  readonly problems: readonly string[]
}

export interface SnapshotBench {
  readonly runs: readonly SnapshotRun[]
  readonly project: string
  readonly input: SnapshotCounts
  readonly output: SnapshotCounts
  readonly derivedRoutes: number
  readonly setupMs: number
}

export interface SnapshotCounts {
  networks: number
  subnets: number
  peerings: number
  routes: number
  firewalls: number
  instances: number
  clusters: number
  nodes: number
  forwardingRules: number
  backendServices: number
}

function countsOf(model: Model): SnapshotCounts {
  const t = model.topology
  return {
    networks: t.networks.length, subnets: t.networks.reduce((n, x) => n + x.subnets.length, 0), peerings: t.networks.reduce((n, x) => n + x.peerings.length, 0),
    routes: t.routes.length, firewalls: t.firewalls.length, instances: t.instances.length, clusters: t.clusters.length,
    nodes: t.clusters.reduce((n, c) => n + c.nodes.length, 0), forwardingRules: t.forwardingRules.length, backendServices: t.backendServices.length,
  }
}

/** the list a request reads, for counting its pages: `routes`, `aggregated/instances`, `instanceGroups/listInstances`, `clusters` */
function listOf(path: string): string {
  if (path.endsWith('/listInstances')) return 'instanceGroups/listInstances'
  const compute = /\/compute\/v1\/projects\/[^/]+\/(?:global\/)?(aggregated\/[^/]+|[^/]+)$/.exec(path)
  if (compute) return compute[1] as string
  if (path.includes('/clusters')) return 'clusters'
  return path
}

/** GKE-04: the per-node pod routes of routes-based clusters the loader derives */
export function impliedRoutes(model: Model): number {
  return [...model.networks.values()].reduce((n, net) => n + net.routes.routes.filter((r) => r.impliedBy !== undefined).length, 0)
}

/** the routes a topology declares that repeat a route its loader derives (GKE-04: `impliedBy` a node of a routes-based cluster) */
export function writtenImpliedRoutes(model: Model): string[] {
  const implied = new Set<string>()
  for (const net of model.networks.values()) {
    for (const r of net.routes.routes) if (r.impliedBy) implied.add(`${r.network} ${formatCidr(r.destRange)} ${r.impliedBy.node}`)
  }
  return model.topology.routes.filter((r) => r.nextHopInstance !== undefined && implied.has(`${r.network} ${formatCidr(cidr(r.destRange))} ${r.nextHopInstance}`)).map((r) => r.name)
}

/** Everything the snapshot must reproduce, compared field by field on the lists that matter; the problems found. */
export function checkSnapshot(input: Model, output: Model): string[] {
  const problems: string[] = []
  const a = countsOf(input)
  const b = countsOf(output)
  for (const key of Object.keys(a) as Array<keyof SnapshotCounts>) if (a[key] !== b[key]) problems.push(`${key}: ${b[key]} in the snapshot, ${a[key]} in the input`)
  const same = (what: string, x: ReadonlyArray<{name: string}>, y: ReadonlyArray<{name: string}>, fields: readonly string[]): void => {
    const byName = new Map(y.map((v) => [v.name, v as unknown as Record<string, unknown>]))
    let wrong = 0
    for (const v of x) {
      const other = byName.get(v.name)
      const mine = v as unknown as Record<string, unknown>
      if (!other || fields.some((f) => JSON.stringify(mine[f]) !== JSON.stringify(other[f]))) {
        if (wrong++ < 3) problems.push(`${what} ${v.name}: ${other ? `differs (${fields.filter((f) => JSON.stringify(mine[f]) !== JSON.stringify(other[f])).join(', ')})` : 'missing'}`)
      }
    }
    if (wrong > 3) problems.push(`… and ${wrong - 3} more ${what}s`)
  }
  const ti = input.topology
  const to = output.topology
  same('network', ti.networks, to.networks, ['subnets'])
  same('route', ti.routes, to.routes, ['network', 'destRange', 'priority', 'tags', 'nextHopInstance', 'nextHopIp', 'nextHopIlb', 'nextHopGateway'])
  same('firewall', ti.firewalls, to.firewalls, ['network', 'direction', 'priority', 'sourceRanges', 'destinationRanges', 'sourceTags', 'targetTags', 'allowed', 'denied', 'disabled'])
  same('instance', ti.instances, to.instances, ['zone', 'canIpForward', 'tags'])
  same('cluster', ti.clusters, to.clusters, ['network', 'subnetwork', 'mode', 'clusterIpv4Cidr', 'servicesIpv4Cidr'])
  const nodes = (m: Model): Array<{name: string; networkIP: string; podCidr: string}> => m.topology.clusters.flatMap((c) => c.nodes.map((n) => ({name: n.name, networkIP: n.networkIP, podCidr: n.podCidr})))
  same('node', nodes(input), nodes(output), ['networkIP', 'podCidr'])
  // GKE-04: the per-node routes of routes-based clusters are the loader's to derive (impliedBy), never written
  const written = writtenImpliedRoutes(output)
  if (written.length > 0) problems.push(`${written.length} routes the loader derives (${written[0]} …) are written in the snapshot`)
  // the model loaded back derives them again, as from the input
  if (impliedRoutes(input) !== impliedRoutes(output)) problems.push(`the loaded snapshot implies ${impliedRoutes(output)} per-node routes, the input ${impliedRoutes(input)}`)
  return problems
}

const IN_FLIGHT = fileURLToPath(new URL('http-in-flight.mjs', import.meta.url))

/** user + system CPU time of this process's children that have been waited for (/proc/self/stat cutime + cstime), in ms; undefined off Linux */
export function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields from the 3rd (state): cutime is the 16th field of the file, cstime the 17th
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100
  } catch {
    return undefined
  }
}

function runChild(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ms: number; code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, args, {env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.once('error', reject)
    child.once('close', (code) => resolve({ms: performance.now() - started, code, stdout, stderr}))
  })
}

/**
 * Serves `text` (an xcc/v1 topology) from the lab's cloud and takes `runs` snapshots of it with
 * `bin` (bin/run.js), each in a fresh process; the first snapshot is loaded back and checked.
 */
export async function benchSnapshot(text: string, options: {root: string; runs: number; log?: (line: string) => void; nodeArgs?: readonly string[]}): Promise<SnapshotBench> {
  const setupStart = performance.now()
  const dir = mkdtempSync(join(tmpdir(), 'xcc-bench-cloud-'))
  const lines: string[] = []
  const model = parseTopology(text, 'bench-xl.yaml')
  const store = new CloudStore({path: join(dir, 'topology.yaml'), model, hook: unappliedDataPlane((m) => lines.push(m)), log: (m) => lines.push(m)})
  const tokens = {admin: 'bench-admin-token', viewer: 'bench-viewer-token'}
  const server = await startCloudServer({store, tokens, serial: labSerialConsoles(dir), log: (m) => lines.push(m), endpoints: new Map()})
  const tokenFile = join(dir, 'admin-token')
  writeFileSync(tokenFile, `${tokens.admin}\n`, {mode: 0o600})
  const home = join(dir, 'home')
  const variables = Object.fromEntries(cloudEnvironment({kubeconfig: join(dir, 'no-kubeconfig'), url: server.url, project: store.project, gcloudConfig: join(dir, 'gcloud'), adminTokenFile: tokenFile}))
  // only what `xcc lab env` prints, a PATH and a HOME of its own (no ~/.kube/config, no gcloud configuration of the user)
  const env: NodeJS.ProcessEnv = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...variables}
  const setupMs = performance.now() - setupStart

  // the server's side: the HTTP requests it served, per list
  let pages = new Map<string, number>()
  const onStart = (message: unknown): void => {
    const {request} = message as {request: {url?: string}}
    const list = listOf(new URL(request.url ?? '/', 'http://x').pathname)
    pages.set(list, (pages.get(list) ?? 0) + 1)
  }
  subscribe('http.server.request.start', onStart)

  const runs: SnapshotRun[] = []
  let output: Model | undefined
  try {
    for (let i = 0; i < options.runs; i++) {
      pages = new Map()
      const file = join(dir, `snapshot-${i}.yaml`)
      const statsFile = join(dir, `http-${i}.json`)
      const cpuBefore = childrenCpuMs()
      const r = await runChild([...(options.nodeArgs ?? []), '--import', IN_FLIGHT, join(options.root, 'bin', 'run.js'), 'snapshot', '-o', file, '--json'], {...env, XCC_BENCH_HTTP_STATS: statsFile})
      const cpuAfter = childrenCpuMs()
      const client = JSON.parse(readFileSync(statsFile, 'utf8')) as {requests: number; maxInFlight: number}
      if (r.code !== 0) throw new Error(`xcc snapshot exited ${r.code}:\n${r.stderr.slice(-3000)}\n${lines.slice(-20).join('\n')}`)
      const json = JSON.parse(r.stdout) as {requests: number; retries: number; skipped: Array<{kind: string; name: string; reason: string}>; contexts: unknown[]}
      const problems: string[] = []
      if (json.contexts.length > 0) problems.push(`${json.contexts.length} kube contexts were read (there should be none)`)
      // no kube context is given: each cluster's workloads are (rightly) skipped, and nothing else may be
      const workloads = json.skipped.filter((s) => s.kind === 'cluster-workloads').length
      const other = json.skipped.filter((s) => s.kind !== 'cluster-workloads')
      if (workloads !== model.clusters.size) problems.push(`${workloads} clusters' workloads skipped, expected ${model.clusters.size} (no kube context is given)`)
      if (other.length > 0) problems.push(`${other.length} skipped: ${other.slice(0, 3).map((s) => `${s.kind} ${s.name}: ${s.reason}`).join('; ')}`)
      // every run is loaded back (outside the timing) and checked; the first is kept for the counts
      const loaded = parseTopology(readFileSync(file, 'utf8'), file)
      problems.push(...checkSnapshot(model, loaded))
      output ??= loaded
      const served = [...pages.values()].reduce((a, b) => a + b, 0)
      if (client.requests !== served) problems.push(`the client made ${client.requests} HTTP requests, the emulator served ${served}`)
      runs.push({
        ms: r.ms, requests: json.requests, retries: json.retries, pages, httpRequests: served, clientRequests: client.requests,
        maxInFlight: client.maxInFlight, bound: GCP_REQUESTS_AT_ONCE, problems, ...(cpuBefore !== undefined && cpuAfter !== undefined ? {cpuMs: cpuAfter - cpuBefore} : {}),
      })
      options.log?.(`bench: snapshot run ${i + 1}/${options.runs}: ${r.ms.toFixed(0)} ms, ${served} HTTP requests, ${client.maxInFlight} at most in flight${problems.length ? `, ${problems.length} problems` : ''}`)
    }
  } finally {
    unsubscribe('http.server.request.start', onStart)
    await server.close()
    rmSync(dir, {recursive: true, force: true})
  }
  return {runs, project: store.project, input: countsOf(model), output: countsOf(output as Model), derivedRoutes: impliedRoutes(model), setupMs}
}
