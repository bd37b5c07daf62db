/**
 * The lab's PodRuntime (src/lab/kube/runtime.ts): pods of the topology already have their
 * namespace (built with the data plane); pods created through the API get one at run time,
 * wired behind their node exactly like the topology's (podWiring), with the next free address
 * of the node's pod range. Containers run as processes inside the pod's namespace (the node's
 * for hostNetwork), each in its own process group so the whole container can be killed.
 */
import {spawn} from 'node:child_process'
import {PassThrough} from 'node:stream'

import {addIp, formatIp, parseIp, sizeOf} from '../../core/net/ipv4.js'
import type {Model} from '../../core/topology/model-types.js'
import type {ContainerStartSpec, PodRuntime, ProcessExit, RunningProcess} from '../kube/runtime.js'
import type {KubeObject} from '../kube/types.js'
import {podWiring} from '../compile/hosts.js'
import {POD_IP_ANNOTATION, POD_NETNS_ANNOTATION} from '../compile/kube-objects.js'
import {linkAlias, namespaceName} from '../compile/names.js'
import type {LabPlan} from '../compile/types.js'
import {exec, run} from './exec.js'

/** pods created at run time get namespaces numbered from here (the topology's start at 0) */
const DYNAMIC_POD_BASE = 10_000

export class NetnsPodRuntime implements PodRuntime {
  private readonly used = new Set<number>()
  private readonly dynamic = new Map<string, {ns: string; ip: string}>()
  private next = DYNAMIC_POD_BASE

  constructor(private readonly lab: string, private readonly model: Model, private readonly plan: LabPlan) {
    for (const p of plan.pods) this.used.add(parseIp(p.ip) ?? 0)
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
    if (pinned && pinnedIp && this.plan.pods.some((p) => p.ns === pinned && p.ip === pinnedIp)) return {podIP: pinnedIp}
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
    await run('ip', ['-n', nodeNs, '-batch', '-'], {input: `${wiring.nodeLines.join('\n')}\n`, what: 'wiring the pod on its node'})
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
    await exec('ip', ['netns', 'del', entry.ns])
  }

  private podNs(pod: KubeObject, node: KubeObject): string {
    if ((pod.spec as {hostNetwork?: boolean} | undefined)?.hostNetwork) return this.nodeNs(node)
    const dynamic = this.dynamic.get(this.key(pod))
    if (dynamic) return dynamic.ns
    const pinned = pod.metadata.annotations?.[POD_NETNS_ANNOTATION]
    if (pinned && this.plan.pods.some((p) => p.ns === pinned)) return pinned
    throw new Error(`pod ${pod.metadata.namespace}/${pod.metadata.name} has no network`)
  }

  start(spec: ContainerStartSpec): RunningProcess {
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    let resolveExit!: (exit: ProcessExit) => void
    const exited = new Promise<ProcessExit>((resolve) => (resolveExit = resolve))
    let ns: string
    try {
      ns = this.podNs(spec.pod, spec.node)
    } catch (error) {
      stderr.end(`${(error as Error).message}\n`)
      stdout.end()
      resolveExit({code: 127, signal: null})
      return {pid: 0, stdout, stderr, exited, kill: () => {}}
    }
    const child = spawn('ip', ['netns', 'exec', ns, ...spec.command], {
      env: {PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...spec.env}, cwd: spec.workingDir ?? '/', detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout.pipe(stdout)
    child.stderr.pipe(stderr)
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
}
