/**
 * Doctor vs lab: builds a topology's lab plan, runs its echo servers, makes a real TCP
 * connection for a flow and compares it with the static tracer's verdict (docs/lab.md "Proof").
 */
import type {ChildProcess} from 'node:child_process'

import {CHECKS} from '../../src/checks/index.js'
import {type DoctorReport, evaluateDoctor} from '../../src/core/doctor/report.js'
import {formatIp} from '../../src/core/net/ipv4.js'
import type {Model} from '../../src/core/topology/model-types.js'
import {resolveFlow} from '../../src/core/trace/endpoints.js'
import {compileLab} from '../../src/lab/compile/compile.js'
import type {LabPlan} from '../../src/lab/compile/types.js'
import {buildDataPlane, destroyDataPlane} from '../../src/lab/runtime/dataplane.js'
import {exec} from '../../src/lab/runtime/exec.js'
import {type ProbeResult, probeTcp, startEchoServer, stopProcessGroup} from '../../src/lab/runtime/servers.js'

export interface RunningLab {
  readonly plan: LabPlan
  readonly model: Model
  destroy(): Promise<void>
}

export async function startLab(model: Model, lab: string): Promise<RunningLab> {
  const plan = compileLab(model, lab)
  const children: ChildProcess[] = []
  const destroy = async (): Promise<void> => {
    for (const c of children) if (c.pid) stopProcessGroup(c.pid, 'SIGKILL')
    await destroyDataPlane(lab, plan.namespaces.map((n) => n.name))
  }
  try {
    await buildDataPlane(plan)
    for (const s of plan.servers) children.push(startEchoServer(s.ns, s.ref, s.tcpPorts))
    // host-network pods serve their declared ports in the node's namespace (the node's own server leaves them out)
    for (const p of plan.pods) if (p.tcpPorts.length) children.push(startEchoServer(p.ns, `${p.cluster}/${p.namespace}/${p.name}`, p.tcpPorts))
    await waitForListeners(plan)
  } catch (error) {
    await destroy()
    throw error
  }
  return {plan, model, destroy}
}

