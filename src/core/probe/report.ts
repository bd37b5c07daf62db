/**
 * The live doctor's report: the contract's object (contracts.md §2) plus `observations`.
 * The verdict is what the probe saw when it ran. With --topology the prediction's steps and
 * diagnosis stand when the captures confirm them; a contradiction is a finding that names the
 * step, and the root cause then comes from the packets. Without --topology the steps are the
 * node-local part xcc can predict from the cluster and the root cause comes from the packets.
 */
import {checkDocs, type Finding} from '../doctor/check.js'
import type {Diagnosis} from '../doctor/types.js'
import {DOCTOR_SCHEMA_VERSION, type DoctorReport} from '../doctor/report.js'
import {parseIp} from '../net/ipv4.js'
import type {KubeConfigMap, KubeNode} from '../ports/kube.js'
import type {Packet, Step, Verdict} from '../trace/types.js'
import type {CaptureLog} from './capture-log.js'
import {compareWithPrediction, isContradiction} from './expect.js'
import {concludeFromObservations, keyEvidence} from './live-diagnose.js'
import {traceLiveSource} from './live-trace.js'
import type {LiveRequest} from './types.js'
import {type Destination, internalIps, regionOf} from './targets.js'
import type {TopologyPrediction} from './topology-prediction.js'
import type {CaptureObservation, Observations, ProbeObservation} from './types.js'

export interface LiveReport extends DoctorReport {
  readonly observations: Observations
}

export interface AssembleInput {
  readonly request: LiveRequest
  readonly probe: ProbeObservation
  readonly captures: readonly CaptureObservation[]
  readonly notes: readonly string[]
  readonly cleanup: Observations['cleanup']
  readonly destination: Destination
  readonly node: KubeNode
  readonly sourceContext: string
  readonly sourceLog: CaptureLog
  readonly hostNetworkProbe: boolean
  readonly cluster?: string
  readonly prediction?: TopologyPrediction
  readonly masqConfig?: KubeConfigMap
  /** kube-system/anetd runs: GKE Dataplane V2 masquerades in eBPF (SNAT-15) */
  readonly dataplaneV2?: boolean
  readonly timings: Observations['timings']
}

function finding(check: string, status: Finding['status'], summary: string, evidence?: readonly string[]): Finding {
  return {check, status, summary, ...(evidence && evidence.length ? {evidence} : {}), docs: checkDocs(check)}
}

/** the fix is a command of xcc's own family (issue 5): masquerade the destination on every node of the source cluster */
function podSnatFix(input: AssembleInput): string[] {
  const dst = input.destination.ip
  const how = input.dataplaneV2
    ? 'writes kube-system/ip-masq-agent so that anetd masquerades it (GKE Dataplane V2, SNAT-15), keeping the default list (SNAT-03)'
    : input.masqConfig ? 'takes it out of nonMasqueradeCIDRs of kube-system/ip-masq-agent, keeping the rest (SNAT-03)' : 'keeps an XCC-MASQ chain first in nat POSTROUTING on every node (SNAT-14)'
  return [`xcc masquerade add --context ${input.sourceContext} --cidr ${dst}/32   # ${how}; give the whole peer range instead of /32 when more of it is used`]
}

function probeFindings(input: AssembleInput): Finding[] {
  const {probe, captures} = input
  const out: Finding[] = []
  const probeLine = `${probe.at} (${probe.mode}) → ${probe.dst}:${probe.dstPort}: ${probe.result}${probe.message ? ` — ${probe.message}` : ''}`
  out.push(probe.result === 'connected'
    ? finding('probe.connects', 'pass', `the probe connected to ${probe.dst}:${probe.dstPort}`, [probeLine])
    : finding('probe.connects', probe.result === 'error' ? 'error' : 'fail', `the probe could not connect to ${probe.dst}:${probe.dstPort} (${probe.result})`, [probeLine]))
  const broken = captures.filter((c) => c.status !== 'ok')
  out.push(broken.length === 0
    ? finding('probe.captures-work', 'pass', `every capture (${captures.length}) saw its sanity packet`)
    : finding('probe.captures-work', 'warn', `${broken.length} of ${captures.length} captures did not work; what they would have seen is unknown (not a drop)`, broken.map((c) => `${c.at}: ${c.status}${c.reason ? `: ${c.reason}` : ''}`)))
  return out
}

function withEvidence(diagnosis: Diagnosis | null, evidence: readonly string[]): Diagnosis | null {
  return diagnosis && {...diagnosis, evidence: [...diagnosis.evidence, ...evidence.map((e) => `observed: ${e}`)]}
}