/** socat needs a moment to bind; wait (bounded) until every namespace listens on all of its ports. */
async function waitForListeners(plan: LabPlan): Promise<void> {
  const expected = new Map<string, Set<number>>()
  for (const s of [...plan.servers, ...plan.pods]) for (const port of s.tcpPorts) expected.set(s.ns, (expected.get(s.ns) ?? new Set()).add(port))
  const deadline = Date.now() + 5000
  for (const [ns, ports] of expected) {
    while (Date.now() < deadline) {
      const r = await exec('ip', ['netns', 'exec', ns, 'ss', '-Htln'])
      const listening = new Set([...r.stdout.matchAll(/:(\d+)\s/g)].map((m) => Number(m[1])))
      if ([...ports].every((p) => listening.has(p))) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

export interface Comparison {
  readonly from: string
  readonly to: string
  readonly doctor: string
  readonly code: string | null
  readonly lab: ProbeResult
  readonly agree: boolean
  readonly skipped?: string
  /** the source address the tracer says the server sees */
  readonly deliveredSrc?: string
}

/** The lab host (namespace) and bind address a doctor source stands for. */
export function sourceNamespace(lab: RunningLab, from: string, to: string): {ns: string; bind?: string; dst: string; port: number; protocol: string} {
  const flow = resolveFlow(lab.model, from, to)
  const s = flow.source
  const ref = s.kind === 'pod' ? `pod/${s.pod.cluster}/${s.pod.namespace}/${s.pod.name}` : `${s.instance.kind === 'node' ? 'node' : 'instance'}/${s.instance.name}`
  const host = lab.plan.hosts[ref]
  if (!host) throw new Error(`the lab has no host for ${ref}`)
  const bind = s.kind === 'instance' && s.nic > 0 ? formatIp(s.instance.nics[s.nic]?.ip ?? 0) : undefined
  return {ns: host.ns, ...(bind ? {bind} : {}), dst: formatIp(flow.packet.dst), port: flow.packet.dstPort, protocol: flow.packet.protocol}
}

export async function compare(lab: RunningLab, from: string, to: string, timeoutMs = 1500): Promise<Comparison> {
  const report = evaluateDoctor(lab.model, resolveFlow(lab.model, from, to), CHECKS)
  const where = sourceNamespace(lab, from, to)
  if (where.protocol !== 'tcp') return {from, to, doctor: report.verdict, code: report.diagnosis?.code ?? null, lab: {connected: false, code: null, output: ''}, agree: true, skipped: 'only TCP flows are probed'}
  const probe = await probeTcp(where.ns, where.dst, where.port, {timeoutMs, ...(where.bind ? {bind: where.bind} : {})})
  const code = report.diagnosis?.code ?? null
  if (report.verdict === 'unknown') return {from, to, doctor: report.verdict, code, lab: probe, agree: true, skipped: 'the doctor cannot decide (INSUFFICIENT_INFO)'}
  if (report.verdict === 'ambiguous') return {from, to, doctor: report.verdict, code, lab: probe, agree: true, skipped: 'the doctor sees paths that differ; the lab takes one of them'}
  const unserved = assumedServedElsewhere(lab, report.forward)
  if (unserved) return {from, to, doctor: report.verdict, code, lab: probe, agree: true, skipped: unserved}
  // when both say reachable, the server must also have seen the source address the tracer predicts
  // (on one of the paths: with several alike-reaching paths — endpoints, ECMP — the lab takes one)
  const paths = report.alternatives ?? [report]
  const seen = new Set(paths.map((p) => [...p.forward].reverse().find((st) => st.step === 'DELIVER')?.packet.src).filter((a): a is string => a !== undefined))
  const delivered = seen.size ? [...seen].join(' or ') : undefined
  const sameClient = report.verdict !== 'reachable' || !probe.connected || seen.size === 0 || (probe.clientAddress !== undefined && seen.has(probe.clientAddress))
  return {from, to, doctor: report.verdict, code, lab: probe, agree: (report.verdict === 'reachable') === probe.connected && sameClient, ...(delivered ? {deliveredSrc: delivered} : {})}
}

/**
 * "Absent: assume served" (contracts.md §1): where the topology does not say what a VM, node or pod
 * serves, the tracer assumes the port is served, but the lab's stand-in serves only the ports the
 * topology mentions (plan/hosts.ts interestingPorts). A delivery to another port cannot be compared.
 */
function assumedServedElsewhere(lab: RunningLab, forward: DoctorReport['forward']): string | undefined {
  const end = forward.at(-1)
  if (end?.step !== 'DELIVER') return undefined
  const port = end.packet.dstPort
  const server = lab.plan.servers.find((s) => s.ref === end.at)
  const instance = lab.model.instances.get(end.at.split('/')[1] ?? '')
  if (server && instance && !instance.guest.listen && !server.tcpPorts.includes(port)) return `${end.at} serves whatever the topology leaves open; the lab serves only the ports it mentions, not ${port}`
  const pod = lab.plan.pods.find((p) => (p.declared ? `${p.cluster}/${p.namespace}/${p.name}` : `${p.cluster}/${p.node}`) === end.at)
  const declared = pod ? lab.model.clusters.get(pod.cluster)?.pods.find((p) => p.namespace === pod.namespace && p.name === pod.name) : undefined
  if (pod && !pod.hostNetwork && declared?.ports === undefined && !pod.tcpPorts.includes(port)) return `pod ${end.at} serves whatever the topology leaves open; the lab serves only the ports it mentions, not ${port}`
  return undefined
}

export function describe(c: Comparison): string {
  return `${c.from} → ${c.to}: doctor ${c.doctor}${c.code ? ` (${c.code})` : ''}${c.deliveredSrc ? `, server sees ${c.deliveredSrc}` : ''}, lab ${c.lab.connected ? `connected, server saw ${c.lab.clientAddress}` : `no answer (curl exit ${c.lab.code}: ${c.lab.output.split('\n').pop()})`}`
}