export function assembleLiveReport(input: AssembleInput): LiveReport {
  const {probe, captures, request} = input
  const nodeAddresses = internalIps(input.node)
  const sourceHost = `node/${input.node.metadata.name}`
  const src = probe.src ?? nodeAddresses[0] ?? '0.0.0.0'
  const packet: Packet = {src: parseIp(src) ?? 0, dst: parseIp(probe.dst) ?? 0, protocol: 'tcp', srcPort: request.sourcePort, dstPort: probe.dstPort}
  const observed = concludeFromObservations({
    probe, sourceHost, sourceNodeAddresses: nodeAddresses, captures, podSnatFix: podSnatFix(input),
    gatewaySnatFix: (instance, range) => [`gcloud compute ssh ${instance} --command 'sudo iptables -t nat -A POSTROUTING -s ${range} -j MASQUERADE'   # on the gateway's outgoing interface, for the whole client range`],
    ...(input.destination.loadBalancer ? {loadBalancer: {...input.destination.loadBalancer, context: request.to.kind === 'service' ? request.to.context : request.toContext ?? input.sourceContext}} : {}),
    ...(regionOf(input.node) ? {sourceRegion: regionOf(input.node)} : {}),
  })
  const findings = probeFindings(input)
  const observations = (checks?: Observations['checks']): Observations => ({
    runId: request.runId, probe, captures, ...(checks ? {checks} : {}), cleanup: input.cleanup, notes: [...input.notes], timings: input.timings,
  })
  const flow = {from: probe.at, to: `${probe.dst}:${probe.dstPort}`, packet: {src, dst: probe.dst, protocol: 'tcp' as const, srcPort: request.sourcePort, dstPort: probe.dstPort}}

  if (input.prediction && input.cluster) {
    const [, namespace, name] = probe.at.split('/') as [string, string, string]
    const podInput = probe.mode !== 'host-network' && probe.src ? {namespace, name, ip: probe.src} : undefined
    const prediction = input.prediction.predict({cluster: input.cluster, node: input.node.metadata.name, ...(podInput ? {pod: podInput} : {}), dst: probe.dst, port: probe.dstPort})
    const notes = prediction.note ? [...input.notes, prediction.note] : input.notes
    const checks = compareWithPrediction(prediction.paths, captures, probe.result === 'connected')
    const contradictions = checks.filter(isContradiction)
    const predicted = prediction.report
    const matchFinding = contradictions.length === 0
      ? finding('probe.matches-prediction', 'pass', `the captures agree with the --topology prediction (${checks.length} observation${checks.length === 1 ? '' : 's'} checked)`)
      : finding('probe.matches-prediction', 'fail', `live observation contradicts the --topology prediction at ${contradictions.map((c) => `${c.step} (${c.at})`).join(', ')}`, contradictions.map((c) => `${c.step} at ${c.at}: predicted ${c.expected}; observed ${c.observed}`))
    const base = {...predicted, findings: [...predicted.findings, ...findings, matchFinding], observations: {...observations(checks), notes: [...notes]}}
    const observedVerdict: Verdict | undefined = probe.result === 'connected' ? 'reachable' : probe.result === 'timeout' || probe.result === 'failed' ? 'unreachable' : undefined
    if (observedVerdict === undefined) return base
    if (observedVerdict === 'reachable') return {...base, verdict: 'reachable', diagnosis: null}
    const evidence = keyEvidence({captures, sourceHost})
    const contradictionEvidence = contradictions.map((c) => `contradiction at ${c.step} (${c.at}): predicted ${c.expected}; observed ${c.observed}`)
    if (predicted.verdict !== 'reachable' && predicted.diagnosis && (contradictions.length === 0 || observed.diagnosis?.code === predicted.diagnosis.code || observed.diagnosis?.code === 'INSUFFICIENT_INFO')) {
      return {...base, verdict: 'unreachable', diagnosis: withEvidence({...predicted.diagnosis, evidence: [...contradictionEvidence, ...predicted.diagnosis.evidence]}, evidence)}
    }
    const diagnosis = observed.diagnosis && {...observed.diagnosis, evidence: [...contradictionEvidence, ...observed.diagnosis.evidence]}
    return {...base, verdict: observed.verdict, diagnosis}
  }

  const forward: Step[] = traceLiveSource({
    label: probe.at,
    node: {name: input.node.metadata.name, addresses: nodeAddresses.map((a) => parseIp(a) ?? 0), ...(input.node.spec?.podCIDR ? {podCidr: input.node.spec.podCIDR} : {}), routes: input.sourceLog.routes, ...(input.sourceLog.natRules ? {natRules: input.sourceLog.natRules} : {})},
    packet, hostNetwork: input.hostNetworkProbe,
    ...(input.dataplaneV2 ? {dataplaneV2: input.masqConfig?.data?.config === undefined ? {} : {config: input.masqConfig.data.config}} : {}),
  })
  const nat = forward.find((s) => s.step === 'NAT' || s.step === 'SKIP_GKE_POD_IP_MASQUERADING')
  if (nat) findings.push(finding('probe.node-nat-rules', 'pass', `read from ${sourceHost}: ${nat.detail}`, (nat.rules ?? []).map((r) => `${r.source} line ${r.line}: ${r.rule}`)))
  else if (!input.sourceLog.natRules) findings.push(finding('probe.node-nat-rules', 'warn', `the NAT rules of ${sourceHost} could not be read${input.sourceLog.natError ? `: ${input.sourceLog.natError}` : ''}`))
  return {
    schemaVersion: DOCTOR_SCHEMA_VERSION,
    verdict: observed.verdict,
    diagnosis: observed.diagnosis,
    forward,
    return: [],
    findings,
    flow,
    observations: observations(),
  }
}
